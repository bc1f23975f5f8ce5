"""Unit tests of the protocol pieces that need no server: options, URLs, messages, WAV."""

from __future__ import annotations

import io
import json
from typing import cast
import wave

import aiohttp
import pytest

from custom_components.deepgram.protocol import (
    Connected,
    DeepgramConnectionClosedError,
    ErrorMessage,
    LiveOptions,
    Metadata,
    Results,
    SpeechStarted,
    TranscriptBuilder,
    TurnInfo,
    UtteranceEnd,
    Word,
    listen_url,
    normalize_server,
    parse_message,
)
from custom_components.deepgram.protocol.errors import (
    DeepgramAuthenticationError,
    DeepgramPaymentRequiredError,
    DeepgramRateLimitError,
    DeepgramRequestRejectedError,
    DeepgramServerError,
    error_for_status,
)
from custom_components.deepgram.protocol.models import (
    SPEECH_MODELS,
    closest_language,
    language_name,
)
from custom_components.deepgram.protocol.wav import WavHeaderStripper
from custom_components.deepgram.protocol.websocket import peer_close


def test_query_spells_booleans_and_repeats_lists() -> None:
    """Booleans become true/false, lists repeat their key, unset options are left out."""
    options = LiveOptions(
        model="nova-3",
        language="de",
        encoding="linear16",
        sample_rate=44100,
        channels=2,
        punctuate=True,
        smart_format=False,
        endpointing=300,
        keyterm=("Küche", "Wohnzimmer Licht"),
    )
    assert options.query() == [
        ("model", "nova-3"),
        ("language", "de"),
        ("encoding", "linear16"),
        ("sample_rate", "44100"),
        ("channels", "2"),
        ("punctuate", "true"),
        ("smart_format", "false"),
        ("endpointing", "300"),
        ("keyterm", "Küche"),
        ("keyterm", "Wohnzimmer Licht"),
    ]


def test_endpointing_can_be_turned_off() -> None:
    """`endpointing=False` is sent as the literal false Deepgram expects."""
    assert ("endpointing", "false") in LiveOptions(endpointing=False).query()


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("https://api.deepgram.com", "wss://api.deepgram.com/v1/listen"),
        ("https://api.eu.deepgram.com/", "wss://api.eu.deepgram.com/v1/listen"),
        ("http://192.168.1.20:8080", "ws://192.168.1.20:8080/v1/listen"),
        ("https://proxy.example/deepgram", "wss://proxy.example/deepgram/v1/listen"),
    ],
)
def test_listen_url_derives_the_websocket_scheme(server: str, expected: str) -> None:
    """The websocket URL follows the server's scheme and keeps a proxy path."""
    assert str(listen_url(server)) == expected


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (" https://api.deepgram.com/ ", "https://api.deepgram.com"),
        ("wss://api.eu.deepgram.com", "https://api.eu.deepgram.com"),
        ("ws://10.0.0.5:8080", "http://10.0.0.5:8080"),
    ],
)
def test_normalize_server_accepts_http_and_websocket_urls(server: str, expected: str) -> None:
    """A server URL is stored in its http(s) form."""
    assert normalize_server(server) == expected


@pytest.mark.parametrize(
    "server",
    [
        "api.deepgram.com",
        "ftp://api.deepgram.com",
        "https://",
        "https://user:secret@api.deepgram.com",
        "https://api.deepgram.com/?token=abc",
        "https://api.deepgram.com/#x",
    ],
)
def test_normalize_server_rejects_unusable_urls(server: str) -> None:
    """No scheme, no host, credentials or a query in the URL are refused."""
    with pytest.raises(ValueError, match="server URL"):
        normalize_server(server)


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, DeepgramRequestRejectedError),
        (401, DeepgramAuthenticationError),
        (402, DeepgramPaymentRequiredError),
        (403, DeepgramAuthenticationError),
        (404, DeepgramRequestRejectedError),
        (429, DeepgramRateLimitError),
        (500, DeepgramServerError),
        (503, DeepgramServerError),
    ],
)
def test_each_status_has_its_own_error(status: int, error_class: type[Exception]) -> None:
    """Statuses map to distinct exceptions that carry the detail and request id."""
    error = error_for_status(status, "refused", detail="why", request_id="req-1")
    assert type(error) is error_class
    assert str(error) == f"refused: HTTP {status}, why (request id req-1)"


RESULTS = {
    "type": "Results",
    "channel_index": [0, 1],
    "duration": 1.98,
    "start": 5.99,
    "is_final": True,
    "speech_final": True,
    "from_finalize": False,
    "channel": {
        "alternatives": [
            {
                "transcript": "Tell me more.",
                "confidence": 0.99,
                "words": [
                    {"word": "tell", "start": 6.07, "end": 6.35, "confidence": 0.99,
                     "punctuated_word": "Tell"},
                    {"word": "me", "start": 6.35, "end": 6.63, "confidence": 0.98},
                    {"start": 1},
                ],
            }
        ]
    },
    "metadata": {"request_id": "52cc0efe", "model_info": {"name": "general-nova-3"}},
}  # fmt: skip


def test_results_are_parsed_into_typed_fields() -> None:
    """A Results message yields its transcript, flags, words and request id."""
    message = parse_message(json.dumps(RESULTS))
    assert isinstance(message, Results)
    assert message.transcript == "Tell me more."
    assert (message.is_final, message.speech_final, message.from_finalize) == (True, True, False)
    assert [word.word for word in message.words] == ["tell", "me"]
    assert message.words[0].punctuated_word == "Tell"
    assert message.words[1].punctuated_word is None
    assert message.request_id == "52cc0efe"
    assert message.channel_index == (0, 1)
    assert (message.start, message.duration) == (5.99, 1.98)


@pytest.mark.parametrize(
    "broken",
    [
        {"type": "Results"},
        {"type": "Results", "channel": {"alternatives": "x"}, "is_final": "true", "start": "1"},
        {"type": "Results", "channel": {"alternatives": [{"transcript": 5, "words": [3]}]}},
        {"type": "Results", "channel": [], "metadata": [], "duration": True},
    ],
)
def test_results_with_wrong_types_read_as_empty(broken: dict[str, object]) -> None:
    """Fields of the wrong type read as absent instead of raising."""
    message = parse_message(json.dumps(broken))
    assert isinstance(message, Results)
    assert message.transcript == ""
    assert not message.is_final
    assert message.start == 0.0


def test_other_message_types_are_parsed() -> None:
    """Metadata, UtteranceEnd, SpeechStarted and Error each get their own type."""
    assert parse_message(
        '{"type":"Metadata","request_id":"r","duration":2.5,"channels":1}'
    ) == Metadata(request_id="r", duration=2.5, channels=1)
    assert parse_message('{"type":"Metadata","channels":"2"}') == Metadata(None, 0.0, 0)
    assert parse_message(
        '{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}'
    ) == UtteranceEnd(2.395, (0, 1))
    assert parse_message(
        '{"type":"SpeechStarted","channel":[0,1],"timestamp":9.54}'
    ) == SpeechStarted(9.54, (0, 1))
    assert parse_message(
        '{"type":"Error","variant":"SchemaError","message":"bad","code":"X"}'
    ) == ErrorMessage("SchemaError", "bad", "X")


@pytest.mark.parametrize(
    "text", ["not json", "[1, 2]", '"Results"', '{"type": "Mystery"}', '{"type": 7}', "{}"]
)
def test_unknown_or_malformed_frames_are_skipped(text: str) -> None:
    """Anything that is not a known message is ignored."""
    assert parse_message(text) is None


def _results(transcript: str, *, final: bool, speech_final: bool = False) -> Results:
    return Results(transcript, 0.9, final, speech_final, False, 0.0, 1.0, (), (0, 1), "req")


def test_transcript_joins_every_final_segment() -> None:
    """The transcript is every final segment in order, not only the last one."""
    builder = TranscriptBuilder()
    assert builder.add(_results("turn on", final=False))
    assert builder.partial_text == "turn on"
    assert builder.add(_results("turn on the", final=True))
    assert not builder.add(_results("", final=False))
    assert not builder.add(_results("", final=True))
    assert builder.add(_results("kitchen", final=False))
    assert builder.partial_text == "turn on the kitchen"
    assert not builder.add(_results("kitchen", final=False))
    assert builder.add(_results("kitchen light", final=True, speech_final=True))
    assert not builder.add(Metadata("req", 3.0, 1))
    assert not builder.add(SpeechStarted(0.1, (0, 1)))
    assert builder.text == "turn on the kitchen light"
    assert builder.utterance_ended
    assert builder.heard_speech
    assert builder.has_finals
    assert builder.request_id == "req"


def test_empty_speech_final_without_words_is_not_an_end_of_speech() -> None:
    """An empty final during silence does not mark the end of an utterance."""
    builder = TranscriptBuilder()
    builder.add(_results("", final=True, speech_final=True))
    builder.add(UtteranceEnd(1.0, (0, 1)))
    assert not builder.utterance_ended
    assert not builder.heard_speech
    assert not builder.has_finals
    assert builder.text == ""


def _wav(pcm: bytes, *, extra_chunk: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(pcm)
    data = buffer.getvalue()
    if extra_chunk:  # A LIST chunk before "data", as many recorders write.
        data = (
            data[:36] + b"LIST" + len(extra_chunk).to_bytes(4, "little") + extra_chunk + data[36:]
        )
    return data


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 44, 4096])
@pytest.mark.parametrize("extra_chunk", [b"", b"INFOISFT\x05\x00\x00\x00Lavf\x00\x00"])
def test_wav_header_is_stripped_however_the_stream_is_split(
    chunk_size: int, extra_chunk: bytes
) -> None:
    """Only the PCM after the data chunk header comes out, for any chunking."""
    pcm = bytes(range(256)) * 8
    data = _wav(pcm, extra_chunk=extra_chunk)
    stripper = WavHeaderStripper()
    out = b"".join(stripper.feed(data[i : i + chunk_size]) for i in range(0, len(data), chunk_size))
    assert out + stripper.flush() == pcm


@pytest.mark.parametrize("chunk_size", [1, 5, 640])
def test_raw_pcm_passes_through_untouched(chunk_size: int) -> None:
    """Audio without a RIFF header is not delayed or changed."""
    pcm = b"\x01\x02" * 700
    stripper = WavHeaderStripper()
    out = b"".join(stripper.feed(pcm[i : i + chunk_size]) for i in range(0, len(pcm), chunk_size))
    assert out + stripper.flush() == pcm


def test_short_stream_is_flushed_at_the_end() -> None:
    """A stream shorter than a RIFF header still comes out whole."""
    stripper = WavHeaderStripper()
    assert stripper.feed(b"RI") == b""
    assert stripper.flush() == b"RI"
    assert WavHeaderStripper().feed(b"ab") == b"ab"


def test_truncated_wav_header_yields_nothing() -> None:
    """A stream that ends inside a WAV header carries no audio."""
    stripper = WavHeaderStripper()
    assert stripper.feed(_wav(b"")[:20]) == b""
    assert stripper.flush() == b""


def test_oversized_header_is_given_up_on() -> None:
    """A RIFF stream that never shows its data chunk is passed on as audio."""
    data = b"RIFF\x00\x00\x00\x00WAVE" + b"JUNK" + (1 << 30).to_bytes(4, "little")
    stripper = WavHeaderStripper()
    assert stripper.feed(data) == b""
    filler = b"\x00" * (70 * 1024)
    assert stripper.feed(filler) == data + filler


def test_every_model_lists_real_language_codes() -> None:
    """Every model knows English, and every code has a readable name."""
    for model in SPEECH_MODELS.values():
        assert "en" in model.languages
        for code in model.languages:
            assert not language_name(code).startswith(code.partition("-")[0] + " ")
    assert language_name("en-IN") == "English (India)"
    assert language_name("multi") == "Multilingual"
    assert language_name("zh-Hant") == "Chinese (Traditional)"


@pytest.mark.parametrize(
    ("language", "model", "expected"),
    [
        ("de", "nova-3", "de"),
        ("de-AT", "nova-3", "de"),
        ("pt-BR", "nova-3", "pt-BR"),
        ("en-us", "nova-3", "en-US"),
        ("de", "nova-2-meeting", None),
        ("es-MX", "nova", "es"),
    ],
)
def test_closest_language(language: str, model: str, expected: str | None) -> None:
    """A Home Assistant language maps to the model's exact or base code."""
    assert closest_language(language, model) == expected


def test_utterance_end_after_finals_ends_the_utterance() -> None:
    """UtteranceEnd marks the end once words were finalised, even without speech_final."""
    builder = TranscriptBuilder()
    builder.add(_results("open the blinds", final=True))
    assert not builder.utterance_ended
    builder.add(UtteranceEnd(1.2, (0, 1)))
    assert builder.utterance_ended


def _timed(transcript: str, start: float, end: float, *, final: bool) -> Results:
    """A Results whose words are spread over [start, end] of the audio."""
    tokens = transcript.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(token, start + index * step, start + (index + 1) * step, 0.9)
        for index, token in enumerate(tokens)
    )
    return Results(transcript, 0.9, final, False, False, start, end - start, words, (0, 1), "r")


def test_late_utterance_end_waits_for_newer_interim_words() -> None:
    """An UtteranceEnd pointing at earlier words does not end newer words still interim."""
    builder = TranscriptBuilder()
    builder.add(_timed("turn on the light", 0.3, 1.4, final=True))
    builder.add(_timed("and the", 3.0, 3.6, final=False))
    builder.add(UtteranceEnd(1.4, (0, 1)))
    assert not builder.utterance_ended
    builder.add(_timed("and the fan", 3.0, 3.9, final=True))
    assert not builder.utterance_ended
    builder.add(UtteranceEnd(3.9, (0, 1)))
    assert builder.utterance_ended
    assert builder.text == "turn on the light and the fan"


def test_utterance_end_covering_interim_words_ends_with_their_final() -> None:
    """An UtteranceEnd at the end of interim words ends the utterance once they are final."""
    builder = TranscriptBuilder()
    builder.add(_timed("open the", 0.3, 1.0, final=True))
    builder.add(_timed("blinds", 1.0, 1.5, final=False))
    builder.add(UtteranceEnd(1.5, (0, 1)))
    assert not builder.utterance_ended
    builder.add(_timed("blinds", 1.0, 1.5, final=True))
    assert builder.utterance_ended
    assert builder.text == "open the blinds"


def test_utterance_end_before_newer_final_words_is_forgotten() -> None:
    """A held-back UtteranceEnd does not end words that went on past it."""
    builder = TranscriptBuilder()
    builder.add(_timed("open the", 0.3, 1.0, final=True))
    builder.add(_timed("blinds", 1.0, 1.5, final=False))
    builder.add(UtteranceEnd(1.5, (0, 1)))
    builder.add(_timed("blinds in the kitchen", 1.0, 2.6, final=True))
    assert not builder.utterance_ended


# A TurnInfo as Flux sends it: words without times (Deepgram's docs, language prompting).
FLUX_TURN = {
    "type": "TurnInfo", "request_id": "ad12514a", "sequence_id": 11, "event": "EndOfTurn",
    "turn_index": 0, "audio_window_start": 0, "audio_window_end": 1.3,
    "transcript": "Hello, how are you?", "languages_hinted": ["en", "es"], "languages": ["en"],
    "words": [{"word": "Hello,", "confidence": 0.96}, {"word": "how", "confidence": 0.94}],
    "end_of_turn_confidence": 0.86, "trigger": "model",
}  # fmt: skip


def test_flux_words_have_no_times() -> None:
    """Flux's words carry no start or end: they read as absent, not as zero."""
    message = parse_message(json.dumps(FLUX_TURN))
    assert isinstance(message, TurnInfo)
    assert message.words[0] == Word("Hello,", None, None, 0.96)
    assert (message.event, message.trigger, message.request_id) == (
        "EndOfTurn",
        "model",
        "ad12514a",
    )


def test_flux_connected_and_fatal_error_are_parsed() -> None:
    """Connected names the request; Flux's fatal Error keeps its code and description."""
    assert parse_message(
        '{"type":"Connected","request_id":"01a0cee8","sequence_id":0}'
    ) == Connected("01a0cee8")
    assert parse_message(
        '{"type":"Error","sequence_id":7,"code":"INTERNAL_SERVER_ERROR","description":"boom"}'
    ) == ErrorMessage("", "boom", "INTERNAL_SERVER_ERROR")
    builder = TranscriptBuilder()
    builder.add(Connected("01a0cee8"))
    assert builder.request_id == "01a0cee8"


def test_open_flux_turn_counts_as_text_to_keep() -> None:
    """The turn still open is kept, as final segments are, when a stream fails."""
    builder = TranscriptBuilder()
    update = TurnInfo("Update", 0, "Turn on the", 0.0, (), None, "r")
    builder.add(update)
    assert builder.has_finals
    assert builder.text == "Turn on the"


def test_closed_error_names_the_error_before_the_close() -> None:
    """A close after Flux's Error says both in one message."""
    error = DeepgramConnectionClosedError(
        1011,
        "Deepgram encountered an internal error.",
        request_id="r",
        error_code="INTERNAL_SERVER_ERROR",
        error_description="The model failed.",
    )
    assert str(error) == (
        "Deepgram ended the stream with the Error INTERNAL_SERVER_ERROR: The model failed. "
        "(close code 1011: Deepgram encountered an internal error.) (request id r)"
    )


class _SocketThatSawNoReply:
    """A websocket whose own close handshake failed after Deepgram's close frame."""

    close_code = 1006


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 1000, ""), (1000, "")),
        (aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, 1011, "NET-0001"), (1011, "NET-0001")),
        (aiohttp.WSMessage(aiohttp.WSMsgType.CLOSED, None, None), (1006, "")),
    ],
    ids=["clean close", "Deepgram's reason", "no close frame"],
)
def test_the_close_code_is_the_one_deepgram_sent(
    msg: aiohttp.WSMessage, expected: tuple[int | None, str]
) -> None:
    """Deepgram's close frame decides, not the socket's 1006 when its reply could not go out."""
    assert (
        peer_close(msg, cast("aiohttp.ClientWebSocketResponse", _SocketThatSawNoReply()))
        == expected
    )
