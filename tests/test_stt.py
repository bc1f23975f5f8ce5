"""The speech-to-text entity, through Home Assistant, against the local Deepgram server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import itertools
import logging
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.deepgram import stt as deepgram_stt
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunk_bytes, chunked, synthesize, wav_file

from . import METADATA, pcm_metadata, setting_of, setup_integration
from .conftest import API_KEY

ENTITY_ID = "stt.deepgram_nova_3_english"
PHRASE = "turn on the kitchen light"


async def feed(chunks: list[bytes]) -> AsyncIterator[bytes]:
    """Yield the chunks as an audio source would."""
    for chunk in chunks:
        yield chunk


def speech_chunks(text: str = PHRASE) -> list[bytes]:
    """Return espeak-ng speech in 20 ms chunks of 16 kHz mono PCM."""
    return chunked(synthesize(text), chunk_bytes(16000, 1))


@pytest.fixture
def options() -> dict[str, Any]:
    """Return options to set on the entry before set-up (none by default)."""
    return {}


@pytest.fixture
async def entity(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
) -> stt.SpeechToTextEntity:
    """Set up the entry and return its entity."""
    await setup_integration(hass, mock_config_entry, **options)
    found = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert found is not None
    return found


FULL_STREAM = pytest.mark.parametrize("options", [{"end_of_command": "home_assistant"}])


async def test_entity_and_device(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """One entity on a Deepgram service device of its setting, named after the setting."""
    entry = entity_registry.async_get(ENTITY_ID)
    assert entry is not None
    setting = setting_of(mock_config_entry)
    assert entry.unique_id == setting.subentry_id
    assert (entry.config_entry_id, entry.config_subentry_id) == (
        mock_config_entry.entry_id,
        setting.subentry_id,
    )
    device = device_registry.async_get(entry.device_id or "")
    assert device is not None
    assert (device.manufacturer, device.model, device.name) == (
        "Deepgram",
        "Nova-3",
        "Deepgram Nova-3 (English)",
    )
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    # A fixed-English entry offers English and its regional variants only.
    assert entity.supported_languages == [
        "en",
        "en-US",
        "en-AU",
        "en-GB",
        "en-IN",
        "en-NZ",
        "en-CA",
    ]
    assert entity.supported_sample_rates == list(stt.AudioSampleRates)
    assert entity.supported_formats == [stt.AudioFormats.WAV, stt.AudioFormats.OGG]
    assert entity.supported_codecs == [stt.AudioCodecs.PCM, stt.AudioCodecs.OPUS]
    assert entity.supported_channels == [
        stt.AudioChannels.CHANNEL_MONO,
        stt.AudioChannels.CHANNEL_STEREO,
    ]
    assert entity.supported_bit_rates == [stt.AudioBitRates.BITRATE_16]


async def test_speech_is_transcribed(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """Real speech in 20 ms chunks comes back as the text that was said."""
    deepgram_server.utterances.append(PHRASE)
    chunks = speech_chunks()
    result = await entity.internal_async_process_audio_stream(METADATA, feed(chunks))
    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    session = deepgram_server.sessions[-1]
    assert bytes(session.audio) == b"".join(chunks)
    assert session.param("model") == "nova-3"
    assert session.param("language") == "en"


async def test_silence_is_an_empty_success(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """No speech gives an empty text, so Assist says it heard nothing rather than failing."""
    silence = [bytes(640)] * 100
    result = await entity.internal_async_process_audio_stream(METADATA, feed(silence))
    assert result == stt.SpeechResult("", stt.SpeechResultState.SUCCESS)


async def test_http_api_sends_the_uploads_exact_format(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    hass_client: ClientSessionGenerator,
) -> None:
    """A 44.1 kHz stereo WAV upload reaches Deepgram as such, without its header."""
    deepgram_server.utterances.append(PHRASE)
    pcm = synthesize(PHRASE, sample_rate=44100, channels=2)
    client = await hass_client()
    response = await client.post(
        f"/api/stt/{ENTITY_ID}",
        headers={
            "X-Speech-Content": "format=wav; codec=pcm; sample_rate=44100; "
            "bit_rate=16; channel=2; language=en"
        },
        data=wav_file(pcm, 44100, 2),
    )
    assert response.status == 200
    assert await response.json() == {"text": PHRASE, "result": "success"}
    session = deepgram_server.sessions[-1]
    assert session.param("sample_rate") == "44100"
    assert session.param("channels") == "2"
    assert session.param("encoding") == "linear16"
    assert bytes(session.audio) == pcm


async def test_ogg_opus_is_sent_as_a_container(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """Ogg audio describes itself, so no raw-audio parameters are sent."""
    ogg_page = b"OggS" + bytes(60)
    await entity.internal_async_process_audio_stream(
        pcm_metadata(audio_format=stt.AudioFormats.OGG, codec=stt.AudioCodecs.OPUS),
        feed([ogg_page]),
    )
    session = deepgram_server.sessions[-1]
    assert session.param("encoding") is None
    assert session.param("sample_rate") is None
    assert bytes(session.audio) == ogg_page


@pytest.mark.parametrize("status", [400, 402, 429, 500, 503])
async def test_refusals_are_errors_logged_once(
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    """A refused stream is an ERROR result, with one log line naming cause and request id."""
    deepgram_server.handshake_status = status
    with caplog.at_level(logging.DEBUG):
        result = await entity.internal_async_process_audio_stream(METADATA, feed(speech_chunks()))
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    errors = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(errors) == 1
    assert f"HTTP {status}" in errors[0].getMessage()
    assert "request id" in errors[0].getMessage()
    assert API_KEY not in caplog.text


async def test_revoked_key_during_a_stream_starts_reauth(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A key revoked after set-up fails the stream and asks the user for a new one."""
    deepgram_server.api_keys = {"other"}
    result = await entity.internal_async_process_audio_stream(METADATA, feed(speech_chunks()))
    assert result.result is stt.SpeechResultState.ERROR
    await hass.async_block_till_done()
    flows = mock_config_entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    assert len(list(flows)) == 1


@FULL_STREAM
async def test_abnormal_close_returns_what_was_heard(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """A 1011 after a final segment still returns that segment."""
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    deepgram_server.close_mid_stream = (2.5, 1011, "internal error")
    audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")
    # Deepgram's default endpointing is 10 ms; the pause ends the first utterance.
    result = await entity.internal_async_process_audio_stream(METADATA, feed(chunked(audio, 640)))
    assert result == stt.SpeechResult("turn on the light", stt.SpeechResultState.SUCCESS)


async def test_abnormal_close_before_any_words_is_an_error(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """With nothing heard, an abnormal close is an error."""
    deepgram_server.close_mid_stream = (0.1, 1008, "DATA-0000")
    result = await entity.internal_async_process_audio_stream(METADATA, feed(speech_chunks()))
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)


async def test_broken_audio_source_is_an_error(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """An exception from the audio source is an ERROR result, not a traceback."""

    async def broken() -> AsyncIterator[bytes]:
        yield bytes(640)
        raise OSError("satellite went away")

    result = await entity.internal_async_process_audio_stream(METADATA, broken())
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)


@FULL_STREAM
async def test_progress_yields_partials_then_one_final(
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With partial results available, the transcript so far grows, then one final comes."""

    class Partial:
        def __init__(self, text: str) -> None:
            self.text = text

    monkeypatch.setattr(deepgram_stt, "PartialSpeechResult", Partial)
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")
    results: list[Any] = [
        result
        async for result in entity.async_process_audio_stream_with_progress(  # type: ignore[attr-defined]
            METADATA, feed(chunked(audio, 640))
        )
    ]
    partials = [result.text for result in results[:-1]]
    assert all(isinstance(result, Partial) for result in results[:-1])
    # Interim words show up before their final, and the text only grows.
    assert "turn on" in partials
    assert "turn on the light" in partials
    assert partials[-1] == "turn on the light and the fan"
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(partials))
    assert deepgram_server.sessions[-1].param("interim_results") == "true"
    assert results[-1] == stt.SpeechResult(
        "turn on the light and the fan", stt.SpeechResultState.SUCCESS
    )


async def test_closing_progress_early_closes_the_websocket(
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Home Assistant 2026.11 closes the generator after the first result; the socket follows."""
    monkeypatch.setattr(deepgram_stt, "PartialSpeechResult", str)
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")

    async def endless() -> AsyncIterator[bytes]:
        for chunk in chunked(audio, 640):
            yield chunk
        while True:
            await asyncio.sleep(0.01)
            yield bytes(640)

    results = entity.async_process_audio_stream_with_progress(  # type: ignore[attr-defined]
        METADATA, endless()
    )
    assert (await anext(results)).startswith("turn")
    await results.aclose()
    await asyncio.wait_for(deepgram_server.sessions[-1].closed.wait(), 3)
    assert "CloseStream" in deepgram_server.sessions[-1].control
