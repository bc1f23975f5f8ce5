"""A Home Assistant in this process, with Deepgram entries on a local server, for scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

PCM_16K_MONO = stt.SpeechMetadata(
    language="en",
    format=stt.AudioFormats.WAV,
    codec=stt.AudioCodecs.PCM,
    bit_rate=stt.AudioBitRates.BITRATE_16,
    sample_rate=stt.AudioSampleRates.SAMPLERATE_16000,
    channel=stt.AudioChannels.CHANNEL_MONO,
)


@asynccontextmanager
async def running_home_assistant() -> AsyncIterator[HomeAssistant]:
    """Start a Home Assistant that loads custom_components/ and reaches 127.0.0.1."""
    # Each stream logs at debug level only; keep a script's output clean.
    logging.basicConfig(level=logging.WARNING)
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined] - what HA closes
    with (
        tempfile.TemporaryDirectory(prefix="deepgram-bench-") as config_dir,
        # Home Assistant's resolver needs zeroconf; the server is an IP address.
        patch("homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=resolver),
    ):
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # load custom_components/
            yield hass
            await hass.async_stop(force=True)


async def add_deepgram(
    hass: HomeAssistant, server: str, *, api_key: str = "bench", **options: Any
) -> tuple[MockConfigEntry, stt.SpeechToTextEntity]:
    """Set up a Deepgram entry on `server`; return it and its entity."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Deepgram {api_key} {options}",
        data={CONF_API_KEY: api_key, CONF_SERVER: server},
        options={CONF_MODEL: "nova-3", CONF_LANGUAGE: "en", **options},
    )
    entry.add_to_hass(hass)
    if not await hass.config_entries.async_setup(entry.entry_id):
        msg = f"the Deepgram entry did not set up: {entry.state}"
        raise RuntimeError(msg)
    entity_id = er.async_get(hass).async_get_entity_id("stt", DOMAIN, entry.entry_id)
    entity = stt.async_get_speech_to_text_entity(hass, entity_id or "")
    if entity is None:
        msg = "the Deepgram entry has no speech-to-text entity"
        raise RuntimeError(msg)
    return entry, entity
