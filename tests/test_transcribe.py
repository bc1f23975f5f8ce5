"""The scripts/transcribe tool, against the local Deepgram server."""

from __future__ import annotations

from collections.abc import AsyncIterator
import io
from pathlib import Path
import wave

import pytest

from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import synthesize, wav_file
from tools import transcribe

KEY = "cli-test-key"
WORDS = "turn on the kitchen lights"


@pytest.fixture
def speech_wav(tmp_path: Path) -> Path:
    """Write spoken words to a 16 kHz mono WAV file."""
    path = tmp_path / "speech.wav"
    path.write_bytes(wav_file(synthesize(WORDS), 16000, 1))
    return path


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[DeepgramTestServer]:
    """Run the local server with one key and a scripted utterance."""
    async with DeepgramTestServer(api_keys={KEY}) as running:
        running.utterances.append(WORDS)
        yield running


async def test_prints_interim_and_final_results_with_timings(
    server: DeepgramTestServer, speech_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(transcribe.API_KEY_VARIABLE, KEY)
    args = transcribe.parser().parse_args(
        [str(speech_wav), "--server", server.url, "--speed", "0", "--language", "en-US"]
    )
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_OK

    text = out.getvalue()
    assert f"Streaming {speech_wav} (" in text
    assert "16000 Hz mono) to " in text
    assert " connected" in text
    assert f"final     '{WORDS}'" in text
    assert "all " in text
    assert f"Transcript: {WORDS}\n" in text
    assert "Timings: connected after " in text
    (session,) = server.sessions
    assert session.param("model") == "nova-3"
    assert session.param("language") == "en-US"
    assert session.param("encoding") == "linear16"
    assert session.param("sample_rate") == "16000"
    assert session.param("interim_results") == "true"


async def test_a_refused_key_is_an_error(
    server: DeepgramTestServer, speech_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(transcribe.API_KEY_VARIABLE, "wrong")
    args = transcribe.parser().parse_args([str(speech_wav), "--server", server.url])
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_FAILED

    assert "error" in out.getvalue()
    assert "401" in out.getvalue()


async def test_local_runs_its_own_server_that_hears_the_command(
    socket_enabled: None, speech_wav: Path
) -> None:
    args = transcribe.parser().parse_args(
        ["--local", str(speech_wav), "--speed", "0", "--no-interim"]
    )
    out = io.StringIO()

    assert await transcribe.run(args, out) == transcribe.EXIT_OK

    # The recogniser may drop the plural's "s": the demo home names "Kitchen Light".
    assert "Transcript: turn on the kitchen light" in out.getvalue()
    assert "interim" not in out.getvalue()


def test_deepgram_cloud_needs_a_key(
    speech_wav: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(transcribe.API_KEY_VARIABLE, raising=False)
    monkeypatch.delenv("DEEPGRAM_SERVER", raising=False)

    assert transcribe.main([str(speech_wav)]) == transcribe.EXIT_USAGE

    assert "set DEEPGRAM_API_KEY" in capsys.readouterr().err


def test_other_servers_need_no_key() -> None:
    assert transcribe.api_key_for("http://127.0.0.1:8080", {}) == transcribe.LOCAL_API_KEY
    assert transcribe.api_key_for("https://api.deepgram.com", {"DEEPGRAM_API_KEY": "k"}) == "k"


def test_only_16_bit_wav_files_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eight_bit = tmp_path / "8bit.wav"
    with wave.open(str(eight_bit), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(800))
    not_wav = tmp_path / "notes.txt"
    not_wav.write_text("not audio")

    assert transcribe.main([str(eight_bit)]) == transcribe.EXIT_USAGE
    assert "8-bit samples" in capsys.readouterr().err
    assert transcribe.main([str(not_wav)]) == transcribe.EXIT_USAGE
    assert "cannot read" in capsys.readouterr().err


def test_rejects_a_negative_speed(speech_wav: Path) -> None:
    with pytest.raises(SystemExit):
        transcribe.main([str(speech_wav), "--speed", "-1"])
