"""The speech models a Deepgram server offers, from its `GET /v1/models`.

Deepgram lists its speech models (`stt`) beside its voices (`tts`); each entry
names a model (`canonical_name`), the languages it takes and whether the live
endpoint serves it (`streaming`). A model may be listed once per language set,
so entries of one model are merged. The built-in table (`models.SPEECH_MODELS`)
describes what it knows (labels, key terms, Flux, `multi`'s languages); the
list decides which models and languages a server offers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
import json
from typing import Any, Final

import aiohttp
from yarl import URL

from .client import MAX_RESPONSE_BYTES, http_error, read_json
from .errors import DeepgramConnectionError
from .models import DEFAULT_MODEL, MULTILINGUAL, SPEECH_MODELS, SpeechModel
from .rest import read_body

MODELS_PATH: Final = "/v1/models"
# The whole list, voices included; Deepgram's is well under this.
MAX_MODEL_LIST_BYTES: Final = 4 * MAX_RESPONSE_BYTES
# Deepgram's names of the built-in table's models where they differ.
_CANONICAL_ALIASES: Final = {
    "nova-3-general": "nova-3",
    "nova-2-general": "nova-2",
    "nova-general": "nova",
}


@dataclass(frozen=True, slots=True)
class ModelList:
    """The streaming speech models a server offers, by the name sent as `model=`."""

    models: Mapping[str, SpeechModel]
    # True: the server's own list; False: the built-in table, as it could not be had.
    live: bool = False
    # Deepgram's English names of the languages, by code ({"sw": "Swahili"}).
    language_names: Mapping[str, str] = field(default_factory=dict)

    def offers(self, name: str) -> bool:
        """Whether the server offers the model for live streams."""
        return name in self.models

    def describe(self, name: str) -> SpeechModel:
        """Return the model as offered; else as the built-in table has it; else as named."""
        return self.models.get(name) or SPEECH_MODELS.get(name) or _unknown_model(name, ())


BUILT_IN_MODELS: Final = ModelList(SPEECH_MODELS)


async def fetch_model_list(
    session: aiohttp.ClientSession, server: str, api_key: str, *, bound: float
) -> dict[str, Any]:
    """Return the server's `GET /v1/models` document; map every failure to a DeepgramError."""
    url = URL(server + MODELS_PATH)
    try:
        async with asyncio.timeout(bound):
            async with session.get(url, headers={"Authorization": f"Token {api_key}"}) as response:
                if response.status != HTTPStatus.OK:
                    body = await read_json(response)
                    raise http_error(response.status, body, "Deepgram refused the model list")
                raw = await read_body(response, MAX_MODEL_LIST_BYTES)
    except TimeoutError as err:
        msg = f"Timed out listing Deepgram's models after {bound:g} s"
        raise DeepgramConnectionError(msg) from err
    except (aiohttp.ClientError, OSError) as err:
        msg = f"Cannot connect to {url.host}: {err}"
        raise DeepgramConnectionError(msg) from err
    try:
        document = json.loads(raw)
    except ValueError as err:
        msg = "Deepgram's model list is not JSON"
        raise DeepgramConnectionError(msg) from err
    if not isinstance(document, dict):
        msg = "Deepgram's model list is not a JSON object"
        raise DeepgramConnectionError(msg)
    return document


def parse_model_list(document: Any) -> ModelList | None:
    """Return the streaming models of a `GET /v1/models` document; None if it lists none.

    Malformed entries are skipped. Flux models live on `/v2/listen`, which the
    list may not cover: where it names no Flux model, the built-in ones stay offered.
    """
    entries = document.get("stt") if isinstance(document, dict) else None
    languages: dict[str, list[str]] = {}
    architectures: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("streaming") is not True:
            continue
        canonical = entry.get("canonical_name") or entry.get("name")
        tags = entry.get("languages")
        if not isinstance(canonical, str) or not canonical or not isinstance(tags, list):
            continue
        name = _CANONICAL_ALIASES.get(canonical, canonical)
        known = languages.setdefault(name, [])
        known.extend(
            tag
            for tag in (_tag(code) for code in tags if isinstance(code, str))
            if tag not in known
        )
        architecture = entry.get("architecture")
        architectures.setdefault(name, architecture if isinstance(architecture, str) else "")
    listed = {
        name: _listed_model(name, architectures[name], tags)
        for name, tags in languages.items()
        if tags
    }
    if not listed:
        return None
    if not any(model.flux for model in listed.values()):
        listed |= {name: model for name, model in SPEECH_MODELS.items() if model.flux}
    # The built-in table's order (its default first), then the server's own models.
    ordered = {name: listed[name] for name in SPEECH_MODELS if name in listed}
    ordered |= {name: model for name, model in listed.items() if name not in ordered}
    names = document.get("languages")
    language_names = {
        code: name
        for code, name in (names.items() if isinstance(names, dict) else ())
        if isinstance(code, str) and isinstance(name, str) and name
    }
    return ModelList(ordered, live=True, language_names=language_names)


def _tag(code: str) -> str:
    """Return a tag in the built-in table's case: "en-us" as "en-US", "zh-hans" as "zh-Hans"."""
    base, *subtags = code.strip().split("-")
    cased = [base.lower()]
    for subtag in subtags:
        if len(subtag) == 2 and subtag.isalpha():  # noqa: PLR2004 - a region
            cased.append(subtag.upper())
        elif len(subtag) == 4 and subtag.isalpha():  # noqa: PLR2004 - a script
            cased.append(subtag.title())
        else:
            cased.append(subtag)
    return "-".join(cased)


def _listed_model(name: str, architecture: str, languages: Iterable[str]) -> SpeechModel:
    """Describe a listed model: the built-in entry with the server's languages, or a new one."""
    tags = tuple(languages)
    if (known := SPEECH_MODELS.get(name)) is None:
        return _unknown_model(name, tags, architecture)
    ordered = (
        *(code for code in known.languages if code in tags),
        *(code for code in tags if code not in known.languages),
    )
    return replace(known, languages=ordered)


def _nova_generation(name: str) -> int | None:
    """Return the generation of a Nova model ("nova-2-meeting": 2, "nova-general": 1), else None."""
    family, *rest = name.split("-")
    if family != "nova":
        return None
    return int(rest[0]) if rest and rest[0].isdigit() else 1


def _unknown_model(name: str, languages: tuple[str, ...], architecture: str = "") -> SpeechModel:
    """Describe a model the built-in table lacks, after its family (Flux, Nova-3, older Nova)."""
    family = f"{architecture} {name}".lower()
    flux = "flux" in family
    older_nova = _nova_generation(name) in (1, 2)
    if not languages:
        # Neither listed nor built in (a stored model the server no longer lists).
        template = SPEECH_MODELS["nova-2" if older_nova else DEFAULT_MODEL]
        languages = ("en", MULTILINGUAL) if flux else template.languages
    return SpeechModel(
        name,
        name,
        languages,
        # Key terms came with Nova-3; older models take `keywords`.
        supports_keyterms=flux or not older_nova,
        flux=flux,
        # Flux's `multi` is reached by hints only.
        takes_language_hints=flux and MULTILINGUAL in languages,
    )
