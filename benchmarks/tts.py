"""How soon the first words are heard: streaming answers against REST after the whole answer.

`python -m benchmarks.tts` runs Home Assistant in this process with a Deepgram
voice on the local Deepgram server (in a child process, so its work is not
counted), and an agent that writes like an LLM: a first chunk of just over 60
characters (Home Assistant waits for that much before it streams), then a word
every 20 ms. It prints, for answers of 1, 3 and 6 sentences, alone and 20 at
once, the time from the agent's first text to the first audio byte that
reaches the listener (through Home Assistant's TTS stream) for

* stream-wav: the websocket, WAV as Deepgram sends it (no conversion anywhere),
* stream-mp3: REST per sentence, MP3 (Home Assistant's default format),
* rest-after: one REST request once the agent has finished (no streaming),

then the CPU time and memory per answer, the longest event-loop stall,
whether each of 20 concurrent listeners got exactly its own audio, and how long
this Home Assistant's ffmpeg conversion holds the first audio back for WAV and
for MP3 input (why `audio_route` hands it MP3 when it converts anyway).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
import multiprocessing
import re
import statistics
import sys
import time
from typing import Any

from custom_components.deepgram.protocol import DeepgramSpeaker, SpeakOptions
from custom_components.deepgram.protocol.wav import streaming_wav_header
from homeassistant.components import tts
import homeassistant.components.tts as tts_module
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
from local_deepgram_server import DeepgramTestServer

from .harness import rss_bytes
from .home_assistant import add_deepgram, running_home_assistant

ENGINE = "tts.deepgram_aura_2"
WORD_SECONDS = 0.02
FIRST_CHUNK_CHARS = 61
SENTENCES = (
    "Sure, done.",
    "I turned on the lights in the living room and set them to fifty percent.",
    "The kitchen is already bright, so I left it as it was.",
    "It is twenty one degrees inside and a little colder outside.",
    "The front door is locked and the garage door is closed.",
    "Tomorrow will be sunny with a light breeze from the west.",
)
MODES = ("stream-wav", "stream-mp3", "rest-after")
OPTIONS: dict[str, dict[str, Any]] = {
    "stream-wav": {"preferred_format": "wav"},
    "stream-mp3": {},
    "rest-after": {},
    "rest-warm": {"preferred_format": "mp3"},
}
STALL_TICK = 0.005


def answer_text(sentences: int, number: int) -> str:
    """Return an answer of `sentences` sentences, each unique by `number`."""
    return " ".join(f"{sentence[:-1]}, number {number}." for sentence in SENTENCES[:sentences])


@dataclass
class Writing:
    """When the agent wrote its first text and when it finished."""

    first_text_at: float | None = None
    finished_at: float | None = None


async def agent(text: str, writing: Writing) -> AsyncIterator[str]:
    """Write `text` as Home Assistant hands an LLM's answer on: a first chunk, then words."""
    first, rest = text[:FIRST_CHUNK_CHARS], text[FIRST_CHUNK_CHARS:]
    writing.first_text_at = time.monotonic()
    yield first
    for word in re.findall(r"\s*\S+\s*$|\s*\S+", rest):
        await asyncio.sleep(WORD_SECONDS)
        yield word
    writing.finished_at = time.monotonic()


@dataclass
class Heard:
    """What one listener got."""

    text: str
    first_audio: float
    audio: bytes = field(repr=False)


async def one_answer(hass: HomeAssistant, mode: str, text: str) -> Heard:
    """Speak one answer in `mode`; return seconds from the first text to the first audio."""
    writing = Writing()
    stream = tts.async_create_stream(hass, ENGINE, "en", dict(OPTIONS[mode]))
    if mode in ("rest-after", "rest-warm"):
        written = "".join([chunk async for chunk in agent(text, writing)])
        stream.async_set_message(written)
    else:
        stream.async_set_message_stream(agent(text, writing))
    header = 44 if mode == "stream-wav" else 0
    audio = bytearray()
    first: float | None = None
    async for chunk in stream.async_stream_result():
        audio += chunk
        if first is None and len(audio) > header:
            first = time.monotonic()
    if first is None or writing.first_text_at is None:
        msg = f"no audio for {text!r}"
        raise RuntimeError(msg)
    return Heard(text, first - writing.first_text_at, bytes(audio))


class StallMeter:
    """How late the event loop woke a task sleeping 5 ms, and the longest single callback.

    Lateness also counts time the OS gave other processes (the server, other work
    on the machine). The CPU time of each callback the loop runs (asyncio's
    `Handle._run`, wrapped while measuring) is what blocks the loop itself.
    """

    def __init__(self) -> None:
        """Start measuring now."""
        self.late = 0.0
        self.cpu = 0.0
        self.callback_cpu = 0.0
        self._original_run = asyncio.events.Handle._run  # noqa: SLF001 - measured, then restored
        meter = self
        original = self._original_run

        def timed_run(handle: asyncio.events.Handle) -> None:
            started = time.thread_time()
            original(handle)
            meter.callback_cpu = max(meter.callback_cpu, time.thread_time() - started)

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign] # noqa: SLF001
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + STALL_TICK
            cpu = time.thread_time()
            await asyncio.sleep(STALL_TICK)
            self.late = max(self.late, loop.time() - due)
            self.cpu = max(self.cpu, time.thread_time() - cpu)

    async def stop(self) -> tuple[float, float, float]:
        """Stop; return the longest lateness, CPU between ticks, and callback CPU."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        asyncio.events.Handle._run = self._original_run  # type: ignore[method-assign] # noqa: SLF001
        return self.late, self.cpu, self.callback_cpu


def p95(values: list[float]) -> float:
    """Return the 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    """Format seconds as milliseconds in a column."""
    return f"{seconds * 1000:7.0f}"


async def timings(hass: HomeAssistant, repeats: int) -> dict[tuple[str, int, int], list[float]]:
    """First-audio times per (mode, sentences, concurrency)."""
    results: dict[tuple[str, int, int], list[float]] = {}
    number = 0
    for concurrency in (1, 20):
        for sentences in (1, 3, 6):
            for mode in MODES:
                samples: list[float] = []
                rounds = repeats if concurrency == 1 else 1
                for _ in range(rounds):
                    texts = []
                    for _ in range(concurrency):
                        number += 1
                        texts.append(answer_text(sentences, number))
                    heard = await batch(hass, mode, texts)
                    samples.extend(item.first_audio for item in heard)
                results[mode, sentences, concurrency] = samples
    return results


async def load(
    hass: HomeAssistant, mode: str, count: int, number: int
) -> tuple[float, int, tuple[float, float, float]]:
    """CPU seconds and RSS bytes per answer, and the longest stall, for `count` at once."""
    texts = [answer_text(6, number + index) for index in range(count)]
    await batch(hass, mode, texts)  # the server's speech for these texts, made in advance
    rss_before = rss_bytes()
    cpu_before = time.process_time()
    meter = StallMeter()
    await asyncio.gather(*(one_answer(hass, mode, text) for text in texts))
    stall = await meter.stop()
    cpu = (time.process_time() - cpu_before) / count
    return cpu, max(rss_bytes() - rss_before, 0) // count, stall


async def batch(
    hass: HomeAssistant, mode: str, texts: list[str], *, warm: bool = True
) -> list[Heard]:
    """Speak `texts` at once; first once unmeasured, so the server's espeak has them cached.

    The local server makes speech with espeak-ng, whose cost is not Deepgram's;
    cached, its time to first byte is the `--ttfb` switch. The warm-up run of
    rest-after asks for MP3 explicitly so that Home Assistant does not answer the
    measured run from its own cache.
    """
    if warm:
        warm_mode = "rest-warm" if mode == "rest-after" else mode
        await asyncio.gather(*(one_answer(hass, warm_mode, text) for text in texts))
    return await asyncio.gather(*(one_answer(hass, mode, text) for text in texts))


async def own_audio(count: int) -> tuple[int, int]:
    """`count` concurrent listeners per streaming mode: how many got exactly their own audio."""
    async with DeepgramTestServer(api_keys=None) as server, running_home_assistant() as hass:
        await set_up(hass, server.url)
        correct = 0
        checked = 0
        for mode in ("stream-wav", "stream-mp3"):
            texts = [answer_text(3, 90_000 + index) for index in range(count)]
            heard = await batch(hass, mode, texts, warm=False)
            for item in heard:
                checked += 1
                correct += item.audio == expected_audio(server, mode, item.text)
        return correct, checked


def expected_audio(server: DeepgramTestServer, mode: str, text: str) -> bytes | None:
    """Return what the server sent for one answer, from its records."""
    mark = text.rsplit(",", 1)[-1]  # " number N." ends each sentence of that answer only
    if mode == "stream-wav":
        sessions = [item for item in server.speak.sessions if "".join(item.texts) == text]
        if len(sessions) != 1:
            return None
        rate = int(sessions[0].param("sample_rate") or 24000)
        return streaming_wav_header(rate) + bytes(sessions[0].audio)
    posts = sorted(
        (post for post in server.speak.posts if post.texts and post.texts[0].endswith(mark)),
        key=lambda post: post.started,
    )
    if " ".join(post.texts[0] for post in posts) != text:
        return None
    return b"".join(bytes(post.audio) for post in posts)


# What Home Assistant asks for: a satellite's WAV, and MP3 at a set rate.
CONVERSIONS = (
    (
        "wav",
        {
            "to_extension": "wav",
            "to_sample_rate": 16000,
            "to_sample_channels": 1,
            "to_sample_bytes": 2,
        },
    ),
    ("mp3", {"to_extension": "mp3", "to_sample_rate": 48000}),
)
# Deepgram sends speech about 1.5 times faster than it plays.
REALTIME_FACTOR = 1.5


async def ffmpeg_hold_back(hass: HomeAssistant, server: str) -> list[str]:
    """Time from the first input byte to the first output byte of Home Assistant's ffmpeg."""
    speaker = DeepgramSpeaker("bench", session=async_get_clientsession(hass), server=server)
    text = answer_text(6, 99_999)
    inputs = {
        "wav": SpeakOptions(
            model="aura-2-thalia-en", encoding="linear16", container="wav", sample_rate=24000
        ),
        "mp3": SpeakOptions(model="aura-2-thalia-en", encoding="mp3"),
    }
    lines = []
    spoken = {
        source: b"".join([chunk async for chunk in speaker.synthesize(text, options)])
        for source, options in inputs.items()
    }
    # Both are the same speech; the WAV's length gives its duration.
    seconds = (len(spoken["wav"]) - 44) / 48000
    spoken["wav"] = streaming_wav_header(24000) + spoken["wav"][44:]  # as this integration writes
    for source, audio in spoken.items():
        for target, conversion in CONVERSIONS:
            first = await _first_converted(hass, source, audio, seconds, conversion)
            lines.append(
                f"{source:>4} -> {target} ({seconds:4.1f} s of speech fed at {REALTIME_FACTOR}x): "
                f"first output after {first * 1000:5.0f} ms"
            )
    return lines


async def _first_converted(
    hass: HomeAssistant, source: str, audio: bytes, seconds: float, conversion: dict[str, Any]
) -> float:
    frame = max(len(audio) // max(int(seconds * 10), 1), 1)  # 100 ms of speech
    started = time.monotonic()

    async def paced() -> AsyncIterator[bytes]:
        for index, start in enumerate(range(0, len(audio), frame)):
            await asyncio.sleep(max(started + index * 0.1 / REALTIME_FACTOR - time.monotonic(), 0))
            yield audio[start : start + frame]

    first: float | None = None
    async for chunk in tts_module._async_convert_audio(hass, source, paced(), **conversion):  # noqa: SLF001
        if first is None and chunk:
            first = time.monotonic() - started
    return first if first is not None else float("nan")


async def set_up(hass: HomeAssistant, server: str) -> None:
    """Add a Deepgram entry, which brings the voice."""
    if not await async_setup_component(hass, "tts", {}):
        msg = "tts did not set up"
        raise RuntimeError(msg)
    await add_deepgram(hass, server)
    if tts.get_engine_instance(hass, ENGINE) is None:
        msg = "the Deepgram voice did not set up"
        raise RuntimeError(msg)


def serve(ttfb: float, urls: Any, stop: Any) -> None:
    """Run the local Deepgram server in this (child) process until told to stop."""

    async def run() -> None:
        async with DeepgramTestServer(api_keys=None) as server:
            server.speak.first_byte_delay = ttfb
            urls.put(server.url)
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)

    asyncio.run(run())


async def main(ttfb: float, repeats: int, report: Callable[[str], None]) -> None:
    """Run every measurement and report each line."""
    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    stop = context.Event()
    child = context.Process(target=serve, args=(ttfb, urls, stop), daemon=True)
    child.start()
    try:
        url = urls.get(timeout=30)
        async with running_home_assistant() as hass:
            await set_up(hass, url)
            await one_answer(hass, "stream-wav", "Warming up.")  # first socket, first espeak
            results = await timings(hass, repeats)
            report(
                f"Server time to first byte: {ttfb * 1000:.0f} ms; "
                f"one word every {WORD_SECONDS * 1000:.0f} ms"
            )
            report("First audio at the listener after the agent's first text (ms)")
            report(
                f"{'answers':>8} {'sentences':>9} {'mode':>11} {'p50':>7} {'p95':>7}"
                "  vs rest-after p50"
            )
            for (mode, sentences, concurrency), samples in results.items():
                baseline = statistics.median(results["rest-after", sentences, concurrency])
                median = statistics.median(samples)
                report(
                    f"{concurrency:>8} {sentences:>9} {mode:>11} {ms(median)} {ms(p95(samples))}"
                    f"  {baseline / median:5.1f}x sooner"
                )
            report("")
            report("Per answer at 20 at once (6 sentences): CPU, memory; longest loop stall")
            for index, mode in enumerate(MODES):
                cpu, rss, (late, busy, callback) = await load(hass, mode, 20, 50_000 + 100 * index)
                report(
                    f"{mode:>11}: CPU {cpu * 1000:4.1f} ms/answer, "
                    f"RSS +{rss / 1024:4.0f} kB/answer; "
                    f"loop late {late * 1000:4.1f} ms max, CPU between 5 ms ticks "
                    f"{busy * 1000:4.1f} ms max, longest callback {callback * 1000:4.1f} ms CPU"
                )
        async with running_home_assistant() as hass:
            await async_setup_component(hass, "ffmpeg", {})
            report("")
            report(f"Home Assistant {ha_version}: its ffmpeg conversion, fed like Deepgram sends")
            for line in await ffmpeg_hold_back(hass, url):
                report(line)
    finally:
        stop.set()
        child.join(10)
    correct, checked = await own_audio(20)
    report("")
    report(
        "Listeners that got exactly their own audio (20 at once, both streaming modes): "
        f"{correct}/{checked}"
    )


def run(argv: list[str] | None = None) -> int:
    """Parse the arguments and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tts", description=__doc__)
    parser.add_argument("--ttfb", type=float, default=0.15, help="server time to first byte (s)")
    parser.add_argument("--repeats", type=int, default=5, help="answers per single-answer case")
    arguments = parser.parse_args(argv)
    asyncio.run(main(arguments.ttfb, arguments.repeats, print))
    return 0


if __name__ == "__main__":
    sys.exit(run())
