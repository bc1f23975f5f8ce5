"""How each voice command is sent to Deepgram: the entry's options, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .const import (
    DEFAULT_END_OF_SPEECH,
    DEFAULT_ENDPOINTING_MS,
    DEFAULT_EOT_THRESHOLD,
    DEFAULT_EOT_TIMEOUT_MS,
    DEFAULT_LANGUAGE,
    DEFAULT_MAX_UTTERANCE,
    DEFAULT_NO_SPEECH_TIMEOUT,
)
from .protocol import DEFAULT_MODEL, SPEECH_MODELS, SpeechModel


@dataclass(frozen=True, kw_only=True, slots=True)
class StreamSettings:
    """Recognition settings; each field is the option of the same name."""

    model: str = DEFAULT_MODEL
    # A Deepgram language code, or "pipeline" for the voice assistant's language.
    language: str = DEFAULT_LANGUAGE
    punctuate: bool = True
    smart_format: bool = False
    numerals: bool = False
    profanity_filter: bool = False
    filler_words: bool = False
    # Assist's sentence matching wants "turn on the light", not "...light."
    strip_punctuation: bool = True
    home_keyterms: bool = True
    custom_keyterms: tuple[str, ...] = ()
    # Return as soon as Deepgram marks the end of speech, instead of waiting
    # for Home Assistant's voice activity detector to end the audio.
    end_of_speech: bool = DEFAULT_END_OF_SPEECH
    endpointing: int = DEFAULT_ENDPOINTING_MS
    no_speech_timeout: float = DEFAULT_NO_SPEECH_TIMEOUT
    max_utterance: float = DEFAULT_MAX_UTTERANCE
    eot_threshold: float = DEFAULT_EOT_THRESHOLD
    eot_timeout_ms: int = DEFAULT_EOT_TIMEOUT_MS

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> StreamSettings:
        """Read the options, coercing each to its field's type; defaults fill the rest."""
        defaults = cls()
        values: dict[str, Any] = {}
        for field in fields(cls):
            if (value := options.get(field.name)) is None:
                continue
            default = getattr(defaults, field.name)
            values[field.name] = (
                tuple(str(item) for item in value)
                if isinstance(default, tuple)
                else type(default)(value)
            )
        return cls(**values)

    @property
    def speech_model(self) -> SpeechModel:
        """Return the configured model's description."""
        return SPEECH_MODELS[self.model]
