"""Deepgram's text to speech on the local server: REST and websocket `/v1/speak`.

Speech is real (espeak-ng in a voice per Aura model, see `voices` and `synthesis`).
Every request and stream is recorded with the time of each message, and plain
attributes of `SpeakService` switch on faults. Choices where Deepgram's docs are
silent:

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
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import json
import logging
import time
from typing import Any, Final, Protocol

from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from .speak_params import (
    MAX_BODY_BYTES,
    MAX_CHARACTERS,
    SpeakError,
    SpeakParams,
    parse_speak_query,
    validate_speak_query,
)
from .synthesis import SynthesisError, Synthesizer

LOGGER = logging.getLogger(__name__)

SPEAK_PATH: Final = "/v1/speak"
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
_CLOSE_TIMEOUT: Final = 2.0
_SCHEMES: Final = frozenset({"token", "bearer"})
_REST_CHUNK: Final = 8192


def close_reason(payload: str) -> str:
    """Return the close reason for a close payload, e.g. "BIG-0001"."""
    link = payload.lower().replace("-", "")
    return f"{CLOSE_DESCRIPTIONS[payload]} See https://dpgr.am/{link}"


class SpeakHost(Protocol):
    """What the speaking endpoints need of the server: its keys and its address."""

    api_keys: set[str] | None
    grants: set[str]
    self_hosted: bool
    project_id: str

    @property
    def url(self) -> str:
        """The base URL."""
        ...


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


type RequestId = Callable[[web.Request], str]


class SpeakService:
    """`/v1/speak` of one server: routes, switches and records.

    Set the switches (plain attributes) before the client connects; a stream
    reads them when it opens.
    """

    def __init__(self, host: SpeakHost, request_id: RequestId) -> None:
        """Serve for `host`, whose middleware puts `request_id(request)` in `dg-request-id`."""
        self._host = host
        self._request_id = request_id
        self.synthesizer = Synthesizer()
        self.sessions: list[SpeakRecord] = []
        """Accepted websocket streams."""
        self.rejected: list[SpeakRecord] = []
        """Refused websocket upgrades."""
        self.posts: list[SpeakRecord] = []
        """Every REST request, spoken or refused."""
        # Fault switches and timing.
        self.refuse_status: int | None = None
        self.first_byte_delay = 0.05
        self.silent = False
        self.close_mid_answer: tuple[float, int, str] | None = None
        """(seconds of audio sent, close code, reason): close a stream inside an answer."""
        self.frame_ms = 100
        self.realtime_factor: float | None = None
        """Pace audio at this many seconds of audio per second; None sends at once."""
        self.flush_limit = 20
        self.flush_window = 60.0
        self.characters_per_minute = 2400
        self.max_message_bytes = 64 * 1024
        self.idle_timeout = 60.0
        self.max_duration = 3600.0
        self.wav_unknown_length = False
        """Write 0xFFFFFFFF as the sizes of a REST WAV header (a streaming header)."""
        self._live: set[SpeakStream] = set()
        self._stopping = asyncio.Event()

    @property
    def websocket_url(self) -> str:
        """The websocket URL of `/v1/speak`."""
        return self._host.url.replace("http://", "ws://", 1) + SPEAK_PATH

    @property
    def rest_url(self) -> str:
        """The REST URL of `/v1/speak`."""
        return self._host.url + SPEAK_PATH

    @property
    def active_streams(self) -> int:
        """How many speak streams are open now."""
        return len(self._live)

    def add_routes(self, app: web.Application) -> None:
        """Register `/v1/speak` on the server's application."""
        self._stopping.clear()
        app.router.add_get(SPEAK_PATH, self._websocket)
        app.router.add_post(SPEAK_PATH, self._rest)

    async def stop(self) -> None:
        """Close every stream and stop synthesis."""
        self._stopping.set()
        await asyncio.gather(*(stream.shutdown() for stream in list(self._live)))
        await self.synthesizer.close()

    def _record(self, request: web.Request) -> SpeakRecord:
        return SpeakRecord(
            method=request.method,
            query=list(request.query.items()),
            authorization=request.headers.get("Authorization"),
            request_id=self._request_id(request),
            headers=CIMultiDict(request.headers),
        )

    def _authorize(self, request: web.Request) -> str | None:
        """Check the key as the listen endpoints do; return the subprotocol that carried it."""
        host = self._host
        scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
        protocol = None
        if scheme.lower() not in _SCHEMES or not key.strip():
            offered = request.headers.get("Sec-WebSocket-Protocol", "").split(",")
            scheme, key = ([*offered, ""])[:2]
            protocol = scheme.strip()
        scheme, key = scheme.strip().lower(), key.strip()
        if scheme not in _SCHEMES or not key:
            protocol = None
            if not host.self_hosted:
                raise SpeakError(401)
        known = host.api_keys is None or key in host.api_keys
        if host.self_hosted or known or (scheme == "bearer" and key in host.grants):
            return protocol
        raise SpeakError(401)

    def _check(self, request: web.Request, *, websocket: bool) -> tuple[SpeakParams, str | None]:
        """Apply the forced refusal, the query, the key, then the combinations."""
        if self.refuse_status is not None:
            raise SpeakError(self.refuse_status)
        query = parse_speak_query(request.query, websocket=websocket)
        protocol = self._authorize(request)
        return validate_speak_query(query), protocol

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        """Never answer; drop the connection when the server stops."""
        await self._stopping.wait()
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/speak`: the whole text spoken in one streamed body."""
        record = self._record(request)
        self.posts.append(record)
        try:
            params, _ = self._check(request, websocket=False)
            text = await _body_text(request)
            record.texts.append(text)
        except SpeakError as err:
            record.status = err.status
            return err.response(record.request_id)
        if self.silent:
            return await self._hang(request)
        deadline = record.started + self.first_byte_delay
        try:
            audio = await self.synthesizer.audio(text, params.voice, params.audio, params.speed)
        except SynthesisError:
            LOGGER.exception("Speaking failed")
            record.status = 500
            return SpeakError(500).response(record.request_id)
        if params.audio.container == "wav":
            size = None if self.wav_unknown_length else len(audio)
            audio = params.audio.wav_header(size) + audio
        await _sleep_until(deadline)
        response = web.StreamResponse(
            headers={
                "Content-Type": params.audio.content_type,
                "dg-model-name": params.voice.canonical_name,
                "dg-model-uuid": params.voice.uuid,
                "dg-char-count": str(len(text)),
                "dg-project-id": self._host.project_id,
            }
        )
        response.enable_chunked_encoding()
        record.status = 200
        await response.prepare(request)
        cut = self.close_mid_answer
        for start in range(0, len(audio), _REST_CHUNK):
            if cut is not None and start >= len(audio) // 2:
                # A dropped answer: the body ends without its last chunk.
                if request.transport is not None:
                    request.transport.close()
                return response
            chunk = audio[start : start + _REST_CHUNK]
            record.audio += chunk
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/speak`: upgrade to a speaking stream, or refuse like Deepgram."""
        record = self._record(request)
        try:
            params, protocol = self._check(request, websocket=True)
        except SpeakError as err:
            record.status = err.status
            record.closed.set()
            self.rejected.append(record)
            return err.response(record.request_id, upgrade=True)
        ws = web.WebSocketResponse(
            protocols=() if protocol is None else (protocol,),
            autoping=False,
            timeout=_CLOSE_TIMEOUT,
            max_msg_size=0,
            compress=False,
        )
        if not ws.can_prepare(request).ok:
            record.status = 400
            record.closed.set()
            self.rejected.append(record)
            refusal = SpeakError(400, "Expected a websocket upgrade.")
            return refusal.response(record.request_id, upgrade=True)
        self.sessions.append(record)
        stream = SpeakStream(self, ws, record, params)
        self._live.add(stream)
        try:
            await ws.prepare(request)
            await stream.run()
        finally:
            self._live.discard(stream)
            record.closed.set()
        return ws


async def _body_text(request: web.Request) -> str:
    """Return the text to speak from a JSON or plain-text body; raise SpeakError."""
    content_type = request.content_type
    if content_type not in {"application/json", "text/plain"}:
        raise SpeakError(415)
    body = await request.read()
    if len(body) > MAX_BODY_BYTES:
        raise SpeakError(413)
    try:
        decoded = body.decode()
    except UnicodeDecodeError:
        raise SpeakError(400, "Failed to decode payload as UTF-8.", "PAYLOAD_ERROR") from None
    text = decoded if content_type == "text/plain" else _json_text(decoded)
    if not text.strip():
        raise SpeakError(400, "Input text contains no characters.", "Bad Request")
    if len(text) > MAX_CHARACTERS:
        msg = f"Input text exceeds maximum character limit of {MAX_CHARACTERS}."
        raise SpeakError(413, msg, "Payload Too Large")
    return text


def _json_text(decoded: str) -> str:
    payload_error = SpeakError(
        400,
        "Failed to deserialize JSON payload. Please specify exactly one of `text` or `url` "
        "in the JSON body.",
        "PAYLOAD_ERROR",
    )
    try:
        payload = json.loads(decoded)
    except ValueError:
        raise payload_error from None
    if not isinstance(payload, dict) or ("text" in payload) == ("url" in payload):
        raise payload_error
    if "url" in payload:
        # The local server fetches nothing from the network.
        raise SpeakError(400, "Could not fetch content from the url.", "REMOTE_CONTENT_ERROR")
    text = payload["text"]
    if not isinstance(text, str):
        raise payload_error
    return text


async def _sleep_until(deadline: float) -> None:
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
            await asyncio.wait_for(self.record.closed.wait(), _CLOSE_TIMEOUT + 1)

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
        while self._characters and self._characters[0][0] <= now - 60:
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
            await _sleep_until(answer.requested + self._first_byte_delay)
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
                await _sleep_until(started + len(sent) / rate / self._realtime_factor)
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
