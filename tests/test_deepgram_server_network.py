"""The local server's network: bytes in pieces, TLS that clients trust, and its own events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import os
from pathlib import Path
import ssl
import sys

import aiohttp
import pytest

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import (
    async_create_clientsession,
    async_get_clientsession,
)

from . import server_testing
from .conftest import API_KEY
from .deepgram_server import PIECES, DeepgramTestServer, LocalCertificate
from .deepgram_server.network import SEGMENT_BYTES
from .speech import chunked, synthesize

ROOT = Path(__file__).parent.parent


async def read_pieces(reader: asyncio.StreamReader) -> list[bytes]:
    """Read to the end; return each read as it came."""
    pieces = []
    while piece := await reader.read(1 << 20):
        pieces.append(piece)
    return pieces


async def test_a_body_reaches_the_client_in_segments(socket_enabled: None) -> None:
    """Over plain TCP the model list comes in reads of at most one segment each, not whole."""
    async with DeepgramTestServer() as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        pieces = await read_pieces(reader)
        writer.close()
        await writer.wait_closed()
    received = b"".join(pieces)
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"200 OK" in head
    assert json.loads(body)["tts"]
    # A client that reads as soon as bytes arrive sees each segment on its own.
    assert len(pieces) >= len(received) // SEGMENT_BYTES
    assert max(len(piece) for piece in pieces) <= 2 * SEGMENT_BYTES


async def test_websocket_messages_are_cut_into_segments(socket_enabled: None) -> None:
    """A burst of messages leaves in full segments: a frame may be split between two."""
    async with DeepgramTestServer() as server:
        big = json.dumps({"type": "Results", "padding": "x" * 5000})
        server.inject_frames.extend([big, big])
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(server.listen_url, headers=server_testing.auth("any")) as ws,
        ):
            await ws.send_bytes(bytes(640))
            first, second = await ws.receive_str(timeout=5), await ws.receive_str(timeout=5)
    assert first == second == big


@pytest.fixture
async def tls_server(
    socket_enabled: None, local_certificate: LocalCertificate
) -> AsyncIterator[DeepgramTestServer]:
    """The server as the shared fixtures run it: TLS and pieces."""
    async with DeepgramTestServer(api_keys={API_KEY}, tls=local_certificate) as server:
        yield server


async def test_tls_is_trusted_by_home_assistants_shared_sessions(
    hass: HomeAssistant, tls_server: DeepgramTestServer
) -> None:
    """Home Assistant's own sessions reach the https and wss server with verification on."""
    assert tls_server.url.startswith("https://")
    assert tls_server.listen_url.startswith("wss://")
    assert tls_server.network == PIECES
    for session in (async_get_clientsession(hass), async_create_clientsession(hass)):
        async with session.get(tls_server.url + "/v1/models") as response:
            assert response.status == 200
            assert (await response.json())["tts"]
        headers = server_testing.auth(API_KEY)
        async with session.ws_connect(tls_server.listen_url, headers=headers) as ws:
            await ws.send_str('{"type": "CloseStream"}')
            assert (await ws.receive_json(timeout=5))["type"] == "Metadata"


async def test_tls_is_refused_without_the_authority(
    socket_enabled: None, local_certificate: LocalCertificate
) -> None:
    """A client that does not trust the local authority cannot connect: TLS is verified."""
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    # The server's side of the refused handshake is reported to the loop; it is expected here.
    loop.set_exception_handler(lambda _loop, _context: None)
    try:
        async with DeepgramTestServer(tls=local_certificate) as server:
            connector = aiohttp.TCPConnector(ssl=ssl.create_default_context())
            async with aiohttp.ClientSession(connector=connector) as http:
                with pytest.raises(aiohttp.ClientConnectorCertificateError):
                    await http.get(server.url + "/v1/models")
    finally:
        loop.set_exception_handler(handler)


async def test_server_events_tell_when_a_stream_starts_and_ends(socket_enabled: None) -> None:
    """`stream_started` waits for the first frame, `stream_ended` for the close."""
    async with DeepgramTestServer() as server, aiohttp.ClientSession() as http:
        started = asyncio.ensure_future(server.stream_started())
        ended = asyncio.ensure_future(server.stream_ended())
        pcm = {"encoding": "linear16", "sample_rate": "16000"}
        ws = await http.ws_connect(
            server.listen_url, params=pcm, headers=server_testing.auth("any")
        )
        await asyncio.sleep(0)
        assert not started.done()
        for chunk in chunked(synthesize("hello"), 640)[:3]:
            await ws.send_bytes(chunk)
        record = await started
        assert record.frames
        assert not ended.done()
        await ws.send_str('{"type": "CloseStream"}')
        async for _ in ws:
            pass
        assert await ended is record
        assert record.close_code == 1000
        with pytest.raises(TimeoutError):
            await server.stream_started(2, within=0.05)


async def test_command_line_serves_tls_with_the_authority_written_out(
    socket_enabled: None, tmp_path: Path
) -> None:
    """`python -m tests.deepgram_server --tls DIR` serves https; DIR holds the authority."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.deepgram_server",
        "--port",
        "0",
        "--tls",
        str(tmp_path),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            trust = (await process.stdout.readline()).decode()
            serving = (await process.stdout.readline()).decode()
        assert trust.startswith("TLS: trust ")
        url = serving.split(" on ", 1)[1].split(",", 1)[0]
        assert url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=tmp_path / "deepgram-local-ca.pem")
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http,
            http.get(url + "/v1/models") as response,
        ):
            assert response.status == 200
    finally:
        process.terminate()
        await process.wait()
