"""Entries of earlier versions become one entry per Deepgram account, losing nothing.

Each test builds the entries, entities and devices as the earlier version stored
them, starts the integration, and compares the registries before and after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import (
    CONF_END_OF_COMMAND,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_PROJECT_ID,
    CONF_SERVER,
    CONF_SPEED,
    CONF_VOICE,
    DOMAIN,
    END_BY_HOME_ASSISTANT,
    SUBENTRY_VOICE,
    VOICE_TITLE,
)
from homeassistant.components import stt, tts
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState, ConfigSubentryData
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, subentries_of
from .conftest import API_KEY, PROJECT_ID, account_entry

OTHER_PROJECT = "9d1e7b3c-2a4f-4e6d-8c0b-1f3a5e7c9b2d"
PHRASE = "turn on the kitchen light"
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French"}


def old_entry(  # noqa: PLR0913 - everything an earlier entry stored
    server: str,
    language: str,
    *,
    project: str = PROJECT_ID,
    minor_version: int = 3,
    voice: bool = False,
    disabled: bool = False,
    **options: Any,
) -> MockConfigEntry:
    """Return an entry as version 1.<minor_version> stored it: one model and language."""
    subentries = []
    if voice:
        subentries.append(
            ConfigSubentryData(
                data={CONF_VOICE: "aura-2-thalia-en", CONF_SPEED: 1.0},
                subentry_type=SUBENTRY_VOICE,
                title=VOICE_TITLE,
                unique_id=None,
            )
        )
    return MockConfigEntry(
        domain=DOMAIN,
        version=1,
        minor_version=minor_version,
        title=f"Deepgram Nova-3 ({LANGUAGE_NAMES[language]})",
        unique_id=f"{project}_nova-3_{language}",
        data={CONF_API_KEY: API_KEY, CONF_SERVER: server, CONF_PROJECT_ID: project},
        options={CONF_MODEL: "nova-3", CONF_LANGUAGE: language, **options},
        subentries_data=subentries,
        disabled_by=ConfigEntryDisabler.USER if disabled else None,
    )


def register(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add the entry, and its entities and devices as the earlier version registered them."""
    entry.add_to_hass(hass)
    entities, devices = er.async_get(hass), dr.async_get(hass)
    device = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        manufacturer="Deepgram",
        name=entry.title,
        disabled_by=dr.DeviceEntryDisabler.CONFIG_ENTRY if entry.disabled_by else None,
    )
    entities.async_get_or_create(
        "stt",
        DOMAIN,
        entry.entry_id,
        config_entry=entry,
        device_id=device.id,
        suggested_object_id=entry.title,
        disabled_by=er.RegistryEntryDisabler.CONFIG_ENTRY if entry.disabled_by else None,
    )
    for subentry in entry.subentries.values():
        device = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            config_subentry_id=subentry.subentry_id,
            identifiers={(DOMAIN, subentry.subentry_id)},
            manufacturer="Deepgram",
            name="Deepgram",
        )
        entities.async_get_or_create(
            "tts",
            DOMAIN,
            subentry.subentry_id,
            config_entry=entry,
            config_subentry_id=subentry.subentry_id,
            device_id=device.id,
            suggested_object_id="deepgram_aura_2",
        )


def owner(device: dr.DeviceEntry) -> tuple[str, str | None]:
    """Return the entry and subentry a device belongs to, on any Home Assistant version."""
    if hasattr(device, "config_subentry_id"):  # 2026.10+: one entry per device
        return device.config_entry_id, device.config_subentry_id
    [(entry_id, subentry_ids)] = device.config_entries_subentries.items()
    [subentry_id] = subentry_ids
    return entry_id, subentry_id


def registries(hass: HomeAssistant) -> dict[str, Any]:
    """Describe every entity and device: ids, owners and who disabled them."""
    entities, devices = er.async_get(hass), dr.async_get(hass)
    return {
        "entities": {
            entity.entity_id: (
                entity.unique_id,
                entity.config_entry_id,
                entity.config_subentry_id,
                entity.disabled_by,
                devices.async_get(entity.device_id or "") is not None,
            )
            for entity in entities.entities.values()
        },
        "devices": {
            next(iter(device.identifiers))[1]: (owner(device), device.disabled_by)
            for entry in hass.config_entries.async_entries(DOMAIN)
            for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
        },
    }


async def start(hass: HomeAssistant, first: MockConfigEntry) -> None:
    """Start the integration: it migrates every entry, then sets them up."""
    await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done()


async def speech() -> AsyncIterator[bytes]:
    """Say the phrase in 20 ms chunks."""
    for chunk in chunked(synthesize(PHRASE), 640):
        yield chunk


async def transcribes(hass: HomeAssistant, server: DeepgramTestServer, entity_id: str) -> str:
    """Say the phrase to the entity; return the language Deepgram was asked for."""
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    server.utterances.append(PHRASE)
    result = await entity.internal_async_process_audio_stream(METADATA, speech())
    assert result.text == PHRASE
    return server.sessions[-1].param("language") or ""


@pytest.mark.parametrize(
    ("stored", "migrated"),
    [
        # The old default: the model's default now applies (for Nova, Deepgram
        # answers first and Home Assistant's VAD stays on as a bounded fallback).
        ({"end_of_speech": True}, {}),
        ({}, {}),
        # Switched off: Home Assistant's voice detection alone still ends commands.
        ({"end_of_speech": False}, {CONF_END_OF_COMMAND: END_BY_HOME_ASSISTANT}),
    ],
)
async def test_one_entry_of_version_1_1_becomes_an_account(
    hass: HomeAssistant,
    deepgram_server: DeepgramTestServer,
    stored: dict[str, Any],
    migrated: dict[str, Any],
) -> None:
    """The language stays, the end-of-speech switch maps, the entity stays, a voice comes."""
    entry = old_entry(deepgram_server.url, "en", minor_version=1, **stored)
    register(hass, entry)

    await start(hass, entry)

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (2, 1)
    assert entry.title == "Deepgram"
    assert entry.unique_id == f"{PROJECT_ID}_{deepgram_server.url}"
    assert dict(entry.options) == {}
    [setting] = subentries_of(entry, "stt")
    assert setting.subentry_id == entry.entry_id
    assert setting.title == "Deepgram Nova-3 (English)"
    assert dict(setting.data) == {CONF_MODEL: "nova-3", CONF_LANGUAGE: "en", **migrated}
    assert registries(hass)["entities"]["stt.deepgram_nova_3_english"] == (
        entry.entry_id,
        entry.entry_id,
        entry.entry_id,
        None,
        True,
    )
    # 1.3: the account's voice.
    [voice] = subentries_of(entry, "tts")
    assert hass.states.async_entity_ids("tts") == ["tts.deepgram_aura_2"]
    assert er.async_get(hass).async_get_entity_id("tts", DOMAIN, voice.subentry_id)
    assert await transcribes(hass, deepgram_server, "stt.deepgram_nova_3_english") == "en"


async def test_one_entry_of_version_1_3_keeps_its_voice(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """The voice it carried stays the account's voice, with its entity and device."""
    entry = old_entry(deepgram_server.url, "en", voice=True)
    register(hass, entry)
    [voice_id] = entry.subentries
    before = registries(hass)

    await start(hass, entry)

    after = registries(hass)
    assert after["entities"].keys() == before["entities"].keys()
    assert after["entities"]["tts.deepgram_aura_2"] == before["entities"]["tts.deepgram_aura_2"]
    assert after["entities"]["stt.deepgram_nova_3_english"] == (
        entry.entry_id,
        entry.entry_id,
        entry.entry_id,
        None,
        True,
    )
    assert after["devices"] == {
        entry.entry_id: ((entry.entry_id, entry.entry_id), None),
        voice_id: ((entry.entry_id, voice_id), None),
    }
    assert [sub.subentry_id for sub in subentries_of(entry, "tts")] == [voice_id]
    assert entry.state is ConfigEntryState.LOADED


async def test_two_entries_of_one_project_merge(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """The second entry's setting and voice move to the first; nothing else changes."""
    english = old_entry(deepgram_server.url, "en", endpointing=500)
    german = old_entry(deepgram_server.url, "de", voice=True, punctuate=False)
    register(hass, english)
    register(hass, german)
    [voice_id] = german.subentries
    before = registries(hass)
    assert before["entities"] == {
        "stt.deepgram_nova_3_english": (english.entry_id, english.entry_id, None, None, True),
        "stt.deepgram_nova_3_german": (german.entry_id, german.entry_id, None, None, True),
        "tts.deepgram_aura_2": (voice_id, german.entry_id, voice_id, None, True),
    }

    await start(hass, english)

    assert hass.config_entries.async_entries(DOMAIN) == [english]
    assert english.state is ConfigEntryState.LOADED
    settings = {sub.subentry_id: sub for sub in subentries_of(english, "stt")}
    assert settings.keys() == {english.entry_id, german.entry_id}
    assert dict(settings[english.entry_id].data) == {
        CONF_MODEL: "nova-3",
        CONF_LANGUAGE: "en",
        "endpointing": 500,
    }
    assert dict(settings[german.entry_id].data) == {
        CONF_MODEL: "nova-3",
        CONF_LANGUAGE: "de",
        "punctuate": False,
    }
    assert [sub.subentry_id for sub in subentries_of(english, "tts")] == [voice_id]
    after = registries(hass)
    assert after == {
        "entities": {
            "stt.deepgram_nova_3_english": (
                english.entry_id,
                english.entry_id,
                english.entry_id,
                None,
                True,
            ),
            "stt.deepgram_nova_3_german": (
                german.entry_id,
                english.entry_id,
                german.entry_id,
                None,
                True,
            ),
            "tts.deepgram_aura_2": (voice_id, english.entry_id, voice_id, None, True),
        },
        "devices": {
            english.entry_id: ((english.entry_id, english.entry_id), None),
            german.entry_id: ((english.entry_id, german.entry_id), None),
            voice_id: ((english.entry_id, voice_id), None),
        },
    }
    # Both settings listen, each in its own language; the voice speaks.
    assert await transcribes(hass, deepgram_server, "stt.deepgram_nova_3_english") == "en"
    assert await transcribes(hass, deepgram_server, "stt.deepgram_nova_3_german") == "de"
    assert deepgram_server.sessions[-2].param("endpointing") == "500"
    assert deepgram_server.sessions[-1].param("punctuate") == "false"
    media_id = tts.generate_media_source_id(
        hass, "Hello.", engine="tts.deepgram_aura_2", cache=False
    )
    await tts.async_get_media_source_audio(hass, media_id)
    assert deepgram_server.speak.posts[-1].param("model") == "aura-2-thalia-en"


async def test_three_entries_of_one_project_merge_keeping_what_was_disabled(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """A disabled entry's setting stays disabled, as does an entity the user disabled."""
    english = old_entry(deepgram_server.url, "en", voice=True)
    german = old_entry(deepgram_server.url, "de")
    french = old_entry(deepgram_server.url, "fr", disabled=True)
    for entry in (french, english, german):
        register(hass, entry)
    er.async_get(hass).async_update_entity(
        "stt.deepgram_nova_3_german", disabled_by=er.RegistryEntryDisabler.USER
    )

    await start(hass, english)

    # The enabled entry is the account, whatever the order they were stored in.
    assert hass.config_entries.async_entries(DOMAIN) == [english]
    assert {sub.subentry_id for sub in subentries_of(english, "stt")} == {
        english.entry_id,
        german.entry_id,
        french.entry_id,
    }
    after = registries(hass)
    entities = after["entities"]
    assert entities["stt.deepgram_nova_3_english"][3] is None
    assert entities["stt.deepgram_nova_3_german"][3] is er.RegistryEntryDisabler.USER
    # Disabled with its entry before; its device is disabled by the user now.
    assert entities["stt.deepgram_nova_3_french"][1:4] == (
        english.entry_id,
        french.entry_id,
        er.RegistryEntryDisabler.DEVICE,
    )
    assert after["devices"][french.entry_id] == (
        (english.entry_id, french.entry_id),
        dr.DeviceEntryDisabler.USER,
    )
    assert hass.states.async_entity_ids("stt") == ["stt.deepgram_nova_3_english"]
    assert len(subentries_of(english, "tts")) == 1


async def test_two_projects_stay_two_accounts(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """Entries of different projects become separate accounts, each with its own voice."""
    english = old_entry(deepgram_server.url, "en", voice=True)
    german = old_entry(deepgram_server.url, "de")
    other = old_entry(deepgram_server.url, "fr", project=OTHER_PROJECT, minor_version=1)
    for entry in (english, german, other):
        register(hass, entry)
    before = set(registries(hass)["entities"])
    deepgram_server.api_keys = None  # both projects' keys

    await start(hass, english)

    assert hass.config_entries.async_entries(DOMAIN) == [english, other]
    assert other.unique_id == f"{OTHER_PROJECT}_{deepgram_server.url}"
    assert [len(subentries_of(entry, "stt")) for entry in (english, other)] == [2, 1]
    assert [len(subentries_of(entry, "tts")) for entry in (english, other)] == [1, 1]
    stt_ids = {entity_id for entity_id in registries(hass)["entities"] if entity_id[:4] == "stt."}
    assert stt_ids == {entity_id for entity_id in before if entity_id[:4] == "stt."}
    assert len(hass.states.async_entity_ids("tts")) == 2
    assert all(entry.state is ConfigEntryState.LOADED for entry in (english, other))


async def test_entry_from_a_newer_version_is_not_guessed_at(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """An entry written by a newer major version is left alone, not half-migrated."""
    entry = old_entry(deepgram_server.url, "en")
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, version=3)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert entry.version == 3
    assert dict(entry.options) == {CONF_MODEL: "nova-3", CONF_LANGUAGE: "en"}


async def test_an_earlier_entry_joins_the_account_set_up_already(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """An entry of 1.3 beside an account of its project (a restored backup) joins it.

    Its setting is kept even where the account has the same model and language.
    """
    account = account_entry(deepgram_server.url)
    account.add_to_hass(hass)
    english = old_entry(deepgram_server.url, "en")
    register(hass, english)

    await start(hass, account)

    assert hass.config_entries.async_entries(DOMAIN) == [account]
    assert (account.version, account.minor_version) == (2, 1)
    settings = subentries_of(account, "stt")
    assert [(sub.title, sub.unique_id) for sub in settings] == [
        ("Deepgram Nova-3 (English)", "nova-3_en"),
        ("Deepgram Nova-3 (English)", None),
    ]
    assert settings[1].subentry_id == english.entry_id
    # The account keeps its one voice; none is added.
    assert len(subentries_of(account, "tts")) == 1
    entities = registries(hass)["entities"]
    assert entities["stt.deepgram_nova_3_english"] == (
        english.entry_id,
        account.entry_id,
        english.entry_id,
        None,
        True,
    )
    assert len(hass.states.async_entity_ids("stt")) == 2
    assert account.state is ConfigEntryState.LOADED
