"""Key terms from the home: which names are chosen, and that they reach Deepgram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.deepgram.keyterms import (
    MAX_TERMS,
    MAX_TOKENS,
    estimate_tokens,
    keywords,
    select_terms,
)
from homeassistant.components import stt
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, setup_integration


def test_groups_keep_their_priority_and_sort_within() -> None:
    """Earlier groups come first; each group is alphabetical; repeats are dropped."""
    assert select_terms([["Zebra lamp", "apple tv"], ["Kitchen", "APPLE TV", "  Hall   way "]]) == (
        "apple tv",
        "Zebra lamp",
        "Hall way",
        "Kitchen",
    )


def test_limits_are_never_passed() -> None:
    """No more than 100 terms or 500 estimated tokens, and a long name is skipped."""
    many = select_terms([[f"lamp {index:04}" for index in range(1000)]])
    assert len(many) == MAX_TERMS
    assert many[:2] == ("lamp 0000", "lamp 0001")
    wordy = select_terms(
        [[f"the very long name of lamp number {index:03}" for index in range(200)]]
    )
    assert sum(map(estimate_tokens, wordy)) <= MAX_TOKENS
    assert len(wordy) == MAX_TOKENS // estimate_tokens(wordy[0])
    assert select_terms([["x" * 51, "ok"]]) == ("ok",)


def test_token_estimate() -> None:
    """A token per word, or per four characters of a long word."""
    assert estimate_tokens("kitchen") == 2
    assert estimate_tokens("a b c") == 3
    assert estimate_tokens("Wohnzimmerdeckenleuchte") == 6


def test_keywords_boost_each_word_once() -> None:
    """Nova-2 gets single words with a modest boost; short words and numbers are left out."""
    assert keywords(["Kitchen pendant", "kitchen", "TV 2", "on"]) == (
        "Kitchen:2",
        "pendant:2",
    )


async def stream(server: DeepgramTestServer, hass: HomeAssistant) -> list[str]:
    """Say one command through the entity and return the keyterms Deepgram got."""

    async def audio() -> AsyncIterator[bytes]:
        for chunk in chunked(synthesize("turn on the light"), 640):
            yield chunk

    entity = next(iter(hass.data["stt"].entities))
    result = await entity.internal_async_process_audio_stream(METADATA, audio())
    assert result.result is stt.SpeechResultState.SUCCESS
    return [value for name, value in server.sessions[-1].query if name == "keyterm"]


async def build_home(hass: HomeAssistant) -> None:
    """A floor, an area and three entities, two of them exposed to Assist."""
    assert await async_setup_component(hass, "homeassistant", {})
    floor = fr.async_get(hass).async_create("Ground floor", aliases={"downstairs"})
    area = ar.async_get(hass).async_create("Kitchen", aliases={"cookery"}, floor_id=floor.floor_id)
    registry = er.async_get(hass)
    for object_id, name, exposed in (
        ("kitchen_pendant", "Kitchen pendant", True),
        ("hall_spots", "Hall spots", True),
        ("safe_lock", "Secret safe", False),
    ):
        entry = registry.async_get_or_create(
            "light", "test", object_id, suggested_object_id=object_id, original_name=name
        )
        if object_id == "kitchen_pendant":
            registry.async_update_entity(entry.entity_id, aliases={"hanging lamp"}, area_id=area.id)
        hass.states.async_set(entry.entity_id, "off", {"friendly_name": name})
        async_expose_entity(hass, "conversation", entry.entity_id, exposed)


async def test_terms_come_from_the_home(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Own terms, floors, areas, aliases, then names of exposed entities only."""
    await build_home(hass)
    await setup_integration(hass, mock_config_entry, custom_keyterms=["Deepgram"])
    assert await stream(deepgram_server, hass) == [
        "Deepgram",
        "downstairs",
        "Ground floor",
        "cookery",
        "Kitchen",
        "hanging lamp",
        "Hall spots",
        "Kitchen pendant",
    ]


async def test_terms_follow_changes_to_the_home(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A renamed area or a newly exposed entity is in the terms after a short delay."""
    await build_home(hass)
    await setup_integration(hass, mock_config_entry)
    areas = ar.async_get(hass)
    kitchen = areas.async_get_area_by_name("Kitchen")
    assert kitchen is not None
    areas.async_update(kitchen.id, name="Scullery")
    async_expose_entity(hass, "conversation", "light.safe_lock", True)
    await hass.async_block_till_done()
    assert "Kitchen" in await stream(deepgram_server, hass)  # not on the audio path

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
    await hass.async_block_till_done()
    terms = await stream(deepgram_server, hass)
    assert "Scullery" in terms
    assert "Kitchen" not in terms
    assert "Secret safe" in terms


async def test_home_terms_can_be_turned_off(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """With the option off, only the user's own terms are sent."""
    await build_home(hass)
    await setup_integration(hass, mock_config_entry, home_keyterms=False, custom_keyterms=["Hue"])
    assert await stream(deepgram_server, hass) == ["Hue"]


async def test_a_thousand_entities_still_make_a_valid_request(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A big home is cut down to Deepgram's limits, and Deepgram accepts the request."""
    assert await async_setup_component(hass, "homeassistant", {})
    for index in range(1000):
        entity_id = f"switch.outlet_{index:04}"
        hass.states.async_set(entity_id, "off", {"friendly_name": f"Outlet number {index:04}"})
        async_expose_entity(hass, "conversation", entity_id, True)
    await setup_integration(hass, mock_config_entry)
    terms = await stream(deepgram_server, hass)
    assert len(terms) == MAX_TERMS
    assert sum(map(estimate_tokens, terms)) <= MAX_TOKENS
    assert terms[0] == "Outlet number 0000"
    assert deepgram_server.sessions[-1].close_code == 1000
