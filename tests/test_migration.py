"""Entries made by earlier versions of the integration keep working, and keep their entity."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import (
    CONF_END_OF_COMMAND,
    CONF_LANGUAGE,
    CONF_MODEL,
    DOMAIN,
    END_BY_HOME_ASSISTANT,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from local_deepgram_server import DeepgramTestServer

from .conftest import API_KEY, PROJECT_ID

ENTITY_ID = "stt.deepgram_nova_3_english"


def entry_of_version_1_1(server: str, **options: Any) -> MockConfigEntry:
    """Return an entry as version 1.1 of the integration stored it."""
    return MockConfigEntry(
        domain=DOMAIN,
        version=1,
        minor_version=1,
        title="Deepgram Nova-3 (English)",
        unique_id=f"{PROJECT_ID}_nova-3_en",
        data={"api_key": API_KEY, "server": server, "project_id": PROJECT_ID},
        options={CONF_MODEL: "nova-3", CONF_LANGUAGE: "en", **options},
    )


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
async def test_version_1_1_entries_migrate_in_place(
    hass: HomeAssistant,
    deepgram_server: DeepgramTestServer,
    entity_registry: er.EntityRegistry,
    stored: dict[str, Any],
    migrated: dict[str, Any],
) -> None:
    """The language stays, the end-of-speech switch maps, the entity id stays, a voice comes."""
    entry = entry_of_version_1_1(deepgram_server.url, **stored)
    entry.add_to_hass(hass)
    # The entity as the earlier version registered it.
    entity_registry.async_get_or_create(
        "stt",
        DOMAIN,
        entry.entry_id,
        config_entry=entry,
        suggested_object_id="deepgram_nova_3_english",
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, 3)
    assert dict(entry.options) == {CONF_MODEL: "nova-3", CONF_LANGUAGE: "en", **migrated}
    assert entity_registry.async_get_entity_id("stt", DOMAIN, entry.entry_id) == ENTITY_ID
    assert hass.states.get(ENTITY_ID) is not None
    assert len(hass.states.async_entity_ids("stt")) == 1
    # 1.3: the account's voice, on its only entry.
    assert [subentry.subentry_type for subentry in entry.subentries.values()] == ["tts"]


async def test_entry_from_a_newer_version_is_not_guessed_at(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """An entry written by a newer major version is left alone, not half-migrated."""
    entry = entry_of_version_1_1(deepgram_server.url)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, version=2)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert entry.version == 2
