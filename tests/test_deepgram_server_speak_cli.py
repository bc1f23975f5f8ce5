"""`scripts/transcribe --speak`: text to the local server's `/v1/speak`, a WAV file back."""

from __future__ import annotations

from collections.abc import AsyncIterator
import io
from pathlib import Path
from typing import NamedTuple
import wave

import pytest

from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speak import close_reason
from tools import speak, transcribe

from . import server_testing

KEY = "cli-speak-key"
TEXT = "The kitchen lights are on."


class Refusal(NamedTuple):
    """A command line that the server refuses: the key, extra arguments, what is printed."""

    key: str
    extra: tuple[str, ...]
    message: str


auto_enable_custom_integrations = server_testing.without_home_assistant


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[DeepgramTestServer]:
    """Run the local server with one key."""
    async with DeepgramTestServer(api_keys={KEY}) as running:
        yield running


def arguments(*extra: str) -> list[str]:
    return ["--speak", TEXT, *extra]


async def test_writes_the_spoken_answer_as_wav(
    server: DeepgramTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(transcribe.API_KEY_VARIABLE, KEY)
    answer = tmp_path / "answer.wav"
    args = transcribe.parser().parse_args(
        arguments("--server", server.url, "--out", str(answer), "--voice", "aura-2-zeus-en")
    )
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_OK

    with wave.open(str(answer)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        pcm = wav.readframes(wav.getnframes())
    (record,) = server.speak.sessions
    assert pcm == bytes(record.audio)
    assert 1.0 < len(pcm) / 32000 < 4.0
    assert record.texts == [TEXT]
    assert [kind for _, kind in record.received] == ["Speak", "Flush", "Close"]
    assert dict(record.query) == {
        "model": "aura-2-zeus-en",
        "encoding": "linear16",
        "sample_rate": "16000",
    }
    assert record.authorization == f"Token {KEY}"
    assert record.close_code == 1000
    text = out.getvalue()
    assert f"Speaking {len(TEXT)} characters with aura-2-zeus-en (16000 Hz) via " in text
    assert f"Wrote {answer}: {len(pcm) / 32000:.2f} s of audio in " in text
    assert "Timings: connected after " in text
    assert "closed (1000) after " in text
    assert f"Request id: {record.request_id}\n" in text


async def test_local_server_needs_no_key(tmp_path: Path, socket_enabled: None) -> None:
    answer = tmp_path / "local.wav"
    args = transcribe.parser().parse_args(
        arguments("--local", "--out", str(answer), "--sample-rate", "24000")
    )
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_OK

    with wave.open(str(answer)) as wav:
        assert wav.getframerate() == 24000
        assert wav.getnframes() > 24000
    assert "speech is espeak-ng" in out.getvalue()


@pytest.mark.parametrize(
    "refusal",
    [
        Refusal("wrong", (), "Error: the server refused the stream: HTTP 401 Invalid credentials."),
        Refusal(
            KEY,
            ("--voice", "aura-2-nobody-en"),
            "HTTP 400 Bad Request: No such model/version combination found.",
        ),
        Refusal(
            KEY,
            ("--sample-rate", "44100"),
            (
                "HTTP 400 Unsupported audio format: `sample_rate` must be 8000, 16000, 24000, "
                "32000, 48000 when `encoding=linear16`"
            ),
        ),
    ],
    ids=["bad-key", "unknown-voice", "bad-rate"],
)
async def test_refusals_are_explained(
    server: DeepgramTestServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refusal: Refusal,
) -> None:
    monkeypatch.setenv(transcribe.API_KEY_VARIABLE, refusal.key)
    answer = tmp_path / "answer.wav"
    args = transcribe.parser().parse_args(
        arguments("--server", server.url, "--out", str(answer), *refusal.extra)
    )
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_FAILED

    assert refusal.message in out.getvalue()
    assert not answer.exists()


async def test_a_broken_off_answer_is_an_error(
    server: DeepgramTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(transcribe.API_KEY_VARIABLE, KEY)
    server.speak.close_mid_answer = (0.2, 1011, close_reason("NET-0000"))
    args = transcribe.parser().parse_args(
        arguments("--server", server.url, "--out", str(tmp_path / "a.wav"))
    )
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_FAILED

    assert "the server closed the stream (1011) before the audio was complete" in out.getvalue()


async def test_a_silent_server_is_waited_for_only_so_long(
    server: DeepgramTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(transcribe.API_KEY_VARIABLE, KEY)
    monkeypatch.setattr(speak, "ANSWER_TIMEOUT", 0.5)
    server.speak.silent = True
    args = transcribe.parser().parse_args(
        arguments("--server", server.url, "--out", str(tmp_path / "a.wav"))
    )
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_FAILED

    assert "Error: no complete answer within 0.5 s" in out.getvalue()
    assert server.speak.sessions[0].flushes == 1


def test_speak_url_keeps_a_path_prefix() -> None:
    assert str(speak.speak_url("https://dg.example.com/proxy")) == (
        "wss://dg.example.com/proxy/v1/speak"
    )
    assert str(speak.speak_url("http://127.0.0.1:8080")) == "ws://127.0.0.1:8080/v1/speak"
