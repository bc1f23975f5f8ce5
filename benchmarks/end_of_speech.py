"""How soon Assist has the transcript after the speaker stops: Deepgram's end of speech vs HA's VAD.

Real speech from espeak-ng, followed by 1.5 s of silence, is fed at real time in
20 ms chunks through `assist_pipeline.async_pipeline_from_audio_stream` into the
Deepgram entity, against the local Deepgram server (speech_final 300 ms of audio
after the last speech frame). Measured: time from the last speech sample to the
pipeline's `stt-end`, with the option "Deepgram detects end of speech" on and
off (then Home Assistant's own VAD ends the command), alternating in one run.

    .venv/bin/python -m benchmarks.end_of_speech [--runs 20]
"""

from __future__ import annotations

import argparse
from array import array
import asyncio
from collections.abc import AsyncIterator
import platform
import statistics
import time

from custom_components.deepgram.const import (
    END_BY_DEEPGRAM_OR_HOME_ASSISTANT,
    END_BY_HOME_ASSISTANT,
)
from homeassistant.components import tts
from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineEventType,
    PipelineStage,
    async_create_default_pipeline,
    async_pipeline_from_audio_stream,
)
from homeassistant.components.assist_pipeline.pipeline import AudioSettings
from homeassistant.const import __version__ as ha_version
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from tests.deepgram_server import DeepgramTestServer
from tests.speech import chunked, synthesize

from .home_assistant import PCM_16K_MONO, add_deepgram, running_home_assistant

SAMPLE_RATE = 16000
CHUNK_SECONDS = 0.02
CHUNK_BYTES = int(SAMPLE_RATE * CHUNK_SECONDS) * 2
ENDPOINTING_MS = 300
SPEECH_RMS = 500  # the local server's speech threshold, per 10 ms frame
PHRASES = (
    "turn on the kitchen light",
    "set the thermostat to twenty one degrees",
    "what is the weather like tomorrow",
    "close the garage door",
    "play some music in the living room",
)


def last_speech_seconds(pcm: bytes) -> float:
    """Return the audio time at which the last 10 ms frame with speech ends."""
    samples = array("h", pcm)
    frame = SAMPLE_RATE // 100
    last = 0
    for start in range(0, len(samples) - frame + 1, frame):
        window = samples[start : start + frame]
        if (sum(value * value for value in window) / frame) ** 0.5 >= SPEECH_RMS:
            last = start + frame
    return last / SAMPLE_RATE


async def microphone(pcm: bytes, started: float) -> AsyncIterator[bytes]:
    """Deliver each 20 ms chunk when its last sample has been 'recorded'."""
    loop = asyncio.get_running_loop()
    for index, chunk in enumerate(chunked(pcm, CHUNK_BYTES)):
        await asyncio.sleep(max(0.0, started + (index + 1) * CHUNK_SECONDS - loop.time()))
        yield chunk


async def set_up_pipelines(hass: HomeAssistant, server: str) -> dict[bool, str]:
    """Add one entry per setting of the option, each in a pipeline of its own."""
    for component in ("homeassistant", "assist_pipeline"):
        if not await async_setup_component(hass, component, {}):
            msg = f"{component} did not set up"
            raise RuntimeError(msg)
    pipelines: dict[bool, str] = {}
    for end_of_speech in (True, False):
        ends_command = END_BY_DEEPGRAM_OR_HOME_ASSISTANT if end_of_speech else END_BY_HOME_ASSISTANT
        entry, entity = await add_deepgram(
            hass, server, api_key=f"end-of-speech-{end_of_speech}", end_of_command=ends_command
        )
        pipeline = await async_create_default_pipeline(
            hass,
            stt_engine_id=entity.entity_id,
            # Whatever Home Assistant picks (the account's Deepgram voice): None would not match.
            tts_engine_id=tts.async_default_engine(hass),
            pipeline_name=entry.title,
        )
        if pipeline is None:
            msg = "no pipeline could be created"
            raise RuntimeError(msg)
        pipelines[end_of_speech] = pipeline.id
    await hass.async_block_till_done()
    return pipelines


async def one_run(hass: HomeAssistant, pipeline_id: str, pcm: bytes) -> tuple[float, str]:
    """Return seconds from the last speech sample to stt-end, and the transcript."""
    loop = asyncio.get_running_loop()
    done: dict[str, float | str] = {}

    def on_event(event: PipelineEvent) -> None:
        if event.type is PipelineEventType.STT_END:
            done["at"] = loop.time()
            done["text"] = (event.data or {})["stt_output"]["text"]

    started = loop.time()
    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=on_event,
        stt_metadata=PCM_16K_MONO,
        stt_stream=microphone(pcm, started),
        pipeline_id=pipeline_id,
        start_stage=PipelineStage.STT,
        end_stage=PipelineStage.STT,
        audio_settings=AudioSettings(is_vad_enabled=True),
    )
    if "at" not in done:
        msg = "the pipeline ended without stt-end"
        raise RuntimeError(msg)
    latency = float(done["at"]) - (started + last_speech_seconds(pcm))
    return latency, str(done["text"])


def describe(values: list[float]) -> str:
    """Summarise latencies in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms   "
        f"min {ordered[0] * 1000:6.0f} ms   max {ordered[-1] * 1000:6.0f} ms   n={len(ordered)}"
    )


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def bench(runs: int) -> None:
    """Alternate both settings `runs` times each and print the distributions."""
    server = DeepgramTestServer(api_keys=None)
    await server.start()
    latencies: dict[bool, list[float]] = {True: [], False: []}
    try:
        async with running_home_assistant() as hass:
            pipelines = await set_up_pipelines(hass, server.url)
            for run in range(runs):
                pcm = await asyncio.to_thread(
                    synthesize, PHRASES[run % len(PHRASES)], trailing_silence=1.5
                )
                for end_of_speech in (True, False):
                    latency, text = await one_run(hass, pipelines[end_of_speech], pcm)
                    if not text:
                        msg = "empty transcript"
                        raise RuntimeError(msg)
                    latencies[end_of_speech].append(latency)
    finally:
        await server.stop()
    on, off = latencies[True], latencies[False]
    print(f"End of speech to transcript, {runs} runs each, {time.strftime('%Y-%m-%d')}")  # noqa: T201
    print(  # noqa: T201
        f"machine: {platform.machine()}, Python {platform.python_version()}, "
        f"Home Assistant {ha_version}"
    )
    print(f"endpointing {ENDPOINTING_MS} ms; last speech sample to stt-end:")  # noqa: T201
    print(f"  Deepgram, or HA's VAD as fallback:    {describe(on)}")  # noqa: T201
    print(f"  Only Home Assistant's VAD:            {describe(off)}")  # noqa: T201
    ratio50 = statistics.median(off) / statistics.median(on)
    ratio95 = percentile(off, 0.95) / percentile(on, 0.95)
    print(f"  ratio off/on: p50 {ratio50:.1f}x, p95 {ratio95:.1f}x")  # noqa: T201


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per setting (default 20)")
    asyncio.run(bench(parser.parse_args().runs))


if __name__ == "__main__":
    main()
