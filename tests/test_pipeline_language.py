"""The language a voice assistant asks for is the language Deepgram hears."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.deepgram.const import CONF_LANGUAGE, CONF_OTHER_LANGUAGES
from homeassistant.components.assist_pipeline import PipelineEventType
from homeassistant.core import HomeAssistant
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import setting_of, setup_integration
from .pipeline import CHUNK, Microphone, run_pipeline

PHRASE = "schalte das Küchenlicht ein"


async def engine_languages(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, language: str
) -> list[str]:
    """Return what `stt/engine/list` says the Deepgram entity offers for a language."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "stt/engine/list", "language": language})
    response = await client.receive_json()
    assert response["success"]
    (provider,) = [
        provider
        for provider in response["result"]["providers"]
        if provider["engine_id"].startswith("stt.deepgram")
    ]
    languages: list[str] = provider["supported_languages"]
    return languages


ASKED = ("en", "en-GB", "de", "de-CH", "ja", "pl", "sv", "ar", "zu")


@pytest.mark.parametrize(
    ("language", "offered"),
    [
        # A fixed language: that language and its regional variants, nothing else.
        ("en", {"en", "en-GB"}),
        ("de-CH", {"de", "de-CH"}),
        # The voice assistant's language: every language the model has, including
        # those only `multi` serves (Arabic, Zulu).
        ("pipeline", set(ASKED)),
        # Multilingual: the 55 languages of Nova-3's `multi`, Polish and Arabic among them.
        ("multi", set(ASKED)),
        # One language that only `multi` serves.
        ("ar", {"ar"}),
    ],
)
async def test_engine_list_offers_only_languages_the_entry_hears(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    language: str,
    offered: set[str],
) -> None:
    """Home Assistant never offers the entity for a language it would not use."""
    await setup_integration(hass, mock_config_entry, **{CONF_LANGUAGE: language})
    for asked in ASKED:
        languages = await engine_languages(hass, hass_ws_client, asked)
        assert bool(languages) == (asked in offered), asked
        assert all(tag.partition("-")[0] == asked.partition("-")[0] for tag in languages)
    if language == "de-CH":
        # Only the Swiss variant: a German (Germany) voice assistant gets nothing closer.
        assert await engine_languages(hass, hass_ws_client, "de") == ["de-CH"]


@pytest.mark.parametrize(
    ("options", "pipeline_language", "sent", "hints"),
    [
        ({CONF_LANGUAGE: "pipeline"}, "de", "de", []),
        # The new default: an entry set up today follows its voice assistant.
        ({}, "de", "de", []),
        ({CONF_LANGUAGE: "pipeline"}, "en-GB", "en-GB", []),
        # Only `multi` serves Arabic: it is asked for by hint.
        ({}, "ar", "multi", ["ar"]),
        ({CONF_LANGUAGE: "pipeline"}, "gl", "multi", ["gl"]),
        # Multilingual hears the voice assistant's language first.
        ({CONF_LANGUAGE: "multi"}, "de", "multi", ["de"]),
        ({CONF_LANGUAGE: "multi"}, "pl", "multi", ["pl"]),
        # ... and the other languages spoken at home.
        ({CONF_LANGUAGE: "multi", CONF_OTHER_LANGUAGES: ["tr", "de"]}, "de", "multi", ["de", "tr"]),
        ({CONF_LANGUAGE: "en"}, "en", "en", []),
        ({CONF_LANGUAGE: "ar"}, "ar", "multi", ["ar"]),
    ],
)
async def test_the_pipeline_language_reaches_deepgram(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
    pipeline_language: str,
    sent: str,
    hints: list[str],
) -> None:
    """A German voice assistant on an entry that follows it sends German to Deepgram."""
    mock_config_entry.add_to_hass(hass)
    setting = setting_of(mock_config_entry)
    setting_data = {**setting.data, **options}
    if not options:
        setting_data.pop(CONF_LANGUAGE)
    hass.config_entries.async_update_subentry(mock_config_entry, setting, data=setting_data)
    await setup_integration(hass, mock_config_entry)
    # The pipeline Home Assistant creates for its own language.
    hass.config.language = pipeline_language
    deepgram_server.utterances.append(PHRASE)
    microphone = Microphone(chunked(synthesize(PHRASE, trailing_silence=0.0), CHUNK))
    entity_id = next(iter(hass.data["stt"].entities)).entity_id

    events = await run_pipeline(hass, entity_id, microphone.stream())

    stt_end = next(event for event in events if event.type is PipelineEventType.STT_END)
    assert stt_end.data == {"stt_output": {"text": PHRASE}}
    session = deepgram_server.sessions[-1]
    assert session.param("language") == sent
    assert session.params.getall("language_hint", []) == hints
