"""Deepgram's real messages (tests/fixtures/captures) against the client and the local server.

The captures are the oracle: the client must read every one of them, and the
local server's messages must have their fields, value types and nested shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import json
from pathlib import Path
import re
from typing import Any

import aiohttp
from aiohttp import WSMsgType
import pytest

from custom_components.deepgram.protocol import (
    Connected,
    DeepgramConnectionClosedError,
    DeepgramSpeaker,
    Metadata,
    Results,
    SpeakOptions,
    SpeechStarted,
    TranscriptBuilder,
    TurnInfo,
    UtteranceEnd,
    parse_message,
)
from custom_components.deepgram.protocol.client import http_error
from custom_components.deepgram.protocol.errors import error_for_status

from . import server_testing
from .deepgram_server import NET0001_REASON, DeepgramTestServer
from .speech import chunked, stream_chunks, synthesize

CAPTURES = Path(__file__).parent / "fixtures" / "captures"
KEY = "capture-key"
PCM = {"encoding": "linear16", "sample_rate": "16000", "channels": "1"}

auto_enable_custom_integrations = server_testing.without_home_assistant
http = server_testing.http


# --- Reading the captures ---------------------------------------------------------------------


def capture(name: str) -> str:
    """Return a capture file's text."""
    return (CAPTURES / name).read_text(encoding="utf-8")


def json_lines(name: str) -> list[str]:
    """Return the frames of a JSONL capture, each exactly as it was on the wire."""
    return [line for line in capture(name).splitlines() if line.strip()]


def json_blocks(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (offset, object) for each JSON object written out in a text, in order."""
    decoder = json.JSONDecoder()
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        if isinstance(value, dict):
            yield start, value
        position = end


def v1_frames() -> list[str]:
    """Every captured `/v1/listen` frame that is JSON, as text."""
    frames = json_lines(
        "listen-v1/nova3-diarize-interim-final-finalize-utteranceend-2026-09-07.jsonl"
    )
    frames += json_lines("listen-v1/nova2-phonecall-results-metadata-2026-08-25.jsonl")
    # The 2024 excerpt: its first two lines are whole; the third was cut off.
    frames += json_lines("listen-v1/speechstarted-and-results-2024-02-02.excerpt.txt")[:2]
    for name in (
        "listen-v1/results-final-default-model-pysdk-2025-07-24.json",
        "listen-v1/results-final-empty-default-model-pysdk-2025-07-24.json",
    ):
        frames.append(capture(name))
    frames += [
        json.dumps(block)
        for _, block in json_blocks(capture("listen-v1/metadata-zero-audio-2024.txt"))
    ]
    # Deepgram's documentation prints this one as a Python dict.
    multilingual = capture("listen-v1/multilingual-results-docs-example.txt")
    frames.append(multilingual.replace("True", "true").replace("False", "false"))
    return frames


def flux_frames() -> list[str]:
    """The captured Flux frames, as text, in the order they came."""
    data = json.loads(capture("listen-v2-flux/flux-general-en-session-2026-07-10.excerpt.json"))
    by_index: dict[str, str] = data["frames_by_original_index"]
    return [by_index[index] for index in sorted(by_index, key=int)]


# --- The client reads every captured message --------------------------------------------------


@pytest.mark.parametrize("raw", v1_frames())
def test_client_reads_every_captured_listen_message(raw: str) -> None:
    """Each captured v1 frame parses to its type with the values Deepgram sent."""
    data = json.loads(raw)
    message = parse_message(raw)
    if data["type"] == "Results":
        assert isinstance(message, Results)
        best = data["channel"]["alternatives"][0]
        assert message.transcript == best["transcript"].strip()
        assert message.confidence == best["confidence"]
        assert (message.is_final, message.speech_final) == (data["is_final"], data["speech_final"])
        # Absent before 2025: reads as false.
        assert message.from_finalize is data.get("from_finalize", False)
        assert (message.start, message.duration) == (data["start"], data["duration"])
        assert message.channel_index == tuple(data["channel_index"])
        assert message.request_id == data["metadata"]["request_id"]
        assert [word.word for word in message.words] == [word["word"] for word in best["words"]]
        assert [word.end for word in message.words] == [word["end"] for word in best["words"]]
        assert [word.punctuated_word for word in message.words] == [
            word.get("punctuated_word") for word in best["words"]
        ]
    elif data["type"] == "Metadata":
        assert message == Metadata(data["request_id"], data["duration"], data["channels"])
    elif data["type"] == "UtteranceEnd":
        assert message == UtteranceEnd(data["last_word_end"], tuple(data["channel"]))
    else:
        assert data["type"] == "SpeechStarted"
        assert message == SpeechStarted(data["timestamp"], tuple(data["channel"]))


def test_client_keeps_every_final_of_the_captured_nova_3_session() -> None:
    """The 2026 Nova-3 frames: every final joined in order, the late UtteranceEnd harmless."""
    builder = TranscriptBuilder()
    name = "listen-v1/nova3-diarize-interim-final-finalize-utteranceend-2026-09-07.jsonl"
    frames = [parse_message(raw) for raw in json_lines(name)]
    for frame in frames:
        assert frame is not None
        builder.add(frame)
    assert builder.text == (
        "Paris at a moment's notice. My name was Rupert Pennace. I came of an old family "
        "and had plenty of money for my needs. Dying, come at once, s"
    )
    assert builder.utterance_ended
    last = frames[-1]
    assert isinstance(last, Results)
    assert last.from_finalize
    assert last.is_final
    assert last.speech_final


def test_client_reads_every_captured_flux_message() -> None:
    """Connected, every TurnInfo event, and ConfigureSuccess (which the client ignores)."""
    events = []
    for raw in flux_frames():
        data = json.loads(raw)
        message = parse_message(raw)
        if data["type"] == "Connected":
            assert message == Connected(data["request_id"])
        elif data["type"] == "TurnInfo":
            assert isinstance(message, TurnInfo)
            events.append(message.event)
            assert message.turn_index == data["turn_index"]
            assert message.transcript == data["transcript"]
            assert message.end_of_turn_confidence == data["end_of_turn_confidence"]
            assert message.request_id == data["request_id"]
            assert message.trigger is None
            # Flux's words carry their punctuation and no punctuated_word.
            assert [(word.word, word.start, word.end) for word in message.words] == [
                (word["word"], word["start"], word["end"]) for word in data["words"]
            ]
            assert all(word.punctuated_word is None for word in message.words)
        else:
            assert data["type"] == "ConfigureSuccess"
            assert message is None
    assert {"Update", "StartOfTurn", "EagerEndOfTurn", "EndOfTurn"} <= set(events)


def test_client_keeps_the_captured_flux_turn() -> None:
    """The ended turn of the captured Flux session is the transcript."""
    builder = TranscriptBuilder()
    for raw in flux_frames():
        if (message := parse_message(raw)) is not None:
            builder.add(message)
    assert builder.text.startswith("We the people of the United States, in order to form")
    assert builder.text.endswith("this constitution for the United States of America.")
    assert builder.request_id == "019f4c80-a061-72f2-9780-89f9950b1adb"


async def test_speaker_reads_the_captured_speak_messages(session: aiohttp.ClientSession) -> None:
    """`/v1/speak`'s Metadata gives the request id; Cleared is harmless; Warning is kept."""
    speaker = DeepgramSpeaker(KEY, session=session, server="https://api.deepgram.com")
    stream = speaker.open_stream(SpeakOptions(model="aura-asteria-en"))
    for raw in json_lines("speak/v1-ws-metadata-and-cleared-2026-08-19.jsonl"):
        stream._on_message(raw)
    stream._on_message(capture("speak/v1-ws-warning-excessive-flush-pr653-2026-01.json"))
    assert stream.request_id == "01a01a7f-f079-74c3-bfc5-ac08f549baae"
    assert stream.warnings == [
        "EXCESSIVE_FLUSH: Rate limit exceeded for flushes. Please try again later."
    ]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session (never used for a request here)."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def documented_error_bodies() -> list[tuple[int, dict[str, Any]]]:
    """Every JSON error body on Deepgram's errors page, with the status of its heading."""
    text = capture("rest/errors-docs-page-2025-07.mdx.txt")
    headings = [
        (match.start(), int(match.group(1))) for match in re.finditer(r"### `(\d{3})`", text)
    ]
    bodies = []
    for offset, body in json_blocks(text):
        status = [status for start, status in headings if start < offset][-1]
        bodies.append((status, body))
    return bodies


@pytest.mark.parametrize(("status", "body"), documented_error_bodies())
def test_client_reads_every_documented_error_body(status: int, body: dict[str, Any]) -> None:
    """Both shapes (err_code/err_msg and category/message) give Deepgram's reason and id."""
    error = http_error(status, dict(body), "Deepgram refused")
    assert type(error) is type(error_for_status(status, "", detail=None, request_id=None))
    assert error.detail == body.get("err_msg", body.get("message"))
    assert error.detail
    assert error.detail in str(error)
    assert error.request_id == body.get("request_id")


def close_reasons() -> list[tuple[int, str]]:
    """The close frames Deepgram was seen sending: (code, reason)."""
    text = capture("handshake-and-close/close-frames-observed.txt")
    reasons = [(1011, reason) for reason in re.findall(r'code=1011 reason="([^"]+)"', text)]
    reasons += [
        (1011, reason) for reason in re.findall(r"received 1011 \(internal error\) ([^;]+);", text)
    ]
    reasons += [(1000, "")] if "received 1000 (OK); then sent 1000 (OK)" in text else []
    return reasons


def test_close_reasons_are_sentences_the_client_keeps() -> None:
    """Deepgram's close reasons are whole sentences with a link; the error carries them."""
    reasons = close_reasons()
    assert (1000, "") in reasons
    assert len({reason for code, reason in reasons if code == 1011}) == 2
    for code, reason in reasons:
        error = DeepgramConnectionClosedError(code, reason)
        assert (error.code, error.reason) == (code, reason)
        assert reason in str(error)
    assert (1011, NET0001_REASON) in reasons


# --- The local server sends what Deepgram sends -----------------------------------------------


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shape(value: Any) -> Any:
    """Return a value's shape: keys in order with their shapes, element shapes, JSON types.

    A key that is a model's uuid (as in `model_info`) counts as any uuid.
    """
    if isinstance(value, dict):
        return [
            ("<uuid>" if UUID.fullmatch(key) else key, shape(item)) for key, item in value.items()
        ]
    if isinstance(value, list):
        shapes = []
        for item in value:
            if (item_shape := shape(item)) not in shapes:
                shapes.append(item_shape)
        return ["list", *shapes]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return type(value).__name__


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Return a copy without the diarization fields the local server does not offer."""
    copied = json.loads(json.dumps(data))
    for key in keys:
        copied.pop(key, None)
    if copied["type"] != "Results":
        return copied
    copied["metadata"].pop("diarize_info", None)
    for alternative in copied["channel"]["alternatives"]:
        for word in alternative["words"]:
            word.pop("speaker", None)
    return copied


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[DeepgramTestServer]:
    """The local server as the tests run it: bytes in pieces."""
    async with DeepgramTestServer(api_keys={KEY}) as running:
        yield running


async def read_all(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Read text frames until the server closes."""
    messages = []
    async for msg in ws:
        assert msg.type is WSMsgType.TEXT, msg
        messages.append(json.loads(msg.data))
    return messages


async def local_v1_session(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> list[dict[str, Any]]:
    """Two phrases, then Finalize mid-phrase and CloseStream; return every message sent."""
    server.utterances.extend(["Turn on the light.", "And the fan.", "Thanks."])
    params = {
        **PCM,
        "model": "nova-3",
        "interim_results": "true",
        "utterance_end_ms": "1000",
        "vad_events": "true",
        "endpointing": "300",
    }
    headers = server_testing.auth(KEY)
    ws = await http.ws_connect(server.listen_url, params=params, headers=headers)
    audio = synthesize("turn on the light", trailing_silence=1.5)
    audio += synthesize("and the fan", trailing_silence=0.0)
    await _send(ws, audio)
    await ws.send_str('{"type": "Finalize"}')
    await _send(ws, synthesize("thanks", trailing_silence=0.0))
    await ws.send_str('{"type": "CloseStream"}')
    messages = await read_all(ws)
    assert (ws.close_code, server.sessions[-1].close_reason) == (1000, "")
    return messages


async def _send(ws: aiohttp.ClientWebSocketResponse, audio: bytes) -> None:
    """Send audio in 20 ms chunks, as a microphone does."""
    async for chunk in stream_chunks(chunked(audio, 640)):
        await ws.send_bytes(chunk)


async def test_local_v1_messages_have_the_captured_shapes(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """Results, UtteranceEnd, SpeechStarted and the closing Metadata, field by field."""
    messages = await local_v1_session(server, http)
    nova2 = [
        json.loads(raw)
        for raw in json_lines("listen-v1/nova2-phonecall-results-metadata-2026-08-25.jsonl")
    ]
    nova3 = [
        without(json.loads(raw))
        for raw in json_lines(
            "listen-v1/nova3-diarize-interim-final-finalize-utteranceend-2026-09-07.jsonl"
        )
    ]
    started = json.loads(
        json_lines("listen-v1/speechstarted-and-results-2024-02-02.excerpt.txt")[1]
    )

    def local(kind: str, **fields: Any) -> list[dict[str, Any]]:
        """Return the local messages of a type with these field values."""
        return [
            message
            for message in messages
            if message["type"] == kind and all(message.get(k) == v for k, v in fields.items())
        ]

    worded = [m for m in local("Results") if m["channel"]["alternatives"][0]["words"]]
    empty = [m for m in local("Results") if not m["channel"]["alternatives"][0]["words"]]
    assert worded
    assert empty
    for message in worded:
        assert shape(message) == shape(nova2[1]), message
        assert shape(message) == shape(nova3[0]), message
    for message in empty:
        assert shape(message) == shape(nova2[0]), message
    assert local("Results", is_final=True, speech_final=True)
    # Deepgram answers Finalize with a final that is also speech_final.
    (finalized,) = local("Results", from_finalize=True)
    assert (finalized["is_final"], finalized["speech_final"]) == (True, True)
    assert shape(finalized) == shape(nova3[11])
    (utterance_end, *_) = local("UtteranceEnd")
    assert shape(utterance_end) == shape(nova3[5])
    (speech_started, *_) = local("SpeechStarted")
    assert shape(speech_started) == shape(started)
    metadata = messages[-1]
    assert shape(metadata) == shape(nova2[5])
    assert metadata["sha256"] == "incomplete"
    assert metadata["transaction_key"] == "deprecated"
    assert metadata["channels"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", metadata["created"])
    assert list(metadata["model_info"]) == metadata["models"]
    request_ids = {m["metadata"]["request_id"] for m in local("Results")}
    assert request_ids == {metadata["request_id"]}
    # Every transcript is its punctuated words joined with single spaces.
    for message in worded:
        best = message["channel"]["alternatives"][0]
        assert best["transcript"] == " ".join(word["punctuated_word"] for word in best["words"])


async def test_local_metadata_of_a_stream_without_audio_has_the_captured_shape(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """No audio: `sha256` "incomplete", one channel, and no models (2026's shape)."""
    nova2 = json_lines("listen-v1/nova2-phonecall-results-metadata-2026-08-25.jsonl")
    ws = await http.ws_connect(
        server.listen_url,
        params={**PCM, "model": "nova-2-phonecall"},
        headers=server_testing.auth(KEY),
    )
    await ws.send_str('{"type": "CloseStream"}')
    (metadata,) = await read_all(ws)
    assert shape(metadata) == shape(json.loads(nova2[4]))
    assert (metadata["duration"], metadata["channels"], metadata["sha256"]) == (
        0.0,
        1,
        "incomplete",
    )


async def test_local_idle_close_has_the_captured_reason(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    """Silence from the client: Metadata, then 1011 with the NET-0001 sentence."""
    captured = close_reasons()
    async with DeepgramTestServer(api_keys={KEY}, idle_timeout=0.3) as server:
        ws = await http.ws_connect(
            server.listen_url, params={**PCM, "model": "nova-3"}, headers=server_testing.auth(KEY)
        )
        await ws.send_bytes(bytes(640))
        messages = await read_all(ws)
    assert [message["type"] for message in messages][-1] == "Metadata"
    assert (ws.close_code, server.sessions[-1].close_reason) in captured


async def test_local_flux_messages_have_the_captured_shapes(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """Connected, TurnInfo of each event and ConfigureSuccess, key by key in Flux's order."""
    captured = [json.loads(raw) for raw in flux_frames()]
    server.utterances.append("Turn on the light.")
    params = {**PCM, "model": "flux-general-en", "eager_eot_threshold": "0.5"}
    del params["channels"]
    ws = await http.ws_connect(
        server.flux_listen_url, params=params, headers=server_testing.auth(KEY)
    )
    await ws.send_str(json.dumps({"type": "Configure", "thresholds": {"eot_threshold": 0.8}}))
    await _send(ws, synthesize("turn on the light", trailing_silence=2.0))
    await ws.send_str('{"type": "CloseStream"}')
    messages = await read_all(ws)

    def by_kind(items: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
        """Return the messages of a type, or the TurnInfo of an event."""
        return [m for m in items if m.get("event", m["type"]) == event]

    for kind in ("Connected", "StartOfTurn", "EndOfTurn", "ConfigureSuccess"):
        local, real = by_kind(messages, kind), by_kind(captured, kind)
        assert local, kind
        # `trigger` came to EndOfTurn with ForceEndTurn, after this capture (2026-08).
        keys = [[key for key in message if key != "trigger"] for message in local]
        assert keys == [list(real[0])] * len(local), kind
    worded = [m for m in messages if m["type"] == "TurnInfo" and m["words"]]
    real_worded = next(m for m in captured if m["type"] == "TurnInfo" and m["words"])
    for message in worded:
        fields = {key: value for key, value in message.items() if key != "trigger"}
        assert shape(fields) == shape(real_worded)


async def test_local_refusal_body_has_the_documented_shape(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """A refused key gets Deepgram's `{err_code, err_msg, request_id}`, as documented."""
    # The first 401 on the page: "Incorrect API key".
    documented = next(body for status, body in documented_error_bodies() if status == 401)
    async with http.get(server.url + "/v1/projects", headers=server_testing.auth("wrong")) as got:
        assert got.status == 401
        body = await got.json()
    assert shape(body) == shape(documented)
    assert (body["err_code"], body["err_msg"]) == (documented["err_code"], documented["err_msg"])


async def speak_messages(server: DeepgramTestServer, http: aiohttp.ClientSession) -> list[Any]:
    """Open `/v1/speak`, Clear, Close; return the messages the server sent."""
    server.speak.first_byte_delay = 0.0
    ws = await http.ws_connect(
        server.speak.websocket_url,
        params={"model": "aura-asteria-en"},
        headers=server_testing.auth(KEY),
    )
    await ws.send_str('{"type": "Clear"}')
    await ws.send_str('{"type": "Close"}')
    return await read_all(ws)


async def test_local_speak_cleared_has_the_captured_shape(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """`Cleared` is `{type, sequence_id}`, counting from 0."""
    captured = [
        json.loads(raw) for raw in json_lines("speak/v1-ws-metadata-and-cleared-2026-08-19.jsonl")
    ]
    cleared = [m for m in await speak_messages(server, http) if m["type"] == "Cleared"]
    assert cleared == [captured[1]]


async def test_local_speak_metadata_has_the_captured_shape(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    """`/v1/speak`'s Metadata names the model as the capture does, `additional_model_uuids` too."""
    captured = json.loads(json_lines("speak/v1-ws-metadata-and-cleared-2026-08-19.jsonl")[0])
    metadata = (await speak_messages(server, http))[0]
    assert shape(metadata) == shape(captured)
