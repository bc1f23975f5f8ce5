"""Real speech for the benchmark: distinct espeak-ng utterances of an exact length.

An utterance of `seconds` is 0.3 s of silence, spoken commands, then silence up
to exactly `seconds`, as 16 kHz mono linear16. Utterance i of a length starts
with command i, so every utterance of a set is different, and each has its own
API key, by which the local server gives each stream its own transcript.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
import hashlib
import itertools
import json
import math
from pathlib import Path
import sys

from local_deepgram_server.speech import synthesize

from .harness import SAMPLE_RATE, Utterance

LEADING_SILENCE = 0.3
MIN_TRAILING_SILENCE = 0.4
# Between the commands of one utterance: shorter than the 200 ms of silence that
# ends an utterance (at the local server as at Deepgram), as in fluent speech.
GAP_SECONDS = 0.12
MARGIN_SECONDS = 0.02
# Bump when the audio made changes, so cached files are made again.
AUDIO_FORMAT = 2
SPEECH_THRESHOLD = 500.0

_VERBS = ("open", "close", "start", "stop", "dim", "lock", "pause", "mute", "check", "clean")
_THINGS = (
    *("the blinds", "the garage", "the lamp", "the fan", "the heater", "the music"),
    *("the front door", "the vacuum", "the kettle", "the radio", "the oven", "the sprinkler"),
)


def commands() -> list[str]:
    """Return short, distinct voice commands (the order mixes verbs and things)."""
    pairs = itertools.product(range(len(_VERBS)), range(len(_THINGS)))
    ordered = sorted(pairs, key=lambda pair: ((pair[1] - pair[0]) % len(_THINGS), pair[0]))
    return [f"{_VERBS[verb]} {_THINGS[thing]}" for verb, thing in ordered]


@dataclass(frozen=True, slots=True)
class _Spoken:
    text: str
    pcm: bytes


def _speak(text: str) -> _Spoken:
    """Speak one command, trimmed to its speech (espeak-ng pads it with silence)."""
    pcm = synthesize(text, leading_silence=0.0, trailing_silence=0.0)
    loud = _loud_frames(pcm)
    margin = round(MARGIN_SECONDS * 100)
    frame_bytes = SAMPLE_RATE // 100 * 2
    start = max(loud[0] - margin, 0) * frame_bytes
    end = (loud[-1] + 1 + margin) * frame_bytes
    return _Spoken(text, pcm[start:end])


def _loud_frames(pcm: bytes) -> list[int]:
    """Return the indexes of the 10 ms frames loud enough to be speech.

    The threshold is the local server's (RMS 500 on the int16 scale), so these
    are the frames where the server, like Deepgram, hears speech.
    """
    frame = SAMPLE_RATE // 100
    samples = array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    loud = []
    for index in range(len(samples) // frame):
        chunk = samples[index * frame : (index + 1) * frame]
        if math.sqrt(math.sumprod(chunk, chunk) / frame) >= SPEECH_THRESHOLD:
            loud.append(index)
    return loud


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


def build(seconds: float, index: int) -> tuple[str, bytes, float]:
    """Return the text, PCM and end of speech (s) of utterance `index` of length `seconds`."""
    budget = _samples(seconds - LEADING_SILENCE - MIN_TRAILING_SILENCE) * 2
    texts = commands()
    # Utterance i starts with the i-th command that fits on its own: all differ.
    fitting = (
        (position, item)
        for position, item in ((position, _speak(text)) for position, text in enumerate(texts))
        if len(item.pcm) <= budget
    )
    found = next(itertools.islice(fitting, index, None), None)
    if found is None:
        msg = f"fewer than {index + 1} distinct utterances fit in {seconds} s"
        raise ValueError(msg)
    first, item = found
    gap = bytes(_samples(GAP_SECONDS) * 2)
    chosen = [item]
    used = len(item.pcm)
    for offset in range(1, len(texts)):
        item = _speak(texts[(first + offset) % len(texts)])
        if used + len(gap) + len(item.pcm) > budget:
            break
        chosen.append(item)
        used += len(gap) + len(item.pcm)
    speech = gap.join(spoken.pcm for spoken in chosen)
    lead = bytes(_samples(LEADING_SILENCE) * 2)
    pcm = lead + speech + bytes(_samples(seconds) * 2 - len(lead) - len(speech))
    return " ".join(spoken.text for spoken in chosen), pcm, last_speech(pcm)


def last_speech(pcm: bytes) -> float:
    """Return where the last frame of speech ends, in seconds."""
    loud = _loud_frames(pcm)
    return (loud[-1] + 1) / 100 if loud else 0.0


def utterances(seconds: float, count: int, cache: Path) -> list[Utterance]:
    """Return `count` distinct utterances of `seconds`, their PCM cached under `cache`."""
    cache = cache / f"v{AUDIO_FORMAT}"
    cache.mkdir(parents=True, exist_ok=True)
    made: list[Utterance] = []
    for index in range(count):
        name = f"{seconds:g}s-{index:03d}"
        path = cache / f"{name}.pcm"
        info_path = path.with_suffix(".json")
        if path.exists() and info_path.exists():
            text, speech_end = json.loads(info_path.read_text(encoding="utf-8"))
        else:
            text, pcm, speech_end = build(seconds, index)
            path.write_bytes(pcm)
            info_path.write_text(json.dumps([text, speech_end]), encoding="utf-8")
        key = "bench-" + hashlib.sha256(f"{name}:{text}".encode()).hexdigest()[:16]
        made.append(
            Utterance(
                key=key,
                text=text,
                path=str(path.resolve()),
                seconds=seconds,
                speech_end=speech_end,
            )
        )
    texts = [utterance.text for utterance in made]
    if len(set(texts)) != len(texts):
        msg = f"the {seconds} s utterances are not all different"
        raise ValueError(msg)
    return made
