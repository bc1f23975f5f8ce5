"""Answering the moment the speaker stops: Deepgram's end of speech, bounds and pipelines."""

from __future__ import annotations

from array import array
import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
import itertools
import logging
import time
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram import stt as stt_platform
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
from homeassistant.components.assist_pipeline import PipelineEvent, PipelineEventType
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from local_deepgram_server import DeepgramTestServer, RecordedSession
from local_deepgram_server.speech import (
    PausedCommand,
    chunked,
    spoken_with_pauses,
    synthesize,
    trim_silence,
)

from . import METADATA, setting_of, setup_integration
from .pipeline import CHUNK, SKIPS_VAD_ON_REQUEST, Microphone, finite, run_pipeline

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


class GatedMicrophone(Microphone):
    """A microphone that goes quiet for good once `gate()` is true, as if its speaker left.

    After that only Deepgram's messages can end the command, so an answer then
    proves the entity answered at the end of speech it already had.
    """

    def __init__(self, chunks: list[bytes], gate: Callable[[], bool]) -> None:
        """Stream `chunks`, then silence until `gate()` turns true, then nothing."""
        super().__init__(chunks)
        self._gate = gate

    async def stream(self) -> AsyncIterator[bytes]:
        """Yield audio until the gate closes, then wait until the stream is closed."""
        try:
            for index in itertools.count():
                if self._gate():
                    await asyncio.Event().wait()
                yield self.chunks[index] if index < len(self.chunks) else bytes(CHUNK)
                self.sent += 1
                await asyncio.sleep(self.delay)
        finally:
            self.closed = True


def speech_final_sent(server: DeepgramTestServer) -> bool:
    """Whether the server has sent a speech_final on any stream."""
    return any(
        message.get("speech_final") for session in server.sessions for message in session.sent
    )


def stt_event_types(events: list[PipelineEvent]) -> list[str]:
    """The speech-to-text events of a pipeline run, in order."""
    return [str(event.type) for event in events if str(event.type).startswith("stt-")]


def transcript_of(events: list[PipelineEvent]) -> str:
    """The text of the run's stt-end."""
    stt_end = next(event for event in events if event.type is PipelineEventType.STT_END)
    assert stt_end.data is not None
    return str(stt_end.data["stt_output"]["text"])


async def test_answers_when_deepgram_hears_the_end(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The transcript comes back while the microphone is still open; everything closes."""
    entity = await setup_entity(hass, mock_config_entry)
    deepgram_server.utterances.append(PHRASE)
    speech = chunked(synthesize(PHRASE, trailing_silence=0.0), CHUNK)
    # Quiet for good once Deepgram has sent its end of speech: only that can end it.
    microphone = GatedMicrophone(speech, lambda: speech_final_sent(deepgram_server))

    result = await entity.internal_async_process_audio_stream(METADATA, microphone.stream())

    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    assert microphone.closed
    session = deepgram_server.sessions[-1]
    await session.closed.wait()
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
    assert time.monotonic() - started >= 0.5
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
    assert time.monotonic() - started >= 1.0
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

    assert time.monotonic() - started >= 0.5
    assert microphone.closed
    types = [str(event.type) for event in events]
    assert "stt-vad-start" not in types or not SKIPS_VAD_ON_REQUEST
    assert types[-2:] == ["error", "run-end"]
    assert events[-2].data is not None
    assert events[-2].data["code"] == "stt-no-text-recognized"


PAUSED = PausedCommand("en", ("turn on the", "kitchen light"), "after an article")


def final_transcripts(session: RecordedSession) -> list[str]:
    """What each final Results the server sent said, in order."""
    return [
        message["channel"]["alternatives"][0]["transcript"]
        for message in session.sent
        if message.get("type") == "Results" and message.get("is_final")
    ]


@pytest.mark.parametrize("pause", [0.3, 0.5, 0.6])
async def test_a_pause_inside_a_command_keeps_it_whole(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    pause: float,
) -> None:
    """'turn on the', a pause, 'kitchen light': one command, though Deepgram ends a segment."""
    await setup_entity(hass, mock_config_entry)
    deepgram_server.utterances.append(PAUSED.script)
    audio = spoken_with_pauses(PAUSED, pause, trailing_silence=0.0)
    microphone = Microphone(chunked(audio, CHUNK))

    events = await run_pipeline(hass, ENTITY_ID, microphone.stream())

    assert transcript_of(events) == "turn on the kitchen light"
    # Deepgram's end of speech came in the pause, with the words before it.
    session = deepgram_server.sessions[-1]
    assert final_transcripts(session)[:2] == ["turn on the", "kitchen light"]
    assert next(m for m in session.sent if m.get("is_final"))["speech_final"] is True
    types = stt_event_types(events)
    assert types[-1] == "stt-end"  # no stt-vad-end after it
    assert microphone.closed


async def test_a_finished_command_is_answered_at_the_first_end_of_speech(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Continuous speech ends at Deepgram's first speech_final: no waiting on more audio.

    The microphone goes quiet for good once the server has sent speech_final,
    so only that message can end the command.
    """
    await setup_entity(hass, mock_config_entry)
    deepgram_server.utterances.append(PAUSED.text)
    audio = spoken_with_pauses(PAUSED, None, trailing_silence=0.0)
    microphone = GatedMicrophone(chunked(audio, CHUNK), lambda: speech_final_sent(deepgram_server))
    with (
        patch.object(stt_platform, "PAUSE_WALL_CLOCK_MARGIN", 3600.0),
        caplog.at_level(logging.DEBUG, logger="custom_components.deepgram"),
    ):
        events = await run_pipeline(hass, ENTITY_ID, microphone.stream())

    # Neither the pause's bound nor the longest-command bound ended it.
    assert "Ending the" not in caplog.text

    assert transcript_of(events) == "turn on the kitchen light"
    assert final_transcripts(deepgram_server.sessions[-1]) == ["turn on the kitchen light"]
    assert stt_event_types(events)[-1] == "stt-end"
    assert microphone.closed


async def test_an_unfinished_command_whose_audio_stalls_ends_by_the_wall_clock(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After 'turn on the' the entity waits; audio that stops coming cannot hang it."""
    await setup_entity(hass, mock_config_entry)
    deepgram_server.utterances.append("turn on the")
    speech = trim_silence(synthesize("turn on the", leading_silence=0, trailing_silence=0))
    microphone = GatedMicrophone(
        chunked(bytes(9600) + speech, CHUNK), lambda: speech_final_sent(deepgram_server)
    )
    with caplog.at_level(logging.DEBUG, logger="custom_components.deepgram"):
        events = await run_pipeline(hass, ENTITY_ID, microphone.stream())

    assert transcript_of(events) == "turn on the"
    assert "the pause outlasted its bound (wall clock)" in caplog.text
    assert stt_event_types(events)[-1] == "stt-end"


@pytest.mark.parametrize("pause", [1.0, 1.2])
async def test_a_pause_longer_than_home_assistant_waits_ends_the_command(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    pause: float,
) -> None:
    """A pause longer than Home Assistant's own detection waits ends the command there."""
    await setup_entity(hass, mock_config_entry)
    deepgram_server.utterances.append(PAUSED.script)
    audio = spoken_with_pauses(PAUSED, pause, trailing_silence=0.0)
    microphone = Microphone(chunked(audio, CHUNK))

    events = await run_pipeline(hass, ENTITY_ID, microphone.stream())

    assert transcript_of(events) == "turn on the"
    types = stt_event_types(events)
    assert types[-1] == "stt-end"  # Home Assistant's detection may end it first, never after
    assert microphone.closed


async def test_flux_keeps_a_pause_inside_a_command(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Flux's end of turn waits through the pause after 'turn on the' by itself."""
    await setup_integration(hass, mock_config_entry, **{CONF_MODEL: FLUX})
    entity_id = next(iter(hass.data["stt"].entities)).entity_id
    deepgram_server.utterances.append(PAUSED.script)
    audio = spoken_with_pauses(PAUSED, 0.7, trailing_silence=1.0)

    events = await run_pipeline(hass, entity_id, finite(chunked(audio, CHUNK), delay=0))

    assert transcript_of(events) == "turn on the kitchen light"
    turns = [m for m in deepgram_server.sessions[-1].sent if m.get("event") == "EndOfTurn"]
    assert [turn["transcript"] for turn in turns] == ["turn on the kitchen light"]
