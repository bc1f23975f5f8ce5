"""WAV headers: dropped from the front of audio sent to Deepgram, written for audio from it.

Home Assistant labels raw PCM from a voice pipeline as WAV, while a client of the
HTTP API may upload a real WAV file. Deepgram is told the raw format, so a header
would reach it as a burst of noise.
"""

from __future__ import annotations

import struct

_RIFF_HEADER_BYTES = 12
_CHUNK_HEADER_BYTES = 8
# A WAV header is tens of bytes; a stream that has not shown its data chunk by
# now is not a WAV file we understand, so it goes on as raw audio.
_MAX_HEADER_BYTES = 64 * 1024


class WavHeaderStripper:
    """Feed the first chunks of a stream through; the header never comes out."""

    __slots__ = ("_buffer", "done")

    def __init__(self) -> None:
        """Start before any byte has been seen."""
        self._buffer = b""
        self.done = False

    def feed(self, chunk: bytes) -> bytes:  # noqa: PLR0911 - one return per parse state
        """Return the audio in `chunk`, holding back bytes that may be header."""
        if self.done:
            return chunk
        self._buffer += chunk
        buffer = self._buffer
        if len(buffer) < _RIFF_HEADER_BYTES:
            if b"RIFF".startswith(buffer[:4]):
                return b""
            return self._release(buffer)
        if buffer[:4] != b"RIFF" or buffer[8:12] != b"WAVE":
            return self._release(buffer)
        offset = _RIFF_HEADER_BYTES
        while len(buffer) >= offset + _CHUNK_HEADER_BYTES:
            chunk_id = buffer[offset : offset + 4]
            (size,) = struct.unpack_from("<I", buffer, offset + 4)
            offset += _CHUNK_HEADER_BYTES
            if chunk_id == b"data":
                return self._release(buffer[offset:])
            offset += size + (size & 1)
        if len(buffer) > _MAX_HEADER_BYTES:
            return self._release(buffer)
        return b""

    def flush(self) -> bytes:
        """Return what is held back when the stream ends."""
        if self.done or self._buffer[:4] == b"RIFF":
            return b""
        return self._release(self._buffer)

    def _release(self, audio: bytes) -> bytes:
        self.done = True
        self._buffer = b""
        return audio


# Sizes of a stream whose length is not known yet, as ffmpeg writes them to a pipe.
_UNKNOWN_SIZE = 0xFFFFFFFF


def streaming_wav_header(sample_rate: int, *, channels: int = 1, sample_width: int = 2) -> bytes:
    """Return the 44-byte header of PCM audio of unknown length.

    Both sizes are 0xFFFFFFFF: readers that trust the data size (Home Assistant's
    ESPHome WAV parser does) would read a size of 0 as "no audio".
    """
    block_align = channels * sample_width
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        _UNKNOWN_SIZE,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        sample_width * 8,
        b"data",
        _UNKNOWN_SIZE,
    )
