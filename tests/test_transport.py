"""The HTTP plumbing both clients share: URLs, headers, bounds and refusals."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from yarl import URL

from custom_components.deepgram.protocol import (
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramConnectionError,
    DeepgramError,
    DeepgramRateLimitError,
    DeepgramServerError,
    DeepgramSpeaker,
    LiveOptions,
    SpeakOptions,
)
from custom_components.deepgram.protocol.transport import (
    endpoint_url,
    reaching,
    refusal_error,
)
from local_deepgram_server import DeepgramTestServer, LocalCertificate

from .conftest import API_KEY

HOME_ASSISTANT_AGENT = "HomeAssistant/2026.2.3 aiohttp/3.13 Python/3.13"


@pytest.mark.parametrize(
    ("server", "websocket", "expected"),
    [
        ("https://api.deepgram.com", True, "wss://api.deepgram.com/v1/speak"),
        ("https://api.deepgram.com", False, "https://api.deepgram.com/v1/speak"),
        ("http://proxy:8080/deepgram/", True, "ws://proxy:8080/deepgram/v1/speak"),
        ("http://proxy:8080/deepgram", False, "http://proxy:8080/deepgram/v1/speak"),
        ("wss://dg.example", True, "wss://dg.example/v1/speak"),
    ],
)
def test_endpoint_url_keeps_the_prefix_and_picks_the_scheme(
    server: str, websocket: bool, expected: str
) -> None:
    assert str(endpoint_url(server, "/v1/speak", websocket=websocket)) == expected


def test_a_refused_upgrade_reads_its_reason_from_the_headers() -> None:
    error = refusal_error(
        401, "Deepgram refused", headers={"dg-error": "Invalid credentials.", "dg-request-id": "r1"}
    )

    assert isinstance(error, DeepgramAuthenticationError)
    assert error.detail == "Invalid credentials."
    assert error.request_id == "r1"


def test_a_refusal_body_speaks_before_its_headers() -> None:
    error = refusal_error(
        429,
        "Deepgram refused",
        headers={"dg-error": "header reason", "dg-request-id": "header-id"},
        body={"err_msg": "Too many requests.", "request_id": "body-id"},
    )

    assert isinstance(error, DeepgramRateLimitError)
    assert error.detail == "Too many requests."
    assert error.request_id == "body-id"


def test_the_manage_api_shape_and_an_empty_refusal() -> None:
    manage = refusal_error(503, "m", headers={}, body={"message": "Try again later."})
    empty = refusal_error(503, "m", headers={})

    assert isinstance(manage, DeepgramServerError)
    assert manage.detail == "Try again later."
    assert empty.detail is None
    assert empty.request_id is None


async def test_a_request_past_its_bound_is_a_connection_error() -> None:
    never = asyncio.Event()
    url = URL("https://api.deepgram.com/v1/models")

    with pytest.raises(DeepgramConnectionError, match=r"^Timed out listing after 0\.01 s$"):
        async with reaching(url, 0.01, timed_out="Timed out listing"):
            await never.wait()


async def test_an_unreachable_server_is_a_connection_error_naming_the_host(
    socket_enabled: None,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = URL(f"http://127.0.0.1:{port}/v1/projects")

    async with aiohttp.ClientSession() as session:
        with pytest.raises(DeepgramConnectionError, match=r"Cannot connect to 127\.0\.0\.1"):
            async with reaching(url, 5.0, timed_out="Timed out"):
                await session.get(url)


async def test_what_deepgram_answered_passes_through_the_bound() -> None:
    refused = refusal_error(401, "Deepgram refused", headers={})

    with pytest.raises(DeepgramError) as caught:
        async with reaching(URL("https://api.deepgram.com"), 5.0, timed_out="Timed out"):
            raise refused
    assert caught.value is refused


async def test_both_clients_send_the_key_as_a_token_and_keep_the_sessions_user_agent(
    deepgram_server: DeepgramTestServer, local_certificate: LocalCertificate
) -> None:
    """Home Assistant's shared session names Home Assistant; the clients leave that be."""
    connector = aiohttp.TCPConnector(ssl=local_certificate.client_context())
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": HOME_ASSISTANT_AGENT}
    ) as session:
        listening = DeepgramClient(API_KEY, session=session, server=deepgram_server.url)
        speaking = DeepgramSpeaker(API_KEY, session=session, server=deepgram_server.url)
        listen_ws = await listening.connect(
            LiveOptions(model="nova-3", encoding="linear16", sample_rate=16000, channels=1)
        )
        speak_ws = await speaking.connect_stream(SpeakOptions(model="aura-2-thalia-en"))
        await listen_ws.close()
        await speak_ws.close()

    listened = deepgram_server.sessions[0]
    spoke = deepgram_server.speak.sessions[0]
    for record in (listened, spoke):
        assert record.headers["User-Agent"] == HOME_ASSISTANT_AGENT
        assert record.authorization == f"Token {API_KEY}"
