"""One voice per Deepgram account: migration, the config flow, and the voice's own flow."""

from __future__ import annotations

from types import MappingProxyType

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import (
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_PROJECT_ID,
    CONF_SERVER,
    CONF_SPEED,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE,
)
from homeassistant.components import tts
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from local_deepgram_server import DeepgramTestServer

from . import setup_integration
from .conftest import API_KEY, PROJECT_ID
from .test_config_flow import user_input

OTHER_PROJECT = "9d1e7b3c-2a4f-4e6d-8c0b-1f3a5e7c9b2d"


def old_entry(server: DeepgramTestServer, project: str, language: str) -> MockConfigEntry:
    """An entry as version 1.1 stored it: no voice."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Deepgram Nova-3 ({language})",
        unique_id=f"{project}_nova-3_{language}",
        version=1,
        minor_version=1,
        data={CONF_API_KEY: API_KEY, CONF_SERVER: server.url, CONF_PROJECT_ID: project},
        options={CONF_MODEL: "nova-3", CONF_LANGUAGE: language},
    )


def voices_of(entry: MockConfigEntry) -> list[ConfigSubentry]:
    return [sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_VOICE]


async def test_migration_gives_each_account_one_voice(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer, entity_registry: er.EntityRegistry
) -> None:
    """Two entries of one project get one voice; another project its own; ids stay."""
    english = old_entry(deepgram_server, PROJECT_ID, "en")
    german = old_entry(deepgram_server, PROJECT_ID, "de")
    other = old_entry(deepgram_server, OTHER_PROJECT, "fr")
    for entry in (english, german, other):
        entry.add_to_hass(hass)
        entity_registry.async_get_or_create(
            "stt",
            DOMAIN,
            entry.entry_id,
            config_entry=entry,
            suggested_object_id=f"old_{entry.title}",
        )
    before = {entry.entity_id for entry in entity_registry.entities.values()}
    deepgram_server.api_keys = None  # both projects' keys

    # Setting up one sets up all three, together.
    await hass.config_entries.async_setup(english.entry_id)
    await hass.async_block_till_done()

    assert [entry.minor_version for entry in (english, german, other)] == [3, 3, 3]
    assert [len(voices_of(entry)) for entry in (english, german, other)] == [1, 0, 1]
    stt_ids = {
        entry.entity_id for entry in entity_registry.entities.values() if entry.domain == "stt"
    }
    assert stt_ids == before
    voices = [entry for entry in entity_registry.entities.values() if entry.domain == "tts"]
    assert len(voices) == 2
    assert {voice.config_subentry_id for voice in voices} == {
        voices_of(english)[0].subentry_id,
        voices_of(other)[0].subentry_id,
    }


async def test_migration_voice_follows_home_assistant_language(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """The migrated voice speaks Home Assistant's language where Aura-2 does."""
    hass.config.language = "nl"
    entry = old_entry(deepgram_server, PROJECT_ID, "nl")
    await setup_integration(hass, entry)
    [voice] = voices_of(entry)
    assert voice.data[CONF_VOICE].endswith("-nl")
    engine = tts.get_engine_instance(hass, "tts.deepgram_aura_2")
    assert isinstance(engine, tts.TextToSpeechEntity)
    assert engine.default_language == "nl"


async def test_new_entry_brings_the_voice_once(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """The account's first entry carries the voice; a second entry of it does not."""
    entries = []
    for language in ("en", "de"):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input(deepgram_server.url)
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_LANGUAGE: language}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entries.append(result["result"])
        await hass.async_block_till_done()
    assert [len(voices_of(entry)) for entry in entries] == [1, 0]
    assert [entry.minor_version for entry in entries] == [3, 3]
    assert len(hass.states.async_entity_ids("tts")) == 1
    # Only the entry that carries the voice asked for Deepgram's voice list.
    assert deepgram_server.requests.count(("GET", "/v1/models")) == 1


async def test_voice_added_later_fetches_the_voice_list(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """An entry set up without a voice reads the list when its new voice is first listed.

    The set-up's own fetch of `GET /v1/models` (for its speech models) serves it.
    """
    await setup_integration(hass, mock_config_entry)
    [voice] = voices_of(mock_config_entry)
    hass.config_entries.async_remove_subentry(mock_config_entry, voice.subentry_id)
    await hass.async_block_till_done()
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    deepgram_server.requests.clear()

    hass.config_entries.async_add_subentry(
        mock_config_entry,
        ConfigSubentry(
            data=MappingProxyType({CONF_VOICE: "aura-2-thalia-en", CONF_SPEED: 1.0}),
            subentry_type=SUBENTRY_VOICE,
            title="Voice",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done()
    [entity_id] = hass.states.async_entity_ids("tts")
    engine = tts.get_engine_instance(hass, entity_id)
    assert isinstance(engine, tts.TextToSpeechEntity)
    assert deepgram_server.requests == []
    assert not mock_config_entry.runtime_data.voices.live
    assert engine.async_get_supported_voices("en-US")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert deepgram_server.requests == []
    assert mock_config_entry.runtime_data.voices.live


async def test_voice_flow_refuses_a_second_voice(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """An account that has its voice is offered no second one."""
    await setup_integration(hass, mock_config_entry)
    result = await hass.config_entries.subentries.async_init(
        (mock_config_entry.entry_id, SUBENTRY_VOICE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "voice_exists"


async def test_voice_added_and_changed(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Removed, the voice can be added back (no reload); changed, it speaks with the new voice."""
    await setup_integration(hass, mock_config_entry)
    [voice] = voices_of(mock_config_entry)
    hass.config_entries.async_remove_subentry(mock_config_entry, voice.subentry_id)
    await hass.async_block_till_done()
    assert hass.states.async_entity_ids("tts") == []

    result = await hass.config_entries.subentries.async_init(
        (mock_config_entry.entry_id, SUBENTRY_VOICE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"].schema
    voice_key = next(key for key in schema if key == CONF_VOICE)
    labels = {option["label"] for option in schema[voice_key].config["options"]}
    assert "Thalia (American) · English" in labels
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: "aura-2-draco-en", CONF_SPEED: 1.1}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    [entity_id] = hass.states.async_entity_ids("tts")
    engine = tts.get_engine_instance(hass, entity_id)
    assert isinstance(engine, tts.TextToSpeechEntity)
    assert engine.default_options == {"voice": "aura-2-draco-en", "speed": 1.1}

    [voice] = voices_of(mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(hass, voice.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: "aura-2-agathe-fr", CONF_SPEED: 1.0}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    engine = tts.get_engine_instance(hass, entity_id)
    assert isinstance(engine, tts.TextToSpeechEntity)
    assert engine.default_language == "fr"
    media_id = tts.generate_media_source_id(hass, "Bonjour.", engine=entity_id, cache=False)
    await tts.async_get_media_source_audio(hass, media_id)
    assert deepgram_server.speak.posts[-1].param("model") == "aura-2-agathe-fr"
