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

# One voice a line: architecture, language, name, gender (f/m), age (YA/A/M), region
# tag, accent (may hold spaces); `/v1/models` lists them in this order.
_CATALOGUE: Final = """
aura-2 en amalthea  f YA PH  Filipino
aura-2 en andromeda f A  US  American
aura-2 en apollo    m A  US  American
aura-2 en arcas     m A  US  American
aura-2 en aries     m A  US  American
aura-2 en asteria   f A  US  American
aura-2 en athena    f M  US  American
aura-2 en atlas     m M  US  American
aura-2 en aurora    f A  US  American
aura-2 en callista  f A  US  American
aura-2 en cora      f A  US  American
aura-2 en cordelia  f YA US  American
aura-2 en delia     f YA US  American
aura-2 en draco     m A  GB  British
aura-2 en electra   f A  US  American
aura-2 en harmonia  f A  US  American
aura-2 en helena    f A  US  American
aura-2 en hera      f A  US  American
aura-2 en hermes    m A  US  American
aura-2 en hyperion  m A  AU  Australian
aura-2 en iris      f YA US  American
aura-2 en janus     f A  US  American
aura-2 en juno      f A  US  American
aura-2 en jupiter   m A  US  American
aura-2 en luna      f YA US  American
aura-2 en mars      m A  US  American
aura-2 en minerva   f A  US  American
aura-2 en neptune   m A  US  American
aura-2 en odysseus  m A  US  American
aura-2 en ophelia   f A  US  American
aura-2 en orion     m A  US  American
aura-2 en orpheus   m A  US  American
aura-2 en pandora   f A  GB  British
aura-2 en phoebe    f A  US  American
aura-2 en pluto     m A  US  American
aura-2 en saturn    m A  US  American
aura-2 en selene    f A  US  American
aura-2 en thalia    f A  US  American
aura-2 en theia     f A  AU  American
aura-2 en vesta     f A  US  American
aura-2 en zeus      m A  US  American
aura-2 es agustina  f A  ES  Peninsular
aura-2 es alvaro    m A  ES  Peninsular
aura-2 es antonia   f A  AR  Argentine
aura-2 es aquila    m A  419 Latin American
aura-2 es carina    f A  ES  Peninsular
aura-2 es celeste   f YA CO  Colombian
aura-2 es diana     f A  ES  Peninsular
aura-2 es estrella  f M  MX  Mexican
aura-2 es gloria    f A  CO  Colombian
aura-2 es javier    m A  MX  Latin American
aura-2 es luciano   m A  MX  Mexican
aura-2 es nestor    m A  ES  Peninsular
aura-2 es olivia    f A  MX  Mexican
aura-2 es selena    f YA 419 Latin American
aura-2 es silvia    f A  ES  Peninsular
aura-2 es sirio     m A  MX  Mexican
aura-2 es valerio   m A  MX  Mexican
aura-2 de aurelia   f A  DE  German
aura-2 de elara     f A  DE  German
aura-2 de fabian    m A  DE  German
aura-2 de julius    m A  DE  German
aura-2 de kara      f A  DE  German
aura-2 de lara      f YA DE  German
aura-2 de viktoria  f A  DE  German
aura-2 nl beatrix   f A  NL  Dutch
aura-2 nl cornelia  f A  NL  Dutch
aura-2 nl daphne    f A  NL  Dutch
aura-2 nl hestia    f A  NL  Dutch
aura-2 nl lars      m A  NL  Dutch
aura-2 nl leda      f A  NL  Dutch
aura-2 nl rhea      f A  NL  Dutch
aura-2 nl roman     m A  NL  Dutch
aura-2 nl sander    m A  NL  Dutch
aura-2 fr agathe    f A  FR  French
aura-2 fr hector    m A  FR  French
aura-2 it cesare    m A  IT  Italian
aura-2 it cinzia    f A  IT  Italian
aura-2 it demetra   f A  IT  Italian
aura-2 it dionisio  m A  IT  Italian
aura-2 it elio      m A  IT  Italian
aura-2 it flavio    m A  IT  Italian
aura-2 it livia     f A  IT  Italian
aura-2 it maia      f A  IT  Italian
aura-2 it melia     f A  IT  Italian
aura-2 it perseo    m A  IT  Italian
aura-2 ja ama       f A  JP  Japanese
aura-2 ja ebisu     m A  JP  Japanese
aura-2 ja fujin     m A  JP  Japanese
aura-2 ja izanami   f A  JP  Japanese
aura-2 ja uzume     f A  JP  Japanese
aura   en asteria   f A  US  American
aura   en luna      f YA US  American
aura   en stella    f A  US  American
aura   en athena    f M  GB  British
aura   en hera      f A  US  American
aura   en orion     m A  US  American
aura   en arcas     m A  US  American
aura   en perseus   m A  US  American
aura   en angus     m A  IE  Irish
aura   en orpheus   m A  US  American
aura   en helios    m A  GB  British
aura   en zeus      m A  US  American
"""

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
    for line in _CATALOGUE.strip().splitlines():
        architecture, language, name, gender, age, region, accent = line.split(maxsplit=6)
        canonical = f"{architecture}-{name}-{language}"
        voices[canonical] = Voice(
            canonical, name, architecture, language, region, accent, age, gender
        )
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
