"""Where to cut text that arrives token by token: at sentence ends, within Deepgram's limits.

A Flush makes Deepgram speak what it has; one at every sentence end gets the first
words out while the rest is still being written. Deepgram allows 20 Flushes a
minute and 2,000 characters of text at a time, so both are budgeted here
(and the stream keeps to 2,400 characters a minute).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
import re
import time
from typing import Final

MAX_TEXT_CHARS: Final = 2000
# A websocket's text throughput limit.
CHARACTERS_PER_MINUTE: Final = 2400
FLUSHES_PER_WINDOW: Final = 20
FLUSH_WINDOW_SECONDS: Final = 60.0

# A sentence ends at . ! ? … (and closing quotes or brackets) before a space, at
# CJK full stops, or at a line break (lists).
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+|\n+")  # noqa: RUF001
_TRAILING_END = re.compile(r"[.!?…]+[\"'”’»)\]]*$")  # noqa: RUF001
FLUSH: Final = None
"""Marks where a Flush goes between the pieces of text."""


class FlushPlanner:
    """Turn text chunks into the pieces to Speak and where to Flush."""

    def __init__(
        self,
        *,
        max_chars: int = MAX_TEXT_CHARS,
        flushes_per_window: int = FLUSHES_PER_WINDOW,
        window: float = FLUSH_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start with nothing sent."""
        self._max_chars = max_chars
        # One Flush of the window stays free for the end of the answer.
        self._sentence_flushes = flushes_per_window - 1
        self._window = window
        self._clock = clock
        self._flushed_at: deque[float] = deque()
        self._unflushed = 0
        self._has_words = False
        self._ended_sentence = False

    def feed(self, chunk: str) -> Iterator[str | None]:
        """Yield pieces of `chunk` to Speak, and FLUSH where a sentence ends."""
        if self._ended_sentence and chunk[:1].isspace():
            yield from self._sentence_flush()
        self._ended_sentence = False
        start = 0
        for match in _SENTENCE_END.finditer(chunk):
            yield from self._text(chunk[start : match.end()])
            start = match.end()
            yield from self._sentence_flush()
        rest = chunk[start:]
        yield from self._text(rest)
        self._ended_sentence = bool(_TRAILING_END.search(rest))

    def finish(self) -> Iterator[None]:
        """Yield the last FLUSH, if any words are waiting for one."""
        if self._has_words:
            yield from self._flush()

    def _text(self, text: str) -> Iterator[str | None]:
        """Yield `text`, cut (and flushed) before the unflushed text would pass the limit."""
        while self._unflushed + len(text) > self._max_chars:
            room = self._max_chars - self._unflushed
            cut = text.rfind(" ", 0, room + 1)
            if cut <= 0:
                cut = room
            if head := text[:cut]:
                yield from self._piece(head)
            # Forced: a Flush over the budget is ignored, text over the limit is fatal.
            yield from self._flush()
            text = text[cut:]
        if text:
            yield from self._piece(text)

    def _piece(self, text: str) -> Iterator[str]:
        self._unflushed += len(text)
        self._has_words = self._has_words or not text.isspace()
        yield text

    def _sentence_flush(self) -> Iterator[None]:
        if not self._has_words:
            return
        now = self._clock()
        while self._flushed_at and now - self._flushed_at[0] >= self._window:
            self._flushed_at.popleft()
        if len(self._flushed_at) < self._sentence_flushes:
            yield from self._flush()

    def _flush(self) -> Iterator[None]:
        self._flushed_at.append(self._clock())
        self._unflushed = 0
        self._has_words = False
        yield FLUSH


def split_sentences(text: str) -> tuple[list[str], str]:
    """Return the complete sentences of `text` and the unfinished rest."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if sentence := text[start : match.end()].strip():
            sentences.append(sentence)
        start = match.end()
    return sentences, text[start:]


def cut_to_limit(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Cut text into pieces of at most `limit` characters, at spaces where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip()
    if text.strip():
        pieces.append(text)
    return pieces
