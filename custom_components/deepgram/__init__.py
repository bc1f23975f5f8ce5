"""Deepgram speech-to-text and text-to-speech for Home Assistant's voice assistants.

A config entry is one Deepgram account: the API key and the server. Its
subentries are what it provides: speech-to-text settings (`stt`), each an
entity, and voices (`tts`), each an entity. The account holds one listening
client and one speaker for all of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigSubentry,
)
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.typing import ConfigType

from .const import CONF_SERVER, CONF_VOICE, DOMAIN, LOGGER, SUBENTRY_STT, SUBENTRY_VOICE
from .health import (
    MODEL_NOT_LISTED,
    MODEL_UNAVAILABLE,
    VOICE_UNAVAILABLE,
    ServiceHealth,
    delete_issues,
)
from .keyterms import HomeKeyterms
from .migration import async_migrate_integration, migrate_entry
from .model_list import (
    async_listed_voices,
    async_model_list,
)
from .protocol import (
    DEFAULT_SERVER,
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
    DeepgramSpeaker,
)
from .protocol.aura_voices import DEFAULT_VOICE
from .protocol.model_list import ModelList
from .records import AnswerRecord, SessionRecord, recent_answers, recent_sessions
from .settings import StreamSettings
from .voice_catalogue import VoiceCatalogue

PLATFORMS = [Platform.STT, Platform.TTS]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass(kw_only=True, slots=True)
class ListeningSetting:
    """One speech-to-text setting at run time: its settings, key terms and recent streams."""

    settings: StreamSettings
    keyterms: HomeKeyterms
    sessions: deque[SessionRecord] = field(default_factory=recent_sessions)


@dataclass(kw_only=True, slots=True)
class DeepgramData:
    """What the account's platforms share at run time."""

    client: DeepgramClient
    health: ServiceHealth
    speaker: DeepgramSpeaker
    voices: VoiceCatalogue
    # By subentry id.
    listening: dict[str, ListeningSetting] = field(default_factory=dict)
    answers: dict[str, deque[AnswerRecord]] = field(default_factory=dict)


type DeepgramConfigEntry = ConfigEntry[DeepgramData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:  # noqa: ARG001
    """Merge the entries of earlier versions into one entry per account, before any is set up."""
    await async_migrate_integration(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Check the key against Deepgram, then set up each setting's and voice's entity."""
    server = entry.data.get(CONF_SERVER, DEFAULT_SERVER)
    client = DeepgramClient(
        entry.data[CONF_API_KEY],
        session=async_get_clientsession(hass),
        server=server,
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
    api_key, session = entry.data[CONF_API_KEY], async_get_clientsession(hass)
    speaker = DeepgramSpeaker(api_key, session=session, server=server)
    # One fetch for the account: its settings' models and its voices.
    models = await async_model_list(hass, session, server, api_key)
    health = ServiceHealth(hass, entry.entry_id, entry.title)
    health.forget_settings_except(set(entry.subentries))
    data = DeepgramData(
        client=client,
        health=health,
        speaker=speaker,
        voices=VoiceCatalogue(
            speaker,
            lambda refresh: entry.async_create_background_task(
                hass, refresh, "deepgram voice list"
            ),
            # The voices come with the models, in one fetch.
            list_voices=lambda: async_listed_voices(hass, session, server, api_key),
        ),
    )
    for subentry in entry.subentries.values():
        if subentry.subentry_type == SUBENTRY_STT:
            settings = _offered_settings(subentry, health, models)
            _report_unlisted_model(health, subentry, settings.model, models)
            keyterms = HomeKeyterms(
                hass, settings.custom_keyterms, from_home=settings.home_keyterms
            )
            entry.async_on_unload(keyterms.async_start())
            data.listening[subentry.subentry_id] = ListeningSetting(
                settings=settings, keyterms=keyterms
            )
        elif subentry.subentry_type == SUBENTRY_VOICE:
            data.answers[subentry.subentry_id] = recent_answers()
    entry.runtime_data = data
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    _check_voices(entry)
    entry.async_on_unload(_reload_on_subentry_change(hass, entry))
    return True


def _subentry_contents(entry: ConfigEntry) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Return what the entities are built from: each subentry's type and data."""
    return {
        subentry_id: (subentry.subentry_type, dict(subentry.data))
        for subentry_id, subentry in entry.subentries.items()
    }


def _reload_on_subentry_change(
    hass: HomeAssistant, entry: DeepgramConfigEntry
) -> Callable[[], None]:
    """Reload the account when a setting or voice is added, changed or deleted.

    The subentry flows save without reloading; this one place applies every
    change, whoever made it (a flow, a Repairs fix, a deletion).
    """
    loaded = _subentry_contents(entry)
    reloading = False

    @callback
    def entry_changed(change: ConfigEntryChange, changed: ConfigEntry) -> None:
        """Schedule one reload when the account's subentries differ from those set up."""
        nonlocal reloading
        if change is not ConfigEntryChange.UPDATED or changed.entry_id != entry.entry_id:
            return
        # Once: the reload's own state changes come here too until it unloads this.
        if not reloading and _subentry_contents(changed) != loaded:
            reloading = True
            hass.config_entries.async_schedule_reload(entry.entry_id)

    return async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, entry_changed)


def _offered_settings(
    subentry: ConfigSubentry, health: ServiceHealth, models: ModelList
) -> StreamSettings:
    """Return the setting's settings, on the default model if its own is no longer offered.

    A model the server lists or the built-in table knows stays in use (with the
    server's languages); another one falls back to the default model: voice
    commands keep working, and a Repairs issue says so and lets the user choose.
    """
    stored = StreamSettings.from_options(subentry.data)
    settings = stored.on_offered_model(models).on_server(models)
    if settings.model == stored.model:
        health.setting_available(MODEL_UNAVAILABLE, subentry.subentry_id)
        return settings
    fallback = settings.speech_model.label
    LOGGER.warning(
        "%s: the model %s is no longer offered; using %s until another is chosen",
        subentry.title,
        stored.model,
        fallback,
    )
    health.setting_unavailable(
        MODEL_UNAVAILABLE, subentry, {"model": stored.model, "fallback": fallback}
    )
    return settings


def _report_unlisted_model(
    health: ServiceHealth, subentry: ConfigSubentry, model: str, models: ModelList
) -> None:
    """Raise a Repairs issue when the server's own list lacks the setting's model; else clear it.

    The model stays in use: Deepgram may still serve it for a while. The built-in
    table, used when the list cannot be had, decides nothing.
    """
    if not models.live or models.offers(model):
        health.setting_available(MODEL_NOT_LISTED, subentry.subentry_id)
        return
    LOGGER.warning("%s: the server no longer lists the model %s", subentry.title, model)
    health.setting_unavailable(MODEL_NOT_LISTED, subentry, {"model": model})


def _check_voices(entry: DeepgramConfigEntry) -> None:
    """Raise a Repairs issue for each voice Deepgram's list lacks; clear it for the others.

    Only Deepgram's own list decides: the built-in one may lack newer voices.
    """
    data = entry.runtime_data
    if not data.voices.live:
        return
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_VOICE:
            continue
        voice = str(subentry.data.get(CONF_VOICE, DEFAULT_VOICE))
        if data.voices.get(voice) is None:
            LOGGER.warning("%s: Deepgram no longer lists the voice %s", subentry.title, voice)
            data.health.setting_unavailable(VOICE_UNAVAILABLE, subentry, {"voice": voice})
        else:
            data.health.setting_available(VOICE_UNAVAILABLE, subentry.subentry_id)


async def async_migrate_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Bring an entry up to date; see `migration.py`."""
    return migrate_entry(hass, entry)


async def async_unload_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Unload the entities, then stop their streams; if an entity stays, so do its clients.

    The entities go first, so that no new stream starts while the others stop.
    """
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    await entry.runtime_data.client.close()
    await entry.runtime_data.speaker.close()
    return True


async def async_remove_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> None:
    """Take the account's Repairs issues, and those of its settings and voices, away with it."""
    delete_issues(hass, entry.entry_id, entry.subentries)


__all__ = ["AnswerRecord", "DeepgramConfigEntry", "DeepgramData", "SessionRecord"]
