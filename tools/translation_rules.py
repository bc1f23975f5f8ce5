"""hassfest's translation rules: the structure of a translation file and each string's value.

The same checks as hassfest's translations plugin (script/hassfest/translations.py of
Home Assistant core), written out so the repository check needs no core checkout. Each
string is checked where hassfest checks it: no HTML, no placeholder in single quotes,
placeholders that are identifiers (and none where Home Assistant fills none in), no
reference combined with other text, no leading or trailing spaces, and no URL (hassfest
asks for description placeholders instead). Some names (field names of services and
selectors) hassfest only requires to be strings.
"""

from __future__ import annotations

from collections.abc import Iterator
import re
import string
from typing import Any

TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
SLUG = re.compile(r"^[a-z0-9_]+$")
HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)
QUOTED_PLACEHOLDER = re.compile(r"'{\w+}'")
COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
# A scheme (or www.), then a host with a dot and a 2-5 letter top-level domain.
URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5)://|www\.)"
    r"[a-z0-9]+([\-.][a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(/.*)?)",
    re.IGNORECASE,
)


# What a string in hassfest's translation schema is checked for.
STRING = "string"  # hassfest's value rules (see translation_values)
FIXED = "fixed"  # the same, and no placeholders: Home Assistant fills none in
PLAIN = "plain"  # any string: hassfest checks only that it is one
ANY = "*"

_STEP: dict[str, Any] = {
    "title": STRING,
    "description": STRING,
    "submit": STRING,
    "data": {ANY: STRING},
    "data_description": {ANY: STRING},
    "menu_options": {ANY: STRING},
    "menu_option_descriptions": {ANY: STRING},
    "sections": {
        ANY: {
            "name": STRING,
            "description": STRING,
            "data": {ANY: STRING},
            "data_description": {ANY: STRING},
        }
    },
}
_FLOW: dict[str, Any] = {
    "flow_title": STRING,
    "title": STRING,
    "step": {ANY: _STEP},
    "error": {ANY: STRING},
    "abort": {ANY: STRING},
    "progress": {ANY: STRING},
    "create_entry": {ANY: STRING},
    "initiate_flow": {ANY: STRING},
    "entry_type": STRING,
}
_STATES: dict[str, Any] = {ANY: FIXED}
_FIELDS: dict[str, Any] = {ANY: {"name": PLAIN, "description": STRING, "example": STRING}}
TRANSLATIONS_SCHEMA: dict[str, Any] = {
    "title": STRING,
    "config": _FLOW,
    "config_subentries": {ANY: _FLOW},
    "options": _FLOW,
    "preview_features": {
        ANY: {
            "name": STRING,
            "description": STRING,
            "enable_confirmation": STRING,
            "disable_confirmation": STRING,
        }
    },
    "selector": {
        ANY: {
            "choices": {ANY: STRING},
            "options": {ANY: STRING},
            "unit_of_measurement": {ANY: STRING},
            # Either "key": "name" (the old form) or "key": {"name", "description"}.
            "fields": {ANY: (PLAIN, {"name": PLAIN, "description": STRING})},
        }
    },
    "device_automation": {
        key: {ANY: STRING}
        for key in (
            *("action_type", "condition_type", "trigger_type", "trigger_subtype"),
            *("extra_fields", "extra_fields_descriptions"),
        )
    },
    "system_health": {"info": {ANY: STRING}},
    "config_panel": {ANY: {ANY: STRING}},
    "application_credentials": {"description": STRING},
    "issues": {ANY: {"title": STRING, "description": STRING, "fix_flow": _FLOW}},
    "entity_component": {
        ANY: {
            "name": PLAIN,
            "state": _STATES,
            "state_attributes": {ANY: {"name": PLAIN, "state": _STATES}},
        }
    },
    "device": {ANY: {"name": STRING}},
    "entity": {
        ANY: {
            ANY: {
                "name": STRING,
                "state": _STATES,
                "state_attributes": {ANY: {"name": FIXED, "state": _STATES}},
                "unit_of_measurement": FIXED,
            }
        }
    },
    "exceptions": {ANY: {"message": STRING}},
    "services": {
        ANY: {
            "name": STRING,
            "description": STRING,
            "fields": _FIELDS,
            "sections": {ANY: {"name": PLAIN, "description": STRING}},
        }
    },
    "conditions": {ANY: {"name": STRING, "description": STRING, "fields": _FIELDS}},
    "triggers": {ANY: {"name": STRING, "description": STRING, "fields": _FIELDS}},
    "conversation": {"agent": {"done": STRING}},
    "common": {ANY: STRING},
}
# Keys chosen by the integration that Home Assistant looks up by translation key.
_KEYED = {
    ("entity", 1): TRANSLATION_KEY,
    ("entity", 2): TRANSLATION_KEY,
    ("exceptions", 1): SLUG,
    ("device", 1): TRANSLATION_KEY,
    ("services", 1): TRANSLATION_KEY,
    ("preview_features", 1): TRANSLATION_KEY,
}
type Where = tuple[str, ...]


def _walk(value: Any, schema: Any, where: Where) -> Iterator[tuple[Where, str]]:
    """Yield (path, problem) for everything in `value` that `schema` does not allow."""
    if isinstance(schema, tuple):  # Alternatives: a plain string, or an object.
        schema = PLAIN if isinstance(value, str) else schema[-1]
    if isinstance(schema, str):
        if not isinstance(value, str):
            yield where, f"must be a string, not {type(value).__name__}"
        return
    if not isinstance(value, dict):
        yield where, "must be an object"
        return
    for key, item in value.items():
        pattern = _KEYED.get((where[0], len(where))) if where else None
        if pattern is not None and not pattern.fullmatch(key):
            yield (*where, key), "is not a valid translation key (lowercase a-z, 0-9, - and _)"
        if key in schema:
            yield from _walk(item, schema[key], (*where, key))
        elif ANY in schema:
            yield from _walk(item, schema[ANY], (*where, key))
        else:
            yield (*where, key), "is not a key Home Assistant knows here"


def _strings_in(value: Any, schema: Any, where: Where) -> Iterator[tuple[Where, str, str]]:
    """Yield (path, text, kind) for each string where the schema expects one."""
    if isinstance(schema, tuple):
        schema = PLAIN if isinstance(value, str) else schema[-1]
    if isinstance(schema, str):
        if isinstance(value, str):
            yield where, value, schema
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        inner = schema.get(key, schema.get(ANY))
        if inner is not None:
            yield from _strings_in(item, inner, (*where, key))


def schema_problems(data: dict[str, Any]) -> Iterator[tuple[Where, str]]:
    """Yield (path, problem) for each key or value hassfest's schema refuses."""
    return _walk(data, TRANSLATIONS_SCHEMA, ())


def schema_strings(data: dict[str, Any]) -> Iterator[tuple[Where, str, str]]:
    """Yield (path, text, kind) for each string where the schema expects one."""
    return _strings_in(data, TRANSLATIONS_SCHEMA, ())


def value_problems(text: str, *, placeholders: bool = True) -> Iterator[str]:
    """Yield what hassfest rejects in one string; `placeholders` False where none are filled."""
    if HTML.search(text):
        yield "contains HTML"
    if QUOTED_PLACEHOLDER.search(text):
        yield "puts a placeholder in single quotes"
    yield from _placeholder_problems(text, allowed=placeholders)
    if COMBINED_REFERENCE.search(text):
        yield "combines a [%key:...%] reference with other text"
    if text != text.strip():
        yield "has leading or trailing spaces"
    if match := URL.search(text):
        url = match.group(0).split()[0]
        yield f"contains a URL ({url}); pass it in description_placeholders instead"


def _placeholder_problems(text: str, *, allowed: bool) -> Iterator[str]:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name]
    except ValueError as err:  # An unmatched brace.
        yield f"has a broken placeholder: {err}"
        return
    if names and not allowed:
        yield f"has a placeholder ({{{names[0]}}}) where Home Assistant fills in none"
    for name in names:
        if not name.isidentifier():
            yield f"has a placeholder that is not an identifier: {{{name}}}"
