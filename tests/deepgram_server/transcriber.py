"""What the local Deepgram server "hears": speech detection and a scripted transcript.

Two pieces, both free of I/O so they can be tested on their own:

* `AudioMeter` turns the client's binary frames into 10 ms frames of audio time,
  each marked speech or not by its energy.
* `Transcriber` turns those frames into Deepgram's events (interim and final
  segments, SpeechStarted, UtteranceEnd), with words taken from a script.

All times are seconds of audio fed, never wall time, as on Deepgram.

A script may mark where its speaker pauses with `|` ("turn on the | kitchen
light"): when the audio's silence there ends the segment (`speech_final`), that
final carries only the words before the mark, and the rest waits for the speech
after the pause, as Deepgram hears it. A pause too short to end the segment
leaves the command whole.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
import math
import struct
import sys

FRAME_SECONDS = 0.01
DEFAULT_SPEECH_THRESHOLD = 500.0
# Deepgram reads Ogg/Opus granule positions at 48 kHz.
_OGG_RATE = 48_000
# Codecs this server cannot decode count each binary frame as typical packet time.
_OPAQUE_FRAME_SECONDS = 0.02
# Float tolerance when comparing accumulated audio times.
_EPSILON = 1e-9
# Where a script's speaker pauses.
PAUSE_MARK = "|"
# Silence inside an utterance that is one of its script's pauses once speech resumes
# (espeak-ng's gaps between words are shorter).
PAUSE_SECONDS = 0.15

# A header that has not reached its data chunk by now is not one we understand.
_MAX_WAV_HEADER = 64 * 1024
_OGG_HEADER = struct.Struct("<4sBBqIIIB")
_WAV_FORMATS = {1: "pcm", 3: "float", 6: "alaw", 7: "mulaw", 0xFFFE: "extensible"}
# Leading bytes of containers Deepgram detects by itself when no encoding is given.
_CONTAINER_MAGIC = (b"RIFF", b"OggS", b"fLaC", b"ID3", b"\x1a\x45\xdf\xa3", b"#!AMR")


def _ulaw_to_linear(byte: int) -> int:
    """Decode one G.711 mu-law byte to a 16-bit sample."""
    byte = ~byte & 0xFF
    magnitude = (((byte & 0x0F) << 3) + 0x84) << ((byte & 0x70) >> 4)
    return (0x84 - magnitude) if byte & 0x80 else (magnitude - 0x84)


def _alaw_to_linear(byte: int) -> int:
    """Decode one G.711 A-law byte to a 16-bit sample."""
    byte ^= 0x55
    exponent = (byte & 0x70) >> 4
    mantissa = byte & 0x0F
    base = (mantissa << 4) + 8
    magnitude = base if exponent == 0 else (base + 0x100) << (exponent - 1)
    return magnitude if byte & 0x80 else -magnitude


# Squares of decoded samples, so an 8-bit frame's energy is one table look-up per byte.
_ULAW_SQUARES = tuple(_ulaw_to_linear(byte) ** 2 for byte in range(256))
_ALAW_SQUARES = tuple(_alaw_to_linear(byte) ** 2 for byte in range(256))


def _is_container(head: bytes) -> bool:
    """Whether the stream starts like a container or codec Deepgram detects."""
    mpeg_frame = len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    return mpeg_frame or any(head.startswith(magic) for magic in _CONTAINER_MAGIC)


def channel_description(sample_rate: int, channels: int) -> str:
    """Describe a PCM format the way the describe-mode transcript does."""
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels} channels")
    return f"{sample_rate} Hz {layout}"


type MeterFrame = tuple[float, bool]
"""One 10 ms frame: the audio time at its end, and whether it is speech."""


class AudioMeter:
    """Measure the client's audio: how much time it holds and where the speech is.

    `encoding` is the query's value (None when absent). Without it, a RIFF/WAVE
    header gives the format and an Ogg stream is timed by its granule positions;
    any other stream without an encoding is `undecodable`, as on Deepgram.
    Codecs this server does not decode (FLAC, AMR, Speex, ...) count as speech,
    20 ms per binary frame.
    """

    def __init__(
        self,
        *,
        encoding: str | None,
        sample_rate: int | None,
        channels: int,
        threshold: float = DEFAULT_SPEECH_THRESHOLD,
        keep_pcm: bool = False,
    ) -> None:
        """Expect audio in the given format; `threshold` is RMS on the int16 scale.

        With `keep_pcm`, 16-bit PCM (raw or in WAV) is kept in `pcm` for a recogniser.
        """
        self.encoding = encoding
        self.pcm: bytearray | None = bytearray() if keep_pcm else None
        self.sample_rate = sample_rate or 16_000
        self.channels = channels
        self.threshold = threshold
        self.undecodable = False
        self._mode = "sniff" if encoding is None else "pending"
        self._buffer = bytearray()
        self._width = 2
        self._samples = 0  # per channel, of whole frames already measured
        self._pcm_bytes = 0
        self._opaque_frames = 0
        self._ogg_granule = 0
        self._ogg_frames = 0
        self._wav_format = ""

    @property
    def seconds(self) -> float:
        """Audio seconds fed so far (Deepgram's Metadata `duration`)."""
        if self._mode == "pcm":
            return self._pcm_bytes / (self._width * self.channels * self.sample_rate)
        if self._mode == "ogg":
            return self._ogg_granule / _OGG_RATE
        return self._opaque_frames * _OPAQUE_FRAME_SECONDS

    @property
    def description(self) -> str:
        """Describe the audio format, e.g. "16000 Hz mono" or "Ogg/Opus"."""
        if self._mode == "ogg":
            return "Ogg/Opus"
        if self._mode == "pcm":
            text = channel_description(self.sample_rate, self.channels)
            return text if self.encoding in {None, "linear16"} else f"{text} {self.encoding}"
        return self._wav_format or f"{self.encoding or 'unknown'} audio"

    def feed(self, data: bytes) -> list[MeterFrame]:
        """Take one binary frame; return the whole 10 ms frames it completes."""
        if self._mode == "pcm":
            self._pcm_bytes += len(data)
            self._buffer += data
            return self._measure_pcm(final=False)
        if self._mode == "ogg":
            self._buffer += data
            return self._read_ogg_pages()
        if self._mode == "opaque":
            return self._opaque(data)
        self._buffer += data
        return self._choose_mode()

    def flush(self) -> list[MeterFrame]:
        """Measure a trailing partial frame, when the stream ends."""
        if self._mode == "pcm":
            return self._measure_pcm(final=True)
        return []

    def _choose_mode(self) -> list[MeterFrame]:
        """Find the format from the query, or from the first bytes of the stream."""
        head = bytes(self._buffer[:12])
        if self.encoding in {"linear16", "linear32", "mulaw", "alaw"}:
            return self._start_pcm(self.encoding, bytes(self._buffer))
        if head.startswith(b"OggS") and self.encoding in {None, "opus", "ogg-opus"}:
            self._mode = "ogg"
            return self._read_ogg_pages()
        if self.encoding is None and head.startswith(b"RIFF"):
            return self._read_wav_header()
        short = self.encoding is None and len(head) < len(b"OggS")
        if short and any(magic.startswith(head) for magic in _CONTAINER_MAGIC):
            return []  # Too short to tell yet.
        # Deepgram cannot play raw audio whose encoding it was not told.
        self.undecodable = self.encoding is None and not _is_container(head)
        return self._start_opaque()

    def _start_pcm(self, encoding: str, data: bytes) -> list[MeterFrame]:
        self._mode = "pcm"
        self.encoding = encoding
        self._width = {"linear16": 2, "linear32": 4}.get(encoding, 1)
        self._buffer = bytearray(data)
        self._pcm_bytes = len(data)
        return self._measure_pcm(final=False)

    def _start_opaque(self) -> list[MeterFrame]:
        self._mode = "opaque"
        data = bytes(self._buffer)
        self._buffer.clear()
        return self._opaque(data)

    def _opaque(self, data: bytes) -> list[MeterFrame]:
        if self.undecodable or not data:
            return []
        self._opaque_frames += 1
        end = self._opaque_frames * _OPAQUE_FRAME_SECONDS
        steps = round(_OPAQUE_FRAME_SECONDS / FRAME_SECONDS)
        return [(end - (steps - 1 - i) * FRAME_SECONDS, True) for i in range(steps)]

    def _read_wav_header(self) -> list[MeterFrame]:
        """Parse RIFF chunks up to `data`; the header itself is not audio."""
        buffer = self._buffer
        if len(buffer) < 12:  # The RIFF/WAVE preamble.
            return []
        if buffer[8:12] != b"WAVE":
            return self._start_opaque()
        offset = 12
        fmt: tuple[int, int, int, int] | None = None
        while len(buffer) >= offset + 8:
            chunk_id = bytes(buffer[offset : offset + 4])
            (size,) = struct.unpack_from("<I", buffer, offset + 4)
            body = offset + 8
            if chunk_id == b"data":
                return self._start_wav_audio(fmt, bytes(buffer[body:]))
            if len(buffer) < body + size:
                return []
            if chunk_id == b"fmt " and size >= 16:  # PCMWAVEFORMAT's size.
                tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", buffer, body)
                fmt = (tag, channels, rate, bits)
            offset = body + size + (size & 1)
        if len(buffer) > _MAX_WAV_HEADER:
            self._wav_format = "WAV without a data chunk"
            return self._start_opaque()
        return []

    def _start_wav_audio(
        self, fmt: tuple[int, int, int, int] | None, data: bytes
    ) -> list[MeterFrame]:
        if fmt is None:
            self._wav_format = "WAV without a format chunk"
            self._buffer = bytearray(data)
            return self._start_opaque()
        tag, channels, rate, bits = fmt
        self.channels = max(channels, 1)
        self.sample_rate = max(rate, 1)
        kind = _WAV_FORMATS.get(tag, f"format {tag}")
        encoding = {
            ("pcm", 16): "linear16",
            ("extensible", 16): "linear16",
            ("pcm", 32): "linear32",
            ("extensible", 32): "linear32",
            ("alaw", 8): "alaw",
            ("mulaw", 8): "mulaw",
        }.get((kind, bits))
        if encoding is None:
            self._wav_format = f"WAV {kind} {bits}-bit"
            self._buffer = bytearray(data)
            return self._start_opaque()
        frames = self._start_pcm(encoding, data)
        self.encoding = None if encoding == "linear16" else encoding
        return frames

    def _measure_pcm(self, *, final: bool) -> list[MeterFrame]:
        frame_samples = max(self.sample_rate // 100, 1)
        frame_bytes = frame_samples * self.channels * self._width
        whole = len(self._buffer) // frame_bytes * frame_bytes
        if final:
            whole = len(self._buffer) // (self.channels * self._width) * self.channels * self._width
        if not whole:
            return []
        data = bytes(self._buffer[:whole])
        del self._buffer[:whole]
        if self.pcm is not None and self._width == 2:
            self.pcm += data
        frames: list[MeterFrame] = []
        for start in range(0, whole, frame_bytes):
            chunk = data[start : start + frame_bytes]
            self._samples += len(chunk) // (self.channels * self._width)
            end = self._samples / self.sample_rate
            frames.append((end, self._rms(chunk) >= self.threshold))
        return frames

    def _rms(self, chunk: bytes) -> float:
        """Root mean square of a frame, on the int16 scale whatever the encoding."""
        count = len(chunk) // self._width
        if self.encoding == "mulaw":
            energy = float(sum(_ULAW_SQUARES[byte] for byte in chunk))
        elif self.encoding == "alaw":
            energy = float(sum(_ALAW_SQUARES[byte] for byte in chunk))
        else:
            samples = array("h" if self._width == 2 else "i", chunk)
            if sys.byteorder == "big":
                samples.byteswap()
            energy = float(math.sumprod(samples, samples))
            if self._width != 2:  # int32 down to the int16 scale
                energy /= 65536.0**2
        return math.sqrt(energy / count)

    def _read_ogg_pages(self) -> list[MeterFrame]:
        """Advance audio time to each complete page's granule position; all of it speech."""
        frames: list[MeterFrame] = []
        buffer = self._buffer
        while len(buffer) >= _OGG_HEADER.size:
            capture, _, _, granule, _, _, _, segments = _OGG_HEADER.unpack_from(buffer)
            if capture != b"OggS":
                self._buffer.clear()  # Lost sync: nothing more can be timed.
                break
            table_end = _OGG_HEADER.size + segments
            if len(buffer) < table_end:
                break
            page_end = table_end + sum(buffer[_OGG_HEADER.size : table_end])
            if len(buffer) < page_end:
                break
            del buffer[:page_end]
            if granule > self._ogg_granule:
                self._ogg_granule = granule
                while (self._ogg_frames + 1) * FRAME_SECONDS * _OGG_RATE <= granule + _EPSILON:
                    self._ogg_frames += 1
                    frames.append((self._ogg_frames * FRAME_SECONDS, True))
        return frames


@dataclass(frozen=True, slots=True)
class Word:
    """A word of a transcript, placed in the audio."""

    text: str
    start: float
    end: float

    @property
    def plain(self) -> str:
        """The word as Deepgram's `word` field has it: lower case, no punctuation."""
        stripped = "".join(char for char in self.text if char.isalnum() or char in "'-")
        return (stripped or self.text).lower()


@dataclass(frozen=True, slots=True)
class Segment:
    """A Results message: the window [start, end] of audio and its words."""

    start: float
    end: float
    words: tuple[Word, ...]
    is_final: bool
    speech_final: bool = False
    from_finalize: bool = False

    @property
    def transcript(self) -> str:
        """The words joined, as the script spelled them."""
        return " ".join(word.text for word in self.words)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Speech began at `timestamp` (sent with vad_events=true)."""

    timestamp: float


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """No word followed the one ending at `last_word_end` for utterance_end_ms."""

    last_word_end: float


type Event = Segment | SpeechStarted | UtteranceEnd


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriberConfig:
    """How the transcriber behaves; times in seconds of audio."""

    endpointing: float | None = 0.01
    """Silence that ends an utterance with speech_final; None disables endpointing."""
    interim_results: bool = False
    utterance_end: float | None = None
    vad_events: bool = False
    min_silence: float = 0.2
    """Deepgram's VAD does not end speech on the dips between words; neither do we."""
    word_seconds: float = 0.3
    final_every: float = 3.0
    interim_every: float = 1.0
    utterance_end_lag: float = 0.0
    """Audio by which UtteranceEnd comes late, even after newer speech, as real ones do."""


def script_words(script: str) -> tuple[list[str], tuple[int, ...]]:
    """Split a script into its words and the indices of the words a pause precedes."""
    words: list[str] = []
    pauses: list[int] = []
    for token in script.split():
        if token == PAUSE_MARK:
            if words and (not pauses or pauses[-1] != len(words)):
                pauses.append(len(words))
        else:
            words.append(token)
    return words, tuple(index for index in pauses if index < len(words))


@dataclass(slots=True)
class _Utterance:
    """Speech from its onset until a final ends it."""

    onset: float
    last_speech_end: float
    tokens: list[str] | None  # None: describe the audio instead of a script
    # Indices into `tokens` of the words a pause precedes (the script's `|`).
    pauses: tuple[int, ...] = ()
    pauses_made: int = 0
    finalized: int = 0
    # Its words were finalised by a long pause that the endpoint has not ended yet.
    settled: bool = False


class Transcriber:
    """Turn speech frames into Deepgram's events, with words from a script.

    `next_script` is called at each utterance onset; it returns the utterance's
    text, or None to describe the audio instead via `describe(seconds)`.
    Words are revealed to interims at `word_seconds` of speech each, never all
    before the utterance ends; each word is in exactly one final, in order.
    """

    def __init__(
        self,
        config: TranscriberConfig,
        *,
        next_script: Callable[[], str | None],
        describe: Callable[[float], str],
    ) -> None:
        """Start at audio time zero, in silence."""
        self.config = config
        self.next_script = next_script
        self.describe = describe
        self.time = 0.0
        self._segment_start = 0.0
        self._next_interim = config.interim_every
        self._utterance: _Utterance | None = None
        # The words after a pause that ended the last segment, for the speech that follows.
        self._carried: tuple[list[str], tuple[int, ...]] | None = None
        self._last_final_word_end: float | None = None
        # UtteranceEnds held back by `utterance_end_lag`, with the time they are sent.
        self._late_utterance_ends: list[tuple[float, UtteranceEnd]] = []

    @property
    def in_utterance(self) -> bool:
        """Whether speech was heard that no final has ended yet."""
        return self._utterance is not None

    def advance(self, end: float, *, speech: bool) -> list[Event]:
        """Take the frame that ends at audio time `end`; return the events it causes."""
        config = self.config
        start, self.time = self.time, end
        events: list[Event] = []
        utterance = self._utterance
        if speech:
            utterance, onset = self._speech_in(utterance, start, end)
            if onset:
                self._last_final_word_end = None
                if config.vad_events:
                    events.append(SpeechStarted(start))
            utterance.last_speech_end = end
            utterance.settled = False
            since = end - max(self._segment_start, utterance.onset)
            if since + _EPSILON >= config.final_every and (words := self._revealed(utterance)):
                events.append(self._final(words, speech_final=False, from_finalize=False))
        elif utterance is not None:
            silence = end - utterance.last_speech_end
            if config.endpointing is not None and silence + _EPSILON >= max(
                config.endpointing, config.min_silence
            ):
                events.append(
                    self._end_utterance(speech_final=True, from_finalize=False, at_pause=True)
                )
            elif (
                config.interim_results
                and config.utterance_end is not None
                and not utterance.settled
                and silence + _EPSILON >= config.utterance_end
            ):
                # Like Deepgram, a long pause finalises the words before the
                # (longer) endpoint does; UtteranceEnd follows below.
                utterance.settled = True
                events.append(self._settle(utterance))
        if (
            config.interim_results
            and config.utterance_end is not None
            and (self._utterance is None or self._utterance.settled)
            and self._last_final_word_end is not None
            and end - self._last_final_word_end + _EPSILON >= config.utterance_end
        ):
            due = UtteranceEnd(self._last_final_word_end)
            self._late_utterance_ends.append((end + config.utterance_end_lag, due))
            self._last_final_word_end = None
        while self._late_utterance_ends and self._late_utterance_ends[0][0] <= end + _EPSILON:
            events.append(self._late_utterance_ends.pop(0)[1])
        if config.interim_results and end + _EPSILON >= self._next_interim:
            while self._next_interim <= end + _EPSILON:
                self._next_interim += config.interim_every
            events.append(self._interim())
        return events

    def finalize(self) -> list[Event]:
        """Answer Finalize: a from_finalize final with the pending words, if any."""
        if self._utterance is None:
            return []
        segment = self._end_utterance(speech_final=True, from_finalize=True)
        return [segment] if segment.words else []

    def close(self) -> list[Event]:
        """Answer CloseStream: the last final, if words are pending."""
        if self._utterance is None:
            return []
        segment = self._end_utterance(speech_final=True, from_finalize=False)
        return [segment] if segment.words else []

    def _speech_in(
        self, utterance: _Utterance | None, start: float, end: float
    ) -> tuple[_Utterance, bool]:
        """Return the utterance a speech frame belongs to, and whether it starts one."""
        if utterance is not None and utterance.settled and _spent(utterance):
            utterance = None  # Its words are all final: speech again brings the next words.
        if utterance is None:
            self._utterance = self._next_utterance(start, end)
            return self._utterance, True
        if start - utterance.last_speech_end + _EPSILON >= PAUSE_SECONDS:
            utterance.pauses_made += 1
        return utterance, False

    def _next_utterance(self, start: float, end: float) -> _Utterance:
        """Start an utterance with the words carried over a pause, else the next script."""
        if self._carried is not None:
            (tokens, pauses), self._carried = self._carried, None
            return _Utterance(start, end, tokens, pauses)
        script = self.next_script()
        if script is None:
            return _Utterance(start, end, None)
        tokens, pauses = script_words(script)
        return _Utterance(start, end, tokens, pauses)

    def _words_to_pause(self, utterance: _Utterance) -> list[str]:
        """The words not yet final up to the pause the speaker is in (all, past the last)."""
        assert utterance.tokens is not None
        pauses = utterance.pauses
        upto = pauses[utterance.pauses_made] if utterance.pauses_made < len(pauses) else None
        if upto is None or upto < utterance.finalized:
            upto = len(utterance.tokens)
        return utterance.tokens[utterance.finalized : upto]

    def _pending_start(self, utterance: _Utterance) -> float:
        return max(utterance.onset, self._segment_start)

    def _revealed(self, utterance: _Utterance) -> tuple[Word, ...]:
        """Words not yet final that the speech so far has revealed."""
        start = self._pending_start(utterance)
        end = max(utterance.last_speech_end, start)
        if utterance.tokens is None:
            return layout_words(self.describe(end - start).split(), start, end)
        spoken = utterance.last_speech_end - utterance.onset
        count = min(int(spoken / self.config.word_seconds + _EPSILON), len(utterance.tokens) - 1)
        return layout_words(utterance.tokens[utterance.finalized : max(count, 0)], start, end)

    def _final(
        self, words: tuple[Word, ...], *, speech_final: bool, from_finalize: bool
    ) -> Segment:
        """Emit a final over the audio since the last one; it ends a segment."""
        segment = Segment(
            self._segment_start,
            self.time,
            words,
            is_final=True,
            speech_final=speech_final,
            from_finalize=from_finalize,
        )
        self._segment_start = self.time
        if self._utterance is not None and self._utterance.tokens is not None:
            self._utterance.finalized += len(words)
        if words:
            self._last_final_word_end = words[-1].end
        return segment

    def _end_utterance(
        self, *, speech_final: bool, from_finalize: bool, at_pause: bool = False
    ) -> Segment:
        """Finalize every word left in the utterance (`at_pause`: up to its pause), and end it."""
        utterance = self._utterance
        assert utterance is not None
        start = self._pending_start(utterance)
        end = max(utterance.last_speech_end, start)
        if utterance.settled:
            tokens = []
        elif utterance.tokens is None:
            tokens = self.describe(end - start).split()
        elif at_pause:
            tokens = self._words_to_pause(utterance)
            rest = utterance.finalized + len(tokens)
            if rest < len(utterance.tokens):
                shifted = tuple(index - rest for index in utterance.pauses if index > rest)
                self._carried = (utterance.tokens[rest:], shifted)
        else:
            tokens = utterance.tokens[utterance.finalized :]
        segment = self._final(
            layout_words(tokens, start, end), speech_final=speech_final, from_finalize=from_finalize
        )
        self._utterance = None
        return segment

    def _settle(self, utterance: _Utterance) -> Segment:
        """Finalize every word of the utterance without ending it (no speech_final)."""
        start = self._pending_start(utterance)
        end = max(utterance.last_speech_end, start)
        tokens = (
            self.describe(end - start).split()
            if utterance.tokens is None
            else self._words_to_pause(utterance)
        )
        return self._final(
            layout_words(tokens, start, end), speech_final=False, from_finalize=False
        )

    def _interim(self) -> Segment:
        words = self._revealed(self._utterance) if self._utterance is not None else ()
        return Segment(self._segment_start, self.time, words, is_final=False)


def _spent(utterance: _Utterance) -> bool:
    """Whether every word of the utterance's script is final."""
    return utterance.tokens is not None and utterance.finalized >= len(utterance.tokens)


def layout_words(tokens: list[str], start: float, end: float) -> tuple[Word, ...]:
    """Spread words evenly over [start, end] of the audio."""
    if not tokens:
        return ()
    step = (end - start) / len(tokens)
    return tuple(
        Word(token, start + index * step, start + (index + 1) * step)
        for index, token in enumerate(tokens)
    )
