"""Deepgram's Aura-2 voices: a built-in catalogue, and the live list from `GET /v1/models`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

AURA_2: Final = "aura-2"
DEFAULT_VOICE: Final = "aura-2-thalia-en"
# Speed is a voice control of the English and Spanish voices only.
SPEED_LANGUAGES: Final = frozenset({"en", "es"})
MIN_SPEED: Final = 0.7
MAX_SPEED: Final = 1.5


@dataclass(frozen=True, slots=True)
class Voice:
    """One Aura-2 voice: its model id, the name people read, languages and accent."""

    model: str
    name: str
    languages: tuple[str, ...]
    accent: str | None = None

    @property
    def label(self) -> str:
        """Return the name with its accent, e.g. "Thalia (American)"."""
        return f"{self.name} ({self.accent})" if self.accent else self.name

    @property
    def language(self) -> str:
        """Return the base language, e.g. "en"."""
        return self.languages[0].partition("-")[0]

    def speaks(self, language: str) -> bool:
        """Whether the voice speaks a language tag, e.g. "en-GB" or "en"."""
        return language.partition("-")[0].lower() == self.language


def _voices(language: str, table: str) -> tuple[Voice, ...]:
    """Build voices from "name:TAG:Accent" words (_ for a space); TAG and accent may be empty."""
    voices = []
    for word in table.split():
        name, tag, accent = (*word.split(":"), "", "")[:3]
        tags = (language, f"{language}-{tag}") if tag else (language,)
        model = f"{AURA_2}-{name}-{language}"
        voices.append(Voice(model, name.title(), tags, accent.replace("_", " ") or None))
    return tuple(voices)


# Deepgram's Aura-2 catalogue (tts-models docs and the API spec's model list), for
# when the live list cannot be fetched. Accents as Deepgram gives them; it gives
# none for some voices.
CATALOGUE: Final = (
    *_voices(
        "en",
        "amalthea:PH:Filipino andromeda:US:American apollo:US:American arcas:US:American "
        "aries:US:American asteria:US:American athena:US:American atlas:US:American "
        "aurora:US:American callista:US:American cora:US:American cordelia:US:American "
        "delia:US:American draco:GB:British electra:US:American harmonia:US:American "
        "helena:US:American hera:US:American hermes:US:American hyperion:AU:Australian "
        "iris:US:American janus:US:American juno:US:American jupiter:US:American "
        "luna:US:American mars:US:American minerva:US:American neptune:US:American "
        "odysseus:US:American ophelia:US:American orion:US:American orpheus:US:American "
        "pandora:GB:British phoebe:US:American pluto:US:American saturn:US:American "
        "selene:US:American thalia:US:American theia:AU:American vesta:US:American "
        "zeus:US:American",
    ),
    *_voices(
        "es",
        "agustina alvaro:ES:Peninsular antonia aquila:419:Latin_American "
        "carina:ES:Peninsular celeste:CO:Colombian diana:ES:Peninsular "
        "estrella:MX:Mexican gloria javier:MX:Latin_American luciano "
        "nestor:ES:Peninsular olivia selena:419:Latin_American silvia sirio:MX:Mexican "
        "valerio",
    ),
    *_voices("de", "aurelia:DE elara:DE fabian:DE julius:DE kara:DE lara:DE viktoria:DE"),
    *_voices(
        "nl",
        "beatrix:NL cornelia:NL daphne:NL hestia:NL lars:NL leda:NL rhea:NL roman:NL sander:NL",
    ),
    *_voices("fr", "agathe:FR hector:FR"),
    *_voices(
        "it",
        "cesare:IT cinzia:IT demetra:IT dionisio:IT elio:IT flavio:IT livia:IT maia:IT "
        "melia:IT perseo:IT",
    ),
    *_voices("ja", "ama:JP ebisu:JP fujin:JP izanami:JP uzume:JP"),
)
# A voice per language and regional tag that suits it; else the first of the language.
PREFERRED_VOICES: Final = {
    "en": "thalia", "en-US": "thalia", "en-GB": "pandora", "en-AU": "theia",
    "en-PH": "amalthea", "es": "selena", "es-419": "selena", "es-ES": "carina",
    "es-MX": "estrella", "es-CO": "celeste", "de": "viktoria", "nl": "rhea",
    "fr": "agathe", "it": "livia", "ja": "izanami",
}  # fmt: skip


def languages_of(voices: Iterable[Voice]) -> list[str]:
    """Return every language tag the voices speak, sorted."""
    return sorted({tag for voice in voices for tag in voice.languages})


def voices_for(voices: Iterable[Voice], language: str) -> list[Voice]:
    """Return the voices of a language; those of its exact regional tag first."""
    exact = language.lower()
    speaking = [voice for voice in voices if voice.speaks(language)]
    return sorted(
        speaking,
        key=lambda voice: (exact not in {tag.lower() for tag in voice.languages}, voice.name),
    )


def default_voice(voices: Iterable[Voice], language: str) -> Voice | None:
    """Return the voice to use for a language when none is asked for."""
    candidates = voices_for(voices, language)
    if not candidates:
        return None
    base = language.partition("-")[0]
    preferred = PREFERRED_VOICES.get(language) or PREFERRED_VOICES.get(base)
    for voice in candidates:
        if voice.name.lower() == preferred:
            return voice
    return candidates[0]


def parse_models(body: Any) -> list[Voice]:
    """Return the Aura-2 voices of a `GET /v1/models` answer; ignore anything malformed."""
    models = body.get("tts") if isinstance(body, dict) else None
    voices: list[Voice] = []
    for model in models if isinstance(models, list) else []:
        if not isinstance(model, dict) or model.get("architecture") != AURA_2:
            continue
        canonical = model.get("canonical_name")
        languages = model.get("languages")
        if not isinstance(canonical, str) or not isinstance(languages, list):
            continue
        tags = tuple(tag for tag in languages if isinstance(tag, str) and tag)
        if not tags:
            continue
        metadata = model.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name = metadata.get("display_name") or model.get("name") or canonical
        accent = metadata.get("accent")
        voices.append(
            Voice(
                canonical,
                str(name).title() if name == model.get("name") else str(name),
                tags,
                accent if isinstance(accent, str) and accent else None,
            )
        )
    return sorted(voices, key=lambda voice: (voice.language, voice.name))
