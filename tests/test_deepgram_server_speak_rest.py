"""The local server's REST `POST /v1/speak` and its voice list in `GET /v1/models`."""

from __future__ import annotations

import asyncio
import io
import struct
import time
from typing import Any
import wave

import aiohttp
import pytest

from . import server_testing
from .deepgram_server import DeepgramTestServer
from .server_testing import SENTENCE, SPEAK_KEY, Refusal, auth, bad_format, bad_query

KEY = SPEAK_KEY


auto_enable_custom_integrations = server_testing.without_home_assistant
server = server_testing.speak_server
http = server_testing.http


async def post(
    http: aiohttp.ClientSession,
    server: DeepgramTestServer,
    params: dict[str, str] | None = None,
    text: str = SENTENCE,
    **kwargs: Any,
) -> tuple[aiohttp.ClientResponse, bytes]:
    kwargs.setdefault("headers", auth())
    if "data" not in kwargs:
        kwargs.setdefault("json", {"text": text})
    async with http.post(server.speak.rest_url, params=params or {}, **kwargs) as response:
        return response, await response.read()


# --- Speaking -----------------------------------------------------------------------------


async def test_default_is_mp3_with_deepgrams_headers(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    response, body = await post(http, server, {"model": "aura-2-thalia-en"})

    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.headers["dg-model-name"] == "aura-2-thalia-en"
    assert response.headers["dg-model-uuid"] == "e4979ab0-8475-4901-9d66-0a562a4949bb"
    assert response.headers["dg-char-count"] == str(len(SENTENCE))
    # MPEG-2 Layer III, 48 kb/s, 24 kHz mono: the frame header Deepgram's live mp3 starts with.
    assert body[:4] == bytes.fromhex("fff364c4")
    assert 8000 < len(body) < 40000  # About 3 s at 48 kb/s.
    (record,) = server.speak.posts
    assert (record.status, record.texts) == (200, [SENTENCE])
    assert record.request_id == response.headers["dg-request-id"]


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
async def test_linear16_wav_has_a_complete_header(
    server: DeepgramTestServer, http: aiohttp.ClientSession, rate: int
) -> None:
    params = {"encoding": "linear16", "container": "wav", "sample_rate": str(rate)}
    response, body = await post(http, server, params)

    assert response.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, rate)
        seconds = wav.getnframes() / rate
        pcm = wav.readframes(wav.getnframes())
    assert 1.8 < seconds < 5.0
    assert max(abs(sample) for (sample,) in struct.iter_unpack("<h", pcm)) > 5000


async def test_wav_with_unknown_length_when_switched(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.speak.wav_unknown_length = True
    _, body = await post(http, server, {"encoding": "linear16", "container": "wav"})
    assert body[4:8] == body[40:44] == b"\xff\xff\xff\xff"
    assert struct.unpack("<I", body[24:28]) == (24000,)


@pytest.mark.parametrize(
    ("params", "content_type", "starts_with"),
    [
        ({"encoding": "linear16", "container": "none"}, "audio/l16;rate=24000", None),
        ({"encoding": "mulaw", "container": "none"}, "audio/mulaw;rate=8000", None),
        ({"encoding": "alaw", "sample_rate": "16000"}, "audio/wav", b"RIFF"),
        ({"encoding": "flac"}, "audio/flac", b"fLaC"),
        ({"encoding": "opus"}, "audio/ogg;codecs=opus", b"OggS"),
        ({"encoding": "aac"}, "audio/aac", b"\xff\xf1"),
        ({"encoding": "mp3", "bit_rate": "32000"}, "audio/mpeg", b"\xff\xf3"),
    ],
    ids=["linear16-raw", "mulaw-raw", "alaw-wav", "flac", "opus", "aac", "mp3-32k"],
)
async def test_each_encoding(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    params: dict[str, str],
    content_type: str,
    starts_with: bytes | None,
) -> None:
    response, body = await post(http, server, params)
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    if starts_with is not None:
        assert body.startswith(starts_with)
    assert len(body) > 4000


async def test_alaw_wav_header_says_alaw(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    _, body = await post(http, server, {"encoding": "alaw"})
    tag, channels, rate, byte_rate, _, bits = struct.unpack("<HHIIHH", body[20:36])
    assert (tag, channels, rate, byte_rate, bits) == (6, 1, 8000, 8000, 8)
    assert struct.unpack("<I", body[40:44]) == (len(body) - 44,)


async def test_plain_text_body_and_bearer_grant(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{server.url}/v1/auth/grant", headers=auth()) as granted:
        token = (await granted.json())["access_token"]
    response, body = await post(
        http,
        server,
        {"encoding": "linear16", "container": "none"},
        data="Hello.",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    assert response.status == 200
    assert len(body) > 10000
    assert server.speak.posts[-1].texts == ["Hello."]


async def test_synthesis_does_not_block_the_server(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    text = f"A long answer, never spoken before {time.time_ns()}, " * 20
    speaking = asyncio.create_task(post(http, server, text=text))
    async with asyncio.timeout(5):
        # Until the server has the text and is speaking it; it signals nothing for that.
        while not server.speak.posts or not server.speak.posts[0].texts:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    started = time.monotonic()
    async with http.get(f"{server.url}/v1/models") as listed:
        assert listed.status == 200
    assert time.monotonic() - started < 2
    assert not speaking.done()
    response, _ = await speaking
    assert response.status == 200


async def test_first_byte_delay(server: DeepgramTestServer, http: aiohttp.ClientSession) -> None:
    await post(http, server)  # Cached from here on.
    server.speak.first_byte_delay = 0.3
    started = time.monotonic()
    response, _ = await post(http, server)
    assert response.status == 200
    assert 0.3 <= time.monotonic() - started < 0.3 + 2


async def test_close_mid_answer_cuts_the_body(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.speak.close_mid_answer = (0.0, 1011, "")
    with pytest.raises(aiohttp.ClientPayloadError):
        await post(http, server, {"encoding": "linear16", "container": "none"})


async def test_silent_server_never_answers(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    server.speak.silent = True
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await post(http, server)
    assert server.speak.posts[0].texts == [SENTENCE]


# --- Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "kwargs", "refusal"),
    [
        ({}, {"headers": {}}, Refusal(401, "INVALID_AUTH", "Invalid credentials.")),
        ({}, {"headers": auth("wrong")}, Refusal(401, "INVALID_AUTH", "Invalid credentials.")),
        (
            {"bogus": "1"},
            {"headers": auth("wrong")},  # Unknown fields are refused before the key.
            bad_query("unknown field `bogus`"),
        ),
        (
            {"model": "aura-2-nobody-en"},
            {"headers": auth("wrong")},
            Refusal(400, "Bad Request", "Bad Request: No such model/version combination found."),
        ),
        (
            {"speed": "3.0"},
            {"headers": auth("wrong")},  # Ranges are checked after the key.
            Refusal(401, "INVALID_AUTH", "Invalid credentials."),
        ),
        (
            {"speed": "3.0"},
            {},
            bad_query("`speed` must be between 0.7 and 1.5"),
        ),
        (
            {"encoding": "mp3", "sample_rate": "24000"},
            {},
            bad_format("`sample_rate` is not applicable when `encoding=mp3`"),
        ),
        (
            {"encoding": "mp3", "container": "wav"},
            {},
            bad_format("`container` is not applicable when `encoding=mp3`"),
        ),
        (
            {"encoding": "mp3", "bit_rate": "64000"},
            {},
            bad_format("`bit_rate` must be 32000, 48000 when `encoding=mp3`"),
        ),
        (
            {"encoding": "linear16", "bit_rate": "48000"},
            {},
            bad_format("`bit_rate` is not applicable when `encoding=linear16`"),
        ),
        (
            {"encoding": "linear16", "container": "ogg"},
            {},
            bad_format("`container=ogg` is invalid when `encoding=linear16`"),
        ),
        (
            {"encoding": "linear16", "sample_rate": "44100"},
            {},
            bad_format(
                "`sample_rate` must be 8000, 16000, 24000, 32000, 48000 when `encoding=linear16`"
            ),
        ),
        (
            {"encoding": "wav"},
            {},
            bad_query(
                "unknown variant `wav`, expected one of "
                "`linear16`, `flac`, `mulaw`, `alaw`, `mp3`, `opus`, `aac`"
            ),
        ),
        (
            {"callback": "https://example.com/hook"},
            {},
            Refusal(400, "INVALID_QUERY_PARAMETER", "Invalid callback url."),
        ),
        (
            {},
            {"json": {"text": "   "}},
            Refusal(400, "Bad Request", "Input text contains no characters."),
        ),
        (
            {},
            {"json": {"text": "x" * 2001}},
            Refusal(
                413, "Payload Too Large", "Input text exceeds maximum character limit of 2000."
            ),
        ),
        (
            {},
            {"json": {"words": "hi"}},
            Refusal(
                400,
                "PAYLOAD_ERROR",
                "Failed to deserialize JSON payload. Please specify exactly one of `text` or "
                "`url` in the JSON body.",
            ),
        ),
        (
            {},
            {"data": b"\xff\xfe", "headers": {**auth(), "Content-Type": "text/plain"}},
            Refusal(400, "PAYLOAD_ERROR", "Failed to decode payload as UTF-8."),
        ),
        (
            {},
            {"data": b"hi", "headers": {**auth(), "Content-Type": "application/xml"}},
            Refusal(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "`Content-Type` header is not supported. `Content-Type` must be either "
                "`text/plain` or `application/json`.",
            ),
        ),
        (
            {},
            {
                "data": io.BytesIO(b"x" * (2 * 1024 * 1024 + 1)),
                "headers": {**auth(), "Content-Type": "text/plain"},
            },
            Refusal(413, "PAYLOAD_TOO_LARGE", "Payload size exceeds limit of 2 MB."),
        ),
    ],
    ids=[
        "no-key",
        "bad-key",
        "unknown-field",
        "unknown-model",
        "speed-after-key",
        "speed",
        "mp3-rate",
        "mp3-container",
        "mp3-bit-rate",
        "linear16-bit-rate",
        "linear16-ogg",
        "linear16-rate",
        "unknown-encoding",
        "callback",
        "empty",
        "too-long",
        "no-text",
        "not-utf8",
        "xml",
        "two-megabytes",
    ],
)
async def test_refusals(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    params: dict[str, str],
    kwargs: dict[str, Any],
    refusal: Refusal,
) -> None:
    status, err_code, err_msg = refusal
    response, body = await post(http, server, params, **kwargs)

    assert response.status == status
    assert response.content_type == "application/json"
    request_id = response.headers["dg-request-id"]
    assert await response.json() == {
        "err_code": err_code,
        "err_msg": err_msg,
        "request_id": request_id,
    }
    assert "dg-error" not in response.headers
    assert body
    (record,) = server.speak.posts
    assert record.status == status


@pytest.mark.parametrize(
    ("status", "code_key", "err_code"),
    [
        (402, "err_code", "ASR_PAYMENT_REQUIRED"),
        (403, "err_code", "INSUFFICIENT_PERMISSIONS"),
        (422, "err_code", "UNPROCESSABLE_ENTITY"),
        (429, "err_code", "Too Many Requests"),
        (500, "err_code", "INTERNAL_SERVER_ERROR"),
        (503, "error_code", "Service Unavailable"),
    ],
)
async def test_forced_refusals(
    server: DeepgramTestServer,
    http: aiohttp.ClientSession,
    status: int,
    code_key: str,
    err_code: str,
) -> None:
    server.speak.refuse_status = status
    response, _ = await post(http, server)
    body = await response.json()
    assert response.status == status
    assert body[code_key] == err_code
    assert body["request_id"] == response.headers["dg-request-id"]


# --- Models -------------------------------------------------------------------------------


async def test_models_lists_every_aura_voice_without_a_key(
    server: DeepgramTestServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/v1/models") as response:
        listing = await response.json()

    assert response.status == 200
    assert listing["stt"], "speech-to-text models are still listed"
    tts = {model["canonical_name"]: model for model in listing["tts"]}
    assert len(tts) == 103
    assert sum(model["architecture"] == "aura-2" for model in tts.values()) == 91
    by_language = {
        language: sum(model["languages"][0] == language for model in tts.values())
        for language in ("en", "es", "de", "nl", "fr", "it", "ja")
    }
    assert by_language == {"en": 53, "es": 17, "de": 7, "nl": 9, "fr": 2, "it": 10, "ja": 5}
    zeus = tts["aura-2-zeus-en"]
    assert zeus["name"] == "zeus"
    assert zeus["languages"] == ["en", "en-US"]
    assert zeus["version"] == "2025-04-07.0"
    assert zeus["uuid"] == "2baf189d-91ac-481d-b6d1-750888667b31"
    assert set(zeus["metadata"]) >= {"accent", "age", "color", "image", "sample", "tags"}
    assert zeus["metadata"]["accent"] == "American"
    assert "masculine" in zeus["metadata"]["tags"]
    assert tts["aura-2-draco-en"]["languages"] == ["en", "en-GB"]
    assert tts["aura-2-aquila-es"]["languages"] == ["es", "es-419"]
    assert tts["aura-angus-en"]["metadata"]["accent"] == "Irish"
    assert "feminine" in tts["aura-2-kara-de"]["metadata"]["tags"]
    assert listing["languages"]["de"] == "German"


async def test_one_model_by_uuid(server: DeepgramTestServer, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{server.url}/v1/models/e4979ab0-8475-4901-9d66-0a562a4949bb") as found:
        thalia = await found.json()
    async with http.get(f"{server.url}/v1/models/00000000-0000-0000-0000-000000000000") as missing:
        assert missing.status == 404
    assert thalia["canonical_name"] == "aura-2-thalia-en"
