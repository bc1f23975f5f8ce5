"""Models and languages as the server lists them in `GET /v1/models`.

The local server's list starts as the built-in table; each test switches it to
look like a Deepgram that added a model or a language, retired a model, or
cannot list its models.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import (
    CONF_ADVANCED,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_SERVER,
    DOMAIN,
)
from custom_components.deepgram.protocol.model_list import parse_model_list
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunk_bytes, chunked, synthesize

from . import pcm_metadata, setting_of, setup_integration
from .conftest import API_KEY

PHRASE = "turn on the kitchen light"


def choices(result: Any, field: str) -> list[str]:
    """Return the values a form's select field offers."""
    key = next(key for key in result["data_schema"].schema if key == field)
    return [option["value"] for option in result["data_schema"].schema[key].config["options"]]


def labels(result: Any, field: str) -> dict[str, str]:
    """Return the labels of a form's select field by value."""
    key = next(key for key in result["data_schema"].schema if key == field)
    options = result["data_schema"].schema[key].config["options"]
    return {option["value"]: option["label"] for option in options}


async def feed(chunks: list[bytes]) -> AsyncIterator[bytes]:
    """Yield the chunks as an audio source would."""
    for chunk in chunks:
        yield chunk


async def transcribe(hass: HomeAssistant, language: str = "en") -> stt.SpeechResult:
    """Speak the phrase into the only speech-to-text entity."""
    [entity_id] = hass.states.async_entity_ids("stt")
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    chunks = chunked(synthesize(PHRASE), chunk_bytes(16000, 1))
    return await entity.internal_async_process_audio_stream(
        pcm_metadata(language=language), feed(chunks)
    )


async def set_up_through_the_form(
    hass: HomeAssistant, server: DeepgramTestServer, model: str
) -> dict[str, Any]:
    """Fill in the first form with `model`; return the next step."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: API_KEY, CONF_MODEL: model, CONF_ADVANCED: {CONF_SERVER: server.url}},
    )


async def test_a_model_only_the_server_lists_is_set_up_and_sent(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """A new model and its languages are offered at set-up, and streams ask for it."""
    deepgram_server.models.add("nova-4", ["en", "de", "sw"])
    result = await set_up_through_the_form(hass, deepgram_server, "nova-4")
    assert result["step_id"] == "language", result.get("errors")
    assert {"pipeline", "de", "sw"} <= set(choices(result, CONF_LANGUAGE))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "sw"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(setting_of(result["result"]).data) == {CONF_MODEL: "nova-4", CONF_LANGUAGE: "sw"}
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED

    deepgram_server.utterances.append(PHRASE)
    result_text = await transcribe(hass, "sw")
    assert result_text.text == PHRASE
    session = deepgram_server.sessions[-1]
    assert (session.param("model"), session.param("language")) == ("nova-4", "sw")
    # The flow, the entry's set-up and its voice shared one fetch of the list.
    assert deepgram_server.requests.count(("GET", "/v1/models")) == 1
    assert not ir.async_get(hass).issues


async def test_a_language_only_the_server_lists_is_offered_by_configure(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A setting's reconfigure offers the server's models and a language it added, used then."""
    deepgram_server.models.add("nova-4", ["en"])
    deepgram_server.models.add_language("nova-3", "sw", "Swahili")
    await setup_integration(hass, mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    assert {"nova-3", "nova-4", "nova-2"} <= set(choices(result, CONF_MODEL))
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "nova-3"}
    )
    assert "sw" in choices(result, CONF_LANGUAGE)
    # Deepgram's own name labels a language the built-in table cannot name.
    assert labels(result, CONF_LANGUAGE)["sw"] == "Swahili"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "sw"}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()

    deepgram_server.utterances.append(PHRASE)
    assert (await transcribe(hass, "sw")).text == PHRASE
    session = deepgram_server.sessions[-1]
    assert (session.param("model"), session.param("language")) == ("nova-3", "sw")
    [entity_id] = hass.states.async_entity_ids("stt")
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    assert entity.supported_languages == ["sw"]


async def test_a_model_the_server_dropped_raises_a_repair_and_stays_in_use(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Deepgram no longer lists the stored model: a Repairs issue, and commands still work."""
    deepgram_server.models.drop("nova-3")
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"model_not_listed_{setting_of(mock_config_entry).subentry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "model_not_listed"
    assert issue.translation_placeholders == {
        "title": setting_of(mock_config_entry).title,
        "model": "nova-3",
    }

    deepgram_server.utterances.append(PHRASE)
    assert (await transcribe(hass)).text == PHRASE
    assert deepgram_server.sessions[-1].param("model") == "nova-3"
    # The setting's reconfigure still shows the stored model, beside those offered.
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    assert "nova-3" in choices(result, CONF_MODEL)
    hass.config_entries.subentries.async_abort(result["flow_id"])
    # The issue goes with the account.
    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert not ir.async_get(hass).issues


async def test_a_stored_language_the_server_dropped_is_still_sent(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The list no longer has the entry's language: commands still ask for it, not another."""
    deepgram_server.models.drop_language("nova-3", "en")
    await setup_integration(hass, mock_config_entry)
    [entity_id] = hass.states.async_entity_ids("stt")
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    assert "en" in entity.supported_languages
    assert "de" not in entity.supported_languages
    deepgram_server.utterances.append(PHRASE)
    assert (await transcribe(hass)).text == PHRASE
    assert deepgram_server.sessions[-1].param("language") == "en"


async def test_a_language_nova_3_reaches_through_multi_stays_hinted(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Arabic, which Nova-3 hears only through `multi`, is not sent as a code of its own."""
    await setup_integration(hass, mock_config_entry, **{CONF_LANGUAGE: "ar"})
    deepgram_server.utterances.append(PHRASE)
    assert (await transcribe(hass, "ar")).text == PHRASE
    session = deepgram_server.sessions[-1]
    assert session.param("language") == "multi"
    assert session.params.getall("language_hint", []) == ["ar"]


async def test_a_failed_list_falls_back_to_the_built_in_table(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The list cannot be had: the built-in models serve, nothing is reported, nothing kept.

    The next set-up asks again, and then offers what the server lists.
    """
    deepgram_server.models.status = HTTPStatus.SERVICE_UNAVAILABLE
    deepgram_server.models.add("nova-4", ["en"])
    deepgram_server.models.drop("nova-3")
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert not ir.async_get(hass).issues
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    offered = choices(result, CONF_MODEL)
    assert "nova-4" not in offered
    assert {"nova-3", "flux-general-en", "nova-2-phonecall", "nova"} <= set(offered)
    hass.config_entries.subentries.async_abort(result["flow_id"])
    deepgram_server.utterances.append(PHRASE)
    assert (await transcribe(hass)).text == PHRASE

    deepgram_server.models.status = None
    await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    assert "nova-4" in choices(result, CONF_MODEL)
    assert ir.async_get(hass).async_get_issue(
        DOMAIN, f"model_not_listed_{setting_of(mock_config_entry).subentry_id}"
    )


async def test_set_up_refuses_a_model_the_server_does_not_offer(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """A model typed in that the server lacks: the form again, with the server's models."""
    deepgram_server.models.drop("nova-2")
    deepgram_server.models.add("nova-4", ["en"])
    result = await set_up_through_the_form(hass, deepgram_server, "nova-2")
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_MODEL: "model_not_offered"}
    offered = choices(result, CONF_MODEL)
    assert "nova-4" in offered
    assert "nova-2" not in offered


def test_the_list_is_read_as_deepgram_writes_it() -> None:
    """Entries of one model merge; tags are cased; batch-only models and junk are skipped."""
    listed = parse_model_list(
        {
            "stt": [
                {
                    "canonical_name": "nova-3-general",
                    "languages": ["en", "en-us"],
                    "streaming": True,
                },
                {"canonical_name": "nova-3-general", "languages": ["zh-hans"], "streaming": True},
                {"canonical_name": "whisper-large", "languages": ["en"], "streaming": False},
                {"canonical_name": "nova-2-general", "languages": "en", "streaming": True},
                {
                    "name": "nova-5",
                    "architecture": "nova-5",
                    "languages": ["fi"],
                    "streaming": True,
                },
                "junk",
            ],
            "tts": [],
        }
    )
    assert listed is not None
    assert listed.live
    assert list(listed.models) == ["nova-3", "flux-general-en", "flux-general-multi", "nova-5"]
    nova_3 = listed.models["nova-3"]
    assert nova_3.languages == ("en", "en-US", "zh-Hans")
    assert nova_3.label == "Nova-3"
    assert nova_3.takes_language_hints
    nova_5 = listed.models["nova-5"]
    assert (nova_5.label, nova_5.languages, nova_5.supports_keyterms) == ("nova-5", ("fi",), True)
    # Flux is not in the list: Flux's own models stay offered from the built-in table.
    assert listed.models["flux-general-en"].flux
    assert listed.describe("nova-2").languages[0] == "en"
    assert not listed.offers("nova-2")
    assert parse_model_list({"stt": []}) is None
    assert parse_model_list([]) is None
