"""A small websocket client of Deepgram's `/v1/speak`: text in, 16-bit PCM out, with timings.

`scripts/transcribe --speak` uses it to check a key, a voice or a server from the
terminal. It keeps to the wire protocol (Metadata, Speak, Flush, Flushed, Close) and
bounds every wait.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import io
import json
import time
from typing import Any
import wave

import aiohttp
from yarl import URL

SPEAK_PATH = "/v1/speak"
SAMPLE_WIDTH = 2
ANSWER_TIMEOUT = 30.0


class SpeakError(Exception):
    """The server refused or broke off the stream."""


@dataclass(slots=True)
class Spoken:
    """The audio of one answer and when things happened, in seconds since the start."""

    pcm: bytearray = field(default_factory=bytearray)
    frames: int = 0
    request_id: str | None = None
    model: str | None = None
    connected: float | None = None
    first_audio: float | None = None
    flushed: float | None = None
    closed: float | None = None
    close_code: int | None = None

    def seconds(self, sample_rate: int) -> float:
        """Return the duration of the audio."""
        return len(self.pcm) / (SAMPLE_WIDTH * sample_rate)


def speak_url(server: str) -> URL:
    """Return the websocket URL of `/v1/speak` on a normalized http(s) server URL."""
    url = URL(server)
    scheme = "wss" if url.scheme == "https" else "ws"
    return url.with_scheme(scheme).with_path(url.path.rstrip("/") + SPEAK_PATH)


async def speak(  # noqa: PLR0913 - the voice and rate are keyword-only settings
    session: aiohttp.ClientSession,
    server: str,
    api_key: str,
    text: str,
    *,
    voice: str,
    sample_rate: int,
) -> Spoken:
    """Speak `text` over one stream: Speak, Flush, audio until Flushed, then Close."""
    spoken = Spoken()
    start = time.monotonic()
    params = {"model": voice, "encoding": "linear16", "sample_rate": str(sample_rate)}
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT):
            ws = await session.ws_connect(
                speak_url(server),
                params=params,
                headers={"Authorization": f"Token {api_key}"},
                autoping=True,
            )
            async with ws:
                spoken.connected = time.monotonic() - start
                await ws.send_json({"type": "Speak", "text": text})
                await ws.send_json({"type": "Flush"})
                await _read_answer(ws, spoken, start)
                await ws.send_json({"type": "Close"})
                await _read_to_close(ws, spoken, start)
    except aiohttp.WSServerHandshakeError as err:
        reason = (err.headers.get("dg-error") if err.headers else None) or err.message
        msg = f"the server refused the stream: HTTP {err.status} {reason}"
        raise SpeakError(msg) from err
    except TimeoutError as err:
        msg = f"no complete answer within {ANSWER_TIMEOUT:g} s"
        raise SpeakError(msg) from err
    except aiohttp.ClientError as err:
        msg = f"cannot reach the server: {err}"
        raise SpeakError(msg) from err
    return spoken


def _message(data: str) -> dict[str, Any]:
    message = json.loads(data)
    return message if isinstance(message, dict) else {}


async def _read_answer(ws: aiohttp.ClientWebSocketResponse, spoken: Spoken, start: float) -> None:
    """Read Metadata and audio until Flushed."""
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.BINARY:
            if spoken.first_audio is None:
                spoken.first_audio = time.monotonic() - start
            spoken.pcm += msg.data
            spoken.frames += 1
        elif msg.type is aiohttp.WSMsgType.TEXT:
            message = _message(msg.data)
            if message.get("type") == "Metadata":
                spoken.request_id = message.get("request_id")
                spoken.model = message.get("model_name")
            elif message.get("type") == "Flushed":
                spoken.flushed = time.monotonic() - start
                return
            elif message.get("type") == "Warning":
                warning = message.get("warn_msg") or message.get("description")
                problem = f"the server warned: {warning}"
                raise SpeakError(problem)
    problem = f"the server closed the stream ({ws.close_code}) before the audio was complete"
    raise SpeakError(problem)


async def _read_to_close(ws: aiohttp.ClientWebSocketResponse, spoken: Spoken, start: float) -> None:
    """Read until the server closes after Close; keep any audio that still comes."""
    async for msg in ws:
        if msg.type is aiohttp.WSMsgType.BINARY:
            spoken.pcm += msg.data
            spoken.frames += 1
    spoken.closed = time.monotonic() - start
    spoken.close_code = ws.close_code


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """Wrap 16-bit mono PCM in a WAV header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()
