"""Diagnostics: the settings and the last streams, never the API key."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.deepgram.records import SESSIONS_KEPT
from homeassistant.components import tts
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, setting_of, setup_integration
from .conftest import API_KEY


async def say(text: str) -> AsyncIterator[bytes]:
    """Say `text` in 20 ms chunks."""
    for chunk in chunked(synthesize(text), 640):
        yield chunk


def stable(diagnostics: Any, server: DeepgramTestServer) -> Any:
    """Replace what changes from run to run (port, ids, times) with placeholders."""
    for subentry in diagnostics["subentries"]:
        subentry["subentry_id"] = "<subentry id>"
        for session in subentry.get("sessions", ()):
            assert session["request_id"]
            session["request_id"] = "<request id>"
            session["started"] = "<time>"
            session["outcome"] = session["outcome"].split(" (")[0]
            if session["outcome"] == "success":
                assert isinstance(session["final_result_ms"], int)
                session["final_result_ms"] = "<ms>"
        for answer in subentry.get("answers", ()):
            assert len(answer["request_ids"]) == 1
            answer["request_ids"] = ["<request id>"]
            answer["started"] = "<time>"
            answer["outcome"] = answer["outcome"].split(" (")[0]
            if answer["outcome"] == "success":
                assert isinstance(answer["first_audio_ms"], int)
                answer["first_audio_ms"] = "<ms>"
    text = json.dumps(diagnostics).replace(server.url, "http://<local server>")
    return json.loads(text)


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    snapshot: SnapshotAssertion,
) -> None:
    """The account, each setting and voice, and their streams' and answers' ids and outcomes."""
    await setup_integration(hass, mock_config_entry)
    entity = next(iter(hass.data["stt"].entities))
    deepgram_server.utterances.append("turn on the light")
    await entity.internal_async_process_audio_stream(METADATA, say("turn on the light"))
    deepgram_server.handshake_status = 429
    await entity.internal_async_process_audio_stream(METADATA, say("and the fan"))
    for refusal, message in ((None, "The light is on."), (402, "The fan is on.")):
        deepgram_server.speak.refuse_status = refusal
        stream = tts.async_create_stream(
            hass, "tts.deepgram_aura_2", "en", {"preferred_format": "wav"}
        )
        stream.async_set_message(message)
        if refusal is None:
            assert [chunk async for chunk in stream.async_stream_result()]
        else:
            with pytest.raises(HomeAssistantError):
                assert not [chunk async for chunk in stream.async_stream_result()]

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)

    assert API_KEY not in json.dumps(diagnostics)
    assert stable(diagnostics, deepgram_server) == snapshot


async def test_only_the_last_sessions_are_kept(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """Diagnostics keep the last 20 streams, newest last."""
    await setup_integration(hass, mock_config_entry)
    entity = next(iter(hass.data["stt"].entities))
    for _ in range(SESSIONS_KEPT + 3):
        await entity.internal_async_process_audio_stream(METADATA, say("hello"))
    sessions = mock_config_entry.runtime_data.listening[
        setting_of(mock_config_entry).subentry_id
    ].sessions
    assert len(sessions) == SESSIONS_KEPT
    assert sessions[-1].request_id == deepgram_server.sessions[-1].request_id
