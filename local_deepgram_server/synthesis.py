"""Real speech for `/v1/speak`: espeak-ng speaks, ffmpeg converts, nothing blocks the loop.

Both programs run as asyncio subprocesses with a bound on their time. Finished audio is
cached per (text, voice, speed, format) for the whole process, so a test suite that asks
for the same sentence many times pays for it once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
import contextlib
from dataclasses import dataclass
import shutil
import struct
from typing import Final

from .voices import Voice

ESPEAK_WORDS_PER_MINUTE: Final = 175
_TIMEOUT: Final = 30.0
_CACHE_ENTRIES: Final = 512
_CONCURRENCY: Final = 4
_WAV_FORMAT_TAGS: Final = {"linear16": 1, "alaw": 6, "mulaw": 7}
_UNKNOWN_SIZE: Final = 0xFFFFFFFF

_finished: OrderedDict[tuple[object, ...], bytes] = OrderedDict()


class SynthesisError(Exception):
    """espeak-ng or ffmpeg is missing or failed."""


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """The audio a request asked for: encoding, rate and container."""

    encoding: str
    sample_rate: int
    container: str = "none"
    bit_rate: int | None = None

    @property
    def bytes_per_sample(self) -> int:
        """Bytes per sample of the raw encodings (linear16: 2, mulaw/alaw: 1)."""
        return 2 if self.encoding == "linear16" else 1

    @property
    def content_type(self) -> str:
        """The `Content-Type` Deepgram answers with (Deepgram's "Audio Format Outputs")."""
        if self.container == "wav":
            return "audio/wav"
        return {
            "linear16": f"audio/l16;rate={self.sample_rate}",
            "mulaw": f"audio/mulaw;rate={self.sample_rate}",
            "alaw": f"audio/alaw;rate={self.sample_rate}",
            "mp3": "audio/mpeg",
            "opus": "audio/ogg;codecs=opus",
            "flac": "audio/flac",
            "aac": "audio/aac",
        }[self.encoding]

    def ffmpeg_output(self) -> list[str]:
        """Return ffmpeg's output options for this format (raw for linear16/mulaw/alaw)."""
        rate = ["-ar", str(self.sample_rate)]
        bit_rate = ["-b:a", str(self.bit_rate)] if self.bit_rate else []
        if self.encoding == "linear16":
            return [*rate, "-f", "s16le"]
        if self.encoding in {"mulaw", "alaw"}:
            return [*rate, "-f", self.encoding]
        if self.encoding == "mp3":
            # No ID3 tag or Xing frame: the body starts with an MPEG frame, as Deepgram's does.
            codec = ["-c:a", "libmp3lame", "-id3v2_version", "0", "-write_xing", "0"]
            return [*rate, *codec, *bit_rate, "-f", "mp3"]
        if self.encoding == "opus":
            return [*rate, "-c:a", "libopus", *bit_rate, "-f", "ogg"]
        if self.encoding == "aac":
            return [*rate, "-c:a", "aac", *bit_rate, "-f", "adts"]
        return [*rate, "-c:a", "flac", "-f", "flac"]

    def wav_header(self, data_size: int | None) -> bytes:
        """Return a 44-byte RIFF header; `data_size` None writes 0xFFFFFFFF (unknown length)."""
        width = self.bytes_per_sample
        riff = _UNKNOWN_SIZE if data_size is None else 36 + data_size
        return struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            *(b"RIFF", riff, b"WAVE", b"fmt ", 16, _WAV_FORMAT_TAGS[self.encoding], 1),
            *(self.sample_rate, self.sample_rate * width, width, width * 8),
            *(b"data", _UNKNOWN_SIZE if data_size is None else data_size),
        )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is needed to speak but is not installed (apt-get install espeak-ng ffmpeg)"
        raise SynthesisError(msg)
    return path


async def _run(argv: list[str], data: bytes) -> bytes:
    """Run a program on `data`; return its stdout, killing it if it overruns."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(data), _TIMEOUT)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        msg = f"{argv[0]} failed ({process.returncode}): {err.decode(errors='replace')[-300:]}"
        raise SynthesisError(msg)
    return out


class Synthesizer:
    """Speaks text with espeak-ng in a voice, converted by ffmpeg to an AudioFormat."""

    def __init__(self, concurrency: int = _CONCURRENCY) -> None:
        """Run at most `concurrency` conversions at once; the 2-core machines stay responsive."""
        self._slots = asyncio.Semaphore(concurrency)
        self._pending: dict[tuple[object, ...], asyncio.Task[bytes]] = {}
        self.runs = 0
        """How many times espeak-ng ran (cache misses)."""

    async def audio(self, text: str, voice: Voice, audio: AudioFormat, speed: float = 1.0) -> bytes:
        """Return `text` spoken by `voice`: raw samples, or the encoded file (no WAV header)."""
        if not text.strip():
            return b""
        key = (text, voice.canonical_name, speed, audio.encoding, audio.sample_rate, audio.bit_rate)
        if (done := _finished.get(key)) is not None:
            _finished.move_to_end(key)
            return done
        task = self._pending.get(key)
        if task is None:
            # Its own task: a waiter that gives up (a Clear) does not stop it for the others.
            task = asyncio.get_running_loop().create_task(
                self._synthesize(text, voice, audio, speed)
            )
            self._pending[key] = task
            task.add_done_callback(lambda finished: self._settled(key, finished))
        return await asyncio.shield(task)

    def _settled(self, key: tuple[object, ...], task: asyncio.Task[bytes]) -> None:
        del self._pending[key]
        if task.cancelled() or task.exception() is not None:
            return
        _finished[key] = task.result()
        while len(_finished) > _CACHE_ENTRIES:
            _finished.popitem(last=False)

    async def close(self) -> None:
        """Stop every synthesis in progress (their programs are killed)."""
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _synthesize(self, text: str, voice: Voice, audio: AudioFormat, speed: float) -> bytes:
        espeak, ffmpeg = _tool("espeak-ng"), _tool("ffmpeg")
        words_per_minute = round(ESPEAK_WORDS_PER_MINUTE * speed)
        async with self._slots:
            self.runs += 1
            # The text goes in on stdin, so a leading "-" is never read as an option.
            wav = await _run(
                [
                    *(espeak, "-v", voice.espeak_voice, "-p", str(voice.espeak_pitch)),
                    *("-s", str(words_per_minute), "--stdout"),
                ],
                text.encode(),
            )
            return await _run(
                [
                    *(ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin"),
                    *("-f", "wav", "-i", "pipe:0", "-ac", "1"),
                    *audio.ffmpeg_output(),
                    "pipe:1",
                ],
                wav,
            )
