"""Translations: every language says everything en.json says, with the same placeholders."""

from __future__ import annotations

from functools import cache
import json
from pathlib import Path
import re
from typing import Any

import pytest

TRANSLATIONS = Path(__file__).parents[1] / "custom_components" / "deepgram" / "translations"
REQUIRED_LANGUAGES = {"de", "es", "fr", "nl"}
LANGUAGES = sorted(path.stem for path in TRANSLATIONS.glob("*.json") if path.stem != "en")

PLACEHOLDER = re.compile(r"\{(\w+)\}")
# What may stay untranslated inside a string: product names and URLs.
NAMES_AND_URLS = re.compile(r"https?://\S+|\b(?:Home Assistant|Deepgram|Nova-3|Flux|Assist)\b")
LETTER = re.compile(r"[^\W\d_]")

# (language, key) whose translation is rightly the English word. Keep this tiny:
# Dutch writes "model" exactly as English does, and the one-word field label has
# no other natural Dutch rendering.
SAME_AS_ENGLISH = {
    ("nl", "config.step.user.data.model"),
    ("nl", "config_subentries.stt.step.user.data.model"),
    ("nl", "config_subentries.stt.step.reconfigure.data.model"),
}


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, failing on a repeated key (json.loads keeps the last silently)."""
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        message = f"repeated keys: {', '.join(repeated)}"
        raise ValueError(message)
    return dict(pairs)


def _load(language: str) -> Any:
    text = (TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8")
    return json.loads(text, object_pairs_hook=_reject_duplicate_keys)


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Map each leaf's dotted key path (e.g. "config.error.unknown") to its value."""
    leaves: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            leaves.update(_flatten(value, path))
        else:
            leaves[path] = value
    return leaves


@cache
def _strings(language: str) -> dict[str, Any]:
    return _flatten(_load(language))


ENGLISH = _strings("en")
LANGUAGE_KEYS = [
    pytest.param(language, key, id=f"{language}:{key}") for language in LANGUAGES for key in ENGLISH
]


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _only_names_and_urls(text: str) -> bool:
    """Whether nothing translatable is left once product names, URLs and placeholders go."""
    return not LETTER.search(PLACEHOLDER.sub("", NAMES_AND_URLS.sub("", text)))


def _translated(language: str, key: str) -> str:
    strings = _strings(language)
    if key not in strings:
        pytest.fail(f"{language}.json lacks {key}")
    return strings[key]


def test_required_languages_exist() -> None:
    """German, Spanish, French and Dutch are shipped next to en.json."""
    assert set(LANGUAGES) >= REQUIRED_LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_valid_json_object(language: str) -> None:
    """The file parses as a JSON object with no repeated keys."""
    assert isinstance(_load(language), dict)


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_keys_as_english(language: str) -> None:
    """The file has exactly en.json's key paths: none missing, none extra."""
    keys = set(_strings(language))
    assert sorted(set(ENGLISH) - keys) == [], "missing"
    assert sorted(keys - set(ENGLISH)) == [], "not in en.json"


@pytest.mark.parametrize(("language", "key"), LANGUAGE_KEYS)
def test_non_empty_string(language: str, key: str) -> None:
    """Where en.json has a string, the translation has a string with text in it."""
    value = _translated(language, key)
    assert isinstance(value, str)
    assert value.strip()


@pytest.mark.parametrize(("language", "key"), LANGUAGE_KEYS)
def test_same_placeholders(language: str, key: str) -> None:
    """The translation uses exactly the {placeholders} of the English string."""
    assert _placeholders(_translated(language, key)) == _placeholders(ENGLISH[key])


@pytest.mark.parametrize(("language", "key"), LANGUAGE_KEYS)
def test_translated(language: str, key: str) -> None:
    """The translation differs from English unless it is only names and URLs."""
    value = _translated(language, key)
    if (language, key) in SAME_AS_ENGLISH or _only_names_and_urls(ENGLISH[key]):
        return
    assert value != ENGLISH[key]


@pytest.mark.parametrize(("language", "key"), sorted(SAME_AS_ENGLISH))
def test_same_as_english_is_still_needed(language: str, key: str) -> None:
    """Every allowed English-looking translation still exists and still equals English."""
    assert _translated(language, key) == ENGLISH[key]
