"""`python -m benchmarks.frames`: the client's CPU per second of audio, by chunk size.

Streams audio through `DeepgramClient` to the local Deepgram server (in its own
process, on the other CPU where there are two) as fast as the client takes it,
giving the loop a turn after every chunk as a microphone would, and prints the
CPU time of this process per second of audio per stream, less what feeding the
same chunks costs without a client. Unlike `scripts/bench` it does not wait for
real time, so the figures come from many seconds of audio in a few seconds and
move little from run to run: it shows what the size of the chunks, and so the
number of websocket frames, costs the client.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import json
import os
from pathlib import Path
import sys
import time

import aiohttp

from custom_components.deepgram.protocol import DeepgramClient

from .client_integration import OPTIONS
from .harness import SAMPLE_RATE
from .runner import WORK, Server, _cpus

BYTES_PER_SECOND = SAMPLE_RATE * 2


async def chunks(pcm: bytes, size: int) -> AsyncIterator[bytes]:
    """Yield `pcm` in chunks of `size` bytes, giving the loop a turn after each."""
    for offset in range(0, len(pcm), size):
        yield pcm[offset : offset + size]
        await asyncio.sleep(0)


async def feed_only(pcm: bytes, size: int) -> None:
    """Read the chunks with no client: the cost subtracted from the client's."""
    async for _ in chunks(pcm, size):
        pass


async def measure(server: str, pcm: bytes, size: int, streams: int) -> tuple[float, float]:
    """Return (client, feeding) CPU ms per second of audio per stream."""
    seconds = len(pcm) / BYTES_PER_SECOND * streams
    async with aiohttp.ClientSession() as session:
        client = DeepgramClient("benchmark", session=session, server=server)
        # One unmeasured stream: imports, the connection pool.
        await client.transcribe(chunks(pcm[: BYTES_PER_SECOND // 10], size), OPTIONS)
        started = time.process_time()
        await asyncio.gather(
            *(client.transcribe(chunks(pcm, size), OPTIONS) for _ in range(streams))
        )
        client_ms = (time.process_time() - started) * 1000 / seconds
    started = time.process_time()
    await asyncio.gather(*(feed_only(pcm, size) for _ in range(streams)))
    feeding_ms = (time.process_time() - started) * 1000 / seconds
    return client_ms, feeding_ms


def main(argv: list[str] | None = None) -> int:
    """Print CPU ms per audio second per stream for each chunk size."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.frames", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio per stream (30)")
    parser.add_argument("--streams", type=int, default=10, help="concurrent streams (10)")
    parser.add_argument(
        "--chunk-ms", default="10,20", help="comma-separated chunk lengths in ms (10,20)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median is printed (3)")
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    scripts = WORK / "frames-scripts.json"
    scripts.write_text(json.dumps({}), encoding="utf-8")
    server_cpu, client_cpu = _cpus()
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    # Silence: the server has nothing to transcribe, so only the streaming is measured.
    pcm = bytes(int(args.seconds * BYTES_PER_SECOND))
    server = Server(Path(scripts), server_cpu)
    try:
        print(  # noqa: T201 - the product of the script
            f"{args.streams} streams of {args.seconds:g} s, 16 kHz mono, median of {args.rounds}"
        )
        print("| chunk | CPU ms per audio second per stream (client, less feeding) | feeding |")  # noqa: T201
        print("| ---: | ---: | ---: |")  # noqa: T201
        for chunk_ms in (int(value) for value in args.chunk_ms.split(",")):
            size = BYTES_PER_SECOND * chunk_ms // 1000
            results = sorted(
                asyncio.run(measure(server.url, pcm, size, args.streams))
                for _ in range(args.rounds)
            )
            client_ms, feeding_ms = results[len(results) // 2]
            print(f"| {chunk_ms} ms | {client_ms - feeding_ms:.2f} | {feeding_ms:.2f} |")  # noqa: T201
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
