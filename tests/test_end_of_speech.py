"""Answering the moment the speaker stops: Deepgram's end of speech, bounds and pipelines."""

from __future__ import annotations

from array import array
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram import stt as deepgram_stt
from custom_components.deepgram.const import (
    CONF_END_OF_SPEECH,
    CONF_ENDPOINTING,
    CONF_MAX_UTTERANCE,
    CONF_NO_SPEECH_TIMEOUT,
)
from homeassistant.components import stt, tts
from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineEventType,
    PipelineStage,
    async_create_default_pipeline,
    async_pipeline_from_audio_stream,
)
from homeassistant.components.assist_pipeline.pipeline import AudioSettings
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from . import METADATA, setup_integration
from .deepgram_server import DeepgramTestServer
from .speech import chunked, synthesize

ENTITY_ID = "stt.deepgram_nova_3_english"
PHRASE = "turn on the kitchen light"
CHUNK = 640  # 20 ms of 16 kHz mono 16-bit audio


@dataclass
class Microphone:
    """An audio source that keeps streaming, like a satellite waiting to be told to stop."""

    chunks: list[bytes]
    delay: float = 0.001
    sent: int = 0
    closed: bool = False

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield the chunks, then silence for as long as anyone listens."""
        try:
            for chunk in self.chunks:
                yield chunk
                self.sent += 1
                await asyncio.sleep(self.delay)
            while True:
                yield bytes(CHUNK)
                self.sent += 1
                await asyncio.sleep(self.delay)
        finally:
            self.closed = True


async def setup_entity(
    hass: HomeAssistant, entry: MockConfigEntry, **options: Any
) -> stt.SpeechToTextEntity:
    """Set the entry up with extra options and return its entity."""
    await setup_integration(hass, entry, **options)
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    return entity


async def test_answers_when_deepgram_hears_the_end(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The transcript comes back while the microphone is still open; everything closes."""
    entity = await setup_entity(hass, mock_config_entry)
    deepgram_server.utterances.append(PHRASE)
    speech = chunked(synthesize(PHRASE, trailing_silence=0.0), CHUNK)
    microphone = Microphone(speech)

    result = await entity.internal_async_process_audio_stream(METADATA, microphone.stream())

    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    assert microphone.closed
    # 300 ms of endpointing is 15 chunks; it stopped long before 3 s of silence.
    assert microphone.sent < len(speech) + 150
    session = deepgram_server.sessions[-1]
    await asyncio.wait_for(session.closed.wait(), 2)
    assert session.control[-1] == "CloseStream"
    assert session.close_code == 1000
    assert session.param("endpointing") == "300"
    assert session.param("interim_results") == "true"
    assert session.param("utterance_end_ms") == "1000"
    assert any(message.get("speech_final") for message in session.sent)


async def test_utterance_end_also_ends_the_command(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """When endpointing is long, UtteranceEnd after the finals ends the command."""
    entity = await setup_entity(hass, mock_config_entry, **{CONF_ENDPOINTING: 5000})
    deepgram_server.utterances.append(PHRASE)
    # The 1 s pause finalises the words and sends UtteranceEnd long before the
    # 5 s endpoint would send speech_final.
    audio = synthesize(PHRASE, trailing_silence=0.0)
    microphone = Microphone(chunked(audio, CHUNK))

    result = await entity.internal_async_process_audio_stream(METADATA, microphone.stream())

    session = deepgram_server.sessions[-1]
    kinds = [message["type"] for message in session.sent]
    assert "UtteranceEnd" in kinds
    assert not any(message.get("speech_final") for message in session.sent)
    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)


async def test_no_speech_ends_with_nothing_recognised(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A microphone that hears only silence is stopped after the no-speech bound."""
    entity = await setup_entity(hass, mock_config_entry, **{CONF_NO_SPEECH_TIMEOUT: 0.5})
    microphone = Microphone([], delay=0.02)
    started = time.monotonic()

    result = await entity.internal_async_process_audio_stream(METADATA, microphone.stream())

    assert result == stt.SpeechResult("", stt.SpeechResultState.SUCCESS)
    assert 0.5 <= time.monotonic() - started < 2.0
    assert microphone.closed
    assert deepgram_server.sessions[-1].control[-1] == "CloseStream"


async def test_endless_speech_is_cut_at_the_longest_command(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Speech that never pauses is ended at the cap, and what was heard is returned."""
    entity = await setup_entity(hass, mock_config_entry, **{CONF_MAX_UTTERANCE: 1.0})
    deepgram_server.utterances.append("keep talking forever and ever")
    talk = synthesize("keep talking forever and ever", leading_silence=0.0, trailing_silence=0.0)
    # Without espeak's own pauses, the speech never gives Deepgram an endpoint.
    voiced = [chunk for chunk in chunked(talk, CHUNK) if max(array("h", chunk)) > 1000]

    async def chatterbox() -> AsyncIterator[bytes]:
        while True:
            for chunk in voiced:
                yield chunk
                await asyncio.sleep(0.002)

    started = time.monotonic()
    result = await entity.internal_async_process_audio_stream(METADATA, chatterbox())
    assert result == stt.SpeechResult(
        "keep talking forever and ever", stt.SpeechResultState.SUCCESS
    )
    assert 1.0 <= time.monotonic() - started < 3.0
    assert deepgram_server.sessions[-1].control[-1] == "CloseStream"


async def test_end_of_speech_off_streams_until_the_audio_ends(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """With the option off, Home Assistant ends the audio and only then is it final."""
    entity = await setup_entity(hass, mock_config_entry, **{CONF_END_OF_SPEECH: False})
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")

    async def recording() -> AsyncIterator[bytes]:
        for chunk in chunked(audio, CHUNK):
            yield chunk

    result = await entity.internal_async_process_audio_stream(METADATA, recording())
    assert result == stt.SpeechResult(
        "turn on the light and the fan", stt.SpeechResultState.SUCCESS
    )
    session = deepgram_server.sessions[-1]
    assert session.param("interim_results") is None
    assert session.param("utterance_end_ms") is None
    assert bytes(session.audio) == audio


@dataclass
class FakeAudioProcessing:
    """Stands in for SpeechAudioProcessing of Home Assistant 2026.5+."""

    requires_external_vad: bool
    prefers_auto_gain_enabled: bool
    prefers_noise_reduction_enabled: bool


@pytest.mark.parametrize("end_of_speech", [True, False])
async def test_audio_processing_tells_home_assistant_who_ends_the_command(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    monkeypatch: pytest.MonkeyPatch,
    end_of_speech: bool,
) -> None:
    """No external VAD when Deepgram ends commands; raw audio preferred either way."""
    entity = await setup_entity(hass, mock_config_entry, **{CONF_END_OF_SPEECH: end_of_speech})
    assert entity.audio_processing is None  # type: ignore[attr-defined]
    monkeypatch.setattr(deepgram_stt, "SpeechAudioProcessing", FakeAudioProcessing)
    assert entity.audio_processing == FakeAudioProcessing(  # type: ignore[attr-defined]
        requires_external_vad=not end_of_speech,
        prefers_auto_gain_enabled=False,
        prefers_noise_reduction_enabled=False,
    )


async def test_options_change_the_request_on_the_wire(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Saving the options reloads the entry and the next stream uses them."""
    await setup_entity(hass, mock_config_entry)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"model": "nova-3"}
    )
    assert result["step_id"] == "recognition"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "language": "en",
            CONF_END_OF_SPEECH: True,
            CONF_ENDPOINTING: 500,
            CONF_NO_SPEECH_TIMEOUT: 6,
            CONF_MAX_UTTERANCE: 20,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert mock_config_entry.options[CONF_ENDPOINTING] == 500
    assert mock_config_entry.options["model"] == "nova-3"

    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    deepgram_server.utterances.append(PHRASE)
    microphone = Microphone(chunked(synthesize(PHRASE, trailing_silence=0.0), CHUNK))
    result_text = await entity.internal_async_process_audio_stream(METADATA, microphone.stream())
    assert result_text.text == PHRASE
    assert deepgram_server.sessions[-1].param("endpointing") == "500"


async def run_pipeline(
    hass: HomeAssistant, audio: AsyncIterator[bytes], *, vad: bool
) -> list[PipelineEvent]:
    """Run the speech-to-text stage of an Assist pipeline that uses the entity."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    pipeline = await async_create_default_pipeline(
        hass,
        stt_engine_id=ENTITY_ID,
        # Whatever Home Assistant picks (the account's Deepgram voice): None would not match.
        tts_engine_id=tts.async_default_engine(hass),
        pipeline_name="Deepgram",
    )
    assert pipeline is not None
    events: list[PipelineEvent] = []
    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=events.append,
        stt_metadata=METADATA,
        stt_stream=audio,
        pipeline_id=pipeline.id,
        start_stage=PipelineStage.STT,
        end_stage=PipelineStage.STT,
        audio_settings=AudioSettings(is_vad_enabled=vad),
    )
    return events


@pytest.mark.parametrize(
    ("end_of_speech", "vad", "expected"),
    [
        # Deepgram answers 300 ms into the silence, before HA's VAD (700 ms) ends it.
        (True, True, ["stt-start", "stt-vad-start", "stt-end"]),
        (True, False, ["stt-start", "stt-end"]),
        (False, True, ["stt-start", "stt-vad-start", "stt-vad-end", "stt-end"]),
        (False, False, ["stt-start", "stt-end"]),
    ],
)
async def test_pipeline_event_sequence(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    end_of_speech: bool,
    vad: bool,
    expected: list[str],
) -> None:
    """Both settings, with and without Home Assistant's VAD, end in the transcript."""
    await setup_entity(hass, mock_config_entry, **{CONF_END_OF_SPEECH: end_of_speech})
    deepgram_server.utterances.append(PHRASE)
    # Twice real time: fast, yet the 300 ms endpoint and the 700 ms VAD stay apart.
    speech = chunked(synthesize(PHRASE, trailing_silence=1.5), CHUNK)
    microphone = Microphone(speech, delay=0.01)
    source = microphone.stream() if end_of_speech or vad else _finite(speech)

    events = await run_pipeline(hass, source, vad=vad)

    types = [str(event.type) for event in events]
    assert types == ["run-start", *expected, "run-end"]
    stt_end = next(event for event in events if event.type is PipelineEventType.STT_END)
    assert stt_end.data == {"stt_output": {"text": PHRASE}}


async def _finite(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0.01)
