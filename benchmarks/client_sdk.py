"""The official `deepgram-sdk` 7.x async live client, used as its documentation shows.

Runs in its own venv (`.venv-sdk`): the SDK pins websockets, httpx and pydantic
versions of its own. Done correctly: audio is sent as it arrives while a reader
takes every message, then `CloseStream`, then the reader runs until Deepgram
closes the socket, so the last words are never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from deepgram import AsyncDeepgramClient
from deepgram.environment import DeepgramClientEnvironment
from deepgram.listen.v1.types import ListenV1Results

from .harness import SAMPLE_RATE, Transcribe


@asynccontextmanager
async def open_client(server: str, scripts: dict[str, str]) -> AsyncIterator[Transcribe]:
    """One SDK client, as an SDK-based integration holds per config entry."""
    websocket_url = server.replace("http", "ws", 1)
    environment = DeepgramClientEnvironment(
        base=server, production=websocket_url, agent=websocket_url, agent_rest=server
    )
    client = AsyncDeepgramClient(api_key=next(iter(scripts)), environment=environment)

    async def transcribe(key: str, audio: AsyncIterator[bytes]) -> str:
        finals: list[str] = []
        async with client.listen.v1.connect(
            model="nova-3",
            language="en",
            punctuate="true",
            encoding="linear16",
            sample_rate=SAMPLE_RATE,
            channels=1,
            # The stream's own key: the server picks the utterance's script by it.
            authorization=f"Token {key}",
        ) as socket:

            async def send() -> None:
                async for chunk in audio:
                    await socket.send_media(chunk)
                await socket.send_close_stream()

            sender = asyncio.create_task(send())
            try:
                finals.extend(
                    [
                        message.channel.alternatives[0].transcript
                        async for message in socket
                        if isinstance(message, ListenV1Results) and message.is_final
                    ]
                )
            finally:
                if not sender.done():
                    sender.cancel()
            await sender
        return " ".join(text for text in finals if text)

    yield transcribe


def versions() -> dict[str, str]:
    """Return the versions of what this client runs on."""
    return {name: version(name) for name in ("deepgram-sdk", "websockets")}
