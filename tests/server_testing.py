"""What the local server's own tests share: no Home Assistant, a plain HTTP client, a key.

A test module takes a fixture by binding its name, e.g. `http = server_testing.http`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import NamedTuple

import aiohttp
import pytest

from .deepgram_server import DeepgramTestServer, LocalCertificate

SPEAK_KEY = "speak-key"
SENTENCE = "The quick brown fox jumps over the lazy dog."


class Refusal(NamedTuple):
    """An HTTP refusal: status, `err_code` and `err_msg`."""

    status: int
    err_code: str
    err_msg: str


@pytest.fixture(name="auto_enable_custom_integrations", autouse=True)
def without_home_assistant() -> None:
    """Run without Home Assistant: these tests need only the server."""
    return


@pytest.fixture
async def http(
    socket_enabled: None, local_certificate: LocalCertificate
) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session that trusts the local server's TLS certificate."""
    connector = aiohttp.TCPConnector(ssl=local_certificate.client_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


@pytest.fixture(name="server")
async def speak_server(
    socket_enabled: None, local_certificate: LocalCertificate
) -> AsyncIterator[DeepgramTestServer]:
    """A server over TLS that knows `SPEAK_KEY` and answers without a first-byte delay."""
    async with DeepgramTestServer(api_keys={SPEAK_KEY}, tls=local_certificate) as running:
        running.speak.first_byte_delay = 0.0
        yield running


def auth(key: str = SPEAK_KEY) -> dict[str, str]:
    """Return the `Authorization` header of a key."""
    return {"Authorization": f"Token {key}"}


def bad_query(problem: str) -> Refusal:
    """Return `/v1/speak`'s refusal of a query it cannot deserialize."""
    message = f"Failed to deserialize query parameters: {problem}"
    return Refusal(400, "INVALID_QUERY_PARAMETER", message)


def bad_format(problem: str) -> Refusal:
    """Return `/v1/speak`'s refusal of an audio format it does not offer."""
    return Refusal(400, "INVALID_QUERY_PARAMETER", f"Unsupported audio format: {problem}")
