"""The local Deepgram server itself, checked with a raw aiohttp websocket client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
import json
import math
import struct
import time
from typing import Any
import uuid

import aiohttp
from aiohttp import WSMsgType
import pytest

from . import server_testing
from .deepgram_server import (
    NET0001_REASON,
    DeepgramTestServer,
    LocalCertificate,
    Transcriber,
    TranscriberConfig,
)
from .deepgram_server.flux import Thresholds, TurnEvent, TurnTracker
from .deepgram_server.server import FLUX_IDLE_REASON
from .deepgram_server.transcriber import AudioMeter, Segment, SpeechStarted, UtteranceEnd
from .speech import chunk_bytes, chunked, stream_chunks, synthesize, wav_file

KEY = "good-key"
PHRASE = "turn on the kitchen light"
PCM = {"model": "nova-3", "encoding": "linear16", "sample_rate": "16000", "channels": "1"}
BYTES_PER_SECOND = 32000
CHUNK = chunk_bytes(16000, 1)

type Params = dict[str, str] | list[tuple[str, str]]


auto_enable_custom_integrations = server_testing.without_home_assistant


@pytest.fixture
async def server(
    socket_enabled: None, local_certificate: LocalCertificate
) -> AsyncIterator[DeepgramTestServer]:
    """A server over TLS that knows one key."""
    dg = DeepgramTestServer(
        api_keys={KEY}, project_id="project-1", idle_timeout=5.0, tls=local_certificate
    )
    await dg.start()
    yield dg
    await dg.stop()


http = server_testing.http


def auth(key: str = KEY) -> dict[str, str]:
    return server_testing.auth(key)


async def connect(
    http: aiohttp.ClientSession,
    server: DeepgramTestServer,
    params: Params | None = None,
    **kwargs: Any,
) -> aiohttp.ClientWebSocketResponse:
    kwargs.setdefault("headers", auth())
    return await http.ws_connect(
        server.listen_url, params=PCM if params is None else params, **kwargs
    )


async def send_audio(ws: aiohttp.ClientWebSocketResponse, chunks: Iterable[bytes]) -> None:
    async for chunk in stream_chunks(chunks):
        await ws.send_bytes(chunk)


async def drain(
    ws: aiohttp.ClientWebSocketResponse, within: float = 5.0
) -> tuple[list[dict[str, Any]], int | None, str]:
    """Read every message until the server closes; return them, the code and the reason."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            if msg.type is WSMsgType.TEXT:
                messages.append(json.loads(msg.data))
            elif msg.type is WSMsgType.CLOSE:
                return messages, msg.data, msg.extra or ""
            elif msg.type is not WSMsgType.BINARY:
                return messages, ws.close_code, ""


async def read_until(
    ws: aiohttp.ClientWebSocketResponse, accept: Any, within: float = 5.0
) -> list[dict[str, Any]]:
    """Read messages until one satisfies `accept`; return all read."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            assert msg.type is WSMsgType.TEXT, msg
            messages.append(json.loads(msg.data))
            if accept(messages[-1]):
                return messages


def transcript(message: dict[str, Any]) -> str:
    text: str = message["channel"]["alternatives"][0]["transcript"]
    return text


def finals(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "Results" and m["is_final"]]


def tone(seconds: float, *, amplitude: int = 8000, rate: int = 16000, channels: int = 1) -> bytes:
    samples = (
        round(amplitude * math.sin(2 * math.pi * 440 * i / rate))
        for i in range(round(seconds * rate))
    )
    return b"".join(struct.pack("<h", s) * channels for s in samples)


def silence(seconds: float, *, rate: int = 16000, channels: int = 1) -> bytes:
    return bytes(round(seconds * rate) * channels * 2)


# --- Handshake: auth, forced statuses, query validation ---------------------------------------


async def test_unknown_key_gets_deepgrams_401(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await connect(http, server, headers=auth("bad-key"))
    assert caught.value.status == 401
    headers = caught.value.headers
    assert headers is not None
    assert headers["dg-error"] == "Invalid credentials."
    uuid.UUID(headers["dg-request-id"])

    async with http.get(server.url + "/v1/listen", params=PCM) as response:
        assert response.status == 401
        assert response.content_type == "application/json"
        body = await response.json()
    assert body == {
        "err_code": "INVALID_AUTH",
        "err_msg": "Invalid credentials.",
        "request_id": response.headers["dg-request-id"],
    }
    assert [record.status for record in server.rejected] == [401, 401]
    assert server.sessions == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"token {KEY}"},
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": f"TOKEN   {KEY}"},
    ],
)
async def test_accepted_authorization_headers(
    server: DeepgramTestServer, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    ws = await connect(http, server, headers=headers)
    assert ws._response.headers["dg-request-id"] == server.sessions[0].request_id
    assert server.sessions[0].authorization == headers["Authorization"]
    await ws.close()


async def test_key_in_the_websocket_subprotocol(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    ws = await connect(http, server, headers={}, protocols=("token", KEY))
    assert ws.protocol == "token"
    assert server.sessions[0].authorization is None
    await ws.close()


async def test_any_key_without_a_key_list_and_granted_tokens(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    async with DeepgramTestServer() as open_server:
        ws = await connect(http, open_server, headers=auth("whatever"))
        await ws.close()
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await connect(http, open_server, headers={})
    async with DeepgramTestServer(api_keys={KEY}) as keyed:
        async with http.post(keyed.url + "/v1/auth/grant", headers=auth()) as response:
            token = (await response.json())["access_token"]
        ws = await connect(http, keyed, headers={"Authorization": f"Bearer {token}"})
        await ws.close()


@pytest.mark.parametrize(
    ("status", "err_code", "err_msg"),
    [
        (400, "Bad Request", "Bad Request: the request was invalid."),
        (401, "INVALID_AUTH", "Invalid credentials."),
        (402, "ASR_PAYMENT_REQUIRED", "Project does not have enough credits"),
        (403, "INSUFFICIENT_PERMISSIONS", "Project does not have access"),
        (429, "TOO_MANY_REQUESTS", "Too many requests. Please try again later"),
        (500, "INTERNAL_SERVER_ERROR", "temporarily unavailable"),
        (503, "SERVICE_UNAVAILABLE", "temporarily unavailable"),
    ],
)
async def test_forced_handshake_status(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    status: int,
    err_code: str,
    err_msg: str,
) -> None:
    server.handshake_status = status
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await connect(http, server)
    assert caught.value.status == status
    assert caught.value.headers is not None
    assert err_msg in caught.value.headers["dg-error"]
    async with http.get(server.url + "/v1/projects", headers=auth()) as response:
        assert response.status == status
        body = await response.json()
    assert body["err_code"] == err_code
    assert body["err_msg"] == response.headers["dg-error"]
    assert body["request_id"] == response.headers["dg-request-id"]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"model": "nova-4"}, "No such model/language/tier combination found."),
        ({"model": "flux-general-en"}, "No such model/language/tier"),
        ({"model": "nova-2-meeting", "language": "de"}, "No such model/language/tier"),
        ({"model": "nova-3", "language": "xx"}, "No such model/language/tier"),
        ([("model", "nova-2"), ("keyterm", "Hue")], "Keyterm"),
        ([("model", "nova-3"), ("keywords", "Hue:2")], "Keywords"),
        ({"model": "nova-3", "encoding": "pcm", "sample_rate": "16000"}, "encoding"),
        ({"model": "nova-3", "encoding": "linear16"}, "sample_rate"),
        ({**PCM, "interim_results": "yes"}, "interim_results"),
        ({**PCM, "sample_rate": "16k"}, "sample_rate"),
        ({**PCM, "channels": "0"}, "channels"),
        ({**PCM, "utterance_end_ms": "1.5"}, "utterance_end_ms"),
        ({**PCM, "endpointing": "true"}, "endpointing"),
    ],
)
async def test_bad_query_is_refused_with_400(
    server: DeepgramTestServer, http: aiohttp.ClientSession, params: Params, reason: str
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await connect(http, server, params)
    assert caught.value.status == 400
    assert caught.value.headers is not None
    assert reason in caught.value.headers["dg-error"]
    assert server.rejected[0].query == list(params.items() if isinstance(params, dict) else params)


async def test_query_is_recorded_in_order_with_aliases_and_unknown_params(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    params = [
        ("model", "nova-3-general"),
        ("language", "multi"),
        ("keyterm", "Hue"),
        ("keyterm", "Zigbee"),
        ("endpointing", "false"),
        ("future_param", "x y"),
    ]
    ws = await connect(http, server, params)
    record = server.sessions[0]
    assert record.query == params
    assert record.params.getall("keyterm") == ["Hue", "Zigbee"]
    assert record.param("future_param") == "x y"
    assert record.param("missing") is None
    await ws.close()
    await asyncio.wait_for(record.closed.wait(), 2)
    assert record.close_code == 1000


# --- Streaming ----------------------------------------------------------------------------


async def test_nothing_is_sent_before_audio(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    ws = await connect(http, server)
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.3)
    await ws.close()


async def test_speech_gives_a_speech_final_then_metadata_and_close(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append(PHRASE)
    audio = synthesize(PHRASE)
    ws = await connect(http, server, {**PCM, "endpointing": "300"})
    request_id = ws._response.headers["dg-request-id"]
    await send_audio(ws, chunked(audio, CHUNK))
    messages = await read_until(ws, lambda m: m.get("speech_final"))
    await ws.send_str(json.dumps({"type": "CloseStream"}))
    rest, code, reason = await drain(ws)

    final = messages[-1]
    assert transcript(final) == PHRASE
    assert final["is_final"] is True
    assert final["from_finalize"] is False
    assert final["channel_index"] == [0, 1]
    assert set(final) == {
        "type", "channel_index", "duration", "start", "is_final", "speech_final",
        "channel", "metadata", "from_finalize",
    }  # fmt: skip
    assert final["metadata"]["request_id"] == request_id
    assert set(final["metadata"]) == {"request_id", "model_info", "model_uuid"}
    assert final["metadata"]["model_info"]["arch"] == "nova-3"
    words = final["channel"]["alternatives"][0]["words"]
    assert [w["punctuated_word"] for w in words] == PHRASE.split()
    assert set(words[0]) == {"word", "start", "end", "confidence", "punctuated_word"}
    speech_starts, speech_ends = 0.3, len(audio) / BYTES_PER_SECOND - 1.5
    assert speech_starts <= words[0]["start"] < words[-1]["end"] <= speech_ends
    assert final["start"] <= words[0]["start"]
    assert words[-1]["end"] <= final["start"] + final["duration"]
    # speech_final comes once 300 ms of silence followed the speech.
    assert final["start"] + final["duration"] == pytest.approx(words[-1]["end"] + 0.3, abs=0.02)

    metadata = rest[-1]
    assert [m["type"] for m in rest] == ["Metadata"]
    assert metadata["duration"] == pytest.approx(len(audio) / BYTES_PER_SECOND, abs=0.001)
    assert metadata["transaction_key"] == "deprecated"
    assert metadata["sha256"] == "incomplete"
    assert metadata["request_id"] == request_id
    assert metadata["channels"] == 1
    assert metadata["models"] == [final["metadata"]["model_uuid"]]
    assert metadata["created"].endswith("Z")
    assert (code, reason) == (1000, "")

    record = server.sessions[0]
    await asyncio.wait_for(record.closed.wait(), 2)
    assert bytes(record.audio) == audio
    assert record.frames[-1] == ("text", '{"type": "CloseStream"}')
    assert record.control == ["CloseStream"]
    assert record.sent == [*messages, *rest]
    assert record.transcript == PHRASE
    assert (record.close_code, record.close_reason) == (1000, "")


async def test_default_endpointing_does_not_split_words(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append(PHRASE)
    ws = await connect(http, server)
    await send_audio(ws, chunked(synthesize(PHRASE), CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, code, _ = await drain(ws)
    assert [transcript(m) for m in finals(messages)] == [PHRASE]
    assert finals(messages)[0]["speech_final"] is True
    assert code == 1000


async def test_interims_every_second_of_audio(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append(PHRASE)
    audio = silence(1.2) + synthesize(PHRASE, leading_silence=0.0)
    ws = await connect(http, server, {**PCM, "interim_results": "true", "endpointing": "300"})
    await send_audio(ws, chunked(audio, CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    interims = [m for m in messages if m["type"] == "Results" and not m["is_final"]]
    ends = [round(m["start"] + m["duration"], 2) for m in interims]
    assert ends == [float(n) for n in range(1, math.floor(len(audio) / BYTES_PER_SECOND) + 1)]
    assert transcript(interims[0]) == ""
    texts = [transcript(m) for m in interims if transcript(m)]
    assert texts
    assert all(PHRASE.startswith(text) and text != PHRASE for text in texts)
    assert [transcript(m) for m in finals(messages)] == [PHRASE]


async def test_long_utterance_is_split_into_several_finals(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    script = (
        "turn on the kitchen light and the hallway light. "
        "then set the living room thermostat to twenty one degrees"
    )
    server.utterances.append(script)
    ws = await connect(http, server, {**PCM, "endpointing": "false"})
    await send_audio(ws, chunked(synthesize(script, trailing_silence=0.0), CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, code, _ = await drain(ws)
    texts = [transcript(m) for m in finals(messages)]
    assert len(texts) >= 2
    assert " ".join(texts) == script
    assert [m["speech_final"] for m in finals(messages)][:-1] == [False] * (len(texts) - 1)
    starts = [m["start"] for m in finals(messages)]
    assert starts == sorted(starts)
    assert code == 1000


async def test_finalize_flushes_with_from_finalize(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.extend([PHRASE, "second"])
    ws = await connect(http, server, {**PCM, "endpointing": "false"})
    await send_audio(ws, chunked(synthesize(PHRASE, trailing_silence=0.2), CHUNK))
    await ws.send_str('{"type": "Finalize"}')
    (final,) = await read_until(ws, lambda m: m["type"] == "Results")
    assert transcript(final) == PHRASE
    assert (final["is_final"], final["speech_final"], final["from_finalize"]) == (True, True, True)
    # Nothing pending: a second Finalize is not answered, and the stream stays open.
    await ws.send_str('{"type": "Finalize"}')
    await ws.send_str('{"type": "CloseStream"}')
    messages, code, _ = await drain(ws)
    assert [m["type"] for m in messages] == ["Metadata"]
    assert code == 1000
    assert server.utterances == ["second"]


async def test_zero_length_frame_ends_the_stream(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append(PHRASE)
    ws = await connect(http, server, {**PCM, "endpointing": "false"})
    await send_audio(ws, chunked(synthesize(PHRASE), CHUNK))
    await ws.send_bytes(b"")
    messages, code, _ = await drain(ws)
    assert [m["type"] for m in messages] == ["Results", "Metadata"]
    assert transcript(messages[0]) == PHRASE
    assert code == 1000
    assert server.sessions[0].frames[-1] == ("binary", 0)


async def test_bad_text_frames_get_a_schema_error_and_the_stream_stays_open(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    ws = await connect(http, server)
    for raw in ("{not json", '{"type": "Surprise"}', "[1, 2]", '{"no": "type"}'):
        await ws.send_str(raw)
        error = json.loads((await ws.receive(timeout=2)).data)
        assert error["type"] == "Error"
        assert error["variant"] == "SchemaError"
        assert error["description"].startswith("Could not deserialize last text message: ")
        assert error["message"] == raw
    await ws.send_str('{"type": "KeepAlive"}')
    await ws.send_str('{"type": "CloseStream"}')
    messages, code, _ = await drain(ws)
    assert [m["type"] for m in messages] == ["Metadata"]
    assert messages[0]["duration"] == 0
    assert code == 1000
    assert server.sessions[0].control == ["Surprise", "KeepAlive", "CloseStream"]


async def test_keepalive_resets_the_idle_timer_and_idle_closes_with_1011(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    # KeepAlives 0.2 s apart, well inside the idle timeout even on a loaded machine.
    server.idle_timeout = 1.0
    ws = await connect(http, server)
    await ws.send_bytes(silence(0.1))
    for _ in range(5):
        await asyncio.sleep(0.2)
        await ws.send_str('{"type": "KeepAlive"}')
    assert not ws.closed
    started = time.monotonic()
    messages, code, reason = await drain(ws)
    assert 0.9 < time.monotonic() - started < 1.0 + 3
    assert [m["type"] for m in messages] == ["Metadata"]
    assert messages[0]["duration"] == pytest.approx(0.1)
    assert code == 1011
    assert reason == NET0001_REASON
    assert server.sessions[0].control == ["KeepAlive"] * 5
    assert server.sessions[0].close_code == 1011


async def test_pings_do_not_reset_the_idle_timer(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.idle_timeout = 0.4
    ws = await connect(http, server)
    for _ in range(3):
        await ws.ping()
        await asyncio.sleep(0.1)
    _, code, reason = await drain(ws, within=1.0)
    assert (code, reason) == (1011, NET0001_REASON)


async def test_speech_started_and_utterance_end(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append(PHRASE)
    params = {
        **PCM,
        "interim_results": "true",
        "vad_events": "true",
        "utterance_end_ms": "1000",
        "endpointing": "300",
    }
    ws = await connect(http, server, params)
    await send_audio(ws, chunked(synthesize(PHRASE, trailing_silence=1.5), CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    kinds = [m["type"] for m in messages]
    (started,) = [m for m in messages if m["type"] == "SpeechStarted"]
    assert started["channel"] == [0, 1]
    assert 0.3 <= started["timestamp"] < 0.45
    (final,) = finals(messages)
    (end,) = [m for m in messages if m["type"] == "UtteranceEnd"]
    assert end["channel"] == [0, 1]
    assert end["last_word_end"] == final["channel"]["alternatives"][0]["words"][-1]["end"]
    assert kinds.index("SpeechStarted") < messages.index(final) < kinds.index("UtteranceEnd")


async def test_without_a_script_the_audio_is_described(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    ws = await connect(http, server)
    await send_audio(ws, chunked(silence(0.5) + tone(2.4) + silence(0.5), CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    assert [transcript(m) for m in finals(messages)] == [
        "local test server: 2.4 s of audio, 16000 Hz mono"
    ]


async def test_wav_stream_without_encoding_is_read_from_its_header(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    audio = wav_file(tone(1.0, rate=8000, channels=2), 8000, 2)
    ws = await connect(http, server, {"model": "nova-3"})
    await send_audio(ws, chunked(audio, 333))
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    assert transcript(finals(messages)[0]) == "local test server: 1.0 s of audio, 8000 Hz stereo"
    assert messages[-1]["duration"] == pytest.approx(1.0)
    assert messages[-1]["channels"] == 2


def ogg_page(granule: int, payload: bytes) -> bytes:
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, 0, granule, 1, 0, 0, 1)
    return header + bytes([len(payload)]) + payload


async def test_ogg_stream_is_timed_by_granule_positions(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    pages = [ogg_page(0, b"OpusHead"), *(ogg_page(960 * n, b"\x01" * 60) for n in range(1, 51))]
    ws = await connect(http, server, {"model": "nova-3"})
    await send_audio(ws, pages)
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    assert transcript(finals(messages)[0]) == "local test server: 1.0 s of audio, Ogg/Opus"
    assert messages[-1]["duration"] == pytest.approx(1.0)


async def test_raw_audio_without_encoding_cannot_be_decoded(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    ws = await connect(http, server, {"model": "nova-3"})
    await ws.send_bytes(tone(0.1))
    _, code, reason = await drain(ws)
    assert code == 1008
    assert "data0000" in reason


# --- REST ---------------------------------------------------------------------------------


async def test_rest_routes_of_the_hosted_api(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(server.url + "/v1/projects", headers=auth()) as response:
        assert response.status == 200
        assert await response.json() == {"projects": [{"project_id": "project-1", "name": "Home"}]}
        uuid.UUID(response.headers["dg-request-id"])
    async with http.get(server.url + "/v1/projects", headers=auth("bad")) as response:
        assert response.status == 401
    async with http.get(server.url + "/v1/status") as response:
        assert response.status == 404
    async with http.get(server.url + "/v1/models") as response:
        assert response.status == 200
        models = {model["canonical_name"] for model in (await response.json())["stt"]}
    assert {"nova-3", "nova-2"} <= models
    assert server.requests == [
        ("GET", "/v1/projects"),
        ("GET", "/v1/projects"),
        ("GET", "/v1/status"),
        ("GET", "/v1/models"),
    ]


async def test_self_hosted_server_has_status_and_no_projects(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    async with DeepgramTestServer(api_keys={KEY}, self_hosted=True) as dg:
        async with http.get(dg.url + "/v1/projects", headers=auth()) as response:
            assert response.status == 404
        ws = await connect(http, dg, headers={})
        async with http.get(dg.url + "/v1/status") as response:
            assert response.status == 200
            assert await response.json() == {"system_health": "Healthy", "active_requests": 1}
        await ws.close()


async def test_prerecorded_listen_follows_the_script(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append(PHRASE)
    server.finalize_delay = 0.05
    audio = synthesize(PHRASE)
    started = time.monotonic()
    async with http.post(
        server.url + "/v1/listen",
        params={"model": "nova-3"},
        data=wav_file(audio, 16000, 1),
        headers={**auth(), "Content-Type": "audio/wav"},
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert time.monotonic() - started >= 0.05 + 0.01 * len(audio) / BYTES_PER_SECOND
    assert body["results"]["channels"][0]["alternatives"][0]["transcript"] == PHRASE
    assert body["metadata"]["duration"] == pytest.approx(len(audio) / BYTES_PER_SECOND)
    assert len(body["metadata"]["sha256"]) == 64

    async with http.post(
        server.url + "/v1/listen", params=PCM, data=tone(1.0), headers=auth()
    ) as response:
        body = await response.json()
    assert body["results"]["channels"][0]["alternatives"][0]["transcript"] == (
        "local test server: 1.0 s of audio, 16000 Hz mono"
    )
    async with http.post(server.url + "/v1/listen", params=PCM, data=tone(1.0)) as response:
        assert response.status == 401


# --- Fault switches -----------------------------------------------------------------------


async def test_silent_server_reads_everything_and_says_nothing(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.silent = True
    server.idle_timeout = 0.2
    ws = await connect(http, server)
    await send_audio(ws, chunked(tone(1.0), CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.5)
    record = server.sessions[0]
    assert record.control == ["CloseStream"]
    assert len(record.audio) == BYTES_PER_SECOND
    assert not record.closed.is_set()
    await ws.close()
    await asyncio.wait_for(record.closed.wait(), 2)
    assert record.sent == []
    assert record.close_code == 1000


async def test_silent_after_close_stream(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.silent_after_close_stream = True
    server.utterances.append(PHRASE)
    ws = await connect(http, server, {**PCM, "endpointing": "300"})
    await send_audio(ws, chunked(synthesize(PHRASE), CHUNK))
    messages = await read_until(ws, lambda m: m.get("speech_final"))
    assert transcript(messages[-1]) == PHRASE
    await ws.send_str('{"type": "CloseStream"}')
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.5)
    assert not ws.closed
    await ws.close()


async def test_close_mid_stream_sends_due_results_then_closes(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.extend(["turn on the light", "and the fan"])
    server.close_mid_stream = (
        2.5,
        1011,
        "Deepgram had an internal error. See https://dpgr.am/net0000",
    )
    audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")
    ws = await connect(http, server, {**PCM, "endpointing": "300"})
    sender = asyncio.create_task(send_audio(ws, chunked(audio, CHUNK)))
    messages, code, reason = await drain(ws)
    await asyncio.gather(sender, return_exceptions=True)
    assert [transcript(m) for m in finals(messages)] == ["turn on the light"]
    assert (code, reason) == (1011, server.close_mid_stream[2])
    assert len(server.sessions[0].audio) >= 2.5 * BYTES_PER_SECOND


async def test_injected_frames_follow_the_first_audio_frame(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.inject_frames.extend(["{not json", '{"type": "Surprise"}', b"\x00\x01"])
    ws = await connect(http, server)
    await ws.send_bytes(silence(0.02))
    received = [await ws.receive(timeout=2) for _ in range(3)]
    assert [(m.type, m.data) for m in received] == [
        (WSMsgType.TEXT, "{not json"),
        (WSMsgType.TEXT, '{"type": "Surprise"}'),
        (WSMsgType.BINARY, b"\x00\x01"),
    ]
    await ws.send_bytes(silence(0.02))
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.2)
    await ws.close()


async def test_finalize_delay_holds_the_answer(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.finalize_delay = 0.3
    server.utterances.append(PHRASE)
    ws = await connect(http, server, {**PCM, "endpointing": "false"})
    await send_audio(ws, chunked(synthesize(PHRASE), CHUNK))
    started = time.monotonic()
    await ws.send_str('{"type": "CloseStream"}')
    messages, code, _ = await drain(ws)
    assert time.monotonic() - started >= 0.3
    assert transcript(finals(messages)[0]) == PHRASE
    assert code == 1000


async def test_hung_handshake_never_answers_and_stop_is_prompt(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    dg = DeepgramTestServer(api_keys={KEY})
    await dg.start()
    dg.hang_handshake = True
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await connect(http, dg)
    started = time.monotonic()
    await dg.stop()
    assert time.monotonic() - started < 3


async def test_stop_closes_open_streams(http: aiohttp.ClientSession, socket_enabled: None) -> None:
    dg = DeepgramTestServer(api_keys={KEY})
    await dg.start()
    ws = await connect(http, dg)
    await ws.send_bytes(silence(0.1))
    reader = asyncio.create_task(drain(ws))
    await dg.stop()
    _, code, _ = await reader
    assert code == 1001
    assert dg.sessions[0].closed.is_set()
    assert dg.active_streams == 0


async def test_concurrent_streams_are_independent(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.extend(["one", "two", "three"])
    sockets = [await connect(http, server, {**PCM, "endpointing": "false"}) for _ in range(3)]

    async def run(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> list[str]:
        await send_audio(ws, chunked(tone(seconds), CHUNK))
        await ws.send_str('{"type": "CloseStream"}')
        messages, _, _ = await drain(ws)
        return [transcript(m) for m in finals(messages)]

    results = await asyncio.gather(*(run(ws, 0.5) for ws in sockets))
    assert sorted(text for texts in results for text in texts) == ["one", "three", "two"]
    for record in server.sessions:
        await asyncio.wait_for(record.closed.wait(), 2)
    assert server.active_streams == 0


# --- Flux (/v2/listen) --------------------------------------------------------------------

FLUX = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": "16000"}
SCRIPT = "Turn on the kitchen light."
FLUX_CHUNK = chunk_bytes(16000, 1, ms=80)  # Deepgram recommends 80 ms chunks for Flux.


async def connect_flux(
    http: aiohttp.ClientSession,
    server: DeepgramTestServer,
    params: Params | None = None,
    **kwargs: Any,
) -> aiohttp.ClientWebSocketResponse:
    kwargs.setdefault("headers", auth())
    return await http.ws_connect(
        server.flux_listen_url, params=FLUX if params is None else params, **kwargs
    )


async def flux_run(
    http: aiohttp.ClientSession,
    server: DeepgramTestServer,
    audio: bytes,
    params: Params | None = None,
    *,
    end: str | bytes = '{"type": "CloseStream"}',
) -> tuple[list[dict[str, Any]], int | None]:
    """Stream `audio`, end the stream, and return every message and the close code."""
    ws = await connect_flux(http, server, params)
    await send_audio(ws, chunked(audio, FLUX_CHUNK))
    await (ws.send_bytes(end) if isinstance(end, bytes) else ws.send_str(end))
    messages, code, _ = await drain(ws)
    assert_sequence(messages)
    return messages, code


def assert_sequence(messages: list[dict[str, Any]]) -> None:
    """Every server message carries sequence_id, counting from 0 without gaps."""
    assert [m["sequence_id"] for m in messages] == list(range(len(messages)))


def events(messages: list[dict[str, Any]], *, updates: bool = False) -> list[dict[str, Any]]:
    """The TurnInfo messages, without the Updates unless asked."""
    return [m for m in messages if m["type"] == "TurnInfo" and (updates or m["event"] != "Update")]


async def test_flux_turn_of_real_speech(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append(SCRIPT)
    audio = synthesize(PHRASE)
    ws = await connect_flux(http, server)
    request_id = ws._response.headers["dg-request-id"]
    await send_audio(ws, chunked(audio, FLUX_CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, code, reason = await drain(ws)

    assert messages[0] == {"type": "Connected", "request_id": request_id, "sequence_id": 0}
    assert_sequence(messages)
    assert (code, reason) == (1000, "")
    assert {m["type"] for m in messages} == {"Connected", "TurnInfo"}
    start, end = events(messages)
    assert (start["event"], end["event"]) == ("StartOfTurn", "EndOfTurn")

    # Words come one per 0.3 s of speech, never all before the turn ends.
    turn = messages[messages.index(start) : messages.index(end)]
    assert start["transcript"]
    assert all(SCRIPT.startswith(m["transcript"]) and m["transcript"] != SCRIPT for m in turn)
    assert len({m["transcript"] for m in turn}) > 1

    assert set(end) == {
        "type", "request_id", "sequence_id", "event", "turn_index", "audio_window_start",
        "audio_window_end", "transcript", "words", "end_of_turn_confidence", "trigger",
    }  # fmt: skip
    assert end["request_id"] == request_id
    assert (end["transcript"], end["trigger"], end["turn_index"]) == (SCRIPT, "model", 0)
    assert [w["word"] for w in end["words"]] == SCRIPT.split()
    assert set(end["words"][0]) == {"word", "confidence", "start", "end"}
    speech_starts, speech_ends = 0.3, len(audio) / BYTES_PER_SECOND - 1.5
    assert speech_starts <= end["words"][0]["start"] < end["words"][-1]["end"] <= speech_ends
    # The default eot_threshold 0.7 is reached after 350 ms of silence.
    assert end["end_of_turn_confidence"] == 0.7
    assert end["audio_window_start"] == 0
    assert end["audio_window_end"] == pytest.approx(end["words"][-1]["end"] + 0.35, abs=0.011)

    # An Update every 0.25 s of audio (none due at an event), and one for the tail.
    updates = [m for m in events(messages, updates=True) if m["event"] == "Update"]
    ticks = [m["audio_window_end"] for m in updates]
    duration = len(audio) / BYTES_PER_SECOND
    due = [round(0.25 * n, 2) for n in range(1, math.ceil(duration * 4))]
    at_events = {m["audio_window_end"] for m in events(messages)}
    assert ticks[:-1] == [tick for tick in due if tick not in at_events]
    assert ticks[-1] == pytest.approx(duration)
    after = updates[-1]
    assert (after["turn_index"], after["transcript"], after["words"]) == (1, "", [])
    assert after["audio_window_start"] == end["audio_window_end"]

    record = server.sessions[0]
    await asyncio.wait_for(record.closed.wait(), 2)
    assert record.path == "/v2/listen"
    assert bytes(record.audio) == audio
    assert record.control == ["CloseStream"]
    assert record.sent == messages
    assert record.transcript == SCRIPT
    assert (record.close_code, record.close_reason) == (1000, "")


@pytest.mark.parametrize(("eot_threshold", "silence_needed"), [(0.5, 0.25), (0.9, 0.45)])
async def test_flux_eot_threshold_sets_the_silence_before_end_of_turn(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    eot_threshold: float,
    silence_needed: float,
) -> None:
    server.utterances.append("Lights off.")
    params = {**FLUX, "eot_threshold": str(eot_threshold)}
    messages, _ = await flux_run(http, server, tone(1.0) + silence(1.0), params)
    (_, end) = events(messages)
    assert end["audio_window_end"] == pytest.approx(1.0 + silence_needed)
    assert (end["end_of_turn_confidence"], end["trigger"]) == (eot_threshold, "model")


async def test_flux_eot_timeout_ends_the_turn_when_the_model_never_does(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append("Lights off.")
    params = {**FLUX, "eot_threshold": "1.0", "eot_timeout_ms": "500"}
    messages, _ = await flux_run(http, server, tone(1.0) + silence(1.0), params)
    (_, end) = events(messages)
    assert end["audio_window_end"] == pytest.approx(1.5)
    assert (end["trigger"], end["end_of_turn_confidence"]) == ("timeout", 1.0)


async def test_flux_eager_end_of_turn_and_turn_resumed(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    script = "Turn on the light and the fan."
    server.utterances.append(script)
    audio = tone(0.6) + silence(0.25) + tone(0.6) + silence(1.0)
    messages, _ = await flux_run(http, server, audio, {**FLUX, "eager_eot_threshold": "0.4"})
    turn = events(messages)
    assert [(m["event"], m["audio_window_end"]) for m in turn] == [
        ("StartOfTurn", 0.3),  # 0.3 s of speech reveals the first word
        ("EagerEndOfTurn", 0.8),  # 0.4 of confidence: 200 ms of silence
        ("TurnResumed", 0.86),
        ("EagerEndOfTurn", 1.65),
        ("EndOfTurn", 1.8),
    ]
    eager, resumed, last_eager, end = turn[1:]
    assert eager["transcript"] == last_eager["transcript"] == end["transcript"] == script
    assert resumed["end_of_turn_confidence"] == 0.0
    # After TurnResumed the turn's text stays whole; it never shrinks.
    between = messages[messages.index(resumed) : messages.index(last_eager)]
    assert {m["transcript"] for m in between} == {script}


async def test_flux_two_phrases_are_two_turns(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.extend(["Turn on the light.", "And the fan."])
    audio = synthesize("turn on the light") + synthesize("and the fan")
    messages, _ = await flux_run(http, server, audio)
    turns = events(messages)
    assert [(m["event"], m["turn_index"]) for m in turns] == [
        ("StartOfTurn", 0),
        ("EndOfTurn", 0),
        ("StartOfTurn", 1),
        ("EndOfTurn", 1),
    ]
    assert [m["transcript"] for m in turns[1::2]] == ["Turn on the light.", "And the fan."]
    assert turns[3]["audio_window_start"] == turns[1]["audio_window_end"]
    assert server.sessions[0].transcript == "Turn on the light. And the fan."


@pytest.mark.parametrize("end", ['{"type": "CloseStream"}', b""], ids=["CloseStream", "empty"])
async def test_flux_close_stream_mid_turn_sends_the_whole_turn_in_a_last_update(
    server: DeepgramTestServer, http: aiohttp.ClientSession, end: str | bytes
) -> None:
    server.utterances.append(SCRIPT)
    audio = synthesize(PHRASE)[: round(1.6 * BYTES_PER_SECOND)]  # Speech ends at about 1.5 s.
    messages, code = await flux_run(http, server, audio, end=end)
    assert code == 1000
    assert [m["event"] for m in events(messages)] == ["StartOfTurn"]
    last = messages[-1]
    assert (last["event"], last["transcript"], last["turn_index"]) == ("Update", SCRIPT, 0)
    assert [w["word"] for w in last["words"]] == SCRIPT.split()
    assert last["audio_window_end"] == pytest.approx(1.6)
    assert SCRIPT.startswith(messages[-2]["transcript"])
    assert messages[-2]["transcript"] != SCRIPT
    assert server.sessions[0].transcript == ""  # No EndOfTurn: the turn was not finalised.


async def test_flux_force_end_turn(server: DeepgramTestServer, http: aiohttp.ClientSession) -> None:
    server.utterances.append("Lights off.")
    ws = await connect_flux(http, server)
    request_id = ws._response.headers["dg-request-id"]
    await ws.send_str('{"type": "ForceEndTurn"}')
    connected, warning = await read_until(ws, lambda m: m["type"] == "Warning")
    assert warning == {
        "type": "Warning",
        "request_id": request_id,
        "sequence_id": 1,
        "code": "FORCE_END_TURN_NO_ACTIVE_TURN",
        "description": warning["description"],
    }
    await send_audio(ws, chunked(tone(1.0), FLUX_CHUNK))
    await ws.send_str('{"type": "ForceEndTurn"}')
    turn = await read_until(ws, lambda m: m.get("event") == "EndOfTurn")
    end = turn[-1]
    assert (end["trigger"], end["transcript"], end["turn_index"]) == ("manual", "Lights off.", 0)
    assert end["audio_window_end"] == pytest.approx(1.0)
    await ws.send_str('{"type": "ForceEndTurn"}')
    await ws.send_str('{"type": "CloseStream"}')
    rest, code, _ = await drain(ws)
    assert [m["type"] for m in rest] == ["Warning"]
    assert_sequence([connected, warning, *turn, *rest])
    assert code == 1000


async def test_flux_configure_success_and_failure(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append("Lights off.")
    ws = await connect_flux(http, server, [*FLUX.items(), ("keyterm", "Hue")])

    async def configure(message: dict[str, Any]) -> dict[str, Any]:
        await ws.send_str(json.dumps({"type": "Configure", **message}))
        reply = (await read_until(ws, lambda m: m["type"] != "Connected"))[-1]
        assert reply["request_id"] == server.sessions[0].request_id
        return reply

    ok = await configure({"thresholds": {"eager_eot_threshold": 0.4, "eot_threshold": 0.8}})
    assert ok["type"] == "ConfigureSuccess"
    assert ok["thresholds"] == {
        "eot_threshold": 0.8,
        "eot_timeout_ms": 5000,
        "eager_eot_threshold": 0.4,
    }
    assert ok["keyterms"] == ["Hue"]
    assert "language_hints" not in ok
    assert (await configure({"keyterms": []}))["keyterms"] == []

    failures = [
        ({"thresholds": {"eager_eot_threshold": 0.9}}, "INVALID_THRESHOLD", "less than or equal"),
        ({"thresholds": {"eot_timeout_ms": 100}}, "INVALID_THRESHOLD", "eot_timeout_ms"),
        ({"thresholds": {"eot_thresold": 0.6}}, "INVALID_THRESHOLD", "eot_thresold"),
        ({"language_hints": ["de"]}, "INVALID_PARAMETER", "not supported for model flux"),
        ({"keyterms": ["x"] * 101}, "INVALID_PARAMETER", "100"),
        ({"keyterm": ["Hue"]}, "INVALID_PARAMETER", "unknown field `keyterm`"),
    ]
    for message, code, description in failures:
        failure = await configure(message)
        assert (failure["type"], failure["code"]) == ("ConfigureFailure", code)
        assert description in failure["description"]

    # The successful Configure holds: eager at 0.4 (200 ms), the end at 0.8 (400 ms).
    await send_audio(ws, chunked(tone(1.0) + silence(1.0), FLUX_CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    assert [(m["event"], m["audio_window_end"]) for m in events(messages)] == [
        ("StartOfTurn", 0.3),  # 0.3 s of speech reveals the first word
        ("EagerEndOfTurn", 1.2),
        ("EndOfTurn", 1.4),
    ]
    assert_sequence(server.sessions[0].sent)


async def test_flux_multilingual_languages(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.utterances.append("Liga a luz.")
    params = [
        *{**FLUX, "model": "flux-general-multi"}.items(),
        ("language_hint", "pt-BR"),
        ("language_hint", "es"),
        ("language_hint", "pt"),
    ]
    ws = await connect_flux(http, server, params)
    await send_audio(ws, chunked(tone(1.0) + silence(0.5), FLUX_CHUNK))
    await ws.send_str('{"type": "Configure", "language_hints": ["de-CH"]}')
    await send_audio(ws, chunked(silence(0.1), FLUX_CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    messages, _, _ = await drain(ws)
    (start, end) = events(messages)
    assert (start["languages"], start["languages_hinted"]) == (["pt"], ["pt", "es"])
    assert (end["languages"], end["languages_hinted"]) == (["pt"], ["pt", "es"])
    assert "languages" not in messages[1]  # No words, no detected language.
    (configured,) = [m for m in messages if m["type"] == "ConfigureSuccess"]
    assert configured["language_hints"] == ["de"]
    assert messages[-1]["languages_hinted"] == ["de"]


V1_ONLY = ("language", "interim_results", "endpointing", "utterance_end_ms", "vad_events")


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"model": "nova-3"}, "model nova-3 is not supported on /v2/listen"),
        ({"model": "flux-general-fr"}, "model flux-general-fr is not supported"),
        ({"encoding": "linear16", "sample_rate": "16000"}, "model is required"),
        (
            {**FLUX, "language_hint": "es"},
            "language_hint is not supported for model flux-general-en",
        ),
        ({**FLUX, "model": "flux-general-multi", "language_hint": "xx"}, "language_hint xx"),
        *(({**FLUX, name: "true"}, f"{name} is not supported") for name in V1_ONLY),
        ({**FLUX, "punctuate": "true"}, "punctuate is not supported"),
        ({**FLUX, "smart_format": "true"}, "smart_format is not supported"),
        ({**FLUX, "encoding": "flac"}, "encoding flac"),
        ({"model": "flux-general-en", "encoding": "linear16"}, "sample_rate is required"),
        ({**FLUX, "sample_rate": "22050"}, "sample_rate must be one of"),
        ({**FLUX, "eot_threshold": "0.4"}, "eot_threshold must be between 0.5 and 1.0"),
        ({**FLUX, "eot_threshold": "1.1"}, "eot_threshold must be between"),
        ({**FLUX, "eot_threshold": "high"}, "eot_threshold must be a number"),
        ({**FLUX, "eager_eot_threshold": "0.2"}, "eager_eot_threshold must be between"),
        ({**FLUX, "eager_eot_threshold": "0.8"}, "less than or equal to eot_threshold"),
        ({**FLUX, "eot_timeout_ms": "400"}, "eot_timeout_ms must be an integer between"),
        ({**FLUX, "eot_timeout_ms": "60001"}, "eot_timeout_ms must be an integer between"),
        ({**FLUX, "eot_timeout_ms": "5s"}, "eot_timeout_ms must be an integer"),
        ([*FLUX.items(), *[("keyterm", f"t{n}") for n in range(101)]], "at most 100 keyterms"),
    ],
)
async def test_flux_bad_query_is_refused_with_400(
    server: DeepgramTestServer, http: aiohttp.ClientSession, params: Params, description: str
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await connect_flux(http, server, params)
    assert caught.value.status == 400
    assert caught.value.headers is not None
    assert description in caught.value.headers["dg-error"]
    (record,) = server.rejected
    assert (record.path, record.status) == ("/v2/listen", 400)
    assert server.sessions == []


async def test_flux_refusal_body_and_the_widest_accepted_query(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    params = {"model": "flux-general-en", "language_hint": "es"}
    async with http.get(server.flux_listen_url, params=params, headers=auth()) as response:
        assert response.status == 400
        assert await response.json() == {
            "code": "INVALID_PARAMETER",
            "description": "language_hint is not supported for model flux-general-en",
        }
        uuid.UUID(response.headers["dg-request-id"])
    widest = [
        ("model", "flux-general-multi"),
        ("encoding", "ogg-opus"),  # Containerised: no sample_rate needed.
        ("eot_threshold", "1.0"),
        ("eager_eot_threshold", "0.3"),
        ("eot_timeout_ms", "60000"),
        *[("keyterm", f"t{n}") for n in range(100)],
        *[("language_hint", code) for code in ("en", "es", "fr", "de", "hi", "ru", "pt-BR")],
        *[("language_hint", code) for code in ("ja", "it", "nl")],
        ("tag", "kitchen"),
        ("mip_opt_out", "true"),
    ]
    ws = await connect_flux(http, server, widest)
    assert server.sessions[0].query == widest
    await ws.close()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ('{"type": "KeepAlive"}', "KeepAlive"),
        ('{"type": "Finalize"}', "Finalize"),
        ('{"type": "Surprise"}', "Surprise"),
        ("{not json", None),
    ],
)
async def test_flux_unknown_text_messages_are_fatal(
    server: DeepgramTestServer, http: aiohttp.ClientSession, raw: str, kind: str | None
) -> None:
    ws = await connect_flux(http, server)
    await ws.send_str(raw)
    messages, code, _ = await drain(ws)
    assert messages[1] == {
        "type": "Error",
        "sequence_id": 1,
        "code": "UNPARSABLE_CLIENT_MESSAGE",
        "description": messages[1]["description"],
    }
    assert messages[1]["description"].startswith("Could not deserialize last text message: ")
    assert len(messages) == 2
    assert code == 1008
    assert server.sessions[0].control == ([] if kind is None else [kind])


async def test_flux_pings_keep_it_alive_and_idle_is_fatal(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    # Pings 0.1 s apart, well inside the idle timeout even on a loaded machine.
    server.flux_idle_timeout = 0.8
    ws = await connect_flux(http, server)
    for _ in range(6):
        await asyncio.sleep(0.1)
        await ws.ping()
    assert not ws.closed
    started = time.monotonic()
    messages, code, reason = await drain(ws)
    assert 0.7 < time.monotonic() - started < 0.8 + 3
    assert [m["type"] for m in messages] == ["Connected", "Error"]
    assert messages[1]["code"] == "CLIENT_MESSAGE_TIMEOUT"
    assert (code, reason) == (1011, FLUX_IDLE_REASON)
    assert DeepgramTestServer().flux_idle_timeout == 60


async def test_flux_handshake_faults(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await connect_flux(http, server, headers=auth("bad-key"))
    assert caught.value.status == 401
    server.handshake_status = 429
    async with http.get(server.flux_listen_url, params=FLUX, headers=auth()) as response:
        assert response.status == 429
        assert (await response.json())["err_code"] == "TOO_MANY_REQUESTS"
    server.handshake_status = None
    server.hang_handshake = True
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await connect_flux(http, server)
    assert [record.status for record in server.rejected] == [401, 429]


async def test_flux_silent_faults(server: DeepgramTestServer, http: aiohttp.ClientSession) -> None:
    server.silent = True
    ws = await connect_flux(http, server)
    await send_audio(ws, chunked(tone(0.5), FLUX_CHUNK))
    await ws.send_str('{"type": "CloseStream"}')
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.3)
    await ws.close()
    assert server.sessions[0].sent == []

    server.silent = False
    server.silent_after_close_stream = True
    ws = await connect_flux(http, server)
    await send_audio(ws, chunked(tone(0.5), FLUX_CHUNK))
    await read_until(ws, lambda m: m.get("audio_window_end") == 0.5)
    await ws.send_str('{"type": "CloseStream"}')
    with pytest.raises(TimeoutError):
        await ws.receive(timeout=0.3)
    assert not ws.closed
    await ws.close()


async def test_flux_close_mid_stream_injected_frames_and_finalize_delay(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.close_mid_stream = (1.0, 1011, "Deepgram had an internal error.")
    server.inject_frames.append('{"type": "Surprise"}')
    ws = await connect_flux(http, server)
    sender = asyncio.create_task(send_audio(ws, chunked(tone(2.0), FLUX_CHUNK)))
    messages, code, reason = await drain(ws)
    await asyncio.gather(sender, return_exceptions=True)
    assert (code, reason) == (1011, "Deepgram had an internal error.")
    # The injected frame is foreign to the protocol: it has no sequence_id and takes none.
    assert messages[1] == {"type": "Surprise"}
    assert_sequence([messages[0], *messages[2:]])
    assert messages[-1]["audio_window_end"] == pytest.approx(1.0)

    server.close_mid_stream = None
    server.inject_frames.clear()
    server.finalize_delay = 0.3
    ws = await connect_flux(http, server)
    await send_audio(ws, chunked(tone(0.5), FLUX_CHUNK))
    started = time.monotonic()
    await ws.send_str('{"type": "CloseStream"}')
    _, code, _ = await drain(ws)
    assert time.monotonic() - started >= 0.3
    assert code == 1000


# --- The transcriber on its own ----------------------------------------------------------


def run_transcriber(
    flags: str, script: list[str], **config: Any
) -> tuple[list[Segment | SpeechStarted | UtteranceEnd], Transcriber]:
    """Feed frames written as text: "S" is 10 ms of speech, "_" 10 ms of silence."""
    transcriber = Transcriber(
        TranscriberConfig(**config),
        next_script=lambda: script.pop(0) if script else None,
        describe=lambda seconds: f"{seconds:.2f} s",
    )
    events = [
        event
        for index, flag in enumerate(flags)
        for event in transcriber.advance((index + 1) / 100, speech=flag == "S")
    ]
    return events, transcriber


def test_words_are_never_all_revealed_before_the_end() -> None:
    events, transcriber = run_transcriber(
        "_" * 10 + "S" * 500, ["a b c"], interim_results=True, endpointing=None
    )
    segments = [e for e in events if isinstance(e, Segment)]
    # Interims at each second; the 3 s final takes the revealed words, the last waits.
    assert [(e.transcript, e.is_final) for e in segments] == [
        ("a b", False),
        ("a b", False),
        ("a b", False),
        ("a b", True),
        ("", False),
        ("", False),
    ]
    assert not segments[3].speech_final
    (last,) = transcriber.close()
    assert isinstance(last, Segment)
    assert last.transcript == "c"
    assert last.speech_final


def test_each_word_is_in_exactly_one_final() -> None:
    script = " ".join(f"w{n}" for n in range(40))
    events, transcriber = run_transcriber("S" * 950 + "_" * 30, [script], endpointing=0.3)
    segments = [e for e in events if isinstance(e, Segment)]
    assert [s.speech_final for s in segments] == [False, False, False, True]
    assert " ".join(s.transcript for s in segments) == script
    for segment in segments:
        assert all(segment.start <= w.start <= w.end <= segment.end for w in segment.words)
    assert transcriber.close() == []


def test_short_gaps_do_not_end_an_utterance_and_endpointing_does() -> None:
    events, _ = run_transcriber("S" * 50 + "_" * 5 + "S" * 50 + "_" * 40, ["a", "b"])
    finals_ = [e for e in events if isinstance(e, Segment)]
    assert [f.transcript for f in finals_] == ["a"]
    assert finals_[0].end == pytest.approx(1.05 + 0.2)


def test_utterance_end_and_speech_started_events() -> None:
    events, _ = run_transcriber(
        "_" * 20 + "S" * 50 + "_" * 150,
        ["hello"],
        interim_results=True,
        vad_events=True,
        utterance_end=1.0,
        endpointing=0.3,
        interim_every=100.0,
    )
    assert events[0] == SpeechStarted(0.2)
    final = events[1]
    assert isinstance(final, Segment)
    assert final.transcript == "hello"
    assert events[2] == UtteranceEnd(final.words[-1].end)
    assert len(events) == 3


def test_finalize_without_pending_words_says_nothing() -> None:
    events, transcriber = run_transcriber("S" * 30, [""], endpointing=None)
    assert events == []
    assert transcriber.finalize() == []
    assert not transcriber.in_utterance


@pytest.mark.parametrize(
    ("encoding", "make"),
    [
        ("mulaw", lambda loud: bytes([0x80 if loud else 0xFF]) * 80),
        ("alaw", lambda loud: bytes([0xAA if loud else 0xD5]) * 80),
        ("linear32", lambda loud: struct.pack("<i", 2**30 if loud else 0) * 80),
    ],
)
def test_meter_decodes_other_pcm_encodings(encoding: str, make: Callable[[bool], bytes]) -> None:
    meter = AudioMeter(encoding=encoding, sample_rate=8000, channels=1)
    frames = meter.feed(make(True) + make(False))
    assert [speech for _, speech in frames] == [True, False]
    assert meter.seconds == pytest.approx(0.02)


def run_turns(flags: str, script: list[str], **thresholds: Any) -> list[TurnEvent]:
    """Feed frames written as text ("S" speech, "_" silence, 10 ms each); return non-Updates."""
    tracker = TurnTracker(
        Thresholds(**thresholds),
        next_script=lambda: script.pop(0) if script else None,
        describe=lambda seconds: f"{seconds:.2f} s",
    )
    return [
        event
        for index, flag in enumerate(flags)
        for event in tracker.advance((index + 1) / 100, speech=flag == "S")
        if event.event != "Update"
    ]


def test_a_turn_too_short_to_reveal_a_word_still_starts_before_it_ends() -> None:
    turn = run_turns("S" * 20 + "_" * 40, ["Yes."])
    assert [(e.event, e.transcript, e.window_end) for e in turn] == [
        ("StartOfTurn", "Yes.", 0.55),
        ("EndOfTurn", "Yes.", 0.55),
    ]


def test_speech_without_words_is_no_turn() -> None:
    turn = run_turns("S" * 50 + "_" * 40 + "S" * 50 + "_" * 40, ["", "Hello there."])
    assert [(e.event, e.turn_index) for e in turn] == [("StartOfTurn", 0), ("EndOfTurn", 0)]
    assert turn[-1].transcript == "Hello there."
    assert turn[0].window_start == 0.0  # The noise belongs to the first turn's window.


def test_eager_end_of_turn_precedes_every_model_end_of_turn() -> None:
    # eager == eot: both are due on the same frame, and eager still comes first.
    turn = run_turns("S" * 50 + "_" * 40, ["a b c"], eot_threshold=0.6, eager_eot_threshold=0.6)
    assert [(e.event, e.window_end) for e in turn] == [
        ("StartOfTurn", 0.3),
        ("EagerEndOfTurn", 0.8),
        ("EndOfTurn", 0.8),
    ]
