"""Never hang a voice assistant: every fault ends in a clear result, within a bound.

Each case checks the result, the time it took, the one log line it leaves, that
the next request works, and (through the test harness) that no task is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import datetime as dt
import logging
from pathlib import Path
import ssl
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import CONF_SERVER, DOMAIN
from custom_components.deepgram.health import RATE_LIMITED_STREAK
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.server import DROP_CONNECTION
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, setup_integration
from .conftest import account_entry

PHRASE = "turn on the kitchen light"
ERROR = stt.SpeechResult(None, stt.SpeechResultState.ERROR)


async def say(text: str = PHRASE, *, size: int = 640) -> AsyncIterator[bytes]:
    """Say `text` in chunks of `size` bytes."""
    for chunk in chunked(synthesize(text), size):
        yield chunk


@pytest.fixture
async def entity(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> stt.SpeechToTextEntity:
    """Set up the entry (end of speech off: the input decides when audio ends)."""
    await setup_integration(hass, mock_config_entry, end_of_command="home_assistant")
    found = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    assert found is not None
    return found


async def timed(entity: stt.SpeechToTextEntity, audio: AsyncIterator[bytes]) -> tuple[Any, float]:
    """Run one stream; return its result and how long it took."""
    started = time.monotonic()
    result = await entity.internal_async_process_audio_stream(METADATA, audio)
    return result, time.monotonic() - started


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the integration's warning and error lines."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith("custom_components")
    ]


async def next_request_works(
    entity: stt.SpeechToTextEntity, server: DeepgramTestServer, **healthy: Any
) -> None:
    """Restore the server and check that the next command is transcribed."""
    for name, value in healthy.items():
        setattr(server, name, value)
    server.utterances[:] = [PHRASE]
    result = await entity.internal_async_process_audio_stream(METADATA, say())
    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)


@pytest.mark.parametrize(
    ("status", "reauth"),
    [
        (400, False),
        (401, True),
        (402, False),
        (403, True),
        (429, False),
        (500, False),
        (503, False),
    ],
)
async def test_refused_handshake(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    status: int,
    reauth: bool,
) -> None:
    """Each refusal is an error with its own log line; 401/403 ask for a new key."""
    deepgram_server.handshake_status = status
    result, seconds = await timed(entity, say())
    assert result == ERROR
    assert seconds < 2
    [line] = problems(caplog)
    assert f"HTTP {status}" in line
    assert deepgram_server.rejected[-1].request_id in line
    await hass.async_block_till_done()
    flows = list(mock_config_entry.async_get_active_flows(hass, {SOURCE_REAUTH}))
    assert bool(flows) is reauth
    await next_request_works(entity, deepgram_server, handshake_status=None)


async def test_no_credits_raises_a_repair_that_clears_itself(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """HTTP 402 tells the user to add credits, until a command succeeds again."""
    deepgram_server.handshake_status = 402
    await timed(entity, say())
    issue = issue_registry.async_get_issue(DOMAIN, f"out_of_credits_{mock_config_entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "out_of_credits"
    assert issue.translation_placeholders == {"title": mock_config_entry.title}
    await next_request_works(entity, deepgram_server, handshake_status=None)
    assert not issue_registry.issues


async def test_persistent_rate_limit_raises_a_repair(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """One 429 is a burst; several in a row become a Repairs issue."""
    deepgram_server.handshake_status = 429
    issue_id = f"rate_limited_{mock_config_entry.entry_id}"
    for attempt in range(1, RATE_LIMITED_STREAK + 1):
        await timed(entity, say())
        assert (issue_registry.async_get_issue(DOMAIN, issue_id) is not None) is (
            attempt == RATE_LIMITED_STREAK
        )
    await next_request_works(entity, deepgram_server, handshake_status=None)
    assert not issue_registry.issues


async def test_the_account_has_one_credits_issue_whatever_setting_hit_it(
    hass: HomeAssistant,
    deepgram_server: DeepgramTestServer,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Out of credits is a fact of the project: two settings refused raise one issue, which
    the other setting's next success clears."""
    account = account_entry(
        deepgram_server.url,
        ("nova-3", "en"),
        ("nova-3", "de"),
        end_of_command="home_assistant",
    )
    await setup_integration(hass, account)
    english = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    german = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_german")
    assert english is not None
    assert german is not None
    deepgram_server.handshake_status = 402
    await timed(english, say())
    await timed(german, say())
    assert [issue.issue_id for issue in issue_registry.issues.values()] == [
        f"out_of_credits_{account.entry_id}"
    ]
    await next_request_works(german, deepgram_server, handshake_status=None)
    assert not issue_registry.issues


@pytest.fixture
def untrusted_certificate(tmp_path: Path) -> ssl.SSLContext:
    """Return a server TLS context with a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


@contextlib.asynccontextmanager
async def listener(context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Accept connections on 127.0.0.1 and never answer them; yield the port."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    loop = asyncio.get_running_loop()
    handle_exception = loop.get_exception_handler()

    def ignore_refused_handshake(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # A client that refuses the certificate hangs up mid-handshake; Python 3.14
        # reports that from this listener's side to the loop. It is what the test wants.
        if isinstance(context.get("exception"), ConnectionResetError | ssl.SSLError):
            return
        if handle_exception is None:
            loop.default_exception_handler(context)
        else:
            handle_exception(loop, context)

    if context is not None:
        loop.set_exception_handler(ignore_refused_handshake)
    server = await asyncio.start_server(hold, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
        loop.set_exception_handler(handle_exception)


def point_at(hass: HomeAssistant, entry: MockConfigEntry, server: str) -> None:
    """Aim the running entry's client at another server, as a changed network would."""
    entry.runtime_data.client.server = server
    assert entry.data[CONF_SERVER] != server


async def test_untrusted_certificate_is_refused(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    untrusted_certificate: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wss server whose certificate is not trusted is refused, not silently accepted."""
    async with listener(untrusted_certificate) as port:
        point_at(hass, mock_config_entry, f"https://127.0.0.1:{port}")
        result, seconds = await timed(entity, say())
    assert result == ERROR
    assert seconds < 10
    [line] = problems(caplog)
    assert "certificate" in line.lower()
    point_at(hass, mock_config_entry, deepgram_server.url + "/")
    await next_request_works(entity, deepgram_server)


async def test_refused_connection(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listening fails at once with a clear line."""
    async with listener() as port:
        pass  # closed again: the port now refuses connections
    point_at(hass, mock_config_entry, f"http://127.0.0.1:{port}")
    result, seconds = await timed(entity, say())
    assert result == ERROR
    assert seconds < 10
    [line] = problems(caplog)
    assert "Cannot connect" in line


async def test_handshake_that_never_completes(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that takes the connection but never upgrades it fails within 10 s."""
    deepgram_server.hang_handshake = True
    result, seconds = await timed(entity, say())
    assert result == ERROR
    assert seconds <= 10
    [line] = problems(caplog)
    assert "Timed out" in line
    await next_request_works(entity, deepgram_server, hang_handshake=False)


@pytest.mark.parametrize(
    ("switch", "expected"),
    [
        ("silent", ERROR),
        # The command's final came before CloseStream went unanswered: it is kept.
        ("silent_after_close_stream", stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)),
    ],
)
async def test_server_that_stops_answering(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    switch: str,
    expected: stt.SpeechResult,
) -> None:
    """No answer after the audio ended gives up within 5 s of the end."""
    setattr(deepgram_server, switch, True)
    deepgram_server.utterances.append(PHRASE)
    ended: list[float] = []

    async def audio() -> AsyncIterator[bytes]:
        async for chunk in say():
            yield chunk
        ended.append(time.monotonic())

    result, _ = await timed(entity, audio())
    # 5 s, and room for a loaded machine.
    assert time.monotonic() - ended[0] <= 5 + 2.5
    assert result == expected
    [line] = problems(caplog)
    assert "no close within 5.0 s" in line
    await next_request_works(entity, deepgram_server, **{switch: False})


@pytest.mark.parametrize("code", [1008, 1011])
async def test_abnormal_close_keeps_the_finals(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    code: int,
) -> None:
    """A close mid-stream returns what was final so far, and says so once."""
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    deepgram_server.close_mid_stream = (2.5, code, "internal error")

    async def two_commands() -> AsyncIterator[bytes]:
        audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")
        for chunk in chunked(audio, 640):
            yield chunk

    result, _ = await timed(entity, two_commands())
    assert result == stt.SpeechResult("turn on the light", stt.SpeechResultState.SUCCESS)
    [line] = problems(caplog)
    assert f"code {code}" in line
    await next_request_works(entity, deepgram_server, close_mid_stream=None)


@pytest.mark.parametrize(
    "frames",
    [
        ["{broken", '{"type": "Mystery"}', '{"type": "Results", "channel": 5}', b"\x01\x02"],
        ["x" * (2 * 1024 * 1024)],
    ],
    ids=["garbage", "2 MB frame"],
)
async def test_garbage_from_the_server(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    frames: list[str | bytes],
) -> None:
    """Malformed or oversized frames are ignored or end the stream; never a crash."""
    deepgram_server.inject_frames.extend(frames)
    deepgram_server.utterances.append(PHRASE)
    result, seconds = await timed(entity, say())
    assert seconds < 10
    if len(frames) == 1:
        assert result == ERROR
    else:
        assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    # The refused stream ends on the server only once its frame is through or dropped;
    # until then it would take the next command's script.
    await deepgram_server.stream_ended(len(deepgram_server.sessions), within=30)
    await next_request_works(entity, deepgram_server, inject_frames=[])


@pytest.mark.parametrize("size", [1, 1024 * 1024], ids=["1 byte", "1 MB"])
async def test_odd_chunk_sizes(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer, size: int
) -> None:
    """Tiny or huge chunks arrive intact and are transcribed."""
    deepgram_server.utterances.append(PHRASE)
    result, _ = await timed(entity, say(size=size))
    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    assert bytes(deepgram_server.sessions[-1].audio) == synthesize(PHRASE)


async def test_stalled_input_is_kept_alive(
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A microphone that stalls longer than Deepgram's idle timeout keeps its stream.

    Scaled down: a 1 s idle timeout and a 3 s stall (the soak script runs 10 s and 30 s).
    """
    deepgram_server.idle_timeout = 1.0
    mock_config_entry.runtime_data.client.keepalive_interval = 0.4
    deepgram_server.utterances.append(PHRASE)

    async def stalling() -> AsyncIterator[bytes]:
        for index, chunk in enumerate(chunked(synthesize(PHRASE), 640)):
            if index == 20:
                await asyncio.sleep(3)
            yield chunk

    result, _ = await timed(entity, stalling())
    assert result == stt.SpeechResult(PHRASE, stt.SpeechResultState.SUCCESS)
    session = deepgram_server.sessions[-1]
    assert session.control.count("KeepAlive") >= 5
    assert session.close_code == 1000


async def test_ten_minutes_of_audio(
    entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """A ten-minute stream (fed faster than real time here) ends cleanly and whole."""
    phrase = synthesize(PHRASE)
    repeats = round(600 / (len(phrase) / 32000))

    async def long_talk() -> AsyncIterator[bytes]:
        for _ in range(repeats):
            for chunk in chunked(phrase, 3200):
                yield chunk

    deepgram_server.utterances.extend([PHRASE] * repeats)
    result, _ = await timed(entity, long_talk())
    assert result.result is stt.SpeechResultState.SUCCESS
    assert result.text == " ".join([PHRASE] * repeats)
    assert len(deepgram_server.sessions[-1].audio) == len(phrase) * repeats


async def endless_silence() -> AsyncIterator[bytes]:
    """A microphone that never stops sending."""
    while True:
        yield bytes(640)
        await asyncio.sleep(0.01)


def start_endless_stream(
    hass: HomeAssistant, entity: stt.SpeechToTextEntity
) -> asyncio.Task[stt.SpeechResult]:
    """Start a stream that only ends when something stops it."""
    return hass.async_create_task(
        entity.internal_async_process_audio_stream(METADATA, endless_silence())
    )


async def test_cancelled_pipeline_closes_the_socket(
    hass: HomeAssistant, entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """Cancelling the caller mid-stream closes the websocket cleanly."""

    task = start_endless_stream(hass, entity)
    await deepgram_server.stream_started()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    session = deepgram_server.sessions[-1]
    await asyncio.wait_for(session.closed.wait(), 3)
    assert session.control[-1] == "CloseStream"
    assert session.close_code == 1000
    await hass.async_block_till_done()
    await next_request_works(entity, deepgram_server)


async def test_unloading_mid_stream_ends_the_stream(
    hass: HomeAssistant,
    entity: stt.SpeechToTextEntity,
    deepgram_server: DeepgramTestServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Unloading the entry stops its stream: the caller gets a result, the socket closes."""

    task = start_endless_stream(hass, entity)
    await deepgram_server.stream_started()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    result = await asyncio.wait_for(task, 5)
    assert result == ERROR
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    await asyncio.wait_for(deepgram_server.sessions[-1].closed.wait(), 3)


async def test_stopping_home_assistant_mid_stream(
    hass: HomeAssistant, entity: stt.SpeechToTextEntity, deepgram_server: DeepgramTestServer
) -> None:
    """Home Assistant stopping mid-stream leaves no socket or task behind."""

    task = start_endless_stream(hass, entity)
    await deepgram_server.stream_started()
    await hass.async_stop()
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.wait_for(deepgram_server.sessions[-1].closed.wait(), 5)


async def speak_then_listen(audio: bytes) -> AsyncIterator[bytes]:
    """A microphone that says `audio`, then sends silence until it is stopped."""
    for chunk in chunked(audio, 640):
        yield chunk
        await asyncio.sleep(0.001)
    while True:
        yield bytes(640)
        await asyncio.sleep(0.001)


def words_end(message: dict[str, Any]) -> float | None:
    """Return where the last word of a Results message ends (None without words)."""
    words = message["channel"]["alternatives"][0]["words"]
    return words[-1]["end"] if words else None


async def test_late_utterance_end_waits_for_the_newer_words(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """An UtteranceEnd that arrives after newer interim words does not cut them off.

    Real UtteranceEnds come late, pointing (`last_word_end`) at the earlier words;
    the command goes on until the newer words are final and ended.
    """
    await setup_integration(hass, mock_config_entry, end_of_speech=True, endpointing=2000)
    found = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    assert found is not None
    deepgram_server.utterance_end_lag = 2.0
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    audio = synthesize("turn on the light", trailing_silence=1.3) + synthesize(
        "and the fan", trailing_silence=0.0
    )

    result = await found.internal_async_process_audio_stream(METADATA, speak_then_listen(audio))
    assert result == stt.SpeechResult(
        "turn on the light and the fan", stt.SpeechResultState.SUCCESS
    )
    sent = deepgram_server.sessions[-1].sent
    late = next(index for index, message in enumerate(sent) if message["type"] == "UtteranceEnd")
    newer = [
        message
        for message in sent[:late]
        if message["type"] == "Results"
        and not message["is_final"]
        and (end := words_end(message)) is not None
        and end > sent[late]["last_word_end"]
    ]
    assert newer, "the UtteranceEnd came before any newer interim words"


async def flux_entity(hass: HomeAssistant, entry: MockConfigEntry) -> stt.SpeechToTextEntity:
    """Set the entry up with Flux (end of speech off: the input decides when audio ends)."""
    await setup_integration(hass, entry, model="flux-general-en", end_of_speech=False)
    found = next(iter(hass.data["stt"].entities))
    assert isinstance(found, stt.SpeechToTextEntity)
    return found


def last_turn_text(server: DeepgramTestServer) -> str:
    """Return the transcript of the last TurnInfo the server sent."""
    turns = [message for message in server.sessions[-1].sent if message["type"] == "TurnInfo"]
    return turns[-1]["transcript"]


@pytest.mark.parametrize(
    ("code", "reason"),
    [(1011, "Deepgram encountered an internal error."), (DROP_CONNECTION, "")],
    ids=["1011", "connection lost"],
)
async def test_abnormal_flux_end_keeps_the_open_turn(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
    code: int,
    reason: str,
) -> None:
    """A Flux stream that fails mid-turn returns the turn's latest words, as v1 keeps finals."""
    entity = await flux_entity(hass, mock_config_entry)
    deepgram_server.utterances.append("Turn on the kitchen light.")
    deepgram_server.close_mid_stream = (1.4, code, reason)

    result, seconds = await timed(entity, say())
    heard = last_turn_text(deepgram_server)
    assert heard
    assert "Turn on the kitchen light.".startswith(heard)
    assert result == stt.SpeechResult(heard, stt.SpeechResultState.SUCCESS)
    assert seconds < 5
    [line] = problems(caplog)
    assert f"code {code}" in line
    await next_request_works(entity, deepgram_server, close_mid_stream=None)


async def test_flux_fatal_error_is_in_the_log_line(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Flux's fatal Error gives its code and description in the one line it leaves."""
    entity = await flux_entity(hass, mock_config_entry)
    deepgram_server.utterances.append("Turn on the kitchen light.")
    deepgram_server.flux_fatal_error = (1.4, "INTERNAL_SERVER_ERROR", "The model stopped.")

    result, _ = await timed(entity, say())
    assert result == stt.SpeechResult(
        last_turn_text(deepgram_server), stt.SpeechResultState.SUCCESS
    )
    [line] = problems(caplog)
    assert "INTERNAL_SERVER_ERROR: The model stopped." in line
    assert "code 1011" in line
    await next_request_works(entity, deepgram_server, flux_fatal_error=None)
