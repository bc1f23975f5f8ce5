"""Messages a Deepgram live stream sends, parsed into typed objects.

Everything from the server is untrusted: fields are type-checked, and a field of
the wrong type reads as absent rather than raising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import json
import logging
from typing import Any

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its time in the audio stream.

    Flux's words carry no times, so `start` and `end` may be absent.
    """

    word: str
    start: float | None
    end: float | None
    confidence: float
    punctuated_word: str | None = None
    # Multilingual streams: the language Deepgram assigned to the word, if any.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Results:
    """A transcript of the latest audio; `is_final` ones are never revised."""

    transcript: str
    confidence: float
    is_final: bool
    speech_final: bool
    from_finalize: bool
    start: float
    duration: float
    words: tuple[Word, ...]
    channel_index: tuple[int, ...]
    request_id: str | None
    # Multilingual streams: the languages detected, and Deepgram's echo of the hints.
    languages: tuple[str, ...] = ()
    languages_hinted: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Metadata:
    """The summary Deepgram sends once, when the stream ends."""

    request_id: str | None
    duration: float
    channels: int


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """No word followed the last one for `utterance_end_ms`."""

    last_word_end: float
    channel: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Deepgram's voice activity detector heard speech begin."""

    timestamp: float
    channel: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TurnInfo:
    """Flux's view of the current turn: its transcript so far, or its end."""

    event: str  # StartOfTurn, Update, EagerEndOfTurn, TurnResumed or EndOfTurn
    turn_index: int
    transcript: str
    end_of_turn_confidence: float
    words: tuple[Word, ...]
    trigger: str | None
    request_id: str | None
    # Flux Multilingual: the languages detected, and Deepgram's echo of the hints.
    languages: tuple[str, ...] = ()
    languages_hinted: tuple[str, ...] | None = None

    @property
    def end_of_turn(self) -> bool:
        """Whether Flux has decided the turn is over."""
        return self.event == "EndOfTurn"


@dataclass(frozen=True, slots=True)
class Connected:
    """Flux accepted the stream; the one message before any turn that names the request."""

    request_id: str | None


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """Deepgram's Error: a refused message on /v1/listen, the fatal end of a Flux stream."""

    variant: str
    description: str
    code: str


type ServerMessage = (
    Results | Metadata | UtteranceEnd | SpeechStarted | Connected | TurnInfo | ErrorMessage
)


def _string(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return value if isinstance(value, str) else default


def _optional_string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _number(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def _optional_number(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _flag(data: dict[str, Any], key: str) -> bool:
    return data.get(key) is True


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _ints(data: dict[str, Any], key: str) -> tuple[int, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, int))


def _strings(data: dict[str, Any], key: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if not isinstance(value, list):
        return None
    return tuple(item for item in value if isinstance(item, str))


def _languages(data: dict[str, Any], words: tuple[Word, ...]) -> tuple[str, ...]:
    """Return the languages a result names, on the whole and on its words, once each."""
    named = [*(_strings(data, "languages") or ()), *(word.language for word in words)]
    return tuple(dict.fromkeys(language for language in named if language))


def _word(data: Any) -> Word | None:
    if not isinstance(data, dict) or not isinstance(data.get("word"), str):
        return None
    return Word(
        word=data["word"],
        start=_optional_number(data, "start"),
        end=_optional_number(data, "end"),
        confidence=_number(data, "confidence"),
        punctuated_word=_optional_string(data, "punctuated_word"),
        language=_optional_string(data, "language"),
    )


def _words(data: dict[str, Any]) -> tuple[Word, ...]:
    raw_words = data.get("words")
    if not isinstance(raw_words, list):
        return ()
    return tuple(word for word in map(_word, raw_words) if word is not None)


def _results(data: dict[str, Any]) -> Results:
    alternatives = _object(data, "channel").get("alternatives")
    best: dict[str, Any] = {}
    if isinstance(alternatives, list) and alternatives and isinstance(alternatives[0], dict):
        best = alternatives[0]
    words = _words(best)
    return Results(
        transcript=_string(best, "transcript").strip(),
        confidence=_number(best, "confidence"),
        is_final=_flag(data, "is_final"),
        speech_final=_flag(data, "speech_final"),
        from_finalize=_flag(data, "from_finalize"),
        start=_number(data, "start"),
        duration=_number(data, "duration"),
        words=words,
        channel_index=_ints(data, "channel_index"),
        request_id=_optional_string(_object(data, "metadata"), "request_id"),
        languages=_languages(best, words),
        languages_hinted=_strings(best, "languages_hinted") or _strings(data, "languages_hinted"),
    )


def _metadata(data: dict[str, Any]) -> Metadata:
    channels = data.get("channels")
    return Metadata(
        request_id=_optional_string(data, "request_id"),
        duration=_number(data, "duration"),
        channels=channels if isinstance(channels, int) else 0,
    )


def _utterance_end(data: dict[str, Any]) -> UtteranceEnd:
    return UtteranceEnd(_number(data, "last_word_end"), _ints(data, "channel"))


def _speech_started(data: dict[str, Any]) -> SpeechStarted:
    return SpeechStarted(_number(data, "timestamp"), _ints(data, "channel"))


def _connected(data: dict[str, Any]) -> Connected:
    return Connected(_optional_string(data, "request_id"))


def _turn_info(data: dict[str, Any]) -> TurnInfo:
    turn_index = data.get("turn_index")
    words = _words(data)
    return TurnInfo(
        event=_string(data, "event"),
        turn_index=turn_index if isinstance(turn_index, int) else 0,
        transcript=_string(data, "transcript").strip(),
        end_of_turn_confidence=_number(data, "end_of_turn_confidence"),
        words=words,
        trigger=_optional_string(data, "trigger"),
        request_id=_optional_string(data, "request_id"),
        languages=_languages(data, words),
        languages_hinted=_strings(data, "languages_hinted"),
    )


def _error(data: dict[str, Any]) -> ErrorMessage:
    return ErrorMessage(
        variant=_string(data, "variant"),
        description=_string(data, "description") or _string(data, "message"),
        code=_string(data, "code"),
    )


_PARSERS: dict[str, Callable[[dict[str, Any]], ServerMessage]] = {
    "Results": _results,
    "Metadata": _metadata,
    "UtteranceEnd": _utterance_end,
    "SpeechStarted": _speech_started,
    "Connected": _connected,
    "TurnInfo": _turn_info,
    "Error": _error,
}


def parse_message(text: str) -> ServerMessage | None:
    """Parse one text frame; return None for anything that is not a known message."""
    try:
        data = json.loads(text)
    except ValueError:
        LOGGER.debug("Ignoring a frame that is not JSON (%d characters)", len(text))
        return None
    message_type = data.get("type") if isinstance(data, dict) else None
    parser = _PARSERS.get(message_type) if isinstance(message_type, str) else None
    if parser is None:
        LOGGER.debug("Ignoring a message of unknown type %.40r", message_type)
        return None
    return parser(data)
