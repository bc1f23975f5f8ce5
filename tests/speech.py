"""Real speech for tests: espeak-ng voices converted by sox to the PCM a test needs."""

from __future__ import annotations

from array import array
import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
import functools
import io
import math
import shutil
import subprocess
import wave

_SAMPLE_BYTES = 2
_TIMEOUT = 30.0
# The local Deepgram server's speech threshold: RMS of a 10 ms frame, int16 scale.
SPEECH_RMS = 500.0


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
def synthesize(  # noqa: PLR0913 - keyword-only knobs of one recording
    text: str,
    *,
    sample_rate: int = 16000,
    channels: int = 1,
    leading_silence: float = 0.3,
    trailing_silence: float = 1.5,
    voice: str = "en-us",
) -> bytes:
    """Speak `text` with espeak-ng; return 16-bit little-endian PCM with silence around it."""
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    # The text goes in on stdin, so a leading "-" is never read as an option.
    voice = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [espeak, "-v", voice, "--stdout"],
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


def _speech_frames(pcm: bytes, sample_rate: int) -> list[bool]:
    """Mark each 10 ms frame of mono PCM as speech or not, as the local server does."""
    samples = array("h", pcm)
    frame = sample_rate // 100
    return [
        math.sqrt(math.sumprod(window, window) / frame) >= SPEECH_RMS
        for window in (samples[start : start + frame] for start in range(0, len(samples), frame))
        if len(window) == frame
    ]


def trim_silence(pcm: bytes, sample_rate: int = 16000) -> bytes:
    """Cut the quiet frames before the first and after the last speech frame (mono)."""
    speech = _speech_frames(pcm, sample_rate)
    if True not in speech:
        return b""
    first, last = speech.index(True), len(speech) - 1 - speech[::-1].index(True)
    frame_bytes = sample_rate // 100 * _SAMPLE_BYTES
    return pcm[first * frame_bytes : (last + 1) * frame_bytes]


def last_speech_seconds(pcm: bytes, sample_rate: int = 16000) -> float:
    """Return the audio time at which the last 10 ms frame with speech ends (mono)."""
    speech = _speech_frames(pcm, sample_rate)
    return (len(speech) - speech[::-1].index(True)) / 100 if True in speech else 0.0


@dataclass(frozen=True, slots=True)
class PausedCommand:
    """A voice command spoken in parts, with a pause of some length between them."""

    language: str
    parts: tuple[str, ...]
    where: str  # after a verb, after an article, before a number, ...

    @property
    def text(self) -> str:
        """The whole command."""
        return " ".join(self.parts)

    @property
    def script(self) -> str:
        """The local server's script: the command with its pauses marked."""
        return " | ".join(self.parts)

    @property
    def voice(self) -> str:
        """The espeak-ng voice of its language."""
        return {"en": "en-us"}.get(self.language, self.language)


# Pause corpus: commands a speaker may stop in the middle of, in English and German.
PAUSED_COMMANDS = (
    PausedCommand("en", ("turn on", "the kitchen light"), "after a verb"),
    PausedCommand("en", ("turn on the", "kitchen light"), "after an article"),
    PausedCommand("en", ("set the thermostat to", "twenty one degrees"), "before a number"),
    PausedCommand("en", ("close the", "garage door"), "after an article"),
    PausedCommand("en", ("open", "the front door"), "after a verb"),
    PausedCommand("en", ("set the kitchen light to", "fifty percent"), "before a number"),
    PausedCommand("de", ("schalte", "das Licht in der Küche ein"), "after a verb"),
    PausedCommand("de", ("schalte das", "Licht ein"), "after an article"),
    PausedCommand("de", ("stelle die Heizung auf", "einundzwanzig Grad"), "before a number"),
    PausedCommand("de", ("öffne die", "Garage"), "after an article"),
    PausedCommand("de", ("mach das Licht im Wohnzimmer", "aus"), "before the particle"),
)
PAUSES = (0.3, 0.5, 0.7, 1.0)


@functools.cache
def spoken_with_pauses(
    command: PausedCommand,
    pause: float | None,
    *,
    leading_silence: float = 0.3,
    trailing_silence: float = 1.5,
) -> bytes:
    """Speak `command` at 16 kHz mono: its parts `pause` s apart, or in one go when None.

    Each part is trimmed to its speech, so the pause is exactly the silence the
    local server measures.
    """
    if pause is None:
        speech = trim_silence(
            synthesize(command.text, leading_silence=0, trailing_silence=0, voice=command.voice)
        )
    else:
        parts = [
            trim_silence(
                synthesize(part, leading_silence=0, trailing_silence=0, voice=command.voice)
            )
            for part in command.parts
        ]
        speech = _silence(pause, 16000, 1).join(parts)
    return _silence(leading_silence, 16000, 1) + speech + _silence(trailing_silence, 16000, 1)
