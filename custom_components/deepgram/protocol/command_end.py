"""When a spoken command has ended: at Deepgram's end of speech, unless it is unfinished.

Deepgram's `speech_final` is silence only: a speaker who pauses after "turn on
the" gets it 300 ms into the pause. Here it is a candidate end: a command that
reads as finished ends at once; one that does not ("turn on the", "schalte das
Licht", "set the thermostat to") waits for more speech, Deepgram's
`UtteranceEnd`, or more than `MAX_PAUSE_SECONDS` of silence after its last
word, whichever comes first. Silence is counted in audio time (the audio read so far
against the last word's end), so it is right when audio comes in bursts.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import math
import sys

from .client import TranscriptBuilder
from .messages import Results, ServerMessage, SpeechStarted, UtteranceEnd

# Home Assistant's own voice detection ends a command after 0.7 s of silence by
# default; an unfinished command waits no longer than that.
MAX_PAUSE_SECONDS = 0.7
# Word times are rounded floats; compare them with this tolerance.
_TIME_TOLERANCE = 1e-3
# Speech resumed in a pause: a 16-bit chunk this much louder than the pause's
# quietest one, and at least this loud (RMS on the int16 scale).
_SPEECH_OVER_PAUSE = 6.0
_SPEECH_MIN_RMS = 200.0
# A word's sound fades past the end Deepgram gives it.
_WORD_TAIL_SECONDS = 0.1
# Chunk levels kept since the last word: the newest, 20 s of 20 ms chunks.
_MAX_LEVELS = 1_000
_EDGE_PUNCTUATION = '.,!?;:…¡¿"“”«»()'


@dataclass(frozen=True, slots=True)
class _Grammar:
    """What makes a command unfinished in one language."""

    # A command never ends on these: articles, possessives, prepositions, conjunctions.
    trailing: frozenset[str]
    # Words that alone (with `particles`) are only the start of a command.
    openers: frozenset[str]
    # Separable verbs that are unfinished until one of `particles` (or a number) follows.
    separable: frozenset[str] = frozenset()
    particles: frozenset[str] = frozenset()
    # Separable verbs whose particle, at the end, still wants a value ("zet … op").
    wants_value: frozenset[str] = frozenset()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Home Assistant's intents list the articles and prepositions of each language
# (home-assistant-intents' expansion rules); conjunctions and "to"/"zu" added.
_GRAMMARS: dict[str, _Grammar] = {
    "en": _Grammar(
        trailing=_words(
            "the a an my our your his her their "
            "in at of across around throughout to for from into with by until "
            "and or but than"
        ),
        openers=_words(
            "turn switch set open close lock unlock start activate deactivate put make "
            "change dim brighten raise lower increase decrease play show tell "
            "what what's how is are on off up down please"
        ),
    ),
    "de": _Grammar(
        trailing=_words(
            "der die das dem den des ein eine einen einem einer "
            "mein meine meinen meinem unser unsere unseren "
            "in im ins an am bei beim auf von vom zu zum zur für mit nach "
            "und oder aber"
        ),
        openers=_words(
            "schalte schalt mach mache dreh drehe stelle stell setze setz öffne "
            "schließe schließ starte spiele spiel sperre entsperre wie was ist bitte"
        ),
        separable=_words("schalte schalt mach mache dreh drehe"),
        particles=_words(
            "an aus ein ab auf zu hoch runter herunter rauf hinauf lauter leiser "
            "heller dunkler wärmer kälter"
        ),
    ),
    "fr": _Grammar(
        trailing=_words(
            "le la les l' un une des du de d' à au aux sur dans en pour avec par chez "
            "mon ma mes notre nos ton ta tes et ou"
        ),
        openers=_words(
            "allume éteins éteint ouvre ferme mets règle baisse monte augmente diminue "
            "active désactive lance démarre verrouille déverrouille quelle quel est "
            "s'il te plaît"
        ),
    ),
    "es": _Grammar(
        trailing=_words(
            "el la los las un una unos unas en de del a al para con por hasta "
            "mi mis tu tus su sus nuestro nuestra y o e u"
        ),
        openers=_words(
            "enciende prende apaga abre cierra pon sube baja activa desactiva "
            "configura ajusta cuál qué cual que es por favor"
        ),
    ),
    "nl": _Grammar(
        trailing=_words(
            "de het een in op van bij naar met voor tot mijn onze ons je jouw en of maar"
        ),
        openers=_words("zet doe draai schakel open sluit wat hoe is alsjeblieft"),
        separable=_words("zet doe draai schakel"),
        particles=_words("aan uit op open dicht af hoger lager harder zachter"),
        wants_value=_words("zet draai"),
    ),
}


def _tokens(text: str) -> list[str]:
    """Lower-case words without the punctuation Deepgram adds around them."""
    tokens = []
    for raw in text.lower().replace("’", "'").split():  # noqa: RUF001 - typographic apostrophe
        token = raw.strip(_EDGE_PUNCTUATION)
        if token:
            tokens.append(token)
    return tokens


def _has_number(tokens: list[str]) -> bool:
    return any(any(char.isdigit() for char in token) for token in tokens)


def is_unfinished(text: str, language: str) -> bool:
    """Whether `text` reads as the start of a command rather than a whole one.

    Knows English, German, French, Spanish and Dutch (by the primary subtag of
    `language`); in any other language every text reads as finished.
    """
    grammar = _GRAMMARS.get(language.split("-", maxsplit=1)[0].lower())
    tokens = _tokens(text)
    if grammar is None or not tokens:
        return False
    last, first = tokens[-1], tokens[0]
    if last.endswith("'"):  # French elision: "l'", "d'"
        return True
    if last in grammar.trailing:
        # "mach die Tür auf" ends on its particle; "zet de thermostaat op" wants a value.
        closes_verb = first in grammar.separable and last in grammar.particles
        if not closes_verb or first in grammar.wants_value:
            return True
    if first in grammar.separable:
        # A German or Dutch separable verb ends on its particle: "schalte das Licht ein".
        return not any(token in grammar.particles for token in tokens[1:]) and not _has_number(
            tokens
        )
    return all(token in grammar.openers for token in tokens)


def _rms(chunk: bytes) -> float:
    """Root mean square of 16-bit little-endian PCM, on the int16 scale."""
    samples = array("h", chunk[: len(chunk) // 2 * 2])
    if not samples:
        return 0.0
    if sys.byteorder == "big":
        samples.byteswap()
    return math.sqrt(math.sumprod(samples, samples) / len(samples))


class CommandEnd:
    """Decide, message by message and chunk by chunk, when a spoken command has ended.

    `bytes_per_second` is that of the audio as read (16-bit PCM); None for audio
    whose time cannot be told from its size (Opus), where only Deepgram's
    messages and the owner's wall-clock bound decide.
    """

    __slots__ = (
        "_audio_bytes",
        "_bytes_per_second",
        "_heard_until",
        "_language",
        "_last_word_end",
        "_levels",
        "_max_pause",
        "_unfinished",
        "ended",
        "holding",
        "pauses",
    )

    def __init__(
        self,
        language: str,
        *,
        bytes_per_second: int | None,
        max_pause: float = MAX_PAUSE_SECONDS,
        unfinished: Callable[[str, str], bool] = is_unfinished,
    ) -> None:
        """Start before any audio; `unfinished` tells a started command from a whole one."""
        self._language = language
        self._bytes_per_second = bytes_per_second
        self._max_pause = max_pause
        self._unfinished = unfinished
        self._audio_bytes = 0
        # Audio time Deepgram has reported on, and where its last word ends.
        self._heard_until = 0.0
        self._last_word_end: float | None = None
        # (start, end, RMS) of each 16-bit chunk since the last word, in audio time.
        self._levels: deque[tuple[float, float, float]] = deque(maxlen=_MAX_LEVELS)
        self.ended = False
        # Deepgram heard the end of speech, but the command reads unfinished: waiting.
        self.holding = False
        # How many such pauses there were (which one the command is in while holding).
        self.pauses = 0

    @property
    def audio_seconds(self) -> float:
        """Audio time so far: what was read, or what Deepgram reported on if later."""
        read = self._audio_bytes / self._bytes_per_second if self._bytes_per_second else 0.0
        return max(read, self._heard_until)

    @property
    def pause(self) -> float:
        """Seconds of audio since the last word Deepgram reported (0 before any)."""
        if self._last_word_end is None:
            return 0.0
        return max(self.audio_seconds - self._last_word_end, 0.0)

    @property
    def pause_left(self) -> float:
        """Seconds of silence still allowed before an unfinished command ends."""
        return max(self._max_pause - self.pause, 0.0)

    def add(self, message: ServerMessage, transcript: TranscriptBuilder) -> bool:
        """Take a message `transcript` has already taken; return True once the command ended."""
        if self.ended:
            return True
        if isinstance(message, Results):
            self._add_results(message, transcript)
        elif isinstance(message, UtteranceEnd):
            # Deepgram's word gap of utterance_end_ms: final unless newer words are pending.
            newer = self._last_word_end is not None and (
                self._last_word_end > message.last_word_end + _TIME_TOLERANCE
            )
            if transcript.has_finals and not transcript.interim and not newer:
                self.ended = True
        elif (
            isinstance(message, SpeechStarted)
            and self.holding
            and (self._last_word_end is None or message.timestamp > self._last_word_end)
        ):
            self.holding = False
        return self.ended

    def add_audio(self, chunk: bytes) -> bool:
        """Count a chunk read from the microphone; return True once the command ended."""
        if self.ended or self._bytes_per_second is None:
            return self.ended
        self._audio_bytes += len(chunk)
        # Kept before any word too: Deepgram's first report may come after the speech resumed.
        end = self.audio_seconds
        self._levels.append((end - len(chunk) / self._bytes_per_second, end, _rms(chunk)))
        if self.holding:
            self._decide_pause()
        return self.ended

    def end_pause(self, pause: int) -> bool:
        """End the command if it is still in pause number `pause`: its wall-clock bound passed."""
        if self.holding and self.pauses == pause:
            self.ended = True
        return self.ended

    def _add_results(self, results: Results, transcript: TranscriptBuilder) -> None:
        self._heard_until = max(self._heard_until, results.start + results.duration)
        word_end = results.words[-1].end if results.words else None
        if word_end is not None and (
            self._last_word_end is None or word_end > self._last_word_end + _TIME_TOLERANCE
        ):
            self._last_word_end = word_end
            self._levels = deque(
                (entry for entry in self._levels if entry[1] > word_end), maxlen=_MAX_LEVELS
            )
            self.holding = False  # New words after the pause.
        if not (results.is_final and results.speech_final and transcript.has_finals):
            return
        if not self._unfinished(transcript.text, self._language):
            self.ended = True
            return
        self.holding = True
        self.pauses += 1
        self._decide_pause()

    def _decide_pause(self) -> None:
        """In a pause after an unfinished command: wait on, end it, or hear speech resume.

        Where speech resumed is read from the audio, so the outcome does not
        depend on how late Deepgram's messages arrive: a pause that reached the
        bound before the speaker went on ends the command, as Home Assistant's
        detection would; a shorter one hands the decision to Deepgram's next
        end of speech.
        """
        resumed = self._speech_resumed_at()
        if resumed is not None and self._last_word_end is not None:
            if resumed - self._last_word_end > self._max_pause + _TIME_TOLERANCE:
                self.ended = True
            else:
                self.holding = False
        elif self.pause > self._max_pause + _TIME_TOLERANCE:
            self.ended = True

    def _speech_resumed_at(self) -> float | None:
        """Where the audio since the last word has speech again, if it has, in audio time.

        Deepgram reports new words only with its next result, about a second
        later; the audio itself says at once that the pause is over: a chunk
        much louder than the quietest since the last word.
        """
        if self._last_word_end is None:
            return None
        after = self._last_word_end + _WORD_TAIL_SECONDS
        levels = [entry for entry in self._levels if entry[1] > after]
        if not levels:
            return None
        threshold = max(_SPEECH_OVER_PAUSE * min(level for _, _, level in levels), _SPEECH_MIN_RMS)
        return next((start for start, _, level in levels if level >= threshold), None)
