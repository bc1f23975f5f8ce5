"""Deepgram speech-to-text for Home Assistant's voice assistants."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import CONF_LANGUAGE, CONF_MODEL, CONF_SERVER, DOMAIN, LOGGER
from .protocol import (
    DEFAULT_MODEL,
    DEFAULT_SERVER,
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
)

PLATFORMS = [Platform.STT]


@dataclass(kw_only=True, slots=True)
class DeepgramData:
    """What the entry's platforms share at run time."""

    client: DeepgramClient
    model: str
    language: str


type DeepgramConfigEntry = ConfigEntry[DeepgramData]


async def async_setup_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Check the key against Deepgram, then set up the speech-to-text entity."""
    client = DeepgramClient(
        entry.data[CONF_API_KEY],
        session=async_get_clientsession(hass),
        server=entry.data.get(CONF_SERVER, DEFAULT_SERVER),
    )
    try:
        await client.validate()
    except DeepgramAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except DeepgramError as err:
        LOGGER.debug("Deepgram is not reachable yet: %s", err)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = DeepgramData(
        client=client,
        model=entry.options.get(CONF_MODEL, DEFAULT_MODEL),
        language=entry.options.get(CONF_LANGUAGE, "en"),
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Unload the speech-to-text entity."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
