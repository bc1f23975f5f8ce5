"""The query of a `/v1/listen` request, validated as Deepgram does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

from multidict import MultiMapping

from custom_components.deepgram.protocol.models import (
    DEFAULT_MODEL,
    MULTILINGUAL,
    SPEECH_MODELS,
    SpeechModel,
    multilingual_languages,
)

from .refusals import DeepgramHTTPError
from .transcriber import TranscriberConfig

MODEL_ALIASES: Final = {"nova-3-general": "nova-3", "nova-2-general": "nova-2"}
ENCODINGS: Final = frozenset(
    {
        *("linear16", "linear32", "flac", "alaw", "mulaw", "amr-nb", "amr-wb"),
        *("opus", "ogg-opus", "speex", "g729"),
    }
)
BOOLEAN_PARAMS: Final = frozenset(
    {
        *("interim_results", "vad_events", "punctuate", "smart_format", "numerals"),
        *("profanity_filter", "diarize", "dictation", "detect_entities", "mip_opt_out"),
        *("filler_words", "no_delay", "multichannel", "measurements", "paragraphs"),
    }
)
INTEGER_PARAMS: Final = ("sample_rate", "channels", "utterance_end_ms")


@dataclass(frozen=True, slots=True)
class ListenParams:
    """The query of a listen request, validated as Deepgram does."""

    model: str
    language: str
    encoding: str | None
    sample_rate: int | None
    channels: int
    interim_results: bool
    endpointing: float | None
    utterance_end: float | None
    vad_events: bool
    extra: dict[str, str]
    # Nova-3's `multi` only: the hints as their base codes ("en-GB" as "en"); None elsewhere.
    languages_hinted: tuple[str, ...] | None = None

    def transcriber_config(self) -> TranscriberConfig:
        """Return the transcriber settings the query asks for."""
        return TranscriberConfig(
            endpointing=self.endpointing,
            interim_results=self.interim_results,
            utterance_end=self.utterance_end,
            vad_events=self.vad_events,
        )


def parse_listen_query(
    query: MultiMapping[str], models: Mapping[str, SpeechModel] = SPEECH_MODELS
) -> ListenParams:
    """Validate a `/v1/listen` query against the models served; raise DeepgramHTTPError(400)."""
    name = query.get("model", DEFAULT_MODEL)
    model = models.get(MODEL_ALIASES.get(name, name))
    language = query.get("language", "en")
    # Flux models are served on /v2/listen only; v1 does not know them.
    if model is None or model.flux or language not in model.languages:
        raise DeepgramHTTPError(400, "No such model/language/tier combination found.")
    languages_hinted = None
    if language == MULTILINGUAL and model.takes_language_hints:
        languages_hinted = _language_hints(model, query.getall("language_hint", []))
    encoding = query.get("encoding")
    if encoding is not None and encoding not in ENCODINGS:
        msg = f"Invalid query string: unknown variant `{encoding}` for `encoding`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    numbers = {key: _integer(query, key) for key in INTEGER_PARAMS}
    if encoding is not None and numbers["sample_rate"] is None:
        msg = "Invalid query string: `sample_rate` is required when `encoding` is set."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    for key in ("sample_rate", "channels"):
        if (value := numbers[key]) is not None and value < 1:
            msg = f"Invalid query string: `{key}` must be a positive integer."
            raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    flags = {key: _boolean(query, key) for key in BOOLEAN_PARAMS}
    endpointing = query.get("endpointing", "10")
    if endpointing != "false" and not endpointing.isdigit():
        msg = "Invalid query string: `endpointing` must be an integer number of ms or `false`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    if "keyterm" in query and not model.supports_keyterms:
        msg = "Keyterm Prompting is only supported for Nova-3 models and Flux."
        raise DeepgramHTTPError(400, msg)
    if "keywords" in query and model.supports_keyterms:
        msg = "Keywords are not supported for Nova-3 models. Use Keyterm Prompting instead."
        raise DeepgramHTTPError(400, msg)
    utterance_end_ms = numbers["utterance_end_ms"]
    return ListenParams(
        model=model.name,
        language=language,
        encoding=encoding,
        sample_rate=numbers["sample_rate"],
        channels=numbers["channels"] or 1,
        interim_results=flags["interim_results"],
        endpointing=None if endpointing == "false" else int(endpointing) / 1000,
        utterance_end=None if utterance_end_ms is None else utterance_end_ms / 1000,
        vad_events=flags["vad_events"],
        extra=dict(item.partition(":")[::2] for item in query.getall("extra", [])),
        languages_hinted=languages_hinted,
    )


def _language_hints(model: SpeechModel, hints: list[str]) -> tuple[str, ...]:
    """Reduce hints to their base codes, once each; refuse a language `multi` lacks.

    Deepgram accepts a regional tag ("pt-BR") as a hint and echoes its base code.
    """
    bases = {
        code.partition("-")[0].lower(): code.partition("-")[0]
        for code in multilingual_languages(model)
    }
    codes: list[str] = []
    for hint in hints:
        base = bases.get(hint.partition("-")[0].lower())
        if base is None:
            msg = f"Invalid query string: `language_hint` {hint} is not a language of {model.name}."
            raise DeepgramHTTPError(HTTPStatus.BAD_REQUEST, msg, "INVALID_QUERY_PARAMETER")
        if base not in codes:
            codes.append(base)
    return tuple(codes)


def _integer(query: MultiMapping[str], key: str) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    if not value.isdigit():
        msg = f"Invalid query string: `{key}` must be an integer, got `{value}`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    return int(value)


def _boolean(query: MultiMapping[str], key: str) -> bool:
    value = query.get(key, "false")
    if value not in {"true", "false"}:
        msg = f"Invalid query string: `{key}` must be `true` or `false`, got `{value}`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    return value == "true"
