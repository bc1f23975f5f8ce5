"""What every endpoint's handshake shares: the key, the websocket answer, a request left hanging."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final, NoReturn, Protocol

from aiohttp import web

SCHEMES: Final = frozenset({"token", "bearer"})
# How long a close waits for the client's close frame: the client may have stopped reading.
CLOSE_TIMEOUT: Final = 2.0


@dataclass(frozen=True, slots=True)
class Credential:
    """A request's key: `Authorization: <scheme> <key>`, else the websocket subprotocols."""

    scheme: str
    """"token" or "bearer", in lower case."""
    key: str
    subprotocol: str | None
    """The scheme as offered in `Sec-WebSocket-Protocol`, when the key came that way."""


class KeyHolder(Protocol):
    """The keys a server accepts."""

    api_keys: set[str] | None
    grants: set[str]


def request_credential(request: web.Request) -> Credential | None:
    """Return the request's credential, or None when it carries none."""
    scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() in SCHEMES and key.strip():
        return Credential(scheme.lower(), key.strip(), None)
    offered = [
        item.strip() for item in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
    ]
    if len(offered) > 1 and offered[0].lower() in SCHEMES and offered[1]:
        return Credential(offered[0].lower(), offered[1], offered[0])
    return None


def key_accepted(holder: KeyHolder, credential: Credential) -> bool:
    """Whether the server knows the key (any key when it has no list), or granted the token."""
    known = holder.api_keys is None or credential.key in holder.api_keys
    return known or (credential.scheme == "bearer" and credential.key in holder.grants)


def websocket_response(protocol: str | None) -> web.WebSocketResponse:
    """Return a websocket answer as Deepgram's, agreeing to `protocol` if given."""
    # Deepgram's 101 carries no Sec-WebSocket-Extensions: it never agrees to
    # permessage-deflate, so a client that offers it still sends plain frames.
    return web.WebSocketResponse(
        protocols=() if protocol is None else (protocol,),
        autoping=False,
        timeout=CLOSE_TIMEOUT,
        max_msg_size=0,
        compress=False,
    )


async def hang(request: web.Request, stopping: asyncio.Event) -> NoReturn:
    """Hold the request unanswered until `stopping` is set, then drop the connection."""
    await stopping.wait()
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError
