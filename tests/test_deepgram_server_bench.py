"""The local server's knobs for the benchmark: per-key scripts and timing flags."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
from pathlib import Path
import time

import aiohttp
from aiohttp import WSMsgType
import pytest

from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.__main__ import _arguments
from local_deepgram_server.speech import chunk_bytes, chunked, stream_chunks, synthesize, wav_file

PCM = {"model": "nova-3", "encoding": "linear16", "sample_rate": "16000", "channels": "1"}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Run without Home Assistant: these tests need only the server."""
    return


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[DeepgramTestServer]:
    """A server that accepts any key, with a script for two of them."""
    dg = DeepgramTestServer(idle_timeout=5.0)
    dg.scripts_by_key = {"key-a": "open the blinds", "key-b": "close the garage"}
    dg.utterances.append("from the shared script")
    await dg.start()
    yield dg
    await dg.stop()


async def live_transcript(http: aiohttp.ClientSession, url: str, key: str, audio: bytes) -> str:
    ws = await http.ws_connect(url, params=PCM, headers={"Authorization": f"Token {key}"})
    async for chunk in stream_chunks(chunked(audio, chunk_bytes(16000, 1))):
        await ws.send_bytes(chunk)
    await ws.send_str('{"type": "CloseStream"}')
    finals = []
    async with asyncio.timeout(5):
        while (msg := await ws.receive()).type is WSMsgType.TEXT:
            message = json.loads(msg.data)
            if message["type"] == "Results" and message["is_final"]:
                finals.append(message["channel"]["alternatives"][0]["transcript"])
    return " ".join(text for text in finals if text)


async def test_each_key_gets_its_own_script_once(server: DeepgramTestServer) -> None:
    # Two utterances per stream: the second gets no words of the key's script.
    speech = synthesize("one two three", trailing_silence=0.5)
    async with aiohttp.ClientSession() as http:
        texts = await asyncio.gather(
            *(
                live_transcript(http, server.listen_url, key, speech + speech)
                for key in ("key-b", "key-a", "other")
            )
        )
    assert texts[:2] == ["close the garage", "open the blinds"]
    # A key without a script takes the shared script, then describes the audio.
    assert texts[2].startswith("from the shared script local test server:")


async def test_uploads_follow_the_key_and_the_per_second_delay(
    server: DeepgramTestServer,
) -> None:
    server.prerecorded_delay_per_second = 0.1
    audio = bytes(32000) + synthesize("one two three") + bytes(32000)
    seconds = len(audio) / 32000
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(
            server.url + "/v1/listen",
            params={"model": "nova-3"},
            data=wav_file(audio, 16000, 1),
            headers={"Authorization": "Token key-a", "Content-Type": "audio/wav"},
        ) as response:
            body = await response.json()
    assert time.monotonic() - started >= 0.1 * seconds
    assert body["results"]["channels"][0]["alternatives"][0]["transcript"] == "open the blinds"


def test_command_line_timing_and_scripts(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts.json"
    scripts.write_text('{"k": "hello"}', encoding="utf-8")
    args = _arguments(
        [
            *("--finalize-delay", "0.1", "--prerecorded-delay-per-second", "0.02"),
            *("--scripts-by-key", str(scripts)),
        ]
    )
    assert (args.finalize_delay, args.prerecorded_delay_per_second) == (0.1, 0.02)
    assert args.scripts_by_key == scripts
    assert _arguments([]).prerecorded_delay_per_second is None


async def test_permessage_deflate_is_never_agreed(server: DeepgramTestServer) -> None:
    # As on Deepgram: a client offering compression (the websockets library
    # does by default) gets plain frames, so it does not spend CPU on deflate.
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(
            server.listen_url, params=PCM, headers={"Authorization": "Token k"}, compress=15
        )
        assert ws.compress == 0
        await ws.close()
