"""Whatever Deepgram sends, the entity returns exactly one result: the finals it heard.

Hypothesis writes the server's side: any order of Results, Metadata,
UtteranceEnd, SpeechStarted, Error and unknown messages, with fields left out,
ending in a normal or an abnormal close. A small websocket server on 127.0.0.1
replays each sequence to the real entity.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from typing import Any

from aiohttp import WSMsgType, web
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram.const import CONF_SERVER
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from local_deepgram_server import DeepgramTestServer

from . import METADATA, setup_integration

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
TRANSCRIPTS = st.lists(WORDS, max_size=4).map(" ".join)


@st.composite
def results(draw: st.DrawFn) -> dict[str, Any]:
    """A Results message, with any of its optional parts left out."""
    message: dict[str, Any] = {
        "type": "Results",
        "channel_index": [0, 1],
        "start": draw(st.floats(0, 60)),
        "duration": draw(st.floats(0, 5)),
        "channel": {"alternatives": [{"transcript": draw(TRANSCRIPTS), "confidence": 0.9}]},
        "metadata": {"request_id": "req"},
    }
    for flag in ("is_final", "speech_final", "from_finalize"):
        if draw(st.booleans()):
            message[flag] = draw(st.booleans())
    for optional in ("channel", "metadata", "start", "duration"):
        if draw(st.integers(0, 9)) == 0:
            del message[optional]
    return message


OTHER_MESSAGES = st.sampled_from(
    [
        {"type": "Metadata", "request_id": "req", "duration": 1.5, "channels": 1},
        {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.2},
        {"type": "SpeechStarted", "channel": [0, 1], "timestamp": 0.3},
        {"type": "Error", "variant": "SchemaError", "description": "bad"},
        {"type": "Surprise"},
        {"no": "type"},
    ]
)
MESSAGES = st.lists(st.one_of(results(), OTHER_MESSAGES), max_size=12)
# None: the server waits for CloseStream and closes normally.
CLOSES = st.sampled_from([None, 1000, 1008, 1011])


def final_text(messages: list[dict[str, Any]]) -> str:
    """Every final transcript with words, joined: what the entity must return."""
    finals = []
    for message in messages:
        if message.get("type") != "Results" or message.get("is_final") is not True:
            continue
        transcript = message.get("channel", {}).get("alternatives", [{}])[0].get("transcript")
        if transcript:
            finals.append(transcript)
    return " ".join(finals)


class Replay:
    """A websocket endpoint that plays back one scripted sequence per stream."""

    def __init__(self) -> None:
        """Start with nothing to play."""
        self.messages: list[dict[str, Any]] = []
        self.close: int | None = None
        self.streams = 0

    async def listen(self, request: web.Request) -> web.WebSocketResponse:
        """Wait for audio, play the messages, then close as scripted."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.streams += 1
        played = False
        async for frame in ws:
            if frame.type is WSMsgType.BINARY and not played:
                played = True
                for message in self.messages:
                    await ws.send_str(json.dumps(message))
                if self.close is not None:
                    await ws.close(code=self.close, message=b"scripted")
                    break
            elif frame.type is WSMsgType.TEXT and json.loads(frame.data)["type"] == "CloseStream":
                await ws.close()
                break
        return ws


@pytest.fixture
async def replay(socket_enabled: None) -> AsyncIterator[tuple[Replay, str]]:
    """Run the replay server on 127.0.0.1; yield it and its URL."""
    player = Replay()
    app = web.Application()
    app.router.add_get("/v1/listen", player.listen)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield player, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def audio() -> AsyncIterator[bytes]:
    """A short stretch of silence: the replay does not listen to it."""
    for _ in range(10):
        yield bytes(640)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messages=MESSAGES, close=CLOSES)
async def test_one_result_made_of_the_finals(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    replay: tuple[Replay, str],
    messages: list[dict[str, Any]],
    close: int | None,
) -> None:
    """Exactly one final result; its text is the finals received, joined in order."""
    player, url = replay
    if mock_config_entry.entry_id not in hass.config_entries.async_entry_ids():
        await setup_integration(hass, mock_config_entry, end_of_command="home_assistant")
        mock_config_entry.runtime_data.client.server = url
        assert mock_config_entry.data[CONF_SERVER] == deepgram_server.url
    entity = stt.async_get_speech_to_text_entity(hass, "stt.deepgram_nova_3_english")
    assert entity is not None
    player.messages, player.close = messages, close

    results = [
        result
        async for result in entity.async_process_audio_stream_with_progress(  # type: ignore[attr-defined]
            METADATA, audio()
        )
    ]

    assert len(results) == 1  # no partial results on this Home Assistant version
    [result] = results
    expected = final_text(messages)
    if close in (None, 1000) or expected:
        assert result == stt.SpeechResult(expected, stt.SpeechResultState.SUCCESS)
    else:
        assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
