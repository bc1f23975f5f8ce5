"""Real words for a live stream: its segments, recognised from the audio they span.

The transcriber still decides when speech starts and ends and which Results
go out; a stream that hears swaps the words of each segment for those the
recogniser finds in that segment's audio, timed where they were spoken.
"""

from __future__ import annotations

import dataclasses

from .recogniser import SpeechRecogniser
from .transcriber import AudioMeter, Segment, Word

# Speech detection by energy misses soft onsets ("f", "s", "h") and endings.
MARGIN_SECONDS = 0.3
# Whole commands in one final: a final at every 3 s of speech would cut them.
FINAL_EVERY_SECONDS = 30.0


class Hearing:
    """Recognise the segments of one stream, over the names it was given."""

    def __init__(
        self, recogniser: SpeechRecogniser, meter: AudioMeter, names: tuple[str, ...]
    ) -> None:
        """Read 16-bit PCM from `meter` (made with `keep_pcm`); expect `names` in commands."""
        self._recogniser = recogniser
        self._meter = meter
        self.names = names

    async def hear(self, segment: Segment) -> Segment:
        """Return the segment with the words spoken in it (none if nothing was heard).

        Audio the server cannot decode (Opus, mu-law, ...) keeps its description.
        """
        pcm = self._meter.pcm
        if not segment.words or pcm is None or not pcm:
            return segment
        rate, channels = self._meter.sample_rate, self._meter.channels
        frame_bytes = 2 * channels
        start = max(segment.words[0].start - MARGIN_SECONDS, 0.0)
        end = segment.words[-1].end + MARGIN_SECONDS
        audio = bytes(pcm[round(start * rate) * frame_bytes : round(end * rate) * frame_bytes])
        heard = await self._recogniser.recognise(audio, rate, channels, self.names)
        words = tuple(
            Word(word.text, start + word.start, min(start + word.end, segment.end))
            for word in heard
        )
        return dataclasses.replace(segment, words=words)
