"""The local server's recogniser: real speech in, Assist's command out, over Deepgram's protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.grammar import jsgf, name_words, names_from_terms, names_in_config
from local_deepgram_server.recogniser import SpeechRecogniser, mono_16k
from local_deepgram_server.speech import chunk_bytes, chunked, synthesize, wav_file

from .test_deepgram_server import drain, send_audio

HOME = ("Kitchen", "Living Room", "Bedroom", "Garage")
DEVICES = ("Kitchen Light", "Living Room Lamp", "Garage Door", "Bedroom Light")
PCM = {"model": "nova-3", "encoding": "linear16", "sample_rate": "16000", "channels": "1"}
CHUNK = chunk_bytes(16000, 1)
COMMANDS = (
    "turn on the kitchen light",
    "turn off the living room lamp",
    "what time is it",
    "open the garage door",
    "set the bedroom light to fifty percent",
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Run without Home Assistant: these tests need only the server."""
    return


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[DeepgramTestServer]:
    """A server that hears, with a recogniser of its own."""
    recogniser = SpeechRecogniser()
    dg = DeepgramTestServer(idle_timeout=5.0, recogniser=recogniser)
    await dg.start()
    yield dg
    await dg.stop()
    # Joined: the test harness fails a test whose threads outlive it.
    recogniser.close(wait=True)


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield session


def keyterms(*names: str) -> list[tuple[str, str]]:
    """A Nova-3 query for 16 kHz PCM with the names as key terms, as the integration sends."""
    return [*PCM.items(), *(("keyterm", name) for name in names)]


async def hear(
    http: aiohttp.ClientSession,
    server: DeepgramTestServer,
    audio: bytes,
    query: list[tuple[str, str]],
) -> tuple[list[dict[str, Any]], int | None]:
    """Stream audio as a microphone does, then CloseStream; return what came back."""
    async with http.ws_connect(
        server.listen_url, params=query, headers={"Authorization": "Token any"}
    ) as ws:
        await send_audio(ws, chunked(audio, CHUNK))
        await ws.send_str(json.dumps({"type": "CloseStream"}))
        messages, code, _ = await drain(ws, within=30.0)
    return messages, code


def finals(messages: list[dict[str, Any]]) -> list[str]:
    """The transcripts of the final Results, in order."""
    return [
        message["channel"]["alternatives"][0]["transcript"]
        for message in messages
        if message["type"] == "Results" and message["is_final"]
    ]


@pytest.mark.parametrize("command", COMMANDS)
async def test_spoken_command_is_heard_exactly(
    http: aiohttp.ClientSession, server: DeepgramTestServer, command: str
) -> None:
    """Each word of a spoken command, in one final, then Metadata and a clean close."""
    messages, code = await hear(http, server, synthesize(command), keyterms(*DEVICES, *HOME))

    assert finals(messages) == [command]
    final = next(m for m in messages if m["type"] == "Results" and m["is_final"])
    assert final["speech_final"] is True
    words = final["channel"]["alternatives"][0]["words"]
    assert [word["word"] for word in words] == command.split()
    # Timed where they were spoken: in order, inside the final's window.
    times = [time for word in words for time in (word["start"], word["end"])]
    assert times == sorted(times)
    assert final["start"] <= times[0] < times[-1] <= final["start"] + final["duration"]
    assert messages[-1]["type"] == "Metadata"
    assert code == 1000


async def test_interim_results_and_utterance_end_as_deepgram_sends_them(
    http: aiohttp.ClientSession, server: DeepgramTestServer
) -> None:
    """With interim results, the command arrives in a speech_final, then UtteranceEnd."""
    audio = synthesize("turn on the kitchen light", trailing_silence=2.0)
    query = [
        *keyterms(*DEVICES, *HOME),
        ("interim_results", "true"),
        ("utterance_end_ms", "1000"),
        ("endpointing", "300"),
    ]
    messages, code = await hear(http, server, audio, query)

    kinds = [message["type"] for message in messages]
    assert finals(messages) == ["turn on the kitchen light"]
    assert any(m["type"] == "Results" and not m["is_final"] for m in messages)
    final_at = next(
        index for index, m in enumerate(messages) if m["type"] == "Results" and m["speech_final"]
    )
    assert "UtteranceEnd" in kinds[final_at:]
    assert kinds[-1] == "Metadata"
    assert code == 1000


async def test_keywords_of_nova_2_name_the_devices_too(
    http: aiohttp.ClientSession, server: DeepgramTestServer
) -> None:
    """Nova-2 gets single weighted words; whole names come from the home's names."""
    server.home_names = lambda: names_from_terms(["Garage Door"])
    query = [*PCM.items(), ("model", "nova-2")]
    query = [(key, value) for key, value in query if (key, value) != ("model", "nova-3")]
    query += [("keywords", f"{word}:2") for word in ("Garage", "Door", "Kitchen", "Light")]
    messages, _ = await hear(http, server, synthesize("open the garage door"), query)

    assert finals(messages) == ["open the garage door"]


async def test_wav_at_another_rate_is_heard(
    http: aiohttp.ClientSession, server: DeepgramTestServer
) -> None:
    """A WAV upload without `encoding`, at 22.05 kHz stereo, is read and resampled."""
    pcm = synthesize("turn on the kitchen light", sample_rate=22050, channels=2)
    audio = wav_file(pcm, 22050, 2)
    async with http.ws_connect(
        server.listen_url,
        params=[("model", "nova-3"), *(("keyterm", name) for name in (*DEVICES, *HOME))],
        headers={"Authorization": "Token any"},
    ) as ws:
        await send_audio(ws, chunked(audio, chunk_bytes(22050, 2)))
        await ws.send_str(json.dumps({"type": "CloseStream"}))
        messages, _, _ = await drain(ws, within=30.0)

    assert finals(messages) == ["turn on the kitchen light"]


async def test_speech_outside_the_grammar_never_breaks_the_stream(
    http: aiohttp.ClientSession, server: DeepgramTestServer
) -> None:
    """Words no command has, and noise, give some final; the protocol goes on as ever."""
    rumble = bytes(range(256)) * 250  # loud, speech-less bytes
    audio = synthesize("please play my favourite jazz record") + rumble
    messages, code = await hear(http, server, audio, keyterms(*DEVICES))

    assert finals(messages)  # best effort: whatever was heard, or nothing
    assert messages[-1]["type"] == "Metadata"
    assert code == 1000


async def test_without_key_terms_the_homes_names_are_used(
    http: aiohttp.ClientSession, server: DeepgramTestServer
) -> None:
    """A request without key terms hears the names the server knows of the home."""
    server.home_names = lambda: names_from_terms(["Porch", "Porch Light"])
    messages, _ = await hear(http, server, synthesize("turn on the porch light"), list(PCM.items()))

    assert finals(messages) == ["turn on the porch light"]


def test_names_from_key_terms_and_keywords() -> None:
    """Key terms become spoken names: lower case, digits spelled, boosts and repeats dropped."""
    terms = ["Kitchen Light", "kitchen light", "Lamp 2", "Garage:2", "Ground Floor", "Room 12345"]

    assert names_from_terms(terms) == ("kitchen light", "lamp two", "garage", "ground floor")
    assert name_words("Bob's Desk-Lamp 42") == ("bob's", "desk", "lamp", "forty", "two")


def test_grammar_has_the_commands_over_the_pronounceable_names() -> None:
    """Each name goes into the grammar unless a word of it cannot be pronounced."""
    grammar = jsgf(("kitchen light", "zxqv lamp"), known=lambda word: word != "zxqv")

    assert "<name> = kitchen light;" in grammar
    assert "zxqv" not in grammar
    assert "fifty" in grammar
    assert "what time is it" in grammar
    # No name left: the demo names stand in, so the grammar still parses.
    assert "kitchen light" in jsgf((), known=lambda _: True)


def test_names_in_a_home_assistant_configuration(tmp_path: Path) -> None:
    """Areas, floors and entities (names, original names, aliases) of HA's storage."""
    storage = tmp_path / ".storage"
    storage.mkdir()
    registries = {
        "core.area_registry": {"areas": [{"name": "Kitchen", "aliases": ["Cookery"]}]},
        "core.floor_registry": {"floors": [{"name": "Ground Floor", "aliases": []}]},
        "core.entity_registry": {
            "entities": [{"name": None, "original_name": "Kitchen Light", "aliases": ["Ceiling"]}]
        },
    }
    for name, data in registries.items():
        (storage / name).write_text(json.dumps({"data": data}), encoding="utf-8")

    assert set(names_in_config(tmp_path)) == {
        "kitchen",
        "cookery",
        "ground floor",
        "kitchen light",
        "ceiling",
    }
    assert names_in_config(tmp_path / "missing") == ()


def test_audio_is_made_mono_at_16_khz() -> None:
    """Stereo keeps its first channel; 8 kHz doubles its samples."""
    stereo = b"".join(left.to_bytes(2, "little", signed=True) + b"\x00\x10" for left in (100, -100))
    assert mono_16k(stereo, 16000, 2) == (100).to_bytes(2, "little", signed=True) + (-100).to_bytes(
        2, "little", signed=True
    )
    assert len(mono_16k(bytes(1600), 8000, 1)) == 3200
