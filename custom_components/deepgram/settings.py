"""How each voice command is sent to Deepgram: the entry's options, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from .const import (
    DEFAULT_ENDPOINTING_MS,
    DEFAULT_EOT_THRESHOLD,
    DEFAULT_EOT_TIMEOUT_MS,
    DEFAULT_MAX_UTTERANCE,
    DEFAULT_NO_SPEECH_TIMEOUT,
    END_BY_DEEPGRAM,
    END_BY_DEEPGRAM_OR_HOME_ASSISTANT,
    END_BY_HOME_ASSISTANT,
    LANGUAGE_FOLLOW_PIPELINE,
)
from .protocol import DEFAULT_MODEL, SPEECH_MODELS, SpeechModel


@dataclass(frozen=True, kw_only=True, slots=True)
class StreamSettings:
    """Recognition settings; each field is the option of the same name."""

    model: str = DEFAULT_MODEL
    # "pipeline" for the voice assistant's language, "multi", or one language code.
    language: str = LANGUAGE_FOLLOW_PIPELINE
    # Multilingual only: languages spoken at home besides the voice assistant's, as hints.
    other_languages: tuple[str, ...] = ()
    punctuate: bool = True
    smart_format: bool = False
    numerals: bool = False
    profanity_filter: bool = False
    filler_words: bool = False
    # Assist's sentence matching wants "turn on the light", not "...light."
    strip_punctuation: bool = True
    home_keyterms: bool = True
    custom_keyterms: tuple[str, ...] = ()
    # Who ends a command (END_BY_*); unset means the model's default.
    end_of_command: str = ""
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

    def on_offered_model(self) -> StreamSettings:
        """Return these settings, on the default model if the stored one is no longer offered.

        The language is kept where the default model has it; else commands follow
        the voice assistant's language, which every model can.
        """
        if self.model in SPEECH_MODELS:
            return self
        default = SPEECH_MODELS[DEFAULT_MODEL]
        language = self.language if self.language in default.languages else LANGUAGE_FOLLOW_PIPELINE
        return replace(self, model=DEFAULT_MODEL, language=language)

    @property
    def speech_model(self) -> SpeechModel:
        """Return the configured model's description."""
        return SPEECH_MODELS[self.model]

    @property
    def ends_command(self) -> str:
        """Return who ends a command: the option, else the model's default.

        Nova's end of speech is acoustic, like Home Assistant's voice detection
        but sooner, so that detection can stay on as a bounded fallback. Flux's
        end of turn is semantic: it waits through a pause in mid-sentence that
        Home Assistant's detection would cut, so Flux alone decides by default.
        """
        if self.end_of_command:
            return self.end_of_command
        return END_BY_DEEPGRAM if self.speech_model.flux else END_BY_DEEPGRAM_OR_HOME_ASSISTANT

    @property
    def answers_at_end_of_speech(self) -> bool:
        """Whether the transcript returns at Deepgram's end of speech, mid-stream."""
        return self.ends_command != END_BY_HOME_ASSISTANT

    @property
    def requires_external_vad(self) -> bool:
        """Whether Home Assistant 2026.5+ should run its voice detection on the audio."""
        return self.ends_command != END_BY_DEEPGRAM
