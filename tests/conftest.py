"""Shared fixtures: the local Deepgram server, a client on it, and a config entry."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
import logging
from pathlib import Path
import ssl
import traceback

import aiohttp
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.deepgram.const import (
    ACCOUNT_TITLE,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_PROJECT_ID,
    CONF_SERVER,
    CONF_SPEED,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE,
    VOICE_TITLE,
)
from custom_components.deepgram.protocol import DeepgramClient
from custom_components.deepgram.stt_flow import stt_subentry
from homeassistant.components import tts
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_API_KEY
from homeassistant.util import ssl as ssl_util
from local_deepgram_server import DeepgramTestServer, LocalCertificate

API_KEY = "dg-test-key-4f1c9a"
PROJECT_ID = "3f7c2a9e-5b1d-4c8e-9a6f-0d2e4b6c8a10"


def logged_text(record: logging.LogRecord) -> str:
    """Return everything a log record can put in a log: message, arguments, traceback, stack."""
    parts = [str(record.msg), record.getMessage(), repr(record.args)]
    if record.exc_info:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    parts += [record.exc_text or "", record.stack_info or ""]
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def api_key_never_leaks(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Log everything at debug level, then check that no log record carried the key."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.get_records("setup") + caplog.get_records("call"):
        assert API_KEY not in logged_text(record), f"the API key was logged by {record.name}"


@pytest.fixture(autouse=True)
def tts_cache_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep Home Assistant's TTS file cache per test, out of the shared test config dir."""
    monkeypatch.setattr(tts, "DEFAULT_CACHE_DIR", str(tmp_path / "tts"))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Generator[None]:
    """Let Home Assistant load the integration from custom_components/."""
    return


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Keep snapshots in tests/snapshots with Home Assistant's serializer.

    The test plugin's own override of syrupy's fixture is not picked up under
    pytest 9 (newest Home Assistant), where syrupy's default folder would win.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def home_assistant_client_contexts() -> list[ssl.SSLContext]:
    """Return every client SSL context Home Assistant's shared sessions can use."""
    # Newer versions key the cached contexts by ALPN protocols as well.
    alpn_names = ("SSL_ALPN_NONE", "SSL_ALPN_HTTP11", "SSL_ALPN_HTTP11_HTTP2")
    alpns = [getattr(ssl_util, name) for name in alpn_names if hasattr(ssl_util, name)]
    contexts = [ssl_util.get_default_context(), ssl_util.client_context()]
    for cipher in ssl_util.SSLCipherList:
        if alpns:
            contexts += [ssl_util.client_context(cipher, alpn) for alpn in alpns]
        else:
            contexts.append(ssl_util.client_context(cipher))
    return list({id(context): context for context in contexts}.values())


@pytest.fixture(scope="session")
def local_certificate() -> LocalCertificate:
    """The local server's TLS certificate, trusted by Home Assistant's shared sessions.

    Home Assistant's client contexts are made once per process, so its authority
    is added to them (they keep trusting the public ones).
    """
    certificate = LocalCertificate()
    for context in home_assistant_client_contexts():
        certificate.trust(context)
    return certificate


@pytest.fixture
async def deepgram_server(
    socket_enabled: None, local_certificate: LocalCertificate
) -> AsyncGenerator[DeepgramTestServer]:
    """Run the local Deepgram server on 127.0.0.1 for one test: TLS, bytes in pieces."""
    server = DeepgramTestServer(api_keys={API_KEY}, project_id=PROJECT_ID, tls=local_certificate)
    await server.start()
    yield server
    await server.stop()
    for session in [*server.sessions, *server.rejected]:
        assert all(API_KEY not in value for _, value in session.query), "the key was in a URL"


@pytest.fixture
async def session(
    socket_enabled: None, local_certificate: LocalCertificate
) -> AsyncGenerator[aiohttp.ClientSession]:
    """Give the client an aiohttp session, as Home Assistant would, trusting the local server."""
    connector = aiohttp.TCPConnector(ssl=local_certificate.client_context())
    async with aiohttp.ClientSession(connector=connector) as client_session:
        yield client_session


@pytest.fixture
async def client(
    deepgram_server: DeepgramTestServer, session: aiohttp.ClientSession
) -> AsyncGenerator[DeepgramClient]:
    """Return a client of the local server with short bounds, so failures show fast."""
    deepgram_client = DeepgramClient(
        API_KEY,
        session=session,
        server=deepgram_server.url,
        keepalive_interval=0.2,
        connect_timeout=2.0,
        finish_timeout=1.0,
    )
    yield deepgram_client
    await deepgram_client.close()


def account_entry(
    server: str,
    *settings: tuple[str, str],
    project: str | None = PROJECT_ID,
    api_key: str = API_KEY,
    voice: str | None = "aura-2-thalia-en",
    **options: object,
) -> MockConfigEntry:
    """Return a Deepgram account with a setting per (model, language) and a voice.

    Settings are titled as the config flow titles them, so their entity ids are
    e.g. stt.deepgram_nova_3_english; `options` are set on each of them.
    """
    subentries: list[ConfigSubentryData] = [
        stt_subentry({CONF_MODEL: model, CONF_LANGUAGE: language, **options})
        for model, language in settings or [("nova-3", "en")]
    ]
    if voice is not None:
        subentries.append(
            ConfigSubentryData(
                data={CONF_VOICE: voice, CONF_SPEED: 1.0},
                subentry_type=SUBENTRY_VOICE,
                title=VOICE_TITLE,
                unique_id=None,
            )
        )
    return MockConfigEntry(
        domain=DOMAIN,
        title=ACCOUNT_TITLE,
        unique_id=f"{project}_{server}" if project else f"{api_key}@{server}",
        version=2,
        minor_version=1,
        data={CONF_API_KEY: api_key, CONF_SERVER: server, CONF_PROJECT_ID: project},
        subentries_data=subentries,
    )


@pytest.fixture
def mock_config_entry(deepgram_server: DeepgramTestServer) -> MockConfigEntry:
    """Return a Deepgram account on the local server: Nova-3 in English, and a voice."""
    return account_entry(deepgram_server.url)
