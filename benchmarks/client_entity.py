"""The speech-to-text entity, through a running Home Assistant.

Each API key gets its own config entry (so its own entity), all on Home
Assistant's shared aiohttp session; every utterance goes through
`internal_async_process_audio_stream`, as the Assist pipeline calls it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import version
import logging
import tempfile
from typing import Any
from unittest.mock import patch

from aiohttp.resolver import AsyncResolver
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.deepgram.const import CONF_LANGUAGE, CONF_MODEL, CONF_SERVER, DOMAIN
from homeassistant import loader
from homeassistant.components import stt
from homeassistant.const import CONF_API_KEY
from homeassistant.helpers import entity_registry as er

from .harness import Transcribe

METADATA = stt.SpeechMetadata(
    language="en",
    format=stt.AudioFormats.WAV,
    codec=stt.AudioCodecs.PCM,
    bit_rate=stt.AudioBitRates.BITRATE_16,
    sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
    channel=stt.AudioChannels.CHANNEL_MONO,
)


def open_client(server: str, scripts: dict[str, str]) -> AbstractAsyncContextManager[Transcribe]:
    """Open the entity with the options a new entry gets."""
    return open_with_options({}, server, scripts)


@asynccontextmanager
async def open_with_options(
    options: dict[str, Any], server: str, scripts: dict[str, str]
) -> AsyncIterator[Transcribe]:
    """Start Home Assistant, set up one entry per key, and hand out its entities."""
    # Home Assistant logs each stream at debug level only; keep the bench's output clean.
    logging.basicConfig(level=logging.WARNING)
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined] - what HA closes
    with (
        tempfile.TemporaryDirectory(prefix="deepgram-bench-") as config_dir,
        # Home Assistant's resolver needs zeroconf, which needs the network
        # integration; the server is an IP address, so no name is ever resolved.
        patch(
            "homeassistant.helpers.aiohttp_client._async_make_resolver",
            return_value=resolver,
        ),
    ):
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # load custom_components/
            registry = er.async_get(hass)
            entities: dict[str, stt.SpeechToTextEntity] = {}
            for index, key in enumerate(scripts):
                entry = MockConfigEntry(
                    domain=DOMAIN,
                    title=f"Bench {index}",
                    data={CONF_API_KEY: key, CONF_SERVER: server},
                    options={CONF_MODEL: "nova-3", CONF_LANGUAGE: "en", **options},
                )
                entry.add_to_hass(hass)
                if not await hass.config_entries.async_setup(entry.entry_id):
                    msg = f"the Deepgram entry did not set up: {entry.state}"
                    raise RuntimeError(msg)
                entity_id = registry.async_get_entity_id("stt", DOMAIN, entry.entry_id)
                entity = stt.async_get_speech_to_text_entity(hass, entity_id or "")
                if entity is None:
                    msg = f"no speech-to-text entity for entry {index}"
                    raise RuntimeError(msg)
                entities[key] = entity
            await hass.async_block_till_done()

            async def transcribe(key: str, audio: AsyncIterator[bytes]) -> str:
                result = await entities[key].internal_async_process_audio_stream(METADATA, audio)
                if result.result is not stt.SpeechResultState.SUCCESS:
                    msg = f"the entity returned {result.result}"
                    raise RuntimeError(msg)
                return result.text or ""

            yield transcribe
            await hass.async_stop(force=True)


def versions() -> dict[str, str]:
    """Return the versions of what this client runs on."""
    return {name: version(name) for name in ("homeassistant", "aiohttp")}
