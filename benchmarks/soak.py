"""Soak the entity: many sessions in a row, a long stall, a long real-time stream.

Prints what a leak or a hang would show: open sockets, asyncio tasks and memory
before and after, the outcome of a stream whose microphone stalls for longer
than Deepgram's idle timeout, and of one that runs for minutes at real time.

    .venv/bin/python -m benchmarks.soak [--sessions 1000] [--stall 30] [--minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
import gc
from pathlib import Path
import resource
import time

from custom_components.deepgram.const import END_BY_HOME_ASSISTANT
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from .home_assistant import PCM_16K_MONO, add_deepgram, running_home_assistant

CHUNK = 640  # 20 ms at 16 kHz mono
STALL_AFTER_CHUNKS = 20  # mid-command
PHRASE = "turn on the kitchen light"


def open_sockets() -> int:
    """Count this process's open sockets."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):
            count += fd.readlink().name.startswith("socket:")
    return count


def current_rss_mb() -> float:
    """Return the resident memory of this process in MB."""
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * resource.getpagesize() / 1e6


async def snapshot() -> str:
    """Describe sockets, tasks and memory now."""
    gc.collect()
    tasks = len(asyncio.all_tasks())
    # Reading /proc is file I/O: out of the event loop, as Home Assistant requires.
    sockets, rss = await asyncio.to_thread(lambda: (open_sockets(), current_rss_mb()))
    return f"{sockets} sockets, {tasks} tasks, {rss:.1f} MB RSS"


async def sessions_in_a_row(
    hass: HomeAssistant, entity: stt.SpeechToTextEntity, server: DeepgramTestServer, count: int
) -> None:
    """Run `count` short sessions one after another and compare before and after."""
    pcm = await asyncio.to_thread(synthesize, "hello")

    async def one() -> None:
        async def audio() -> AsyncIterator[bytes]:
            for chunk in chunked(pcm, CHUNK):
                yield chunk

        result = await entity.internal_async_process_audio_stream(PCM_16K_MONO, audio())
        if result.result is not stt.SpeechResultState.SUCCESS:
            msg = f"a session failed: {result}"
            raise RuntimeError(msg)
        # The server runs in this process; its recordings are not the client's memory.
        server.sessions.clear()

    for _ in range(20):  # warm up caches and pools before the baseline
        await one()
    await hass.async_block_till_done(wait_background_tasks=True)
    before = await snapshot()
    started = time.monotonic()
    for _ in range(count):
        await one()
    elapsed = time.monotonic() - started
    await hass.async_block_till_done(wait_background_tasks=True)
    await asyncio.sleep(0.2)  # let the server finish its side of the last close
    print(f"{count} sessions in a row, {elapsed / count * 1000:.1f} ms each")  # noqa: T201
    print(f"  before: {before}")  # noqa: T201
    print(f"  after:  {await snapshot()}; server streams still open: {server.active_streams}")  # noqa: T201


async def stalled_stream(
    entity: stt.SpeechToTextEntity, server: DeepgramTestServer, stall: float
) -> None:
    """Stall the microphone for `stall` seconds mid-command, past Deepgram's idle timeout."""
    server.utterances[:] = [PHRASE]
    pcm = await asyncio.to_thread(synthesize, PHRASE)

    async def audio() -> AsyncIterator[bytes]:
        for index, chunk in enumerate(chunked(pcm, CHUNK)):
            if index == STALL_AFTER_CHUNKS:
                await asyncio.sleep(stall)
            yield chunk

    result = await entity.internal_async_process_audio_stream(PCM_16K_MONO, audio())
    session = server.sessions[-1]
    print(  # noqa: T201
        f"{stall:.0f} s stall (server idle timeout {server.idle_timeout:.0f} s): "
        f"{result.result} {result.text!r}, {session.control.count('KeepAlive')} KeepAlive, "
        f"closed with {session.close_code}"
    )


async def long_stream(
    entity: stt.SpeechToTextEntity, server: DeepgramTestServer, minutes: float
) -> None:
    """Talk for `minutes` at real time, a command every few seconds."""
    command = await asyncio.to_thread(synthesize, PHRASE, trailing_silence=2.0)
    repeats = max(1, round(minutes * 60 / (len(command) / 32000)))
    server.utterances[:] = [PHRASE] * repeats
    loop = asyncio.get_running_loop()

    async def audio() -> AsyncIterator[bytes]:
        started = loop.time()
        for index, chunk in enumerate(chunked(command * repeats, CHUNK)):
            await asyncio.sleep(max(0.0, started + index * 0.02 - loop.time()))
            yield chunk

    started = time.monotonic()
    result = await entity.internal_async_process_audio_stream(PCM_16K_MONO, audio())
    ok = result.text == " ".join([PHRASE] * repeats)
    print(  # noqa: T201
        f"{minutes:g} min real-time stream ({time.monotonic() - started:.0f} s): {result.result}, "
        f"{repeats} commands, transcript {'complete' if ok else 'WRONG'}, "
        f"closed with {server.sessions[-1].close_code}; {await snapshot()}"
    )


async def soak(sessions: int, stall: float, minutes: float) -> None:
    """Run the three soaks against the local server."""
    async with DeepgramTestServer(api_keys=None) as server, running_home_assistant() as hass:
        _, entity = await add_deepgram(hass, server.url)
        await sessions_in_a_row(hass, entity, server, sessions)
        _, full_stream = await add_deepgram(
            hass, server.url, api_key="full", end_of_command=END_BY_HOME_ASSISTANT
        )
        await stalled_stream(full_stream, server, stall)
        await long_stream(full_stream, server, minutes)


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000, help="sessions in a row")
    parser.add_argument("--stall", type=float, default=30, help="seconds of stalled microphone")
    parser.add_argument("--minutes", type=float, default=10, help="length of the long stream")
    arguments = parser.parse_args()
    asyncio.run(soak(arguments.sessions, arguments.stall, arguments.minutes))


if __name__ == "__main__":
    main()
