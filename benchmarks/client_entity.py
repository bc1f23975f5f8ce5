"""The speech-to-text entity, through a running Home Assistant.

Each API key gets its own config entry (so its own entity), all on Home
Assistant's shared aiohttp session; every utterance goes through
`internal_async_process_audio_stream`, as the Assist pipeline calls it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version
from typing import Any

from homeassistant.components import stt

from .harness import Transcribe
from .home_assistant import PCM_16K_MONO, add_deepgram, running_home_assistant


def open_client(server: str, scripts: dict[str, str]) -> AbstractAsyncContextManager[Transcribe]:
    """Open the entity with the options a new entry gets."""
    return open_with_options({}, server, scripts)


@asynccontextmanager
async def open_with_options(
    options: dict[str, Any], server: str, scripts: dict[str, str]
) -> AsyncIterator[Transcribe]:
    """Start Home Assistant, set up one entry per key, and hand out its entities."""
    async with running_home_assistant() as hass:
        entities: dict[str, stt.SpeechToTextEntity] = {}
        for key in scripts:
            _, entities[key] = await add_deepgram(hass, server, api_key=key, **options)
        await hass.async_block_till_done()

        async def transcribe(key: str, audio: AsyncIterator[bytes]) -> str:
            result = await entities[key].internal_async_process_audio_stream(PCM_16K_MONO, audio)
            if result.result is not stt.SpeechResultState.SUCCESS:
                msg = f"the entity returned {result.result}"
                raise RuntimeError(msg)
            return result.text or ""

        yield transcribe


def versions() -> dict[str, str]:
    """Return the versions of what this client runs on."""
    return {name: version(name) for name in ("homeassistant", "aiohttp")}
