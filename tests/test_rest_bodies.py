"""REST answers are read whole, however the network cuts them, and within a size limit."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from http import HTTPStatus

import aiohttp
from aiohttp import web
import pytest

from custom_components.deepgram.protocol import (
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
    DeepgramSpeaker,
)

from .conftest import API_KEY, PROJECT_ID
from .deepgram_server import DeepgramTestServer, LocalCertificate, Network, server as server_module
from .deepgram_server.voices import tts_models

# Every answer in pieces of a few bytes: a small JSON body is cut too.
TINY_PIECES = Network(segment_bytes=16, gap=0.0005)


@pytest.fixture
async def tiny_pieces_server(
    socket_enabled: None, local_certificate: LocalCertificate
) -> AsyncGenerator[DeepgramTestServer]:
    """A local server over TLS whose every write arrives in 16-byte pieces."""
    async with DeepgramTestServer(
        api_keys={API_KEY}, project_id=PROJECT_ID, tls=local_certificate, network=TINY_PIECES
    ) as server:
        yield server


def speaker_of(server: DeepgramTestServer, session: aiohttp.ClientSession) -> DeepgramSpeaker:
    """Return a speaker on the server with a bound that shows a hang fast."""
    return DeepgramSpeaker(API_KEY, session=session, server=server.url, connect_timeout=5.0)


async def test_voice_list_arriving_in_pieces_is_read_whole(
    deepgram_server: DeepgramTestServer, session: aiohttp.ClientSession
) -> None:
    """The 50 KB model list comes over TLS in 1.4 KB pieces; every Aura-2 voice is listed."""
    assert deepgram_server.network.segment_bytes < 2000
    assert deepgram_server.url.startswith("https://")
    aura_2 = {
        model["canonical_name"]
        for model in tts_models()
        if model["canonical_name"].startswith("aura-2-")
    }

    voices = await speaker_of(deepgram_server, session).voices()

    assert {voice.model for voice in voices} == aura_2
    assert len(aura_2) > 40


async def test_key_check_reads_a_body_in_pieces(
    tiny_pieces_server: DeepgramTestServer, session: aiohttp.ClientSession
) -> None:
    """`GET /v1/projects` cut into 16-byte pieces still names the project."""
    client = DeepgramClient(API_KEY, session=session, server=tiny_pieces_server.url)
    assert await client.validate() == PROJECT_ID


async def test_refusal_body_in_pieces_keeps_deepgrams_reason(
    tiny_pieces_server: DeepgramTestServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refusal whose reason is only in its body (the newer shape) keeps it when cut up."""
    body = {
        "category": "UNAUTHORIZED",
        "message": "Authentication failed.",
        "details": "The API key is not valid.",
        "request_id": "019f4c80-a061-72f2-9780-89f9950b1adb",
    }

    async def projects(_: object) -> web.StreamResponse:
        """Refuse as Deepgram's Manage API does: reason and id in the body only."""
        return web.json_response(body, status=HTTPStatus.UNAUTHORIZED)

    monkeypatch.setattr(tiny_pieces_server, "_projects", projects)
    # Routes are bound at start; serve a fresh server with the patched handler.
    await tiny_pieces_server.stop()
    await tiny_pieces_server.start()
    client = DeepgramClient("not-the-key", session=session, server=tiny_pieces_server.url)
    with pytest.raises(DeepgramAuthenticationError) as caught:
        await client.validate()
    assert caught.value.status == HTTPStatus.UNAUTHORIZED
    assert caught.value.detail == "Authentication failed."
    assert caught.value.request_id == body["request_id"]


async def test_voice_list_over_the_limit_is_an_error(
    deepgram_server: DeepgramTestServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A model list larger than the client reads is refused, not parsed in part."""
    huge = [{**model, "padding": "x" * 4096} for model in tts_models() for _ in range(3)]
    monkeypatch.setattr(server_module, "tts_models", lambda: huge)
    with pytest.raises(DeepgramError, match="larger than"):
        await speaker_of(deepgram_server, session).voices()


async def test_key_check_answer_over_the_limit_is_an_error(
    deepgram_server: DeepgramTestServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key check answered with more than the client reads is an error, not a project."""
    project = {"project_id": PROJECT_ID, "name": "x" * 300_000}

    async def projects(_: object) -> web.StreamResponse:
        """Answer the key check with an oversized project list."""
        return web.json_response({"projects": [project]})

    monkeypatch.setattr(deepgram_server, "_projects", projects)
    # Routes are bound at start; serve a fresh server with the patched handler.
    await deepgram_server.stop()
    await deepgram_server.start()
    client = DeepgramClient(API_KEY, session=session, server=deepgram_server.url)
    with pytest.raises(DeepgramError, match="larger than"):
        await client.validate()
