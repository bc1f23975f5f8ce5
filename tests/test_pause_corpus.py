"""The pause corpus and the local server's view of it: segments end on real silence in the audio."""

from __future__ import annotations

import pytest

from .deepgram_server.flux import Thresholds, TurnEvent, TurnTracker
from .deepgram_server.transcriber import (
    AudioMeter,
    Event,
    Segment,
    Transcriber,
    TranscriberConfig,
    UtteranceEnd,
    script_words,
)
from .speech import PAUSED_COMMANDS, PAUSES, chunked, last_speech_seconds, spoken_with_pauses

TURN_ON_THE = PAUSED_COMMANDS[1]  # "turn on the | kitchen light"


def hear(audio: bytes, transcriber: Transcriber | TurnTracker) -> list[Event | TurnEvent]:
    """Feed 16 kHz mono PCM in 20 ms frames, then a second of silence; return every event."""
    meter = AudioMeter(encoding="linear16", sample_rate=16000, channels=1)
    events: list[Event | TurnEvent] = []
    for chunk in chunked(audio + bytes(32000), 640):
        for end, speech in meter.feed(chunk):
            events += transcriber.advance(end, speech=speech)
    return events


def v1(script: str) -> Transcriber:
    """A transcriber as the entity's default request sets it up: endpointing 300 ms."""
    scripts = [script]
    config = TranscriberConfig(endpointing=0.3, interim_results=True, utterance_end=1.0)
    return Transcriber(
        config,
        next_script=lambda: scripts.pop(0) if scripts else None,
        describe=lambda seconds: f"{seconds:.1f} s",
    )


def finals(events: list[Event | TurnEvent]) -> list[tuple[str, bool]]:
    """Each final's transcript and whether it was speech_final."""
    return [
        (event.transcript, event.speech_final)
        for event in events
        if isinstance(event, Segment) and event.is_final
    ]


def test_scripts_mark_where_the_speaker_pauses() -> None:
    """`|` is a pause before the next word; stray marks are ignored."""
    assert script_words("turn on the | kitchen light") == (
        ["turn", "on", "the", "kitchen", "light"],
        (3,),
    )
    assert script_words("| set | | the light to | ") == (["set", "the", "light", "to"], (1,))


def test_the_corpus_has_every_pause_at_several_places() -> None:
    """At least 10 commands in English and German; pauses after verbs, articles, before numbers."""
    assert len(PAUSED_COMMANDS) >= 10
    assert {command.language for command in PAUSED_COMMANDS} == {"en", "de"}
    places = {command.where for command in PAUSED_COMMANDS}
    assert {"after a verb", "after an article", "before a number"} <= places
    assert PAUSES == (0.3, 0.5, 0.7, 1.0)


@pytest.mark.parametrize("pause", PAUSES)
def test_each_pause_is_the_silence_the_server_measures(pause: float) -> None:
    """The parts are trimmed to their speech, so the pause in the audio is exactly `pause`."""
    whole = spoken_with_pauses(TURN_ON_THE, None, trailing_silence=0.0)
    paused = spoken_with_pauses(TURN_ON_THE, pause, trailing_silence=0.0)
    assert last_speech_seconds(paused) == pytest.approx(len(paused) / 32000, abs=0.011)
    assert len(paused) > len(whole) + pause * 32000


def test_a_pause_ends_a_segment_with_the_words_before_it() -> None:
    """speech_final comes in the pause with 'turn on the'; the rest is the next segment's."""
    events = hear(spoken_with_pauses(TURN_ON_THE, 0.6), v1(TURN_ON_THE.script))
    assert finals(events) == [("turn on the", True), ("kitchen light", True)]
    first = next(event for event in events if isinstance(event, Segment) and event.speech_final)
    # It comes 300 ms of audio after the last word, with the words where they were spoken.
    assert first.end == pytest.approx(first.words[-1].end + 0.3, abs=0.011)


def test_a_pause_shorter_than_endpointing_keeps_one_segment() -> None:
    """A pause shorter than endpointing is no end of speech: one final, the whole command."""
    events = hear(spoken_with_pauses(TURN_ON_THE, 0.2), v1(TURN_ON_THE.script))
    assert finals(events) == [("turn on the kitchen light", True)]


def test_a_long_pause_brings_utterance_end_for_the_first_segment() -> None:
    """After a 1.2 s pause Deepgram's UtteranceEnd points at the last word before it."""
    events = hear(spoken_with_pauses(TURN_ON_THE, 1.2), v1(TURN_ON_THE.script))
    first = next(event for event in events if isinstance(event, Segment) and event.speech_final)
    ends = [event for event in events if isinstance(event, UtteranceEnd)]
    assert ends[0].last_word_end == first.words[-1].end
    assert events.index(ends[0]) < events.index(
        next(e for e in events if isinstance(e, Segment) and e.transcript == "kitchen light")
    )


def flux(script: str, thresholds: Thresholds) -> TurnTracker:
    """The local Flux model with one scripted turn."""
    scripts = [script]
    return TurnTracker(
        thresholds,
        next_script=lambda: scripts.pop(0) if scripts else None,
        describe=lambda seconds: f"{seconds:.1f} s",
    )


def ends_of_turn(events: list[Event | TurnEvent]) -> list[tuple[str, str | None]]:
    """Each EndOfTurn's transcript and trigger."""
    return [
        (event.transcript, event.trigger)
        for event in events
        if isinstance(event, TurnEvent) and event.event == "EndOfTurn"
    ]


@pytest.mark.parametrize("pause", PAUSES)
def test_flux_waits_through_a_pause_in_mid_sentence(pause: float) -> None:
    """The local Flux reads 'turn on the' as unfinished: one turn, the whole command."""
    events = hear(spoken_with_pauses(TURN_ON_THE, pause), flux(TURN_ON_THE.script, Thresholds()))
    assert ends_of_turn(events) == [("turn on the kitchen light", "model")]


def test_flux_ends_a_turn_in_a_pause_only_at_its_timeout() -> None:
    """A pause longer than eot_timeout_ms ends the turn with the words before it."""
    tracker = flux(TURN_ON_THE.script, Thresholds(eot_timeout_ms=500))
    events = hear(spoken_with_pauses(TURN_ON_THE, 1.0), tracker)
    assert ends_of_turn(events) == [("turn on the", "timeout"), ("kitchen light", "model")]
