"""The config flow: key check, model and language, duplicates, reauth."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import (
    CONF_ADVANCED,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_PROJECT_ID,
    CONF_SERVER,
    DOMAIN,
)
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from local_deepgram_server import DeepgramTestServer

from . import setup_integration
from .conftest import API_KEY, PROJECT_ID


def user_input(server: str, *, api_key: str = API_KEY, model: str = "nova-3") -> dict[str, object]:
    """Return what a user types into the first form."""
    return {CONF_API_KEY: api_key, CONF_MODEL: model, CONF_ADVANCED: {CONF_SERVER: server}}


async def test_full_flow_creates_an_entry(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """Key, model, then language: the entry is named after what it does."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(deepgram_server.url + "/")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "language"
    schema = result["data_schema"].schema
    language_key = next(key for key in schema if key == CONF_LANGUAGE)
    # Each command in its voice assistant's language, unless the user picks one.
    assert language_key.default() == "pipeline"
    choices = [option["value"] for option in schema[language_key].config["options"]]
    assert choices[:2] == ["pipeline", "multi"]
    assert {"de", "de-CH", "en", "pt-BR"} <= set(choices[2:])

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "de-CH"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Deepgram Nova-3 (German (Switzerland))"
    assert result["data"] == {
        CONF_API_KEY: API_KEY,
        CONF_SERVER: deepgram_server.url,
        CONF_PROJECT_ID: PROJECT_ID,
    }
    assert result["options"] == {CONF_MODEL: "nova-3", CONF_LANGUAGE: "de-CH"}
    assert result["result"].unique_id == f"{PROJECT_ID}_nova-3_de-CH"
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_language_choices_follow_the_model(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """An English-only model offers English only, whatever Home Assistant's language."""
    hass.config.language = "fr"
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(deepgram_server.url, model="nova-2-phonecall")
    )
    schema = result["data_schema"].schema
    language_key = next(key for key in schema if key == CONF_LANGUAGE)
    assert [option["value"] for option in schema[language_key].config["options"]] == [
        "pipeline",
        "en",
        "en-US",
    ]
    assert language_key.default() == "pipeline"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"api_keys": {"other"}}, "invalid_auth"),
        ({"handshake_status": 403}, "invalid_auth"),
        ({"handshake_status": 503}, "cannot_connect"),
        ({"hang_handshake": False, "url": "http://127.0.0.1:9"}, "cannot_connect"),
        ({"server": "api.deepgram.com"}, "invalid_server_url"),
        ({"server": "https://user:pw@api.deepgram.com"}, "invalid_server_url"),
    ],
)
async def test_errors_show_in_the_form_and_the_flow_recovers(
    hass: HomeAssistant,
    deepgram_server: DeepgramTestServer,
    fault: dict[str, object],
    error: str,
) -> None:
    """Each failure is shown in the form, and fixing it lets the flow finish."""
    server = str(fault.pop("server", fault.pop("url", deepgram_server.url)))
    saved = {name: getattr(deepgram_server, name) for name in fault}
    for name, value in fault.items():
        setattr(deepgram_server, name, value)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input(server))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    for name, value in saved.items():
        setattr(deepgram_server, name, value)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(deepgram_server.url)
    )
    assert result["step_id"] == "language"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "en"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unexpected_error_is_unknown(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """A bug shows as "unknown" with a logged traceback, not a broken form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch(
        "custom_components.deepgram.config_flow.DeepgramClient.validate",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input(deepgram_server.url)
        )
    assert result["errors"] == {"base": "unknown"}


async def test_same_project_model_and_language_is_a_duplicate(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The same project, model and language cannot be added twice; another language can."""
    mock_config_entry.add_to_hass(hass)
    for language, outcome in (("en", FlowResultType.ABORT), ("es", FlowResultType.CREATE_ENTRY)):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input(deepgram_server.url)
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_LANGUAGE: language}
        )
        assert result["type"] is outcome
    assert result["title"] == "Deepgram Nova-3 (Spanish)"


async def test_self_hosted_server_needs_no_project(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A self-hosted server is identified by its URL."""
    server = DeepgramTestServer(api_keys=None, self_hosted=True)
    await server.start()
    try:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input(server.url, api_key="self-hosted")
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_LANGUAGE: "en"}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_PROJECT_ID] is None
        assert result["result"].unique_id == f"{server.url}_nova-3_en"
        await hass.config_entries.async_unload(result["result"].entry_id)
    finally:
        await server.stop()


async def test_reauth_replaces_the_key(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A new key for the same project is checked, stored, and the entry reloaded."""
    await setup_integration(hass, mock_config_entry)
    deepgram_server.api_keys = {"new-key"}
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "new-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_API_KEY] == "new-key"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_reauth_refuses_a_key_of_another_project(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A key from a different project would silently change the account: refused."""
    mock_config_entry.add_to_hass(hass)
    deepgram_server.project_id = "another-project"
    result = await mock_config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_project"
    assert mock_config_entry.data[CONF_API_KEY] == API_KEY


async def test_reconfigure_changes_key_and_server(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A new key and server are checked like at set-up, then the entry reloads."""
    await setup_integration(hass, mock_config_entry)
    deepgram_server.api_keys = {API_KEY, "rotated-key"}
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    for server, error in (
        ("ftp://x", "invalid_server_url"),
        ("http://127.0.0.1:9", "cannot_connect"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_KEY: "rotated-key", CONF_SERVER: server}
        )
        assert result["errors"] == {"base": error}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "bad-key", CONF_SERVER: deepgram_server.url}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "rotated-key", CONF_SERVER: deepgram_server.url + "/"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_API_KEY] == "rotated-key"
    assert mock_config_entry.data[CONF_SERVER] == deepgram_server.url
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_reconfigure_refuses_another_project(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Another project's key would change whose account is used: refused."""
    mock_config_entry.add_to_hass(hass)
    deepgram_server.project_id = "someone-else"
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY, CONF_SERVER: deepgram_server.url}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_project"


async def test_reconfigure_to_a_self_hosted_server_keeps_entries_apart(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Moving to a server another entry already uses with the same model and language aborts."""
    server = DeepgramTestServer(api_keys=None, self_hosted=True)
    await server.start()
    try:
        first = MockConfigEntry(
            domain=DOMAIN,
            unique_id=f"{server.url}_nova-3_en",
            data={CONF_API_KEY: "a", CONF_SERVER: server.url, CONF_PROJECT_ID: None},
            options={CONF_MODEL: "nova-3", CONF_LANGUAGE: "en"},
        )
        second = MockConfigEntry(
            domain=DOMAIN,
            unique_id="http://127.0.0.1:1_nova-3_en",
            data={CONF_API_KEY: "b", CONF_SERVER: "http://127.0.0.1:1", CONF_PROJECT_ID: None},
            options={CONF_MODEL: "nova-3", CONF_LANGUAGE: "en"},
        )
        first.add_to_hass(hass)
        second.add_to_hass(hass)
        result = await second.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_KEY: "b", CONF_SERVER: server.url}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    finally:
        await server.stop()


async def test_following_the_voice_assistant_language(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """An entry can follow each pipeline's language; its title then names no language."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(deepgram_server.url)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "pipeline"}
    )
    assert result["title"] == "Deepgram Nova-3"
    assert result["options"] == {CONF_MODEL: "nova-3", CONF_LANGUAGE: "pipeline"}
