"""No client at all: reads the audio and answers at once, to measure the harness itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .harness import Transcribe


@asynccontextmanager
async def open_client(_server: str, scripts: dict[str, str]) -> AsyncIterator[Transcribe]:
    """Consume each stream and return its expected transcript."""

    async def transcribe(key: str, audio: AsyncIterator[bytes]) -> str:
        async for _ in audio:
            pass
        return scripts[key]

    yield transcribe


def versions() -> dict[str, str]:
    """Nothing beyond the standard library."""
    return {}
