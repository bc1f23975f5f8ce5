"""Never hang a listener: every fault of the voice ends the audio with an error.

Each case checks that the audio ends with Home Assistant's error (so nothing
wrong is cached), what came before it, the one log line the integration leaves
(with Deepgram's request id), the Repairs issue or re-authentication it raises,
and that no socket is left open. The bounds themselves are the speaker's; a
fault that broke one would hang until pytest's own timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import DOMAIN
from custom_components.deepgram.health import RATE_LIMITED_STREAK
from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from local_deepgram_server import DeepgramTestServer

from . import answers_of, setup_integration

ENGINE = "tts.deepgram_aura_2"
WAV = {"preferred_format": "wav"}
MP3: dict[str, Any] = {}
SILENCE_TIMEOUT = 0.5
# Only guards against a hang; the events awaited come long before.
GUARD = 30


@pytest.fixture
async def voice(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> MockConfigEntry:
    """Set up the voice; its bounds are the real ones unless a test shortens them."""
    await setup_integration(hass, mock_config_entry)
    return mock_config_entry


async def written(*chunks: str) -> AsyncIterator[str]:
    """Yield an answer's text."""
    for chunk in chunks:
        yield chunk


async def speak(
    hass: HomeAssistant, options: dict[str, Any], *chunks: str
) -> tuple[bytes, HomeAssistantError | None]:
    """Stream an answer through Home Assistant; return its audio and the error it ended with."""
    stream = tts.async_create_stream(hass, ENGINE, "en", dict(options))
    stream.async_set_message_stream(written(*chunks or ("Hello there.",)))
    audio = bytearray()
    try:
        async for chunk in stream.async_stream_result():
            audio += chunk
    except HomeAssistantError as err:
        return bytes(audio), err
    return bytes(audio), None


def deepgram_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The integration's error lines; any other error line is Home Assistant's TTS reporting."""
    errors = [record for record in caplog.get_records("call") if record.levelno >= logging.ERROR]
    assert all(
        record.name.startswith(("custom_components.deepgram", "homeassistant.components.tts"))
        for record in errors
    )
    return [
        record.getMessage()
        for record in errors
        if record.name.startswith("custom_components.deepgram")
    ]


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
    """A refused request: no audio, not even a WAV header; an error and one line naming it."""
    deepgram_server.speak.refuse_status = status
    audio, error = await speak(hass, options)
    assert audio == b""
    request_id = record_of(deepgram_server, options).request_id
    assert error is not None
    assert f"HTTP {status}" in str(error)
    assert request_id in str(error)
    [line] = deepgram_errors(caplog)
    assert f"HTTP {status}" in line
    assert request_id in line
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
    audio, error = await speak(hass, WAV, "Back again.")
    assert error is None
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
    """Deepgram closing inside an answer: the audio so far, then an error, one line."""
    deepgram_server.speak.close_mid_answer = (0.3, code, payload)
    audio, error = await speak(hass, WAV, "This answer is long enough to be cut in its middle.")
    assert len(audio) > 44
    assert error is not None
    assert f"code {code}" in str(error)
    [line] = deepgram_errors(caplog)
    assert f"code {code}" in line
    assert deepgram_server.speak.sessions[0].request_id in line
    assert deepgram_server.speak.active_streams == 0


async def test_rest_answer_broken_off(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A REST answer whose body breaks off: the audio so far, then an error naming the request."""
    deepgram_server.speak.close_mid_answer = (0.0, 1011, "NET-0000")  # REST drops the connection
    audio, error = await speak(hass, MP3, "This answer is long enough to be cut in its middle.")
    [post] = deepgram_server.speak.posts
    assert post.audio
    # aiohttp may drop what it had buffered when the connection breaks.
    assert bytes(post.audio).startswith(audio)
    assert error is not None
    assert post.request_id in str(error)
    [line] = deepgram_errors(caplog)
    assert "broke off" in line
    [answer] = answers_of(voice)
    assert answer.outcome.startswith("DeepgramConnectionError")


@pytest.mark.parametrize("options", [WAV, MP3], ids=["websocket", "rest"])
async def test_silent_server(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    options: dict[str, Any],
) -> None:
    """A server that never speaks ends the answer at the silence bound, with an error."""
    deepgram_server.speak.silent = True
    voice.runtime_data.speaker.silence_timeout = SILENCE_TIMEOUT
    if options is MP3:
        # Before its headers, a REST request is bounded by the connect timeout.
        voice.runtime_data.speaker.connect_timeout = SILENCE_TIMEOUT
    audio, error = await speak(hass, options)
    assert error is not None
    [line] = deepgram_errors(caplog)
    assert str(error).endswith(line.removeprefix("Deepgram could not speak the answer: "))
    if options is WAV:
        session = deepgram_server.speak.sessions[0]
        assert session.request_id in line
        assert audio[44:] == b""  # accepted, so the header went out; then no audio
        await asyncio.wait_for(session.closed.wait(), GUARD)
    else:
        assert audio == b""
    assert deepgram_server.speak.active_streams == 0


@pytest.mark.parametrize("options", [WAV, MP3], ids=["websocket", "rest"])
async def test_failing_agent_fails_the_answer(
    hass: HomeAssistant, voice: MockConfigEntry, options: dict[str, Any]
) -> None:
    """The agent's text failing ends the audio with its error, recorded as the outcome."""
    engine = tts.get_engine_instance(hass, ENGINE)
    assert isinstance(engine, tts.TextToSpeechEntity)

    async def broken() -> AsyncIterator[str]:
        """Write a sentence, then fail."""
        yield "Hello there. "
        raise RuntimeError("the agent failed")

    response = await engine.async_stream_tts_audio(TTSAudioRequest("en", dict(options), broken()))
    with pytest.raises(RuntimeError, match="the agent failed"):
        await _drain(response.data_gen)
    [answer] = answers_of(voice)
    assert answer.outcome == "RuntimeError: the agent failed"


async def test_cancelled_answer_closes_the_socket(
    hass: HomeAssistant, voice: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """A listener that goes away mid-answer closes the websocket at once, and is no error."""
    engine = tts.get_engine_instance(hass, ENGINE)
    assert isinstance(engine, tts.TextToSpeechEntity)

    async def endless() -> AsyncIterator[str]:
        # One sentence, then the agent thinks until the listener goes away.
        yield "More and more words. "
        await asyncio.Event().wait()

    response = await engine.async_stream_tts_audio(TTSAudioRequest("en", dict(WAV), endless()))
    got_audio = asyncio.Event()

    async def listen() -> None:
        async for chunk in response.data_gen:
            if len(chunk) > 44:
                got_audio.set()

    task = asyncio.create_task(listen())
    await asyncio.wait_for(got_audio.wait(), GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(deepgram_server.speak.sessions[0].closed.wait(), GUARD)
    assert deepgram_server.speak.active_streams == 0
    assert answers_of(voice)[-1].outcome == "cancelled"


async def test_unload_closes_open_answers(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unloading closes a socket still waiting for the agent; the answer ends stopped."""
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
    await asyncio.wait_for(connected.wait(), GUARD)
    answers = answers_of(voice)
    await hass.config_entries.async_unload(voice.entry_id)
    await asyncio.wait_for(deepgram_server.speak.sessions[0].closed.wait(), GUARD)
    await _stopped(listener)
    agent_done.set()
    assert deepgram_errors(caplog) == []
    assert answers[-1].outcome == "stopped: the entry was unloaded"
    assert deepgram_server.speak.active_streams == 0


@pytest.mark.parametrize("options", [WAV, MP3], ids=["handshake", "rest"])
async def test_unload_stops_answers_waiting_for_deepgram(
    hass: HomeAssistant,
    voice: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    options: dict[str, Any],
) -> None:
    """Unloading stops a REST request and a websocket handshake that Deepgram has not answered.

    Without it they would wait for the connect bound, long after the entry is gone.
    """
    speaker = voice.runtime_data.speaker
    speaker.connect_timeout = 3600.0
    deepgram_server.speak.silent = True
    deepgram_server.speak.hold_upgrades = True
    engine = tts.get_engine_instance(hass, ENGINE)
    assert isinstance(engine, tts.TextToSpeechEntity)
    response = await engine.async_stream_tts_audio(
        TTSAudioRequest("en", dict(options), written("Hello there."))
    )
    audio = bytearray()

    async def listen() -> None:
        async for chunk in response.data_gen:
            audio.extend(chunk)

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(deepgram_server.speak.arrived.wait(), GUARD)
    answers = answers_of(voice)
    await hass.config_entries.async_unload(voice.entry_id)
    await _stopped(listener)
    assert speaker.closed
    assert audio == b""
    assert deepgram_errors(caplog) == []
    assert answers[-1].outcome == "stopped: the entry was unloaded"


async def _stopped(listener: asyncio.Task[None]) -> None:
    """Wait for the listener to end with the error of an answer the unload stopped."""
    with pytest.raises(HomeAssistantError) as stopped:
        await asyncio.wait_for(listener, GUARD)
    assert stopped.value.translation_key == "speaking_stopped"


async def _drain(audio: AsyncIterator[bytes]) -> None:
    async for _ in audio:
        pass
