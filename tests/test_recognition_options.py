"""Every recognition setting, proven on the wire or in the returned text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import pcm_metadata, setting_of, setup_integration
from .conftest import account_entry

ENTITY_ID = "stt.deepgram_nova_3_english"
PHRASE = "turn on the kitchen light"


async def speech(text: str = PHRASE) -> AsyncIterator[bytes]:
    """Say `text` in 20 ms chunks."""
    for chunk in chunked(synthesize(text), 640):
        yield chunk


async def transcribe_with(  # noqa: PLR0913 - a test home, its server and the settings
    hass: HomeAssistant,
    entry: MockConfigEntry,
    server: DeepgramTestServer,
    options: dict[str, Any],
    *,
    language: str = "en",
    script: str = PHRASE,
) -> tuple[stt.SpeechResult, list[tuple[str, str]]]:
    """Set the entry up with `options`, say the script, return the result and the query."""
    await setup_integration(hass, entry, **options)
    assert entry.state is ConfigEntryState.LOADED
    entity = next(iter(hass.data["stt"].entities))
    server.utterances.append(script)
    result = await entity.internal_async_process_audio_stream(
        pcm_metadata(language=language), speech(script)
    )
    return result, server.sessions[-1].query


@pytest.mark.parametrize(
    ("options", "sent", "absent"),
    [
        ({}, [("punctuate", "true"), ("smart_format", "false"), ("endpointing", "300")], []),
        ({"punctuate": False}, [("punctuate", "false")], []),
        ({"smart_format": True}, [("smart_format", "true")], []),
        ({"numerals": True}, [("numerals", "true")], []),
        ({}, [], ["numerals", "profanity_filter", "filler_words", "keyterm"]),
        ({"profanity_filter": True}, [("profanity_filter", "true")], []),
        ({"filler_words": True}, [("filler_words", "true")], []),
        ({"endpointing": 800}, [("endpointing", "800")], []),
        ({"language": "de-CH"}, [("language", "de-CH")], []),
        ({"language": "multi"}, [("language", "multi")], []),
        (
            {"custom_keyterms": ["Küchenpendel", "Hue Go"]},
            [("keyterm", "Küchenpendel"), ("keyterm", "Hue Go")],
            ["keywords"],
        ),
        (
            {"model": "nova-2", "custom_keyterms": ["Küchenpendel", "Hue Go"]},
            [("model", "nova-2"), ("keywords", "Küchenpendel:2"), ("keywords", "Hue:2")],
            ["keyterm"],
        ),
        ({"end_of_command": "home_assistant"}, [], ["utterance_end_ms", "interim_results"]),
        ({}, [("utterance_end_ms", "1000"), ("interim_results", "true")], []),
        ({"end_of_command": "deepgram"}, [("utterance_end_ms", "1000")], []),
    ],
)
async def test_each_setting_reaches_the_wire(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
    sent: list[tuple[str, str]],
    absent: list[str],
) -> None:
    """A setting changes exactly its query parameter, and Deepgram accepts it."""
    result, query = await transcribe_with(hass, mock_config_entry, deepgram_server, options)
    assert result.result is stt.SpeechResultState.SUCCESS
    for pair in sent:
        assert pair in query
    names = {name for name, _ in query}
    for name in absent:
        assert name not in names


@pytest.mark.parametrize(
    ("pipeline_language", "sent"),
    [("de-AT", "de"), ("pt-BR", "pt-BR"), ("fr", "fr"), ("gsw", "multi")],
)
async def test_following_the_voice_assistant_maps_its_language(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    pipeline_language: str,
    sent: str,
) -> None:
    """The pipeline's language goes to Deepgram as the model's closest code."""
    _, query = await transcribe_with(
        hass,
        mock_config_entry,
        deepgram_server,
        {"language": "pipeline"},
        language=pipeline_language,
    )
    assert ("language", sent) in query


@pytest.mark.parametrize(
    ("strip", "expected"), [(True, "Is the door open"), (False, "Is the door open?")]
)
async def test_trailing_punctuation(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    strip: bool,
    expected: str,
) -> None:
    """The final question mark goes, by default, because Assist's matching trips on it."""
    result, _ = await transcribe_with(
        hass,
        mock_config_entry,
        deepgram_server,
        {"strip_punctuation": strip},
        script="Is the door open?",
    )
    assert result.text == expected


async def test_setting_reconfigure_follows_the_model(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Choosing Flux shows Flux's settings; saving renames the setting and reloads it."""
    await setup_integration(hass, mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "flux-general-en"}
    )
    assert result["step_id"] == "recognition"
    fields = {str(key) for key in result["data_schema"].schema}
    assert {"eot_threshold", "eot_timeout_ms", "numerals", "home_keyterms"} <= fields
    assert not {"endpointing", "punctuate", "smart_format"} & fields
    # Flux alone ends its turns unless told otherwise.
    end_of_command = next(key for key in result["data_schema"].schema if key == "end_of_command")
    assert end_of_command.default() == "deepgram"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "language": "en",
            "numerals": False,
            "profanity_filter": False,
            "strip_punctuation": True,
            "home_keyterms": True,
            "end_of_command": "deepgram",
            "eot_threshold": 0.8,
            "eot_timeout_ms": 3000,
            "no_speech_timeout": 8,
            "max_utterance": 30,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    setting = setting_of(mock_config_entry)
    assert setting.data["model"] == "flux-general-en"
    assert setting.title == "Deepgram Flux (English)"
    assert setting.unique_id == "flux-general-en_en"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    # The account reloaded: the entity now streams to Flux.
    entity = stt.async_get_speech_to_text_entity(hass, ENTITY_ID)
    assert entity is not None
    assert entity.supported_channels == [stt.AudioChannels.CHANNEL_MONO]


async def test_setting_reconfigure_keeps_a_title_the_user_chose(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A renamed setting keeps its name when the language changes."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry, setting_of(mock_config_entry), title="Kitchen speaker"
    )
    await setup_integration(hass, mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "nova-3"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"language": "pipeline"}
    )
    assert result["type"] is FlowResultType.ABORT
    setting = setting_of(mock_config_entry)
    assert setting.title == "Kitchen speaker"
    assert setting.data["language"] == "pipeline"
    assert setting.data["punctuate"] is True


async def test_setting_reconfigure_refuses_a_duplicate(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Switching to a model and language another setting of the account has is refused."""
    mock_config_entry = account_entry(deepgram_server.url, ("nova-3", "en"), ("nova-3", "de"))
    await setup_integration(hass, mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "nova-3"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"language": "de"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "already_configured"}
    language_key = next(key for key in result["data_schema"].schema if key == "language")
    assert language_key.default() == "en"


def choices(result: Any, name: str) -> list[str] | None:
    """Return the values a form's select field offers, or None without the field."""
    for key, selector in result["data_schema"].schema.items():
        if key == name:
            return [option["value"] for option in selector.config["options"]]
    return None


async def test_setting_reconfigure_asks_for_the_other_languages_spoken_at_home(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Each model offers what its `multi` hears; a language it lacks is not kept."""
    await setup_integration(hass, mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "nova-3"}
    )
    offered = choices(result, "other_languages")
    assert offered is not None
    assert {"tr", "pl", "ar", "zu", "en-CA"} <= set(offered)
    # 55 languages; Cantonese (zh-HK) and Flemish (nl-BE) share their base code.
    assert len({code.partition("-")[0] for code in offered}) == 55 - 2
    # Arabic has no model of its own but is a language to choose.
    languages = choices(result, "language")
    assert languages is not None
    assert {"pipeline", "multi", "ar", "gl"} <= set(languages)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"language": "multi", "other_languages": ["tr", "ar"]}
    )
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert setting_of(mock_config_entry).data["other_languages"] == ["tr", "ar"]

    # Flux Multilingual has its own ten: Turkish and Arabic are not suggested there.
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "flux-general-multi"}
    )
    assert sorted(choices(result, "other_languages") or []) == sorted(
        ["en", "es", "fr", "de", "hi", "ru", "pt", "ja", "it", "nl"]
    )
    suggested = next(key for key in result["data_schema"].schema if key == "other_languages")
    assert suggested.description == {"suggested_value": []}
    # Nova-2's `multi` takes no hints: nothing to ask.
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "nova-2"}
    )
    assert choices(result, "other_languages") is None


FLUX_FORM = {
    "language": "en",
    "numerals": False,
    "profanity_filter": False,
    "strip_punctuation": True,
    "home_keyterms": True,
    "end_of_command": "deepgram",
    "eot_threshold": 0.7,
    "eot_timeout_ms": 5000,
    "no_speech_timeout": 8,
    "max_utterance": 30,
}


@pytest.mark.parametrize(
    ("setting", "value", "accepted"),
    [
        # Deepgram's documented ranges today: 0.5-1.0 and 500-60000 ms.
        ("eot_threshold", 0.5, True),
        ("eot_threshold", 1.0, True),
        ("eot_threshold", 0.49, False),
        ("eot_threshold", 1.01, False),
        ("eot_timeout_ms", 500, True),
        ("eot_timeout_ms", 60000, True),
        ("eot_timeout_ms", 499, False),
        ("eot_timeout_ms", 60001, False),
    ],
)
async def test_setting_reconfigure_takes_flux_settings_within_deepgram_ranges(  # noqa: PLR0913, PLR0917 - fixtures and the case
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    setting: str,
    value: float,
    accepted: bool,
) -> None:
    """Each bound is accepted and saved; just outside it the form refuses."""
    await setup_integration(hass, mock_config_entry)
    result = await mock_config_entry.start_subentry_reconfigure_flow(
        hass, setting_of(mock_config_entry).subentry_id
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "flux-general-en"}
    )
    form = {**FLUX_FORM, setting: value}
    if not accepted:
        with pytest.raises(InvalidData):
            await hass.config_entries.subentries.async_configure(result["flow_id"], form)
        return
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert setting_of(mock_config_entry).data[setting] == value


async def test_adding_a_flux_setting_beside_nova(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A second setting is a second entity with its own model; the same one twice is refused."""
    await setup_integration(hass, mock_config_entry)

    async def add(model: str, language: str) -> Any:
        result = await hass.config_entries.subentries.async_init(
            (mock_config_entry.entry_id, "stt"), context={"source": SOURCE_USER}
        )
        assert result["step_id"] == "user"
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"model": model}
        )
        assert result["step_id"] == "recognition"
        return await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {**FLUX_FORM, "language": language}
            if model.startswith("flux")
            else {"language": language},
        )

    duplicate = await add("nova-3", "en")
    assert duplicate["type"] is FlowResultType.FORM
    assert duplicate["errors"] == {"base": "already_configured"}

    created = await add("flux-general-en", "en")
    assert created["type"] is FlowResultType.CREATE_ENTRY
    assert created["title"] == "Deepgram Flux (English)"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert sorted(hass.states.async_entity_ids("stt")) == [
        "stt.deepgram_flux_english",
        ENTITY_ID,
    ]
    for entity_id, path in ((ENTITY_ID, "/v1/listen"), ("stt.deepgram_flux_english", "/v2/listen")):
        entity = stt.async_get_speech_to_text_entity(hass, entity_id)
        assert entity is not None
        deepgram_server.utterances.append(PHRASE)
        result = await entity.internal_async_process_audio_stream(pcm_metadata(), speech())
        assert result.text == PHRASE
        assert deepgram_server.sessions[-1].path == path
