"""The voices of a Deepgram account: the first set-up's, migration's, and the voice's own flow."""

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
from local_deepgram_server import DeepgramTestServer

from . import setup_integration
from .conftest import API_KEY, PROJECT_ID, account_entry
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


async def test_the_first_set_up_brings_one_voice(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """Clicking through the set-up gives the account one voice, which fetches Deepgram's list."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(deepgram_server.url)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "en"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert len(voices_of(result["result"])) == 1
    assert hass.states.async_entity_ids("tts") == ["tts.deepgram_aura_2"]
    assert deepgram_server.requests.count(("GET", "/v1/models")) == 1


async def test_voice_added_later_fetches_the_voice_list(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """An account without a voice reads no voice list; one added later reads it.

    The account's set-up fetched `GET /v1/models` for its speech models; that one
    fetch serves the voice added later too.
    """
    mock_config_entry = account_entry(deepgram_server.url, voice=None)
    await setup_integration(hass, mock_config_entry)
    assert deepgram_server.requests.count(("GET", "/v1/models")) == 1
    assert not mock_config_entry.runtime_data.voices.live

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
    # The account reloaded with its new voice, which asked for Deepgram's list.
    [entity_id] = hass.states.async_entity_ids("tts")
    engine = tts.get_engine_instance(hass, entity_id)
    assert isinstance(engine, tts.TextToSpeechEntity)
    assert deepgram_server.requests.count(("GET", "/v1/models")) == 1
    assert mock_config_entry.runtime_data.voices.live
    assert engine.async_get_supported_voices("en-US")


async def test_a_second_voice_is_an_entity_of_its_own(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A voice added to an account with one is a second tts entity, speaking with its voice."""
    await setup_integration(hass, mock_config_entry)
    result = await hass.config_entries.subentries.async_init(
        (mock_config_entry.entry_id, SUBENTRY_VOICE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: "aura-2-zeus-en", CONF_SPEED: 1.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Deepgram Zeus (American)"
    await hass.async_block_till_done()

    assert sorted(hass.states.async_entity_ids("tts")) == [
        "tts.deepgram_aura_2",
        "tts.deepgram_zeus_american",
    ]
    assert len(hass.states.async_entity_ids("stt")) == 1
    for entity_id, voice in (
        ("tts.deepgram_aura_2", "aura-2-thalia-en"),
        ("tts.deepgram_zeus_american", "aura-2-zeus-en"),
    ):
        media_id = tts.generate_media_source_id(hass, "Hello.", engine=entity_id, cache=False)
        await tts.async_get_media_source_audio(hass, media_id)
        assert deepgram_server.speak.posts[-1].param("model") == voice


async def test_voice_added_and_changed(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Removed, the voice can be added back; changed, it speaks with the new voice."""
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
