"""Read what a text-to-speech URL returned: MP3 frames or a WAV file, and how long it plays."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
import math
import struct

# Layer III bit rates (kb/s) by index: MPEG-1, then MPEG-2 and 2.5.
_MPEG1_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
# Sample rates by version bits (0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1) and index.
_SAMPLE_RATES = {
    0: (11025, 12000, 8000),
    2: (22050, 24000, 16000),
    3: (44100, 48000, 32000),
}
_WAV_UNKNOWN_SIZES = {0, 0xFFFFFFFF}


class NotAudioError(ValueError):
    """The bytes are not the audio they claim to be."""


@dataclass(frozen=True, slots=True)
class Mp3:
    """An MP3 stream made only of Layer III frames."""

    frames: int
    sample_rate: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Wav:
    """A 16-bit PCM WAV file."""

    sample_rate: int
    channels: int
    pcm: bytes

    @property
    def seconds(self) -> float:
        """Return how long the audio plays."""
        return len(self.pcm) / (2 * self.channels * self.sample_rate)

    @property
    def rms_dbfs(self) -> float:
        """Return the loudness of the whole audio in dB below full scale."""
        samples = array("h", self.pcm[: len(self.pcm) // 2 * 2])
        if not samples:
            return -math.inf
        power = sum(sample * sample for sample in samples) / len(samples)
        return 10 * math.log10(power / 32768**2) if power else -math.inf


def parse_mp3(data: bytes) -> Mp3:
    """Walk the frames back to back from the first byte to the last; raise NotAudioError."""
    offset = frames = samples = 0
    rate = 0
    while offset < len(data):
        if len(data) - offset < 4:
            msg = f"{len(data) - offset} stray bytes after frame {frames}"
            raise NotAudioError(msg)
        (header,) = struct.unpack_from(">I", data, offset)
        version = (header >> 19) & 0b11
        layer = (header >> 17) & 0b11
        bitrate_index = (header >> 12) & 0b1111
        rate_index = (header >> 10) & 0b11
        if header >> 21 != 0x7FF or version == 1 or layer != 1 or rate_index == 3:
            msg = f"no Layer III frame header at byte {offset} (frame {frames})"
            raise NotAudioError(msg)
        kbps = (_MPEG1_KBPS if version == 3 else _MPEG2_KBPS)[bitrate_index]
        if kbps == 0 or bitrate_index == 15:
            msg = f"free or bad bit rate at byte {offset}"
            raise NotAudioError(msg)
        rate = _SAMPLE_RATES[version][rate_index]
        padding = (header >> 9) & 1
        per_frame = 1152 if version == 3 else 576
        offset += per_frame // 8 * kbps * 1000 // rate + padding
        frames += 1
        samples += per_frame
    if offset != len(data) or not frames:
        msg = "the last frame is cut short" if frames else "no frames"
        raise NotAudioError(msg)
    return Mp3(frames, rate, samples / rate)


def parse_wav(data: bytes) -> Wav:
    """Read a 16-bit PCM WAV file, also one streamed with an unknown length."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        msg = f"no RIFF/WAVE header: {data[:12]!r}"
        raise NotAudioError(msg)
    offset = 12
    fmt: tuple[int, ...] | None = None
    while offset + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", data, body)
        elif chunk == b"data":
            if fmt is None:
                msg = "the data chunk comes before the fmt chunk"
                raise NotAudioError(msg)
            encoding, channels, rate, _, _, bits = fmt
            if encoding != 1 or bits != 16:
                msg = f"not 16-bit PCM: format {encoding}, {bits} bits"
                raise NotAudioError(msg)
            end = len(data) if size in _WAV_UNKNOWN_SIZES else body + size
            return Wav(rate, channels, data[body:end])
        offset = body + size + (size & 1)
    msg = "no data chunk"
    raise NotAudioError(msg)
