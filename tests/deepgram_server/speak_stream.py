"""One `/v1/speak` websocket stream, and what the speak endpoints record.

Choices where Deepgram's docs are silent:

* Audio is sent only after Flush or Close, in frames of `frame_ms` of audio.
* `Flushed.sequence_id` counts answered Flushes from 0; `Cleared.sequence_id`
  counts Clears from 0.
* A Flush over the limit (20 per 60 s) gets a Warning and is ignored: its text
  stays buffered for the next Flush or Close.
* Close speaks what is left (no Flushed), then closes with 1000.
* Close reasons are `<description> See https://dpgr.am/<payload>`, as on listen.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
from dataclasses import dataclass, field
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from .handshake import CLOSE_TIMEOUT
from .speak_params import MAX_CHARACTERS, SpeakParams
from .synthesis import SynthesisError

if TYPE_CHECKING:
    from .speak import SpeakService

LOGGER = logging.getLogger(__name__)

CLIENT_MESSAGES: Final = ("Speak", "Flush", "Clear", "Close")
# Payloads and descriptions of Deepgram's TTS websocket troubleshooting docs.
CLOSE_DESCRIPTIONS: Final = {
    "MESSAGE-0000": "Input message isn't a supported websocket message type.",
    "DATA-0000": "Input message isn't recognized as a valid command.",
    "DATA-0001": "Too many input characters submitted in recent time window.",
    "BIG-0000": "Input message is too large.",
    "BIG-0001": "Input text has too many characters.",
    "NET-0000": "Internal server error.",
    "NET-0001": "Failed to receive message.",
    "NET-0002": "Failed to send message.",
    "NET-0003": "Time limit exceeded.",
}
EXCESSIVE_FLUSH: Final = {
    "type": "Warning",
    "warn_code": "EXCESSIVE_FLUSH",
    "warn_msg": "Rate limit exceeded for flushes. Please try again later.",
}


def close_reason(payload: str) -> str:
    """Return the close reason for a close payload, e.g. "BIG-0001"."""
    link = payload.lower().replace("-", "")
    return f"{CLOSE_DESCRIPTIONS[payload]} See https://dpgr.am/{link}"


@dataclass(eq=False)
class SpeakRecord:
    """Everything one client sent to `/v1/speak` and got back, with times since it arrived."""

    method: str
    query: list[tuple[str, str]]
    authorization: str | None
    request_id: str
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    status: int = 101
    """101 for an accepted stream, 200 for spoken REST; else the refusal's status."""
    started: float = field(default_factory=time.monotonic)
    received: list[tuple[float, str]] = field(default_factory=list)
    """(seconds, type) of each client message; "invalid" and "binary" for the others."""
    texts: list[str] = field(default_factory=list)
    """The text of every Speak (REST: the body's text)."""
    sent: list[tuple[float, dict[str, Any] | int]] = field(default_factory=list)
    """(seconds, message) of each server frame; an int is a binary frame's size."""
    audio: bytearray = field(default_factory=bytearray)
    answers: list[bytes] = field(default_factory=list)
    """The audio of each answered Flush, in order (and of the final Close, if any)."""
    close_code: int | None = None
    close_reason: str = ""
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def param(self, name: str) -> str | None:
        """Return the first value of a query parameter."""
        return next((value for key, value in self.query if key == name), None)

    def elapsed(self) -> float:
        """Seconds since the request arrived."""
        return time.monotonic() - self.started

    def times(self, kind: str) -> list[float]:
        """When each client message of a type arrived, e.g. times("Flush")."""
        return [at for at, received in self.received if received == kind]

    def messages(self, kind: str) -> list[dict[str, Any]]:
        """The JSON messages of one `type` the server sent."""
        return [
            message
            for _, message in self.sent
            if isinstance(message, dict) and message.get("type") == kind
        ]

    @property
    def flushes(self) -> int:
        """How many Flush messages the client sent."""
        return len(self.times("Flush"))


async def sleep_until(deadline: float) -> None:
    """Sleep until `deadline` (on `time.monotonic`), if it is still ahead."""
    if (wait := deadline - time.monotonic()) > 0:
        await asyncio.sleep(wait)


@dataclass(frozen=True, slots=True)
class _Answer:
    """Audio owed to the client: a Flush's (with its sequence id) or the final Close's."""

    text: str
    requested: float
    sequence_id: int | None


class SpeakStream:
    """One `/v1/speak` websocket: reads messages in order, answers from a task of its own.

    Answers run apart from reading so that Clear can stop audio being sent.
    """

    def __init__(
        self,
        service: SpeakService,
        ws: web.WebSocketResponse,
        record: SpeakRecord,
        params: SpeakParams,
    ) -> None:
        """Serve one accepted stream; the switches are read now."""
        self._service = service
        self._ws = ws
        self.record = record
        self._params = params
        self._silent = service.silent
        self._first_byte_delay = service.first_byte_delay
        self._close_mid_answer = service.close_mid_answer
        self._frame_ms = service.frame_ms
        self._realtime_factor = service.realtime_factor
        self._flush_limit = service.flush_limit
        self._flush_window = service.flush_window
        self._characters_per_minute = service.characters_per_minute
        self._character_window = service.character_window
        self._max_message_bytes = service.max_message_bytes
        self._idle_timeout = service.idle_timeout
        self._buffer: list[str] = []
        self._flush_times: deque[float] = deque()
        self._characters: deque[tuple[float, int]] = deque()
        self._answers: asyncio.Queue[_Answer] = asyncio.Queue()
        self._answering: asyncio.Task[None] | None = None
        self._flushed = 0
        self._cleared = 0
        self._closing = False
        self._audio_sent = 0.0
        self._lock = asyncio.Lock()
        self._close_tasks: set[asyncio.Task[None]] = set()
        self._end = time.monotonic() + service.max_duration

    async def run(self) -> None:
        """Serve until either side closes the stream."""
        answerer = asyncio.create_task(self._answer_all())
        try:
            voice = self._params.voice
            await self._send_json(
                {
                    "type": "Metadata",
                    "request_id": self.record.request_id,
                    "model_name": voice.canonical_name,
                    "model_version": voice.version,
                    "model_uuid": voice.uuid,
                    "additional_model_uuids": [],
                }
            )
            await self._read()
        except ConnectionResetError:
            LOGGER.debug("Speak stream %s lost its connection", self.record.request_id)
        finally:
            answerer.cancel()
            await asyncio.wait([answerer, *self._close_tasks])
            if self.record.close_code is None:
                self.record.close_code = self._ws.close_code
            self.record.closed.set()

    async def shutdown(self) -> None:
        """Close because the server stops; wait until the handler ends."""
        await self._close(1001, "The local Deepgram server is stopping.")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.record.closed.wait(), CLOSE_TIMEOUT + 1)

    async def _read(self) -> None:
        while not self._ws.closed:
            now = time.monotonic()
            if now >= self._end:
                await self._close(1011, close_reason("NET-0003"))
                return
            timeout = min(self._idle_timeout, self._end - now)
            try:
                message = await self._ws.receive(timeout=None if self._silent else timeout)
            except TimeoutError:
                if time.monotonic() < self._end:
                    await self._close(1011, close_reason("NET-0001"))
                continue
            if message.type is WSMsgType.TEXT:
                await self._on_text(message.data)
            elif message.type is WSMsgType.BINARY:
                self.record.received.append((self.record.elapsed(), "binary"))
                await self._fail("MESSAGE-0000", 1003)
            elif message.type is WSMsgType.PING:
                await self._ws.pong(message.data)
            elif message.type is WSMsgType.CLOSE:
                self.record.close_code = message.data if isinstance(message.data, int) else None
                self.record.close_reason = message.extra if isinstance(message.extra, str) else ""
            elif message.type is WSMsgType.ERROR:
                return

    async def _on_text(self, raw: str) -> None:
        at = self.record.elapsed()
        message = _client_message(raw)
        self.record.received.append((at, message.get("type", "invalid") if message else "invalid"))
        if message is not None and message["type"] == "Speak":
            self.record.texts.append(message["text"])
            self._service.text_arrived.set()
        if self._silent or self._closing:
            return
        if len(raw.encode()) > self._max_message_bytes:
            await self._fail("BIG-0000", 1009)
        elif message is None:
            await self._fail("DATA-0000", 1008)
        elif message["type"] == "Speak":
            await self._speak(message["text"])
        elif message["type"] == "Flush":
            await self._flush()
        elif message["type"] == "Clear":
            await self._clear()
        else:
            self._closing = True
            await self._answers.put(_Answer("".join(self._buffer), time.monotonic(), None))
            self._buffer.clear()

    async def _speak(self, text: str) -> None:
        if len(text) > MAX_CHARACTERS:
            await self._fail("BIG-0001", 1009)
            return
        now = time.monotonic()
        while self._characters and self._characters[0][0] <= now - self._character_window:
            self._characters.popleft()
        self._characters.append((now, len(text)))
        if sum(count for _, count in self._characters) > self._characters_per_minute:
            await self._fail("DATA-0001", 1008)
            return
        self._buffer.append(text)

    async def _flush(self) -> None:
        now = time.monotonic()
        while self._flush_times and self._flush_times[0] <= now - self._flush_window:
            self._flush_times.popleft()
        if len(self._flush_times) >= self._flush_limit:
            await self._send_json(dict(EXCESSIVE_FLUSH))
            return
        self._flush_times.append(now)
        await self._answers.put(_Answer("".join(self._buffer), now, self._flushed))
        self._flushed += 1
        self._buffer.clear()

    async def _clear(self) -> None:
        """Drop buffered text and owed audio; stop the answer in progress; say Cleared."""
        self._buffer.clear()
        while not self._answers.empty():
            self._answers.get_nowait()
        if self._answering is not None:
            self._answering.cancel()
            await asyncio.wait([self._answering])
        await self._send_json({"type": "Cleared", "sequence_id": self._cleared})
        self._cleared += 1

    async def _answer_all(self) -> None:
        while True:
            answer = await self._answers.get()
            self._answering = asyncio.create_task(self._answer(answer))
            try:
                await self._answering
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
                continue  # A Clear stopped this answer; the stream goes on.
            finally:
                self._answering = None
            if answer.sequence_id is None:
                self._close_soon(1000, "")
                return

    async def _answer(self, answer: _Answer) -> None:
        """Send the audio of one Flush (or Close), then Flushed."""
        params = self._params
        try:
            audio = await self._service.synthesizer.audio(
                answer.text, params.voice, params.audio, params.speed
            )
        except SynthesisError:
            LOGGER.exception("Speaking failed")
            self._close_soon(1011, close_reason("NET-0000"))
            return
        if audio:  # Nothing to say is answered at once.
            await sleep_until(answer.requested + self._first_byte_delay)
        rate = params.audio.sample_rate * params.audio.bytes_per_sample
        frame = max(rate * self._frame_ms // 1000 // params.audio.bytes_per_sample, 1)
        frame *= params.audio.bytes_per_sample
        started = time.monotonic()
        sent = bytearray()
        for start in range(0, len(audio), frame):
            if self._cut_due():
                return
            chunk = audio[start : start + frame]
            if self._realtime_factor:
                await sleep_until(started + len(sent) / rate / self._realtime_factor)
            await self._send_audio(chunk)
            sent += chunk
        self.record.answers.append(bytes(sent))
        if self._cut_due():
            return
        if answer.sequence_id is not None:
            await self._send_json({"type": "Flushed", "sequence_id": answer.sequence_id})

    def _cut_due(self) -> bool:
        """Whether the `close_mid_answer` fault should close the stream now (and start it)."""
        cut = self._close_mid_answer
        if cut is None or self._audio_sent < cut[0]:
            return False
        self._close_mid_answer = None
        _, code, reason = cut
        self._close_soon(code, reason)
        return True

    def _close_soon(self, code: int, reason: str) -> None:
        """Close from the answering task: in a task of its own, which the reader waits for."""
        task = asyncio.create_task(self._close(code, reason))
        self._close_tasks.add(task)
        task.add_done_callback(self._close_tasks.discard)

    async def _fail(self, payload: str, code: int) -> None:
        await self._close(code, close_reason(payload))

    async def _send_json(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if self._ws.closed:
                return
            self.record.sent.append((self.record.elapsed(), message))
            await self._ws.send_str(json.dumps(message))

    async def _send_audio(self, chunk: bytes) -> None:
        async with self._lock:
            if self._ws.closed:
                return
            self.record.sent.append((self.record.elapsed(), len(chunk)))
            self.record.audio += chunk
            self._audio_sent += len(chunk) / (
                self._params.audio.sample_rate * self._params.audio.bytes_per_sample
            )
            await self._ws.send_bytes(chunk)

    async def _close(self, code: int, reason: str) -> None:
        if self._ws.closed:
            return
        self.record.close_code, self.record.close_reason = code, reason
        await self._ws.close(code=code, message=reason.encode())


def _client_message(raw: str) -> dict[str, Any] | None:
    """Parse a client message; None if it is no valid Speak, Flush, Clear or Close."""
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("type") not in CLIENT_MESSAGES:
        return None
    if message["type"] == "Speak" and not isinstance(message.get("text"), str):
        return None
    return message
