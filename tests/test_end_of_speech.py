"""Answering the moment the speaker stops: Deepgram's end of speech, bounds and pipelines."""

from __future__ import annotations

from array import array
import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import (
    CONF_END_OF_COMMAND,
    CONF_ENDPOINTING,
    CONF_MAX_UTTERANCE,
    CONF_MODEL,
    CONF_NO_SPEECH_TIMEOUT,
    END_BY_DEEPGRAM,
    END_BY_DEEPGRAM_OR_HOME_ASSISTANT,
    END_BY_HOME_ASSISTANT,
)
from homeassistant.components import stt
from homeassistant.components.assist_pipeline import PipelineEventType
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from . import METADATA, setting_of, setup_integration
from .deepgram_server import DeepgramTestServer
from .pipeline import CHUNK, SKIPS_VAD_ON_REQUEST, Microphone, finite, run_pipeline
from .speech import chunked, synthesize

ENTITY_ID = "stt.deepgram_nova_3_english"
PHRASE = "turn on the kitchen light"
FLUX = "flux-general-en"


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


async def test_home_assistant_alone_ending_streams_until_the_audio_ends(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """When only Home Assistant ends commands, the transcript is final when the audio ends."""
    entity = await setup_entity(
        hass, mock_config_entry, **{CONF_END_OF_COMMAND: END_BY_HOME_ASSISTANT}
    )
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


@pytest.mark.parametrize(
    ("options", "requires_external_vad"),
    [
        # Nova: Deepgram answers first; Home Assistant's VAD and its 15 s limit stay on.
        ({}, True),
        ({CONF_END_OF_COMMAND: END_BY_DEEPGRAM_OR_HOME_ASSISTANT}, True),
        ({CONF_END_OF_COMMAND: END_BY_DEEPGRAM}, False),
        ({CONF_END_OF_COMMAND: END_BY_HOME_ASSISTANT}, True),
        # Flux's end of turn waits through pauses that Home Assistant's VAD would cut.
        ({CONF_MODEL: FLUX}, False),
        (
            {CONF_MODEL: "flux-general-en", CONF_END_OF_COMMAND: END_BY_DEEPGRAM_OR_HOME_ASSISTANT},
            True,
        ),
    ],
)
async def test_audio_processing_tells_home_assistant_who_ends_the_command(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
    requires_external_vad: bool,
) -> None:
    """Home Assistant 2026.5+ is told whether to run its VAD; raw audio preferred either way."""
    await setup_integration(hass, mock_config_entry, **options)
    entity = next(iter(hass.data["stt"].entities))
    if not SKIPS_VAD_ON_REQUEST:
        # Before 2026.5 Home Assistant has no such setting and never asks.
        assert entity.audio_processing is None  # type: ignore[attr-defined]
        return
    assert entity.audio_processing == stt.SpeechAudioProcessing(  # type: ignore[attr-defined]
        requires_external_vad=requires_external_vad,
        prefers_auto_gain_enabled=False,
        prefers_noise_reduction_enabled=False,
    )


async def test_options_change_the_request_on_the_wire(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Saving the setting reloads the account and the next stream uses it."""
    await setup_entity(hass, mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "nova-3"}
    )
    assert result["step_id"] == "recognition"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "language": "en",
            CONF_END_OF_COMMAND: END_BY_DEEPGRAM_OR_HOME_ASSISTANT,
            CONF_ENDPOINTING: 500,
            CONF_NO_SPEECH_TIMEOUT: 6,
            CONF_MAX_UTTERANCE: 20,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert setting_of(mock_config_entry).data[CONF_ENDPOINTING] == 500
    assert setting_of(mock_config_entry).data["model"] == "nova-3"

    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    deepgram_server.utterances.append(PHRASE)
    microphone = Microphone(chunked(synthesize(PHRASE, trailing_silence=0.0), CHUNK))
    result_text = await entity.internal_async_process_audio_stream(METADATA, microphone.stream())
    assert result_text.text == PHRASE
    assert deepgram_server.sessions[-1].param("endpointing") == "500"


def expected_events(ends_command: str, *, vad: bool, requires_external_vad: bool) -> list[str]:
    """Return the speech-to-text events the running Home Assistant emits."""
    vad_runs = vad and (requires_external_vad or not SKIPS_VAD_ON_REQUEST)
    if not vad_runs:
        return ["stt-start", "stt-end"]
    if ends_command == END_BY_HOME_ASSISTANT:
        return ["stt-start", "stt-vad-start", "stt-vad-end", "stt-end"]
    # Deepgram answers 300 ms into the silence, before HA's VAD (700 ms) ends it,
    # and the entity stops reading the audio then: no stt-vad-end can follow.
    return ["stt-start", "stt-vad-start", "stt-end"]


@pytest.mark.parametrize("vad", [True, False])
@pytest.mark.parametrize(
    ("ends_command", "requires_external_vad"),
    [
        (END_BY_DEEPGRAM_OR_HOME_ASSISTANT, True),
        (END_BY_DEEPGRAM, False),
        (END_BY_HOME_ASSISTANT, True),
    ],
)
async def test_pipeline_event_sequence(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    ends_command: str,
    requires_external_vad: bool,
    vad: bool,
) -> None:
    """Every choice, with and without Home Assistant's VAD, ends in the transcript."""
    await setup_entity(hass, mock_config_entry, **{CONF_END_OF_COMMAND: ends_command})
    deepgram_server.utterances.append(PHRASE)
    # Twice real time: fast, yet the 300 ms endpoint and the 700 ms VAD stay apart.
    speech = chunked(synthesize(PHRASE, trailing_silence=1.5), CHUNK)
    microphone = Microphone(speech, delay=0.01)
    answers_itself = ends_command != END_BY_HOME_ASSISTANT
    source = microphone.stream() if answers_itself or vad else finite(speech)

    events = await run_pipeline(hass, ENTITY_ID, source, vad=vad)

    types = [str(event.type) for event in events]
    expected = expected_events(ends_command, vad=vad, requires_external_vad=requires_external_vad)
    assert types == ["run-start", *expected, "run-end"]
    stt_end = next(event for event in events if event.type is PipelineEventType.STT_END)
    assert stt_end.data == {"stt_output": {"text": PHRASE}}
    stt_start = next(event for event in events if event.type is PipelineEventType.STT_START)
    if "audio_processing" in (stt_start.data or {}):  # Home Assistant 2026.8+
        assert stt_start.data["audio_processing"] == asdict(
            stt.SpeechAudioProcessing(  # type: ignore[attr-defined]
                requires_external_vad=requires_external_vad,
                prefers_auto_gain_enabled=False,
                prefers_noise_reduction_enabled=False,
            )
        )
    if answers_itself:
        # The entity stopped reading the moment it answered.
        assert microphone.closed


async def test_only_deepgram_bounds_a_silent_command_in_a_pipeline(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """With only Deepgram ending commands, the no-speech bound ends a silent microphone.

    On Home Assistant 2026.5+ the pipeline then runs no VAD and has no limit of its
    own: this bound is all there is.
    """
    await setup_entity(
        hass,
        mock_config_entry,
        **{CONF_END_OF_COMMAND: END_BY_DEEPGRAM, CONF_NO_SPEECH_TIMEOUT: 0.5},
    )
    microphone = Microphone([], delay=0.02)
    started = time.monotonic()

    events = await run_pipeline(hass, ENTITY_ID, microphone.stream(), vad=True)

    assert 0.5 <= time.monotonic() - started < 2.0
    assert microphone.closed
    types = [str(event.type) for event in events]
    assert "stt-vad-start" not in types or not SKIPS_VAD_ON_REQUEST
    assert types[-2:] == ["error", "run-end"]
    assert events[-2].data is not None
    assert events[-2].data["code"] == "stt-no-text-recognized"
