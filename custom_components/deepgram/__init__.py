"""Deepgram speech-to-text for Home Assistant's voice assistants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_END_OF_SPEECH,
    CONF_ENDPOINTING,
    CONF_LANGUAGE,
    CONF_MAX_UTTERANCE,
    CONF_MODEL,
    CONF_NO_SPEECH_TIMEOUT,
    CONF_SERVER,
    DEFAULT_END_OF_SPEECH,
    DEFAULT_ENDPOINTING_MS,
    DEFAULT_LANGUAGE,
    DEFAULT_MAX_UTTERANCE,
    DEFAULT_NO_SPEECH_TIMEOUT,
    DOMAIN,
    LOGGER,
)
from .protocol import (
    DEFAULT_MODEL,
    DEFAULT_SERVER,
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
)

PLATFORMS = [Platform.STT]


@dataclass(frozen=True, kw_only=True, slots=True)
class StreamSettings:
    """How each voice command is sent to Deepgram, from the entry's options."""

    model: str = DEFAULT_MODEL
    language: str = DEFAULT_LANGUAGE
    # Return as soon as Deepgram marks the end of speech, instead of waiting
    # for Home Assistant's voice activity detector to end the audio.
    end_of_speech: bool = DEFAULT_END_OF_SPEECH
    endpointing_ms: int = DEFAULT_ENDPOINTING_MS
    no_speech_timeout: float = DEFAULT_NO_SPEECH_TIMEOUT
    max_utterance: float = DEFAULT_MAX_UTTERANCE

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> StreamSettings:
        """Read the settings, falling back to the defaults for any not set."""
        return cls(
            model=options.get(CONF_MODEL, DEFAULT_MODEL),
            language=options.get(CONF_LANGUAGE, DEFAULT_LANGUAGE),
            end_of_speech=options.get(CONF_END_OF_SPEECH, DEFAULT_END_OF_SPEECH),
            endpointing_ms=int(options.get(CONF_ENDPOINTING, DEFAULT_ENDPOINTING_MS)),
            no_speech_timeout=float(options.get(CONF_NO_SPEECH_TIMEOUT, DEFAULT_NO_SPEECH_TIMEOUT)),
            max_utterance=float(options.get(CONF_MAX_UTTERANCE, DEFAULT_MAX_UTTERANCE)),
        )


@dataclass(kw_only=True, slots=True)
class DeepgramData:
    """What the entry's platforms share at run time."""

    client: DeepgramClient
    settings: StreamSettings


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
    entry.runtime_data = DeepgramData(
        client=client, settings=StreamSettings.from_options(entry.options)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Unload the speech-to-text entity and let closing streams finish."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    await entry.runtime_data.client.close()
    return unloaded
