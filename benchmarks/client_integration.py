"""The integration's protocol client, `DeepgramClient.transcribe`, on one aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import aiohttp

from custom_components.deepgram.protocol import DeepgramClient, LiveOptions

from .harness import SAMPLE_RATE, Transcribe

# What the entity asks for 16 kHz mono PCM (see stt.live_options).
OPTIONS = LiveOptions(
    model="nova-3",
    language="en",
    punctuate=True,
    encoding="linear16",
    sample_rate=SAMPLE_RATE,
    channels=1,
)


@asynccontextmanager
async def open_client(server: str, scripts: dict[str, str]) -> AsyncIterator[Transcribe]:
    """One session, as Home Assistant shares one; a client object per API key."""
    async with aiohttp.ClientSession() as session:
        clients = {key: DeepgramClient(key, session=session, server=server) for key in scripts}

        async def transcribe(key: str, audio: AsyncIterator[bytes]) -> str:
            return (await clients[key].transcribe(audio, OPTIONS)).text

        yield transcribe


def versions() -> dict[str, str]:
    """Return the versions of what this client runs on."""
    return {"aiohttp": version("aiohttp")}
