"""Deepgram's text to speech on the local server: REST and websocket `/v1/speak`.

Speech is real (espeak-ng in a voice per Aura model, see `voices` and `synthesis`).
Every request and stream is recorded with the time of each message, and plain
attributes of `SpeakService` switch on faults. A stream is served by `speak_stream`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus
import json
import logging
from typing import Final, Protocol

from aiohttp import web
from multidict import CIMultiDict

from .handshake import hang, key_accepted, request_credential, websocket_response
from .speak_params import (
    MAX_BODY_BYTES,
    MAX_CHARACTERS,
    SpeakError,
    SpeakParams,
    parse_speak_query,
    validate_speak_query,
)
from .speak_stream import (
    CLIENT_MESSAGES,
    CLOSE_DESCRIPTIONS,
    EXCESSIVE_FLUSH,
    SpeakRecord,
    SpeakStream,
    close_reason,
    sleep_until,
)
from .synthesis import SynthesisError, Synthesizer

# The speaking endpoints' names, for tests and tools to import from one place.
__all__ = [
    "CLIENT_MESSAGES",
    "CLOSE_DESCRIPTIONS",
    "EXCESSIVE_FLUSH",
    "FAULTS_PATH",
    "SPEAK_PATH",
    "SpeakHost",
    "SpeakRecord",
    "SpeakService",
    "SpeakStream",
    "close_reason",
]

LOGGER = logging.getLogger(__name__)

SPEAK_PATH: Final = "/v1/speak"
FAULTS_PATH: Final = "/local/speak/faults"
"""Not Deepgram's: sets the refusal switches of a server running as a process (end-to-end tests)."""
_REST_CHUNK: Final = 8192


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
        self.held: list[SpeakRecord] = []
        """Websocket upgrades left unanswered (`hold_upgrades`)."""
        self.posts: list[SpeakRecord] = []
        """Every REST request, spoken or refused."""
        # Fault switches and timing.
        self.refuse_status: int | None = None
        self.refusals_left: int | None = None
        """How many more requests `refuse_status` refuses (then Deepgram recovers); None: all."""
        self.first_byte_delay = 0.05
        self.silent = False
        self.hold_upgrades = False
        """Leave websocket upgrades unanswered: a handshake that never ends (until `stop`)."""
        self.hold_rest_body = False
        """Send a REST answer's headers and first chunk, then hold the rest (until `stop`)."""
        self.arrived = asyncio.Event()
        """Set when a request or an upgrade arrives; clear it to wait for the next one."""
        self.text_arrived = asyncio.Event()
        """Set when text to speak arrives (a REST body or a Speak message); clear it to reuse."""
        self.close_mid_answer: tuple[float, int, str] | None = None
        """(seconds of audio sent, close code, reason): close a stream inside an answer."""
        self.frame_ms = 100
        self.realtime_factor: float | None = None
        """Pace audio at this many seconds of audio per second; None sends at once."""
        self.flush_limit = 20
        self.flush_window = 60.0
        self.characters_per_minute = 2400
        self.character_window = 60.0
        """Seconds over which `characters_per_minute` is counted (Deepgram: a minute)."""
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
        return self._host.websocket_url + SPEAK_PATH

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
        app.router.add_post(FAULTS_PATH, self._set_faults)

    async def stop(self) -> None:
        """Close every stream and stop synthesis."""
        self._stopping.set()
        await asyncio.gather(*(stream.shutdown() for stream in list(self._live)))
        await self.synthesizer.close()

    async def _set_faults(self, request: web.Request) -> web.Response:
        """`POST /local/speak/faults` {"refuse_status": 503, "refusals_left": 1}: set the switches.

        Only the refusal switches, and only with a key the server accepts.
        """
        credential = request_credential(request)
        if credential is None or not key_accepted(self._host, credential):
            return web.Response(status=HTTPStatus.UNAUTHORIZED)
        try:
            switches = await request.json()
            refuse_status = switches.get("refuse_status")
            refusals_left = switches.get("refusals_left")
        except (ValueError, AttributeError):
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        if not all(
            value is None or isinstance(value, int) for value in (refuse_status, refusals_left)
        ):
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        self.refuse_status, self.refusals_left = refuse_status, refusals_left
        return web.json_response({"refuse_status": refuse_status, "refusals_left": refusals_left})

    def _record(self, request: web.Request) -> SpeakRecord:
        self.arrived.set()
        return SpeakRecord(
            method=request.method,
            query=list(request.query.items()),
            authorization=request.headers.get("Authorization"),
            request_id=self._request_id(request),
            headers=CIMultiDict(request.headers),
        )

    def _authorize(self, request: web.Request) -> str | None:
        """Check the key as the listen endpoints do; return the subprotocol that carried it."""
        credential = request_credential(request)
        if not self._host.self_hosted and (
            credential is None or not key_accepted(self._host, credential)
        ):
            raise SpeakError(401)
        return None if credential is None else credential.subprotocol

    def _check(self, request: web.Request, *, websocket: bool) -> tuple[SpeakParams, str | None]:
        """Apply the forced refusal, the query, the key, then the combinations."""
        if self.refuse_status is not None and self.refusals_left != 0:
            if self.refusals_left is not None:
                self.refusals_left -= 1
            raise SpeakError(self.refuse_status)
        query = parse_speak_query(request.query, websocket=websocket)
        protocol = self._authorize(request)
        return validate_speak_query(query), protocol

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/speak`: the whole text spoken in one streamed body."""
        record = self._record(request)
        self.posts.append(record)
        try:
            params, _ = self._check(request, websocket=False)
            text = await _body_text(request)
            record.texts.append(text)
            self.text_arrived.set()
        except SpeakError as err:
            record.status = err.status
            return err.response(record.request_id)
        if self.silent:
            return await hang(request, self._stopping)
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
        await sleep_until(deadline)
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
            if self.hold_rest_body:
                await self._stopping.wait()
                return response
        await response.write_eof()
        return response

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/speak`: upgrade to a speaking stream, or refuse like Deepgram."""
        record = self._record(request)
        if self.hold_upgrades:
            self.held.append(record)
            return await hang(request, self._stopping)
        try:
            params, protocol = self._check(request, websocket=True)
        except SpeakError as err:
            record.status = err.status
            record.closed.set()
            self.rejected.append(record)
            return err.response(record.request_id, upgrade=True)
        ws = websocket_response(protocol)
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
