"""A protocol-faithful local Deepgram server for tests, a dev instance and benchmarks.

It speaks the live `/v1/listen` websocket as Deepgram does (handshake errors,
Results/Metadata/UtteranceEnd/SpeechStarted, control messages, idle close),
Flux on `/v2/listen` (Connected, TurnInfo turns, Configure, ForceEndTurn; see
`flux`) and a few REST routes, transcribing by a script (`utterances`) instead
of a model. Every stream and request is recorded, and plain attributes switch
on faults.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
import hashlib
import logging
import secrets
from typing import Any, Final, Self
import uuid

from aiohttp import web
from multidict import CIMultiDict

from .flux import FluxParameterError, parse_flux_query
from .flux_session import FLUX_IDLE_REASON, FluxSession
from .grammar import DEMO_NAMES
from .handshake import Credential, hang, key_accepted, request_credential, websocket_response
from .listen_messages import ModelInfo, metadata_message, results_message
from .listen_params import ListenParams, parse_listen_query
from .model_list import SpeechModelList
from .network import PIECES, WHOLE_WRITES, LocalCertificate, Network
from .recogniser import SpeechRecogniser
from .refusals import DeepgramHTTPError, FluxHTTPError
from .sessions import (
    DROP_CONNECTION,
    NET0001_REASON,
    LiveSession,
    RecordedSession,
    StreamSession,
)
from .speak import SpeakService
from .transcriber import AudioMeter, Segment, Transcriber, TranscriberConfig
from .voices import LANGUAGE_NAMES, model_by_uuid, tts_models

# Names the tests and tools import from here.
__all__ = [
    "DEFAULT_PROJECT_ID",
    "DROP_CONNECTION",
    "FLUX_IDLE_REASON",
    "HOST",
    "NET0001_REASON",
    "PIECES",
    "WHOLE_WRITES",
    "DeepgramHTTPError",
    "DeepgramTestServer",
    "ListenParams",
    "LocalCertificate",
    "Network",
    "RecordedSession",
    "parse_listen_query",
]

LOGGER = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
DEFAULT_PROJECT_ID: Final = "0b1c9f6e-7d43-4a52-9e8f-5c2d1a7b3e64"

_REQUEST_ID_KEY: Final = "deepgram_request_id"
_PRERECORDED_SECONDS_PER_AUDIO_SECOND: Final = 0.01
# How long stopping waits for connections to finish their last pieces before dropping them.
_CONNECTIONS_CLOSE_TIMEOUT: Final = 1.0
# How long a test waits for the server to see what it expects.
EVENT_TIMEOUT: Final = 10.0


type _Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
type _SessionFactory = Callable[[web.WebSocketResponse, RecordedSession], StreamSession]


class _ObservedList[T](list[T]):
    """A list that tells its owner each time something is appended."""

    def __init__(self, changed: Callable[[], None]) -> None:
        """Start empty; call `changed` after each append."""
        super().__init__()
        self._changed = changed

    def append(self, item: T) -> None:
        """Append, then tell the owner."""
        super().append(item)
        self._changed()


class DeepgramTestServer:
    """A local Deepgram: `/v1/listen` and Flux `/v2/listen` websockets and REST.

    Transcripts follow a script, everything is recorded, and faults can be
    switched on: set the switches (plain attributes) before the client connects.
    """

    def __init__(  # noqa: PLR0913 - all but the keys are keyword-only settings
        self,
        api_keys: Iterable[str] | None = None,
        *,
        project_id: str = DEFAULT_PROJECT_ID,
        self_hosted: bool = False,
        idle_timeout: float = 10.0,
        flux_idle_timeout: float = 60.0,
        host: str = HOST,
        port: int = 0,
        speech_threshold: float = 500.0,
        recogniser: SpeechRecogniser | None = None,
        network: Network = PIECES,
        tls: LocalCertificate | None = None,
    ) -> None:
        """Accept `api_keys` (any non-empty key when None); listen on `host`:`port`.

        `idle_timeout` closes a v1 stream without binary or text frames (NET-0001);
        `flux_idle_timeout` a Flux stream without binary, text or ping frames.
        With a `recogniser`, `/v1/listen` streams transcribe the speech they carry
        (Assist's commands over the request's key terms, else `home_names()`).
        `network` says how bytes reach the client (by default in pieces with gaps,
        as over TCP; `WHOLE_WRITES` as over loopback); with `tls` the server speaks
        https and wss with that certificate.
        """
        self.api_keys: set[str] | None = None if api_keys is None else set(api_keys)
        self.project_id = project_id
        self.self_hosted = self_hosted
        self.idle_timeout = idle_timeout
        self.flux_idle_timeout = flux_idle_timeout
        self.host = host
        self.port = port
        self.speech_threshold = speech_threshold
        self.recogniser = recogniser
        self.network = network
        self.tls = tls
        self.home_names: Callable[[], tuple[str, ...]] = lambda: DEMO_NAMES
        self.utterances: list[str] = []
        self.sessions: list[RecordedSession] = []
        self.rejected: list[RecordedSession] = []
        self.requests: list[tuple[str, str]] = []
        self.grants: set[str] = set()
        # Fault switches.
        self.handshake_status: int | None = None
        self.hang_handshake = False
        self.silent = False
        self.silent_after_close_stream = False
        # (audio seconds, close code, reason); code DROP_CONNECTION drops the connection.
        self.close_mid_stream: tuple[float, int, str] | None = None
        # Flux: at (audio seconds), a fatal Error with (code, description), then close 1011.
        self.flux_fatal_error: tuple[float, str, str] | None = None
        # v1: audio seconds by which each UtteranceEnd comes late, after newer speech if any.
        self.utterance_end_lag = 0.0
        self.inject_frames: list[str | bytes] = []
        self.finalize_delay = 0.0
        # Timing and per-key scripts, for benchmarks (see `script_source`).
        self.prerecorded_delay_per_second = _PRERECORDED_SECONDS_PER_AUDIO_SECOND
        self.scripts_by_key: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._live: set[StreamSession] = set()
        self._stopping = asyncio.Event()
        self.models = SpeechModelList()
        """`/v1/models`' speech models, also those `/v1/listen` serves; switches to change them."""
        self._changed = asyncio.Event()
        self.speak = SpeakService(self, self._request_id)
        """`/v1/speak`: its recorded requests and streams, and its own fault switches."""

    @property
    def url(self) -> str:
        """The base URL, e.g. "http://127.0.0.1:41234" (https with TLS)."""
        if self._runner is None:
            msg = "The server is not running; call start() first"
            raise RuntimeError(msg)
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def websocket_url(self) -> str:
        """The base URL of the websockets, e.g. "ws://127.0.0.1:41234" (wss with TLS)."""
        return "ws" + self.url.removeprefix("http")

    @property
    def listen_url(self) -> str:
        """The websocket URL of the live endpoint."""
        return self.websocket_url + "/v1/listen"

    @property
    def flux_listen_url(self) -> str:
        """The websocket URL of the Flux endpoint."""
        return self.websocket_url + "/v2/listen"

    @property
    def active_streams(self) -> int:
        """How many websocket streams are open now."""
        return len(self._live)

    async def start(self, port: int | None = None) -> None:
        """Bind and serve; `port` 0 (the default) picks a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._record])
        app.on_response_prepare.append(self._add_request_id)
        app.router.add_get("/v1/listen", self._listen)
        app.router.add_post("/v1/listen", self._prerecorded)
        app.router.add_get("/v2/listen", self._listen_v2)
        app.router.add_get("/v1/projects", self._projects)
        app.router.add_get("/v1/status", self._status)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/models/{model_uuid}", self._model)
        self.speak.add_routes(app)
        app.router.add_post("/v1/auth/grant", self._grant)
        self._stopping.clear()
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        loop = asyncio.get_running_loop()
        try:
            # Served directly rather than by a site, so `network` sits under aiohttp's protocol.
            listener = await loop.create_server(
                self.network.serve(runner.server),
                self.host,
                self.port if port is None else port,
                ssl=None if self.tls is None else self.tls.server_context(),
                reuse_address=True,
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener = runner, listener
        self.port = listener.sockets[0].getsockname()[1]
        LOGGER.debug("Local Deepgram server on %s", self.url)

    async def stop(self) -> None:
        """Close every stream and stop serving; nothing is left running."""
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        if runner is None or listener is None:
            return
        self._stopping.set()
        listener.close()
        await asyncio.gather(
            *(session.shutdown() for session in list(self._live)), self.speak.stop()
        )
        await runner.cleanup()
        # Connections finish writing their last pieces; one that cannot is dropped.
        try:
            async with asyncio.timeout(_CONNECTIONS_CLOSE_TIMEOUT):
                await listener.wait_closed()
        except TimeoutError:
            listener.abort_clients()
            await listener.wait_closed()

    def _changed_now(self) -> None:
        """Wake whoever waits for the server's state to change."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until[T](
        self, condition: Callable[[], T | None], within: float = EVENT_TIMEOUT
    ) -> T:
        """Wait until `condition()` is true, re-checked whenever a stream opens, gets or
        sends a message, or ends; return its value. Raise TimeoutError after `within` s.
        """
        async with asyncio.timeout(within):
            while True:
                changed = self._changed
                if value := condition():
                    return value
                await changed.wait()

    async def stream_started(
        self, number: int = 1, within: float = EVENT_TIMEOUT
    ) -> RecordedSession:
        """Wait until the `number`th accepted stream has had its first frame from the client."""

        def started() -> RecordedSession | None:
            """The stream, once it has had a frame (or ended)."""
            if len(self.sessions) < number:
                return None
            record = self.sessions[number - 1]
            return record if record.frames or record.closed.is_set() else None

        return await self.wait_until(started, within)

    async def stream_ended(self, number: int = 1, within: float = EVENT_TIMEOUT) -> RecordedSession:
        """Wait until the `number`th accepted stream has closed; return its record."""

        def ended() -> RecordedSession | None:
            """The stream, once it has closed."""
            if len(self.sessions) < number:
                return None
            record = self.sessions[number - 1]
            return record if record.closed.is_set() else None

        return await self.wait_until(ended, within)

    async def __aenter__(self) -> Self:
        """Start the server for an `async with` block."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server."""
        await self.stop()

    def next_utterance(self) -> str | None:
        """Take the next scripted utterance, or None to describe the audio instead."""
        return self.utterances.pop(0) if self.utterances else None

    def script_source(self, credential: Credential | None) -> Callable[[], str | None] | None:
        """Return the script of a request whose key is in `scripts_by_key`, else None.

        Many concurrent streams can each get their own transcript this way: the
        first utterance of the stream gets every word of the key's script, later
        ones none. Other requests take `utterances` in turn, as before.
        """
        script = None if credential is None else self.scripts_by_key.get(credential.key)
        if script is None:
            return None
        pending = [script]
        return lambda: pending.pop() if pending else ""

    @staticmethod
    def _request_id(request: web.Request) -> str:
        request_id: str | None = request.get(_REQUEST_ID_KEY)
        if request_id is None:
            request_id = request[_REQUEST_ID_KEY] = str(uuid.uuid4())
        return request_id

    async def _add_request_id(self, request: web.Request, response: web.StreamResponse) -> None:
        """Deepgram puts `dg-request-id` on every response, 101 included."""
        response.headers["dg-request-id"] = self._request_id(request)

    @web.middleware
    async def _record(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path not in {"/v1/listen", "/v2/listen"} or request.method != "GET":
            self.requests.append((request.method, request.path))
        return await handler(request)

    def _check(self, request: web.Request) -> Credential | None:
        """Apply the forced status, then the key check; raise DeepgramHTTPError."""
        if self.handshake_status is not None:
            raise DeepgramHTTPError(self.handshake_status)
        credential = request_credential(request)
        if self.self_hosted:
            return credential
        if credential is None or not key_accepted(self, credential):
            raise DeepgramHTTPError(401)
        return credential

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/listen`: upgrade to a live stream, or refuse like Deepgram."""
        return await self._accept_stream(request, self._live_session)

    async def _listen_v2(self, request: web.Request) -> web.StreamResponse:
        """`GET /v2/listen`: upgrade to a Flux stream, or refuse like Deepgram."""
        return await self._accept_stream(request, self._flux_session)

    def _live_session(self, request: web.Request, credential: Credential | None) -> _SessionFactory:
        params = parse_listen_query(request.query, self.models.served)
        next_script = self.script_source(credential)
        return lambda ws, record: LiveSession(self, ws, record, params, next_script)

    def _flux_session(self, request: web.Request, credential: Credential | None) -> _SessionFactory:
        try:
            params = parse_flux_query(request.query)
        except FluxParameterError as err:
            raise FluxHTTPError(400, err.description, err.code) from None
        next_script = self.script_source(credential)
        return lambda ws, record: FluxSession(self, ws, record, params, next_script)

    async def _accept_stream(
        self,
        request: web.Request,
        validate: Callable[[web.Request, Credential | None], _SessionFactory],
    ) -> web.StreamResponse:
        """Check the key and the query (`validate`), then serve the session it makes."""
        if self.hang_handshake:
            return await hang(request, self._stopping)
        request_id = self._request_id(request)
        record = RecordedSession(
            path=request.path,
            query=list(request.query.items()),
            authorization=request.headers.get("Authorization"),
            request_id=request_id,
            headers=CIMultiDict(request.headers),
            frames=_ObservedList(self._changed_now),
            control=_ObservedList(self._changed_now),
            sent=_ObservedList(self._changed_now),
        )
        try:
            credential = self._check(request)
            make_session = validate(request, credential)
        except DeepgramHTTPError as err:
            record.status = err.status
            record.closed.set()
            self.rejected.append(record)
            self._changed_now()
            return err.response(request_id)
        protocol = None
        if credential is not None and credential.subprotocol is not None:
            # Listen agrees to the scheme in lower case, whatever case was offered.
            protocol = credential.scheme
        ws = websocket_response(protocol)
        if not ws.can_prepare(request).ok:
            record.status = 400
            record.closed.set()
            self.rejected.append(record)
            self._changed_now()
            return DeepgramHTTPError(400, "Expected a websocket upgrade.").response(request_id)
        ws.headers["access-control-expose-headers"] = (
            "dg-model-name,dg-model-uuid,dg-char-count,dg-request-id,dg-error"
        )
        self.sessions.append(record)
        self._changed_now()
        session = make_session(ws, record)
        self._live.add(session)
        try:
            await ws.prepare(request)
            session.transport = request.transport
            await session.run()
        finally:
            self._live.discard(session)
            record.closed.set()
            self._changed_now()
        return ws

    async def _projects(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/projects`, the cheap key check; self-hosted servers have no such route."""
        request_id = self._request_id(request)
        if self.self_hosted:
            return DeepgramHTTPError(404).response(request_id)
        try:
            self._check(request)
        except DeepgramHTTPError as err:
            return err.response(request_id)
        return web.json_response({"projects": [{"project_id": self.project_id, "name": "Home"}]})

    async def _status(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/status`: a self-hosted server's health, without auth."""
        if not self.self_hosted:
            return DeepgramHTTPError(404).response(self._request_id(request))
        return web.json_response({"system_health": "Healthy", "active_requests": len(self._live)})

    async def _models(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/models`, which needs no key."""
        if self.models.status is not None:
            return DeepgramHTTPError(self.models.status).response(self._request_id(request))
        return web.json_response(
            {
                "stt": self._stt_models(),
                "tts": tts_models(),
                "languages": {**LANGUAGE_NAMES, **self.models.language_names},
            }
        )

    async def _model(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/models/{uuid}`: one model's entry."""
        model_uuid = request.match_info["model_uuid"]
        entry = model_by_uuid(model_uuid) or next(
            (model for model in self._stt_models() if model["uuid"] == model_uuid), None
        )
        if entry is None:
            refusal = DeepgramHTTPError(404, "Model not found.", "NOT_FOUND")
            return refusal.response(self._request_id(request))
        return web.json_response(entry)

    def _stt_models(self) -> list[dict[str, Any]]:
        """Return `/v1/models`' `stt` list, as the switches of `models` have it."""
        return self.models.entries()

    async def _grant(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/auth/grant`: a short-lived token to use as `Bearer`."""
        request_id = self._request_id(request)
        try:
            credential = self._check(request)
        except DeepgramHTTPError as err:
            return err.response(request_id)
        if credential is not None and credential.scheme != "token":
            refusal = DeepgramHTTPError(403, "Insufficient permissions.", "FORBIDDEN")
            return refusal.response(request_id)
        token = f"local.{secrets.token_urlsafe(24)}"
        self.grants.add(token)
        return web.json_response({"access_token": token, "expires_in": 30})

    async def _prerecorded(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/listen`: transcribe a whole body (raw PCM or WAV) by the script."""
        request_id = self._request_id(request)
        try:
            credential = self._check(request)
            params = parse_listen_query(request.query)
            body = await request.read()
            meter = AudioMeter(
                encoding=params.encoding,
                sample_rate=params.sample_rate,
                channels=params.channels,
                threshold=self.speech_threshold,
            )
            frames = [*meter.feed(body), *meter.flush()] if body else []
            if not body or meter.undecodable:
                msg = "Bad Request: failed to process audio: corrupt or unsupported data"
                raise DeepgramHTTPError(400, msg)  # noqa: TRY301
        except DeepgramHTTPError as err:
            return err.response(request_id)
        transcriber = Transcriber(
            TranscriberConfig(endpointing=params.endpointing),
            next_script=self.script_source(credential) or self.next_utterance,
            describe=lambda seconds: (
                f"local test server: {seconds:.1f} s of audio, {meter.description}"
            ),
        )
        segments = [
            event
            for end, speech in frames
            for event in transcriber.advance(end, speech=speech)
            if isinstance(event, Segment) and event.is_final
        ]
        segments += [event for event in transcriber.close() if isinstance(event, Segment)]
        await asyncio.sleep(self.finalize_delay + self.prerecorded_delay_per_second * meter.seconds)
        model = ModelInfo.of(params.model)
        metadata = metadata_message(request_id, model, meter.seconds, meter.channels, params.extra)
        metadata["sha256"] = hashlib.sha256(body).hexdigest()
        words = [word for segment in segments for word in segment.words]
        joined = Segment(0.0, meter.seconds, tuple(words), is_final=True)
        alternative = results_message(joined, request_id, model, {})["channel"]["alternatives"][0]
        return web.json_response(
            {"metadata": metadata, "results": {"channels": [{"alternatives": [alternative]}]}}
        )
