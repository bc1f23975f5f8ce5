"""One benchmark job, measured inside the client's own process.

Standard library only: the same harness runs in the project's venv (this
integration, the entity, the batch client) and in the SDK's own venv, so every
client is fed and timed by identical code.

A job is a set of *lanes* started `stagger` seconds apart; each lane streams
its utterances one after the other. Every utterance is 16 kHz mono linear16
fed at real time in chunks of `chunk_ms` (20 ms unless asked otherwise): chunk i
is handed over when its audio would have been captured, never earlier. The latency of an utterance
runs from the moment its last chunk was due to the moment the caller holds the
whole transcript (a client that returns before the audio ends is timed from the
last chunk it read, and counted as `early`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field
import gc
import importlib
import json
import os
from pathlib import Path
import sys
import time
from typing import Any

SAMPLE_RATE = 16_000
# A microphone's 20 ms; Home Assistant's Assist pipeline hands over 10 ms chunks.
DEFAULT_CHUNK_MS = 20
TICK_SECONDS = 0.001
RSS_SAMPLE_SECONDS = 0.05
GAP_BETWEEN_ROUNDS = 0.2

type Transcribe = Callable[[str, AsyncIterator[bytes]], Awaitable[str]]
"""`transcribe(api_key, audio)`: stream the audio, return the whole transcript."""
type OpenClient = Callable[[str, dict[str, str]], AbstractAsyncContextManager[Transcribe]]
"""`open_client(server_url, {api_key: expected transcript})`, as each client module has."""


@dataclass(frozen=True, slots=True)
class Utterance:
    """One utterance: the key the server knows its script by, the script, the PCM file."""

    key: str
    text: str
    path: str
    seconds: float
    speech_end: float
    """Where the last spoken word ends, in seconds from the start."""


@dataclass(slots=True)
class Job:
    """What one worker process runs."""

    client: str
    server: str
    lanes: list[list[Utterance]]
    warmup: Utterance | None
    stagger: float = 0.0
    ticker: bool = False
    chunk_ms: int = DEFAULT_CHUNK_MS

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        """Read a job written by `to_json`."""
        return cls(
            client=data["client"],
            server=data["server"],
            lanes=[[Utterance(**item) for item in lane] for lane in data["lanes"]],
            warmup=Utterance(**data["warmup"]) if data["warmup"] else None,
            stagger=data["stagger"],
            ticker=data["ticker"],
            chunk_ms=data.get("chunk_ms", DEFAULT_CHUNK_MS),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the job as plain data."""
        return asdict(self)


@dataclass(slots=True)
class Outcome:
    """What one worker measured."""

    latencies: list[float] = field(default_factory=list)
    """From the end of the audio (its last chunk due) to the transcript, per stream."""
    after_speech: list[float] = field(default_factory=list)
    """From the end of the last spoken word to the transcript, per stream."""
    matched: int = 0
    mismatched: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    audio_seconds: float = 0.0
    """Seconds of audio the clients read (all of it, unless they returned early)."""
    early: int = 0
    wall_seconds: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    max_gap: float | None = None
    """The longest wall time between two ticks of the 1 ms ticker."""
    max_busy: float | None = None
    """The most CPU time this process used between two ticks: code holding the loop."""
    streams: int = 0
    concurrency: int = 0
    versions: dict[str, str] = field(default_factory=dict)


def rss_bytes() -> int:
    """Return the resident set size of this process."""
    with Path("/proc/self/statm").open(encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass(slots=True)
class Feed:
    """How far a client read its audio, fed in chunks of `chunk_ms`."""

    chunk_ms: int = DEFAULT_CHUNK_MS
    chunks: int = 0
    exhausted: bool = False

    @property
    def chunk_seconds(self) -> float:
        """Return the length of one chunk in seconds."""
        return self.chunk_ms / 1000

    @property
    def chunk_bytes(self) -> int:
        """Return the size of one chunk of 16-bit mono."""
        return SAMPLE_RATE * 2 * self.chunk_ms // 1000


async def realtime(pcm: bytes, start: float, feed: Feed) -> AsyncIterator[bytes]:
    """Yield chunks of `pcm` as a microphone would, from loop time `start`."""
    loop = asyncio.get_running_loop()
    size, seconds = feed.chunk_bytes, feed.chunk_seconds
    for index, offset in enumerate(range(0, len(pcm), size)):
        deadline = start + (index + 1) * seconds
        delay = deadline - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        feed.chunks += 1
        yield pcm[offset : offset + size]
    feed.exhausted = True


class _Probe:
    """The 1 ms ticker and the RSS sampler that run beside the streams."""

    def __init__(self, *, ticker: bool) -> None:
        self.max_gap: float | None = 0.0 if ticker else None
        self.max_busy: float | None = 0.0 if ticker else None
        self.rss_peak = rss_bytes()
        self._tasks: list[asyncio.Task[None]] = [asyncio.create_task(self._sample_rss())]
        if ticker:
            self._tasks.append(asyncio.create_task(self._tick()))

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last, last_cpu = loop.time(), time.process_time()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now, cpu = loop.time(), time.process_time()
            self.max_gap = max(self.max_gap or 0.0, now - last)
            self.max_busy = max(self.max_busy or 0.0, cpu - last_cpu)
            last, last_cpu = now, cpu

    async def _sample_rss(self) -> None:
        while True:
            self.rss_peak = max(self.rss_peak, rss_bytes())
            await asyncio.sleep(RSS_SAMPLE_SECONDS)

    async def stop(self) -> None:
        self.rss_peak = max(self.rss_peak, rss_bytes())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _one(  # noqa: PLR0913 - one utterance and how it is fed
    transcribe: Transcribe,
    utterance: Utterance,
    pcm: bytes,
    start: float,
    outcome: Outcome,
    *,
    chunk_ms: int = DEFAULT_CHUNK_MS,
) -> None:
    loop = asyncio.get_running_loop()
    feed = Feed(chunk_ms)
    try:
        text = await transcribe(utterance.key, realtime(pcm, start, feed))
    except Exception as err:  # noqa: BLE001 - every failure is reported, none stops the run
        outcome.errors.append(f"{type(err).__name__}: {err}")
        return
    done = loop.time()
    chunks = -(-len(pcm) // feed.chunk_bytes)
    outcome.latencies.append(done - (start + chunks * feed.chunk_seconds))
    outcome.after_speech.append(done - (start + utterance.speech_end))
    outcome.audio_seconds += feed.chunks * feed.chunk_seconds
    if not feed.exhausted:
        # The client returned before the audio ended (on Deepgram's end of speech).
        outcome.early += 1
    if text.strip() == utterance.text:
        outcome.matched += 1
    elif len(outcome.mismatched) < 3:  # noqa: PLR2004 - a few examples are enough
        outcome.mismatched.append(f"expected {utterance.text!r}, got {text!r}")


async def _lane(  # noqa: PLR0913 - one lane and how its audio is fed
    transcribe: Transcribe,
    lane: list[Utterance],
    audio: dict[str, bytes],
    start: float,
    outcome: Outcome,
    *,
    chunk_ms: int,
) -> None:
    loop = asyncio.get_running_loop()
    for utterance in lane:
        # The stream opens when its audio starts (a wake word), as in Home Assistant:
        # the connection is made while the first chunks are already being captured.
        await asyncio.sleep(start - loop.time())
        await _one(
            transcribe, utterance, audio[utterance.path], loop.time(), outcome, chunk_ms=chunk_ms
        )
        start = loop.time() + GAP_BETWEEN_ROUNDS


async def run(job: Job, open_client: OpenClient) -> Outcome:
    """Set the client up, warm it up, then measure the job's lanes."""
    every = [utterance for lane in job.lanes for utterance in lane]
    if job.warmup is not None:
        every.append(job.warmup)
    audio = {item.path: Path(item.path).read_bytes() for item in every}  # noqa: ASYNC240
    scripts = {item.key: item.text for item in every}
    outcome = Outcome(concurrency=len(job.lanes), streams=sum(map(len, job.lanes)))
    loop = asyncio.get_running_loop()
    async with open_client(job.server, scripts) as transcribe:
        if job.warmup is not None:
            # One stream first, unmeasured: imports, caches and connection set-up.
            warm = Outcome()
            await _one(
                transcribe,
                job.warmup,
                audio[job.warmup.path],
                loop.time(),
                warm,
                chunk_ms=job.chunk_ms,
            )
            if warm.errors or warm.mismatched:
                outcome.errors.extend(warm.errors + warm.mismatched)
                return outcome
        gc.collect()
        outcome.rss_before = rss_bytes()
        probe = _Probe(ticker=job.ticker)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        start = loop.time() + 0.05
        await asyncio.gather(
            *(
                _lane(
                    transcribe,
                    lane,
                    audio,
                    start + index * job.stagger,
                    outcome,
                    chunk_ms=job.chunk_ms,
                )
                for index, lane in enumerate(job.lanes)
            )
        )
        outcome.cpu_seconds = time.process_time() - cpu_before
        outcome.wall_seconds = time.perf_counter() - wall_before
        await probe.stop()
        outcome.rss_peak, outcome.max_gap = probe.rss_peak, probe.max_gap
        outcome.max_busy = probe.max_busy
    return outcome


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.harness JOB.json`: run the job, print the outcome as JSON."""
    args = sys.argv[1:] if argv is None else argv
    job = Job.from_json(json.loads(Path(args[0]).read_text(encoding="utf-8")))
    module = importlib.import_module(f"benchmarks.client_{job.client}")
    outcome = asyncio.run(run(job, module.open_client))
    outcome.versions = module.versions()
    print(json.dumps(asdict(outcome)))  # noqa: T201 - the runner reads it
    return 0


if __name__ == "__main__":
    sys.exit(main())
