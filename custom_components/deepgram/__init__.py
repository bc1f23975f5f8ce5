"""Deepgram speech-to-text and text-to-speech for Home Assistant's voice assistants."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from types import MappingProxyType

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_END_OF_COMMAND,
    CONF_END_OF_SPEECH,
    CONF_SERVER,
    CONF_VOICE,
    DOMAIN,
    END_BY_HOME_ASSISTANT,
    LOGGER,
    SUBENTRY_VOICE,
)
from .health import MODEL_UNAVAILABLE, VOICE_UNAVAILABLE, ServiceHealth, delete_issues
from .keyterms import HomeKeyterms
from .model_list import (
    async_clear_unlisted_model,
    async_listed_voices,
    async_model_list,
    async_report_unlisted_model,
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
from .settings import StreamSettings
from .voice import VoiceCatalogue, account_has_voice, voice_subentry

PLATFORMS = [Platform.STT, Platform.TTS]


# Enough recent streams for a bug report, not a history.
SESSIONS_KEPT = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionRecord:
    """One voice command as Deepgram saw it, for diagnostics."""

    started: str
    request_id: str | None
    model: str
    language: str
    # Multilingual streams: Deepgram's echo of the hints (None: no echo), and what it detected.
    languages_hinted: tuple[str, ...] | None
    languages_detected: tuple[str, ...]
    audio_seconds: float | None
    # From the last audio chunk sent to the final result.
    final_result_ms: int | None
    outcome: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerRecord:
    """One spoken answer as Deepgram saw it, for diagnostics."""

    started: str
    # One per request: a websocket answer has one, a REST answer one per sentence batch.
    request_ids: tuple[str, ...]
    voice: str
    # "websocket wav <rate>" or "rest mp3"
    route: str
    characters: int
    # From the first text to the first audio byte.
    first_audio_ms: int | None
    outcome: str


@dataclass(kw_only=True, slots=True)
class DeepgramData:
    """What the entry's platforms share at run time."""

    client: DeepgramClient
    settings: StreamSettings
    keyterms: HomeKeyterms
    health: ServiceHealth
    speaker: DeepgramSpeaker
    voices: VoiceCatalogue
    sessions: deque[SessionRecord] = field(default_factory=lambda: deque(maxlen=SESSIONS_KEPT))
    answers: deque[AnswerRecord] = field(default_factory=lambda: deque(maxlen=SESSIONS_KEPT))


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
    speaker = DeepgramSpeaker(
        entry.data[CONF_API_KEY],
        session=async_get_clientsession(hass),
        server=entry.data.get(CONF_SERVER, DEFAULT_SERVER),
    )
    server, api_key = entry.data.get(CONF_SERVER, DEFAULT_SERVER), entry.data[CONF_API_KEY]
    session = async_get_clientsession(hass)
    models = await async_model_list(hass, session, server, api_key)
    health = ServiceHealth(hass, entry.entry_id, entry.title)
    settings = _offered_settings(entry, health, models)
    async_report_unlisted_model(hass, entry.entry_id, entry.title, settings.model, models)
    keyterms = HomeKeyterms(hass, settings.custom_keyterms, from_home=settings.home_keyterms)
    entry.async_on_unload(keyterms.async_start())
    entry.runtime_data = DeepgramData(
        client=client,
        settings=settings,
        keyterms=keyterms,
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
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    _check_voice(entry)
    return True


def _offered_settings(
    entry: DeepgramConfigEntry, health: ServiceHealth, models: ModelList
) -> StreamSettings:
    """Return the entry's settings, on the default model if its own is no longer offered.

    A model the server lists or the built-in table knows stays in use (with the
    server's languages); another one falls back to the default model: voice
    commands keep working, and a Repairs issue says so and lets the user choose.
    """
    stored = StreamSettings.from_options(entry.options)
    settings = stored.on_offered_model(models).on_server(models)
    if settings.model == stored.model:
        health.setting_available(MODEL_UNAVAILABLE)
        return settings
    fallback = settings.speech_model.label
    LOGGER.warning(
        "%s: the model %s is no longer offered; using %s until another is chosen",
        entry.title,
        stored.model,
        fallback,
    )
    health.setting_unavailable(MODEL_UNAVAILABLE, {"model": stored.model, "fallback": fallback}, {})
    return settings


def _check_voice(entry: DeepgramConfigEntry) -> None:
    """Raise a Repairs issue if Deepgram's voice list lacks the entry's voice; clear it if not.

    Only Deepgram's own list decides: the built-in one may lack newer voices.
    """
    data = entry.runtime_data
    if not data.voices.live:
        return
    for subentry in entry.subentries.values():
        voice = str(subentry.data.get(CONF_VOICE, DEFAULT_VOICE))
        if subentry.subentry_type == SUBENTRY_VOICE and data.voices.get(voice) is None:
            LOGGER.warning("%s: Deepgram no longer lists the voice %s", entry.title, voice)
            data.health.setting_unavailable(
                VOICE_UNAVAILABLE, {"voice": voice}, {"subentry_id": subentry.subentry_id}
            )
            return
    data.health.setting_available(VOICE_UNAVAILABLE)


async def async_migrate_entry(hass: HomeAssistant, entry: DeepgramConfigEntry) -> bool:
    """Bring an entry from an older version of the integration up to date.

    1.1 → 1.2: the end-of-speech switch becomes "who ends a command". Switched
    off, Home Assistant's voice detection alone ended commands, and still does;
    switched on (the old default), the model's default now applies, which for
    Nova keeps Home Assistant's detection as a bounded fallback. The language
    is kept as it was, so a fixed-language entry stays fixed; entity ids do not
    change (the entity's unique id is the entry id).

    1.2 → 1.3: each Deepgram account gets a voice, a subentry of the first of
    its entries to migrate.
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
    if entry.minor_version < 3:  # noqa: PLR2004 - the minor version being migrated
        # Nothing is awaited between the check and the add, so of two entries
        # of one account set up together only the first gets the voice.
        if not account_has_voice(hass, entry.data):
            subentry = voice_subentry(hass)
            hass.config_entries.async_add_subentry(
                entry,
                ConfigSubentry(
                    data=MappingProxyType(subentry["data"]),
                    subentry_type=subentry["subentry_type"],
                    title=subentry["title"],
                    unique_id=subentry["unique_id"],
                ),
            )
        hass.config_entries.async_update_entry(entry, minor_version=3)
    return True


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
    """Take the entry's Repairs issues away with it."""
    delete_issues(hass, entry.entry_id)
    async_clear_unlisted_model(hass, entry.entry_id)
