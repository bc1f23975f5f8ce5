"""When a spoken command has ended: the unfinished-phrase test and the pause bound, on their own."""

from __future__ import annotations

import pytest

from custom_components.deepgram.protocol import (
    Results,
    SpeechStarted,
    TranscriptBuilder,
    UtteranceEnd,
    Word,
)
from custom_components.deepgram.protocol.command_end import (
    MAX_PAUSE_SECONDS,
    CommandEnd,
    is_unfinished,
)

RATE = 16000
BYTES_PER_SECOND = RATE * 2
CHUNK_SECONDS = 0.02
SILENCE = bytes(int(BYTES_PER_SECOND * CHUNK_SECONDS))
LOUD = b"\x00\x10" * (len(SILENCE) // 2)  # RMS 4096


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("turn on the", "en"),
        ("Turn on the.", "en-US"),
        ("turn on", "en"),
        ("open", "en"),
        ("set the thermostat to", "en"),
        ("turn on the light in the", "en"),
        ("turn off the kitchen light and", "en"),
        ("what is", "en"),
        ("schalte", "de"),
        ("schalte das", "de"),
        ("mach das Licht im Wohnzimmer", "de-AT"),
        ("stelle die Heizung auf", "de"),
        ("öffne die", "de"),
        ("allume la", "fr"),
        ("allume l'", "fr"),
        ("ouvre le volet de", "fr"),
        ("enciende la", "es"),
        ("apaga la luz de la", "es"),
        ("zet de lamp", "nl"),
        ("zet de thermostaat op", "nl"),
        ("doe het licht in de", "nl"),
    ],
)
def test_unfinished_phrases(text: str, language: str) -> None:
    """A trailing article, preposition or conjunction, a lone verb, a verb without its particle."""
    assert is_unfinished(text, language)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("turn on the kitchen light", "en"),
        ("turn the kitchen light on", "en"),
        ("set the thermostat to twenty one degrees", "en"),
        ("what time is it", "en"),
        ("stop", "en"),
        ("Schalte das Licht in der Küche ein.", "de"),
        ("mach die Tür auf", "de"),
        ("stelle die Heizung auf 21 Grad", "de"),
        ("öffne die Garage", "de"),
        ("allume la lumière", "fr"),
        ("enciende la luz", "es"),
        ("zet de lamp aan", "nl"),
        ("doe de deur open", "nl"),
        ("zet de thermostaat op 20 graden", "nl"),
        # Unknown languages: Deepgram's end of speech alone decides.
        ("turn on the", "ja"),
        ("", "en"),
    ],
)
def test_finished_phrases(text: str, language: str) -> None:
    """Whole commands, and languages without rules, end at Deepgram's end of speech."""
    assert not is_unfinished(text, language)


def results(  # noqa: PLR0913 - one Results message, keyword by keyword
    words: tuple[str, ...],
    start: float,
    end: float,
    *,
    is_final: bool = True,
    speech_final: bool = False,
    heard_until: float | None = None,
) -> Results:
    """A Results message whose words are spread over [start, end]."""
    step = (end - start) / max(len(words), 1)
    timed = tuple(
        Word(word, start + index * step, start + (index + 1) * step, 0.99)
        for index, word in enumerate(words)
    )
    until = heard_until if heard_until is not None else end
    return Results(
        transcript=" ".join(words),
        confidence=0.99,
        is_final=is_final,
        speech_final=speech_final,
        from_finalize=False,
        start=0.0,
        duration=until,
        words=timed,
        channel_index=(0, 1),
        request_id=None,
    )


class Stream:
    """A command end fed messages and 20 ms chunks, in audio time."""

    def __init__(self, language: str = "en") -> None:
        """Start a stream in `language`, with 16 kHz mono PCM."""
        self.transcript = TranscriptBuilder()
        self.end = CommandEnd(language, bytes_per_second=BYTES_PER_SECOND)

    def message(self, message: Results | UtteranceEnd | SpeechStarted) -> bool:
        """Hand a message to the transcript, then to the command end."""
        self.transcript.add(message)
        return self.end.add(message, self.transcript)

    def audio(self, seconds: float, chunk: bytes = SILENCE) -> bool:
        """Feed `seconds` of the same chunk; return whether the command ended."""
        return any(self.end.add_audio(chunk) for _ in range(round(seconds / CHUNK_SECONDS)))


def test_a_finished_command_ends_at_speech_final() -> None:
    """Deepgram's end of speech ends a whole command at once."""
    stream = Stream()
    stream.audio(1.6, LOUD)
    assert not stream.audio(0.3)
    assert stream.message(results(("turn", "on", "the", "light"), 0.3, 1.6, speech_final=True))


def test_an_unfinished_command_waits_out_the_pause_bound_in_audio_time() -> None:
    """After 'turn on the', the command ends once the pause reaches the bound, not before."""
    stream = Stream()
    stream.audio(1.2, LOUD)
    stream.audio(0.3)
    assert not stream.message(results(("turn", "on", "the"), 0.3, 1.2, speech_final=True))
    assert stream.end.holding
    # A pause of the bound itself is kept; the first chunk beyond it ends the command.
    assert not stream.audio(MAX_PAUSE_SECONDS - 0.3)
    assert stream.audio(CHUNK_SECONDS)
    assert stream.end.pause == pytest.approx(MAX_PAUSE_SECONDS + CHUNK_SECONDS)


def test_speech_after_a_short_pause_hands_the_end_back_to_deepgram() -> None:
    """Speech resuming inside the bound waits for Deepgram's next end of speech."""
    stream = Stream()
    stream.audio(1.2, LOUD)
    stream.audio(0.3)
    stream.message(results(("turn", "on", "the"), 0.3, 1.2, speech_final=True))
    stream.audio(0.3)
    assert not stream.audio(1.0, LOUD)  # 'kitchen light', no words reported yet
    assert not stream.end.holding
    assert not stream.audio(0.3)
    assert stream.message(results(("kitchen", "light"), 1.8, 2.8, speech_final=True))
    assert stream.transcript.text == "turn on the kitchen light"


def test_speech_after_the_bound_does_not_reopen_the_command() -> None:
    """A speaker who goes on after the bound had passed is too late, however late Deepgram is."""
    stream = Stream()
    stream.audio(1.2, LOUD)
    stream.audio(1.0)
    stream.audio(0.2, LOUD)
    # speech_final of 'turn on the' arrives only now, after the speech resumed.
    assert stream.message(
        results(("turn", "on", "the"), 0.3, 1.2, speech_final=True, heard_until=1.5)
    )


def test_utterance_end_ends_a_waiting_command() -> None:
    """Deepgram's word gap ends an unfinished command too, unless newer words are pending."""
    stream = Stream()
    stream.message(results(("turn", "on", "the"), 0.3, 1.2, speech_final=True))
    assert stream.end.holding
    stream.message(results(("kitchen",), 1.7, 2.0, is_final=False))
    assert not stream.message(UtteranceEnd(1.2, (0, 1)))
    stream.message(results(("kitchen",), 1.7, 2.0, speech_final=True))
    # 'turn on the kitchen' still reads finished enough to end (a noun).
    assert stream.end.ended


def test_speech_started_after_the_last_word_resumes() -> None:
    """SpeechStarted after the last word (Opus: no audio time) means the pause is over."""
    stream = CommandEnd("en", bytes_per_second=None)
    transcript = TranscriptBuilder()
    final = results(("turn", "on", "the"), 0.3, 1.2, speech_final=True, heard_until=1.5)
    transcript.add(final)
    assert not stream.add(final, transcript)
    assert stream.holding
    assert stream.pause_left == pytest.approx(MAX_PAUSE_SECONDS - 0.3)
    assert not stream.add(SpeechStarted(1.7, (0,)), transcript)
    assert not stream.holding
    # Without audio time only the owner's wall clock ends a pause.
    assert not stream.add_audio(SILENCE)


def test_the_wall_clock_ends_only_a_waiting_command() -> None:
    """The owner's backstop ends a pause, never a command that is still being spoken."""
    stream = Stream()
    assert not stream.end.end_pause(stream.end.pauses)
    stream.message(results(("open",), 0.3, 0.6, speech_final=True))
    first = stream.end.pauses
    stream.audio(0.3)
    stream.audio(0.5, LOUD)  # 'the', not yet reported
    stream.message(results(("the",), 1.2, 1.5, speech_final=True))
    assert stream.end.holding
    # The first pause's bound no longer applies; the second one's does.
    assert not stream.end.end_pause(first)
    assert stream.end.end_pause(stream.end.pauses)


def test_a_late_speech_final_after_a_long_silence_ends_at_once() -> None:
    """Deepgram's end of speech that comes after the bound has passed ends an unfinished command."""
    stream = Stream()
    assert stream.end.pause == 0.0  # no word yet
    stream.audio(1.2, LOUD)
    stream.audio(1.0)
    assert stream.message(
        results(("turn", "on", "the"), 0.3, 1.2, speech_final=True, heard_until=1.5)
    )
    # Once ended, it stays ended whatever follows.
    assert stream.message(results(("kitchen",), 2.3, 2.6, is_final=False))
    assert stream.end.add_audio(LOUD)


def test_utterance_end_after_the_finals_ends_the_command() -> None:
    """Without speech_final (long endpointing), UtteranceEnd after the finals ends the command."""
    stream = Stream()
    assert not stream.message(results(("turn", "on", "the", "light"), 0.3, 1.6))
    assert stream.message(UtteranceEnd(1.6, (0, 1)))
