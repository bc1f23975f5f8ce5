"""The repository check (scripts/check_repository): each rule, on a small example repository.

The example is a minimal integration written here, so these tests do not change when the
real integration does; one test checks the real repository itself.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import shutil
from typing import Any

from PIL import Image, ImageDraw
import pytest

from tools import check_repository
from tools.check_repository import RULES, check
from tools.translation_rules import value_problems

DOMAIN = "demo_stt"

MANIFEST = {
    "domain": DOMAIN,
    "name": "Demo STT",
    "codeowners": ["@someone"],
    "config_flow": True,
    "documentation": "https://github.com/someone/demo_stt",
    "integration_type": "service",
    "iot_class": "cloud_push",
    "issue_tracker": "https://github.com/someone/demo_stt/issues",
    "requirements": [],
    "version": "1.2.0",
}

CONST_PY = """\
DOMAIN = "demo_stt"
CONF_SERVER = "server"
CONF_ADVANCED = "advanced"
CONF_SPEED = "speed"
"""

INIT_PY = """\
from homeassistant.exceptions import ConfigEntryNotReady

from .const import DOMAIN


async def async_setup_entry(hass, entry):
    raise ConfigEntryNotReady(
        translation_domain=DOMAIN,
        translation_key="cannot_connect",
        translation_placeholders={"error": "down"},
    )
"""

CONFIG_FLOW_PY = """\
import voluptuous as vol

from homeassistant.config_entries import ConfigFlow, OptionsFlow
from homeassistant.const import CONF_API_KEY
from homeassistant.data_entry_flow import section

from .const import CONF_ADVANCED, CONF_SERVER, CONF_SPEED, DOMAIN

SERVER_SECTION = section(vol.Schema({vol.Optional(CONF_SERVER): str}))
USER_SCHEMA = vol.Schema(
    {vol.Required(CONF_API_KEY): str, vol.Required(CONF_ADVANCED): SERVER_SECTION}
)


def _check(key):
    if not key:
        return {"base": "invalid_auth"}
    return {}


class DemoConfigFlow(ConfigFlow, domain=DOMAIN):
    async def async_step_user(self, user_input=None):
        errors = {}
        if user_input is not None:
            errors = _check(user_input[CONF_API_KEY])
            if not errors:
                await self.async_set_unique_id("x")
                self._abort_if_unique_id_configured()
                return self.async_abort(reason="not_ready")
            errors["base"] = "unknown"
        return self.async_show_form(
            step_id="user",
            data_schema=USER_SCHEMA,
            errors=errors,
            description_placeholders={"url": "https://example.com"},
        )

    async def async_step_reauth_confirm(self, user_input=None):
        entry = self._get_reauth_entry()
        if user_input is not None:
            return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_confirm", data_schema=vol.Schema({vol.Required(CONF_API_KEY): str})
        )


class DemoOptionsFlow(OptionsFlow):
    async def async_step_init(self, user_input=None):
        return self.async_show_form(
            step_id="init", data_schema=vol.Schema({vol.Required(CONF_SPEED): int})
        )
"""

STT_PY = """\
from homeassistant.components.stt import SpeechToTextEntity


class DemoEntity(SpeechToTextEntity):
    _attr_translation_key = "demo"
"""

TRANSLATIONS: dict[str, Any] = {
    "config": {
        "step": {
            "user": {
                "title": "Connect",
                "description": "Get a key at {url}.",
                "data": {"api_key": "API key"},
                "data_description": {"api_key": "Your key."},
                "sections": {
                    "advanced": {
                        "name": "Server",
                        "data": {"server": "Server URL"},
                        "data_description": {"server": "Where it runs."},
                    }
                },
            },
            "reauth_confirm": {"data": {"api_key": "API key"}},
        },
        "error": {"invalid_auth": "Wrong key.", "unknown": "Unexpected error."},
        "abort": {
            "already_configured": "Already set up.",
            "not_ready": "Not ready.",
            "reauth_successful": "Done.",
        },
    },
    "options": {"step": {"init": {"data": {"speed": "Speed"}}}},
    "entity": {"stt": {"demo": {"name": "Demo"}}},
    "exceptions": {"cannot_connect": {"message": "Cannot connect: {error}"}},
}


def _png(
    path: Path, size: tuple[int, int], *, box: tuple[int, int, int, int] | None = None
) -> None:
    """Draw a rounded box on a transparent canvas (as large as the canvas by default)."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    left, top, right, bottom = box or (0, 0, *size)
    ImageDraw.Draw(image).rounded_rectangle(
        (left, top, right - 1, bottom - 1), radius=16, fill=(30, 90, 200, 255)
    )
    image.save(path)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Write a small repository that passes every rule."""
    _write_json(tmp_path / "hacs.json", {"name": "Demo", "homeassistant": "2026.2.0"})
    (tmp_path / "README.md").write_text("# Demo\n")
    shutil.copy(check_repository.ROOT / "LICENSE", tmp_path / "LICENSE")
    integration = tmp_path / "custom_components" / DOMAIN
    (integration / "translations").mkdir(parents=True)
    (integration / "brand").mkdir()
    _write_json(integration / "manifest.json", MANIFEST)
    (integration / "const.py").write_text(CONST_PY)
    (integration / "__init__.py").write_text(INIT_PY)
    (integration / "config_flow.py").write_text(CONFIG_FLOW_PY)
    (integration / "stt.py").write_text(STT_PY)
    _write_json(integration / "translations" / "en.json", TRANSLATIONS)
    _png(integration / "brand" / "icon.png", (256, 256))
    _png(integration / "brand" / "icon@2x.png", (512, 512), box=(0, 56, 512, 456))
    _png(integration / "brand" / "logo.png", (400, 128))
    return tmp_path


def _integration(repo: Path) -> Path:
    return repo / "custom_components" / DOMAIN


def _edit_json(path: Path, edit: Callable[[Any], Any]) -> None:
    data = json.loads(path.read_text())
    result = edit(data)
    _write_json(path, data if result is None else result)


def _edit_manifest(repo: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    _edit_json(_integration(repo) / "manifest.json", edit)


def _edit_translations(repo: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    _edit_json(_integration(repo) / "translations" / "en.json", edit)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _write_module(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _problems(repo: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in check(repo):
        found.setdefault(problem.rule, []).append(f"{problem.path}: {problem.message}")
    return found


def test_the_real_repository_passes() -> None:
    assert [str(problem) for problem in check(check_repository.ROOT)] == []


def test_the_example_passes(repo: Path) -> None:
    assert _problems(repo) == {}


def test_every_rule_has_a_case_here() -> None:
    assert {rule.id for rule in RULES} == {rule for _, rule, _ in CASES}


def _drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    """Remove a nested key, e.g. _drop("config", "error", "unknown")."""

    def edit(data: dict[str, Any]) -> None:
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return edit


def _name_last(manifest: dict[str, Any]) -> dict[str, Any]:
    name = manifest.pop("name")
    return {**manifest, "name": name}


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        for key in keys[:-1]:
            data = data.setdefault(key, {})
        data[keys[-1]] = value

    return edit


def _describe_server(text: str) -> Callable[[dict[str, Any]], None]:
    """Set the description of the advanced section's server field."""
    path = ("config", "step", "user", "sections", "advanced", "data_description", "server")
    return _set(*path, value=text)


CASES: list[tuple[Callable[[Path], Any], str, str]] = [
    # hacs.json
    (lambda repo: (repo / "hacs.json").unlink(), "hacs-json", "hacs.json: is missing"),
    (lambda repo: (repo / "hacs.json").write_text("{"), "hacs-json", "not valid JSON"),
    (lambda repo: _write_json(repo / "hacs.json", ["Demo"]), "hacs-json", "JSON object"),
    (
        lambda repo: _edit_json(repo / "hacs.json", _set("domains", value=["stt"])),
        "hacs-json-keys",
        'unknown key "domains"',
    ),
    (
        lambda repo: _edit_json(repo / "hacs.json", _drop("name")),
        "hacs-json-keys",
        '"name" is required',
    ),
    (
        lambda repo: _edit_json(repo / "hacs.json", _set("hide_default_branch", value="yes")),
        "hacs-json-keys",
        '"hide_default_branch" has the wrong type',
    ),
    (
        lambda repo: _edit_json(repo / "hacs.json", _set("zip_release", value=True)),
        "hacs-json-keys",
        '"zip_release" needs "filename"',
    ),
    (
        lambda repo: _edit_json(repo / "hacs.json", _set("homeassistant", value="soon")),
        "hacs-json-keys",
        '"homeassistant" is not a version',
    ),
    (
        lambda repo: _edit_json(repo / "hacs.json", _set("country", value=["nl"])),
        "hacs-json-keys",
        "ISO 3166-1",
    ),
    (
        lambda repo: _edit_json(repo / "hacs.json", _set("content_in_root", value=True)),
        "hacs-json-keys",
        '"content_in_root" is true',
    ),
    # README and license
    (lambda repo: (repo / "README.md").unlink(), "readme", "README.md: is missing"),
    (lambda repo: (repo / "LICENSE").unlink(), "license", "LICENSE: is missing"),
    (
        lambda repo: (repo / "LICENSE").write_text("All rights reserved.\n"),
        "license",
        "does not look like an OSI-approved license",
    ),
    # One integration
    (
        lambda repo: shutil.copytree(_integration(repo), repo / "custom_components" / "other"),
        "one-integration",
        "holds 2 integrations (demo_stt, other)",
    ),
    (
        lambda repo: shutil.rmtree(repo / "custom_components"),
        "one-integration",
        "holds no integration",
    ),
    # manifest.json
    (
        lambda repo: (_integration(repo) / "manifest.json").write_text("{,}"),
        "manifest-json",
        "manifest.json: is not valid JSON",
    ),
    (
        lambda repo: _edit_manifest(repo, _drop("version")),
        "manifest-required",
        '"version" is required',
    ),
    (
        lambda repo: _edit_manifest(repo, _drop("issue_tracker")),
        "hacs-manifest",
        '"issue_tracker" is required by HACS',
    ),
    (
        lambda repo: _edit_manifest(repo, _drop("iot_class")),
        "manifest-required",
        '"iot_class" is required',
    ),
    (
        lambda repo: _edit_manifest(repo, _set("categories", value=["ai_voice.speech"])),
        "manifest-keys",
        'unknown key "categories"',
    ),
    (
        lambda repo: _edit_manifest(repo, _name_last),
        "manifest-order",
        "domain, name, codeowners",
    ),
    (
        lambda repo: _edit_manifest(repo, _set("domain", value="demo")),
        "manifest-domain",
        "does not match the directory name",
    ),
    (
        lambda repo: _edit_manifest(repo, _set("domain", value="Demo-STT")),
        "manifest-domain",
        "lowercase letters",
    ),
    (
        lambda repo: (
            _integration(repo).rename(repo / "custom_components" / "stt"),
            _edit_json(
                repo / "custom_components" / "stt" / "manifest.json", _set("domain", value="stt")
            ),
        ),
        "domain-not-core",
        "collides with a core integration",
    ),
    (
        lambda repo: _edit_manifest(repo, _set("version", value="latest")),
        "manifest-version",
        "not a version Home Assistant accepts",
    ),
    (
        lambda repo: _edit_manifest(repo, _set("documentation", value="http://example.com")),
        "manifest-values",
        '"documentation" must be an https URL',
    ),
    (
        lambda repo: _edit_manifest(
            repo, _set("documentation", value="https://www.home-assistant.io/integrations/stt")
        ),
        "manifest-values",
        "not https://www.home-assistant.io/integrations",
    ),
    (
        lambda repo: _edit_manifest(
            repo, _set("preview_features", value={"fast_mode": {"docs_url": "https://x.io"}})
        ),
        "manifest-values",
        '"preview_features.fast_mode" has an unknown key "docs_url"',
    ),
    (
        lambda repo: _edit_manifest(
            repo, _set("preview_features", value={"fast_mode": {"feedback_url": "soon"}})
        ),
        "manifest-values",
        '"preview_features.fast_mode.feedback_url" must be a URL',
    ),
    (
        lambda repo: _edit_manifest(repo, _set("issue_tracker", value="the issues page")),
        "manifest-values",
        '"issue_tracker" must be a URL',
    ),
    (
        lambda repo: _edit_manifest(repo, _set("codeowners", value=["someone"])),
        "manifest-values",
        'starting with "@"',
    ),
    (
        lambda repo: _edit_manifest(repo, _set("requirements", value="aiohttp")),
        "manifest-values",
        '"requirements" must be a list of strings',
    ),
    (
        lambda repo: _edit_manifest(repo, _set("iot_class", value="cloud")),
        "manifest-values",
        '"iot_class" must be one of',
    ),
    (
        lambda repo: _edit_manifest(repo, _set("integration_type", value="thing")),
        "manifest-values",
        '"integration_type" must be one of',
    ),
    (
        lambda repo: _edit_manifest(repo, _set("config_flow", value="yes")),
        "manifest-values",
        '"config_flow" must be true or false',
    ),
    # config_flow.py and the manifest
    (
        lambda repo: _edit_manifest(repo, _drop("config_flow")),
        "config-flow",
        'needs "config_flow": true',
    ),
    (
        lambda repo: (_integration(repo) / "config_flow.py").unlink(),
        "config-flow",
        "config_flow.py is missing",
    ),
    # Dependencies
    (
        lambda repo: (_integration(repo) / "view.py").write_text(
            "from homeassistant.components.http import HomeAssistantView\n"
        ),
        "dependencies",
        "view.py:1: uses the http integration",
    ),
    # JSON files
    (
        lambda repo: (_integration(repo) / "icons.json").write_text("{'a': 1}"),
        "json-files",
        "icons.json: is not valid JSON",
    ),
    # The structure of the translations.
    (
        lambda repo: (_integration(repo) / "translations" / "en.json").unlink(),
        "translations-schema",
        "en.json: is missing",
    ),
    (
        lambda repo: _edit_translations(repo, _set("config", "step", "user", "help", value="x")),
        "translations-schema",
        "config.step.user.help is not a key Home Assistant knows here",
    ),
    (
        lambda repo: _edit_translations(repo, _set("services", value="none")),
        "translations-schema",
        "services must be an object",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("config", "step", "user", "data_description", "model", value="Model.")
        ),
        "translations-schema",
        "config.step.user.data_description.model has no config.step.user.data.model",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("exceptions", "Cannot-Connect", value={"message": "x"})
        ),
        "translations-schema",
        "exceptions.Cannot-Connect is not a valid translation key",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("preview_features", "Fast_Mode", value={"name": "Fast", "description": "x"})
        ),
        "translations-schema",
        "preview_features.Fast_Mode is not a valid translation key",
    ),
    # hassfest's rules for the text of each string of en.json.
    (
        lambda repo: _edit_translations(
            repo, _set("config", "error", "unknown", value="<b>Oops</b>")
        ),
        "translations-values",
        "config.error.unknown contains HTML",
    ),
    (
        lambda repo: _edit_translations(repo, _set("config", "error", "unknown", value="Oops. ")),
        "translations-values",
        "config.error.unknown has leading or trailing spaces",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("config", "step", "user", "description", value="Open '{url}'.")
        ),
        "translations-values",
        "puts a placeholder in single quotes",
    ),
    (
        lambda repo: _edit_translations(
            repo, _describe_server("For example https://api.example.com.")
        ),
        "translations-values",
        "server contains a URL (https://api.example.com)",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("config", "error", "unknown", value="See www.example.org for help.")
        ),
        "translations-values",
        "config.error.unknown contains a URL (www.example.org",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("config", "error", "unknown", value="Check mqtt://broker.lan:1883.")
        ),
        "translations-values",
        "contains a URL (mqtt://broker.lan:1883)",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("config", "step", "user", "description", value="Key number {0}.")
        ),
        "translations-values",
        "has a placeholder that is not an identifier: {0}",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("config", "step", "user", "description", value="Get a key at {url.")
        ),
        "translations-values",
        "has a broken placeholder",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("entity", "stt", "demo", "state", value={"ready": "Ready at {time}"})
        ),
        "translations-values",
        "entity.stt.demo.state.ready has a placeholder ({time}) where Home Assistant fills in",
    ),
    (
        lambda repo: _edit_translations(
            repo,
            _set("config", "abort", "not_ready", value="Not ready: [%key:common::state::off%]"),
        ),
        "translations-values",
        "config.abort.not_ready combines a [%key:...%] reference with other text",
    ),
    # This project's own rules for translations, in every language.
    (
        lambda repo: _edit_translations(repo, _set("config", "error", "unknown", value="")),
        "translations-project",
        "config.error.unknown is empty",
    ),
    (
        lambda repo: _edit_translations(
            repo,
            _set(
                "config",
                "abort",
                "already_configured",
                value="[%key:common::config_flow::abort::already_configured_device%]",
            ),
        ),
        "translations-project",
        "uses a [%key:...%] reference",
    ),
    (
        lambda repo: _edit_translations(repo, _set("config", "title", value="Demo")),
        "translations-project",
        "config.title is no longer used",
    ),
    (
        lambda repo: _write_json(
            _integration(repo) / "translations" / "de.json",
            {"config": {"error": {"unknown": "Siehe https://example.com/hilfe."}}},
        ),
        "translations-project",
        "de.json: config.error.unknown contains a URL",
    ),
    (
        lambda repo: _edit_translations(repo, _set("config", "error", "unknown", value=3)),
        "translations-schema",
        "config.error.unknown must be a string",
    ),
    (
        lambda repo: (
            _replace(
                _integration(repo) / "config_flow.py",
                'description_placeholders={"url": "https://example.com"}',
                "description_placeholders=PLACES",
            ),
            _replace(
                _integration(repo) / "config_flow.py",
                "SERVER_SECTION = ",
                'PLACES = {"url": "https://example.com"}\nSERVER_SECTION = ',
            ),
            _edit_translations(
                repo, _set("config", "step", "user", "description", value="See {url}, {site}.")
            ),
        ),
        "translations-complete",
        "config.step.user.description uses {site}",
    ),
    # Everything the code shows has a translation.
    (
        lambda repo: _edit_translations(repo, _drop("config", "step", "reauth_confirm")),
        "translations-complete",
        "config.step.reauth_confirm is missing",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("options", "step", "init", "data", "speed")),
        "translations-complete",
        "no options.step.*.data.speed label",
    ),
    (
        lambda repo: (
            _edit_translations(repo, _drop("config", "step", "user", "data")),
            _edit_translations(repo, _drop("config", "step", "user", "data_description")),
            _edit_translations(repo, _drop("config", "step", "reauth_confirm", "data")),
        ),
        "translations-complete",
        "no config.step.*.data.api_key label",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("config", "step", "user", "sections")),
        "translations-complete",
        "no config.step.*.sections.advanced",
    ),
    (
        lambda repo: _edit_translations(
            repo, _drop("config", "step", "user", "sections", "advanced", "data")
        ),
        "translations-complete",
        "no config.step.*.data.server label",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("config", "error", "invalid_auth")),
        "translations-complete",
        "config.error.invalid_auth is missing",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("config", "error", "unknown")),
        "translations-complete",
        "config.error.unknown is missing",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("config", "abort", "not_ready")),
        "translations-complete",
        "config.abort.not_ready is missing",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("config", "abort", "already_configured")),
        "translations-complete",
        "config.abort.already_configured is missing",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("config", "abort", "reauth_successful")),
        "translations-complete",
        "config.abort.reauth_successful is missing",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("config", "step", "user", "description", value="Get a key at {site}.")
        ),
        "translations-complete",
        "config.step.user.description uses {site}",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("exceptions", "cannot_connect")),
        "translations-complete",
        "exceptions.cannot_connect.message is missing",
    ),
    (
        lambda repo: _edit_translations(
            repo, _set("exceptions", "cannot_connect", "message", value="Down: {reason}")
        ),
        "translations-complete",
        "exceptions.cannot_connect.message uses {reason}",
    ),
    (
        lambda repo: _edit_translations(repo, _drop("entity")),
        "translations-complete",
        "entity.stt.demo is missing",
    ),
    # Brand images
    (
        lambda repo: (_integration(repo) / "brand" / "icon.png").unlink(),
        "brand-icon",
        "icon.png: is missing",
    ),
    (
        lambda repo: _png(_integration(repo) / "brand" / "banner.png", (256, 256)),
        "brand-names",
        "banner.png: is not a brand image name",
    ),
    (
        lambda repo: _png(_integration(repo) / "brand" / "icon.png", (200, 200)),
        "brand-images",
        "is 200x200; an icon must be 256x256",
    ),
    (
        lambda repo: _png(_integration(repo) / "brand" / "icon@2x.png", (256, 256)),
        "brand-images",
        "an icon@2x must be 512x512",
    ),
    (
        lambda repo: _png(_integration(repo) / "brand" / "logo.png", (300, 100)),
        "brand-images",
        "a logo's shortest side must be 128 to 256 px",
    ),
    (
        lambda repo: _png(_integration(repo) / "brand" / "logo@2x.png", (800, 128)),
        "brand-images",
        "a logo@2x's shortest side must be 256 to 512 px",
    ),
    (
        lambda repo: Image.new("RGB", (256, 256), (1, 2, 3)).save(
            _integration(repo) / "brand" / "icon.png"
        ),
        "brand-images",
        "has no transparent background",
    ),
    (
        lambda repo: Image.new("RGB", (256, 256)).save(
            _integration(repo) / "brand" / "icon.png", format="JPEG"
        ),
        "brand-images",
        "is not a PNG file",
    ),
    (
        lambda repo: _png(
            _integration(repo) / "brand" / "icon.png", (256, 256), box=(8, 8, 248, 248)
        ),
        "brand-images",
        "icon.png: is not trimmed",
    ),
    (
        lambda repo: _png(
            _integration(repo) / "brand" / "logo.png", (400, 128), box=(0, 10, 400, 128)
        ),
        "brand-images",
        "logo.png: is not trimmed",
    ),
    # The project's layout
    (
        lambda repo: _write_module(repo / "tools" / "speak.py", "from tests.speech import say\n"),
        "no-tests-imports",
        "tools/speak.py:1: imports tests",
    ),
    (
        lambda repo: _write_module(repo / "bench" / "run.py", '"""Run."""\n\nimport tests.e2e\n'),
        "no-tests-imports",
        "bench/run.py:3: imports tests",
    ),
]


@pytest.mark.parametrize(
    ("break_it", "rule", "message"),
    CASES,
    ids=[f"{rule}-{index}" for index, (_, rule, _) in enumerate(CASES)],
)
def test_each_rule_finds_what_it_checks(
    repo: Path, break_it: Callable[[Path], Any], rule: str, message: str
) -> None:
    break_it(repo)

    problems = _problems(repo)

    assert rule in problems, problems
    assert any(message in problem for problem in problems[rule]), problems[rule]


def test_command_line_lists_rules_and_reports_problems(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check_repository.main([str(repo)]) == 0
    assert f"{len(RULES)} rules, no problems" in capsys.readouterr().out

    (repo / "README.md").unlink()
    assert check_repository.main([str(repo)]) == 1
    out = capsys.readouterr().out
    assert "README.md: is missing" in out
    assert "[readme]" in out
    assert "1 problem(s)" in out

    assert check_repository.main(["--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [rule.id for rule in RULES]
    origins = {line.split()[0]: line.split()[1] for line in listed}
    assert set(origins.values()) == {"hassfest", "HACS", "project"}
    assert origins["translations-values"] == "hassfest"
    assert origins["hacs-json"] == "HACS"
    assert origins["translations-complete"] == "project"
    # hassfest and HACS check none of these; they are the project's own.
    for rule in ("license", "one-integration", "domain-not-core", "brand-names"):
        assert origins[rule] == "project", rule
    assert origins["brand-icon"] == "HACS"
    assert origins["manifest-domain"] == "hassfest"


def test_imports_of_tests_from_inside_tests_and_lookalikes_pass(repo: Path) -> None:
    _write_module(repo / "tests" / "helpers.py", "from tests.speech import say\n")
    _write_module(repo / "tests" / "e2e" / "run.py", "from .harness import running\n")
    _write_module(repo / "tools" / "testsuite.py", "import testsuite\nfrom tests_extra import x\n")
    _write_module(repo / ".venv" / "lib" / "site.py", "import tests\n")

    assert "no-tests-imports" not in _problems(repo)


def test_the_example_integration_is_read_as_expected(repo: Path) -> None:
    usage = check_repository._collect_usage(check_repository.Repository(repo))

    config, options = usage.flows["config"], usage.flows["options"]
    assert set(config.steps) == {"user", "reauth_confirm"}
    assert set(config.fields) == {"api_key", "server"}
    assert set(config.sections) == {"advanced"}
    assert set(config.errors) == {"invalid_auth", "unknown"}
    assert set(config.aborts) == {"already_configured", "not_ready", "reauth_successful"}
    assert config.placeholders == {"user": {"url"}, "reauth_confirm": set()}
    assert set(options.steps) == {"init"}
    assert set(options.fields) == {"speed"}
    assert usage.exceptions["cannot_connect"][1] == {"error"}
    assert set(usage.entity_keys) == {("stt", "demo")}


def test_placeholders_built_at_run_time_are_not_guessed(repo: Path) -> None:
    _replace(
        _integration(repo) / "config_flow.py",
        'description_placeholders={"url": "https://example.com"}',
        "description_placeholders=dict(PLACES)",
    )
    _edit_translations(
        repo, _set("config", "step", "user", "description", value="Anything {goes}.")
    )

    assert _problems(repo) == {}


def _sorted_with(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Add a manifest key where hassfest's order puts it (domain, name, then alphabetical)."""

    def edit(manifest: dict[str, Any]) -> dict[str, Any]:
        items = {**manifest, key: value}
        rest = sorted(name for name in items if name not in {"domain", "name"})
        return {name: items[name] for name in ("domain", "name", *rest)}

    return edit


def _add_python(repo: Path, name: str, text: str) -> None:
    path = _integration(repo) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


TYPE_CHECKING_IMPORT = """\
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homeassistant.components.http import HomeAssistantView
"""

# What hassfest accepts, and so must the check: each edit leaves the example passing.
ACCEPTED: list[tuple[str, Callable[[Path], Any]]] = [
    (
        "preview features in the manifest",
        lambda repo: _edit_manifest(
            repo,
            _sorted_with("preview_features", {"fast_mode": {"feedback_url": "https://x.io/f"}}),
        ),
    ),
    (
        "preview features in the translations",
        lambda repo: _edit_translations(
            repo,
            _set("preview_features", "fast_mode", value={"name": "Fast", "description": "Quick."}),
        ),
    ),
    (
        "an import only for type checking",
        lambda repo: _add_python(repo, "view.py", TYPE_CHECKING_IMPORT),
    ),
    (
        "http's async_sign_path",
        lambda repo: _add_python(
            repo, "media.py", "from homeassistant.components.http.auth import async_sign_path\n"
        ),
    ),
    (
        "a platform directory of another integration",
        lambda repo: (
            _add_python(repo, "calendar_sync/__init__.py", ""),
            _add_python(repo, "sync.py", "from homeassistant.components.calendar_sync import x\n"),
        ),
    ),
    (
        "homekit discovery lets the integration use zeroconf",
        lambda repo: (
            _edit_manifest(repo, _sorted_with("homekit", {"models": ["Demo"]})),
            _add_python(repo, "zc.py", "from homeassistant.components.zeroconf import x\n"),
        ),
    ),
    (
        "an address without a top-level domain is no URL to hassfest",
        lambda repo: _edit_translations(
            repo, _describe_server("Your own server, e.g. on port 8080 of 192.168.1.20.")
        ),
    ),
    (
        "schemes without a host, double-quoted and escaped braces",
        lambda repo: _edit_translations(
            repo,
            _set(
                "config",
                "error",
                "unknown",
                value='Start with http:// or https://; "{{literal}}" is shown as is.',
            ),
        ),
    ),
    (
        "a field name of a service is only required to be a string",
        lambda repo: _edit_translations(
            repo,
            _set(
                "services",
                "speak",
                value={
                    "name": "Speak",
                    "description": "Says a text.",
                    "fields": {"url": {"name": " https://x.io ", "description": "Where."}},
                },
            ),
        ),
    ),
    (
        "entity states without placeholders",
        lambda repo: _edit_translations(
            repo, _set("entity", "stt", "demo", "state", value={"on": "On", "off": "Off"})
        ),
    ),
]


@pytest.mark.parametrize(("name", "edit"), ACCEPTED, ids=[name for name, _ in ACCEPTED])
def test_what_hassfest_accepts_passes(repo: Path, name: str, edit: Callable[[Path], Any]) -> None:
    del name
    edit(repo)

    assert _problems(repo) == {}


@pytest.mark.parametrize(
    "text",
    [
        "[%key:common::state::off%]",
        "Nothing to see at 10.0.0.5:8080.",
        "Use {name} here, {{braces}} there.",
        'Type "{code}".',
        "Version 1.2.3 of {model}.",
        "Done {}.",
    ],
)
def test_hassfest_accepts_these_values(text: str) -> None:
    assert list(value_problems(text)) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("https://deepgram.com", "contains a URL (https://deepgram.com)"),
        ("See HTTPS://Console.Deepgram.com/keys now", "(HTTPS://Console.Deepgram.com/keys)"),
        ("ftp://files.example.net:21/x", "contains a URL (ftp://files.example.net:21/x)"),
        ("<a href=x>key</a>", "contains HTML"),
        ("Done {0}.", "not an identifier: {0}"),
        ("Done {a.b}.", "not an identifier: {a.b}"),
        ("Done }.", "has a broken placeholder"),
        (" Done", "has leading or trailing spaces"),
        ("On [%key:common::state::on%]", "combines a [%key:...%] reference"),
        ("[%key:common::state::on%] now", "combines a [%key:...%] reference"),
        ("Open '{url}'", "puts a placeholder in single quotes"),
    ],
)
def test_hassfest_rejects_these_values(text: str, problem: str) -> None:
    found = list(value_problems(text))
    assert any(problem in item for item in found), found
