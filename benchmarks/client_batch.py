"""The batch approach: buffer the utterance, POST it as WAV to /v1/listen when it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
import io
import wave

import aiohttp

from .harness import SAMPLE_RATE, Transcribe

QUERY = {"model": "nova-3", "language": "en", "punctuate": "true"}


def wav(pcm: bytes) -> bytes:
    """Wrap 16 kHz mono 16-bit PCM in a RIFF/WAVE header, as upload-style integrations do."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(pcm)
    return buffer.getvalue()


@asynccontextmanager
async def open_client(server: str, _scripts: dict[str, str]) -> AsyncIterator[Transcribe]:
    """One aiohttp session for every upload."""
    url = f"{server}/v1/listen"
    async with aiohttp.ClientSession() as session:

        async def transcribe(key: str, audio: AsyncIterator[bytes]) -> str:
            buffer = bytearray()
            async for chunk in audio:
                buffer += chunk
            async with session.post(
                url,
                params=QUERY,
                data=wav(bytes(buffer)),
                headers={"Authorization": f"Token {key}", "Content-Type": "audio/wav"},
            ) as response:
                response.raise_for_status()
                body = await response.json()
            return str(body["results"]["channels"][0]["alternatives"][0]["transcript"])

        yield transcribe


def versions() -> dict[str, str]:
    """Return the versions of what this client runs on."""
    return {"aiohttp": version("aiohttp")}
