"""Offline speech recognition for the local server: PocketSphinx and its bundled English model.

One decoder, loaded once and used from one worker thread only, so recognition
never blocks the server's event loop and the (not thread-safe) decoder is never
shared. Each set of names gets its own grammar search, kept for reuse.
"""

from __future__ import annotations

from array import array
import asyncio
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
import logging
import sys
from typing import Any

from .grammar import jsgf

LOGGER = logging.getLogger(__name__)

MODEL_RATE = 16_000
# PocketSphinx counts 100 feature frames a second.
_FRAMES_PER_SECOND = 100
_MAX_GRAMMARS = 8
# Tuned on espeak-ng voices: rarely insert a pause inside a command, so a
# quiet word is not taken for silence; a whisper of noise keeps digital
# silence from upsetting the features. Decoding goes as a stream (live
# cepstral mean, carried from one utterance to the next), which heard more
# commands than normalising each utterance on its own.
_DECODER_SETTINGS: dict[str, Any] = {"silprob": 1e-6, "dither": True, "loglevel": "FATAL"}


@dataclass(frozen=True, slots=True)
class HeardWord:
    """A recognised word, in seconds from the start of the audio given."""

    text: str
    start: float
    end: float


def mono_16k(pcm: bytes, sample_rate: int, channels: int) -> bytes:
    """Return 16-bit PCM as the model hears it: mono (first channel) at 16 kHz."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) // (2 * channels) * 2 * channels])
    if sys.byteorder == "big":
        samples.byteswap()
    if channels > 1:
        samples = samples[::channels]
    if sample_rate != MODEL_RATE and samples:
        # Linear interpolation: enough for speech of a test or a microphone.
        step = sample_rate / MODEL_RATE
        last = len(samples) - 1
        resampled = array("h")
        for index in range(int(len(samples) / step)):
            position = index * step
            left = int(position)
            right = min(left + 1, last)
            fraction = position - left
            resampled.append(round(samples[left] * (1 - fraction) + samples[right] * fraction))
        samples = resampled
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


class SpeechRecogniser:
    """Recognise Assist's commands in 16-bit PCM, on a worker thread."""

    def __init__(self) -> None:
        """Load nothing yet: the model loads on the worker at the first request."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recogniser")
        self._decoder: Any = None
        self._grammars: OrderedDict[tuple[str, ...], str] = OrderedDict()

    async def recognise(
        self, pcm: bytes, sample_rate: int, channels: int, names: tuple[str, ...]
    ) -> tuple[HeardWord, ...]:
        """Return the words of the command in `pcm` (mono or interleaved 16-bit)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._recognise, pcm, sample_rate, channels, names
        )

    def close(self, *, wait: bool = False) -> None:
        """Stop the worker thread after any recognition in progress (`wait`: join it)."""
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _recognise(
        self, pcm: bytes, sample_rate: int, channels: int, names: tuple[str, ...]
    ) -> tuple[HeardWord, ...]:
        """Decode on the worker thread; any failure hears nothing rather than crash."""
        try:
            audio = mono_16k(pcm, sample_rate, channels)
            decoder = self._load()
            decoder.activate_search(self._grammar(decoder, names))
            decoder.start_utt()
            decoder.process_raw(audio, no_search=False, full_utt=False)
            decoder.end_utt()
            if decoder.hyp() is None:
                return ()
            return tuple(
                HeardWord(
                    segment.word.split("(")[0],  # "on(2)" is the 2nd pronunciation of "on"
                    segment.start_frame / _FRAMES_PER_SECOND,
                    (segment.end_frame + 1) / _FRAMES_PER_SECOND,
                )
                for segment in decoder.seg()
                if not segment.word.startswith(("<", "[", "+"))  # silence and noise
            )
        except Exception:
            LOGGER.exception("Recognition failed; the segment is heard as silence")
            return ()

    def _load(self) -> Any:
        if self._decoder is None:
            from pocketsphinx import Decoder  # noqa: PLC0415 - only --recognise needs it

            self._decoder = Decoder(lm=None, **_DECODER_SETTINGS)
        return self._decoder

    def _grammar(self, decoder: Any, names: tuple[str, ...]) -> str:
        """Return the search of a grammar over `names`, made on first use."""
        search = self._grammars.get(names)
        if search is not None:
            self._grammars.move_to_end(names)
            return search
        search = f"assist{abs(hash(names))}"
        decoder.add_jsgf_string(
            search, jsgf(names, lambda word: decoder.lookup_word(word) is not None)
        )
        self._grammars[names] = search
        if len(self._grammars) > _MAX_GRAMMARS:
            _, oldest = self._grammars.popitem(last=False)
            decoder.remove_search(oldest)
        return search
