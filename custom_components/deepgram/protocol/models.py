"""Deepgram speech models and the language codes each accepts on the live API."""

from __future__ import annotations

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


# Languages Flux takes as `language_hint`; `multi` leaves detection to Flux.
# Nova-3's code-switching (`multi`) covers the same ten.
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
    # The base languages `multi` recognises; empty means all of `languages`.
    multilingual: tuple[str, ...] = ()


SPEECH_MODELS: dict[str, SpeechModel] = {
    model.name: model
    for model in (
        SpeechModel(
            "nova-3",
            "Nova-3",
            _NOVA_3_LANGUAGES,
            supports_keyterms=True,
            multilingual=_FLUX_HINTS,
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
            multilingual=("en", "es"),
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


def language_name(code: str) -> str:
    """Return the English name of a Deepgram language code, e.g. "English (India)"."""
    base, _, subtag = code.partition("-")
    name = _LANGUAGE_NAMES.get(base, code)
    return f"{name} ({_SUBTAG_NAMES.get(subtag, subtag)})" if subtag else name


def closest_language(language: str, model: str) -> str | None:
    """Return the model's code for a BCP-47 tag: exact, else the base language."""
    languages = SPEECH_MODELS[model].languages
    if language in languages:
        return language
    base = language.partition("-")[0]
    lowered = {code.lower(): code for code in languages}
    return lowered.get(language.lower()) or lowered.get(base.lower())


def languages_heard(model: str, language: str) -> tuple[str, ...]:
    """Return the language tags an entry with this language setting can recognise.

    One fixed language covers itself and, for a bare language, its regional
    variants ("en" also covers "en-GB"); multilingual covers what the model's
    `multi` recognises; following the voice assistant covers every language the
    model has. `multi` itself is no language tag, so it is never listed.
    """
    speech_model = SPEECH_MODELS[model]
    tags = tuple(code for code in speech_model.languages if code != MULTILINGUAL)
    if language == MULTILINGUAL and speech_model.multilingual:
        return tuple(code for code in tags if code.partition("-")[0] in speech_model.multilingual)
    if language in tags:
        return tuple(
            code
            for code in tags
            if code == language or ("-" not in language and code.startswith(f"{language}-"))
        )
    return tags
