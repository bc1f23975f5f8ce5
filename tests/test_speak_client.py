"""The speaking client against the local Deepgram server: REST, websocket, voices, faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from http import HTTPStatus
import itertools

import aiohttp
import pytest

from custom_components.deepgram.protocol import (
    DeepgramAuthenticationError,
    DeepgramConnectionClosedError,
    DeepgramConnectionError,
    DeepgramPaymentRequiredError,
    DeepgramRateLimitError,
    DeepgramServerError,
    DeepgramSpeaker,
    SpeakOptions,
    speech_stream,
)
from custom_components.deepgram.protocol.sentences import (
    FLUSH,
    FlushPlanner,
    cut_to_limit,
    split_sentences,
)
from custom_components.deepgram.protocol.speech_stream import SpeakingStoppedError
from custom_components.deepgram.protocol.voices import (
    CATALOGUE,
    default_voice,
    languages_of,
    parse_models,
    voices_for,
)

from .conftest import API_KEY
from .deepgram_server import DeepgramTestServer

THALIA = SpeakOptions(model="aura-2-thalia-en", sample_rate=16000)
MP3 = SpeakOptions(model="aura-2-thalia-en", encoding="mp3")
# Only guards against a hang; the events awaited come long before.
GUARD = 30


@pytest.fixture
async def speaker(
    deepgram_server: DeepgramTestServer, session: aiohttp.ClientSession
) -> AsyncGenerator[DeepgramSpeaker]:
    """Return a speaker on the local server; tests of a bound shorten it themselves."""
    deepgram_speaker = DeepgramSpeaker(API_KEY, session=session, server=deepgram_server.url)
    yield deepgram_speaker
    await deepgram_speaker.close()


async def written(*chunks: str) -> AsyncIterator[str]:
    """Yield text as an agent writes it, chunk by chunk."""
    for chunk in chunks:
        yield chunk


async def written_once_heard(heard: asyncio.Event, first: str, *rest: str) -> AsyncIterator[str]:
    """Write `first`, then the rest only once its audio is heard: the agent is still writing."""
    yield first
    await asyncio.wait_for(heard.wait(), GUARD)
    for chunk in rest:
        yield chunk


async def collect(audio: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in audio])


async def test_rest_speaks_the_whole_text(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """One POST: the text in the body, the voice and format in the query, the key in a header."""
    ids: list[str] = []
    options = SpeakOptions(model="aura-2-thalia-en", encoding="mp3")
    audio = await collect(speaker.synthesize("Hello there.", options, request_ids=ids))

    [post] = deepgram_server.speak.posts
    assert post.texts == ["Hello there."]
    assert dict(post.query) == {"model": "aura-2-thalia-en", "encoding": "mp3"}
    assert post.authorization == f"Token {API_KEY}"
    assert audio == bytes(post.audio)
    assert audio[:2] in (b"ID", b"\xff\xf3", b"\xff\xfb", b"\xff\xf2")
    assert ids == [post.request_id]


async def test_stream_speaks_each_sentence_as_it_is_written(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """Text goes up as written, a Flush at each sentence end, audio comes before the end."""
    stream = speaker.open_stream(THALIA)
    heard = asyncio.Event()
    # "Sure!" must be spoken while the agent is still writing, or the agent never goes on.
    text = written_once_heard(heard, "Sure! I turned on ", "the lights.", " It is", " warm today.")
    audio = bytearray()
    async for chunk in stream.audio(text):
        heard.set()
        audio += chunk

    [record] = deepgram_server.speak.sessions
    assert "".join(record.texts) == "Sure! I turned on the lights. It is warm today."
    assert [kind for _, kind in record.received].count("Flush") == 3
    assert record.received[-1][1] == "Close"
    assert record.close_code == 1000
    assert bytes(audio) == bytes(record.audio)
    assert len(audio) > 16000  # more than half a second of 16 kHz speech
    assert dict(record.query) == {
        "model": "aura-2-thalia-en",
        "encoding": "linear16",
        "sample_rate": "16000",
    }
    assert stream.request_id == record.request_id


async def test_stream_sends_speed_only_when_asked(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """A speed rides in the query; Deepgram's default is left unsent."""
    options = SpeakOptions(model="aura-2-thalia-en", sample_rate=24000, speed=1.2)
    await collect(speaker.open_stream(options).audio(written("Quick.")))
    assert deepgram_server.speak.sessions[0].param("speed") == "1.2"


async def test_empty_answer_closes_cleanly(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """No words: no Flush, just Close, and no audio."""
    assert await collect(speaker.open_stream(THALIA).audio(written(""))) == b""
    [record] = deepgram_server.speak.sessions
    assert [kind for _, kind in record.received] == ["Close"]


async def test_flush_over_the_limit_is_spoken_at_close(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """A Flush Deepgram ignores (EXCESSIVE_FLUSH) is not waited for; Close speaks its text."""
    deepgram_server.speak.flush_limit = 1
    stream = speaker.open_stream(THALIA)
    audio = await collect(stream.audio(written("One. ", "Two. ", "Three.")))
    [record] = deepgram_server.speak.sessions
    assert record.close_code == 1000
    assert len(record.answers) == 2  # the first Flush, then Close with the rest
    assert audio == bytes(record.audio)
    assert stream.warnings
    assert all(warning.startswith("EXCESSIVE_FLUSH") for warning in stream.warnings)


async def test_failing_text_source_ends_rest_audio(speaker: DeepgramSpeaker) -> None:
    """An exception in the agent's text ends the sentence-by-sentence audio with it."""

    async def broken() -> AsyncIterator[str]:
        yield "Hello. "
        raise RuntimeError("the agent failed")

    options = SpeakOptions(model="aura-2-thalia-en", encoding="mp3")
    with pytest.raises(RuntimeError, match="the agent failed"):
        await collect(speaker.synthesize_sentences(broken(), options))


async def test_long_answer_is_batched_within_the_limit(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """Sentences written at once go in one request each up to 2,000 characters."""
    sentence = "This sentence has exactly fifty characters in it. "
    text = sentence * 50  # 2,500 characters
    options = SpeakOptions(model="aura-2-thalia-en", encoding="mp3")
    await collect(speaker.synthesize_sentences(written(text), options))
    posts = deepgram_server.speak.posts
    assert [len(post.texts[0]) <= 2000 for post in posts] == [True, True]
    assert " ".join(post.texts[0] for post in posts) == text.strip()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, DeepgramAuthenticationError),
        (402, DeepgramPaymentRequiredError),
        (403, DeepgramAuthenticationError),
        (429, DeepgramRateLimitError),
        (503, DeepgramServerError),
    ],
)
async def test_refused_upgrade_and_post(
    speaker: DeepgramSpeaker,
    deepgram_server: DeepgramTestServer,
    status: int,
    error: type[Exception],
) -> None:
    """A refusal carries its status and Deepgram's request id, on both endpoints."""
    deepgram_server.speak.refuse_status = status
    with pytest.raises(error) as refused:
        await collect(speaker.open_stream(THALIA).audio(written("Hi.")))
    assert refused.value.request_id == deepgram_server.speak.rejected[0].request_id  # type: ignore[attr-defined]
    ids: list[str] = []
    with pytest.raises(error) as refused:
        await collect(
            speaker.synthesize("Hi.", SpeakOptions(model="aura-2-thalia-en"), request_ids=ids)
        )
    assert refused.value.request_id == deepgram_server.speak.posts[0].request_id  # type: ignore[attr-defined]


async def test_wrong_key_is_an_authentication_error(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """A key the server does not know is refused before the upgrade."""
    deepgram_server.api_keys = {"another-key"}
    with pytest.raises(DeepgramAuthenticationError):
        await collect(speaker.open_stream(THALIA).audio(written("Hi.")))


@pytest.mark.parametrize("code", [1011, 1008])
async def test_close_mid_answer(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer, code: int
) -> None:
    """Deepgram closing inside an answer ends the audio with the close code."""
    deepgram_server.speak.close_mid_answer = (0.2, code, "NET-0000")
    received = bytearray()

    async def listen() -> None:
        async for chunk in speaker.open_stream(THALIA).audio(
            written("This sentence is long enough to be cut in the middle.")
        ):
            received.extend(chunk)

    with pytest.raises(DeepgramConnectionClosedError) as closed:
        await listen()
    assert closed.value.code == code
    assert closed.value.request_id == deepgram_server.speak.sessions[0].request_id
    assert received


async def test_too_many_characters_a_minute(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """Deepgram's character limit closes with 1008; the client reports it."""
    deepgram_server.speak.characters_per_minute = 10
    with pytest.raises(DeepgramConnectionClosedError) as closed:
        await collect(speaker.open_stream(THALIA).audio(written("Far more than ten characters.")))
    assert closed.value.code == 1008


async def test_too_large_message(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """A message over the server's size limit closes with 1009."""
    deepgram_server.speak.max_message_bytes = 40
    with pytest.raises(DeepgramConnectionClosedError) as closed:
        await collect(speaker.open_stream(THALIA).audio(written("A long sentence of words.")))
    assert closed.value.code == 1009


async def test_text_is_held_back_within_the_character_limit(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over Deepgram's characters a minute, text waits instead of the stream being closed.

    The window is shortened on both sides (the client's a little longer, as
    Deepgram counts from when text arrives): three sentences of about 20
    characters within a budget of 40 are only spoken if each waits its turn;
    sent at once, the server would close the stream with 1008.
    """
    monkeypatch.setattr(speech_stream, "CHARACTER_WINDOW", 1.0)
    deepgram_server.speak.character_window = 0.5
    deepgram_server.speak.characters_per_minute = 40
    speaker.characters_per_minute = 40
    text = written("Twenty characters, a.", " Twenty characters, b.", " Twenty characters, c.")
    audio = await collect(speaker.open_stream(THALIA).audio(text))
    [record] = deepgram_server.speak.sessions
    assert record.close_code == 1000
    assert (
        "".join(record.texts) == "Twenty characters, a. Twenty characters, b. Twenty characters, c."
    )
    assert audio == bytes(record.audio)
    speak_times = record.times("Speak")
    assert len(speak_times) == 3
    # Each sentence waited until the one before had left the server's window.
    assert all(later - earlier >= 0.5 for earlier, later in itertools.pairwise(speak_times))


async def test_silent_server_is_bounded(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """No audio after a Flush ends the answer with an error naming the stream."""
    speaker.silence_timeout = 0.5
    deepgram_server.speak.silent = True
    with pytest.raises(DeepgramConnectionError, match="no audio") as silent:
        await collect(speaker.open_stream(THALIA).audio(written("Anyone there?")))
    assert silent.value.request_id == deepgram_server.speak.sessions[0].request_id


async def test_silent_rest_is_bounded(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """A POST that never answers fails at the connect bound."""
    deepgram_server.speak.silent = True
    speaker.connect_timeout = 0.5
    with pytest.raises(DeepgramConnectionError, match=r"did not answer within 0\.5 s"):
        await collect(speaker.synthesize("Hi.", SpeakOptions(model="aura-2-thalia-en")))


async def test_rest_body_that_stops_is_bounded(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """A REST answer whose body stops coming fails at the silence bound, naming the request."""
    deepgram_server.speak.hold_rest_body = True
    speaker.silence_timeout = 0.5
    received = bytearray()

    async def listen() -> None:
        """Keep what came before the error."""
        async for chunk in speaker.synthesize("Hello there, how are you today?", MP3):
            received.extend(chunk)

    with pytest.raises(DeepgramConnectionError, match=r"sent no audio within 0\.5 s") as silent:
        await listen()
    [post] = deepgram_server.speak.posts
    assert silent.value.request_id == post.request_id
    assert bytes(received) == bytes(post.audio)


async def test_waiting_for_the_agent_is_not_silence(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """A slow agent (nothing owed by Deepgram) does not trip the silence bound."""
    # Long enough for the local server to synthesize "Two." even on a busy machine.
    speaker.silence_timeout = 2.0
    heard = asyncio.Event()

    async def slow_agent() -> AsyncIterator[str]:
        """Write one sentence, then think for longer than the silence bound."""
        yield "One. "
        await asyncio.wait_for(heard.wait(), GUARD)
        # The agent thinks for longer than the bound, with all owed audio received.
        await asyncio.sleep(1.5 * speaker.silence_timeout)
        yield "Two."

    audio = bytearray()
    async for chunk in speaker.open_stream(THALIA).audio(slow_agent()):
        heard.set()
        audio += chunk
    [session] = deepgram_server.speak.sessions
    assert bytes(audio) == bytes(session.audio)
    assert session.close_code == 1000
    assert "".join(session.texts).split() == ["One.", "Two."]


async def test_failing_text_source_ends_the_audio(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """An exception in the agent's text ends the audio with that exception."""

    async def broken() -> AsyncIterator[str]:
        yield "Hello."
        raise RuntimeError("the agent failed")

    with pytest.raises(RuntimeError, match="the agent failed"):
        await collect(speaker.open_stream(THALIA).audio(broken()))
    await asyncio.wait_for(deepgram_server.speak.sessions[0].closed.wait(), GUARD)


async def test_cancelled_answer_closes_the_socket(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """Cancelling the listener closes the websocket at once."""

    async def endless() -> AsyncIterator[str]:
        # One sentence, then the agent thinks until the listener goes away.
        yield "More words. "
        await asyncio.Event().wait()

    got_audio = asyncio.Event()

    async def listen() -> None:
        async for _ in speaker.open_stream(THALIA).audio(endless()):
            got_audio.set()

    task = asyncio.create_task(listen())
    await asyncio.wait_for(got_audio.wait(), GUARD)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(deepgram_server.speak.sessions[0].closed.wait(), GUARD)
    assert deepgram_server.speak.active_streams == 0
    assert not speaker.streams


async def test_a_refused_stream_opens_nothing(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """`open()` raises the refusal: whoever waits for it has sent nothing and holds no stream."""
    deepgram_server.speak.refuse_status = HTTPStatus.SERVICE_UNAVAILABLE
    stream = speaker.open_stream(THALIA)
    with pytest.raises(DeepgramServerError) as refused:
        await stream.open()
    assert refused.value.request_id == deepgram_server.speak.rejected[0].request_id
    assert not speaker.streams


async def test_close_stops_an_open_stream(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer
) -> None:
    """`close()` ends a stream waiting for the agent: its audio ends with SpeakingStoppedError."""
    agent_done = asyncio.Event()

    async def slow_agent() -> AsyncIterator[str]:
        """Write a word, then think until the test ends."""
        yield "Thinking"
        await agent_done.wait()

    stream = speaker.open_stream(THALIA)
    await stream.open()
    listener = asyncio.create_task(collect(stream.audio(slow_agent())))
    await speaker.close()
    with pytest.raises(SpeakingStoppedError):
        await asyncio.wait_for(listener, GUARD)
    agent_done.set()
    await asyncio.wait_for(deepgram_server.speak.sessions[0].closed.wait(), GUARD)
    assert not speaker.streams


@pytest.mark.parametrize("kind", ["handshake", "rest", "rest body", "rest waiting for text"])
async def test_close_stops_answers_waiting_for_deepgram(
    speaker: DeepgramSpeaker, deepgram_server: DeepgramTestServer, kind: str
) -> None:
    """`close()` stops a handshake or a POST Deepgram has not answered, a REST body still
    coming, and a REST answer between sentences; each ends with SpeakingStoppedError, none
    waits for its bound."""
    speaker.connect_timeout = 3600.0
    deepgram_server.speak.hold_upgrades = True
    deepgram_server.speak.silent = True
    agent_done = asyncio.Event()

    async def slow_agent() -> AsyncIterator[str]:
        """Write a sentence, then think until the test ends."""
        yield "Thinking. "
        await agent_done.wait()

    if kind == "handshake":
        audio = speaker.open_stream(THALIA).audio(written("Hello."))
    elif kind == "rest":
        audio = speaker.synthesize_sentences(written("Hello."), MP3)
    elif kind == "rest body":
        deepgram_server.speak.silent = False
        deepgram_server.speak.hold_rest_body = True
        audio = speaker.synthesize_sentences(written("Hello."), MP3)
    else:
        deepgram_server.speak.silent = False
        audio = speaker.synthesize_sentences(slow_agent(), MP3)
    heard = asyncio.Event()

    async def listen() -> None:
        async for _ in audio:
            heard.set()

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(deepgram_server.speak.arrived.wait(), GUARD)
    if kind in ("rest body", "rest waiting for text"):
        await asyncio.wait_for(heard.wait(), GUARD)
    await speaker.close()
    with pytest.raises(SpeakingStoppedError):
        await asyncio.wait_for(listener, GUARD)
    agent_done.set()
    # A closed speaker starts nothing new.
    with pytest.raises(SpeakingStoppedError):
        await collect(speaker.synthesize("Hi.", MP3))


async def test_voices_from_the_model_list(speaker: DeepgramSpeaker) -> None:
    """The live list gives the Aura-2 voices with names and accents."""
    voices = await speaker.voices()
    by_model = {voice.model: voice for voice in voices}
    assert by_model["aura-2-thalia-en"].label == "Thalia (American)"
    assert by_model["aura-2-draco-en"].languages == ("en", "en-GB")
    assert all(voice.model.startswith("aura-2-") for voice in voices)
    assert {voice.language for voice in voices} == {"en", "es", "de", "nl", "fr", "it", "ja"}


def test_parse_models_ignores_malformed_entries() -> None:
    """Untrusted JSON: wrong types are skipped, never raised."""
    body = {
        "tts": [
            "junk",
            {"architecture": "aura-2", "canonical_name": 5, "languages": ["en"]},
            {"architecture": "aura", "canonical_name": "aura-luna-en", "languages": ["en"]},
            {"architecture": "aura-2", "canonical_name": "aura-2-x-en", "languages": []},
            {
                "architecture": "aura-2",
                "canonical_name": "aura-2-kara-de",
                "name": "kara",
                "languages": ["de", "de-DE"],
                "metadata": {"accent": None},
            },
        ]
    }
    [voice] = parse_models(body)
    assert (voice.model, voice.label, voice.languages) == (
        "aura-2-kara-de",
        "Kara",
        ("de", "de-DE"),
    )
    assert parse_models(None) == []


def test_catalogue_defaults_per_language() -> None:
    """Each language has a default voice, regional tags prefer their accent."""
    assert set(languages_of(CATALOGUE)) >= {"en", "en-GB", "es", "de", "nl", "fr", "it", "ja"}
    assert default_voice(CATALOGUE, "en").model == "aura-2-thalia-en"  # type: ignore[union-attr]
    assert default_voice(CATALOGUE, "en-GB").model == "aura-2-pandora-en"  # type: ignore[union-attr]
    assert default_voice(CATALOGUE, "fr-FR").model == "aura-2-agathe-fr"  # type: ignore[union-attr]
    assert default_voice(CATALOGUE, "pt") is None
    british = voices_for(CATALOGUE, "en-GB")
    assert {voice.name for voice in british[:2]} == {"Draco", "Pandora"}
    assert len(british) == len(voices_for(CATALOGUE, "en"))


def planned(planner: FlushPlanner, *chunks: str) -> list[str | None]:
    out: list[str | None] = []
    for chunk in chunks:
        out.extend(planner.feed(chunk))
    out.extend(planner.finish())
    return out


def test_flush_at_sentence_ends() -> None:
    """A Flush after each sentence, also when its end and the next space come apart."""
    assert planned(FlushPlanner(), "Hi. How", " are you?", " Fine") == [
        "Hi.",
        FLUSH,
        " How",
        " are you?",
        FLUSH,
        " Fine",
        FLUSH,
    ]
    assert planned(FlushPlanner(), "It costs 3.5 euros.") == ["It costs 3.5 euros.", FLUSH]
    assert planned(FlushPlanner(), "はい。次") == ["はい。", FLUSH, "次", FLUSH]


def test_flush_budget_keeps_one_for_the_end() -> None:
    """Within a minute, 19 sentence flushes at most, and the last one always."""
    now = [0.0]
    planner = FlushPlanner(clock=lambda: now[0])
    out = planned(planner, *(f"Sentence {n}. " for n in range(30)))
    assert out.count(FLUSH) == 20
    assert out[-1] is FLUSH
    now[0] = 61.0
    assert list(planner.feed("Later. ")).count(FLUSH) == 1


def test_long_sentence_is_flushed_before_the_limit() -> None:
    """Unflushed text never passes the limit; the cut falls at a space."""
    out = planned(FlushPlanner(max_chars=20), "one two three four five six seven")
    pieces: list[str] = []
    for item in [*out]:
        if item is FLUSH:
            assert sum(len(piece) for piece in pieces) <= 20
            pieces = []
        else:
            pieces.append(item)
    assert "".join(item for item in out if item) == "one two three four five six seven"
    assert out.count(FLUSH) == 2


def test_split_sentences_and_limit() -> None:
    """REST batches: complete sentences and the unfinished rest; long text cut at spaces."""
    assert split_sentences("One. Two! Thr") == (["One.", "Two!"], " Thr")
    assert cut_to_limit("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
