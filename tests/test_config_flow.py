"""The config flow: the account's key check, its first setting and voice, duplicates, reauth."""

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

from . import setting_of, setup_integration, subentries_of, voice_of
from .conftest import API_KEY, PROJECT_ID, account_entry


def user_input(server: str, *, api_key: str = API_KEY, model: str = "nova-3") -> dict[str, object]:
    """Return what a user types into the first form."""
    return {CONF_API_KEY: api_key, CONF_MODEL: model, CONF_ADVANCED: {CONF_SERVER: server}}


async def test_full_flow_creates_an_entry(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """Key, model, then language: an account with a setting named after it, and a voice."""
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
    assert result["title"] == "Deepgram"
    assert result["data"] == {
        CONF_API_KEY: API_KEY,
        CONF_SERVER: deepgram_server.url,
        CONF_PROJECT_ID: PROJECT_ID,
    }
    assert result["options"] == {}
    entry = result["result"]
    assert entry.unique_id == f"{PROJECT_ID}_{deepgram_server.url}"
    assert (entry.version, entry.minor_version) == (2, 1)
    setting = setting_of(entry)
    assert setting.title == "Deepgram Nova-3 (German (Switzerland))"
    assert dict(setting.data) == {CONF_MODEL: "nova-3", CONF_LANGUAGE: "de-CH"}
    assert setting.unique_id == "nova-3_de-CH"
    assert voice_of(entry).title == "Deepgram Aura-2"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # A user who only clicks on gets listening and speaking.
    assert hass.states.get("stt.deepgram_nova_3_german_switzerland") is not None
    assert hass.states.get("tts.deepgram_aura_2") is not None


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


async def test_the_same_account_is_a_duplicate(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """An account set up already is refused at once, before model and language are asked."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(deepgram_server.url + "/")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


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
        assert result["result"].unique_id == server.url
        await hass.config_entries.async_unload(result["result"].entry_id)
    finally:
        await server.stop()


async def test_reauth_replaces_the_key(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A new key for the same project is checked, stored once for the account, and reloaded."""
    mock_config_entry = account_entry(
        deepgram_server.url, ("nova-3", "en"), ("flux-general-en", "en")
    )
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
    # One re-authentication serves every setting of the account.
    assert len(subentries_of(mock_config_entry, "stt")) == 2
    assert len(hass.states.async_entity_ids("stt")) == 2
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


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
    """Moving to a server another account already uses aborts."""
    server = DeepgramTestServer(api_keys=None, self_hosted=True)
    await server.start()
    try:
        first = MockConfigEntry(
            domain=DOMAIN,
            unique_id=server.url,
            version=2,
            data={CONF_API_KEY: "a", CONF_SERVER: server.url, CONF_PROJECT_ID: None},
        )
        second = MockConfigEntry(
            domain=DOMAIN,
            unique_id="http://127.0.0.1:1",
            version=2,
            data={CONF_API_KEY: "b", CONF_SERVER: "http://127.0.0.1:1", CONF_PROJECT_ID: None},
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
    """A setting can follow each pipeline's language; its title then names no language."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(deepgram_server.url)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "pipeline"}
    )
    setting = setting_of(result["result"])
    assert setting.title == "Deepgram Nova-3"
    assert dict(setting.data) == {CONF_MODEL: "nova-3", CONF_LANGUAGE: "pipeline"}
