"""Setting up and unloading a Deepgram entry."""

from __future__ import annotations

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant

from . import setup_integration
from .deepgram_server import DeepgramTestServer


async def test_load_and_unload(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The key is checked at set-up, and the entry unloads cleanly."""
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    # The key check, then the voice list for the account's voice.
    assert deepgram_server.requests == [("GET", "/v1/projects"), ("GET", "/v1/models")]
    assert hass.states.get("stt.deepgram_nova_3_english") is not None

    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


async def test_unreachable_server_retries_setup(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A Deepgram outage at start-up means retry later, not a broken entry."""
    deepgram_server.handshake_status = 503
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "HTTP 503" in str(mock_config_entry.reason)


async def test_revoked_key_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A key Deepgram refuses at start-up asks the user for a new one."""
    deepgram_server.api_keys = {"another-key"}
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
