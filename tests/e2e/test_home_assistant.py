"""A real Home Assistant, driven like a user: onboarding, config flow, Assist, the STT API.

The module starts `hass` (not the pytest `hass` fixture) and the local Deepgram server as
processes on free ports, with a configuration directory of its own, and stops both at the
end. The tests talk to it only over its public REST and websocket APIs.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from local_deepgram_server.speech import chunk_bytes, chunked, synthesize, wav_file
from tools.home_assistant_harness import HomeAssistant

from .conftest import UTTERANCE, ConfigFlowRun
from .websocket import RUN_TIMEOUT, Websocket

SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def speech() -> bytes:
    """Return the test utterance as 16 kHz mono PCM, spoken by espeak-ng."""
    return synthesize(UTTERANCE, sample_rate=SAMPLE_RATE, channels=1)


def test_onboarding_leaves_a_working_owner_login(
    home_assistant: HomeAssistant, socket_enabled: None
) -> None:
    """Every onboarding step is done, and the owner's token works on the REST API."""
    assert home_assistant.onboarding_steps() == {
        "user": True,
        "core_config": True,
        "analytics": True,
        "integration": True,
    }
    api = home_assistant.request("GET", "/api/")
    assert api.status == 200
    assert api.body == {"message": "API running."}
    assert "deepgram" not in home_assistant.request("GET", "/api/config").body["components"]


def test_config_flow_refuses_a_wrong_key_then_adds_the_entity(
    home_assistant: HomeAssistant, config_flow: ConfigFlowRun, socket_enabled: None
) -> None:
    """The key is checked with the server; the account loads and its STT entity appears."""
    started, refused, language, created = config_flow.answers
    assert started["type"] == "form"
    assert started["step_id"] == "user"
    assert started["errors"] == {}
    assert [field["name"] for field in started["data_schema"]] == ["api_key", "model", "advanced"]

    assert refused["type"] == "form"
    assert refused["step_id"] == "user"
    assert refused["errors"] == {"base": "invalid_auth"}

    assert language["type"] == "form"
    assert language["step_id"] == "language"
    assert language["description_placeholders"] == {"model": "Nova-3"}

    assert created["type"] == "create_entry"
    assert created["title"] == "Deepgram"

    entries = home_assistant.request("GET", "/api/config/config_entries/entry?domain=deepgram")
    assert [(entry["title"], entry["state"]) for entry in entries.body] == [("Deepgram", "loaded")]
    assert config_flow.entity_id == "stt.deepgram_nova_3_english"
    capabilities = home_assistant.request("GET", f"/api/stt/{config_flow.entity_id}")
    assert capabilities.status == 200
    assert "en" in capabilities.body["languages"]
    assert "deepgram" in home_assistant.request("GET", "/api/config").body["components"]


async def test_the_web_ui_can_load(home_assistant: HomeAssistant, socket_enabled: None) -> None:
    """The page loads, and the calls the web UI makes at start all succeed.

    The UI waits for every one of them: a failing `get_services` (a missing
    requirement of a core component, for one) leaves it at "Loading data".
    """
    async with aiohttp.ClientSession() as session, asyncio.timeout(RUN_TIMEOUT):
        async with session.get(f"{home_assistant.url}/") as page:
            assert page.status == 200
            assert "<html" in await page.text()
        api = await Websocket.connect(session, home_assistant)
        for command in ("get_config", "get_services", "get_panels", "frontend/get_themes"):
            await api.command({"type": command})
        await api.ws.close()


async def test_assist_pipeline_streams_speech_over_the_websocket_api(
    home_assistant: HomeAssistant,
    config_flow: ConfigFlowRun,
    speech: bytes,
    socket_enabled: None,
) -> None:
    """Create a pipeline with the entity, then run it with audio over the binary handler."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(RUN_TIMEOUT):
        api = await Websocket.connect(session, home_assistant)
        pipeline = await api.command(
            {
                "type": "assist_pipeline/pipeline/create",
                "name": "Deepgram",
                "language": "en",
                "conversation_engine": "conversation.home_assistant",
                "conversation_language": "en",
                "stt_engine": config_flow.entity_id,
                "stt_language": "en",
                "tts_engine": None,
                "tts_language": None,
                "tts_voice": None,
                "wake_word_entity": None,
                "wake_word_id": None,
            }
        )
        assert pipeline["stt_engine"] == config_flow.entity_id
        listed = await api.command({"type": "assist_pipeline/pipeline/list"})
        assert pipeline["id"] in [item["id"] for item in listed["pipelines"]]

        run_id = await api.send(
            {
                "type": "assist_pipeline/run",
                "start_stage": "stt",
                "end_stage": "stt",
                "input": {"sample_rate": SAMPLE_RATE},
                "pipeline": pipeline["id"],
                "timeout": RUN_TIMEOUT,
            }
        )
        result = await api.ws.receive_json()
        assert result == {"id": run_id, "type": "result", "success": True, "result": None}

        events: list[dict[str, Any]] = []
        run_start = await api.ws.receive_json()
        events.append(run_start["event"])
        handler_id = run_start["event"]["data"]["runner_data"]["stt_binary_handler_id"]
        prefix = bytes([handler_id])
        for chunk in chunked(speech, chunk_bytes(SAMPLE_RATE, 1)):
            await api.ws.send_bytes(prefix + chunk)
        await api.ws.send_bytes(prefix)  # End of audio.
        while events[-1]["type"] not in {"run-end", "error"}:
            message = await api.ws.receive_json()
            assert message["id"] == run_id
            events.append(message["event"])

        await api.ws.close()

    # By default a Nova entry keeps Home Assistant's voice activity detection as
    # the fallback (every version runs it), and answers at Deepgram's end of
    # speech if that comes first; it stops reading the audio the moment it answers,
    # so no stt-vad-end can follow stt-end.
    types = [event["type"] for event in events]
    assert types in (
        ["run-start", "stt-start", "stt-vad-start", "stt-vad-end", "stt-end", "run-end"],
        ["run-start", "stt-start", "stt-vad-start", "stt-end", "run-end"],
    )
    events = [event for event in events if not event["type"].startswith("stt-vad-")]
    stt_start = events[1]["data"]
    assert stt_start["engine"] == config_flow.entity_id
    assert stt_start["metadata"]["sample_rate"] == SAMPLE_RATE
    assert events[2]["data"] == {"stt_output": {"text": UTTERANCE}}


def test_stt_http_api_transcribes_a_wav_upload(
    home_assistant: HomeAssistant,
    config_flow: ConfigFlowRun,
    speech: bytes,
    socket_enabled: None,
) -> None:
    """POST /api/stt/<entity> with a WAV file returns the transcript."""
    response = home_assistant.request(
        "POST",
        f"/api/stt/{config_flow.entity_id}",
        body=wav_file(speech, SAMPLE_RATE, 1),
        headers={
            "X-Speech-Content": (
                f"format=wav; codec=pcm; sample_rate={SAMPLE_RATE}; "
                "bit_rate=16; channel=1; language=en"
            )
        },
    )
    assert response.status == 200, response.body
    assert response.body == {"text": UTTERANCE, "result": "success"}


def test_the_integration_logged_no_error(
    home_assistant: HomeAssistant, config_flow: ConfigFlowRun
) -> None:
    """Nothing above made the integration log an error (the wrong key is a form error)."""
    assert home_assistant.log_errors() == []
