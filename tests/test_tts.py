"""The Deepgram voice in Home Assistant: languages, voices, options on the wire, streaming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from http import HTTPStatus
import struct
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.deepgram.tts import WAV_PASSTHROUGH, audio_route
from homeassistant.components import tts
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from . import setup_integration
from .deepgram_server import DeepgramTestServer

ENGINE = "tts.deepgram_aura_2"
# Only guards against a hang; the events awaited come long before.
GUARD = 30
WAV_16K = {
    "preferred_format": "wav",
    "preferred_sample_rate": 16000,
    "preferred_sample_channels": 1,
    "preferred_sample_bytes": 2,
}


@pytest.fixture
async def voice(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> MockConfigEntry:
    """Set up an entry of an account with no voice yet: it gets the voice."""
    await setup_integration(hass, mock_config_entry)
    assert hass.states.get(ENGINE) is not None
    return mock_config_entry


def entity(hass: HomeAssistant) -> tts.TextToSpeechEntity:
    found = tts.get_engine_instance(hass, ENGINE)
    assert isinstance(found, tts.TextToSpeechEntity)
    return found


async def written(*chunks: str) -> AsyncIterator[str]:
    """Yield an answer's text."""
    for chunk in chunks:
        yield chunk


async def written_once_heard(heard: asyncio.Event, first: str, *rest: str) -> AsyncIterator[str]:
    """Write `first`, then the rest only once audio is heard: the agent is still writing."""
    yield first
    await asyncio.wait_for(heard.wait(), GUARD)
    for chunk in rest:
        yield chunk


async def stream_audio(
    hass: HomeAssistant,
    text: AsyncIterator[str],
    options: dict[str, Any],
    language: str = "en",
    heard: asyncio.Event | None = None,
) -> bytes:
    """Stream an answer through Home Assistant; set `heard` at its first audio past a header."""
    stream = tts.async_create_stream(hass, ENGINE, language, options)
    stream.async_set_message_stream(text)
    audio = bytearray()
    async for chunk in stream.async_stream_result():
        audio += chunk
        if heard is not None and len(audio) > 44:
            heard.set()
    return bytes(audio)


async def test_languages_and_voices(
    hass: HomeAssistant, voice: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Every Aura-2 language; voices by the names people read, the accent first."""
    engine = entity(hass)
    assert {"en", "en-US", "en-GB", "es", "de", "nl", "fr", "it", "ja"} <= set(
        engine.supported_languages
    )
    assert engine.default_language == "en"
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": ENGINE, "language": "en-GB"}
    )
    reply = await client.receive_json()
    voices = reply["result"]["voices"]
    # The voice it speaks English with by default first (Home Assistant preselects it),
    # then the British accent's.
    assert voices[0]["name"] == "Thalia (American)"
    assert {voices[1]["name"], voices[2]["name"]} == {"Draco (British)", "Pandora (British)"}
    assert {"voice_id": "aura-2-thalia-en", "name": "Thalia (American)"} in voices
    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": ENGINE, "language": "de"}
    )
    german = (await client.receive_json())["result"]["voices"]
    assert german
    assert all(item["voice_id"].endswith("-de") for item in german)
    assert voice.runtime_data.voices.live


async def test_built_in_voices_when_the_list_fails(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
) -> None:
    """If Deepgram's list cannot be fetched, the built-in catalogue serves."""
    deepgram_server.models.status = HTTPStatus.SERVICE_UNAVAILABLE
    await setup_integration(hass, mock_config_entry)
    assert not mock_config_entry.runtime_data.voices.live
    names = {voice.name for voice in entity(hass).async_get_supported_voices("fr") or []}
    assert names == {"Agathe", "Hector"}


async def test_tts_get_url_speaks_with_rest_mp3(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """A one-off message: one REST request, MP3 passed through, cached by Home Assistant."""
    client = await hass_client()
    reply = await client.post(
        "/api/tts_get_url", json={"engine_id": ENGINE, "message": "Hello there.", "language": "en"}
    )
    assert reply.status == HTTPStatus.OK
    audio_reply = await client.get((await reply.json())["path"])
    assert audio_reply.status == HTTPStatus.OK
    audio = await audio_reply.read()
    [post] = deepgram_server.speak.posts
    assert dict(post.query) == {"model": "aura-2-thalia-en", "encoding": "mp3"}
    assert post.texts == ["Hello there."]
    assert audio == bytes(post.audio)  # no conversion, no re-encoding

    # The same message again comes from Home Assistant's cache.
    reply = await client.post(
        "/api/tts_get_url", json={"engine_id": ENGINE, "message": "Hello there.", "language": "en"}
    )
    assert await (await client.get((await reply.json())["path"])).read() == audio
    assert len(deepgram_server.speak.posts) == 1


@pytest.mark.parametrize(
    ("language", "options", "model", "speed"),
    [
        ("de", {}, "aura-2-viktoria-de", None),
        ("en-GB", {}, "aura-2-thalia-en", None),
        ("en", {"voice": "aura-2-draco-en", "speed": 1.2}, "aura-2-draco-en", "1.2"),
        # A voice of another language gives way to the language's own.
        ("fr", {"voice": "aura-2-draco-en"}, "aura-2-agathe-fr", None),
        # Deepgram has no speed for French voices: it is not sent.
        ("fr", {"speed": 1.3}, "aura-2-agathe-fr", None),
    ],
)
async def test_voice_language_and_speed_on_the_wire(  # noqa: PLR0913, PLR0917 - fixtures and the case
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    language: str,
    options: dict[str, Any],
    model: str,
    speed: str | None,
) -> None:
    """What Deepgram is asked for follows the language and the options."""
    media_id = tts.generate_media_source_id(
        hass, "Bonjour.", engine=ENGINE, language=language, options=options, cache=False
    )
    extension, audio = await tts.async_get_media_source_audio(hass, media_id)
    assert (extension, bool(audio)) == ("mp3", True)
    [post] = deepgram_server.speak.posts
    assert post.param("model") == model
    assert post.param("speed") == speed


async def test_streamed_wav_is_deepgram_audio_behind_one_header(
    hass: HomeAssistant, voice: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Asked for WAV: the websocket's linear16 behind one streaming header, no ffmpeg.

    The agent writes past "Sure!" only once its audio is heard: it must be spoken
    while the agent is still writing.
    """
    heard = asyncio.Event()
    text = written_once_heard(heard, "Sure! ", "The lights are on.", " Anything", " else?")
    audio = await stream_audio(hass, text, {"preferred_format": "wav"}, heard=heard)

    [session] = deepgram_server.speak.sessions
    assert dict(session.query) == {
        "model": "aura-2-thalia-en",
        "encoding": "linear16",
        "sample_rate": "24000",
    }
    assert "".join(session.texts) == "Sure! The lights are on. Anything else?"
    assert session.flushes == 3
    fields = struct.unpack("<4sI4s4sIHHIIHH4sI", audio[:44])
    assert fields[:2] == (b"RIFF", 0xFFFFFFFF)
    assert fields[6:8] == (1, 24000)
    assert fields[-1] == 0xFFFFFFFF
    assert audio[44:] == bytes(session.audio)


async def test_satellite_wav_format(
    hass: HomeAssistant, voice: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A satellite's 16 kHz WAV: honoured by the websocket where Home Assistant passes it
    through (2026.11), else MP3 that Home Assistant's ffmpeg turns into the WAV."""
    audio = await stream_audio(hass, written("Done."), dict(WAV_16K))
    fields = struct.unpack("<4sI4s4sIHHIIHH4sI", audio[:44])
    assert fields[0] == b"RIFF"
    assert fields[6:8] == (1, 16000)
    assert len(audio) > 44 + 3200  # at least 0.1 s of speech
    if WAV_PASSTHROUGH:
        assert deepgram_server.speak.sessions[0].param("sample_rate") == "16000"
    else:
        assert deepgram_server.speak.posts[0].param("encoding") == "mp3"


@pytest.mark.parametrize(
    ("options", "passthrough", "route"),
    [
        ({}, False, "rest mp3"),
        ({}, True, "rest mp3"),
        ({"preferred_format": "wav"}, False, "websocket wav 24000"),
        ({"preferred_format": "wav", "preferred_sample_rate": 48000}, True, "websocket wav 48000"),
        (WAV_16K, True, "websocket wav 16000"),
        (WAV_16K, False, "rest mp3"),
        ({**WAV_16K, "preferred_sample_rate": 22050}, True, "rest mp3"),
        ({**WAV_16K, "preferred_sample_channels": 2}, True, "rest mp3"),
        ({"preferred_format": "mp3", "preferred_sample_rate": 48000}, True, "websocket wav 24000"),
        ({"preferred_format": "mp3", "preferred_sample_rate": 48000}, False, "rest mp3"),
        ({"preferred_format": "flac", "preferred_sample_rate": 48000}, True, "rest mp3"),
    ],
)
def test_audio_route(options: dict[str, Any], passthrough: bool, route: str) -> None:
    """No conversion where none is needed; else what Home Assistant converts soonest."""
    assert audio_route(options, wav_passthrough=passthrough).name == route


async def test_tts_speak_plays_deepgram_audio(
    hass: HomeAssistant, voice: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """`tts.speak` hands a media player a media source that resolves to Deepgram's MP3."""
    calls = async_mock_service(hass, "media_player", "play_media")
    await hass.services.async_call(
        "tts",
        "speak",
        {
            "entity_id": ENGINE,
            "media_player_entity_id": "media_player.kitchen",
            "message": "Dinner is ready.",
            "cache": False,
        },
        blocking=True,
    )
    [call] = calls
    extension, audio = await tts.async_get_media_source_audio(hass, call.data["media_content_id"])
    [post] = deepgram_server.speak.posts
    assert (extension, audio) == ("mp3", bytes(post.audio))
    assert post.texts == ["Dinner is ready."]


async def test_whole_message_for_callers_that_do_not_stream(
    hass: HomeAssistant, voice: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """`async_get_tts_audio` returns one message's whole audio, or raises Deepgram's refusal."""
    engine = entity(hass)
    extension, audio = await engine.async_get_tts_audio("Hello.", "en", {})
    assert (extension, audio) == ("mp3", bytes(deepgram_server.speak.posts[0].audio))
    deepgram_server.speak.refuse_status = 503
    with pytest.raises(HomeAssistantError, match="HTTP 503"):
        await engine.async_get_tts_audio("Hello again.", "en", {})
