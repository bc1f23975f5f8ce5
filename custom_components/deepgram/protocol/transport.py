"""How both clients reach Deepgram over HTTP: URLs, headers, bounds, refusals and bodies.

Listening (`client`) and speaking (`speak`, `speech_stream`) share these; neither
imports the other.

A body arrives in as many pieces as the network cut it into (TCP segments, TLS
records); `StreamReader.read(n)` returns only what has arrived so far. So bodies
are read to their end, and one larger than the caller's limit is an error
rather than the start of a document.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
import json
from typing import Any, Final

import aiohttp
from yarl import URL

from .errors import (
    DeepgramConnectionError,
    DeepgramHTTPError,
    DeepgramResponseTooLargeError,
    error_for_status,
)

DEFAULT_SERVER: Final = "https://api.deepgram.com"
# A JSON answer or refusal is a few kB; anything near this is not Deepgram talking.
MAX_RESPONSE_BYTES: Final = 256 * 1024
# Where Deepgram puts a request's id and its reason for a refusal, besides the body.
REQUEST_ID_HEADER: Final = "dg-request-id"
ERROR_HEADER: Final = "dg-error"

_WEBSOCKET_SCHEMES: Final = {"https": "wss", "http": "ws"}


def endpoint_url(server: str, path: str, *, websocket: bool = False) -> URL:
    """Return `path` on a server, keeping its path prefix; ws(s) for a websocket.

    The server is http(s) as `client.normalize_server` leaves it; a ws(s) one
    keeps its scheme.
    """
    url = URL(server)
    if websocket:
        url = url.with_scheme(_WEBSOCKET_SCHEMES.get(url.scheme, url.scheme))
    return url.with_path(url.path.rstrip("/") + path)


def request_headers(api_key: str) -> dict[str, str]:
    """Return the headers of every request to Deepgram: the key, which never goes in a URL.

    The User-Agent stays the session's: Home Assistant's shared session names
    Home Assistant and its version, which is what Deepgram's logs should show.
    """
    return {"Authorization": f"Token {api_key}"}


@asynccontextmanager
async def reaching(url: URL, within: float, *, timed_out: str) -> AsyncIterator[None]:
    """Bound a request by `within` seconds; map a timeout or a network failure to a DeepgramError.

    `timed_out` starts the message of a timeout ("Timed out listing the voices").
    What Deepgram answered (a DeepgramError raised inside) passes unchanged.
    """
    try:
        async with asyncio.timeout(within):
            yield
    except TimeoutError as err:
        msg = f"{timed_out} after {within:g} s"
        raise DeepgramConnectionError(msg) from err
    except (aiohttp.ClientError, OSError) as err:
        msg = f"Cannot connect to {url.host}: {err}"
        raise DeepgramConnectionError(msg) from err


def handshake_request_id(ws: aiohttp.ClientWebSocketResponse) -> str | None:
    """Return the `dg-request-id` of a websocket's upgrade response, which support asks for.

    aiohttp keeps the upgrade response private; without it, the id comes from
    the first message instead.
    """
    headers = getattr(getattr(ws, "_response", None), "headers", None)
    request_id = headers.get(REQUEST_ID_HEADER) if headers is not None else None
    return request_id if isinstance(request_id, str) else None


async def read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Return the whole body; raise DeepgramResponseTooLargeError past `limit` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise DeepgramResponseTooLargeError(limit, response.headers.get(REQUEST_ID_HEADER))
    body = bytearray()
    while chunk := await response.content.readany():
        body += chunk
        if len(body) > limit:
            raise DeepgramResponseTooLargeError(limit, response.headers.get(REQUEST_ID_HEADER))
    return bytes(body)


async def read_json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """Return a response's JSON object (bounded; {} if it has none).

    Deepgram's request id and reason from the headers fill in where the body has
    none, so an error can name them whichever place Deepgram put them in.
    """
    parsed: Any = None
    with suppress(ValueError, aiohttp.ClientError):
        try:
            parsed = json.loads(await read_body(response, MAX_RESPONSE_BYTES))
        except DeepgramResponseTooLargeError:
            if response.ok:
                raise
            # A refusal stays a refusal; its body is not read in part.
    body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    body.setdefault("request_id", response.headers.get(REQUEST_ID_HEADER))
    body.setdefault("dg_error", response.headers.get(ERROR_HEADER))
    return body


def body_request_id(body: Mapping[str, Any]) -> str | None:
    """Return the request id `read_json` found in a body or its headers."""
    request_id = body.get("request_id")
    return request_id if isinstance(request_id, str) else None


def refusal_error(
    status: int,
    message: str,
    *,
    headers: Mapping[str, str],
    body: Mapping[str, Any] | None = None,
) -> DeepgramHTTPError:
    """Return the error of a refused request or upgrade, with Deepgram's reason and request id.

    The reason is the body's (`err_msg`, or `message` on the Manage API), else the
    `dg-error` header; the request id likewise. `message` starts the error's text.
    """
    body = body or {}
    detail = body.get("err_msg") or body.get("message") or body.get("dg_error")
    detail = detail or headers.get(ERROR_HEADER)
    request_id = body_request_id(body) or headers.get(REQUEST_ID_HEADER)
    return error_for_status(
        status,
        message,
        detail=detail if isinstance(detail, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
    )


async def read_refusal(response: aiohttp.ClientResponse, message: str) -> DeepgramHTTPError:
    """Read a refused response (bounded) and return its error."""
    body = await read_json(response)
    return refusal_error(response.status, message, headers=response.headers, body=body)


def handshake_refusal(err: aiohttp.WSServerHandshakeError, message: str) -> DeepgramHTTPError:
    """Return the error of a refused websocket upgrade, whose reason is in its headers."""
    return refusal_error(err.status, message, headers=err.headers or {})
