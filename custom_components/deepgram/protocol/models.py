"""Deepgram speech models and the language codes each accepts on the live API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MULTILINGUAL = "multi"

_ENGLISH_ONLY = ("en", "en-US")

_NOVA_3_LANGUAGES = (
    *("en", "en-US", "en-AU", "en-GB", "en-IN", "en-NZ"),
    *("de", "de-CH", "nl", "nl-BE", "sv", "sv-SE", "da", "da-DK"),
    *("es", "es-419", "fr", "fr-CA", "pt", "pt-BR", "pt-PT"),
    *("it", "tr", "no", "id", "bg", "cs", "fi", "hi", "hu", "ja", "ko", "ko-KR"),
    *("pl", "ru", "uk", "vi", "ca", "et", "el", "lv", "lt", "ms", "ro", "sk"),
    *("be", "bn", "bs", "hr", "kn", "mk", "mr", "sr", "sl", "ta", "tl", "te"),
    *("he", "fa", "ur", "th", "th-TH"),
    *("zh", "zh-CN", "zh-Hans", "zh-TW", "zh-Hant", "zh-HK"),
    *("pa", "pa-IN", "ne", "kk", "kk-KZ"),
    MULTILINGUAL,
)

_NOVA_2_LANGUAGES = (
    *("en", "en-US", "en-AU", "en-GB", "en-NZ", "en-IN"),
    *("bg", "ca", "cs", "da", "da-DK", "nl", "nl-BE", "et", "fi", "fr", "fr-CA"),
    *("de", "de-CH", "el", "hi", "hu", "id", "it", "ja", "ko", "ko-KR", "lv"),
    *("lt", "ms", "no", "pl", "pt", "pt-BR", "pt-PT", "ro", "ru", "sk"),
    *("es", "es-419", "sv", "sv-SE", "th", "th-TH", "tr", "uk", "vi"),
    *("zh", "zh-CN", "zh-Hans", "zh-TW", "zh-Hant", "zh-HK"),
    # Nova-2's code-switching covers Spanish and English only.
    MULTILINGUAL,
)


# What Nova-3's `multi` serves since 2026-10-23: 55 languages in one model, each
# also accepted as a `language_hint` (Deepgram's "Nova-3 Language Prompting").
_NOVA_3_MULTILINGUAL = (
    *("af", "ar", "be", "bn", "bs", "bg", "ca", "zh", "zh-CN", "zh-Hans", "zh-HK"),
    *("hr", "cs", "da", "nl", "nl-BE", "en", "en-US", "en-GB", "en-AU", "en-NZ"),
    *("en-IN", "en-CA", "et", "fi", "fr", "gl", "de", "el", "gu", "he", "hi", "hu"),
    *("id", "it", "ja", "kn", "ko", "lv", "lt", "mk", "ms", "mr", "no", "fa", "pl"),
    *("pt", "ro", "ru", "sr", "sk", "sl", "es", "sv", "tl", "ta", "te", "th", "tr"),
    *("uk", "vi", "xh", "zu"),
)

# Languages Flux Multilingual recognises and takes as `language_hint`.
_FLUX_HINTS = ("en", "es", "fr", "de", "hi", "ru", "pt", "ja", "it", "nl")


@dataclass(frozen=True, slots=True)
class SpeechModel:
    """A Deepgram model that the live endpoint serves."""

    name: str
    label: str
    languages: tuple[str, ...]
    supports_keyterms: bool
    # Flux models detect turns themselves and live on /v2/listen.
    flux: bool = False
    # The language tags `multi` recognises; empty means all of `languages`.
    multilingual: tuple[str, ...] = ()
    # Whether `language_hint` (repeatable) biases what `multi` listens for.
    takes_language_hints: bool = False


SPEECH_MODELS: dict[str, SpeechModel] = {
    model.name: model
    for model in (
        SpeechModel(
            "nova-3",
            "Nova-3",
            _NOVA_3_LANGUAGES,
            supports_keyterms=True,
            multilingual=_NOVA_3_MULTILINGUAL,
            takes_language_hints=True,
        ),
        SpeechModel(
            "flux-general-en",
            "Flux",
            _ENGLISH_ONLY,
            supports_keyterms=True,
            flux=True,
        ),
        SpeechModel(
            "flux-general-multi",
            "Flux Multilingual",
            (*_FLUX_HINTS, MULTILINGUAL),
            supports_keyterms=True,
            flux=True,
            takes_language_hints=True,
        ),
        SpeechModel(
            "nova-3-medical",
            "Nova-3 Medical",
            (*_ENGLISH_ONLY, MULTILINGUAL),
            supports_keyterms=True,
        ),
        SpeechModel(
            "nova-2",
            "Nova-2",
            _NOVA_2_LANGUAGES,
            supports_keyterms=False,
            multilingual=(*("en", "en-US", "en-AU", "en-GB", "en-NZ", "en-IN", "es", "es-419"),),
        ),
        *(
            SpeechModel(f"nova-2-{use}", f"Nova-2 {label}", _ENGLISH_ONLY, supports_keyterms=False)
            for use, label in (
                ("meeting", "Meeting"),
                ("phonecall", "Phone call"),
                ("conversationalai", "Conversational AI"),
                ("voicemail", "Voicemail"),
                ("video", "Video"),
                ("finance", "Finance"),
                ("medical", "Medical"),
                ("drivethru", "Drive-thru"),
                ("automotive", "Automotive"),
            )
        ),
        SpeechModel(
            "nova",
            "Nova",
            (*_ENGLISH_ONLY, "en-AU", "en-GB", "en-NZ", "en-IN", "es", "es-419", "hi-Latn"),
            supports_keyterms=False,
        ),
    )
}

DEFAULT_MODEL = "nova-3"


def model_label(model: str) -> str:
    """Return the name people read for a model id, or the id of a model no longer offered."""
    known = SPEECH_MODELS.get(model)
    return known.label if known is not None else model


_LANGUAGE_NAMES = {
    "multi": "Multilingual",
    "af": "Afrikaans", "ar": "Arabic", "gl": "Galician", "gu": "Gujarati",
    "xh": "Xhosa", "zu": "Zulu",
    "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali", "bs": "Bosnian",
    "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi",
    "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "it": "Italian",
    "ja": "Japanese", "kk": "Kazakh", "kn": "Kannada", "ko": "Korean",
    "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "mr": "Marathi",
    "ms": "Malay", "ne": "Nepali", "nl": "Dutch", "no": "Norwegian",
    "pa": "Punjabi", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian",
    "sv": "Swedish", "ta": "Tamil", "te": "Telugu", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip

_SUBTAG_NAMES = {
    "419": "Latin America", "AU": "Australia", "BE": "Belgium", "BR": "Brazil",
    "CA": "Canada", "CH": "Switzerland", "CN": "China", "DE": "Germany",
    "DK": "Denmark", "GB": "United Kingdom", "HK": "Hong Kong", "Hans": "Simplified",
    "Hant": "Traditional", "IN": "India", "KR": "South Korea", "KZ": "Kazakhstan",
    "Latn": "Latin script", "NZ": "New Zealand", "PT": "Portugal", "SE": "Sweden",
    "TH": "Thailand", "TW": "Taiwan", "US": "United States",
}  # fmt: skip


def language_name(code: str, names: Mapping[str, str] | None = None) -> str:
    """Return the English name of a Deepgram language code, e.g. "English (India)".

    `names` (Deepgram's own, from its model list) name languages the table lacks.
    """
    base, _, subtag = code.partition("-")
    name = _LANGUAGE_NAMES.get(base) or (names or {}).get(base) or code
    return f"{name} ({_SUBTAG_NAMES.get(subtag, subtag)})" if subtag else name


type ModelRef = str | SpeechModel
"""A model by name (the built-in table's), or as a server lists it (`model_list`)."""


def speech_model(model: ModelRef) -> SpeechModel:
    """Return the description of a model given by name or already described."""
    return model if isinstance(model, SpeechModel) else SPEECH_MODELS[model]


def _closest(language: str, codes: Iterable[str]) -> str | None:
    """Return the code for a BCP-47 tag among `codes`: exact, else the base language."""
    codes = tuple(codes)
    if language in codes:
        return language
    lowered = {code.lower(): code for code in codes}
    return lowered.get(language.lower()) or lowered.get(language.partition("-")[0].lower())


def closest_language(language: str, model: ModelRef) -> str | None:
    """Return the model's own code for a BCP-47 tag: exact, else the base language."""
    return _closest(language, speech_model(model).languages)


def multilingual_languages(model: ModelRef) -> tuple[str, ...]:
    """Return the language tags the model's `multi` recognises; none without `multi`."""
    described = speech_model(model)
    if MULTILINGUAL not in described.languages:
        return ()
    return described.multilingual or tuple(
        code for code in described.languages if code != MULTILINGUAL
    )


def language_tags(model: ModelRef) -> tuple[str, ...]:
    """Return every tag the model recognises: its own codes, then those only `multi` has."""
    own = tuple(code for code in speech_model(model).languages if code != MULTILINGUAL)
    return (*own, *(code for code in multilingual_languages(model) if code not in own))


def language_hints(model: ModelRef, languages: Iterable[str]) -> tuple[str, ...]:
    """Return `multi`'s hints for these languages: each one's closest tag, once, in order.

    Languages that `multi` does not recognise are left out, and so is every hint
    where the model takes none.
    """
    if not speech_model(model).takes_language_hints:
        return ()
    served = multilingual_languages(model)
    hints: list[str] = []
    for language in languages:
        if (hint := _closest(language, served)) is not None and hint not in hints:
            hints.append(hint)
    return tuple(hints)


def language_query(model: ModelRef, language: str) -> tuple[str, tuple[str, ...]]:
    """Return the `language` value and hints that ask the model for one language.

    The model's own code where it has one (de-AT becomes de, pt-BR stays pt-BR);
    else `multi`, hinted with the language where `multi` recognises it (Arabic on
    Nova-3); else `multi` unhinted, or the model's first language.
    """
    described = speech_model(model)
    if (code := closest_language(language, model)) is not None and code != MULTILINGUAL:
        return code, ()
    if MULTILINGUAL in described.languages:
        return MULTILINGUAL, language_hints(model, (language,))
    return described.languages[0], ()


def languages_heard(model: ModelRef, language: str) -> tuple[str, ...]:
    """Return the language tags an entry with this language setting can recognise.

    One fixed language covers itself and, for a bare language, its regional
    variants ("en" also covers "en-GB"); multilingual covers what the model's
    `multi` recognises; following the voice assistant covers every language the
    model has, through its own code or through `multi`. `multi` itself is no
    language tag, so it is never listed.
    """
    tags = language_tags(model)
    if language == MULTILINGUAL and (served := multilingual_languages(model)):
        return served
    if language in tags:
        return tuple(
            code
            for code in tags
            if code == language or ("-" not in language and code.startswith(f"{language}-"))
        )
    return tags
