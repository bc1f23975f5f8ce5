"""Drive the entity the way Home Assistant does: a microphone and an Assist pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from homeassistant.components import stt, tts
from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineStage,
    async_create_default_pipeline,
    async_pipeline_from_audio_stream,
)
from homeassistant.components.assist_pipeline.pipeline import AudioSettings
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component

from . import METADATA

CHUNK = 640  # 20 ms of 16 kHz mono 16-bit audio

# Home Assistant 2026.5+ skips its own voice detection for an entity that does not
# require it; before, it ran whenever the pipeline asked for it.
SKIPS_VAD_ON_REQUEST = hasattr(stt, "SpeechAudioProcessing")


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


async def finite(chunks: list[bytes], delay: float = 0.01) -> AsyncIterator[bytes]:
    """Yield the chunks, then end, like an upload."""
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(delay)


async def run_pipeline(
    hass: HomeAssistant,
    entity_id: str,
    audio: AsyncIterator[bytes],
    *,
    vad: bool = True,
    metadata: stt.SpeechMetadata = METADATA,
) -> list[PipelineEvent]:
    """Run the speech-to-text stage of a pipeline in Home Assistant's language."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    # Whatever Home Assistant picks (the account's Deepgram voice): None would not match,
    # unless no voice speaks the language (Arabic): then the pipeline has no speech output.
    for tts_engine_id in (tts.async_default_engine(hass), None):
        pipeline = await async_create_default_pipeline(
            hass, stt_engine_id=entity_id, tts_engine_id=tts_engine_id, pipeline_name="Deepgram"
        )
        if pipeline is not None:
            break
    assert pipeline is not None
    assert pipeline.stt_engine == entity_id
    events: list[PipelineEvent] = []
    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=events.append,
        stt_metadata=metadata,
        stt_stream=audio,
        pipeline_id=pipeline.id,
        start_stage=PipelineStage.STT,
        end_stage=PipelineStage.STT,
        audio_settings=AudioSettings(is_vad_enabled=vad),
    )
    return events
