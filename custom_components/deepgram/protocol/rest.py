"""Reading Deepgram's REST answers: every body whole, within a size limit.

A body arrives in as many pieces as the network cut it into (TCP segments, TLS
records); `StreamReader.read(n)` returns only what has arrived so far. So bodies
are read to their end, and one larger than the caller's limit is an error
rather than the start of a document.
"""

from __future__ import annotations

import aiohttp

from .errors import DeepgramResponseTooLargeError


async def read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Return the whole body; raise DeepgramResponseTooLargeError past `limit` bytes."""
    declared = response.content_length
    if declared is not None and declared > limit:
        raise DeepgramResponseTooLargeError(limit, response.headers.get("dg-request-id"))
    body = bytearray()
    while chunk := await response.content.readany():
        body += chunk
        if len(body) > limit:
            raise DeepgramResponseTooLargeError(limit, response.headers.get("dg-request-id"))
    return bytes(body)
