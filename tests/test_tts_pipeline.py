"""An Assist pipeline with a streaming agent: the first words are heard while it still writes.

The agent (test-only) writes its answer over about two seconds. Its text must
reach Deepgram sentence by sentence as it is written, and the listener must get
the first audio before the agent has finished, wherever Home Assistant's
conversion allows it: without conversion (MP3 asked, or plain WAV) on every
version. A satellite's 16 kHz WAV is converted by ffmpeg before 2026.11, which
holds audio back (see `audio_route`); there only the text's timing is checked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
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

from . import answers_of, setup_integration
from .deepgram_server import DeepgramTestServer

ENGINE = "tts.deepgram_aura_2"
# The first chunk passes Home Assistant's 60 characters, so TTS starts streaming.
ANSWER = (
    ("Sure! I turned on the living room lights and set them to fifty percent.", 0.0),
    (" The kitchen", 0.4),
    (" is already", 0.4),
    (" bright.", 0.4),
    (" Anything", 0.4),
    (" else?", 0.4),
)
FULL_TEXT = "".join(chunk for chunk, _ in ANSWER)


class WritingAgent(conversation.ConversationEntity):
    """A conversation agent that streams its answer slowly, like an LLM."""

    _attr_name = "Writer"
    _attr_unique_id = "writer"
    _attr_supports_streaming = True

    def __init__(self) -> None:
        self.finished_at: float | None = None

    @property
    def supported_languages(self) -> Any:
        return MATCH_ALL

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        async def deltas() -> AsyncGenerator[dict[str, str]]:
            yield {"role": "assistant"}
            for chunk, delay in ANSWER:
                await asyncio.sleep(delay)
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
) -> tuple[list[PipelineEvent], bytes, float | None]:
    """Run intent → TTS; fetch the audio URL as soon as the run starts, like a satellite."""
    events: list[PipelineEvent] = []
    started = asyncio.Event()
    client = await http()

    def on_event(event: PipelineEvent) -> None:
        events.append(event)
        if event.type is PipelineEventType.RUN_START:
            started.set()

    async def listen() -> tuple[bytes, float | None]:
        await started.wait()
        run_start = events[0].data or {}
        reply = await client.get(run_start["tts_output"]["url"])
        audio = bytearray()
        first: float | None = None
        async for chunk in reply.content.iter_any():
            if first is None and len(audio) + len(chunk) > 44:  # past a WAV header
                first = time.monotonic()
            audio += chunk
        return bytes(audio), first

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
    audio, first = await asyncio.wait_for(listener, 10)
    return events, audio, first


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
    events, audio, first_audio = await run_pipeline(
        hass, hass_client, pipeline_id, tts_audio_output
    )

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
    events, audio, _ = await run_pipeline(hass, hass_client, pipeline_id, "wav")
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
