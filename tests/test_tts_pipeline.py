"""An Assist pipeline with a streaming agent: the first words are heard while it still writes.

The agent (test-only) writes its first sentence, then the rest only once the
listener has heard audio: so the answer must reach Deepgram sentence by
sentence as it is written, and the first audio must reach the listener while
the agent is still writing, wherever Home Assistant's conversion allows it:
without conversion (MP3 asked, or plain WAV) on every version. A satellite's
16 kHz WAV is converted by ffmpeg before 2026.11, which holds audio back (see
`audio_route`); there the agent goes on once its first text has reached
Deepgram. Were either late, the agent would never finish and the run would
fail at the guard.

A refused answer fails where the satellite fetches it: Home Assistant's
pipelines (2026.2 to 2026.11) have no event for audio that fails after
`tts-end`, so the URL answers an error instead of audio, and Home Assistant
logs Deepgram's reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from http import HTTPStatus
import logging
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.deepgram.tts import WAV_PASSTHROUGH
from homeassistant.components import conversation
from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineEventType,
    PipelineInput,
    PipelineRun,
    PipelineStage,
    async_get_pipeline,
)
from homeassistant.components.conversation.const import DATA_COMPONENT
from homeassistant.const import MATCH_ALL
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import chat_session
from homeassistant.setup import async_setup_component
from local_deepgram_server import DeepgramTestServer

from . import answers_of, setup_integration

ENGINE = "tts.deepgram_aura_2"
# The first chunk passes Home Assistant's 60 characters, so TTS starts streaming.
ANSWER = (
    "Sure! I turned on the living room lights and set them to fifty percent.",
    " The kitchen",
    " is already",
    " bright.",
    " Anything",
    " else?",
)
FULL_TEXT = "".join(ANSWER)
# Only guards against a hang; the events awaited come long before.
GUARD = 30


class WritingAgent(conversation.ConversationEntity):
    """A conversation agent that streams its answer like an LLM, pausing after its first part."""

    _attr_name = "Writer"
    _attr_unique_id = "writer"
    _attr_supports_streaming = True

    def __init__(self) -> None:
        self.finished_at: float | None = None
        self.go_on: asyncio.Event | None = None
        """Awaited after the first part, when set: what must happen while the agent writes."""

    @property
    def supported_languages(self) -> Any:
        return MATCH_ALL

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        async def deltas() -> AsyncGenerator[dict[str, str]]:
            yield {"role": "assistant"}
            first, *rest = ANSWER
            yield {"content": first}
            if self.go_on is not None:
                await asyncio.wait_for(self.go_on.wait(), GUARD)
            for chunk in rest:
                yield {"content": chunk}
            self.finished_at = time.monotonic()

        async for _ in chat_log.async_add_delta_content_stream(self.entity_id, deltas()):
            pass
        return conversation.async_get_result_from_chat_log(user_input, chat_log)


@pytest.fixture
async def agent(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> WritingAgent:
    """Set up the voice and the writing agent."""
    await setup_integration(hass, mock_config_entry)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    writer = WritingAgent()
    await hass.data[DATA_COMPONENT].async_add_entities([writer])
    return writer


async def create_pipeline(hass_ws_client: WebSocketGenerator, hass: HomeAssistant) -> str:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "conversation_engine": "conversation.writer",
            "conversation_language": "en",
            "language": "en",
            "name": "Deepgram voice",
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": ENGINE,
            "tts_language": "en",
            "tts_voice": "aura-2-draco-en",
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    reply = await client.receive_json()
    assert reply["success"], reply
    return str(reply["result"]["id"])


async def run_pipeline(
    hass: HomeAssistant,
    http: ClientSessionGenerator,
    pipeline_id: str,
    tts_audio_output: str | dict[str, Any] | None,
    heard: asyncio.Event | None = None,
) -> tuple[list[PipelineEvent], int, bytes, float | None]:
    """Run intent → TTS; fetch the audio URL as soon as the run starts, like a satellite.

    Return the events, the URL's HTTP status and body, and when audio past a WAV
    header first came (`heard` is set then).
    """
    events: list[PipelineEvent] = []
    started = asyncio.Event()
    client = await http()

    def on_event(event: PipelineEvent) -> None:
        events.append(event)
        if event.type is PipelineEventType.RUN_START:
            started.set()

    async def listen() -> tuple[int, bytes, float | None]:
        await started.wait()
        run_start = events[0].data or {}
        reply = await client.get(run_start["tts_output"]["url"])
        audio = bytearray()
        first: float | None = None
        async for chunk in reply.content.iter_any():
            if first is None and len(audio) + len(chunk) > 44:  # past a WAV header
                first = time.monotonic()
                if heard is not None:
                    heard.set()
            audio += chunk
        return reply.status, bytes(audio), first

    listener = asyncio.create_task(listen())
    with chat_session.async_get_chat_session(hass) as session:
        pipeline_input = PipelineInput(
            session=session,
            intent_input="Turn on the living room lights",
            run=PipelineRun(
                hass,
                context=Context(),
                pipeline=async_get_pipeline(hass, pipeline_id),
                start_stage=PipelineStage.INTENT,
                end_stage=PipelineStage.TTS,
                event_callback=on_event,
                tts_audio_output=tts_audio_output,
            ),
        )
        await pipeline_input.validate()
        await pipeline_input.execute()
    status, audio, first = await asyncio.wait_for(listener, GUARD)
    return events, status, audio, first


def agent_end(agent: WritingAgent) -> float:
    assert agent.finished_at is not None
    return agent.finished_at


@pytest.mark.parametrize(
    ("tts_audio_output", "route"),
    [(None, "rest mp3"), ({"preferred_format": "wav"}, "websocket wav 24000")],
    ids=["mp3", "wav"],
)
async def test_first_words_heard_while_the_agent_writes(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    agent: WritingAgent,
    deepgram_server: DeepgramTestServer,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    tts_audio_output: dict[str, Any] | None,
    route: str,
) -> None:
    """Audio that needs no conversion reaches the listener before the agent finishes."""
    pipeline_id = await create_pipeline(hass_ws_client, hass)
    heard = agent.go_on = asyncio.Event()
    events, status, audio, first_audio = await run_pipeline(
        hass, hass_client, pipeline_id, tts_audio_output, heard
    )
    assert status == HTTPStatus.OK

    run_start = events[0].data or {}
    assert run_start["tts_output"]["stream_response"] is True
    assert any((event.data or {}).get("tts_start_streaming") for event in events)
    finished = agent_end(agent)
    assert first_audio is not None
    assert first_audio < finished, "the first words came only after the agent had finished"

    [answer] = answers_of(mock_config_entry)
    assert answer.route == route
    assert answer.voice == "aura-2-draco-en"  # the pipeline's voice
    speak = deepgram_server.speak
    if route == "rest mp3":
        assert speak.posts[0].texts == ["Sure!"]  # the first sentence goes alone
        assert " ".join(post.texts[0] for post in speak.posts) == FULL_TEXT
        assert all(post.param("model") == "aura-2-draco-en" for post in speak.posts)
        assert audio == b"".join(bytes(post.audio) for post in speak.posts)
    else:
        [session] = speak.sessions
        assert "".join(session.texts) == FULL_TEXT
        assert session.param("model") == "aura-2-draco-en"
        assert audio[44:] == bytes(session.audio)


async def test_satellite_wav_text_reaches_deepgram_as_written(
    hass: HomeAssistant,
    agent: WritingAgent,
    deepgram_server: DeepgramTestServer,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    """A satellite's 16 kHz WAV: the first sentence is sent to Deepgram before the agent ends.

    Before 2026.11 Home Assistant's ffmpeg turns the MP3 into that WAV and holds
    the start back; with 2026.11's passthrough the websocket's WAV goes out as is.
    """
    pipeline_id = await create_pipeline(hass_ws_client, hass)
    agent.go_on = deepgram_server.speak.text_arrived
    events, _, audio, _ = await run_pipeline(hass, hass_client, pipeline_id, "wav")
    finished = agent_end(agent)
    assert audio[:4] == b"RIFF"
    assert int.from_bytes(audio[24:28], "little") == 16000
    speak = deepgram_server.speak
    if WAV_PASSTHROUGH:
        [session] = speak.sessions
        first_text = session.started + session.times("Speak")[0]
    else:
        first_text = speak.posts[0].started
    assert first_text < finished
    assert len(events) > 3


@pytest.mark.parametrize(
    ("tts_audio_output", "route"),
    [(None, "rest mp3"), ({"preferred_format": "wav"}, "websocket wav 24000")],
    ids=["mp3", "wav"],
)
async def test_a_refused_answer_fails_where_the_satellite_fetches_it(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    agent: WritingAgent,
    deepgram_server: DeepgramTestServer,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    tts_audio_output: dict[str, Any] | None,
    route: str,
) -> None:
    """Deepgram refuses: the run's audio URL answers 500 with no bytes (not a WAV header or
    an empty MP3), and Home Assistant logs Deepgram's reason with its request id."""
    deepgram_server.speak.refuse_status = HTTPStatus.SERVICE_UNAVAILABLE
    pipeline_id = await create_pipeline(hass_ws_client, hass)
    events, status, audio, _ = await run_pipeline(hass, hass_client, pipeline_id, tts_audio_output)

    assert (status, audio) == (HTTPStatus.INTERNAL_SERVER_ERROR, b"")
    assert events[-1].type is PipelineEventType.RUN_END
    speak = deepgram_server.speak
    [refused] = speak.rejected if route.startswith("websocket") else speak.posts
    [answer] = answers_of(mock_config_entry)
    assert answer.route == route
    assert answer.outcome.startswith("DeepgramServerError")
    assert answer.request_ids == (refused.request_id,)
    reported = [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.name.startswith("homeassistant.components.tts")
        and record.levelno >= logging.ERROR
    ]
    assert reported
    assert all(refused.request_id in line and "HTTP 503" in line for line in reported)
