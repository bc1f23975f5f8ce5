"""Flux on /v2/listen: turns, end of turn, the open turn at CloseStream, and its settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram import stt as deepgram_stt
from custom_components.deepgram.protocol import (
    DeepgramClient,
    DeepgramConnectionClosedError,
    LiveOptions,
    TurnInfo,
    client as client_module,
)
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import METADATA, setup_integration
from .conftest import API_KEY

PHRASE = "Turn on the kitchen light."
FLUX = LiveOptions(model="flux-general-en", encoding="linear16", sample_rate=16000)


async def say(pcm: bytes, *, stall_at: int = -1, stall: float = 0.0) -> AsyncIterator[bytes]:
    """Yield 20 ms chunks, optionally stalling once."""
    for index, chunk in enumerate(chunked(pcm, 640)):
        if index == stall_at:
            await asyncio.sleep(stall)
        yield chunk


async def test_client_streams_a_turn_on_v2(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """A Flux model goes to /v2/listen; the ended turn is the transcript."""
    deepgram_server.utterances.append(PHRASE)
    events = [
        message.event
        async for message in client.stream(say(synthesize("turn on the kitchen light")), FLUX)
        if isinstance(message, TurnInfo)
    ]
    session = deepgram_server.sessions[-1]
    assert session.path == "/v2/listen"
    assert session.query == [
        ("model", "flux-general-en"),
        ("encoding", "linear16"),
        ("sample_rate", "16000"),
    ]
    assert events[0] == "Update"
    assert "StartOfTurn" in events
    assert events.count("EndOfTurn") == 1
    assert "KeepAlive" not in session.control
    assert session.control[-1] == "CloseStream"
    assert session.close_code == 1000


async def test_open_turn_at_close_stream_is_kept(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Flux's CloseStream does not end the turn: its latest words are the transcript."""
    deepgram_server.utterances.append(PHRASE)
    pcm = synthesize("turn on the kitchen light", trailing_silence=0.0)
    transcript = await client.transcribe(say(pcm), FLUX)
    assert transcript.text == PHRASE
    assert not any(
        message.get("event") == "EndOfTurn" for message in deepgram_server.sessions[-1].sent
    )


async def test_flux_fatal_error_fails_the_stream_with_its_code(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """Flux's fatal Error, then its close: the error carries both, and the request id."""
    deepgram_server.utterances.append(PHRASE)
    deepgram_server.flux_fatal_error = (1.0, "INTERNAL_SERVER_ERROR", "The model stopped.")
    with pytest.raises(DeepgramConnectionClosedError) as caught:
        await client.transcribe(say(synthesize("turn on the kitchen light")), FLUX)
    error = caught.value
    assert (error.code, error.error_code, error.error_description) == (
        1011,
        "INTERNAL_SERVER_ERROR",
        "The model stopped.",
    )
    assert error.request_id == deepgram_server.sessions[-1].request_id


async def test_pings_keep_a_stalled_flux_stream_open(
    session: aiohttp.ClientSession,
    deepgram_server: DeepgramTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Flux has no KeepAlive message: websocket pings bridge a stalled microphone."""
    monkeypatch.setattr(client_module, "FLUX_PING_INTERVAL", 0.3)
    deepgram_server.flux_idle_timeout = 1.0
    deepgram_server.utterances.append(PHRASE)
    client = DeepgramClient(API_KEY, session=session, server=deepgram_server.url)
    pcm = synthesize("turn on the kitchen light")
    transcript = await client.transcribe(say(pcm, stall_at=10, stall=2.5), FLUX)
    assert transcript.text == PHRASE
    assert deepgram_server.sessions[-1].close_code == 1000


async def flux_entity(
    hass: HomeAssistant, entry: MockConfigEntry, **options: Any
) -> stt.SpeechToTextEntity:
    """Set up the entry with a Flux model and return its entity."""
    await setup_integration(hass, entry, **{"model": "flux-general-en", **options})
    entity = next(iter(hass.data["stt"].entities))
    assert isinstance(entity, stt.SpeechToTextEntity)
    return entity


async def test_entity_answers_at_end_of_turn(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """With end of speech on, Flux's EndOfTurn returns the command while the mic is open."""
    entity = await flux_entity(hass, mock_config_entry)
    deepgram_server.utterances.append(PHRASE)
    speech = synthesize("turn on the kitchen light", trailing_silence=0.0)
    closed: list[bool] = []

    async def microphone() -> AsyncIterator[bytes]:
        try:
            async for chunk in say(speech):
                yield chunk
            while True:
                yield bytes(640)
                await asyncio.sleep(0.001)
        finally:
            closed.append(True)

    result = await entity.internal_async_process_audio_stream(METADATA, microphone())
    assert result == stt.SpeechResult("Turn on the kitchen light", stt.SpeechResultState.SUCCESS)
    assert closed == [True]
    session = deepgram_server.sessions[-1]
    await asyncio.wait_for(session.closed.wait(), 2)
    assert ("eot_threshold", "0.7") in session.query
    assert ("eot_timeout_ms", "5000") in session.query
    assert not {"language", "punctuate", "endpointing", "channels"} & {
        name for name, _ in session.query
    }


@pytest.mark.parametrize(
    ("options", "sent", "absent"),
    [
        ({"eot_threshold": 0.85, "eot_timeout_ms": 3000}, [("eot_threshold", "0.85")], []),
        ({"eot_timeout_ms": 3000}, [("eot_timeout_ms", "3000")], []),
        ({"model": "flux-general-multi", "language": "de"}, [("language_hint", "de")], []),
        # Multilingual expects the voice assistant's language, and the household's others.
        ({"model": "flux-general-multi", "language": "multi"}, [("language_hint", "en")], []),
        (
            {"model": "flux-general-multi", "language": "multi", "other_languages": ["tr", "de"]},
            [("language_hint", "en"), ("language_hint", "de")],
            [],
        ),
        ({"language": "en"}, [], ["language_hint"]),
        ({"custom_keyterms": ["Hue Go"]}, [("keyterm", "Hue Go")], []),
        ({"numerals": True}, [("numerals", "true")], []),
    ],
)
async def test_flux_settings_on_the_wire(  # noqa: PLR0913, PLR0917 - fixtures
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    options: dict[str, Any],
    sent: list[tuple[str, str]],
    absent: list[str],
) -> None:
    """Each Flux setting reaches /v2/listen, and the server accepts it."""
    entity = await flux_entity(hass, mock_config_entry, **options)
    deepgram_server.utterances.append(PHRASE)
    result = await entity.internal_async_process_audio_stream(
        METADATA, say(synthesize("turn on the kitchen light"))
    )
    assert result.result is stt.SpeechResultState.SUCCESS
    query = deepgram_server.sessions[-1].query
    for pair in sent:
        assert pair in query
    for name in absent:
        assert name not in {key for key, _ in query}


async def test_flux_partials_follow_the_turn(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Partial results grow with the turn's Updates, then one final comes."""
    monkeypatch.setattr(deepgram_stt, "PartialSpeechResult", lambda text: ("partial", text))
    entity = await flux_entity(hass, mock_config_entry)
    deepgram_server.utterances.append(PHRASE)
    results = [
        result
        async for result in entity.async_process_audio_stream_with_progress(  # type: ignore[attr-defined]
            METADATA, say(synthesize("turn on the kitchen light"))
        )
    ]
    partials = [text for _, text in results[:-1]]
    assert partials
    assert all(PHRASE.startswith(text) or text == PHRASE.rstrip(".") for text in partials)
    assert results[-1] == stt.SpeechResult(
        "Turn on the kitchen light", stt.SpeechResultState.SUCCESS
    )


async def test_flux_entity_takes_mono_at_flux_rates(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, deepgram_server: DeepgramTestServer
) -> None:
    """The entity offers only what Flux accepts."""
    entity = await flux_entity(hass, mock_config_entry)
    assert entity.supported_channels == [stt.AudioChannels.CHANNEL_MONO]
    assert [int(rate) for rate in entity.supported_sample_rates] == [8000, 16000, 44100, 48000]
