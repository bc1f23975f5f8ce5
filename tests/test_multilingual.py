"""Nova-3's `multi` as Deepgram serves it since 2026-10-23: 55 languages, hinted.

The local server checks and echoes the hints as Deepgram does; the entity sends
them and keeps what Deepgram hinted and detected for diagnostics.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import aiohttp
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.deepgram.const import CONF_LANGUAGE, CONF_MODEL, CONF_OTHER_LANGUAGES
from homeassistant.components.assist_pipeline import PipelineEventType
from homeassistant.core import HomeAssistant
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import setup_integration
from .pipeline import CHUNK, Microphone, run_pipeline
from .test_deepgram_server import (
    CHUNK as SERVER_CHUNK,
    PCM,
    connect,
    drain,
    finals,
    http,
    send_audio,
    server,
    silence,
    tone,
)

__all__ = ["http", "server"]  # Fixtures of the server's own tests, used here too.

PHRASE = "schalte das Küchenlicht ein"


async def multilingual_results(
    server: DeepgramTestServer, http: aiohttp.ClientSession, params: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Stream one utterance with this query; return the final Results."""
    server.utterances.append("Liga a luz")
    ws = await connect(http, server, params)
    await send_audio(ws, chunked(tone(1.0) + silence(1.0), SERVER_CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    return [
        message for message in finals(messages) if message["channel"]["alternatives"][0]["words"]
    ]


async def test_the_server_echoes_hints_and_tags_words_with_their_language(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """Hints come back as base codes, once each; words carry the language heard."""
    params = [
        *{**PCM, "language": "multi"}.items(),
        ("language_hint", "pt-BR"),
        ("language_hint", "ar"),
        ("language_hint", "pt"),
    ]
    (final, *_) = await multilingual_results(server, http, params)
    alternative = final["channel"]["alternatives"][0]
    assert alternative["languages_hinted"] == ["pt", "ar"]
    assert alternative["languages"] == ["pt"]
    assert {word["language"] for word in alternative["words"]} == {"pt"}


async def test_the_server_echoes_no_hint_as_an_empty_list(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """Every multilingual response carries `languages_hinted`; a monolingual one none."""
    (final, *_) = await multilingual_results(
        server, http, list({**PCM, "language": "multi"}.items())
    )
    assert final["channel"]["alternatives"][0]["languages_hinted"] == []
    (final, *_) = await multilingual_results(server, http, list({**PCM, "language": "de"}.items()))
    assert "languages_hinted" not in final["channel"]["alternatives"][0]
    assert "language" not in final["channel"]["alternatives"][0]["words"][0]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        # Amharic is none of the 55 languages of `multi`.
        ([("language", "multi"), ("language_hint", "de"), ("language_hint", "am")], "am"),
        # Arabic has no model of its own: only `multi` serves it.
        ([("language", "ar")], "No such model/language/tier combination"),
    ],
)
async def test_the_server_refuses_a_language_the_model_lacks(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    params: list[tuple[str, str]],
    reason: str,
) -> None:
    """HTTP 400 on the handshake, with Deepgram's error body."""
    query = [*PCM.items(), *params]
    async with http.get(server.listen_url, params=query, headers=connect_headers()) as response:
        assert response.status == HTTPStatus.BAD_REQUEST
        body = await response.json()
    assert reason in body["err_msg"]
    assert set(body) == {"err_code", "err_msg", "request_id"}


def connect_headers() -> dict[str, str]:
    """A websocket upgrade with the server's key, as aiohttp's ws_connect sends it."""
    return {
        "Authorization": "Token good-key",
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }


@pytest.mark.parametrize(
    ("options", "hinted", "detected"),
    [
        ({CONF_LANGUAGE: "multi", CONF_OTHER_LANGUAGES: ["tr"]}, ["de", "tr"], ["de"]),
        (
            {
                CONF_MODEL: "flux-general-multi",
                CONF_LANGUAGE: "multi",
                CONF_OTHER_LANGUAGES: ["es"],
            },
            ["de", "es"],
            ["de"],
        ),
        # A monolingual stream names no language.
        ({CONF_LANGUAGE: "pipeline"}, None, []),
    ],
)
async def test_diagnostics_keep_the_languages_hinted_and_detected(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
    hinted: list[str] | None,
    detected: list[str],
) -> None:
    """A German command on a German-and-Turkish household's entry: both hinted, German heard."""
    await setup_integration(hass, mock_config_entry, **options)
    hass.config.language = "de"
    deepgram_server.utterances.append(PHRASE)
    microphone = Microphone(chunked(synthesize(PHRASE, trailing_silence=0.0), CHUNK))
    entity_id = next(iter(hass.data["stt"].entities)).entity_id

    events = await run_pipeline(hass, entity_id, microphone.stream())

    stt_end = next(event for event in events if event.type is PipelineEventType.STT_END)
    assert stt_end.data["stt_output"]["text"].rstrip(".") == PHRASE
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    [setting] = [sub for sub in diagnostics["subentries"] if sub["type"] == "stt"]
    session = setting["sessions"][-1]
    assert session["languages_hinted"] == hinted
    assert session["languages_detected"] == detected
