"""Reading `GET /v1/models`: the whole body within a bound, every failure a DeepgramError."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.deepgram.protocol import (
    DeepgramAuthenticationError,
    DeepgramConnectionError,
    DeepgramError,
)
from custom_components.deepgram.protocol.model_list import (
    BUILT_IN_MODELS,
    MAX_MODEL_LIST_BYTES,
    fetch_model_list,
)

LISTING = b'{"stt": [{"canonical_name": "nova-3", "languages": ["en"], "streaming": true}]}'


async def _pieces(request: web.Request) -> web.StreamResponse:
    """The list in many small writes, with no length: the reader must read to the end."""
    response = web.StreamResponse()
    await response.prepare(request)
    for start in range(0, len(LISTING), 7):
        await response.write(LISTING[start : start + 7])
        await asyncio.sleep(0)
    await response.write_eof()
    return response


async def _endless(request: web.Request) -> web.StreamResponse:
    """A body that never stops growing, with no length announced."""
    response = web.StreamResponse()
    await response.prepare(request)
    chunk = b" " * 65536
    for _ in range(MAX_MODEL_LIST_BYTES // len(chunk) + 2):
        await response.write(chunk)
    return response


RELEASE = web.AppKey("release", asyncio.Event)


async def _hang(request: web.Request) -> web.StreamResponse:
    """Answer only when the server stops, long after the client gave up."""
    await request.app[RELEASE].wait()
    return web.Response()


def _answer(*, status: int = HTTPStatus.OK, body: bytes) -> Callable[[web.Request], Any]:
    """Return a handler that answers with this status and body."""

    async def handler(_: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    return handler


@pytest.fixture
async def models_server(socket_enabled: None) -> AsyncIterator[str]:
    """A server whose `/v1/models` misbehaves in one way per path prefix."""
    app = web.Application()
    app[RELEASE] = asyncio.Event()
    app.router.add_get("/pieces/v1/models", _pieces)
    app.router.add_get("/endless/v1/models", _endless)
    app.router.add_get("/declared/v1/models", _answer(body=b" " * (MAX_MODEL_LIST_BYTES + 1)))
    app.router.add_get("/html/v1/models", _answer(body=b"<html>"))
    app.router.add_get("/array/v1/models", _answer(body=b"[]"))
    refusal = b'{"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}'
    app.router.add_get("/refused/v1/models", _answer(status=HTTPStatus.UNAUTHORIZED, body=refusal))
    app.router.add_get("/hang/v1/models", _hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    app[RELEASE].set()
    await runner.cleanup()


async def test_a_list_in_pieces_is_read_whole(models_server: str) -> None:
    """The body is read to its end, however the network cuts it."""
    async with aiohttp.ClientSession() as session:
        document = await fetch_model_list(session, f"{models_server}/pieces", "key", bound=5.0)
    assert document["stt"][0]["canonical_name"] == "nova-3"


@pytest.mark.parametrize(
    ("prefix", "error", "words"),
    [
        ("/endless", DeepgramError, "larger than"),
        ("/declared", DeepgramError, "larger than"),
        ("/html", DeepgramConnectionError, "not JSON"),
        ("/array", DeepgramConnectionError, "not a JSON object"),
        ("/refused", DeepgramAuthenticationError, "Invalid credentials"),
        ("/hang", DeepgramConnectionError, "Timed out"),
    ],
)
async def test_a_bad_answer_is_an_error(
    models_server: str, prefix: str, error: type[DeepgramError], words: str
) -> None:
    """Too large, not a JSON object, refused or never answered: a DeepgramError saying so."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(error, match=words):
            await fetch_model_list(session, models_server + prefix, "key", bound=0.5)


async def test_an_unreachable_server_is_a_connection_error(socket_enabled: None) -> None:
    """Nothing listens: a DeepgramConnectionError naming the host."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(DeepgramConnectionError, match=r"127\.0\.0\.1"):
            await fetch_model_list(session, "http://127.0.0.1:9", "key", bound=5.0)


def test_models_the_table_lacks_are_described_after_their_family() -> None:
    """Older Nova takes keywords, newer models key terms; Flux is Flux; `multi` hints Flux."""
    nova_2 = BUILT_IN_MODELS.describe("nova-2-newdomain")
    assert (nova_2.supports_keyterms, nova_2.flux) == (False, False)
    assert "de" in nova_2.languages
    nova_1 = BUILT_IN_MODELS.describe("nova-general")
    assert not nova_1.supports_keyterms
    flux = BUILT_IN_MODELS.describe("flux-general-de")
    assert (flux.flux, flux.supports_keyterms, flux.takes_language_hints) == (True, True, True)
    newer = BUILT_IN_MODELS.describe("nova-4")
    assert (newer.supports_keyterms, newer.flux, newer.label) == (True, False, "nova-4")
    assert BUILT_IN_MODELS.describe("nova-3").label == "Nova-3"
