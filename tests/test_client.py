"""The Deepgram client against the local Deepgram server: streaming, results, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
import dataclasses
import json
import socket
import time

import aiohttp
import pytest

from custom_components.deepgram.protocol import (
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramConnectionClosedError,
    DeepgramConnectionError,
    DeepgramPaymentRequiredError,
    DeepgramRateLimitError,
    DeepgramRequestRejectedError,
    DeepgramServerError,
    LiveOptions,
    Metadata,
    Results,
    client as client_module,
)

from .conftest import API_KEY, PROJECT_ID
from .deepgram_server import DeepgramTestServer
from .speech import chunk_bytes, chunked, synthesize

PHRASE = "turn on the kitchen light"
PCM = LiveOptions(model="nova-3", language="en", encoding="linear16", sample_rate=16000, channels=1)


async def feed(
    chunks: Iterable[bytes], *, pause_after: int = -1, pause: float = 0.0
) -> AsyncIterator[bytes]:
    """Yield chunks with no delay, optionally stalling once."""
    for index, chunk in enumerate(chunks):
        yield chunk
        if index == pause_after:
            await asyncio.sleep(pause)


def speech_chunks(text: str = PHRASE, **kwargs: float) -> list[bytes]:
    """Return espeak-ng speech in 20 ms chunks of 16 kHz mono PCM."""
    return chunked(synthesize(text, **kwargs), chunk_bytes(16000, 1))


async def test_speech_streams_in_order_and_comes_back_as_text(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Every byte arrives in order, the query is exact, and the transcript is returned."""
    deepgram_server.utterances.append(PHRASE)
    chunks = speech_chunks()
    transcript = await client.transcribe(feed(chunks), PCM)

    assert transcript.text == PHRASE
    session = deepgram_server.sessions[0]
    assert transcript.request_id == session.request_id
    assert transcript.audio_seconds == pytest.approx(len(b"".join(chunks)) / 32000, abs=0.01)
    assert bytes(session.audio) == b"".join(chunks)
    assert [length for kind, length in session.frames if kind == "binary"] == [
        len(chunk) for chunk in chunks
    ]
    assert session.query == [
        ("model", "nova-3"),
        ("language", "en"),
        ("encoding", "linear16"),
        ("sample_rate", "16000"),
        ("channels", "1"),
    ]
    assert session.authorization == f"Token {API_KEY}"
    assert session.control[-1] == "CloseStream"
    assert session.close_code == 1000


async def test_audio_sent_during_the_handshake_is_kept(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Chunks produced before the socket is open are queued and sent first, in order."""
    deepgram_server.utterances.append(PHRASE)
    chunks = speech_chunks()
    before_open: list[int] = []

    async def audio() -> AsyncIterator[bytes]:
        for index, chunk in enumerate(chunks):
            if not deepgram_server.sessions:
                before_open.append(index)
            yield chunk
            await asyncio.sleep(0)

    transcript = await client.transcribe(audio(), PCM)
    assert before_open[:1] == [0]
    assert len(before_open) > 1
    assert bytes(deepgram_server.sessions[0].audio) == b"".join(chunks)
    assert transcript.text == PHRASE


async def test_empty_chunks_are_never_sent(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """A zero-length frame would close a Deepgram stream, so none is sent."""
    deepgram_server.utterances.append(PHRASE)
    chunks = speech_chunks()
    with_gaps = [piece for chunk in chunks for piece in (b"", chunk, b"")]
    transcript = await client.transcribe(feed(with_gaps), PCM)
    session = deepgram_server.sessions[0]
    assert transcript.text == PHRASE
    assert all(length for kind, length in session.frames if kind == "binary")
    assert bytes(session.audio) == b"".join(chunks)


async def test_stalled_input_is_kept_alive(
    session: aiohttp.ClientSession, deepgram_server: DeepgramTestServer
) -> None:
    """KeepAlive is sent while the input stalls, so Deepgram's idle close never fires."""
    deepgram_server.idle_timeout = 0.5
    deepgram_server.utterances.append(PHRASE)
    client = DeepgramClient(
        API_KEY, session=session, server=deepgram_server.url, keepalive_interval=0.2
    )
    chunks = speech_chunks()
    transcript = await client.transcribe(feed(chunks, pause_after=10, pause=1.2), PCM)
    session_record = deepgram_server.sessions[0]
    assert transcript.text == PHRASE
    assert session_record.control.count("KeepAlive") >= 4
    assert session_record.close_code == 1000


async def test_no_keepalive_while_audio_flows(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Audio itself keeps the stream open; KeepAlive is only for silence on the wire."""
    chunks = speech_chunks()

    async def realtime() -> AsyncIterator[bytes]:
        for chunk in chunks[:40]:
            yield chunk
            await asyncio.sleep(0.01)

    await client.transcribe(realtime(), PCM)
    assert "KeepAlive" not in deepgram_server.sessions[0].control


async def test_final_results_after_close_stream_are_kept(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Deepgram's slow answer to CloseStream is read, not dropped."""
    deepgram_server.finalize_delay = 0.5
    deepgram_server.utterances.append(PHRASE)
    chunks = speech_chunks(trailing_silence=0.0)
    transcript = await client.transcribe(feed(chunks), replace_endpointing(False))
    assert transcript.text == PHRASE


def replace_endpointing(value: int | bool) -> LiveOptions:
    """Return the PCM options with another endpointing setting."""
    return dataclasses.replace(PCM, endpointing=value)


async def test_every_final_segment_is_joined(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """A long command comes back in several finals; all of them make the transcript."""
    long_command = (
        "turn on the kitchen light and the hallway light and set the living room "
        "thermostat to twenty one degrees and close the garage door please"
    )
    deepgram_server.utterances.append(long_command)
    chunks = speech_chunks(long_command)
    finals = [
        message
        async for message in client.stream(feed(chunks), replace_endpointing(False))
        if isinstance(message, Results) and message.is_final and message.transcript
    ]
    assert len(finals) >= 2
    assert " ".join(final.transcript for final in finals) == long_command


async def test_stream_yields_metadata_last(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """The stream ends with Deepgram's Metadata, carrying the audio duration."""
    messages = [message async for message in client.stream(feed(speech_chunks()), PCM)]
    assert isinstance(messages[-1], Metadata)
    assert messages[-1].channels == 1


async def test_closing_the_stream_early_closes_the_socket(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Leaving the message loop sends CloseStream and closes the socket, within a bound."""
    deepgram_server.utterances.append(PHRASE)
    chunks = speech_chunks()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            for chunk in chunks:
                yield chunk
                await asyncio.sleep(0.001)

    started = time.monotonic()
    async for message in client.stream(endless(), replace_endpointing(300)):
        if isinstance(message, Results) and message.speech_final:
            break
    session = deepgram_server.sessions[0]
    await asyncio.wait_for(session.closed.wait(), 2)
    assert "CloseStream" in session.control
    assert time.monotonic() - started < 5


async def test_input_errors_end_the_stream(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """An exception from the audio source is raised to the caller and the socket closed."""

    async def broken() -> AsyncIterator[bytes]:
        yield b"\x00\x01" * 320
        await asyncio.sleep(0.05)
        raise OSError("microphone unplugged")

    with pytest.raises(OSError, match="microphone unplugged"):
        await client.transcribe(broken(), PCM)
    await asyncio.wait_for(deepgram_server.sessions[0].closed.wait(), 2)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, DeepgramRequestRejectedError),
        (401, DeepgramAuthenticationError),
        (402, DeepgramPaymentRequiredError),
        (403, DeepgramAuthenticationError),
        (429, DeepgramRateLimitError),
        (500, DeepgramServerError),
        (503, DeepgramServerError),
    ],
)
async def test_handshake_status_maps_to_its_error(
    client: DeepgramClient,
    deepgram_server: DeepgramTestServer,
    status: int,
    error_class: type[Exception],
) -> None:
    """Each refusal of the upgrade raises its own error with Deepgram's request id."""
    deepgram_server.handshake_status = status
    with pytest.raises(error_class) as caught:
        await client.transcribe(feed(speech_chunks()), PCM)
    assert caught.value.status == status  # type: ignore[attr-defined]
    assert caught.value.request_id  # type: ignore[attr-defined]
    assert caught.value.detail  # type: ignore[attr-defined]


async def test_wrong_key_is_an_authentication_error(
    session: aiohttp.ClientSession, deepgram_server: DeepgramTestServer
) -> None:
    """A key the server does not know is refused at the handshake, and not echoed."""
    client = DeepgramClient("wrong-key", session=session, server=deepgram_server.url)
    with pytest.raises(DeepgramAuthenticationError) as caught:
        await client.transcribe(feed(speech_chunks()), PCM)
    assert "wrong-key" not in str(caught.value)
    assert caught.value.detail == "Invalid credentials."


async def test_language_the_model_lacks_is_rejected_with_deepgrams_reason(
    client: DeepgramClient,
) -> None:
    """Deepgram's dg-error text reaches the caller."""
    options = LiveOptions(
        model="nova-2-meeting", language="de", encoding="linear16", sample_rate=16000
    )
    with pytest.raises(DeepgramRequestRejectedError) as caught:
        await client.transcribe(feed(speech_chunks()), options)
    assert caught.value.status == 400
    assert caught.value.detail


async def test_refused_connection(session: aiohttp.ClientSession) -> None:
    """Nothing listening is a connection error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = DeepgramClient(API_KEY, session=session, server=f"http://127.0.0.1:{port}")
    with pytest.raises(DeepgramConnectionError, match="Cannot connect"):
        await client.transcribe(feed([b"\x00" * 640]), PCM)
    with pytest.raises(DeepgramConnectionError, match="Cannot connect"):
        await client.validate()


async def test_handshake_that_never_completes_times_out(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """A server that never answers the upgrade fails within the connect timeout."""
    deepgram_server.hang_handshake = True
    started = time.monotonic()
    with pytest.raises(DeepgramConnectionError, match="Timed out"):
        await client.transcribe(feed(speech_chunks()), PCM)
    assert time.monotonic() - started < client.connect_timeout + 3


async def test_server_silent_after_close_stream_is_bounded(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """No close after CloseStream ends the stream after the finish timeout."""
    deepgram_server.silent_after_close_stream = True
    started = time.monotonic()
    with pytest.raises(DeepgramConnectionError, match="no close"):
        await client.transcribe(feed(speech_chunks()), PCM)
    assert time.monotonic() - started < client.finish_timeout + 3


async def test_abnormal_close_keeps_earlier_results(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """A 1011 mid-stream raises with the reason, after the finals that came before it."""
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")
    deepgram_server.close_mid_stream = (
        2.5,
        1011,
        "Deepgram had an internal error. See https://dpgr.am/net0000",
    )
    finals: list[str] = []

    async def collect_finals() -> None:
        async for message in client.stream(feed(chunked(audio, 640)), replace_endpointing(300)):
            if isinstance(message, Results) and message.is_final and message.transcript:
                finals.append(message.transcript)  # noqa: PERF401 - kept up to the error

    with pytest.raises(DeepgramConnectionClosedError) as caught:
        await collect_finals()
    assert finals == ["turn on the light"]
    assert caught.value.code == 1011
    assert "net0000" in caught.value.reason
    assert caught.value.request_id == deepgram_server.sessions[0].request_id


async def test_garbage_from_the_server_is_ignored(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Malformed JSON, unknown types and binary frames do not disturb the transcript."""
    deepgram_server.utterances.append(PHRASE)
    deepgram_server.inject_frames.extend(
        ["{not json", json.dumps({"type": "Surprise"}), b"\x00\x01", json.dumps([1])]
    )
    transcript = await client.transcribe(feed(speech_chunks()), PCM)
    assert transcript.text == PHRASE


async def test_validate_returns_the_project(client: DeepgramClient) -> None:
    """A good key yields the Deepgram project id."""
    assert await client.validate() == PROJECT_ID


async def test_validate_refuses_a_bad_key(
    session: aiohttp.ClientSession, deepgram_server: DeepgramTestServer
) -> None:
    """A bad key is an authentication error."""
    client = DeepgramClient("nope", session=session, server=deepgram_server.url)
    with pytest.raises(DeepgramAuthenticationError):
        await client.validate()


async def test_validate_on_a_self_hosted_server(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """A self-hosted server has no projects; answering /v1/status is enough."""
    server = DeepgramTestServer(api_keys=None, self_hosted=True)
    await server.start()
    try:
        client = DeepgramClient("anything", session=session, server=server.url)
        assert await client.validate() is None
        assert [path for _, path in server.requests] == ["/v1/projects", "/v1/status"]
    finally:
        await server.stop()


@pytest.mark.parametrize("status", [500, 503])
async def test_validate_reports_server_errors(
    client: DeepgramClient, deepgram_server: DeepgramTestServer, status: int
) -> None:
    """A failing server is a server error, not a bad key."""
    deepgram_server.handshake_status = status
    with pytest.raises(DeepgramServerError):
        await client.validate()


async def test_oversized_frame_ends_the_stream_with_a_bounded_error(
    session: aiohttp.ClientSession, deepgram_server: DeepgramTestServer
) -> None:
    """A frame far beyond any Deepgram message is refused, not passed on."""
    deepgram_server.inject_frames.append("x" * (client_module.MAX_MESSAGE_BYTES + 1))
    # A megabyte takes its time over the network: the stream's end waits for it.
    client = DeepgramClient(
        API_KEY, session=session, server=deepgram_server.url, finish_timeout=30.0
    )
    with pytest.raises(DeepgramConnectionClosedError) as caught:
        await client.transcribe(feed(speech_chunks()), PCM)
    assert caught.value.code == 1009


async def test_validate_without_a_project_is_a_server_error(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """A key that lists no project cannot be used for a stable entry id."""
    deepgram_server.project_id = ""
    with pytest.raises(DeepgramServerError, match="no project"):
        await client.validate()


def test_client_repr_hides_the_key(client: DeepgramClient) -> None:
    """The key never shows in a repr, which may end up in a log."""
    assert API_KEY not in repr(client)
    assert client.server in repr(client)


async def test_close_before_any_message_still_names_the_request(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """The request id comes from the upgrade response when no message carried one."""
    deepgram_server.close_mid_stream = (0.1, 1008, "DATA-0000")
    with pytest.raises(DeepgramConnectionClosedError) as caught:
        await client.transcribe(feed(speech_chunks()), PCM)
    assert caught.value.code == 1008
    assert caught.value.request_id == deepgram_server.sessions[0].request_id
    assert deepgram_server.sessions[0].request_id in str(caught.value)
