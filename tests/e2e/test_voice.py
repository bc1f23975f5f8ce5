"""The Deepgram voice in a real Home Assistant: its tts entity, its voices, and real audio.

Home Assistant and the local Deepgram server run as processes (see conftest.py); the
integration is added through the config flow, which gives the account its voice. The
tests ask Home Assistant's public TTS API for speech and check what comes back.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import aiohttp
import pytest

from tools.home_assistant_harness import HomeAssistant

from .audio import parse_mp3, parse_wav
from .conftest import API_KEY, ConfigFlowRun
from .websocket import RUN_TIMEOUT, Websocket

VOICE_ENTITY = "tts.deepgram_aura_2"
SENTENCE = "The kitchen lights are on and the front door is locked."
WORDS = len(SENTENCE.split())
# espeak-ng speaks about 175 words a minute (0.34 s a word) at Aura-2's normal speed.
PLAUSIBLE_SECONDS = (WORDS * 0.2, WORDS * 0.6 + 1.0)


@pytest.fixture(scope="module")
def voice_entity(home_assistant: HomeAssistant, config_flow: ConfigFlowRun) -> dict[str, Any]:
    """Return the state of the account's voice, which the config flow added."""
    states = home_assistant.request("GET", "/api/states").body
    voices = [state for state in states if state["entity_id"].startswith("tts.deepgram")]
    assert [state["entity_id"] for state in voices] == [VOICE_ENTITY]
    return voices[0]


def diagnostics(home_assistant: HomeAssistant) -> dict[str, Any]:
    """Return the integration's diagnostics of its one entry."""
    entries = home_assistant.request("GET", "/api/config/config_entries/entry?domain=deepgram")
    (entry,) = entries.body
    response = home_assistant.request("GET", f"/api/diagnostics/config_entry/{entry['entry_id']}")
    assert response.status == 200, response.body
    data: dict[str, Any] = response.body["data"]
    return data


def voice_report(home_assistant: HomeAssistant) -> dict[str, Any]:
    """Return the diagnostics of the account's one voice: its settings and recent answers."""
    report = diagnostics(home_assistant)
    (voice,) = [sub for sub in report["subentries"] if sub["type"] == "tts"]
    return voice


async def speak(
    home_assistant: HomeAssistant,
    options: dict[str, Any] | None = None,
    *,
    message: str = SENTENCE,
    cache: bool = False,
    status: int = HTTPStatus.OK,
) -> tuple[str, bytes]:
    """Ask POST /api/tts_get_url for a message, fetch the URL; return its type and body."""
    request: dict[str, Any] = {"engine_id": VOICE_ENTITY, "message": message, "cache": cache}
    if options:
        request["options"] = options
    answer = home_assistant.request("POST", "/api/tts_get_url", request)
    assert answer.status == 200, answer.body
    assert answer.body["path"].startswith("/api/tts_proxy/")
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(RUN_TIMEOUT),
        session.get(f"{home_assistant.url}{answer.body['path']}") as audio,
    ):
        body = await audio.read()
        assert audio.status == status, (audio.status, len(body), body[:200])
        return audio.content_type, body


def test_the_voice_is_an_entity_of_the_entry(
    home_assistant: HomeAssistant, voice_entity: dict[str, Any], socket_enabled: None
) -> None:
    """The config flow gave the account its voice: a tts entity that uses the live voice list."""
    assert voice_entity["state"] != "unavailable"
    assert voice_entity["attributes"]["friendly_name"] == "Deepgram Aura-2"
    assert voice_report(home_assistant)["data"] == {"voice": "aura-2-thalia-en", "speed": 1.0}
    # The voices came from the local server's GET /v1/models.
    assert diagnostics(home_assistant)["voice_list"] == "live"


async def test_the_voice_lists_deepgram_voices(
    home_assistant: HomeAssistant, voice_entity: dict[str, Any], socket_enabled: None
) -> None:
    """tts/engine/voices offers Aura-2's American voices for en-US, Thalia among them."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(RUN_TIMEOUT):
        api = await Websocket.connect(session, home_assistant)
        engine = await api.command({"type": "tts/engine/get", "engine_id": VOICE_ENTITY})
        listed = await api.command(
            {"type": "tts/engine/voices", "engine_id": VOICE_ENTITY, "language": "en-US"}
        )
        await api.ws.close()
    assert "en-US" in engine["provider"]["supported_languages"]
    voices = {voice["voice_id"]: voice["name"] for voice in listed["voices"]}
    assert voices["aura-2-thalia-en"] == "Thalia (American)"
    assert voices["aura-2-zeus-en"] == "Zeus (American)"
    assert all(voice_id.startswith("aura-2-") for voice_id in voices)
    # American voices first; English voices of other regions follow.
    names = list(voices.values())
    assert names[0].endswith("(American)"), names
    assert "Draco (British)" in names[names.index("Zeus (American)") :]


async def test_tts_get_url_speaks_mp3(
    home_assistant: HomeAssistant, voice_entity: dict[str, Any], socket_enabled: None
) -> None:
    """By default the answer is MP3 from Deepgram's REST endpoint, every byte a frame."""
    content_type, body = await speak(home_assistant)
    assert content_type == "audio/mpeg"
    mp3 = parse_mp3(body)
    assert mp3.sample_rate == 24000
    low, high = PLAUSIBLE_SECONDS
    assert low < mp3.seconds < high, mp3

    answer = voice_report(home_assistant)["answers"][-1]
    assert answer["route"] == "rest mp3"
    assert answer["outcome"] == "success"
    assert answer["characters"] == len(SENTENCE)
    assert answer["voice"] == "aura-2-thalia-en"
    assert answer["request_ids"], "the local server answered with no request id"


async def test_tts_get_url_speaks_wav_over_the_websocket(
    home_assistant: HomeAssistant, voice_entity: dict[str, Any], socket_enabled: None
) -> None:
    """Asked for WAV, the answer streams from Deepgram's websocket: 24 kHz speech."""
    content_type, body = await speak(home_assistant, {"preferred_format": "wav"})
    assert content_type == "audio/x-wav"
    wav = parse_wav(body)
    assert (wav.sample_rate, wav.channels) == (24000, 1)
    low, high = PLAUSIBLE_SECONDS
    assert low < wav.seconds < high, wav.seconds
    # Speech, not silence: espeak-ng speaks at about -20 dBFS.
    assert wav.rms_dbfs > -40, wav.rms_dbfs

    answer = voice_report(home_assistant)["answers"][-1]
    assert answer["route"] == "websocket wav 24000"
    assert answer["outcome"] == "success"
    assert answer["characters"] == len(SENTENCE)


def test_the_voice_logged_no_error(
    home_assistant: HomeAssistant, voice_entity: dict[str, Any]
) -> None:
    """Nothing above made the integration log an error."""
    assert home_assistant.log_errors() == []


@pytest.mark.parametrize("options", [None, {"preferred_format": "wav"}], ids=["mp3", "wav"])
async def test_after_a_refusal_the_same_message_is_spoken_from_deepgram(
    home_assistant: HomeAssistant,
    voice_entity: dict[str, Any],
    deepgram_url: str,
    socket_enabled: None,
    options: dict[str, Any] | None,
) -> None:
    """Deepgram refuses once (503), then recovers: with the cache on, the refused answer
    fails at its URL and is not kept; the same message again is Deepgram's real audio.

    Runs last in the module: the refusal leaves error lines in the log.
    """
    message = f"The garage door is closed ({'wav' if options else 'mp3'})."
    async with (
        aiohttp.ClientSession() as session,
        asyncio.timeout(RUN_TIMEOUT),
        session.post(
            f"{deepgram_url}/local/speak/faults",
            json={"refuse_status": HTTPStatus.SERVICE_UNAVAILABLE, "refusals_left": 1},
            headers={"Authorization": f"Token {API_KEY}"},
        ) as switched,
    ):
        assert switched.status == HTTPStatus.OK, await switched.text()

    await speak(
        home_assistant,
        options,
        message=message,
        cache=True,
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
    )
    refused = voice_report(home_assistant)["answers"][-1]
    assert "HTTP 503" in refused["outcome"]

    content_type, body = await speak(home_assistant, options, message=message, cache=True)
    if options:
        assert content_type == "audio/x-wav"
        assert parse_wav(body).seconds > 0.5
    else:
        assert content_type == "audio/mpeg"
        assert parse_mp3(body).seconds > 0.5
    spoken = voice_report(home_assistant)["answers"][-1]
    assert spoken["outcome"] == "success"
    assert spoken["request_ids"] != refused["request_ids"]
