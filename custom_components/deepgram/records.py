"""What diagnostics keep of recent voice commands and spoken answers, per subentry."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# Enough recent streams for a bug report, not a history.
SESSIONS_KEPT = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionRecord:
    """One voice command as Deepgram saw it, for diagnostics."""

    started: str
    request_id: str | None
    model: str
    language: str
    # Multilingual streams: Deepgram's echo of the hints (None: no echo), and what it detected.
    languages_hinted: tuple[str, ...] | None
    languages_detected: tuple[str, ...]
    audio_seconds: float | None
    # From the last audio chunk sent to the final result.
    final_result_ms: int | None
    outcome: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerRecord:
    """One spoken answer as Deepgram saw it, for diagnostics."""

    started: str
    # One per request: a websocket answer has one, a REST answer one per sentence batch.
    request_ids: tuple[str, ...]
    voice: str
    # "websocket wav <rate>" or "rest mp3"
    route: str
    characters: int
    # From the first text to the first audio byte.
    first_audio_ms: int | None
    outcome: str


def recent_sessions() -> deque[SessionRecord]:
    """Return an empty record of the last SESSIONS_KEPT streams."""
    return deque(maxlen=SESSIONS_KEPT)


def recent_answers() -> deque[AnswerRecord]:
    """Return an empty record of the last SESSIONS_KEPT spoken answers."""
    return deque(maxlen=SESSIONS_KEPT)
