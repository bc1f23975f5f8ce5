"""A protocol-faithful local Deepgram server for tests, a dev instance and benchmarks.

It speaks the live `/v1/listen` websocket as Deepgram does (handshake errors,
Results/Metadata/UtteranceEnd/SpeechStarted, control messages, idle close),
Flux on `/v2/listen` (Connected, TurnInfo turns, Configure, ForceEndTurn; see
`flux`) and a few REST routes, transcribing by a script (`utterances`) instead
of a model. Every stream and request is recorded, and plain attributes switch
on faults.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import hashlib
from http import HTTPStatus
import json
import logging
import secrets
from typing import Any, Final, Self
import uuid

from aiohttp import WSMessage, WSMsgType, web
from multidict import CIMultiDict, MultiDict, MultiMapping

from custom_components.deepgram.protocol.models import DEFAULT_MODEL, SPEECH_MODELS

from .flux import (
    CONTROL_TYPES as FLUX_CONTROL_TYPES,
    FluxParameterError,
    FluxParams,
    TurnEvent,
    TurnTracker,
    parse_flux_query,
    turn_info_fields,
)
from .speak import SpeakService
from .transcriber import (
    AudioMeter,
    Event,
    Segment,
    SpeechStarted,
    Transcriber,
    TranscriberConfig,
    UtteranceEnd,
)
from .voices import LANGUAGE_NAMES, model_by_uuid, tts_models

LOGGER = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
NET0001_REASON: Final = (
    "Deepgram did not receive audio data or a text message within the timeout window. "
    "See https://dpgr.am/net0001"
)
DATA0000_REASON: Final = (
    "Deepgram was unable to decode the audio data. See https://dpgr.am/data0000"
)
FLUX_IDLE_REASON: Final = (
    "Deepgram did not receive audio data, a text message or a ping within the timeout "
    "window. See https://dpgr.am/net0001"
)
DEFAULT_PROJECT_ID: Final = "0b1c9f6e-7d43-4a52-9e8f-5c2d1a7b3e64"

_REQUEST_ID_KEY: Final = "deepgram_request_id"
# How long a close waits for the client's close frame: the client may have stopped reading.
_CLOSE_TIMEOUT: Final = 2.0
_STOP_TIMEOUT: Final = 3.0
_WORD_CONFIDENCE: Final = 0.99
_PRERECORDED_SECONDS_PER_AUDIO_SECOND: Final = 0.01

MODEL_ALIASES: Final = {"nova-3-general": "nova-3", "nova-2-general": "nova-2"}
ENCODINGS: Final = frozenset(
    {
        *("linear16", "linear32", "flac", "alaw", "mulaw", "amr-nb", "amr-wb"),
        *("opus", "ogg-opus", "speex", "g729"),
    }
)
BOOLEAN_PARAMS: Final = frozenset(
    {
        *("interim_results", "vad_events", "punctuate", "smart_format", "numerals"),
        *("profanity_filter", "diarize", "dictation", "detect_entities", "mip_opt_out"),
        *("filler_words", "no_delay", "multichannel", "measurements", "paragraphs"),
    }
)
INTEGER_PARAMS: Final = ("sample_rate", "channels", "utterance_end_ms")
V1_CONTROL_TYPES: Final = ("KeepAlive", "Finalize", "CloseStream", "Configure")

_ERRORS: Final[dict[int, tuple[str, str]]] = {
    400: ("Bad Request", "Bad Request: the request was invalid."),
    401: ("INVALID_AUTH", "Invalid credentials."),
    402: (
        "ASR_PAYMENT_REQUIRED",
        (
            "Project does not have enough credits for an ASR request and does not have an "
            "overage agreement."
        ),
    ),
    403: ("INSUFFICIENT_PERMISSIONS", "Project does not have access to the requested model."),
    404: ("NOT_FOUND", "Not Found"),
    429: ("TOO_MANY_REQUESTS", "Too many requests. Please try again later"),
    500: ("INTERNAL_SERVER_ERROR", "The service is temporarily unavailable. Please try again."),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Please try again."),
}


class DeepgramHTTPError(Exception):
    """A refusal in Deepgram's shape: status, `err_code` and `err_msg`."""

    def __init__(
        self, status: int, err_msg: str | None = None, err_code: str | None = None
    ) -> None:
        """Fill in Deepgram's usual code and message for the status."""
        default_code, default_msg = _ERRORS.get(
            status,
            ("SERVICE_UNAVAILABLE" if status >= 500 else "Bad Request", _phrase(status)),
        )
        self.status = status
        self.err_code = err_code or default_code
        self.err_msg = err_msg or default_msg
        super().__init__(f"{status} {self.err_code}: {self.err_msg}")

    def response(self, request_id: str) -> web.Response:
        """Return the HTTP answer, with the message in `dg-error` and the body."""
        body = {"err_code": self.err_code, "err_msg": self.err_msg, "request_id": request_id}
        return web.json_response(body, status=self.status, headers={"dg-error": self.err_msg})


class FluxHTTPError(DeepgramHTTPError):
    """A refusal of a `/v2/listen` query, in Flux's shape: `{"code", "description"}`."""

    def response(self, request_id: str) -> web.Response:
        """Return the HTTP answer, with the description in `dg-error` and the body."""
        del request_id  # In the `dg-request-id` header only, as Deepgram's docs show it.
        body = {"code": self.err_code, "description": self.err_msg}
        return web.json_response(body, status=self.status, headers={"dg-error": self.err_msg})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


@dataclass(eq=False)
class RecordedSession:
    """Everything one websocket stream carried, in order."""

    path: str
    query: list[tuple[str, str]]
    authorization: str | None
    request_id: str
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    status: int = 101
    """101 for an accepted stream; the HTTP status of a refused one."""
    audio: bytearray = field(default_factory=bytearray)
    frames: list[tuple[str, int | str]] = field(default_factory=list)
    control: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def params(self) -> MultiDict[str]:
        """The query as a multi-dict (repeated keys kept)."""
        return MultiDict(self.query)

    def param(self, name: str) -> str | None:
        """Return the first value of a query parameter."""
        return self.params.get(name)

    def messages(self, kind: str) -> list[dict[str, Any]]:
        """Return the messages of one `type` the server sent."""
        return [message for message in self.sent if message.get("type") == kind]

    @property
    def transcript(self) -> str:
        """The transcripts of every final Results (Flux: EndOfTurn TurnInfo) sent, joined."""
        finals = (
            message["channel"]["alternatives"][0]["transcript"]
            for message in self.messages("Results")
            if message["is_final"]
        )
        turns = (
            message["transcript"]
            for message in self.messages("TurnInfo")
            if message["event"] == "EndOfTurn"
        )
        return " ".join(text for text in (*finals, *turns) if text)


@dataclass(frozen=True, slots=True)
class ListenParams:
    """The query of a listen request, validated as Deepgram does."""

    model: str
    language: str
    encoding: str | None
    sample_rate: int | None
    channels: int
    interim_results: bool
    endpointing: float | None
    utterance_end: float | None
    vad_events: bool
    extra: dict[str, str]

    def transcriber_config(self) -> TranscriberConfig:
        """Return the transcriber settings the query asks for."""
        return TranscriberConfig(
            endpointing=self.endpointing,
            interim_results=self.interim_results,
            utterance_end=self.utterance_end,
            vad_events=self.vad_events,
        )


def parse_listen_query(query: MultiMapping[str]) -> ListenParams:
    """Validate a `/v1/listen` query; raise DeepgramHTTPError(400) as Deepgram would."""
    name = query.get("model", DEFAULT_MODEL)
    model = SPEECH_MODELS.get(MODEL_ALIASES.get(name, name))
    language = query.get("language", "en")
    # Flux models are served on /v2/listen only; v1 does not know them.
    if model is None or model.flux or language not in model.languages:
        raise DeepgramHTTPError(400, "No such model/language/tier combination found.")
    encoding = query.get("encoding")
    if encoding is not None and encoding not in ENCODINGS:
        msg = f"Invalid query string: unknown variant `{encoding}` for `encoding`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    numbers = {key: _integer(query, key) for key in INTEGER_PARAMS}
    if encoding is not None and numbers["sample_rate"] is None:
        msg = "Invalid query string: `sample_rate` is required when `encoding` is set."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    for key in ("sample_rate", "channels"):
        if (value := numbers[key]) is not None and value < 1:
            msg = f"Invalid query string: `{key}` must be a positive integer."
            raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    flags = {key: _boolean(query, key) for key in BOOLEAN_PARAMS}
    endpointing = query.get("endpointing", "10")
    if endpointing != "false" and not endpointing.isdigit():
        msg = "Invalid query string: `endpointing` must be an integer number of ms or `false`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    if "keyterm" in query and not model.supports_keyterms:
        msg = "Keyterm Prompting is only supported for Nova-3 models and Flux."
        raise DeepgramHTTPError(400, msg)
    if "keywords" in query and model.supports_keyterms:
        msg = "Keywords are not supported for Nova-3 models. Use Keyterm Prompting instead."
        raise DeepgramHTTPError(400, msg)
    utterance_end_ms = numbers["utterance_end_ms"]
    return ListenParams(
        model=model.name,
        language=language,
        encoding=encoding,
        sample_rate=numbers["sample_rate"],
        channels=numbers["channels"] or 1,
        interim_results=flags["interim_results"],
        endpointing=None if endpointing == "false" else int(endpointing) / 1000,
        utterance_end=None if utterance_end_ms is None else utterance_end_ms / 1000,
        vad_events=flags["vad_events"],
        extra=dict(item.partition(":")[::2] for item in query.getall("extra", [])),
    )


def _integer(query: MultiMapping[str], key: str) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    if not value.isdigit():
        msg = f"Invalid query string: `{key}` must be an integer, got `{value}`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    return int(value)


def _boolean(query: MultiMapping[str], key: str) -> bool:
    value = query.get(key, "false")
    if value not in {"true", "false"}:
        msg = f"Invalid query string: `{key}` must be `true` or `false`, got `{value}`."
        raise DeepgramHTTPError(400, msg, "INVALID_QUERY_PARAMETER")
    return value == "true"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What Deepgram reports about the model that served a request."""

    name: str
    version: str
    arch: str
    uuid: str

    @classmethod
    def of(cls, model: str) -> ModelInfo:
        """Describe a model of SPEECH_MODELS in Deepgram's naming."""
        # "nova-2-phonecall" -> ("2", "phonecall")
        family, _, use = model.partition("-")[2].partition("-")
        if model.startswith("flux"):
            name, arch, version = model, "flux", "2025-10-02.0"
        elif model.startswith("nova-3"):
            name, arch, version = f"{use or 'general'}-nova-3", "nova-3", "2025-04-17.21547"
        elif model.startswith("nova-2"):
            name, arch, version = f"2-{use or 'general'}-nova", "nova-2", "2024-01-18.26916"
        else:
            name, arch, version = f"{family or 'general'}-nova", "nova", "2024-01-06.5664"
        model_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"deepgram-test-server/{name}"))
        return cls(name, version, arch, model_uuid)

    def as_dict(self) -> dict[str, str]:
        """Return `{name, version, arch}` as in a message's `model_info`."""
        return {"name": self.name, "version": self.version, "arch": self.arch}


def _time(value: float) -> float:
    return round(value, 6)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def metadata_message(
    request_id: str, model: ModelInfo, duration: float, channels: int, extra: Mapping[str, str]
) -> dict[str, Any]:
    """Return the Metadata message that ends a stream."""
    message: dict[str, Any] = {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": request_id,
        "sha256": "incomplete",
        "created": _now(),
        "duration": _time(duration),
        "channels": channels,
        "models": [model.uuid],
        "model_info": {model.uuid: model.as_dict()},
    }
    if extra:
        message["extra"] = dict(extra)
    return message


def results_message(
    segment: Segment, request_id: str, model: ModelInfo, extra: Mapping[str, str]
) -> dict[str, Any]:
    """Return a Results message in Deepgram's exact shape."""
    words = [
        {
            "word": word.plain,
            "start": _time(word.start),
            "end": _time(word.end),
            "confidence": _WORD_CONFIDENCE,
            "punctuated_word": word.text,
        }
        for word in segment.words
    ]
    metadata: dict[str, Any] = {
        "request_id": request_id,
        "model_info": model.as_dict(),
        "model_uuid": model.uuid,
    }
    if extra:
        metadata["extra"] = dict(extra)
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": _time(segment.end - segment.start),
        "start": _time(segment.start),
        "is_final": segment.is_final,
        "speech_final": segment.speech_final,
        "channel": {
            "alternatives": [
                {
                    "transcript": segment.transcript,
                    "confidence": _WORD_CONFIDENCE if words else 0.0,
                    "words": words,
                }
            ]
        },
        "metadata": metadata,
        "from_finalize": segment.from_finalize,
    }


def event_message(
    event: Event, request_id: str, model: ModelInfo, extra: Mapping[str, str]
) -> dict[str, Any]:
    """Return the message for one transcriber event."""
    if isinstance(event, SpeechStarted):
        return {"type": "SpeechStarted", "channel": [0, 1], "timestamp": _time(event.timestamp)}
    if isinstance(event, UtteranceEnd):
        return {
            "type": "UtteranceEnd",
            "channel": [0, 1],
            "last_word_end": _time(event.last_word_end),
        }
    return results_message(event, request_id, model, extra)


def schema_error(raw: str, problem: str) -> dict[str, Any]:
    """Return Deepgram's answer to a text frame it cannot read."""
    return {
        "type": "Error",
        "variant": "SchemaError",
        "description": f"Could not deserialize last text message: {problem}",
        "message": raw,
    }


def _text_problem(
    raw: str, variants: tuple[str, ...]
) -> tuple[str | None, str | None, dict[str, Any]]:
    """Parse a control message; return (type, problem, message) as serde would see it."""
    try:
        message = json.loads(raw)
    except ValueError as err:
        line, column = getattr(err, "lineno", 1), getattr(err, "colno", 1)
        reason = getattr(err, "msg", str(err)).lower()
        return None, f"{reason} at line {line} column {column}", {}
    if not isinstance(message, dict):
        return None, "invalid type: expected internally tagged enum ClientMessage", {}
    kind = message.get("type")
    if not isinstance(kind, str):
        return None, "missing field `type`", message
    if kind not in variants:
        expected = ", ".join(f"`{variant}`" for variant in variants)
        return kind, f"unknown variant `{kind}`, expected one of {expected}", message
    return kind, None, message


class _StreamSession(ABC):
    """What both live endpoints share: frames read in order, the idle timer, faults, closing."""

    _control_types: tuple[str, ...] = ()
    _pings_keep_alive = False

    def __init__(
        self,
        server: DeepgramTestServer,
        ws: web.WebSocketResponse,
        record: RecordedSession,
        meter: AudioMeter,
        idle_timeout: float,
    ) -> None:
        self._server = server
        self._ws = ws
        self.record = record
        self._meter = meter
        # Fault switches are read once, when the stream opens.
        self._silent = server.silent
        self._mute_after_close_stream = server.silent_after_close_stream
        self._close_mid_stream = server.close_mid_stream
        self._inject: list[str | bytes] | None = list(server.inject_frames)
        self._idle_timeout = idle_timeout
        self._muted = False
        self._deadline = 0.0

    def _describe(self, seconds: float) -> str:
        return f"local test server: {seconds:.1f} s of audio, {self._meter.description}"

    async def run(self) -> None:
        """Serve the stream until either side closes it."""
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self._idle_timeout
        try:
            await self._opened()
            while not self._ws.closed:
                message = await self._receive(loop)
                if message is None:
                    await self._idle()
                elif message.type is WSMsgType.BINARY:
                    self._deadline = loop.time() + self._idle_timeout
                    await self._on_audio(message.data)
                elif message.type is WSMsgType.TEXT:
                    self._deadline = loop.time() + self._idle_timeout
                    await self._on_text(message.data)
                elif message.type is WSMsgType.PING:
                    if self._pings_keep_alive:
                        self._deadline = loop.time() + self._idle_timeout
                    await self._ws.pong(message.data)
                elif message.type is not WSMsgType.PONG:
                    self._ended_by_client(message.type, message.data, message.extra)
        except ConnectionResetError:
            LOGGER.debug("Stream %s lost its connection", self.record.request_id)
        finally:
            if self.record.close_code is None:
                self.record.close_code = self._ws.close_code
            self.record.closed.set()

    async def shutdown(self) -> None:
        """Close the stream because the server stops; wait until its handler ends."""
        if not self._ws.closed:
            await self._close(1001, "The local Deepgram server is stopping.")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.record.closed.wait(), _STOP_TIMEOUT)

    @abstractmethod
    async def _opened(self) -> None:
        """Greet the client when the stream opens."""

    @abstractmethod
    async def _idle(self) -> None:
        """The idle timeout passed without a frame that resets it."""

    @abstractmethod
    async def _on_frame(self, end: float, *, speech: bool) -> None:
        """Answer one 10 ms frame of audio."""

    @abstractmethod
    async def _on_control(self, kind: str, message: dict[str, Any]) -> None:
        """Answer a control message of a known type."""

    @abstractmethod
    async def _on_bad_text(self, raw: str, problem: str) -> None:
        """Answer a text frame that is no known control message."""

    async def _close_stream(self) -> None:
        """Answer CloseStream (or a zero-length binary frame): flush, say goodbye, close 1000."""
        if self._mute_after_close_stream:
            self._muted = True
            return
        await self._processing_delay()
        await self._advance(self._meter.flush())
        if self._ws.closed:
            return
        await self._last_words()
        await self._close(1000, "")

    @abstractmethod
    async def _last_words(self) -> None:
        """Send what the protocol sends between CloseStream and the close."""

    async def _receive(self, loop: asyncio.AbstractEventLoop) -> WSMessage | None:
        """Return the next frame, or None when the idle timeout passed first."""
        if self._silent or self._muted:
            return await self._ws.receive()
        remaining = self._deadline - loop.time()
        if remaining <= 0:
            return None
        try:
            return await self._ws.receive(timeout=remaining)
        except TimeoutError:
            return None

    def _ended_by_client(self, kind: WSMsgType, code: Any, reason: Any) -> None:
        if kind is WSMsgType.CLOSE and self.record.close_code is None:
            self.record.close_code = code if isinstance(code, int) else None
            self.record.close_reason = reason if isinstance(reason, str) else ""

    async def _on_audio(self, data: bytes) -> None:
        self.record.frames.append(("binary", len(data)))
        self.record.audio += data
        if self._silent or self._muted:
            return
        if not data:  # The legacy end-of-stream signal.
            await self._close_stream()
            return
        if self._inject is not None:
            for frame in self._inject:
                if isinstance(frame, bytes):
                    await self._ws.send_bytes(frame)
                else:
                    await self._ws.send_str(frame)
            self._inject = None
        frames = self._meter.feed(data)
        if self._meter.undecodable:
            await self._close(1008, DATA0000_REASON)
            return
        await self._advance(frames)

    async def _advance(self, frames: Iterable[tuple[float, bool]]) -> None:
        for end, speech in frames:
            await self._on_frame(end, speech=speech)
            if self._close_mid_stream is not None and end >= self._close_mid_stream[0]:
                _, code, reason = self._close_mid_stream
                await self._close(code, reason)
                return

    async def _on_text(self, raw: str) -> None:
        self.record.frames.append(("text", raw))
        kind, problem, message = _text_problem(raw, self._control_types)
        if kind is not None:
            self.record.control.append(kind)
        if self._silent or self._muted:
            return
        if kind is None or problem is not None:
            await self._on_bad_text(raw, problem or "")
        else:
            await self._on_control(kind, message)

    async def _processing_delay(self) -> None:
        if (delay := self._server.finalize_delay) > 0:
            await asyncio.sleep(delay)

    async def _send(self, message: dict[str, Any]) -> bool:
        """Send a message unless the stream is silent or closed; return whether it was."""
        if self._silent or self._muted or self._ws.closed:
            return False
        self.record.sent.append(message)
        await self._ws.send_str(json.dumps(message))
        return True

    async def _close(self, code: int, reason: str) -> None:
        if self._ws.closed:
            return
        self.record.close_code, self.record.close_reason = code, reason
        await self._ws.close(code=code, message=reason.encode())


class _LiveSession(_StreamSession):
    """One `/v1/listen` websocket: reads frames in order and answers like Deepgram."""

    _control_types = V1_CONTROL_TYPES

    def __init__(
        self,
        server: DeepgramTestServer,
        ws: web.WebSocketResponse,
        record: RecordedSession,
        params: ListenParams,
        next_script: Callable[[], str | None] | None = None,
    ) -> None:
        meter = AudioMeter(
            encoding=params.encoding,
            sample_rate=params.sample_rate,
            channels=params.channels,
            threshold=server.speech_threshold,
        )
        super().__init__(server, ws, record, meter, server.idle_timeout)
        self._params = params
        self._model = ModelInfo.of(params.model)
        self._transcriber = Transcriber(
            params.transcriber_config(),
            next_script=next_script or server.next_utterance,
            describe=self._describe,
        )

    async def _opened(self) -> None:
        """Say nothing: v1 is silent until audio arrives."""

    async def _idle(self) -> None:
        await self._send(self._metadata())
        await self._close(1011, NET0001_REASON)

    async def _on_frame(self, end: float, *, speech: bool) -> None:
        for event in self._transcriber.advance(end, speech=speech):
            await self._send(event_message(event, *self._context))

    async def _on_bad_text(self, raw: str, problem: str) -> None:
        await self._send(schema_error(raw, problem))

    async def _on_control(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "Finalize":
            await self._processing_delay()
            for event in self._transcriber.finalize():
                await self._send(event_message(event, *self._context))
        elif kind == "CloseStream":
            await self._close_stream()
        elif kind == "Configure":
            await self._configure(message)

    async def _configure(self, message: dict[str, Any]) -> None:
        if "keyterms" in message and not SPEECH_MODELS[self._params.model].supports_keyterms:
            await self._send(
                {
                    "type": "Error",
                    "variant": "InvalidConfigureMessage",
                    "description": "`keyterms` are only supported for Nova-3 and Flux.",
                    "code": "KeytermsNotSupported",
                }
            )
            return
        settings = {key: value for key, value in message.items() if key != "type"}
        await self._send(
            {"type": "ConfigureSuccess", "request_id": self.record.request_id, **settings}
        )

    async def _last_words(self) -> None:
        """The last final, then Metadata."""
        for event in self._transcriber.close():
            await self._send(event_message(event, *self._context))
        await self._send(self._metadata())

    @property
    def _context(self) -> tuple[str, ModelInfo, dict[str, str]]:
        return self.record.request_id, self._model, self._params.extra

    def _metadata(self) -> dict[str, Any]:
        return metadata_message(
            self.record.request_id,
            self._model,
            self._meter.seconds,
            self._meter.channels,
            self._params.extra,
        )


class _FluxSession(_StreamSession):
    """One `/v2/listen` websocket: Flux's Connected, TurnInfo events and control messages.

    Choices where Deepgram's docs are silent or disagree:

    * Every message the session sends counts in `sequence_id`; frames of the
      `inject_frames` fault are foreign to the protocol and do not.
    * CloseStream follows the newer docs: the active turn is not ended (no
      EndOfTurn, no Metadata); a last Update carries the whole turn's text,
      then the stream closes with 1000. Deepgram's close carries no status code
      (clients see 1005); aiohttp always sends one, and 1000 means the same.
    * A zero-length binary frame is CloseStream, as on v1 (the reference's
      warning applies to both endpoints).
    * A text frame that is not CloseStream, Configure or ForceEndTurn (KeepAlive
      and Finalize included: Flux has neither) is fatal: Error, then close 1008.
      Deepgram drops such a stream at once; the code is the one its Voice Agent
      API documents for this case.
    * Idle: no binary, text or ping frame for `flux_idle_timeout` seconds gives
      Error, then close 1011 (pings keep Flux alive; there is no KeepAlive).
    * `finalize_delay` holds the answers to CloseStream and ForceEndTurn, as it
      holds v1's CloseStream and Finalize.
    """

    _control_types = FLUX_CONTROL_TYPES
    _pings_keep_alive = True

    def __init__(
        self,
        server: DeepgramTestServer,
        ws: web.WebSocketResponse,
        record: RecordedSession,
        params: FluxParams,
        next_script: Callable[[], str | None] | None = None,
    ) -> None:
        meter = AudioMeter(
            encoding=params.encoding,
            sample_rate=params.sample_rate,
            channels=1,  # Flux has no `channels`: raw audio is mono.
            threshold=server.speech_threshold,
        )
        super().__init__(server, ws, record, meter, server.flux_idle_timeout)
        self._params = params
        self._sequence_id = 0
        self._turns = TurnTracker(
            params.thresholds,
            next_script=next_script or server.next_utterance,
            describe=self._describe,
        )

    async def _opened(self) -> None:
        await self._message("Connected", {})

    async def _idle(self) -> None:
        await self._fatal(
            "CLIENT_MESSAGE_TIMEOUT", FLUX_IDLE_REASON, close_code=1011, reason=FLUX_IDLE_REASON
        )

    async def _on_frame(self, end: float, *, speech: bool) -> None:
        for event in self._turns.advance(end, speech=speech):
            await self._turn_info(event)

    async def _on_bad_text(self, raw: str, problem: str) -> None:
        del raw  # Unlike v1's SchemaError, Flux's Error does not echo the message.
        await self._fatal(
            "UNPARSABLE_CLIENT_MESSAGE",
            f"Could not deserialize last text message: {problem}",
            close_code=1008,
            reason="Deepgram could not parse the last text message.",
        )

    async def _on_control(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "CloseStream":
            await self._close_stream()
        elif kind == "ForceEndTurn":
            await self._processing_delay()
            events = self._turns.force_end()
            if not events:
                await self._message(
                    "Warning",
                    {
                        "code": "FORCE_END_TURN_NO_ACTIVE_TURN",
                        "description": "ForceEndTurn was received, but no turn is active.",
                    },
                )
            for event in events:
                await self._turn_info(event)
        elif kind == "Configure":
            await self._configure(message)

    async def _configure(self, message: dict[str, Any]) -> None:
        try:
            params = self._params.configure(message)
        except FluxParameterError as err:
            fields = {"code": err.code, "description": err.description}
            await self._message("ConfigureFailure", fields)
            return
        self._params = params
        self._turns.thresholds = params.thresholds
        await self._message("ConfigureSuccess", params.settings())

    async def _last_words(self) -> None:
        """The last Update: Flux leaves the turn open."""
        for event in self._turns.close():
            await self._turn_info(event)

    async def _turn_info(self, event: TurnEvent) -> None:
        await self._message("TurnInfo", turn_info_fields(event, self._params))

    async def _fatal(self, code: str, description: str, *, close_code: int, reason: str) -> None:
        """Send Flux's fatal Error, then close the stream."""
        fields = {"code": code, "description": description}
        await self._message("Error", fields, request_id=False)
        await self._close(close_code, reason)

    async def _message(self, kind: str, fields: dict[str, Any], *, request_id: bool = True) -> None:
        """Send `{"type", "request_id", "sequence_id", **fields}`; count it when sent."""
        message: dict[str, Any] = {"type": kind}
        if request_id:  # Deepgram's fatal Error is the one message without it.
            message["request_id"] = self.record.request_id
        message["sequence_id"] = self._sequence_id
        if await self._send({**message, **fields}):
            self._sequence_id += 1


type _Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
type _Credential = tuple[str, str, bool]
type _SessionFactory = Callable[[web.WebSocketResponse, RecordedSession], _StreamSession]


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
    ) -> None:
        """Accept `api_keys` (any non-empty key when None); listen on `host`:`port`.

        `idle_timeout` closes a v1 stream without binary or text frames (NET-0001);
        `flux_idle_timeout` a Flux stream without binary, text or ping frames.
        """
        self.api_keys: set[str] | None = None if api_keys is None else set(api_keys)
        self.project_id = project_id
        self.self_hosted = self_hosted
        self.idle_timeout = idle_timeout
        self.flux_idle_timeout = flux_idle_timeout
        self.host = host
        self.port = port
        self.speech_threshold = speech_threshold
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
        self.close_mid_stream: tuple[float, int, str] | None = None
        self.inject_frames: list[str | bytes] = []
        self.finalize_delay = 0.0
        # Timing and per-key scripts, for benchmarks (see `script_source`).
        self.prerecorded_delay_per_second = _PRERECORDED_SECONDS_PER_AUDIO_SECOND
        self.scripts_by_key: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self._live: set[_StreamSession] = set()
        self._stopping = asyncio.Event()
        self.speak = SpeakService(self, self._request_id)
        """`/v1/speak`: its recorded requests and streams, and its own fault switches."""

    @property
    def url(self) -> str:
        """The base URL, e.g. "http://127.0.0.1:41234"."""
        if self._runner is None:
            msg = "The server is not running; call start() first"
            raise RuntimeError(msg)
        return f"http://{self.host}:{self.port}"

    @property
    def listen_url(self) -> str:
        """The websocket URL of the live endpoint."""
        return self.url.replace("http://", "ws://", 1) + "/v1/listen"

    @property
    def flux_listen_url(self) -> str:
        """The websocket URL of the Flux endpoint."""
        return self.url.replace("http://", "ws://", 1) + "/v2/listen"

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
        site = web.TCPSite(runner, self.host, self.port if port is None else port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        LOGGER.debug("Local Deepgram server on %s", self.url)

    async def stop(self) -> None:
        """Close every stream and stop serving; nothing is left running."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping.set()
        await asyncio.gather(
            *(session.shutdown() for session in list(self._live)), self.speak.stop()
        )
        await runner.cleanup()

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

    def script_source(self, credential: _Credential | None) -> Callable[[], str | None] | None:
        """Return the script of a request whose key is in `scripts_by_key`, else None.

        Many concurrent streams can each get their own transcript this way: the
        first utterance of the stream gets every word of the key's script, later
        ones none. Other requests take `utterances` in turn, as before.
        """
        script = None if credential is None else self.scripts_by_key.get(credential[1])
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

    def _credential(self, request: web.Request) -> _Credential | None:
        """Return (scheme, key, from_subprotocol) of the request's credentials."""
        scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() in {"token", "bearer"} and key.strip():
            return scheme.lower(), key.strip(), False
        protocols = request.headers.get("Sec-WebSocket-Protocol", "")
        offered = [item.strip() for item in protocols.split(",")]
        if len(offered) >= 2 and offered[0].lower() in {"token", "bearer"} and offered[1]:
            return offered[0].lower(), offered[1], True
        return None

    def _check(self, request: web.Request, *, auth: bool = True) -> _Credential | None:
        """Apply the forced status, then the key check; raise DeepgramHTTPError."""
        if self.handshake_status is not None:
            raise DeepgramHTTPError(self.handshake_status)
        credential = self._credential(request)
        if not auth or self.self_hosted:
            return credential
        if credential is None:
            raise DeepgramHTTPError(401)
        scheme, key, _ = credential
        known = self.api_keys is None or key in self.api_keys
        if known or (scheme == "bearer" and key in self.grants):
            return credential
        raise DeepgramHTTPError(401)

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        """Hold the request unanswered until the server stops."""
        await self._stopping.wait()
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/listen`: upgrade to a live stream, or refuse like Deepgram."""
        return await self._accept_stream(request, self._live_session)

    async def _listen_v2(self, request: web.Request) -> web.StreamResponse:
        """`GET /v2/listen`: upgrade to a Flux stream, or refuse like Deepgram."""
        return await self._accept_stream(request, self._flux_session)

    def _live_session(
        self, request: web.Request, credential: _Credential | None
    ) -> _SessionFactory:
        params = parse_listen_query(request.query)
        next_script = self.script_source(credential)
        return lambda ws, record: _LiveSession(self, ws, record, params, next_script)

    def _flux_session(
        self, request: web.Request, credential: _Credential | None
    ) -> _SessionFactory:
        try:
            params = parse_flux_query(request.query)
        except FluxParameterError as err:
            raise FluxHTTPError(400, err.description, err.code) from None
        next_script = self.script_source(credential)
        return lambda ws, record: _FluxSession(self, ws, record, params, next_script)

    async def _accept_stream(
        self,
        request: web.Request,
        validate: Callable[[web.Request, _Credential | None], _SessionFactory],
    ) -> web.StreamResponse:
        """Check the key and the query (`validate`), then serve the session it makes."""
        if self.hang_handshake:
            return await self._hang(request)
        request_id = self._request_id(request)
        record = RecordedSession(
            path=request.path,
            query=list(request.query.items()),
            authorization=request.headers.get("Authorization"),
            request_id=request_id,
            headers=CIMultiDict(request.headers),
        )
        try:
            credential = self._check(request)
            make_session = validate(request, credential)
        except DeepgramHTTPError as err:
            record.status = err.status
            record.closed.set()
            self.rejected.append(record)
            return err.response(request_id)
        protocols = (credential[0],) if credential is not None and credential[2] else ()
        # Deepgram's 101 carries no Sec-WebSocket-Extensions: it never agrees to
        # permessage-deflate, so a client that offers it still sends plain frames.
        ws = web.WebSocketResponse(
            protocols=protocols,
            autoping=False,
            timeout=_CLOSE_TIMEOUT,
            max_msg_size=0,
            compress=False,
        )
        if not ws.can_prepare(request).ok:
            record.status = 400
            record.closed.set()
            self.rejected.append(record)
            return DeepgramHTTPError(400, "Expected a websocket upgrade.").response(request_id)
        ws.headers["access-control-expose-headers"] = (
            "dg-model-name,dg-model-uuid,dg-char-count,dg-request-id,dg-error"
        )
        self.sessions.append(record)
        session = make_session(ws, record)
        self._live.add(session)
        try:
            await ws.prepare(request)
            await session.run()
        finally:
            self._live.discard(session)
            record.closed.set()
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

    async def _models(self, _: web.Request) -> web.StreamResponse:
        """`GET /v1/models`, which needs no key."""
        return web.json_response(
            {"stt": self._stt_models(), "tts": tts_models(), "languages": LANGUAGE_NAMES}
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

    @staticmethod
    def _stt_models() -> list[dict[str, Any]]:
        stt = []
        for name, model in SPEECH_MODELS.items():
            info = ModelInfo.of(name)
            stt.append(
                {
                    "name": info.name,
                    "canonical_name": name,
                    "architecture": info.arch,
                    "languages": list(model.languages),
                    "version": info.version,
                    "uuid": info.uuid,
                    "batch": not model.flux,  # Flux is streaming only.
                    "streaming": True,
                    "formatted_output": True,
                }
            )
        return stt

    async def _grant(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/auth/grant`: a short-lived token to use as `Bearer`."""
        request_id = self._request_id(request)
        try:
            credential = self._check(request)
        except DeepgramHTTPError as err:
            return err.response(request_id)
        if credential is not None and credential[0] != "token":
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
