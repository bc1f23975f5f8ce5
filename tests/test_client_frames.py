"""Audio frames on the wire: chunks of any size become frames of 20-100 ms of raw audio."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import dataclasses
import random

import pytest

from custom_components.deepgram.protocol import DeepgramClient, LiveOptions
from custom_components.deepgram.protocol.client import AudioFramer
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.sessions import RecordedSession
from local_deepgram_server.speech import chunked, synthesize

from .test_deepgram_server import ogg_page

PHRASE = "turn on the kitchen light"
PCM = LiveOptions(model="nova-3", language="en", encoding="linear16", sample_rate=16000, channels=1)
# 20 ms and 100 ms of 16 kHz mono 16-bit audio.
MIN_FRAME = 640
MAX_FRAME = 3200


def binary_frames(session: RecordedSession) -> list[int]:
    """Return the sizes of the binary frames the server received, in order."""
    return [int(length) for kind, length in session.frames if kind == "binary"]


async def until(condition: Callable[[], bool]) -> None:
    """Wait until the server shows `condition`; a guard, not a timing, bounds the wait."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - the server's record has no event
            await asyncio.sleep(0.005)


async def feed(chunks: list[bytes]) -> AsyncIterator[bytes]:
    """Yield the chunks, giving the loop a turn after each, as a microphone would."""
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


@pytest.mark.parametrize("size", [1, 7, 320, 100_003], ids=["1 B", "7 B", "10 ms", "3 s"])
async def test_chunks_of_any_size_become_frames_of_20_to_100_ms(
    client: DeepgramClient, deepgram_server: DeepgramTestServer, size: int
) -> None:
    """Every byte arrives in order, in a bounded number of frames of 20-100 ms (the last less)."""
    deepgram_server.utterances.append(PHRASE)
    audio = synthesize(PHRASE)
    transcript = await client.transcribe(feed(chunked(audio, size)), PCM)

    session = deepgram_server.sessions[0]
    assert transcript.text == PHRASE
    assert bytes(session.audio) == audio
    frames = binary_frames(session)
    assert len(frames) <= len(audio) // MIN_FRAME + 1
    assert all(MIN_FRAME <= length <= MAX_FRAME for length in frames[:-1])
    assert 0 < frames[-1] <= MAX_FRAME
    assert all(length % 2 == 0 for length in frames[:-1]), "frames end on whole samples"


async def test_a_stalled_source_does_not_hold_back_a_full_frame(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Audio of 20 ms or more goes out at once, even when the next chunk is long in coming."""
    deepgram_server.utterances.append(PHRASE)
    audio = synthesize(PHRASE)
    first = 3 * 320  # 30 ms in three 10 ms chunks: one frame as soon as 20 ms are there

    async def stalling() -> AsyncIterator[bytes]:
        for chunk in chunked(audio[:first], 320):
            yield chunk
        # The source stalls until Deepgram has the audio so far: held back, it never would.
        await until(lambda: bool(deepgram_server.sessions and deepgram_server.sessions[0].audio))
        await until(lambda: len(deepgram_server.sessions[0].audio) >= 2 * 320)
        for chunk in chunked(audio[first:], 320):
            yield chunk

    transcript = await client.transcribe(stalling(), PCM)
    assert transcript.text == PHRASE
    assert bytes(deepgram_server.sessions[0].audio) == audio


async def test_held_audio_goes_before_keepalive_and_close_stream(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Less than a frame is held only until a KeepAlive or the end, and reaches Deepgram first."""
    deepgram_server.utterances.append(PHRASE)
    audio = synthesize(PHRASE)
    cut = 10 * MAX_FRAME + 100  # ten full frames go, 100 bytes (3 ms) are held

    async def stalling() -> AsyncIterator[bytes]:
        yield audio[:cut]
        # Silence on the wire for longer than the keepalive interval.
        await until(
            lambda: (
                bool(deepgram_server.sessions)
                and "KeepAlive" in deepgram_server.sessions[0].control
            )
        )
        yield audio[cut:]

    transcript = await client.transcribe(stalling(), PCM)
    session = deepgram_server.sessions[0]
    assert transcript.text == PHRASE
    assert bytes(session.audio) == audio
    kinds = ["audio" if kind == "binary" else str(raw) for kind, raw in session.frames]
    keepalive = next(index for index, kind in enumerate(kinds) if "KeepAlive" in kind)
    close_stream = next(index for index, kind in enumerate(kinds) if "CloseStream" in kind)
    # The audio before the stall is all out before the KeepAlive, the rest before CloseStream.
    sent = binary_frames(session)
    before_keepalive = kinds[:keepalive].count("audio")
    assert sum(sent[:before_keepalive]) == cut
    assert kinds[close_stream - 1] == "audio"
    assert sum(sent) == len(audio)


@pytest.mark.parametrize(
    "options",
    [
        dataclasses.replace(PCM, encoding=None, sample_rate=None, channels=None),
        dataclasses.replace(PCM, encoding="opus", sample_rate=48000),
    ],
    ids=["Ogg", "raw Opus"],
)
async def test_packets_whose_timing_is_not_known_pass_unchanged(
    client: DeepgramClient, deepgram_server: DeepgramTestServer, options: LiveOptions
) -> None:
    """Ogg pages and Opus packets go out one frame per chunk, exactly as they came."""
    pages = [ogg_page(0, b"OpusHead"), *(ogg_page(960 * n, b"\x01" * n) for n in range(1, 30))]
    # Home Assistant's chunks: a page each, two pages in one, a page in two pieces.
    chunks = [*pages[:10], pages[10] + pages[11], pages[12][:9], pages[12][9:], *pages[13:]]
    if options.encoding == "opus":
        chunks = [b"\xfc" + bytes(size) for size in (1, 60, 3, 200, 7)]
    await client.transcribe(feed(chunks), options)
    assert binary_frames(deepgram_server.sessions[0]) == [len(chunk) for chunk in chunks]
    assert bytes(deepgram_server.sessions[0].audio) == b"".join(chunks)


async def test_a_stalled_ogg_stream_is_kept_alive_unchanged(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Ogg holds nothing back, so a KeepAlive during a stall follows the pages as they came."""
    pages = [ogg_page(0, b"OpusHead"), *(ogg_page(960 * n, b"\x01" * 60) for n in range(1, 11))]

    async def stalling() -> AsyncIterator[bytes]:
        for page in pages[:5]:
            yield page
        await until(
            lambda: (
                bool(deepgram_server.sessions)
                and "KeepAlive" in deepgram_server.sessions[0].control
            )
        )
        for page in pages[5:]:
            yield page

    await client.transcribe(stalling(), dataclasses.replace(PCM, encoding=None, sample_rate=None))
    session = deepgram_server.sessions[0]
    assert binary_frames(session) == [len(page) for page in pages]
    kinds = ["audio" if kind == "binary" else str(raw) for kind, raw in session.frames]
    assert kinds.index(next(kind for kind in kinds if "KeepAlive" in kind)) == 5


@pytest.mark.parametrize(("sample_rate", "channels"), [(16000, 1), (44100, 2), (8000, 1)])
def test_framer_bounds_and_order(sample_rate: int, channels: int) -> None:
    """Random chunk sizes: frames within bounds, on whole samples, and the same bytes."""
    framer = AudioFramer(sample_rate, 2 * channels)
    smallest, largest = framer.frame_bounds
    assert smallest == round(sample_rate * 0.02) * 2 * channels
    assert largest == round(sample_rate * 0.1) * 2 * channels
    rng = random.Random(sample_rate)  # noqa: S311 - reproducible test data
    data = rng.randbytes(sample_rate * channels * 2 * 3)
    frames: list[bytes] = []
    offset = 0
    while offset < len(data):
        size = rng.choice([1, 3, 64, 320, smallest, largest, 5 * largest])
        frames.extend(framer.feed(data[offset : offset + size]))
        offset += size
    rest = framer.flush()
    assert b"".join([*frames, rest]) == data
    assert all(smallest <= len(frame) <= largest for frame in frames)
    assert all(len(frame) % (2 * channels) == 0 for frame in frames)
    assert len(rest) < smallest + 2 * channels
    assert framer.flush() == b""
