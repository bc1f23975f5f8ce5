"""Every Deepgram region a click away: each request goes to the chosen region's host.

Deepgram's hostnames are mapped to the local server here: a resolver sends every
name to a TLS relay in front of it, which notes the name each connection asked
for (its SNI) before passing the bytes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import socket
from typing import Any
from unittest.mock import patch

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
import pytest
from yarl import URL

from custom_components.deepgram.const import (
    CONF_ADVANCED,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_SERVER,
    DOMAIN,
    REGION_SERVERS,
)
from homeassistant.components import tts
from homeassistant.components.assist_pipeline import PipelineEventType
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from .conftest import API_KEY
from .deepgram_server import DeepgramTestServer, LocalCertificate
from .pipeline import CHUNK, Microphone, run_pipeline
from .speech import chunked, synthesize

PHRASE = "turn on the kitchen light"


class DeepgramHostsResolver(AbstractResolver):
    """Resolve every name to the local relay."""

    def __init__(self, port: int) -> None:
        """Send every name to this port on 127.0.0.1."""
        self._port = port

    async def resolve(
        self,
        host: str,
        port: int = 0,  # noqa: ARG002 - aiohttp's signature: every port alike
        family: socket.AddressFamily = socket.AF_INET,  # noqa: ARG002 - and every family
    ) -> list[ResolveResult]:
        """Return the relay's address for any name."""
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self._port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        """Nothing to release."""


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes one way until the reader ends."""
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


@pytest.fixture
async def hosts_reached(
    deepgram_server: DeepgramTestServer, local_certificate: LocalCertificate
) -> AsyncIterator[list[str]]:
    """Give the integration a session that reaches Deepgram's hosts on the local server.

    The relay presents a certificate for Deepgram's hostnames, which the session
    verifies, and reaches the local server over TLS in turn. Yields the host names
    the integration's connections asked for, in order.
    """
    hosts: list[str] = []
    regions = LocalCertificate(hosts=[URL(server).host or "" for server in REGION_SERVERS.values()])
    context = regions.server_context()
    context.sni_callback = lambda _socket, name, _context: hosts.append(name or "")
    local = URL(deepgram_server.url)
    upstream_tls = local_certificate.client_context() if local.scheme == "https" else None
    tasks: set[asyncio.Task[None]] = set()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            local.host, local.port, ssl=upstream_tls
        )
        pipes = (_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        task = asyncio.ensure_future(asyncio.gather(*pipes))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    relay_server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    port = relay_server.sockets[0].getsockname()[1]
    connector = aiohttp.TCPConnector(
        resolver=DeepgramHostsResolver(port), ssl=regions.client_context()
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        with (
            patch("custom_components.deepgram.async_get_clientsession", return_value=session),
            patch(
                "custom_components.deepgram.config_flow.async_get_clientsession",
                return_value=session,
            ),
        ):
            yield hosts
    relay_server.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await relay_server.wait_closed()


async def set_up_in_region(hass: HomeAssistant, region: str) -> ConfigEntry:
    """Add Deepgram through the form, with the region chosen under Server."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: API_KEY, CONF_MODEL: "nova-3", CONF_ADVANCED: {CONF_SERVER: region}},
    )
    assert result["type"] is FlowResultType.FORM, result.get("errors")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "pipeline"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("default", "api.deepgram.com"),
        ("us", "api.us.deepgram.com"),
        ("eu", "api.eu.deepgram.com"),
        ("au", "api.au.deepgram.com"),
        ("in", "api.in.deepgram.com"),
    ],
)
async def test_every_request_goes_to_the_chosen_region(
    hass: HomeAssistant,
    deepgram_server: DeepgramTestServer,
    hosts_reached: list[str],
    region: str,
    host: str,
) -> None:
    """The key check, the voice list, listening and speaking all reach the region's host."""
    entry = await set_up_in_region(hass, region)
    assert entry.data[CONF_SERVER] == REGION_SERVERS[region] == f"https://{host}"
    deepgram_server.utterances.append(PHRASE)
    microphone = Microphone(chunked(synthesize(PHRASE, trailing_silence=0.0), CHUNK))
    stt_entity = next(iter(hass.data["stt"].entities)).entity_id
    events = await run_pipeline(hass, stt_entity, microphone.stream())
    stt_end = next(event for event in events if event.type is PipelineEventType.STT_END)
    assert stt_end.data == {"stt_output": {"text": PHRASE}}
    engine: Any = tts.get_engine_instance(hass, "tts.deepgram_aura_2")
    extension, audio = await engine.async_get_tts_audio("Hello.", "en", {})
    assert (extension, bool(audio)) == ("mp3", True)

    paths = {path for _, path in deepgram_server.requests}
    assert {"/v1/projects", "/v1/models", "/v1/speak"} <= paths
    assert deepgram_server.sessions, "no stream reached the server"
    assert hosts_reached
    assert set(hosts_reached) == {host}


async def test_reconfigure_shows_the_region_and_moves_to_another(
    hass: HomeAssistant, deepgram_server: DeepgramTestServer, hosts_reached: list[str]
) -> None:
    """An entry in the EU shows "eu" under Server; choosing India checks the key there."""
    entry = await set_up_in_region(hass, "eu")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    server = next(key for key in result["data_schema"].schema if key == CONF_SERVER)
    assert server.description == {"suggested_value": "eu"}
    hosts_reached.clear()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY, CONF_SERVER: "in"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_SERVER] == "https://api.in.deepgram.com"
    await hass.async_block_till_done()
    assert set(hosts_reached) == {"api.in.deepgram.com"}
