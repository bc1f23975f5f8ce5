"""Deepgram's Aura voice catalogue, as `GET /v1/models` lists it, and an espeak-ng voice for each.

Names, languages, accents and ages follow Deepgram's model list (its API spec's
`SpeakV1Model` and its TTS models page). Where Deepgram publishes no metadata (most
de/nl/fr/it/ja and seven es voices), gender and accent are guessed from the name and
language. UUIDs other than the documented ones are stable uuid5 values.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
from typing import Any, Final
import uuid

AURA_2_VERSION: Final = "2025-04-07.0"
AURA_1_VERSION: Final = "2024-11-19.0"
DEFAULT_VOICE: Final = "aura-asteria-en"

# Documented UUIDs (Deepgram's TTS response headers and model list examples).
_KNOWN_UUIDS: Final = {
    "aura-2-thalia-en": "e4979ab0-8475-4901-9d66-0a562a4949bb",
    "aura-2-zeus-en": "2baf189d-91ac-481d-b6d1-750888667b31",
}

# (name, gender f/m, age YA/A/M, region tag, accent); region "" means the bare language.
_AURA_2: Final[dict[str, tuple[tuple[str, str, str, str, str], ...]]] = {
    "en": (
        ("amalthea", "f", "YA", "PH", "Filipino"),
        ("andromeda", "f", "A", "US", "American"),
        ("apollo", "m", "A", "US", "American"),
        ("arcas", "m", "A", "US", "American"),
        ("aries", "m", "A", "US", "American"),
        ("asteria", "f", "A", "US", "American"),
        ("athena", "f", "M", "US", "American"),
        ("atlas", "m", "M", "US", "American"),
        ("aurora", "f", "A", "US", "American"),
        ("callista", "f", "A", "US", "American"),
        ("cora", "f", "A", "US", "American"),
        ("cordelia", "f", "YA", "US", "American"),
        ("delia", "f", "YA", "US", "American"),
        ("draco", "m", "A", "GB", "British"),
        ("electra", "f", "A", "US", "American"),
        ("harmonia", "f", "A", "US", "American"),
        ("helena", "f", "A", "US", "American"),
        ("hera", "f", "A", "US", "American"),
        ("hermes", "m", "A", "US", "American"),
        ("hyperion", "m", "A", "AU", "Australian"),
        ("iris", "f", "YA", "US", "American"),
        ("janus", "f", "A", "US", "American"),
        ("juno", "f", "A", "US", "American"),
        ("jupiter", "m", "A", "US", "American"),
        ("luna", "f", "YA", "US", "American"),
        ("mars", "m", "A", "US", "American"),
        ("minerva", "f", "A", "US", "American"),
        ("neptune", "m", "A", "US", "American"),
        ("odysseus", "m", "A", "US", "American"),
        ("ophelia", "f", "A", "US", "American"),
        ("orion", "m", "A", "US", "American"),
        ("orpheus", "m", "A", "US", "American"),
        ("pandora", "f", "A", "GB", "British"),
        ("phoebe", "f", "A", "US", "American"),
        ("pluto", "m", "A", "US", "American"),
        ("saturn", "m", "A", "US", "American"),
        ("selene", "f", "A", "US", "American"),
        ("thalia", "f", "A", "US", "American"),
        ("theia", "f", "A", "AU", "American"),
        ("vesta", "f", "A", "US", "American"),
        ("zeus", "m", "A", "US", "American"),
    ),
    "es": (
        ("agustina", "f", "A", "ES", "Peninsular"),
        ("alvaro", "m", "A", "ES", "Peninsular"),
        ("antonia", "f", "A", "AR", "Argentine"),
        ("aquila", "m", "A", "419", "Latin American"),
        ("carina", "f", "A", "ES", "Peninsular"),
        ("celeste", "f", "YA", "CO", "Colombian"),
        ("diana", "f", "A", "ES", "Peninsular"),
        ("estrella", "f", "M", "MX", "Mexican"),
        ("gloria", "f", "A", "CO", "Colombian"),
        ("javier", "m", "A", "MX", "Latin American"),
        ("luciano", "m", "A", "MX", "Mexican"),
        ("nestor", "m", "A", "ES", "Peninsular"),
        ("olivia", "f", "A", "MX", "Mexican"),
        ("selena", "f", "YA", "419", "Latin American"),
        ("silvia", "f", "A", "ES", "Peninsular"),
        ("sirio", "m", "A", "MX", "Mexican"),
        ("valerio", "m", "A", "MX", "Mexican"),
    ),
    "de": (
        ("aurelia", "f", "A", "DE", "German"),
        ("elara", "f", "A", "DE", "German"),
        ("fabian", "m", "A", "DE", "German"),
        ("julius", "m", "A", "DE", "German"),
        ("kara", "f", "A", "DE", "German"),
        ("lara", "f", "YA", "DE", "German"),
        ("viktoria", "f", "A", "DE", "German"),
    ),
    "nl": (
        ("beatrix", "f", "A", "NL", "Dutch"),
        ("cornelia", "f", "A", "NL", "Dutch"),
        ("daphne", "f", "A", "NL", "Dutch"),
        ("hestia", "f", "A", "NL", "Dutch"),
        ("lars", "m", "A", "NL", "Dutch"),
        ("leda", "f", "A", "NL", "Dutch"),
        ("rhea", "f", "A", "NL", "Dutch"),
        ("roman", "m", "A", "NL", "Dutch"),
        ("sander", "m", "A", "NL", "Dutch"),
    ),
    "fr": (
        ("agathe", "f", "A", "FR", "French"),
        ("hector", "m", "A", "FR", "French"),
    ),
    "it": (
        ("cesare", "m", "A", "IT", "Italian"),
        ("cinzia", "f", "A", "IT", "Italian"),
        ("demetra", "f", "A", "IT", "Italian"),
        ("dionisio", "m", "A", "IT", "Italian"),
        ("elio", "m", "A", "IT", "Italian"),
        ("flavio", "m", "A", "IT", "Italian"),
        ("livia", "f", "A", "IT", "Italian"),
        ("maia", "f", "A", "IT", "Italian"),
        ("melia", "f", "A", "IT", "Italian"),
        ("perseo", "m", "A", "IT", "Italian"),
    ),
    "ja": (
        ("ama", "f", "A", "JP", "Japanese"),
        ("ebisu", "m", "A", "JP", "Japanese"),
        ("fujin", "m", "A", "JP", "Japanese"),
        ("izanami", "f", "A", "JP", "Japanese"),
        ("uzume", "f", "A", "JP", "Japanese"),
    ),
}

_AURA_1: Final = (
    ("asteria", "f", "A", "US", "American"),
    ("luna", "f", "YA", "US", "American"),
    ("stella", "f", "A", "US", "American"),
    ("athena", "f", "M", "GB", "British"),
    ("hera", "f", "A", "US", "American"),
    ("orion", "m", "A", "US", "American"),
    ("arcas", "m", "A", "US", "American"),
    ("perseus", "m", "A", "US", "American"),
    ("angus", "m", "A", "IE", "Irish"),
    ("orpheus", "m", "A", "US", "American"),
    ("helios", "m", "A", "GB", "British"),
    ("zeus", "m", "A", "US", "American"),
)

LANGUAGE_NAMES: Final = {
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "ja": "Japanese",
    "nl": "Dutch",
}

# The espeak-ng voice that speaks each language (or language-region) best.
_ESPEAK_LANGUAGES: Final = {
    "en-US": "en-us",
    "en-PH": "en-us",
    "en-GB": "en-gb-x-rp",
    "en-AU": "en-gb-scotland",
    "en-IE": "en-gb-scotland",
    "es-ES": "es",
    "es": "es",
    "de": "de",
    "nl": "nl",
    "fr": "fr-fr",
    "it": "it",
    "ja": "ja",
}
_AGES: Final = {"YA": "Young Adult", "A": "Adult", "M": "Mature"}
_GENDERS: Final = {"f": "feminine", "m": "masculine"}


@dataclass(frozen=True, slots=True)
class Voice:
    """One Aura model: what `/v1/models` says about it and how espeak-ng imitates it."""

    canonical_name: str
    name: str
    architecture: str
    language: str
    region: str
    accent: str
    age: str
    gender: str

    @property
    def uuid(self) -> str:
        """Deepgram's UUID where documented, else a stable one."""
        known = _KNOWN_UUIDS.get(self.canonical_name)
        return known or str(uuid.uuid5(uuid.NAMESPACE_URL, f"deepgram/{self.canonical_name}"))

    @property
    def version(self) -> str:
        """The model version Deepgram reports."""
        return AURA_2_VERSION if self.architecture == "aura-2" else AURA_1_VERSION

    @property
    def language_tag(self) -> str:
        """E.g. "en-US"; "es-419" for Latin American Spanish."""
        return f"{self.language}-{self.region}"

    @property
    def espeak_voice(self) -> str:
        """The espeak-ng voice, e.g. "de+f3": language, then a gendered variant."""
        tag = self.language_tag
        if self.language == "es" and self.region != "ES":
            base = "es-419"
        else:
            base = _ESPEAK_LANGUAGES.get(tag) or _ESPEAK_LANGUAGES[self.language]
        variant = "f" if self.gender == "f" else "m"
        # Two voices of one gender differ in variant and pitch, so tests can tell them apart.
        return f"{base}+{variant}{1 + self._digest % 4}"

    @property
    def espeak_pitch(self) -> int:
        """An espeak-ng pitch (0-99) of its own for the voice."""
        low = 45 if self.gender == "f" else 20
        return low + self._digest % 30

    @property
    def _digest(self) -> int:
        return int.from_bytes(hashlib.sha256(self.canonical_name.encode()).digest()[:4])

    def model_entry(self) -> dict[str, Any]:
        """Return the model's entry of `/v1/models`'s `tts` list, in Deepgram's shape."""
        slug = self.name.lower()
        return {
            "name": self.name,
            "canonical_name": self.canonical_name,
            "architecture": self.architecture,
            "languages": [self.language, self.language_tag],
            "version": self.version,
            "uuid": self.uuid,
            "metadata": {
                "accent": self.accent,
                "age": _AGES[self.age],
                "color": f"#{self._digest & 0xFFFFFF:06X}",
                "image": f"https://static.deepgram.com/examples/avatars/{slug}.jpg",
                "sample": f"https://static.deepgram.com/examples/Aura-2-{slug}.wav",
                "tags": [_GENDERS[self.gender]],
                "use_cases": ["IVR"],
                "display_name": self.name.capitalize() if self.architecture == "aura-2" else None,
            },
        }


def _catalogue() -> dict[str, Voice]:
    voices = {}
    for language, entries in _AURA_2.items():
        for name, gender, age, region, accent in entries:
            canonical = f"aura-2-{name}-{language}"
            voices[canonical] = Voice(
                canonical, name, "aura-2", language, region, accent, age, gender
            )
    for name, gender, age, region, accent in _AURA_1:
        canonical = f"aura-{name}-en"
        voices[canonical] = Voice(canonical, name, "aura", "en", region, accent, age, gender)
    return voices


VOICES: Final = _catalogue()


def tts_models() -> list[dict[str, Any]]:
    """Return `/v1/models`' `tts` list."""
    return [voice.model_entry() for voice in VOICES.values()]


def model_by_uuid(model_uuid: str) -> dict[str, Any] | None:
    """Return one TTS model's entry, as `/v1/models/{uuid}` does, or None."""
    for voice in VOICES.values():
        if voice.uuid == model_uuid:
            return voice.model_entry()
    return None
