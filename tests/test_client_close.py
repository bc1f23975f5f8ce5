"""Closing the client stops every stream, mid-handshake too, and waits for all its tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from custom_components.deepgram.protocol import DeepgramClient, DeepgramConnectionError, LiveOptions
from local_deepgram_server import DeepgramTestServer, server as server_module
from local_deepgram_server.handshake import hang

PCM = LiveOptions(model="nova-3", language="en", encoding="linear16", sample_rate=16000, channels=1)


def stream_tasks() -> list[asyncio.Task[object]]:
    """Return the tasks of live streams still running: reader, sender, keepalive, handshake."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and getattr(task.get_coro(), "__qualname__", "").startswith(
            ("LiveStream.", "DeepgramClient.connect")
        )
    ]


async def until(condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds; a guard, not a timing, bounds the wait."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - the server's record has no event
            await asyncio.sleep(0.005)


async def microphone_that_stalls() -> AsyncIterator[bytes]:
    """Yield 20 ms of silence, then nothing until cancelled."""
    yield bytes(640)
    await asyncio.Event().wait()


@pytest.fixture
def handshake_started(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Return an event set when the server holds a handshake unanswered (`hang_handshake`)."""
    started = asyncio.Event()

    async def hang_and_tell(*args: object) -> object:
        started.set()
        return await hang(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(server_module, "hang", hang_and_tell)
    return started


async def test_close_stops_a_stream_in_its_handshake(
    client: DeepgramClient, deepgram_server: DeepgramTestServer, handshake_started: asyncio.Event
) -> None:
    """A stream whose upgrade is unanswered ends at close(), not at the connect timeout."""
    deepgram_server.hang_handshake = True
    client.connect_timeout = 3600  # only close() can end this handshake
    task = asyncio.create_task(client.transcribe(microphone_that_stalls(), PCM))
    async with asyncio.timeout(30):
        await handshake_started.wait()

    await client.close()
    assert not client.streams
    assert stream_tasks() == []
    with pytest.raises(DeepgramConnectionError, match="shutting down"):
        await task


async def test_close_awaits_every_task_of_an_open_stream(
    client: DeepgramClient, deepgram_server: DeepgramTestServer
) -> None:
    """After close() no task of the stream is left, the keepalive task included."""
    task = asyncio.create_task(client.transcribe(microphone_that_stalls(), PCM))
    # The socket is open, the audio is out and the keepalive task has sent a KeepAlive.
    await until(
        lambda: (
            bool(deepgram_server.sessions) and "KeepAlive" in deepgram_server.sessions[0].control
        )
    )
    assert any("_keep_alive" in task.get_coro().__qualname__ for task in stream_tasks())

    await client.close()
    assert not client.streams
    assert stream_tasks() == []
    with pytest.raises(DeepgramConnectionError, match="shutting down"):
        await task


async def test_a_caller_cancelled_in_the_handshake_is_cancelled(
    client: DeepgramClient, deepgram_server: DeepgramTestServer, handshake_started: asyncio.Event
) -> None:
    """Cancelling the caller mid-handshake is a cancellation, not a Deepgram error."""
    deepgram_server.hang_handshake = True
    client.connect_timeout = 3600
    task = asyncio.create_task(client.transcribe(microphone_that_stalls(), PCM))
    async with asyncio.timeout(30):
        await handshake_started.wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not client.streams
    assert stream_tasks() == []
