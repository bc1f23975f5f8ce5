"""Real speech for tests: espeak-ng voices converted by sox to the PCM a test needs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
import functools
import io
import shutil
import subprocess
import wave

_SAMPLE_BYTES = 2
_TIMEOUT = 30.0


def _tool(name: str) -> str:
    """Return the path of a required program, or explain how to get it."""
    path = shutil.which(name)
    if path is None:
        msg = (
            f"{name} is needed to make test speech but is not installed; "
            "install it with: apt-get install espeak-ng sox"
        )
        raise RuntimeError(msg)
    return path


def _silence(seconds: float, sample_rate: int, channels: int) -> bytes:
    return bytes(round(seconds * sample_rate) * channels * _SAMPLE_BYTES)


@functools.cache
def synthesize(
    text: str,
    *,
    sample_rate: int = 16000,
    channels: int = 1,
    leading_silence: float = 0.3,
    trailing_silence: float = 1.5,
) -> bytes:
    """Speak `text` with espeak-ng; return 16-bit little-endian PCM with silence around it."""
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    # The text goes in on stdin, so a leading "-" is never read as an option.
    voice = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [espeak, "-v", "en-us", "--stdout"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=_TIMEOUT,
    ).stdout
    pcm = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            *(sox, "-D", "-t", "wav", "-"),
            *("-t", "raw", "-r", str(sample_rate), "-c", str(channels)),
            *("-b", "16", "-e", "signed-integer", "-L", "-"),
        ],
        input=voice,
        capture_output=True,
        check=True,
        timeout=_TIMEOUT,
    ).stdout
    return (
        _silence(leading_silence, sample_rate, channels)
        + pcm
        + _silence(trailing_silence, sample_rate, channels)
    )


def wav_file(pcm: bytes, sample_rate: int, channels: int) -> bytes:
    """Wrap 16-bit PCM in a RIFF/WAVE header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(_SAMPLE_BYTES)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def chunk_bytes(sample_rate: int, channels: int, ms: int = 20) -> int:
    """Return the size of `ms` milliseconds of 16-bit PCM."""
    return sample_rate * ms // 1000 * channels * _SAMPLE_BYTES


def chunked(data: bytes, size: int) -> list[bytes]:
    """Split `data` into pieces of `size` bytes (the last may be shorter)."""
    return [data[start : start + size] for start in range(0, len(data), size)]


async def stream_chunks(chunks: Iterable[bytes], delay: float = 0.0) -> AsyncIterator[bytes]:
    """Yield chunks one by one, sleeping `delay` seconds after each (0 still yields control)."""
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(delay)
