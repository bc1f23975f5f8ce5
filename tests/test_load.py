"""Many streams at once, and many in a row, through the entity (scaled for CI).

`benchmarks/soak.py` runs the full figures: 1,000 sessions, a 30 s stall, and a
ten-minute real-time stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import DOMAIN
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, setting_of, setup_integration
from .conftest import account_entry

ROOMS = ("kitchen", "hallway", "bedroom", "garage", "office")
THINGS = ("light", "fan", "heater", "blinds", "speaker", "lamp", "plug", "tv", "radio", "kettle")


def phrase(index: int) -> str:
    """A different command for each stream."""
    return f"turn on the {ROOMS[index % 5]} {THINGS[index // 5 % 10]}"


async def paced(pcm: bytes, delay: float) -> AsyncIterator[bytes]:
    """Yield 20 ms chunks with a pause between them, as a microphone would."""
    for chunk in chunked(pcm, 640):
        yield chunk
        await asyncio.sleep(delay)


def open_sockets() -> int:
    """Count this process's open sockets."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor
            count += fd.readlink().name.startswith("socket:")
    return count


async def test_fifty_concurrent_streams_never_cross(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer
) -> None:
    """50 accounts stream different commands at once; each caller gets its own."""
    deepgram_server.api_keys = None
    registry = er.async_get(hass)
    entities: list[stt.SpeechToTextEntity] = []
    for index in range(50):
        key = f"key-{index}"
        deepgram_server.scripts_by_key[key] = phrase(index)
        entry = account_entry(
            deepgram_server.url,
            project=None,
            api_key=key,
            voice=None,
            end_of_command="home_assistant",
        )
        await setup_integration(hass, entry)
        entity_id = registry.async_get_entity_id("stt", DOMAIN, setting_of(entry).subentry_id)
        entity = stt.async_get_speech_to_text_entity(hass, entity_id or "")
        assert entity is not None
        entities.append(entity)

    audio = [synthesize(phrase(index)) for index in range(50)]
    results = await asyncio.gather(
        *(
            entity.internal_async_process_audio_stream(METADATA, paced(audio[index], 0.004))
            for index, entity in enumerate(entities)
        )
    )

    assert [result.text for result in results] == [phrase(index) for index in range(50)]
    assert {result.result for result in results} == {stt.SpeechResultState.SUCCESS}
    by_key = {session.authorization: session for session in deepgram_server.sessions}
    for index in range(50):
        assert bytes(by_key[f"Token key-{index}"].audio) == audio[index]


async def test_many_sessions_in_a_row_leave_nothing_behind(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """After 200 streams, sockets and tasks are back where they started."""
    await setup_integration(hass, mock_config_entry)
    entity = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    assert entity is not None
    pcm = synthesize("hello")

    async def one() -> None:
        result = await entity.internal_async_process_audio_stream(METADATA, paced(pcm, 0))
        assert result.result is stt.SpeechResultState.SUCCESS

    await one()
    await hass.async_block_till_done(wait_background_tasks=True)
    sockets, tasks = open_sockets(), len(asyncio.all_tasks())
    for _ in range(200):
        await one()
    # The last stream answered early and is still closing in the background.
    await hass.async_block_till_done(wait_background_tasks=True)
    await asyncio.wait_for(deepgram_server.sessions[-1].closed.wait(), 2)
    assert deepgram_server.active_streams == 0
    assert len(asyncio.all_tasks()) <= tasks
    assert open_sockets() <= sockets
