"""Opening a Deepgram websocket, listening or speaking: one bound, one error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
from yarl import URL

from .errors import DeepgramConnectionError, error_for_status

# What `receive()` returns once the stream is over, however it ended.
CLOSE_TYPES: Final = frozenset(
    {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED}
)
# A stream that ends with these ended well (1005: a close frame without a code).
NORMAL_CLOSE_CODES: Final = frozenset({1000, 1005})


def peer_close(
    msg: aiohttp.WSMessage, ws: aiohttp.ClientWebSocketResponse
) -> tuple[int | None, str]:
    """Return the close code and reason Deepgram sent, else what the socket knows.

    Over TLS a server may drop the connection right after its close frame; aiohttp
    then cannot send its reply and reports 1006, though Deepgram's frame said 1000.
    """
    if msg.type is aiohttp.WSMsgType.CLOSE and isinstance(msg.data, int):
        return msg.data, msg.extra if isinstance(msg.extra, str) else ""
    return ws.close_code, msg.extra if isinstance(msg.extra, str) else ""


async def connect_websocket(  # noqa: PLR0913 - what every Deepgram websocket needs
    session: aiohttp.ClientSession,
    url: URL,
    *,
    params: Any,
    headers: Mapping[str, str],
    connect_timeout: float,
    close_timeout: float,
    refused: str,
    **options: Any,
) -> aiohttp.ClientWebSocketResponse:
    """Open the websocket within `connect_timeout`; map every failure to a DeepgramError.

    A refused upgrade carries Deepgram's reason and request id in its headers;
    `refused` starts the message ("Deepgram refused the stream").
    """
    try:
        async with asyncio.timeout(connect_timeout):
            return await session.ws_connect(
                url,
                params=params,
                headers=headers,
                # pyright misreads aiohttp's attrs fields as no parameters.
                timeout=aiohttp.ClientWSTimeout(ws_close=close_timeout),  # pyright: ignore[reportCallIssue]
                **options,
            )
    except aiohttp.WSServerHandshakeError as err:
        response_headers: Mapping[str, str] = err.headers or {}
        raise error_for_status(
            err.status,
            refused,
            detail=response_headers.get("dg-error"),
            request_id=response_headers.get("dg-request-id"),
        ) from err
    except TimeoutError as err:
        msg = f"Timed out connecting to {url.host} after {connect_timeout:g} s"
        raise DeepgramConnectionError(msg) from err
    except (aiohttp.ClientError, OSError) as err:
        msg = f"Cannot connect to {url.host}: {err}"
        raise DeepgramConnectionError(msg) from err
