"""The local server's `/v1/speak` websocket, checked with a raw aiohttp client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import itertools
import json
import math
import struct
import time
from typing import Any

import aiohttp
from aiohttp import WSMsgType
import pytest

from . import server_testing
from .deepgram_server import DeepgramTestServer
from .deepgram_server.speak import close_reason
from .deepgram_server.synthesis import AudioFormat
from .deepgram_server.voices import VOICES
from .server_testing import SENTENCE, SPEAK_KEY, Refusal, auth, bad_format, bad_query

KEY = SPEAK_KEY
PCM16K = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": "16000"}


auto_enable_custom_integrations = server_testing.without_home_assistant
server = server_testing.speak_server
http = server_testing.http


async def connect(
    http: aiohttp.ClientSession,
    server: DeepgramTestServer,
    params: dict[str, str] | None = None,
    **kwargs: Any,
) -> aiohttp.ClientWebSocketResponse:
    kwargs.setdefault("headers", auth())
    return await http.ws_connect(
        server.speak.websocket_url, params=PCM16K if params is None else params, **kwargs
    )


@dataclass
class Answer:
    """What the server sent up to a point: audio frames and JSON messages, in order."""

    frames: list[bytes | dict[str, Any]] = field(default_factory=list)

    @property
    def audio(self) -> bytes:
        return b"".join(frame for frame in self.frames if isinstance(frame, bytes))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if isinstance(frame, dict)]

    def keep(self, msg: aiohttp.WSMessage) -> bytes | dict[str, Any] | None:
        """Keep an audio frame or a JSON message and return it; None for other frames."""
        if msg.type is WSMsgType.BINARY:
            self.frames.append(msg.data)
        elif msg.type is WSMsgType.TEXT:
            self.frames.append(json.loads(msg.data))
        else:
            return None
        return self.frames[-1]


async def read_until(
    ws: aiohttp.ClientWebSocketResponse, kind: str, within: float = 10.0
) -> Answer:
    """Read frames until a message of `type` kind; fail on a close."""
    answer = Answer()
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            frame = answer.keep(msg)
            assert frame is not None, msg
            if isinstance(frame, dict) and frame["type"] == kind:
                return answer


async def read_to_close(
    ws: aiohttp.ClientWebSocketResponse, within: float = 10.0
) -> tuple[Answer, int | None, str]:
    """Read until the server closes; return what came, the close code and reason."""
    answer = Answer()
    async with asyncio.timeout(within):
        while True:
            msg = await ws.receive()
            if answer.keep(msg) is None:
                assert msg.type is WSMsgType.CLOSE, msg
                return answer, msg.data, msg.extra or ""


async def speak_and_flush(
    ws: aiohttp.ClientWebSocketResponse, *texts: str, within: float = 10.0
) -> Answer:
    for text in texts:
        await ws.send_json({"type": "Speak", "text": text})
    await ws.send_json({"type": "Flush"})
    return await read_until(ws, "Flushed", within)


def rms(pcm: bytes) -> float:
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    return math.sqrt(sum(sample * sample for sample in samples) / max(len(samples), 1))


def zero_crossings_per_second(pcm: bytes, rate: int) -> float:
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    voiced = [sample for sample in samples if abs(sample) > 500]
    crossings = sum(1 for a, b in itertools.pairwise(voiced) if (a < 0) != (b < 0))
    return crossings / (len(samples) / rate)


async def nothing_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> bool:
    try:
        msg = await ws.receive(timeout=seconds)
    except TimeoutError:
        return True
    pytest.fail(f"expected silence, got {msg}")


# --- Opening ------------------------------------------------------------------------------


async def test_metadata_first_with_the_request_id_of_the_101(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server) as ws:
        assert ws._response is not None
        request_id = ws._response.headers["dg-request-id"]
        metadata = await ws.receive_json(timeout=5)

    assert metadata == {
        "type": "Metadata",
        "request_id": request_id,
        "model_name": "aura-2-thalia-en",
        "model_version": "2025-04-07.0",
        "model_uuid": "e4979ab0-8475-4901-9d66-0a562a4949bb",
        "additional_model_uuids": [],
    }
    (record,) = server.speak.sessions
    assert record.request_id == request_id
    assert record.status == 101
    assert dict(record.query) == PCM16K


async def test_default_model_is_aura_asteria(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server, params={}) as ws:
        metadata = await ws.receive_json(timeout=5)
        answer = await speak_and_flush(ws, "Hi.")
    assert metadata["model_name"] == "aura-asteria-en"
    assert metadata["model_version"] == "2024-11-19.0"
    # linear16 at 24 kHz: whole 2-byte samples, about a second or less for "Hi."
    assert len(answer.audio) % 2 == 0
    assert 0.2 < len(answer.audio) / 48000 < 2.0


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": f"token {KEY}"},
        {"Sec-WebSocket-Protocol": f"token, {KEY}"},
    ],
    ids=["bearer", "lowercase-token", "subprotocol"],
)
async def test_key_accepted_as_listen_accepts_it(
    server: DeepgramTestServer, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    async with await connect(http, server, headers=headers) as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "Metadata"


# --- Handshake refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "headers", "refusal"),
    [
        (PCM16K, {}, Refusal(401, "INVALID_AUTH", "Invalid credentials.")),
        (PCM16K, auth("wrong"), Refusal(401, "INVALID_AUTH", "Invalid credentials.")),
        (
            {"model": "aura-2-nobody-en"},
            auth("wrong"),  # The model is checked before the key.
            Refusal(400, "Bad Request", "Bad Request: No such model/version combination found."),
        ),
        (
            {**PCM16K, "bit_rate": "48000"},
            auth("wrong"),
            bad_query("unknown field `bit_rate`"),
        ),
        (
            {**PCM16K, "encoding": "mp3"},
            auth(),
            bad_query("unknown variant `mp3`, expected one of `linear16`, `mulaw`, `alaw`"),
        ),
        (
            {**PCM16K, "sample_rate": "44100"},
            auth(),
            bad_format(
                "`sample_rate` must be 8000, 16000, 24000, 32000, 48000 when `encoding=linear16`"
            ),
        ),
        (
            {**PCM16K, "encoding": "mulaw", "sample_rate": "24000"},
            auth(),
            bad_format("`sample_rate` must be 8000, 16000 when `encoding=mulaw`"),
        ),
        (
            {**PCM16K, "container": "wav"},
            auth(),
            bad_format("`container=wav` is invalid when `encoding=linear16`"),
        ),
    ],
    ids=[
        "no-key",
        "bad-key",
        "unknown-model",
        "rest-only-param",
        "rest-only-encoding",
        "bad-rate",
        "bad-mulaw-rate",
        "container",
    ],
)
async def test_handshake_refusals_as_deepgram_answers_them(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    params: dict[str, str],
    headers: dict[str, str],
    refusal: Refusal,
) -> None:
    status, err_code, err_msg = refusal
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await connect(http, server, params=params, headers=headers)
    assert caught.value.status == status
    assert caught.value.headers is not None
    assert caught.value.headers["dg-error"] == err_msg
    request_id = caught.value.headers["dg-request-id"]
    (record,) = server.speak.rejected
    assert (record.status, record.request_id) == (status, request_id)
    # The same request without the upgrade shows the body.
    async with http.get(server.speak.rest_url, params=params, headers=headers) as response:
        body = await response.json()
    assert response.status == status
    assert body == {
        "err_code": err_code,
        "err_msg": err_msg,
        "request_id": response.headers["dg-request-id"],
    }
    assert not server.speak.sessions


@pytest.mark.parametrize(
    ("code_key", "refusal"),
    [
        (
            "err_code",
            Refusal(
                402,
                "ASR_PAYMENT_REQUIRED",
                (
                    "Project does not have enough credits for an ASR request and does not have "
                    "an overage agreement."
                ),
            ),
        ),
        (
            "err_code",
            Refusal(
                403,
                "INSUFFICIENT_PERMISSIONS",
                "Project does not have access to the requested model.",
            ),
        ),
        ("err_code", Refusal(429, "Too Many Requests", "Please try again later.")),
        ("error_code", Refusal(503, "Service Unavailable", "Please try again later")),
    ],
)
async def test_forced_refusal_on_upgrade(
    server: DeepgramTestServer, http: aiohttp.ClientSession, code_key: str, refusal: Refusal
) -> None:
    status, err_code, err_msg = refusal
    server.speak.refuse_status = status
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await connect(http, server)
    assert caught.value.status == status
    assert caught.value.headers is not None
    assert caught.value.headers["dg-error"] == err_msg
    async with http.get(server.speak.rest_url, headers=auth()) as response:
        body = await response.json()
    assert body == {code_key: err_code, "err_msg": err_msg, "request_id": body["request_id"]}
    assert body["request_id"] == response.headers["dg-request-id"]


# --- Speak, Flush, Clear, Close -----------------------------------------------------------


async def test_audio_only_after_flush_then_flushed_with_rising_sequence_ids(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_json({"type": "Speak", "text": "Hello there. "})
        await ws.send_json({"type": "Speak", "text": "How are you?"})
        assert await nothing_within(ws, 0.4)
        await ws.send_json({"type": "Flush"})
        first = await read_until(ws, "Flushed")
        second = await speak_and_flush(ws, "Fine.")
        empty = await speak_and_flush(ws)

    assert isinstance(first.frames[0], bytes), "audio comes before Flushed"
    assert first.messages == [{"type": "Flushed", "sequence_id": 0}]
    assert second.messages == [{"type": "Flushed", "sequence_id": 1}]
    assert empty.frames == [{"type": "Flushed", "sequence_id": 2}]
    assert len(first.audio) > 2 * len(second.audio)
    (record,) = server.speak.sessions
    assert record.texts == ["Hello there. ", "How are you?", "Fine."]
    assert record.flushes == 3
    assert [len(audio) for audio in record.answers] == [len(first.audio), len(second.audio), 0]


async def test_audio_is_the_text_since_the_previous_flush(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    voice = VOICES["aura-2-thalia-en"]
    pcm = AudioFormat("linear16", 16000)
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        first = await speak_and_flush(ws, "Good ", "morning.")
        second = await speak_and_flush(ws, "Lights are on.")

    synthesizer = server.speak.synthesizer
    assert first.audio == await synthesizer.audio("Good morning.", voice, pcm)
    assert second.audio == await synthesizer.audio("Lights are on.", voice, pcm)


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
async def test_audio_is_speech_of_plausible_length_at_each_rate(
    server: DeepgramTestServer, http: aiohttp.ClientSession, rate: int
) -> None:
    params = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": str(rate)}
    async with await connect(http, server, params=params) as ws:
        await ws.receive_json(timeout=5)
        answer = await speak_and_flush(ws, SENTENCE)

    seconds = len(answer.audio) / (2 * rate)
    assert 1.8 < seconds < 5.0, seconds  # Nine words at about 175 words a minute.
    assert rms(answer.audio) > 1000, "speech, not silence"
    quiet = [
        rms(answer.audio[start : start + rate // 5])
        for start in range(0, len(answer.audio), rate // 5 * 2)
    ]
    assert min(quiet) < max(quiet) / 4, "speech has pauses and loud parts"
    frames = [frame for frame in answer.frames if isinstance(frame, bytes)]
    assert all(len(frame) == rate // 10 * 2 for frame in frames[:-1]), "100 ms frames"
    assert 0 < len(frames[-1]) <= rate // 10 * 2


@pytest.mark.parametrize("encoding", ["mulaw", "alaw"])
async def test_mulaw_and_alaw_are_one_byte_samples(
    server: DeepgramTestServer, http: aiohttp.ClientSession, encoding: str
) -> None:
    params = {"model": "aura-2-thalia-en", "encoding": encoding}
    async with await connect(http, server, params=params) as ws:
        await ws.receive_json(timeout=5)
        answer = await speak_and_flush(ws, SENTENCE)

    seconds = len(answer.audio) / 8000  # The default rate of the G.711 encodings.
    assert 1.8 < seconds < 5.0, seconds
    assert len(set(answer.audio)) > 50


async def test_voices_sound_different(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    heard: dict[str, bytes] = {}
    for model in ("aura-2-thalia-en", "aura-2-zeus-en", "aura-2-kara-de"):
        params = {**PCM16K, "model": model}
        async with await connect(http, server, params=params) as ws:
            await ws.receive_json(timeout=5)
            heard[model] = (await speak_and_flush(ws, "Guten Morgen, wie geht es dir?")).audio

    assert len(set(heard.values())) == 3
    # A feminine voice is higher than a masculine one.
    assert zero_crossings_per_second(heard["aura-2-thalia-en"], 16000) > (
        zero_crossings_per_second(heard["aura-2-zeus-en"], 16000)
    )


async def test_speed_changes_the_length(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    lengths = {}
    for speed in ("0.7", "1.5"):
        async with await connect(http, server, params={**PCM16K, "speed": speed}) as ws:
            await ws.receive_json(timeout=5)
            lengths[speed] = len((await speak_and_flush(ws, SENTENCE)).audio)
    assert lengths["0.7"] > 1.5 * lengths["1.5"]


async def test_clear_drops_buffered_text(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_json({"type": "Speak", "text": "Never said."})
        await ws.send_json({"type": "Clear"})
        cleared = await read_until(ws, "Cleared")
        flushed = await speak_and_flush(ws)
        await ws.send_json({"type": "Clear"})
        again = await read_until(ws, "Cleared")

    assert cleared.frames == [{"type": "Cleared", "sequence_id": 0}]
    assert flushed.frames == [{"type": "Flushed", "sequence_id": 0}]
    assert again.frames == [{"type": "Cleared", "sequence_id": 1}]


async def test_clear_stops_audio_in_progress(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.speak.realtime_factor = 4.0  # Paced, so the answer is still going on.
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_json({"type": "Speak", "text": SENTENCE})
        await ws.send_json({"type": "Flush"})
        first = await ws.receive(timeout=5)
        assert first.type is WSMsgType.BINARY
        await ws.send_json({"type": "Clear"})
        cleared = await read_until(ws, "Cleared")
        after = await speak_and_flush(ws, "Okay.")

    full = len(server.speak.sessions[0].audio) - len(after.audio)
    assert cleared.messages == [{"type": "Cleared", "sequence_id": 0}]
    assert len(first.data) + len(cleared.audio) == full
    assert full < 16000 * 2 * 1.8, "the rest of the sentence was not sent"
    # The next Flush is answered; the stopped one never gets its Flushed.
    assert after.messages == [{"type": "Flushed", "sequence_id": 1}]


async def test_close_speaks_the_rest_then_closes_normally(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await speak_and_flush(ws, "First.")
        await ws.send_json({"type": "Speak", "text": "And the last words."})
        await ws.send_json({"type": "Close"})
        rest, code, _ = await read_to_close(ws)

    assert code == 1000
    assert rest.messages == [], "no Flushed for Close"
    assert rms(rest.audio) > 1000
    (record,) = server.speak.sessions
    assert record.close_code == 1000
    assert record.received[-1][1] == "Close"


async def test_excessive_flushes_get_a_warning_and_are_ignored(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        for _ in range(20):
            await speak_and_flush(ws)
        await ws.send_json({"type": "Speak", "text": "Too many."})
        await ws.send_json({"type": "Flush"})
        warning = await ws.receive_json(timeout=5)
        assert await nothing_within(ws, 0.3)

    assert warning == {
        "type": "Warning",
        "warn_code": "EXCESSIVE_FLUSH",
        "warn_msg": "Rate limit exceeded for flushes. Please try again later.",
    }
    (record,) = server.speak.sessions
    assert record.flushes == 21
    assert [message["sequence_id"] for message in record.messages("Flushed")] == list(range(20))


async def test_flush_allowed_again_after_the_window(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    # A window long enough for three Flushes to fall into it even on a loaded machine.
    window = 1.0
    server.speak.flush_limit, server.speak.flush_window = 2, window
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await speak_and_flush(ws)
        await speak_and_flush(ws)
        await ws.send_json({"type": "Speak", "text": "Kept."})
        await ws.send_json({"type": "Flush"})
        assert (await ws.receive_json(timeout=5))["warn_code"] == "EXCESSIVE_FLUSH"
        await asyncio.sleep(window + 0.05)  # Both answered Flushes came before the warning.
        later = await speak_and_flush(ws)

    assert later.messages == [{"type": "Flushed", "sequence_id": 2}]
    assert rms(later.audio) > 1000, "the ignored Flush's text is spoken by the next one"


# --- Close codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code", "payload"),
    [
        ("not json", 1008, "DATA-0000"),
        (json.dumps({"type": "Shout", "text": "hi"}), 1008, "DATA-0000"),
        (json.dumps({"type": "Speak"}), 1008, "DATA-0000"),
        (json.dumps({"type": "Speak", "text": "x" * 2001}), 1009, "BIG-0001"),
        (json.dumps({"type": "Speak", "text": "hi", "pad": "x" * 70000}), 1009, "BIG-0000"),
        (b"\x00\x01", 1003, "MESSAGE-0000"),
    ],
    ids=["bad-json", "unknown-type", "speak-without-text", "long-text", "huge", "binary"],
)
async def test_bad_client_messages_close_the_stream(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    frame: str | bytes,
    code: int,
    payload: str,
) -> None:
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame)
        answer, closed_with, reason = await read_to_close(ws)

    assert answer.frames == []
    assert (closed_with, reason) == (code, close_reason(payload))
    assert reason.startswith(("Input message", "Input text"))
    assert server.speak.sessions[0].close_code == code


async def test_too_many_characters_a_minute_close_1008(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_json({"type": "Speak", "text": "a" * 2000})
        await ws.send_json({"type": "Speak", "text": "b" * 400})
        assert await nothing_within(ws, 0.2), "2400 characters a minute are allowed"
        await ws.send_json({"type": "Speak", "text": "c"})
        _, code, reason = await read_to_close(ws)
    assert (code, reason) == (1008, close_reason("DATA-0001"))


async def test_idle_stream_closes_1011(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    idle = 0.6
    server.speak.idle_timeout = idle
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await asyncio.sleep(idle / 2)
        await ws.send_json({"type": "Speak", "text": "Still here."})
        started = time.monotonic()
        _, code, reason = await read_to_close(ws)
    assert (code, reason) == (1011, close_reason("NET-0001"))
    # A full idle time after the Speak: the message restarted the timer.
    assert idle - 0.1 < time.monotonic() - started < idle + 3


async def test_connection_time_limit_closes_1011(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.speak.max_duration = 0.3
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        _, code, reason = await read_to_close(ws)
    assert (code, reason) == (1011, close_reason("NET-0003"))


# --- Fault switches and recording ---------------------------------------------------------


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.3])
async def test_first_byte_delay_after_flush(
    server: DeepgramTestServer, http: aiohttp.ClientSession, delay: float
) -> None:
    await server.speak.synthesizer.audio(
        SENTENCE, VOICES["aura-2-thalia-en"], AudioFormat("linear16", 16000)
    )  # Cached, so synthesis takes no time.
    server.speak.first_byte_delay = delay
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_json({"type": "Speak", "text": SENTENCE})
        flushed_at = time.monotonic()
        await ws.send_json({"type": "Flush"})
        first = await ws.receive(timeout=5)
        waited = time.monotonic() - flushed_at
    assert first.type is WSMsgType.BINARY
    assert delay <= waited + 0.01
    # The server's own times: from the Flush's arrival to its first audio frame, without
    # the client's scheduling (which a loaded machine stretches).
    (record,) = server.speak.sessions
    (flush_at,) = record.times("Flush")
    first_audio_at = next(at for at, item in record.sent if isinstance(item, int))
    assert delay <= first_audio_at - flush_at + 0.01 < delay + 1


@pytest.mark.parametrize(
    ("after", "code", "payload"),
    [(0.0, 1008, "DATA-0000"), (0.3, 1009, "BIG-0000"), (0.3, 1011, "NET-0000")],
)
async def test_close_mid_answer(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    after: float,
    code: int,
    payload: str,
) -> None:
    server.speak.close_mid_answer = (after, code, close_reason(payload))
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_json({"type": "Speak", "text": SENTENCE})
        await ws.send_json({"type": "Flush"})
        answer, closed_with, reason = await read_to_close(ws)

    assert (closed_with, reason) == (code, close_reason(payload))
    assert answer.messages == [], "no Flushed"
    assert len(answer.audio) == round(after * 10) * 3200  # Whole 100 ms frames.


async def test_silent_server_never_answers_flush(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.speak.silent = True
    async with await connect(http, server) as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "Metadata"
        await ws.send_json({"type": "Speak", "text": "Anyone there?"})
        await ws.send_json({"type": "Flush"})
        await ws.send_json({"type": "Close"})
        assert await nothing_within(ws, 0.5)
    (record,) = server.speak.sessions
    assert [kind for _, kind in record.received] == ["Speak", "Flush", "Close"]
    assert record.texts == ["Anyone there?"]


async def test_records_each_message_with_its_time(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with await connect(http, server) as ws:
        await ws.receive_json(timeout=5)
        speak_sent = time.monotonic()
        await ws.send_json({"type": "Speak", "text": "One."})
        await asyncio.sleep(0.2)
        flush_sent = time.monotonic()
        await ws.send_json({"type": "Flush"})
        await read_until(ws, "Flushed")
        flushed = time.monotonic()
        await ws.send_json({"type": "Close"})
        await read_to_close(ws)

    (record,) = server.speak.sessions
    assert [kind for _, kind in record.received] == ["Speak", "Flush", "Close"]
    (speak_at,), (flush_at,) = record.times("Speak"), record.times("Flush")
    # Each time is its message's arrival: after the client sent it, before the answer came.
    # (Client and server share one monotonic clock.)
    assert speak_sent <= record.started + speak_at
    assert flush_sent <= record.started + flush_at <= flushed
    assert flush_at - speak_at > 0.18
    sent_kinds = ["audio" if isinstance(item, int) else item["type"] for _, item in record.sent]
    assert sent_kinds[0] == "Metadata"
    assert sent_kinds[-1] == "Flushed"
    assert set(sent_kinds[1:-1]) == {"audio"}
    first_audio_at = next(at for at, item in record.sent if isinstance(item, int))
    assert first_audio_at >= flush_at


async def test_twenty_streams_each_get_their_own_audio(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    # Twenty new texts wait their turn for synthesis: a loaded machine needs a while.
    bound = 60.0

    async def one(number: int) -> tuple[str, bytes]:
        text = f"This is stream number {number}."
        async with await connect(http, server) as ws:
            await ws.receive_json(timeout=bound)
            answer = await speak_and_flush(ws, text, within=bound)
            await ws.send_json({"type": "Close"})
            await read_to_close(ws, bound)
        return text, answer.audio

    results = await asyncio.gather(*(one(number) for number in range(20)))

    voice, pcm = VOICES["aura-2-thalia-en"], AudioFormat("linear16", 16000)
    for text, audio in results:
        assert audio == await server.speak.synthesizer.audio(text, voice, pcm), text
    assert len({audio for _, audio in results}) == 20
    assert server.speak.active_streams == 0
