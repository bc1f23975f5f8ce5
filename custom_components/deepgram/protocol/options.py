"""Typed options of Deepgram's listening and speaking requests, and their query strings."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

type QueryValue = str | int | float | bool | tuple[str, ...] | None

# Bytes per sample of the raw encodings whose timing follows from their size.
SAMPLE_BYTES = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveOptions:
    """What a live transcription asks of Deepgram; `None` leaves Deepgram's default."""

    model: str = "nova-3"
    language: str | None = None
    encoding: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    multichannel: bool | None = None
    punctuate: bool | None = None
    smart_format: bool | None = None
    numerals: bool | None = None
    profanity_filter: bool | None = None
    filler_words: bool | None = None
    dictation: bool | None = None
    diarize: bool | None = None
    interim_results: bool | None = None
    # Milliseconds of silence that end an utterance, or False to turn endpointing off.
    endpointing: int | bool | None = None
    utterance_end_ms: int | None = None
    vad_events: bool | None = None
    no_delay: bool | None = None
    mip_opt_out: bool | None = None
    redact: tuple[str, ...] = ()
    keyterm: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    version: str | None = None
    # Flux (/v2/listen) only: when a turn ends.
    eot_threshold: float | None = None
    eager_eot_threshold: float | None = None
    eot_timeout_ms: int | None = None
    # Languages to expect: Flux Multilingual, and Nova-3 with `language=multi`.
    language_hint: tuple[str, ...] = ()

    @property
    def flux(self) -> bool:
        """Whether the model is a Flux model, served on /v2/listen."""
        return self.model.startswith("flux-")

    @property
    def sample_frame_bytes(self) -> int | None:
        """Return the bytes of one sample of every channel, or None for packets and containers.

        Raw PCM's duration follows from its size; Opus packets and Ogg pages carry
        their own timing, which the client does not parse.
        """
        width = SAMPLE_BYTES.get(self.encoding or "")
        if width is None or not self.sample_rate:
            return None
        return width * (self.channels or 1)

    def query(self) -> list[tuple[str, str]]:
        """Return the query parameters: booleans as true/false, lists as repeated keys."""
        params: list[tuple[str, str]] = []
        for field in fields(self):
            value: QueryValue = getattr(self, field.name)
            if isinstance(value, tuple):
                params.extend((field.name, item) for item in value)
            elif isinstance(value, bool):
                params.append((field.name, "true" if value else "false"))
            elif value is not None:
                params.append((field.name, str(value)))
        return params


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakOptions:
    """The query of a `/v1/speak` request: the voice and the audio format."""

    model: str
    encoding: str = "linear16"
    sample_rate: int | None = None
    container: str | None = None
    bit_rate: int | None = None
    speed: float | None = None

    def query(self) -> dict[str, str]:
        """Return the query parameters, leaving Deepgram's defaults unsent."""
        values: dict[str, Any] = {
            "model": self.model,
            "encoding": self.encoding,
            "sample_rate": self.sample_rate,
            "container": self.container,
            "bit_rate": self.bit_rate,
            "speed": None if self.speed is None else f"{self.speed:g}",
        }
        return {key: str(value) for key, value in values.items() if value is not None}
