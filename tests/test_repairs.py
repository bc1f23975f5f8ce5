"""A model or voice no longer offered: the account loads, and Repairs says so and fixes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
import logging

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import CONF_MODEL, CONF_VOICE, DOMAIN
from homeassistant.components import stt
from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, setting_of, setup_integration, voice_of
from .conftest import account_entry

PHRASE = "turn on the kitchen light"
GONE_MODEL = "nova-2-teleprinter"
GONE_VOICE = "aura-2-cassandra-en"


async def speech() -> AsyncIterator[bytes]:
    """Say the phrase in 20 ms chunks."""
    for chunk in chunked(synthesize(PHRASE), 640):
        yield chunk


async def fix(hass: HomeAssistant, issue_id: str, answer: dict[str, str]) -> dict[str, object]:
    """Run the issue's fix flow with `answer`; return the form it showed first."""
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    form = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert form["type"] is FlowResultType.FORM
    done = await manager.async_configure(form["flow_id"], answer)
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return dict(form)


async def test_a_model_no_longer_offered_falls_back_and_raises_a_repair(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The setting loads on the default model, with a warning and a fixable Repairs issue."""
    await setup_integration(hass, mock_config_entry, model=GONE_MODEL)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    setting = setting_of(mock_config_entry)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"model_unavailable_{setting.subentry_id}")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "model_unavailable"
    assert issue.translation_placeholders == {
        "title": setting.title,
        "model": GONE_MODEL,
        "fallback": "Nova-3",
    }
    assert any(
        record.levelno == logging.WARNING and GONE_MODEL in record.getMessage()
        for record in caplog.records
    )
    # Voice commands keep working, on the default model and the stored language.
    entity = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    assert entity is not None
    deepgram_server.utterances.append(PHRASE)
    result = await entity.internal_async_process_audio_stream(METADATA, speech())
    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    query = dict(deepgram_server.sessions[-1].query)
    assert (query["model"], query["language"]) == ("nova-3", "en")


async def test_the_model_repair_chooses_another_model(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The fix flow saves the chosen model, keeps the language, reloads, and the issue goes."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry, setting_of(mock_config_entry), title=f"Deepgram {GONE_MODEL} (English)"
    )
    await setup_integration(hass, mock_config_entry, model=GONE_MODEL)
    issue_id = f"model_unavailable_{setting_of(mock_config_entry).subentry_id}"

    form = await fix(hass, issue_id, {CONF_MODEL: "nova-2"})

    assert form["description_placeholders"] == {
        "title": f"Deepgram {GONE_MODEL} (English)",
        "model": GONE_MODEL,
        "fallback": "Nova-3",
    }
    setting = setting_of(mock_config_entry)
    assert setting.data[CONF_MODEL] == "nova-2"
    assert setting.data["language"] == "en"
    assert setting.title == "Deepgram Nova-2 (English)"
    assert setting.unique_id == "nova-2_en"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    # The account reloaded with the new model.
    [entity_id] = hass.states.async_entity_ids("stt")
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    deepgram_server.utterances.append(PHRASE)
    await entity.internal_async_process_audio_stream(METADATA, speech())
    assert dict(deepgram_server.sessions[-1].query)["model"] == "nova-2"


async def test_the_model_repair_refuses_a_model_another_entry_has(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Choosing the model and language of another setting of the account is refused."""
    account = account_entry(deepgram_server.url, (GONE_MODEL, "en"), ("nova-3", "en"))
    await setup_integration(hass, account)
    gone = setting_of(account)
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    form = await manager.async_init(
        DOMAIN, data={"issue_id": f"model_unavailable_{gone.subentry_id}"}
    )
    again = await manager.async_configure(form["flow_id"], {CONF_MODEL: "nova-3"})
    assert again["type"] is FlowResultType.FORM
    assert again["errors"] == {"base": "already_configured"}
    assert setting_of(account).data[CONF_MODEL] == GONE_MODEL


async def test_a_voice_no_longer_listed_raises_a_repair_that_chooses_another(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A voice missing from Deepgram's list is a fixable issue; fixing it sets the new voice."""
    await setup_integration(hass, mock_config_entry)
    subentry = voice_of(mock_config_entry)
    issue_id = f"voice_unavailable_{subentry.subentry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    hass.config_entries.async_update_subentry(
        mock_config_entry, subentry, data={**subentry.data, CONF_VOICE: GONE_VOICE}
    )
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "title": subentry.title,
        "voice": GONE_VOICE,
    }

    form = await fix(hass, issue_id, {CONF_VOICE: "aura-2-zeus-en"})
    assert form["description_placeholders"] == {
        "title": subentry.title,
        "voice": GONE_VOICE,
    }
    assert mock_config_entry.subentries[subentry.subentry_id].data[CONF_VOICE] == "aura-2-zeus-en"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_configure_works_on_an_entry_whose_model_is_gone(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The setting's reconfigure, the other way to fix it, shows the model in use and saves one."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry, setting_of(mock_config_entry), title=f"Deepgram {GONE_MODEL} (English)"
    )
    await setup_integration(hass, mock_config_entry, model=GONE_MODEL)
    setting = setting_of(mock_config_entry)

    result = await mock_config_entry.start_subentry_reconfigure_flow(hass, setting.subentry_id)
    model_key = next(key for key in result["data_schema"].schema if key == CONF_MODEL)
    assert model_key.description == {"suggested_value": "nova-3"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "nova-3"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"language": "en"}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert setting_of(mock_config_entry).data[CONF_MODEL] == "nova-3"
    assert setting_of(mock_config_entry).title == "Deepgram Nova-3 (English)"
    issue_id = f"model_unavailable_{setting.subentry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_deleting_the_entry_deletes_its_issues(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """No Repairs issue outlives its account."""
    await setup_integration(hass, mock_config_entry, model=GONE_MODEL)
    issue_id = f"model_unavailable_{setting_of(mock_config_entry).subentry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_deleting_a_setting_deletes_its_issue(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """No Repairs issue outlives its setting; the account's other setting keeps working."""
    account = account_entry(deepgram_server.url, (GONE_MODEL, "en"), ("nova-3", "de"))
    await setup_integration(hass, account)
    gone = setting_of(account)
    issue_id = f"model_unavailable_{gone.subentry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    hass.config_entries.async_remove_subentry(account, gone.subentry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert account.state is ConfigEntryState.LOADED
    assert hass.states.async_entity_ids("stt") == ["stt.deepgram_nova_3_german"]


async def test_a_fix_flow_of_a_deleted_entry_ends_quietly(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The account deleted while its repair is open: the repair ends without changing anything."""
    await setup_integration(hass, mock_config_entry, model=GONE_MODEL)
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    form = await manager.async_init(
        DOMAIN, data={"issue_id": f"model_unavailable_{setting_of(mock_config_entry).subentry_id}"}
    )
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    done = await manager.async_configure(form["flow_id"], {CONF_MODEL: "nova-2"})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_the_repair_of_a_model_deepgram_no_longer_lists_chooses_another(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Deepgram's list drops a setting's model: the issue's fix flow chooses one it lists."""
    deepgram_server.models.drop("nova-3")
    await setup_integration(hass, mock_config_entry)
    issue_id = f"model_not_listed_{setting_of(mock_config_entry).subentry_id}"

    form = await fix(hass, issue_id, {CONF_MODEL: "nova-2"})

    assert form["step_id"] == "choose"
    assert setting_of(mock_config_entry).data[CONF_MODEL] == "nova-2"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
