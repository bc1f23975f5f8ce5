"""Setting up and unloading a Deepgram entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from unittest.mock import AsyncMock

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import DOMAIN
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from local_deepgram_server import DeepgramTestServer, server as server_module
from local_deepgram_server.handshake import hang
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, setup_integration

PHRASE = "turn on the kitchen light"


async def speech(text: str) -> AsyncIterator[bytes]:
    """Say `text` in 20 ms chunks."""
    for chunk in chunked(synthesize(text), 640):
        yield chunk


async def test_load_and_unload(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The key is checked at set-up, and the entry unloads cleanly."""
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    # The key check, then the voice list for the account's voice.
    assert deepgram_server.requests == [("GET", "/v1/projects"), ("GET", "/v1/models")]
    assert hass.states.get("stt.deepgram_nova_3_english") is not None

    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


async def test_unreachable_server_retries_setup(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A Deepgram outage at start-up means retry later, not a broken entry."""
    deepgram_server.handshake_status = 503
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "HTTP 503" in str(mock_config_entry.reason)


async def test_revoked_key_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A key Deepgram refuses at start-up asks the user for a new one."""
    deepgram_server.api_keys = {"another-key"}
    await setup_integration(hass, mock_config_entry)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_unload_stops_a_stream_still_in_its_handshake(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A command whose connection is still being opened ends with the unload, not later."""
    handshake_started = asyncio.Event()

    async def hang_and_tell(*args: object) -> object:
        handshake_started.set()
        return await hang(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(server_module, "hang", hang_and_tell)
    await setup_integration(hass, mock_config_entry)
    client = mock_config_entry.runtime_data.client
    client.connect_timeout = 3600  # only the unload can end this handshake
    deepgram_server.hang_handshake = True
    entity = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    assert entity is not None
    command = asyncio.create_task(
        entity.internal_async_process_audio_stream(METADATA, speech(PHRASE))
    )
    async with asyncio.timeout(30):
        await handshake_started.wait()

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert not client.streams
    async with asyncio.timeout(30):
        assert await command == stt.SpeechResult(None, stt.SpeechResultState.ERROR)


# The entry stays set up after a failed unload, and with it the debouncer of its key terms.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_failed_platform_unload_leaves_the_clients_open(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the entities stay, so do their clients: a command in progress still completes."""
    await setup_integration(hass, mock_config_entry, end_of_command="home_assistant")
    data = mock_config_entry.runtime_data
    entity = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    assert entity is not None
    deepgram_server.utterances.append(PHRASE)
    audio = synthesize(PHRASE)
    halfway = len(audio) // 2 // 640 * 640
    halfway_read, unloaded = asyncio.Event(), asyncio.Event()

    async def microphone() -> AsyncIterator[bytes]:
        for chunk in chunked(audio[:halfway], 640):
            yield chunk
        halfway_read.set()
        await unloaded.wait()
        for chunk in chunked(audio[halfway:], 640):
            yield chunk

    command = asyncio.create_task(
        entity.internal_async_process_audio_stream(METADATA, microphone())
    )
    async with asyncio.timeout(30):
        await halfway_read.wait()
    speaker_closed = AsyncMock(wraps=data.speaker.close)
    monkeypatch.setattr(data.speaker, "close", speaker_closed)
    monkeypatch.setattr(
        hass.config_entries, "async_unload_platforms", AsyncMock(return_value=False)
    )

    assert not await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.FAILED_UNLOAD
    unloaded.set()
    async with asyncio.timeout(30):
        assert await command == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    assert data.client.streams == set()
    speaker_closed.assert_not_awaited()
