"""Check the repository the way the HACS action and hassfest check a custom integration.

Run `scripts/check_repository` (or `python -m tools.check_repository [ROOT]`); it prints
each problem with the rule that found it and exits 1 if there is any. `--list` shows
the rules and whose each is: hassfest's, HACS's, or this project's own (stricter than
both). What the actions check that only GitHub knows (the repository's description,
topics, issues, releases) is out of reach here.

Sources of the rules: hassfest's manifest, translations, config_flow, dependencies and
json plugins; the HACS action's hacs.json, manifest, brands and information validators;
the Home Assistant brands guidelines for image sizes. The project's own rules go further:
a license, one integration, a domain no core integration has, only known brand image
names, complete translations, and nothing outside tests/ importing tests.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
import json
import os
from pathlib import Path
import re
import sys
from typing import Any
from urllib.parse import urlparse

from .translation_rules import (
    PLAIN,
    SLUG,
    STRING,
    schema_problems,
    schema_strings,
    value_problems,
)

ROOT = Path(__file__).resolve().parents[1]

HACS_JSON_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "name": str,
    "content_in_root": bool,
    "country": (str, list),
    "filename": str,
    "hacs": str,
    "hide_default_branch": bool,
    "homeassistant": str,
    "persistent_directory": str,
    "render_readme": bool,
    "zip_release": bool,
}

# Keys hassfest's custom-integration manifest schema knows (it rejects any other).
MANIFEST_KEYS = frozenset(
    {
        *("domain", "name", "integration_type", "config_flow", "mqtt", "zeroconf", "ssdp"),
        *("bluetooth", "homekit", "dhcp", "usb", "documentation", "issue_tracker"),
        *("quality_scale", "requirements", "dependencies", "after_dependencies"),
        *("codeowners", "loggers", "disabled", "iot_class", "single_config_entry"),
        *("version", "import_executor", "preview_features"),
    }
)
# hassfest requires these of a custom integration (iot_class of every non-platform domain).
MANIFEST_REQUIRED = ("domain", "name", "codeowners", "documentation", "iot_class", "version")
# The HACS action's manifest check also requires these.
HACS_MANIFEST_REQUIRED = ("issue_tracker",)
# A custom integration's documentation is its own, not a core integration's page.
CORE_DOCUMENTATION = "https://www.home-assistant.io/integrations"
PREVIEW_FEATURE_URLS = frozenset({"feedback_url", "learn_more_url", "report_issue_url"})
IOT_CLASSES = frozenset(
    {"assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"}
)
INTEGRATION_TYPES = frozenset(
    {"device", "entity", "hardware", "helper", "hub", "service", "system"}
)
MANIFEST_STRING_LISTS = ("codeowners", "requirements", "dependencies", "after_dependencies")
MANIFEST_BOOLEANS = ("config_flow", "single_config_entry", "import_executor")
DOMAIN_PATTERN = re.compile(r"^[a-z0-9_]+$")

# Entity platforms and the core integrations hassfest lets any integration import.
ENTITY_PLATFORMS = frozenset(
    {
        *("ai_task", "air_quality", "alarm_control_panel", "assist_satellite"),
        *("binary_sensor", "button", "calendar", "camera", "climate", "conversation"),
        *("cover", "date", "datetime", "device_tracker", "event", "fan", "geo_location"),
        *("humidifier", "image", "image_processing", "lawn_mower", "light", "lock"),
        *("media_player", "notify", "number", "remote", "scene", "select", "sensor"),
        *("siren", "stt", "switch", "text", "time", "todo", "tts", "update", "vacuum"),
        *("valve", "wake_word", "water_heater", "weather"),
    }
)
ALLOWED_COMPONENT_IMPORTS = ENTITY_PLATFORMS | frozenset(
    {
        *("alert", "automation", "default_config", "device_automation", "frontend"),
        *("group", "homeassistant", "input_boolean", "input_button", "input_datetime"),
        *("input_number", "input_select", "input_text", "media_source", "onboarding"),
        *("panel_custom", "persistent_notification", "person", "script", "shopping_list"),
        *("sun", "system_health", "system_log", "timer", "webhook", "websocket_api"),
        *("zone", "mjpeg", "stream"),
    }
)

# Discovery integrations an integration may import when its manifest uses them.
DISCOVERY_INTEGRATIONS: Mapping[str, tuple[str, ...]] = {
    "dhcp": ("dhcp",),
    "mqtt": ("mqtt",),
    "ssdp": ("ssdp",),
    "zeroconf": ("zeroconf", "homekit"),
}

BRAND_NAMES = frozenset(
    f"{prefix}{kind}{scale}.png"
    for prefix in ("", "dark_")
    for kind in ("icon", "logo")
    for scale in ("", "@2x")
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ICON_SIZES = {"": 256, "@2x": 512}
LOGO_SHORTEST_SIDE = {"": (128, 256), "@2x": (256, 512)}

LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING")
# Opening words GitHub's license detection recognises, for OSI-approved licenses.
LICENSE_MARKERS = (
    "MIT License",
    "Permission is hereby granted, free of charge",
    "Apache License",
    "GNU GENERAL PUBLIC LICENSE",
    "GNU LESSER GENERAL PUBLIC LICENSE",
    "Mozilla Public License",
    "BSD 2-Clause",
    "BSD 3-Clause",
    "Redistribution and use in source and binary forms",
    "ISC License",
    "The Unlicense",
    "This is free and unencumbered software",
)

REFERENCE = re.compile(r"\[%key:[^%]*%\]")
PLACEHOLDER = re.compile(r"{(\w+)}")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing the actions would reject."""

    rule: str
    path: str
    message: str

    def __str__(self) -> str:
        """Format as `path: message [rule]`."""
        return f"{self.path}: {self.message} [{self.rule}]"


HASSFEST = "hassfest"
HACS = "HACS"
PROJECT = "project"


@dataclass(frozen=True, slots=True)
class Rule:
    """A check: its id, whose rule it is, what it enforces, and the function that does.

    `origin` is hassfest or HACS (their actions reject what the rule finds) or project
    (this repository's own rule, stricter than both).
    """

    id: str
    origin: str
    summary: str
    check: Callable[[Repository], Iterator[str | tuple[str, str]]]


class Repository:
    """The files the checks read, parsed once."""

    def __init__(self, root: Path) -> None:
        """Check the repository at `root`."""
        self.root = root

    def relative(self, path: Path) -> str:
        """Return `path` relative to the root, for messages."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def load_json(self, path: Path) -> tuple[Any, str | None]:
        """Return the parsed file, or None and why it cannot be read."""
        try:
            return json.loads(path.read_text(encoding="utf-8")), None
        except FileNotFoundError:
            return None, "is missing"
        except (OSError, UnicodeDecodeError, ValueError) as err:
            return None, f"is not valid JSON: {err}"

    @cached_property
    def hacs(self) -> dict[str, Any] | None:
        """Return hacs.json if it is a JSON object."""
        data, _ = self.load_json(self.root / "hacs.json")
        return data if isinstance(data, dict) else None

    @cached_property
    def integrations(self) -> list[Path]:
        """Return the directories under custom_components/ that hold a manifest."""
        base = self.root / "custom_components"
        if not base.is_dir():
            return []
        return sorted(path.parent for path in base.glob("*/manifest.json"))

    @cached_property
    def integration(self) -> Path | None:
        """Return the one integration directory, if there is exactly one."""
        return self.integrations[0] if len(self.integrations) == 1 else None

    @cached_property
    def manifest(self) -> dict[str, Any] | None:
        """Return the integration's manifest if it is a JSON object."""
        if self.integration is None:
            return None
        data, _ = self.load_json(self.integration / "manifest.json")
        return data if isinstance(data, dict) else None

    @cached_property
    def translations(self) -> dict[str, Any] | None:
        """Return translations/en.json if it is a JSON object."""
        if self.integration is None:
            return None
        data, _ = self.load_json(self.integration / "translations" / "en.json")
        return data if isinstance(data, dict) else None

    def in_integration(self, *parts: str) -> str:
        """Return a path inside the integration, relative to the root, for messages."""
        base = self.integration or self.root / "custom_components"
        return self.relative(base.joinpath(*parts))

    @property
    def translations_path(self) -> str:
        """Return the relative path of translations/en.json."""
        return self.in_integration("translations", "en.json")

    def python_files(self) -> Iterator[tuple[Path, ast.Module]]:
        """Yield each Python file of the integration with its syntax tree."""
        if self.integration is None:
            return
        for path in sorted(self.integration.rglob("*.py")):
            try:
                yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))
            except (SyntaxError, UnicodeDecodeError):
                continue


# --- hacs.json, README, license -------------------------------------------------------


def check_hacs_json(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that hacs.json is in the root and is a JSON object."""
    data, error = repo.load_json(repo.root / "hacs.json")
    if error:
        yield "hacs.json", error
    elif not isinstance(data, dict):
        yield "hacs.json", "must be a JSON object"


def check_hacs_json_keys(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that hacs.json has a name, no unknown keys, and values of the right types."""
    hacs = repo.hacs
    if hacs is None:
        return
    if not isinstance(hacs.get("name"), str) or not hacs["name"].strip():
        yield "hacs.json", '"name" is required: the name HACS shows'
    for key, value in hacs.items():
        expected = HACS_JSON_KEYS.get(key)
        if expected is None:
            known = ", ".join(sorted(HACS_JSON_KEYS))
            yield "hacs.json", f'unknown key "{key}" (the HACS action allows: {known})'
        elif not isinstance(value, expected) or (expected is str and not value):
            yield "hacs.json", f'"{key}" has the wrong type: {value!r}'
    if hacs.get("zip_release") and not hacs.get("filename"):
        yield "hacs.json", '"zip_release" needs "filename"'
    if hacs.get("content_in_root"):
        yield "hacs.json", '"content_in_root" is true, but the integration is in custom_components/'
    country = hacs.get("country")
    for code in [country] if isinstance(country, str) else country or []:
        if not (isinstance(code, str) and re.fullmatch(r"[A-Z]{2}", code)):
            yield "hacs.json", f'"country" needs ISO 3166-1 alpha-2 codes such as "NL": {code!r}'
    for key in ("homeassistant", "hacs"):
        if isinstance(hacs.get(key), str) and not _valid_version(hacs[key]):
            yield "hacs.json", f'"{key}" is not a version: {hacs[key]!r}'


def check_readme(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check for a README in the root (the HACS information check)."""
    if not any((repo.root / name).is_file() for name in ("README.md", "README", "readme.md")):
        yield "README.md", "is missing: HACS shows it as the repository's information"


def check_license(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check for an OSI-approved license file GitHub can identify (the project's rule)."""
    for name in LICENSE_FILES:
        path = repo.root / name
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if not any(marker in text for marker in LICENSE_MARKERS):
                yield name, "does not look like an OSI-approved license GitHub can identify"
            return
    yield "LICENSE", "is missing: the project ships under an OSI-approved license"


# --- The integration and its manifest ---------------------------------------------------


def check_one_integration(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check for exactly one integration, in custom_components/<domain>/."""
    found = repo.integrations
    if not found:
        yield "custom_components", "holds no integration (no custom_components/*/manifest.json)"
    elif len(found) > 1:
        names = ", ".join(path.name for path in found)
        yield "custom_components", f"holds {len(found)} integrations ({names}); expected one"


def _manifest_path(repo: Repository) -> str:
    return repo.in_integration("manifest.json")


def check_manifest_json(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that manifest.json is a JSON object."""
    if repo.integration is None:
        return
    data, error = repo.load_json(repo.integration / "manifest.json")
    if error:
        yield _manifest_path(repo), error
    elif not isinstance(data, dict):
        yield _manifest_path(repo), "must be a JSON object"


def check_manifest_required(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check for the keys hassfest requires of a custom integration."""
    yield from _missing_manifest_keys(repo, MANIFEST_REQUIRED, "is required")


def check_hacs_manifest(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check for the keys the HACS action requires on top of hassfest's."""
    yield from _missing_manifest_keys(repo, HACS_MANIFEST_REQUIRED, "is required by HACS")


def _missing_manifest_keys(
    repo: Repository, keys: Iterable[str], problem: str
) -> Iterator[tuple[str, str]]:
    manifest = repo.manifest
    if manifest is None:
        return
    for key in keys:
        if key not in manifest:
            yield _manifest_path(repo), f'"{key}" {problem}'


def check_manifest_keys(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check for keys hassfest does not know (its schema rejects them)."""
    manifest = repo.manifest
    if manifest is None:
        return
    for key in manifest:
        if key not in MANIFEST_KEYS:
            yield _manifest_path(repo), f'unknown key "{key}"'


def check_manifest_order(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that keys are sorted as hassfest wants: domain, name, then alphabetical."""
    manifest = repo.manifest
    if manifest is None:
        return
    keys = list(manifest)
    wanted = sorted(keys, key=lambda key: {"domain": "", "name": "\x01"}.get(key, key))
    if keys != wanted:
        yield (
            _manifest_path(repo),
            "keys are not sorted as hassfest requires (domain, name, then alphabetical): "
            + ", ".join(wanted),
        )


def check_manifest_domain(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that the domain is the directory's name and a slug."""
    manifest = repo.manifest
    if manifest is None or repo.integration is None:
        return
    domain = manifest.get("domain")
    if not isinstance(domain, str) or not DOMAIN_PATTERN.fullmatch(domain):
        yield _manifest_path(repo), f'"domain" must be lowercase letters, digits and _: {domain!r}'
    elif domain != repo.integration.name:
        yield _manifest_path(repo), f'"domain" {domain!r} does not match the directory name'


def check_domain_not_core(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that the domain is no core integration's, which a custom one would shadow."""
    domain = (repo.manifest or {}).get("domain")
    if not isinstance(domain, str) or not DOMAIN_PATTERN.fullmatch(domain):
        return
    if (core := _core_components()) is not None and (core / domain).is_dir():
        yield _manifest_path(repo), f'"domain" {domain!r} collides with a core integration'


def check_manifest_version(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check for a version Home Assistant accepts (CalVer, SemVer, SimpleVer, BuildVer, PEP 440)."""
    manifest = repo.manifest
    if manifest is None or "version" not in manifest:
        return
    version = manifest["version"]
    if not isinstance(version, str) or not _valid_version(version, strict=True):
        yield (
            _manifest_path(repo),
            f'"version" is not a version Home Assistant accepts: {version!r}',
        )


def check_manifest_values(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check value types: URLs, lists of strings, known iot_class and integration_type."""
    manifest = repo.manifest
    if manifest is None:
        return
    path = _manifest_path(repo)
    for problem in (*_manifest_types(manifest), *_manifest_choices(manifest)):
        yield path, problem


def _manifest_types(manifest: dict[str, Any]) -> Iterator[str]:
    if "name" in manifest and (not isinstance(manifest["name"], str) or not manifest["name"]):
        yield '"name" must be a non-empty string'
    for key in ("documentation", "issue_tracker"):
        if key in manifest and not _is_url(manifest[key], https=key == "documentation"):
            scheme = "an https URL" if key == "documentation" else "a URL"
            yield f'"{key}" must be {scheme}: {manifest[key]!r}'
    documentation = manifest.get("documentation")
    if isinstance(documentation, str) and documentation.startswith(CORE_DOCUMENTATION):
        yield (
            '"documentation" must point at this integration\'s own documentation, '
            f"not {CORE_DOCUMENTATION}"
        )
    yield from _preview_features(manifest.get("preview_features", {}))
    for key in MANIFEST_STRING_LISTS:
        value = manifest.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            yield f'"{key}" must be a list of strings'
    for key in MANIFEST_BOOLEANS:
        if key in manifest and not isinstance(manifest[key], bool):
            yield f'"{key}" must be true or false'


def _preview_features(features: Any) -> Iterator[str]:
    """hassfest: slug keys, each an object of feedback/learn-more/report-issue URLs."""
    if not isinstance(features, dict):
        yield '"preview_features" must be an object'
        return
    for name, feature in features.items():
        if not SLUG.fullmatch(name):
            yield f'"preview_features" key {name!r} must be lowercase a-z, 0-9 and _'
        if not isinstance(feature, dict):
            yield f'"preview_features.{name}" must be an object'
            continue
        for key, value in feature.items():
            if key not in PREVIEW_FEATURE_URLS:
                yield f'"preview_features.{name}" has an unknown key "{key}"'
            elif not _is_url(value, https=False):
                yield f'"preview_features.{name}.{key}" must be a URL: {value!r}'


def _manifest_choices(manifest: dict[str, Any]) -> Iterator[str]:
    owners = manifest.get("codeowners")
    for owner in owners if isinstance(owners, list) else []:
        if isinstance(owner, str) and not owner.startswith("@"):
            yield f'code owners are GitHub handles starting with "@": {owner!r}'
    if "iot_class" in manifest and manifest["iot_class"] not in IOT_CLASSES:
        yield f'"iot_class" must be one of {", ".join(sorted(IOT_CLASSES))}'
    if "integration_type" in manifest and manifest["integration_type"] not in INTEGRATION_TYPES:
        yield f'"integration_type" must be one of {", ".join(sorted(INTEGRATION_TYPES))}'


def check_config_flow(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that "config_flow" is true exactly when config_flow.py exists."""
    manifest = repo.manifest
    if manifest is None or repo.integration is None:
        return
    has_module = (repo.integration / "config_flow.py").is_file()
    declared = manifest.get("config_flow", False) is True
    if has_module and not declared:
        yield (
            _manifest_path(repo),
            'config_flow.py exists, so the manifest needs "config_flow": true',
        )
    elif declared and not has_module:
        yield _manifest_path(repo), '"config_flow" is true, but config_flow.py is missing'


def check_dependencies(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that imported integrations are declared dependencies (hassfest dependencies)."""
    manifest = repo.manifest
    if manifest is None or repo.integration is None:
        return
    allowed = set(ALLOWED_COMPONENT_IMPORTS | _platforms()) | {repo.integration.name}
    for key in ("dependencies", "after_dependencies"):
        if isinstance(manifest.get(key), list):
            allowed |= {item for item in manifest[key] if isinstance(item, str)}
    if "bluetooth_adapters" in allowed:
        allowed.add("bluetooth")
    for domain, keys in DISCOVERY_INTEGRATIONS.items():
        if any(key in manifest for key in keys):
            allowed.add(domain)
    for path, tree in repo.python_files():
        for domain, line in sorted(_component_imports(tree)):
            platform = repo.integration / domain
            if domain not in allowed and not (
                platform.with_suffix(".py").is_file() or platform.is_dir()
            ):
                yield (
                    f"{repo.relative(path)}:{line}",
                    (
                        f"uses the {domain} integration, which is not in the manifest's "
                        '"dependencies" or "after_dependencies"'
                    ),
                )


def check_json_files(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that every JSON file of the integration parses (hassfest json)."""
    if repo.integration is None:
        return
    for path in sorted(repo.integration.rglob("*.json")):
        _, error = repo.load_json(path)
        if error:
            yield repo.relative(path), error


# --- Translations -----------------------------------------------------------------------


def _strings(value: Any, where: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*where, key))
    elif isinstance(value, str):
        yield where, value


def check_translations_schema(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that translations/en.json exists (with a config flow) and has hassfest's structure."""
    if repo.integration is None:
        return
    path = repo.integration / "translations" / "en.json"
    needed = (repo.integration / "config_flow.py").is_file()
    data, error = repo.load_json(path)
    if error == "is missing" and not needed:
        return
    if error:
        yield repo.relative(path), error
        return
    if not isinstance(data, dict):
        yield repo.relative(path), "must be a JSON object"
        return
    for where, problem in schema_problems(data):
        yield repo.relative(path), f"{'.'.join(where)} {problem}"
    for flow in ("config", "options"):
        for step_id, step in _steps(data, flow).items():
            yield from _data_descriptions(repo, f"{flow}.step.{step_id}", step)


def _data_descriptions(repo: Repository, where: str, step: Any) -> Iterator[tuple[str, str]]:
    """hassfest: each data_description key of a step names one of the step's own fields.

    hassfest looks at the step's `data` only; a section's descriptions are checked the
    same way against the section's `data`.
    """
    if not isinstance(step, dict):
        return
    parts: list[tuple[str, Any]] = [(where, step)]
    sections = step.get("sections")
    for name, section in sections.items() if isinstance(sections, dict) else ():
        parts.append((f"{where}.sections.{name}", section))
    for place, part in parts:
        if not isinstance(part, dict) or not isinstance(part.get("data_description"), dict):
            continue
        data = _object(part.get("data"))
        for key in part["data_description"]:
            if key not in data:
                yield (
                    repo.translations_path,
                    f"{place}.data_description.{key} has no {place}.data.{key}",
                )


def _value_problems(data: dict[str, Any]) -> Iterator[str]:
    """Yield hassfest's value problems of one translation file, as `path problem`."""
    for where, text, kind in schema_strings(data):
        if kind != PLAIN:
            for problem in value_problems(text, placeholders=kind == STRING):
                yield f"{'.'.join(where)} {problem}"


def check_translations_values(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check each string of translations/en.json by hassfest's value rules."""
    if repo.translations is None:
        return
    for problem in _value_problems(repo.translations):
        yield repo.translations_path, problem


def check_translations_project(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check what this project asks beyond hassfest, in every language.

    No empty string; no [%key:...%] reference (only core's strings.json gets them
    resolved); no `config.title` (hassfest only warns); and the other languages obey
    hassfest's value rules too, which hassfest checks on en.json alone.
    """
    if repo.integration is None:
        return
    for path in sorted((repo.integration / "translations").glob("*.json")):
        data, _ = repo.load_json(path)
        if not isinstance(data, dict):
            continue
        name = repo.relative(path)
        for where, text in _strings(data):
            key = ".".join(where)
            if not text.strip():
                yield name, f"{key} is empty"
            if REFERENCE.search(text):
                yield (
                    name,
                    (
                        f"{key} uses a [%key:...%] reference, which only core integrations' "
                        "strings.json can use; write the text out"
                    ),
                )
        if isinstance(data.get("config"), dict) and "title" in data["config"]:
            yield name, "config.title is no longer used: the manifest's name is the title"
        if path.name != "en.json":
            for problem in _value_problems(data):
                yield name, problem


def _steps(translations: dict[str, Any], flow: str) -> dict[str, Any]:
    section = translations.get(flow)
    steps = section.get("step") if isinstance(section, dict) else None
    return steps if isinstance(steps, dict) else {}


def _flow_strings(translations: dict[str, Any], flow: str, kind: str) -> dict[str, Any]:
    section = translations.get(flow)
    strings = section.get(kind) if isinstance(section, dict) else None
    return strings if isinstance(strings, dict) else {}


def check_translations_complete(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that every step, field, section, error, abort, exception and placeholder has text."""
    translations = repo.translations
    if translations is None or repo.integration is None:
        return
    usage = _collect_usage(repo)
    for flow, flow_usage in usage.flows.items():
        for problem in _flow_gaps(translations, flow, flow_usage):
            yield repo.translations_path, problem
    for problem in _exception_gaps(translations, usage):
        yield repo.translations_path, problem
    entities = _object(translations.get("entity"))
    for (platform, key), line in sorted(usage.entity_keys.items()):
        if key not in _object(entities.get(platform)):
            yield repo.translations_path, f"entity.{platform}.{key} is missing (used at {line})"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _flow_gaps(translations: dict[str, Any], flow: str, usage: FlowUsage) -> Iterator[str]:
    """Yield what one flow shows but the translations do not name."""
    steps = _steps(translations, flow)
    labels = _labels(steps)
    for step_id, line in sorted(usage.steps.items()):
        if step_id not in steps:
            yield f"{flow}.step.{step_id} is missing (the form at {line})"
    for key, line in sorted(usage.fields.items()):
        if key not in labels["data"]:
            yield f"no {flow}.step.*.data.{key} label for the form field at {line}"
    for key, line in sorted(usage.sections.items()):
        if key not in labels["sections"]:
            yield f"no {flow}.step.*.sections.{key} for the section at {line}"
    for kind, used in (("error", usage.errors), ("abort", usage.aborts)):
        known = _flow_strings(translations, flow, kind)
        for key, line in sorted(used.items()):
            if key not in known:
                yield f"{flow}.{kind}.{key} is missing (used at {line})"
    yield from _placeholder_gaps(steps, flow, usage)


def _placeholder_gaps(steps: dict[str, Any], flow: str, usage: FlowUsage) -> Iterator[str]:
    """Yield step texts with a {placeholder} the flow never provides."""
    for step_id, provided in sorted(usage.placeholders.items()):
        if provided is None:  # Built at run time: cannot tell.
            continue
        for where, text in _strings(_object(steps.get(step_id))):
            for name in PLACEHOLDER.findall(text):
                if name not in provided:
                    yield (
                        f"{flow}.step.{step_id}.{'.'.join(where)} uses {{{name}}}, which "
                        "the flow does not provide in description_placeholders"
                    )


def _exception_gaps(translations: dict[str, Any], usage: Usage) -> Iterator[str]:
    """Yield exceptions raised with a translation key the translations lack."""
    exceptions = _object(translations.get("exceptions"))
    for key, (line, provided) in sorted(usage.exceptions.items()):
        message = _object(exceptions.get(key)).get("message")
        if not isinstance(message, str):
            yield f"exceptions.{key}.message is missing (raised at {line})"
            continue
        for name in PLACEHOLDER.findall(message):
            if name not in provided:
                yield f"exceptions.{key}.message uses {{{name}}}, not given at {line}"


def _labels(steps: dict[str, Any]) -> dict[str, set[str]]:
    data: set[str] = set()
    sections: set[str] = set()
    for step in steps.values():
        if not isinstance(step, dict):
            continue
        data |= set(step.get("data") or {})
        for name, section in (step.get("sections") or {}).items():
            sections.add(name)
            if isinstance(section, dict):
                data |= set(section.get("data") or {})
    return {"data": data, "sections": sections}


# --- Reading the flows' source --------------------------------------------------------------


@dataclass(slots=True)
class FlowUsage:
    """What one flow (config or options) shows, by translation key, with source locations."""

    steps: dict[str, str]
    fields: dict[str, str]
    sections: dict[str, str]
    errors: dict[str, str]
    aborts: dict[str, str]
    placeholders: dict[str, set[str] | None]


@dataclass(slots=True)
class Usage:
    """What the integration's code asks the translations for."""

    flows: dict[str, FlowUsage]
    exceptions: dict[str, tuple[str, set[str]]]
    entity_keys: dict[tuple[str, str], str]


def _new_flow() -> FlowUsage:
    return FlowUsage({}, {}, {}, {}, {}, {})


def _collect_usage(repo: Repository) -> Usage:
    constants = _string_constants(repo)
    usage = Usage({"config": _new_flow(), "options": _new_flow()}, {}, {})
    for path, tree in repo.python_files():
        where = repo.relative(path)
        schemas = _module_schemas(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                _exception_usage(node, where, usage)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                flow = _flow_kind(node)
                if flow is not None:
                    _flow_usage(node, where, constants, schemas, usage.flows[flow])
                _entity_usage(node, path, where, usage)
        if path.name == "config_flow.py":
            # Module-level helpers (outside the classes) serve the config flow.
            for node in tree.body:
                if not isinstance(node, ast.ClassDef):
                    _flow_messages(node, where, usage.flows["config"])
    return usage


def _flow_kind(node: ast.ClassDef) -> str | None:
    names = {
        base.id if isinstance(base, ast.Name) else base.attr
        for base in node.bases
        if isinstance(base, ast.Name | ast.Attribute)
    }
    if any("OptionsFlow" in name for name in names):
        return "options"
    if any(name.endswith("ConfigFlow") for name in names):
        return "config"
    return None


def _module_schemas(tree: ast.Module) -> dict[str, ast.AST]:
    """Return module-level NAME = <expression> assignments, to follow schema names."""
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = node.value
    return found


def _string_constants(repo: Repository) -> dict[str, str]:
    """Map NAME -> "value" for string constants of the integration's modules."""
    constants: dict[str, str] = {}
    for _, tree in repo.python_files():
        for name, value in _module_schemas(tree).items():
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                constants[name] = value.value
    return constants


def _key_name(node: ast.AST, constants: dict[str, str]) -> str | None:
    """Resolve a schema key: a literal, a constant of ours, or Home Assistant's CONF_X."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    name = (
        node.id
        if isinstance(node, ast.Name)
        else node.attr
        if isinstance(node, ast.Attribute)
        else None
    )
    if name is None:
        return None
    if name in constants:
        return constants[name]
    # homeassistant.const spells every CONF_X as "x".
    return name.removeprefix("CONF_").lower() if name.startswith("CONF_") else None


def _is_call_to(node: ast.AST, *names: str) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = (
        func.attr
        if isinstance(func, ast.Attribute)
        else func.id
        if isinstance(func, ast.Name)
        else ""
    )
    return name in names


@dataclass(frozen=True, slots=True)
class Source:
    """A module being read: its path for messages, and its names."""

    where: str
    constants: dict[str, str]
    assignments: dict[str, ast.AST]


def _schema_keys(node: ast.AST, source: Source, flow: FlowUsage, seen: set[str]) -> None:
    """Record the fields and sections of every vol.Schema reachable from `node`."""
    where, constants, schemas = source.where, source.constants, source.assignments
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in schemas and child.id not in seen:
            seen.add(child.id)
            _schema_keys(schemas[child.id], source, flow, seen)
        if not isinstance(child, ast.Dict):
            continue
        for key, value in zip(child.keys, child.values, strict=True):
            if not isinstance(key, ast.Call) or not key.args:
                continue
            if not _is_call_to(key, "Required", "Optional"):
                continue
            name = _key_name(key.args[0], constants)
            if name is None:
                continue
            location = f"{where}:{key.lineno}"
            # A section may be built once and named: follow the name.
            target = schemas.get(value.id, value) if isinstance(value, ast.Name) else value
            if _is_call_to(target, "section"):
                flow.sections.setdefault(name, location)
            else:
                flow.fields.setdefault(name, location)


def _keyword(node: ast.Call, name: str) -> ast.AST | None:
    return next((kw.value for kw in node.keywords if kw.arg == name), None)


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dict_keys(
    node: ast.AST | None, assignments: Mapping[str, ast.AST] | None = None
) -> set[str] | None:
    """Return the literal keys of a dict display (or a module name bound to one), or None."""
    if node is None:
        return set()
    if isinstance(node, ast.Name) and assignments and node.id in assignments:
        node = assignments[node.id]
    if isinstance(node, ast.Dict):
        keys = {_literal(key) for key in node.keys if key is not None}
        if None in keys or None in node.keys:
            return None
        return {key for key in keys if key is not None}
    if isinstance(node, ast.Constant) and node.value is None:
        return set()
    return None


def _flow_messages(
    node: ast.AST, where: str, flow: FlowUsage, getters: frozenset[str] = frozenset()
) -> None:
    """Record error keys and abort reasons used under `node`.

    `getters` are the `_get_reauth_entry`/`_get_reconfigure_entry` calls nearby, which
    decide the default reason of `async_update_reload_and_abort`.
    """
    for child in ast.walk(node):
        if isinstance(child, ast.Dict):
            for key, value in zip(child.keys, child.values, strict=True):
                if _literal(key) == "base" and (error := _literal(value)):
                    flow.errors.setdefault(error, f"{where}:{child.lineno}")
        elif isinstance(child, ast.Assign):
            for target in child.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "errors"
                    and (error := _literal(child.value))
                ):
                    flow.errors.setdefault(error, f"{where}:{child.lineno}")
        elif isinstance(child, ast.Call):
            _abort_usage(child, where, flow, getters)


def _abort_usage(node: ast.Call, where: str, flow: FlowUsage, getters: frozenset[str]) -> None:
    location = f"{where}:{node.lineno}"
    if _is_call_to(node, "async_abort") and (reason := _literal(_keyword(node, "reason"))):
        flow.aborts.setdefault(reason, location)
    elif _is_call_to(node, "_abort_if_unique_id_configured", "_async_abort_entries_match"):
        flow.aborts.setdefault(_literal(_keyword(node, "reason")) or "already_configured", location)
    elif _is_call_to(node, "_abort_if_unique_id_mismatch"):
        flow.aborts.setdefault(_literal(_keyword(node, "reason")) or "unique_id_mismatch", location)
    elif _is_call_to(node, "async_update_reload_and_abort", "async_update_and_abort"):
        reason = _literal(_keyword(node, "reason"))
        if reason:
            flow.aborts.setdefault(reason, location)
        else:
            for default, getter in (
                ("reauth_successful", "_get_reauth_entry"),
                ("reconfigure_successful", "_get_reconfigure_entry"),
            ):
                if getter in getters:
                    flow.aborts.setdefault(default, location)


def _flow_usage(
    node: ast.ClassDef,
    where: str,
    constants: dict[str, str],
    schemas: dict[str, ast.AST],
    flow: FlowUsage,
) -> None:
    """Record what a flow class shows: steps, fields, sections, errors, aborts."""
    seen: set[str] = set()
    methods = [
        method for method in node.body if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    getters = {method.name: _entry_getters(method) for method in methods}
    class_getters = frozenset().union(*getters.values())
    for method in methods:
        for call in (child for child in ast.walk(method) if isinstance(child, ast.Call)):
            if not _is_call_to(call, "async_show_form", "async_show_menu", "async_show_progress"):
                continue
            step_id = _literal(_keyword(call, "step_id"))
            if step_id is None:
                continue
            flow.steps.setdefault(step_id, f"{where}:{call.lineno}")
            provided = _dict_keys(_keyword(call, "description_placeholders"), schemas)
            known = flow.placeholders.get(step_id, set())
            flow.placeholders[step_id] = (
                None if provided is None or known is None else known | provided
            )
        _schema_keys(method, Source(where, constants, schemas), flow, seen)
        _flow_messages(method, where, flow, getters[method.name] or class_getters)


def _entry_getters(method: ast.AST) -> frozenset[str]:
    """Return which of `_get_reauth_entry`/`_get_reconfigure_entry` a method calls."""
    return frozenset(
        call.func.attr
        for call in ast.walk(method)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in {"_get_reauth_entry", "_get_reconfigure_entry"}
    )


def _exception_usage(node: ast.Call, where: str, usage: Usage) -> None:
    key = _literal(_keyword(node, "translation_key"))
    if key is None or _keyword(node, "translation_domain") is None:
        return
    provided = _dict_keys(_keyword(node, "translation_placeholders")) or set()
    location = f"{where}:{node.lineno}"
    _, known = usage.exceptions.get(key, (location, set()))
    usage.exceptions[key] = (location, known | provided)


def _entity_usage(node: ast.ClassDef, path: Path, where: str, usage: Usage) -> None:
    """Record `_attr_translation_key = "x"` of entity classes in platform modules."""
    platform = path.stem
    if platform not in ENTITY_PLATFORMS:
        return
    for statement in node.body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        for target in targets:
            if isinstance(target, ast.Name) and target.id == "_attr_translation_key":
                value = getattr(statement, "value", None)
                if key := _literal(value):
                    usage.entity_keys[(platform, key)] = f"{where}:{statement.lineno}"


def _component_imports(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Yield (integration, line) for each import of homeassistant.components.<integration>.

    As hassfest: imports under `if TYPE_CHECKING:` (that whole statement) do not count,
    nor does http's `async_sign_path`.
    """
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "homeassistant.components.http.auth" and [
                alias.name for alias in node.names
            ] == ["async_sign_path"]:
                continue
            if node.module.startswith("homeassistant.components."):
                yield node.module.split(".")[2], node.lineno
            elif node.module == "homeassistant.components":
                for alias in node.names:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("homeassistant.components."):
                    yield alias.name.split(".")[2], node.lineno
        yield from _component_imports(node)


def _is_type_checking(test: ast.AST) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _platforms() -> frozenset[str]:
    """Home Assistant's entity platforms, which hassfest lets any integration import."""
    try:
        from homeassistant.const import Platform  # noqa: PLC0415
    except ImportError:
        return frozenset()
    return frozenset(platform.value for platform in Platform)


# --- Brand images -----------------------------------------------------------------------------


def check_brand_icon(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that brand/icon.png exists (the HACS brands check)."""
    if repo.integration is None:
        return
    icon = repo.integration / "brand" / "icon.png"
    if not icon.is_file():
        yield repo.relative(icon), "is missing: HACS requires a brand icon"


def check_brand_names(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that brand/ holds only the image names Home Assistant uses."""
    if repo.integration is None:
        return
    brand = repo.integration / "brand"
    if brand.is_dir():
        for path in sorted(brand.iterdir()):
            if path.name not in BRAND_NAMES:
                allowed = ", ".join(sorted(BRAND_NAMES))
                yield (
                    repo.relative(path),
                    f"is not a brand image name Home Assistant uses ({allowed})",
                )


def check_brand_images(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that brand images are PNG, sized per the brands guidelines, transparent, trimmed."""
    if repo.integration is None:
        return
    brand = repo.integration / "brand"
    for name in sorted(BRAND_NAMES):
        path = brand / name
        if path.is_file():
            for problem in _image_problems(path, name):
                yield repo.relative(path), problem


def _image_problems(path: Path, name: str) -> Iterator[str]:
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - only this rule needs Pillow

    if path.read_bytes()[:8] != PNG_SIGNATURE:
        yield "is not a PNG file"
        return
    try:
        with Image.open(path) as image:
            image.load()
            width, height = image.size
            has_alpha = image.mode in {"RGBA", "LA"} or "transparency" in image.info
            alpha = image.convert("RGBA").getchannel("A")
    except (OSError, UnidentifiedImageError) as err:
        yield f"cannot be read: {err}"
        return
    kind = "icon" if "icon" in name else "logo"
    scale = "@2x" if "@2x" in name else ""
    if kind == "icon" and (width, height) != (ICON_SIZES[scale],) * 2:
        size = ICON_SIZES[scale]
        yield f"is {width}x{height}; an icon{scale} must be {size}x{size}"
    if kind == "logo":
        low, high = LOGO_SHORTEST_SIDE[scale]
        if not low <= min(width, height) <= high:
            yield f"is {width}x{height}; a logo{scale}'s shortest side must be {low} to {high} px"
    if not has_alpha or alpha.getextrema()[0] == 255:  # noqa: PLR2004 - fully opaque
        yield "has no transparent background"
        return
    bbox = alpha.getbbox()
    if bbox is None:
        yield "is fully transparent"
        return
    left, top, right, bottom = bbox
    spans_width = left == 0 and right == width
    spans_height = top == 0 and bottom == height
    trimmed = (spans_width or spans_height) if kind == "icon" else (spans_width and spans_height)
    if not trimmed:
        yield f"is not trimmed: its content spans {bbox} of {width}x{height}"


# --- Helpers ------------------------------------------------------------------------------


# --- The project's layout ---------------------------------------------------------------


def _project_python_files(root: Path) -> Iterator[Path]:
    """Yield the Python files outside tests/, hidden directories and installed packages."""
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if not name.startswith(".")
            and name != "node_modules"
            and not (here == root and name == "tests")
        )
        yield from (here / name for name in sorted(files) if name.endswith(".py"))


def _imports_tests(tree: ast.AST) -> Iterator[int]:
    """Yield the line of each import of the `tests` package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "tests" or name.startswith("tests.") for name in names):
            yield node.lineno


def check_no_tests_imports(repo: Repository) -> Iterator[str | tuple[str, str]]:
    """Check that nothing outside tests/ imports from it: tools and benchmarks stand alone."""
    for path in _project_python_files(repo.root):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for line in _imports_tests(tree):
            yield f"{repo.relative(path)}:{line}", "imports tests; move what it needs out of tests/"


def _valid_version(value: str, *, strict: bool = False) -> bool:
    from awesomeversion import (  # noqa: PLC0415 - installed with Home Assistant
        AwesomeVersion,
        AwesomeVersionException,
        AwesomeVersionStrategy,
    )

    strategies = [
        AwesomeVersionStrategy.CALVER,
        AwesomeVersionStrategy.SEMVER,
        AwesomeVersionStrategy.SIMPLEVER,
        AwesomeVersionStrategy.BUILDVER,
        AwesomeVersionStrategy.PEP440,
    ]
    try:
        version = AwesomeVersion(value, ensure_strategy=strategies if strict else None)
    except AwesomeVersionException:
        return False
    return strict or version.strategy != AwesomeVersionStrategy.UNKNOWN


def _is_url(value: Any, *, https: bool) -> bool:
    if not isinstance(value, str):
        return False
    url = urlparse(value)
    schemes = {"https"} if https else {"http", "https"}
    return url.scheme in schemes and bool(url.netloc)


def _core_components() -> Path | None:
    try:
        from homeassistant import components  # noqa: PLC0415
    except ImportError:
        return None
    return Path(next(iter(components.__path__)))


RULES: tuple[Rule, ...] = (
    Rule("hacs-json", HACS, "hacs.json exists in the root and is a JSON object", check_hacs_json),
    Rule(
        "hacs-json-keys",
        HACS,
        "hacs.json: name, only the keys the HACS action allows, right types",
        check_hacs_json_keys,
    ),
    Rule("readme", HACS, "a README in the root", check_readme),
    Rule("license", PROJECT, "an OSI-approved license file", check_license),
    Rule(
        "one-integration",
        PROJECT,
        "exactly one integration under custom_components/",
        check_one_integration,
    ),
    Rule("hacs-manifest", HACS, "manifest: issue_tracker", check_hacs_manifest),
    Rule("manifest-json", HASSFEST, "manifest.json is a JSON object", check_manifest_json),
    Rule(
        "manifest-required",
        HASSFEST,
        "manifest: domain, name, codeowners, documentation, iot_class, version",
        check_manifest_required,
    ),
    Rule(
        "manifest-keys", HASSFEST, "manifest: no keys hassfest does not know", check_manifest_keys
    ),
    Rule(
        "manifest-order",
        HASSFEST,
        "manifest: domain, name, then keys in alphabetical order",
        check_manifest_order,
    ),
    Rule(
        "manifest-domain",
        HASSFEST,
        "manifest: domain = directory name, a slug",
        check_manifest_domain,
    ),
    Rule(
        "domain-not-core",
        PROJECT,
        "manifest: the domain is no core integration's",
        check_domain_not_core,
    ),
    Rule(
        "manifest-version",
        HASSFEST,
        "manifest: a version Home Assistant accepts",
        check_manifest_version,
    ),
    Rule(
        "manifest-values",
        HASSFEST,
        "manifest: URLs (documentation not a core page), lists, iot_class, preview_features",
        check_manifest_values,
    ),
    Rule(
        "config-flow",
        HASSFEST,
        'manifest "config_flow" matches config_flow.py',
        check_config_flow,
    ),
    Rule(
        "dependencies",
        HASSFEST,
        "imported integrations are declared dependencies (TYPE_CHECKING imports aside)",
        check_dependencies,
    ),
    Rule("json-files", HASSFEST, "every JSON file of the integration parses", check_json_files),
    Rule(
        "translations-schema",
        HASSFEST,
        "translations/en.json has hassfest's structure and translation keys",
        check_translations_schema,
    ),
    Rule(
        "translations-values",
        HASSFEST,
        "en.json strings: no URL, HTML, quoted or invalid placeholder, combined reference, "
        "outer spaces",
        check_translations_values,
    ),
    Rule(
        "translations-project",
        PROJECT,
        "every language: no empty string, no [%key:...%], no config.title; hassfest's "
        "value rules in the other languages too",
        check_translations_project,
    ),
    Rule(
        "translations-complete",
        PROJECT,
        "every step, field, section, error, abort, exception and placeholder is translated",
        check_translations_complete,
    ),
    Rule("brand-icon", HACS, "brand/icon.png exists", check_brand_icon),
    Rule(
        "brand-names",
        PROJECT,
        "brand/ holds only the image names Home Assistant uses",
        check_brand_names,
    ),
    Rule(
        "brand-images",
        PROJECT,
        "brand images: PNG, right sizes, transparent, trimmed (the brands guidelines)",
        check_brand_images,
    ),
    Rule(
        "no-tests-imports",
        PROJECT,
        "nothing outside tests/ imports tests",
        check_no_tests_imports,
    ),
)


def check(root: Path, rules: tuple[Rule, ...] = RULES) -> list[Problem]:
    """Run the rules on the repository at `root`; return every problem found."""
    repo = Repository(root)
    problems: list[Problem] = []
    for rule in rules:
        for found in rule.check(repo):
            path, message = found if isinstance(found, tuple) else ("", found)
            problems.append(Problem(rule.id, path, message))
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the repository; print the problems; return 1 if there are any."""
    parser = argparse.ArgumentParser(
        prog="scripts/check_repository",
        description="Check what the HACS action and hassfest check, and the project's own rules.",
    )
    parser.add_argument("root", nargs="?", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--list", action="store_true", help="list the rules and exit")
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.list:
        for rule in RULES:
            out.write(f"{rule.id:<22} {rule.origin:<9} {rule.summary}\n")
        return 0
    problems = check(args.root.resolve())
    for problem in problems:
        out.write(f"{problem}\n")
    if problems:
        out.write(f"check_repository: {len(problems)} problem(s) found by {len(RULES)} rules\n")
        return 1
    out.write(f"check_repository: {len(RULES)} rules, no problems\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
