"""The languages Deepgram hinted and detected on a multilingual stream."""

from __future__ import annotations

from .client import TranscriptBuilder
from .messages import Results, ServerMessage, TurnInfo


class LanguageAwareTranscript(TranscriptBuilder):
    """A transcript that also keeps the languages Deepgram named while building it."""

    __slots__ = ("_detected", "languages_hinted")

    def __init__(self) -> None:
        """Start with no language named."""
        super().__init__()
        self._detected: dict[str, None] = {}
        # Deepgram's echo of the hints it took (normalised, "en-GB" as "en"); None: no echo.
        self.languages_hinted: tuple[str, ...] | None = None

    def add(self, message: ServerMessage) -> bool:
        """Note the message's languages, then add it to the transcript."""
        if isinstance(message, Results | TurnInfo):
            self._detected.update(dict.fromkeys(message.languages))
            if message.languages_hinted is not None:
                self.languages_hinted = message.languages_hinted
        return super().add(message)

    @property
    def languages_detected(self) -> tuple[str, ...]:
        """Return the languages detected in the stream's words, first heard first."""
        return tuple(self._detected)
