"""Never hang a listener: every fault of the voice ends the audio within a bound.

Each case checks that the audio ends, how long it took, the one log line it
leaves (with Deepgram's request id), the Repairs issue or re-authentication it
raises, and that no socket is left open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import DOMAIN
from custom_components.deepgram.health import RATE_LIMITED_STREAK
from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from . import answers_of, setup_integration
from .deepgram_server import DeepgramTestServer

ENGINE = "tts.deepgram_aura_2"
WAV = {"preferred_format": "wav"}
MP3: dict[str, Any] = {}
SILENCE_TIMEOUT = 0.5


@pytest.fixture
async def voice(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> MockConfigEntry:
    """Set up the voice with a short silence bound."""
    await setup_integration(hass, mock_config_entry)
    mock_config_entry.runtime_data.speaker.silence_timeout = SILENCE_TIMEOUT
    return mock_config_entry


async def written(*chunks: str, delay: float = 0.0) -> AsyncIterator[str]:
    for chunk in chunks:
        if delay:
            await asyncio.sleep(delay)
        yield chunk


async def speak(hass: HomeAssistant, options: dict[str, Any], *chunks: str) -> tuple[bytes, float]:
    """Stream an answer through Home Assistant; return its audio and how long it took."""
    stream = tts.async_create_stream(hass, ENGINE, "en", dict(options))
    stream.async_set_message_stream(written(*chunks or ("Hello there.",)))
    started = time.monotonic()
    audio = b"".join([chunk async for chunk in stream.async_stream_result()])
    return audio, time.monotonic() - started


def deepgram_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The error lines logged during the test; all of them the integration's own."""
    errors = [record for record in caplog.get_records("call") if record.levelno >= logging.ERROR]
    assert all(record.name.startswith("custom_components.deepgram") for record in errors)
    return [record.getMessage() for record in errors]


def record_of(server: DeepgramTestServer, options: dict[str, Any]) -> Any:
    """The server's record of the one request the answer made."""
    speak = server.speak
    records = [*speak.sessions, *speak.rejected] if options is WAV else list(speak.posts)
    assert len(records) == 1
    return records[0]


@pytest.mark.parametrize("options", [WAV, MP3], ids=["websocket", "rest"])
@pytest.mark.parametrize("status", [401, 402, 403, 429, 500, 503])
async def test_refused(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    options: dict[str, Any],
) -> None:
    """A refused request ends the audio at once with one line naming the request."""
    deepgram_server.speak.refuse_status = status
    audio, took = await speak(hass, options)
    assert took < 2
    assert len(audio) <= 44  # at most the WAV header
    [line] = deepgram_errors(caplog)
    assert f"HTTP {status}" in line
    assert record_of(deepgram_server, options).request_id in line
    [answer] = answers_of(voice)
    assert answer.outcome.startswith("Deepgram")
    assert answer.request_ids == (record_of(deepgram_server, options).request_id,)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    reauth = [flow for flow in flows if flow["context"]["source"] == SOURCE_REAUTH]
    assert bool(reauth) == (status in (401, 403))
    issues = ir.async_get(hass)
    assert bool(issues.async_get_issue(DOMAIN, f"out_of_credits_{voice.entry_id}")) == (
        status == 402
    )


async def test_repeated_rate_limit_raises_an_issue_and_success_clears_it(
    hass: HomeAssistant, voice: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """429 again and again: a Repairs issue; the next spoken answer removes it."""
    issue_id = f"rate_limited_{voice.entry_id}"
    deepgram_server.speak.refuse_status = 429
    for _ in range(RATE_LIMITED_STREAK):
        await speak(hass, WAV)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    deepgram_server.speak.refuse_status = None
    audio, _ = await speak(hass, WAV, "Back again.")
    assert len(audio) > 44
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.parametrize(
    ("code", "payload"), [(1011, "NET-0000"), (1008, "DATA-0000"), (1009, "BIG-0000")]
)
async def test_closed_mid_answer(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    code: int,
    payload: str,
) -> None:
    """Deepgram closing inside an answer: the audio so far, then the end, one line."""
    deepgram_server.speak.close_mid_answer = (0.3, code, payload)
    audio, took = await speak(hass, WAV, "This answer is long enough to be cut in its middle.")
    assert took < 3
    assert len(audio) > 44
    [line] = deepgram_errors(caplog)
    assert f"code {code}" in line
    assert deepgram_server.speak.sessions[0].request_id in line
    assert deepgram_server.speak.active_streams == 0


@pytest.mark.parametrize("options", [WAV, MP3], ids=["websocket", "rest"])
async def test_silent_server(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    options: dict[str, Any],
) -> None:
    """A server that never speaks ends the answer within the silence bound."""
    deepgram_server.speak.silent = True
    if options is MP3:
        # Before its headers, a REST request is bounded by the connect timeout.
        voice.runtime_data.speaker.connect_timeout = SILENCE_TIMEOUT
    _, took = await speak(hass, options)
    assert took < 2 * SILENCE_TIMEOUT + 1
    [line] = deepgram_errors(caplog)
    if options is WAV:
        session = deepgram_server.speak.sessions[0]
        assert session.request_id in line
        await asyncio.wait_for(session.closed.wait(), 3)
    assert deepgram_server.speak.active_streams == 0


async def test_cancelled_answer_closes_the_socket(
    hass: HomeAssistant, voice: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A listener that goes away mid-answer closes the websocket at once, and is no error."""
    engine = tts.get_engine_instance(hass, ENGINE)
    assert isinstance(engine, tts.TextToSpeechEntity)

    async def endless() -> AsyncIterator[str]:
        while True:
            yield "More and more words. "
            await asyncio.sleep(0.05)

    response = await engine.async_stream_tts_audio(TTSAudioRequest("en", dict(WAV), endless()))
    got_audio = asyncio.Event()

    async def listen() -> None:
        async for chunk in response.data_gen:
            if len(chunk) > 44:
                got_audio.set()

    task = asyncio.create_task(listen())
    await asyncio.wait_for(got_audio.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(deepgram_server.speak.sessions[0].closed.wait(), 3)
    assert deepgram_server.speak.active_streams == 0
    assert answers_of(voice)[-1].outcome == "cancelled"


async def test_unload_closes_open_answers(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unloading the entry closes a socket that is still waiting for the agent, quietly."""
    engine = tts.get_engine_instance(hass, ENGINE)
    assert isinstance(engine, tts.TextToSpeechEntity)
    agent_done = asyncio.Event()
    connected = asyncio.Event()

    async def slow_agent() -> AsyncIterator[str]:
        # Read only once the socket is open.
        connected.set()
        yield "Thinking"
        await agent_done.wait()

    response = await engine.async_stream_tts_audio(TTSAudioRequest("en", dict(WAV), slow_agent()))
    listener = asyncio.create_task(_drain(response.data_gen))
    await asyncio.wait_for(connected.wait(), 5)
    answers = answers_of(voice)
    await hass.config_entries.async_unload(voice.entry_id)
    await asyncio.wait_for(deepgram_server.speak.sessions[0].closed.wait(), 3)
    await asyncio.wait_for(listener, 3)
    agent_done.set()
    assert deepgram_errors(caplog) == []
    assert answers[-1].outcome == "stopped: the entry was unloaded"
    assert deepgram_server.speak.active_streams == 0


async def _drain(audio: AsyncIterator[bytes]) -> None:
    async for _ in audio:
        pass
