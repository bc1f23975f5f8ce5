"""The live listen streams: what `/v1/listen` and Flux share, and `/v1/listen` itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Callable, Iterable
import contextlib
from dataclasses import dataclass, field, replace
from http import HTTPStatus
import json
import logging
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMessage, WSMsgType, web
from multidict import CIMultiDict, MultiDict

from custom_components.deepgram.protocol.models import SPEECH_MODELS

from .grammar import query_names
from .hearing import FINAL_EVERY_SECONDS, Hearing
from .listen_messages import ModelInfo, event_message, metadata_message, schema_error, text_problem
from .listen_params import ListenParams
from .transcriber import AudioMeter, Event, Segment, Transcriber

if TYPE_CHECKING:
    from .server import DeepgramTestServer

LOGGER = logging.getLogger(__name__)

# A close code never sent on the wire: `close_mid_stream` with it drops the connection instead.
DROP_CONNECTION: Final = 1006
NET0001_REASON: Final = (
    "Deepgram did not receive audio data or a text message within the timeout window. "
    "See https://dpgr.am/net0001"
)
DATA0000_REASON: Final = (
    "Deepgram was unable to decode the audio data. See https://dpgr.am/data0000"
)
_STOP_TIMEOUT: Final = 3.0
V1_CONTROL_TYPES: Final = ("KeepAlive", "Finalize", "CloseStream", "Configure")


@dataclass(eq=False)
class RecordedSession:
    """Everything one websocket stream carried, in order."""

    path: str
    query: list[tuple[str, str]]
    authorization: str | None
    request_id: str
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    status: int = HTTPStatus.SWITCHING_PROTOCOLS
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


class StreamSession(ABC):
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
        """Set up the session of one connection to `server`."""
        self._server = server
        self._ws = ws
        self.record = record
        self._meter = meter
        # Fault switches are read once, when the stream opens.
        self._silent = server.silent
        self._mute_after_close_stream = server.silent_after_close_stream
        self._close_mid_stream = server.close_mid_stream
        self._inject: list[str | bytes] | None = list(server.inject_frames)
        # Set once the websocket is prepared, so a fault can drop the connection.
        self.transport: asyncio.BaseTransport | None = None
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
            if self._ws.closed:
                return
            if self._close_mid_stream is not None and end >= self._close_mid_stream[0]:
                _, code, reason = self._close_mid_stream
                if code == DROP_CONNECTION:
                    self._drop()
                else:
                    await self._close(code, reason)
                return

    def _drop(self) -> None:
        """Lose the connection: no close frame, as when a network path fails."""
        self.record.close_code, self.record.close_reason = DROP_CONNECTION, ""
        self._muted = True
        if self.transport is not None:
            self.transport.abort()

    async def _on_text(self, raw: str) -> None:
        self.record.frames.append(("text", raw))
        kind, problem, message = text_problem(raw, self._control_types)
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


class LiveSession(StreamSession):
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
        """Set up the session of one connection to `server`."""
        recogniser = server.recogniser
        meter = AudioMeter(
            encoding=params.encoding,
            sample_rate=params.sample_rate,
            channels=params.channels,
            threshold=server.speech_threshold,
            keep_pcm=recogniser is not None,
        )
        super().__init__(server, ws, record, meter, server.idle_timeout)
        self._params = params
        self._model = ModelInfo.of(params.model)
        config = params.transcriber_config()
        self._hearing: Hearing | None = None
        if recogniser is not None:
            config = replace(config, final_every=FINAL_EVERY_SECONDS)
            names = query_names(record.params)
            if "keyterm" not in record.params:  # Nova-2's keywords are single words.
                names = tuple(dict.fromkeys((*names, *server.home_names())))
            self._hearing = Hearing(recogniser, meter, names)
        self._transcriber = Transcriber(
            replace(config, utterance_end_lag=server.utterance_end_lag),
            next_script=next_script or server.next_utterance,
            describe=self._describe,
        )

    async def _opened(self) -> None:
        """Say nothing: v1 is silent until audio arrives."""

    async def _idle(self) -> None:
        await self._send(self._metadata())
        await self._close(1011, NET0001_REASON)

    async def _on_frame(self, end: float, *, speech: bool) -> None:
        await self._emit(self._transcriber.advance(end, speech=speech))

    async def _on_bad_text(self, raw: str, problem: str) -> None:
        await self._send(schema_error(raw, problem))

    async def _on_control(self, kind: str, message: dict[str, Any]) -> None:
        if kind == "Finalize":
            await self._processing_delay()
            await self._emit(self._transcriber.finalize())
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
        await self._emit(self._transcriber.close())
        await self._send(self._metadata())

    async def _emit(self, events: list[Event]) -> None:
        """Send the transcriber's events; a hearing stream puts the spoken words in."""
        for event in events:
            if self._hearing is not None and isinstance(event, Segment):
                event = await self._hearing.hear(event)  # noqa: PLW2901 - the heard version
            await self._send(
                event_message(event, *self._context, languages_hinted=self._params.languages_hinted)
            )

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
