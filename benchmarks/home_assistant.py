"""A Home Assistant in this process, with Deepgram entries on a local server, for scripts.

Home Assistant starts as `hass` does, from a `configuration.yaml` in a config
directory of its own through `bootstrap.async_from_config_dict`, with its
detection of blocking calls in the event loop on (in the form it takes when
`unittest` is loaded: a `time.sleep` there raises, file access goes unreported).
It sets up only what its configuration names and what a script asks for: none
of the default integrations (frontend, backup, cloud...), nothing that needs
the internet.
The integration comes from this repository's `custom_components/`, which Python
finds through the current directory (run the scripts from the repository root).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import functools
import inspect
import logging
from pathlib import Path
import socket
import tempfile
from typing import Any
from unittest.mock import patch

from aiohttp.resolver import AsyncResolver

from custom_components.deepgram.config_flow import DeepgramConfigFlow
from custom_components.deepgram.const import (
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_SERVER,
    DOMAIN,
    SUBENTRY_STT,
    SUBENTRY_VOICE,
)
from custom_components.deepgram.stt_flow import stt_subentry
from custom_components.deepgram.voice_catalogue import voice_subentry
from homeassistant import block_async_io, bootstrap, config as conf_util, config_entries, loader
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

# Where Home Assistant is, and that the http server answers on 127.0.0.1 only.
CONFIGURATION = """\
homeassistant:
  name: Benchmark
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  time_zone: UTC
  country: NL
  language: en
  internal_url: http://127.0.0.1:{port}
http:
  server_host: 127.0.0.1
  server_port: {port}
"""

# Start-up warnings every run of a script would print, about its own set-up.
EXPECTED_WARNINGS = (
    "zlib_ng and isal are not available",
    "We found a custom integration",
)


class _ExpectedWarnings(logging.Filter):
    """Drop the warnings a benchmark's Home Assistant gives on every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(EXPECTED_WARNINGS)


_QUIET = _ExpectedWarnings()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@functools.cache
def _detect_blocking_calls() -> None:
    """Catch blocking calls in the event loop, as `hass` does (once a process)."""
    block_async_io.enable()


@asynccontextmanager
async def running_home_assistant() -> AsyncIterator[HomeAssistant]:
    """Start a Home Assistant that loads custom_components/ and reaches 127.0.0.1.

    Its http server listens on 127.0.0.1 at `hass.config.internal_url`.
    """
    logging.basicConfig(level=logging.WARNING)
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]  # what HA closes
    for name in ("aiohttp_fast_zlib", "homeassistant.loader"):
        logging.getLogger(name).addFilter(_QUIET)  # once: the same filter
    with (
        tempfile.TemporaryDirectory(prefix="deepgram-bench-") as config_dir,
        # Home Assistant's resolver needs zeroconf; the server is an IP address.
        patch("homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=resolver),
    ):
        (Path(config_dir) / "configuration.yaml").write_text(
            CONFIGURATION.format(port=free_port()), encoding="utf-8"
        )
        hass = HomeAssistant(config_dir)
        loader.async_setup(hass)
        hass.config.skip_pip = True
        _detect_blocking_calls()
        config = await conf_util.async_hass_config_yaml(hass)
        with patch.object(bootstrap, "DEFAULT_INTEGRATIONS", set()):
            started = await bootstrap.async_from_config_dict(config, hass)
        if started is None:
            await hass.async_stop(force=True)
            msg = "Home Assistant did not start; its log is above"
            raise RuntimeError(msg)
        try:
            await hass.async_start()
            yield hass
        finally:
            await hass.async_stop()


def _config_entry(**fields: Any) -> config_entries.ConfigEntry:
    """Make a config entry from the fields this Home Assistant's ConfigEntry takes."""
    accepted = inspect.signature(config_entries.ConfigEntry).parameters
    # Required by 2026.2 to 2026.11; a field a release drops is left out.
    defaults: dict[str, Any] = {
        "discovery_keys": {},
        "minor_version": 1,
        "options": {},
        "source": config_entries.SOURCE_USER,
        "subentries_data": None,
        "unique_id": None,
        "version": 1,
    }
    return config_entries.ConfigEntry(
        **{name: value for name, value in (defaults | fields).items() if name in accepted}
    )


async def add_deepgram(
    hass: HomeAssistant, server: str, *, api_key: str = "bench", **options: Any
) -> tuple[config_entries.ConfigEntry, stt.SpeechToTextEntity]:
    """Set up a Deepgram account on `server` with one setting; return it and its entity.

    The server's first account brings a voice, so that one voice serves the benchmarks.
    """
    has_voice = any(
        entry.data[CONF_SERVER] == server
        and any(sub.subentry_type == SUBENTRY_VOICE for sub in entry.subentries.values())
        for entry in hass.config_entries.async_entries(DOMAIN)
    )
    setting = stt_subentry({CONF_MODEL: "nova-3", CONF_LANGUAGE: "en", **options})
    entry = _config_entry(
        domain=DOMAIN,
        title=f"Deepgram {api_key} {options}",
        data={CONF_API_KEY: api_key, CONF_SERVER: server},
        # The current versions, so that no migration runs.
        version=DeepgramConfigFlow.VERSION,
        minor_version=DeepgramConfigFlow.MINOR_VERSION,
        subentries_data=[setting] if has_voice else [setting, voice_subentry(hass)],
    )
    await hass.config_entries.async_add(entry)
    if entry.state is not config_entries.ConfigEntryState.LOADED:
        msg = f"the Deepgram entry did not set up: {entry.state}"
        raise RuntimeError(msg)
    [setting_id] = [
        sub.subentry_id for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_STT
    ]
    entity_id = er.async_get(hass).async_get_entity_id("stt", DOMAIN, setting_id)
    entity = stt.async_get_speech_to_text_entity(hass, entity_id or "")
    if entity is None:
        msg = "the Deepgram entry has no speech-to-text entity"
        raise RuntimeError(msg)
    return entry, entity
