"""Deepgram speech-to-text for Home Assistant's voice assistants."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_END_OF_COMMAND,
    CONF_END_OF_SPEECH,
    CONF_SERVER,
    DOMAIN,
    END_BY_HOME_ASSISTANT,
    LOGGER,
)
from .health import ServiceHealth
from .keyterms import HomeKeyterms
from .protocol import (
    DEFAULT_SERVER,
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
)
from .settings import StreamSettings

PLATFORMS = [Platform.STT]


# Enough recent streams for a bug report, not a history.
SESSIONS_KEPT = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionRecord:
    """One voice command as Deepgram saw it, for diagnostics."""

    started: str
    request_id: str | None
    model: str
    language: str
    audio_seconds: float | None
    # From the last audio chunk sent to the final result.
    final_result_ms: int | None
    outcome: str


@dataclass(kw_only=True, slots=True)
class DeepgramData:
    """What the entry's platforms share at run time."""

    client: DeepgramClient
    settings: StreamSettings
    keyterms: HomeKeyterms
    health: ServiceHealth
    sessions: deque[SessionRecord] = field(default_factory=lambda: deque(maxlen=SESSIONS_KEPT))


type DeepgramConfigEntry = ConfigEntry[DeepgramData]


async def async_setup_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Check the key against Deepgram, then set up the speech-to-text entity."""
    client = DeepgramClient(
        entry.data[CONF_API_KEY],
        session=async_get_clientsession(hass),
        server=entry.data.get(CONF_SERVER, DEFAULT_SERVER),
        # Streams left early close in the background; Home Assistant tracks them.
        create_task=lambda finish: entry.async_create_background_task(
            hass, finish, "deepgram close stream"
        ),
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
    settings = StreamSettings.from_options(entry.options)
    keyterms = HomeKeyterms(hass, settings.custom_keyterms, from_home=settings.home_keyterms)
    entry.async_on_unload(keyterms.async_start())
    entry.runtime_data = DeepgramData(
        client=client,
        settings=settings,
        keyterms=keyterms,
        health=ServiceHealth(hass, entry.entry_id, entry.title),
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Bring an entry from an older version of the integration up to date.

    1.1 → 1.2: the end-of-speech switch becomes "who ends a command". Switched
    off, Home Assistant's voice detection alone ended commands, and still does;
    switched on (the old default), the model's default now applies, which for
    Nova keeps Home Assistant's detection as a bounded fallback. The language
    is kept as it was, so a fixed-language entry stays fixed; entity ids do not
    change (the entity's unique id is the entry id).
    """
    if entry.version > 1:
        # A newer version of the integration wrote this entry; do not guess.
        return False
    if entry.minor_version < 2:  # noqa: PLR2004 - the minor version being migrated
        options = dict(entry.options)
        if options.pop(CONF_END_OF_SPEECH, True) is False:
            options[CONF_END_OF_COMMAND] = END_BY_HOME_ASSISTANT
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
        LOGGER.debug("Migrated %s to version 1.2", entry.title)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Unload the speech-to-text entity and let closing streams finish."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    await entry.runtime_data.client.close()
    return unloaded
