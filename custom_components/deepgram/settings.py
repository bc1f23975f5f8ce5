"""How each voice command is sent to Deepgram: the entry's options, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
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
from .protocol.model_list import BUILT_IN_MODELS, ModelList


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
    # Not an option: the model as the entry's server lists it (`on_server`).
    listed_model: SpeechModel | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> StreamSettings:
        """Read the options, coercing each to its field's type; defaults fill the rest."""
        defaults = cls()
        values: dict[str, Any] = {}
        for option in fields(cls):
            if (value := options.get(option.name)) is None:
                continue
            default = getattr(defaults, option.name)
            values[option.name] = (
                tuple(str(item) for item in value)
                if isinstance(default, tuple)
                else type(default)(value)
            )
        return cls(**values)

    def on_server(self, models: ModelList) -> StreamSettings:
        """Return these settings with the model as the server lists it (its languages).

        A stored language the list lacks stays the model's own code (Deepgram may still
        serve it), unless the built-in table reaches it through `multi` (Arabic on Nova-3).
        """
        model = models.describe(self.model)
        built_in = SPEECH_MODELS.get(self.model)
        was_own = built_in is None or self.language in built_in.languages
        if (
            self.language != LANGUAGE_FOLLOW_PIPELINE
            and self.language not in model.languages
            and was_own
        ):
            model = replace(model, languages=(*model.languages, self.language))
        return replace(self, listed_model=model)

    def on_offered_model(self, models: ModelList = BUILT_IN_MODELS) -> StreamSettings:
        """Return these settings, on the default model if the stored one is no longer offered.

        Offered: the server lists it, or the built-in table knows it. The language
        is kept where the default model has it; else commands follow the voice
        assistant's language, which every model can.
        """
        if models.offers(self.model) or self.model in SPEECH_MODELS:
            return self
        default = SPEECH_MODELS[DEFAULT_MODEL]
        language = self.language if self.language in default.languages else LANGUAGE_FOLLOW_PIPELINE
        return replace(self, model=DEFAULT_MODEL, language=language, listed_model=None)

    @property
    def speech_model(self) -> SpeechModel:
        """Return the configured model's description: as listed, else the built-in one."""
        return self.listed_model or BUILT_IN_MODELS.describe(self.model)

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
