"""A failed spoken answer fails visibly and is never cached: the same message asks Deepgram again.

Home Assistant keeps an answer in its cache unless the audio raises. So a
refusal must raise (after it is recorded for diagnostics and Repairs), and
nothing may be yielded before Deepgram has accepted the request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
import logging
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from homeassistant.components import media_source, tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speak_stream import SpeakRecord

from . import answers_of, setup_integration

ENGINE = "tts.deepgram_aura_2"
MESSAGE = "The front door is locked."
WAV: dict[str, Any] = {"preferred_format": "wav"}
MP3: dict[str, Any] = {}
ROUTES = pytest.mark.parametrize("options", [MP3, WAV], ids=["mp3", "wav"])


@pytest.fixture
async def voice(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> MockConfigEntry:
    """Set up the voice; Deepgram refuses the next request once with 503, then recovers."""
    await setup_integration(hass, mock_config_entry)
    deepgram_server.speak.refuse_status = HTTPStatus.SERVICE_UNAVAILABLE
    deepgram_server.speak.refusals_left = 1
    return mock_config_entry


def requests_of(server: DeepgramTestServer, options: dict[str, Any]) -> list[SpeakRecord]:
    """The requests the answers made, in order: websocket upgrades or REST posts."""
    speak = server.speak
    if options is WAV:
        return sorted([*speak.rejected, *speak.sessions], key=lambda record: record.started)
    return list(speak.posts)


def spoken_audio(record: SpeakRecord, options: dict[str, Any], audio: bytes) -> bytes:
    """The part of Home Assistant's audio that is Deepgram's: behind the WAV header, if any."""
    assert record.status in (HTTPStatus.SWITCHING_PROTOCOLS, HTTPStatus.OK)
    assert record.audio, "Deepgram sent no audio"
    return audio[44:] if options is WAV else audio


@ROUTES
async def test_same_message_after_a_refusal_is_spoken_from_deepgram(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
) -> None:
    """Cache on: the refused answer raises and is dropped; asked again, Deepgram speaks it."""
    media_id = tts.generate_media_source_id(
        hass, MESSAGE, engine=ENGINE, language="en", options=dict(options), cache=True
    )
    with pytest.raises(HomeAssistantError) as refused:
        await tts.async_get_media_source_audio(hass, media_id)
    [first] = requests_of(deepgram_server, options)
    assert first.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert "HTTP 503" in str(refused.value)
    assert first.request_id in str(refused.value)

    extension, audio = await tts.async_get_media_source_audio(hass, media_id)
    _, second = requests_of(deepgram_server, options)
    assert extension == ("wav" if options is WAV else "mp3")
    assert spoken_audio(second, options, audio) == bytes(second.audio)
    outcomes = [answer.outcome for answer in answers_of(voice)]
    assert outcomes[0].startswith("DeepgramServerError")
    assert outcomes[1] == "success"


@ROUTES
async def test_a_refused_request_yields_no_bytes(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
) -> None:
    """No WAV header before Deepgram accepts: a refusal is an error with no audio at all."""
    engine = tts.get_engine_instance(hass, ENGINE)
    assert isinstance(engine, tts.TextToSpeechEntity)

    async def message() -> AsyncIterator[str]:
        """The answer's text, written at once."""
        yield MESSAGE

    response = await engine.async_stream_tts_audio(TTSAudioRequest("en", dict(options), message()))
    chunks: list[bytes] = []

    async def listen() -> None:
        """Keep every byte that comes before the error."""
        async for chunk in response.data_gen:
            chunks.append(chunk)  # noqa: PERF401 - what came before the error is kept

    with pytest.raises(HomeAssistantError) as refused:
        await listen()
    assert chunks == []
    [request] = requests_of(deepgram_server, options)
    assert refused.value.translation_key == "speaking_failed"
    assert refused.value.translation_placeholders == {
        "reason": "Deepgram refused to speak: HTTP 503, Please try again later",
        "request_id": request.request_id,
    }


async def test_tts_speak_reports_a_refusal(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`tts.speak`: the player's URL fails (no empty audio), Home Assistant logs Deepgram's reason.

    `tts.speak` hands the player a media source and returns; the audio is made
    when the player fetches it. The same announcement again is spoken.
    """
    assert await async_setup_component(hass, "media_source", {})
    calls = async_mock_service(hass, "media_player", "play_media")
    speak = {
        "entity_id": ENGINE,
        "media_player_entity_id": "media_player.kitchen",
        "message": MESSAGE,
        "cache": True,
    }
    await hass.services.async_call("tts", "speak", speak, blocking=True)
    media = await media_source.async_resolve_media(hass, calls[0].data["media_content_id"], None)
    http = await hass_client()
    reply = await http.get(media.url)
    assert reply.status == HTTPStatus.INTERNAL_SERVER_ERROR
    [refused] = deepgram_server.speak.posts
    reported = [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.name.startswith("homeassistant.components.tts")
        and record.levelno >= logging.ERROR
    ]
    assert reported
    assert all("HTTP 503" in line and refused.request_id in line for line in reported)

    await hass.services.async_call("tts", "speak", speak, blocking=True)
    media = await media_source.async_resolve_media(hass, calls[1].data["media_content_id"], None)
    reply = await http.get(media.url)
    assert reply.status == HTTPStatus.OK
    _, spoken = deepgram_server.speak.posts
    assert await reply.read() == bytes(spoken.audio)
