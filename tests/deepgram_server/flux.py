"""Flux, Deepgram's turn-taking model on `/v2/listen`: its query, Configure and turns.

Like `transcriber`, this module does no I/O: the server's Flux session feeds
`TurnTracker` the `AudioMeter`'s 10 ms frames and sends each `TurnEvent` it
returns as a TurnInfo message. The whole timing model is here, deterministic:

* Speech and silence come from the same energy detector as on `/v1/listen`.
  A turn takes the next item of the server's script when its speech begins
  (without a script the audio is described, as on v1). An empty item gives
  speech without words, which is no turn: Flux ignores noise.
* Words are revealed at `WORD_SECONDS` of speech each, never all of them before
  the turn ends. `StartOfTurn` comes with the first revealed word.
* `end_of_turn_confidence` is 0 while speaking and
  `min(1, silence / CERTAIN_SILENCE)` once speech stops (0 without a turn).
  `EndOfTurn` (trigger "model") comes when it reaches `eot_threshold`, so the
  default 0.7 ends a turn after 350 ms of silence; 1.0 turns the model's
  decision off, as Deepgram's newest docs say, which leaves trigger "timeout"
  after `eot_timeout_ms` of silence. Its transcript is the turn's whole item.
* Flux's model reads the words, not only the silence: where the script marks a
  pause in mid-sentence (`|`, see `transcriber`), the confidence stays at
  `MID_SENTENCE_CONFIDENCE`, below every `eot_threshold`, until the speech
  after that pause comes; only `eot_timeout_ms` ends a turn there, and then
  with the words before the pause (the rest is the next turn's).
* With `eager_eot_threshold`, `EagerEndOfTurn` (with the whole item) comes when
  the confidence reaches it, and before every model or timeout EndOfTurn;
  `TurnResumed` follows if speech returns before the EndOfTurn.
* `Update` every `UPDATE_SECONDS` of audio, unless another event is sent on
  that frame (Deepgram: "unless the state changes").

All times are seconds of audio fed, never wall time, as on Deepgram.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from multidict import MultiMapping

from custom_components.deepgram.protocol.models import multilingual_languages

from .transcriber import PAUSE_SECONDS, Word, layout_words, script_words

MULTILINGUAL_MODEL: Final = "flux-general-multi"
MODELS: Final = ("flux-general-en", MULTILINGUAL_MODEL)
ENCODINGS: Final = ("linear16", "linear32", "mulaw", "alaw", "opus", "ogg-opus")
# Ogg pages carry their own rate; raw audio needs `sample_rate`.
_CONTAINER_ENCODINGS: Final = ("ogg-opus",)
SAMPLE_RATES: Final = (8000, 16000, 24000, 44100, 48000)
# The languages of flux-general-multi, as the integration's model table lists them.
LANGUAGE_HINTS: Final = multilingual_languages(MULTILINGUAL_MODEL)
# Nova's knobs: Flux's turn detection replaces them, and v2 has none of them.
V1_ONLY_PARAMS: Final = (
    *("language", "interim_results", "endpointing", "utterance_end_ms"),
    *("vad_events", "punctuate", "smart_format"),
)
MAX_KEYTERMS: Final = 100
CONTROL_TYPES: Final = ("CloseStream", "Configure", "ForceEndTurn")

UPDATE_SECONDS: Final = 0.25
"""Audio between two Updates (Deepgram: "roughly every 0.25 s")."""
WORD_SECONDS: Final = 0.3
"""Speech that reveals one more word of the turn, as on v1."""
CERTAIN_SILENCE: Final = 0.5
MID_SENTENCE_CONFIDENCE: Final = 0.2
"""The confidence in a pause the script marks as mid-sentence: below every threshold."""
"""Silence after which the end-of-turn confidence is 1."""
WORD_CONFIDENCE: Final = 0.99

_EOT_RANGE: Final = (0.5, 1.0)
_EAGER_RANGE: Final = (0.3, 0.9)
_TIMEOUT_RANGE: Final = (500, 60_000)
# Float tolerance when comparing accumulated audio times.
_EPSILON: Final = 1e-9

type EventName = Literal["Update", "StartOfTurn", "EagerEndOfTurn", "TurnResumed", "EndOfTurn"]
type Trigger = Literal["model", "timeout", "manual"]


class FluxParameterError(ValueError):
    """A value Flux refuses, in the query or a Configure: Deepgram's `code` and `description`."""

    def __init__(self, description: str, code: str = "INVALID_PARAMETER") -> None:
        """Keep the code and description the refusal carries."""
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a turn ends: Flux's three end-of-turn settings."""

    eot_threshold: float = 0.7
    eager_eot_threshold: float | None = None
    """None: eager mode off (no EagerEndOfTurn, no TurnResumed)."""
    eot_timeout_ms: int = 5000

    def check(self, code: str = "INVALID_PARAMETER") -> None:
        """Raise FluxParameterError unless every value is in Deepgram's range."""
        low, high = _EOT_RANGE
        if not low <= self.eot_threshold <= high:  # also refuses NaN
            msg = f"eot_threshold must be between {low} and {high}"
            raise FluxParameterError(msg, code)
        eager = self.eager_eot_threshold
        low, high = _EAGER_RANGE
        if eager is not None and not low <= eager <= high:
            msg = f"eager_eot_threshold must be between {low} and {high}"
            raise FluxParameterError(msg, code)
        if eager is not None and eager > self.eot_threshold:
            msg = "eager_eot_threshold must be less than or equal to eot_threshold"
            raise FluxParameterError(msg, code)
        low_ms, high_ms = _TIMEOUT_RANGE
        if not low_ms <= self.eot_timeout_ms <= high_ms:
            msg = f"eot_timeout_ms must be an integer between {low_ms} and {high_ms}"
            raise FluxParameterError(msg, code)

    def as_dict(self) -> dict[str, float]:
        """Return the thresholds as ConfigureSuccess echoes them (eager only when set)."""
        values: dict[str, float] = {
            "eot_threshold": self.eot_threshold,
            "eot_timeout_ms": self.eot_timeout_ms,
        }
        if self.eager_eot_threshold is not None:
            values["eager_eot_threshold"] = self.eager_eot_threshold
        return values


@dataclass(frozen=True, slots=True)
class FluxParams:
    """A `/v2/listen` stream's settings: the query, as later Configure messages change it."""

    model: str
    encoding: str | None = None
    sample_rate: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    keyterms: tuple[str, ...] = ()
    language_hints: tuple[str, ...] = ()
    """Base codes ("pt" for "pt-BR"), in the order given, without repeats."""

    @property
    def multilingual(self) -> bool:
        """Whether the model is flux-general-multi (languages and hints)."""
        return self.model == MULTILINGUAL_MODEL

    def settings(self) -> dict[str, Any]:
        """Return the state ConfigureSuccess echoes."""
        settings: dict[str, Any] = {
            "thresholds": self.thresholds.as_dict(),
            "keyterms": list(self.keyterms),
        }
        if self.multilingual:
            settings["language_hints"] = list(self.language_hints)
        return settings

    def configure(self, message: Mapping[str, Any]) -> FluxParams:
        """Apply a Configure message, or raise FluxParameterError and change nothing.

        As Deepgram documents it: a threshold left out (or null) keeps its value,
        `keyterms` replaces the whole list (`[]` clears it), and `language_hints`
        replaces the hints (`[]` clears them, null or absent leaves them).
        """
        fields = ("thresholds", "keyterms", "language_hints")
        if unknown := sorted(set(message) - {"type", *fields}):
            expected = ", ".join(f"`{name}`" for name in fields)
            msg = f"unknown field `{unknown[0]}`, expected one of {expected}"
            raise FluxParameterError(msg)
        thresholds = self.thresholds
        if (raw_thresholds := message.get("thresholds")) is not None:
            thresholds = _configured_thresholds(thresholds, raw_thresholds)
        keyterms = self.keyterms
        if (raw_keyterms := message.get("keyterms")) is not None:
            keyterms = _strings(raw_keyterms, "keyterms")
            _check_keyterms(keyterms)
        hints = self.language_hints
        if (raw_hints := message.get("language_hints")) is not None:
            values = _strings(raw_hints, "language_hints")
            if values and not self.multilingual:
                msg = f"language_hint is not supported for model {self.model}"
                raise FluxParameterError(msg)
            hints = _language_hints(values)
        return replace(self, thresholds=thresholds, keyterms=keyterms, language_hints=hints)


def parse_flux_query(query: MultiMapping[str]) -> FluxParams:
    """Validate a `/v2/listen` query; raise FluxParameterError as Deepgram refuses it.

    Parameters Flux does not know and does not refuse (`tag`, `mip_opt_out`,
    `numerals`, ...) are accepted and ignored, as on v1.
    """
    model = query.get("model")
    if model is None:
        msg = f"model is required; use one of {', '.join(MODELS)}"
        raise FluxParameterError(msg)
    if model not in MODELS:
        msg = f"model {model} is not supported on /v2/listen; use one of {', '.join(MODELS)}"
        raise FluxParameterError(msg)
    for name in V1_ONLY_PARAMS:
        if name in query:
            msg = f"{name} is not supported for model {model}"
            raise FluxParameterError(msg)
    encoding = query.get("encoding")
    if encoding is not None and encoding not in ENCODINGS:
        msg = f"encoding {encoding} is not supported; use one of {', '.join(ENCODINGS)}"
        raise FluxParameterError(msg)
    sample_rate = _query_integer(query, "sample_rate")
    if sample_rate is not None and sample_rate not in SAMPLE_RATES:
        msg = f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}"
        raise FluxParameterError(msg)
    if encoding not in {None, *_CONTAINER_ENCODINGS} and sample_rate is None:
        msg = f"sample_rate is required with encoding {encoding}"
        raise FluxParameterError(msg)
    defaults = Thresholds()
    eot = _query_number(query, "eot_threshold")
    timeout = _query_integer(query, "eot_timeout_ms")
    thresholds = Thresholds(
        eot_threshold=defaults.eot_threshold if eot is None else eot,
        eager_eot_threshold=_query_number(query, "eager_eot_threshold"),
        eot_timeout_ms=defaults.eot_timeout_ms if timeout is None else timeout,
    )
    thresholds.check()
    keyterms = tuple(query.getall("keyterm", []))
    _check_keyterms(keyterms)
    hints = query.getall("language_hint", [])
    if hints and model != MULTILINGUAL_MODEL:
        msg = f"language_hint is not supported for model {model}"
        raise FluxParameterError(msg)
    return FluxParams(
        model=model,
        encoding=encoding,
        sample_rate=sample_rate,
        thresholds=thresholds,
        keyterms=keyterms,
        language_hints=_language_hints(hints),
    )


def _query_number(query: MultiMapping[str], name: str) -> float | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        msg = f"{name} must be a number, got {value}"
        raise FluxParameterError(msg) from None


def _query_integer(query: MultiMapping[str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not value.isdigit():
        msg = f"{name} must be an integer, got {value}"
        raise FluxParameterError(msg)
    return int(value)


def _check_keyterms(keyterms: tuple[str, ...]) -> None:
    if len(keyterms) > MAX_KEYTERMS:
        msg = f"at most {MAX_KEYTERMS} keyterms are supported, got {len(keyterms)}"
        raise FluxParameterError(msg)


def _language_hints(values: Iterable[str]) -> tuple[str, ...]:
    """Reduce hints to their base codes ("pt-BR" -> "pt"); refuse unknown languages."""
    codes: list[str] = []
    for value in values:
        base = value.partition("-")[0].lower()
        if base not in LANGUAGE_HINTS:
            msg = f"language_hint {value} is not supported; use one of {', '.join(LANGUAGE_HINTS)}"
            raise FluxParameterError(msg)
        if base not in codes:
            codes.append(base)
    return tuple(codes)


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"`{name}` must be a list of strings"
        raise FluxParameterError(msg)
    return tuple(value)


def _configured_thresholds(current: Thresholds, raw: Any) -> Thresholds:
    """Merge a Configure's `thresholds` object into the current thresholds."""
    code = "INVALID_THRESHOLD"
    names = ("eot_threshold", "eager_eot_threshold", "eot_timeout_ms")
    if not isinstance(raw, dict):
        msg = "`thresholds` must be an object"
        raise FluxParameterError(msg, code)
    if unknown := sorted(set(raw) - set(names)):
        msg = f"unknown threshold `{unknown[0]}`, expected one of {', '.join(names)}"
        raise FluxParameterError(msg, code)
    changes: dict[str, Any] = {}
    for name in names:
        value = raw.get(name)
        if value is None:
            continue
        # bool is an int to Python, but not a number to Deepgram.
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"{name} must be a number"
            raise FluxParameterError(msg, code)
        if name == "eot_timeout_ms":
            if value != int(value):
                msg = "eot_timeout_ms must be an integer"
                raise FluxParameterError(msg, code)
            value = int(value)
        changes[name] = value
    thresholds = replace(current, **changes)
    thresholds.check(code)
    return thresholds


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """One TurnInfo: an event of turn `turn_index`, over [window_start, window_end] of audio."""

    event: EventName
    turn_index: int
    window_start: float
    window_end: float
    words: tuple[Word, ...]
    end_of_turn_confidence: float
    trigger: Trigger | None = None

    @property
    def transcript(self) -> str:
        """The words joined, as the script spelled them."""
        return " ".join(word.text for word in self.words)


def turn_info_fields(event: TurnEvent, params: FluxParams) -> dict[str, Any]:
    """Return a TurnInfo message's fields after `type`, `request_id` and `sequence_id`."""
    fields: dict[str, Any] = {
        "event": event.event,
        "turn_index": event.turn_index,
        "audio_window_start": _time(event.window_start),
        "audio_window_end": _time(event.window_end),
        "transcript": event.transcript,
        # Flux's words are punctuated and cased already: the script's tokens as written.
        "words": [
            {
                "word": word.text,
                "confidence": WORD_CONFIDENCE,
                "start": _time(word.start),
                "end": _time(word.end),
            }
            for word in event.words
        ],
        "end_of_turn_confidence": round(event.end_of_turn_confidence, 3),
    }
    if params.multilingual:
        hints = params.language_hints
        if hints:
            fields["languages_hinted"] = list(hints)
        if event.words:  # Only what was detected in words: none without speech.
            fields["languages"] = [hints[0] if hints else "en"]
    if event.trigger is not None:
        fields["trigger"] = event.trigger
    return fields


def _time(value: float) -> float:
    return round(value, 6)


@dataclass(slots=True)
class _Turn:
    """Speech from its onset until an EndOfTurn ends it."""

    onset: float
    last_speech_end: float
    tokens: list[str] | None  # None: describe the audio instead of a script
    # Indices into `tokens` of the words a pause precedes, and how many were made.
    pauses: tuple[int, ...] = ()
    pauses_made: int = 0
    started: bool = False  # StartOfTurn was sent
    eager: bool = False  # EagerEndOfTurn was sent and speech has not resumed since
    complete: bool = False  # Every word is revealed (by EagerEndOfTurn or CloseStream)


class TurnTracker:
    """Turn speech frames into Flux's TurnInfo events (see the module docstring).

    `next_script` is called at each turn's onset; it returns the turn's text, or
    None to describe the audio instead via `describe(seconds)`. `thresholds`
    may be replaced between frames (Configure).
    """

    def __init__(
        self,
        thresholds: Thresholds,
        *,
        next_script: Callable[[], str | None],
        describe: Callable[[float], str],
    ) -> None:
        """Start at audio time zero, in silence, before turn 0."""
        self.thresholds = thresholds
        self.next_script = next_script
        self.describe = describe
        self.time = 0.0
        self.turn_index = 0
        self._window_start = 0.0
        self._reported = 0.0
        self._next_update = UPDATE_SECONDS
        self._turn: _Turn | None = None
        self._carried: tuple[list[str], tuple[int, ...]] | None = None

    @property
    def active(self) -> bool:
        """Whether a turn with words is under way (one that ForceEndTurn can end)."""
        return self._turn is not None and bool(self._all_words(self._turn))

    def advance(self, end: float, *, speech: bool) -> list[TurnEvent]:
        """Take the frame that ends at audio time `end`; return the events it causes."""
        start, self.time = self.time, end
        events: list[TurnEvent] = []
        turn = self._turn
        if speech:
            if turn is None:
                turn = self._turn = self._next_turn(start, end)
            elif start - turn.last_speech_end + _EPSILON >= PAUSE_SECONDS:
                turn.pauses_made += 1
            turn.last_speech_end = end
            if turn.eager:
                turn.eager = False
                events.append(self._event("TurnResumed", turn))
            elif not turn.started and self._revealed(turn):
                turn.started = True
                events.append(self._event("StartOfTurn", turn))
        elif turn is not None:
            events += self._after_speech(turn)
        if end + _EPSILON >= self._next_update:
            while self._next_update <= end + _EPSILON:
                self._next_update += UPDATE_SECONDS
            if not events:
                events.append(self._event("Update", self._turn))
        return events

    def _next_turn(self, start: float, end: float) -> _Turn:
        """Start a turn with the words carried over a pause, else the next script."""
        if self._carried is not None:
            (tokens, pauses), self._carried = self._carried, None
            return _Turn(start, end, tokens, pauses)
        script = self.next_script()
        if script is None:
            return _Turn(start, end, None)
        tokens, pauses = script_words(script)
        return _Turn(start, end, tokens, pauses)

    @staticmethod
    def _mid_sentence(turn: _Turn) -> bool:
        """Whether the speaker is in a pause the script marks as mid-sentence."""
        return turn.tokens is not None and turn.pauses_made < len(turn.pauses)

    def force_end(self) -> list[TurnEvent]:
        """Answer ForceEndTurn: EndOfTurn (trigger "manual"), or nothing without a turn."""
        turn = self._turn
        if turn is None or not self._all_words(turn):
            return []
        return self._end(turn, "manual")

    def close(self) -> list[TurnEvent]:
        """Answer CloseStream: no EndOfTurn, but a last Update with every word of the turn.

        Deepgram tells clients to take the latest Update as the final transcript,
        so this one carries the whole item. It is sent when a turn is under way
        or audio came after the last event.
        """
        turn = self._turn
        events: list[TurnEvent] = []
        words = turn is not None and bool(self._all_words(turn))
        if turn is not None and words:
            turn.complete = True
            events += self._start(turn)
        if words or self.time > self._reported + _EPSILON:
            events.append(self._event("Update", turn))
        return events

    def _after_speech(self, turn: _Turn) -> list[TurnEvent]:
        thresholds = self.thresholds
        silence = self.time - turn.last_speech_end
        confidence = self._confidence(turn)
        timed_out = silence + _EPSILON >= thresholds.eot_timeout_ms / 1000
        # eot_threshold 1.0 leaves the end of the turn to eot_timeout_ms alone.
        sure = thresholds.eot_threshold < 1.0 and confidence + _EPSILON >= thresholds.eot_threshold
        if not self._all_words(turn):
            if timed_out or sure:
                self._turn = None  # Noise without words ended: there was no turn.
            return []
        if timed_out or sure:
            return self._end(turn, "model" if sure else "timeout")
        eager = thresholds.eager_eot_threshold
        if eager is not None and not turn.eager and confidence + _EPSILON >= eager:
            return self._eager(turn)
        return []

    def _start(self, turn: _Turn) -> list[TurnEvent]:
        """StartOfTurn, if the turn has not had one (it is over before a word was revealed)."""
        if turn.started:
            return []
        turn.started = True
        return [self._event("StartOfTurn", turn)]

    def _eager(self, turn: _Turn) -> list[TurnEvent]:
        turn.complete = True
        events = self._start(turn)
        turn.eager = True
        events.append(self._event("EagerEndOfTurn", turn))
        return events

    def _end(self, turn: _Turn, trigger: Trigger) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        # In eager mode the model says "maybe" before "done"; a manual end skips that.
        eager_mode = self.thresholds.eager_eot_threshold is not None
        if trigger != "manual" and eager_mode and not turn.eager:
            events += self._eager(turn)
        if trigger != "manual" and self._mid_sentence(turn):
            # Ended in a pause: the words after it are the next turn's.
            assert turn.tokens is not None
            cut = turn.pauses[turn.pauses_made]
            rest = tuple(index - cut for index in turn.pauses[turn.pauses_made + 1 :])
            self._carried = (turn.tokens[cut:], rest)
            turn.tokens = turn.tokens[:cut]
        turn.complete = True
        events += self._start(turn)
        events.append(self._event("EndOfTurn", turn, trigger))
        self.turn_index += 1
        self._window_start = self.time
        self._turn = None
        return events

    def _event(
        self, name: EventName, turn: _Turn | None, trigger: Trigger | None = None
    ) -> TurnEvent:
        self._reported = self.time
        return TurnEvent(
            event=name,
            turn_index=self.turn_index,
            window_start=self._window_start,
            window_end=self.time,
            words=() if turn is None else self._revealed(turn),
            end_of_turn_confidence=self._confidence(turn),
            trigger=trigger,
        )

    def _confidence(self, turn: _Turn | None) -> float:
        if turn is None:
            return 0.0
        silence = max(self.time - turn.last_speech_end, 0.0)
        confidence = min(1.0, silence / CERTAIN_SILENCE)
        if self._mid_sentence(turn):
            return min(confidence, MID_SENTENCE_CONFIDENCE)
        return confidence

    def _all_words(self, turn: _Turn) -> tuple[Word, ...]:
        """Every word of the turn, spread over its speech."""
        end = max(turn.last_speech_end, turn.onset)
        tokens = self.describe(end - turn.onset).split() if turn.tokens is None else turn.tokens
        return layout_words(tokens, turn.onset, end)

    def _revealed(self, turn: _Turn) -> tuple[Word, ...]:
        """The words the speech so far has revealed: one per WORD_SECONDS, never the last."""
        words = self._all_words(turn)
        if turn.complete:
            return words
        spoken = turn.last_speech_end - turn.onset
        count = min(int(spoken / WORD_SECONDS + _EPSILON), len(words) - 1)
        return words[: max(count, 0)]
