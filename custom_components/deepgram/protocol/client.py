"""A Deepgram live speech-to-text client on an injected aiohttp session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Coroutine
from contextlib import aclosing, suppress
from dataclasses import dataclass
from http import HTTPStatus
import json
import logging
from typing import Any, Final

import aiohttp
from yarl import URL

from .errors import (
    DeepgramConnectionClosedError,
    DeepgramConnectionError,
    DeepgramServerError,
)
from .messages import (
    Connected,
    ErrorMessage,
    Metadata,
    Results,
    ServerMessage,
    TurnInfo,
    UtteranceEnd,
    parse_message,
)
from .options import LiveOptions
from .transport import (
    DEFAULT_SERVER,
    body_request_id,
    endpoint_url,
    handshake_request_id,
    reaching,
    read_json,
    refusal_error,
    request_headers,
)
from .wav import WavHeaderStripper
from .websocket import CLOSE_TYPES, NORMAL_CLOSE_CODES, connect_websocket, peer_close

LOGGER = logging.getLogger(__name__)

LISTEN_PATH: Final = "/v1/listen"
FLUX_LISTEN_PATH: Final = "/v2/listen"

KEEPALIVE_MESSAGE: Final = json.dumps({"type": "KeepAlive"})
CLOSE_STREAM_MESSAGE: Final = json.dumps({"type": "CloseStream"})

# Deepgram closes a stream after ~10 s without a frame; stay well inside that.
KEEPALIVE_INTERVAL: Final = 4.0
# Flux has no KeepAlive message; websocket pings keep it open instead.
FLUX_PING_INTERVAL: Final = 5.0
CONNECT_TIMEOUT: Final = 8.0
# How long to wait for the final results after CloseStream.
FINISH_TIMEOUT: Final = 5.0
# Audio goes out in frames of this much audio: one websocket send per 10 ms chunk
# (what Home Assistant's pipeline hands over) costs more CPU than the audio is
# worth, while a frame held longer than the minimum would delay the transcript.
MIN_FRAME_SECONDS: Final = 0.02
MAX_FRAME_SECONDS: Final = 0.1
# A Results message is a few kB; anything near this is not Deepgram talking.
MAX_MESSAGE_BYTES: Final = 1024 * 1024

# Word times are rounded floats; compare them with this tolerance.
_TIME_TOLERANCE = 1e-3


@dataclass(frozen=True, slots=True)
class Transcript:
    """The outcome of a whole stream: every final segment, joined in order."""

    text: str
    request_id: str | None
    audio_seconds: float | None


class TranscriptBuilder:
    """Join the final segments of a stream; keep the latest interim for partials.

    For Flux, a finished turn is a final segment, and the turn still open when
    the stream closes counts with its latest transcript (Flux's CloseStream does
    not end the turn).

    Deepgram's UtteranceEnd can arrive late, after interim words of newer
    speech, with `last_word_end` pointing at the earlier words: it ends the
    utterance only once no interim words after that point are pending.
    """

    __slots__ = (
        "_deferred_end",
        "_detected",
        "_finals",
        "_interim_end",
        "_open_turn",
        "audio_seconds",
        "heard_speech",
        "interim",
        "languages_hinted",
        "request_id",
        "utterance_ended",
    )

    def __init__(self) -> None:
        """Start with nothing heard."""
        self._finals: list[str] = []
        self._open_turn = ""
        self.interim = ""
        # Where the pending interim's last word ends (None: no words, or no times).
        self._interim_end: float | None = None
        # An UtteranceEnd that covered interim words: it ends the utterance once they are final.
        self._deferred_end: float | None = None
        self.request_id: str | None = None
        self.heard_speech = False
        self.audio_seconds: float | None = None
        # Deepgram marked the end of an utterance that had words in it.
        self.utterance_ended = False
        # Languages of the words (multilingual streams), first heard first.
        self._detected: dict[str, None] = {}
        # Deepgram's echo of the hints it took (normalised, "en-GB" as "en"); None: no echo.
        self.languages_hinted: tuple[str, ...] | None = None

    @property
    def languages_detected(self) -> tuple[str, ...]:
        """Return the languages detected in the stream's words, first heard first."""
        return tuple(self._detected)

    def add(self, message: ServerMessage) -> bool:
        """Take one message; return True when the text so far changed."""
        if isinstance(message, UtteranceEnd):
            self._add_utterance_end(message.last_word_end)
            return False
        if isinstance(message, Connected):
            self.request_id = self.request_id or message.request_id
            return False
        if not isinstance(message, Results | Metadata | TurnInfo):
            return False
        self.request_id = self.request_id or message.request_id
        if isinstance(message, Results | TurnInfo):
            self._detected.update(dict.fromkeys(message.languages))
            if message.languages_hinted is not None:
                self.languages_hinted = message.languages_hinted
        if isinstance(message, Metadata):
            self.audio_seconds = message.duration
            return False
        self.heard_speech = self.heard_speech or bool(message.transcript)
        before = self.partial_text
        if isinstance(message, TurnInfo):
            self._add_turn(message)
        elif not message.is_final:
            self.interim = message.transcript
            self._interim_end = message.words[-1].end if message.words else None
        else:
            self._add_final(message)
        return self.partial_text != before

    def _add_final(self, final: Results) -> None:
        self.interim = ""
        self._interim_end = None
        if final.transcript:
            self._finals.append(final.transcript)
        deferred, self._deferred_end = self._deferred_end, None
        last_end = final.words[-1].end if final.words else None
        covered = (
            deferred is not None and last_end is not None and last_end <= deferred + _TIME_TOLERANCE
        )
        if (final.speech_final or covered) and self._finals:
            self.utterance_ended = True

    def _add_utterance_end(self, last_word_end: float) -> None:
        """End the utterance, unless interim words are pending (see the class docstring)."""
        if self.interim:
            pending_end = self._interim_end
            if pending_end is not None and pending_end <= last_word_end + _TIME_TOLERANCE:
                self._deferred_end = last_word_end
            return
        self.utterance_ended = self.utterance_ended or bool(self._finals)

    def _add_turn(self, turn: TurnInfo) -> None:
        if not turn.end_of_turn:
            self._open_turn = turn.transcript
            return
        self._open_turn = ""
        if turn.transcript:
            self._finals.append(turn.transcript)
            self.utterance_ended = True

    @property
    def has_finals(self) -> bool:
        """Whether the text to keep has words: a final segment, or Flux's open turn."""
        return bool(self._finals or self._open_turn)

    @property
    def text(self) -> str:
        """Return the final segments joined."""
        return " ".join([*self._finals, self._open_turn] if self._open_turn else self._finals)

    @property
    def partial_text(self) -> str:
        """Return the finals plus the current interim: everything heard so far."""
        pending = self._open_turn or self.interim
        return " ".join([*self._finals, pending] if pending else self._finals)


class AudioFramer:
    """Coalesce raw audio chunks into frames of MIN_FRAME_SECONDS to MAX_FRAME_SECONDS.

    A frame goes out as soon as it holds the minimum, so no audio waits longer
    than it takes to fill one small frame; frames end on whole samples. What is
    held back comes out with `flush()`.
    """

    __slots__ = ("_buffer", "_max", "_min", "_sample_frame")

    def __init__(self, sample_rate: int, sample_frame: int) -> None:
        """Size frames for `sample_rate` samples a second of `sample_frame` bytes each."""
        self._sample_frame = sample_frame
        self._min = max(1, round(sample_rate * MIN_FRAME_SECONDS)) * sample_frame
        self._max = max(1, round(sample_rate * MAX_FRAME_SECONDS)) * sample_frame
        self._buffer = bytearray()

    @classmethod
    def for_options(cls, options: LiveOptions) -> AudioFramer | None:
        """Return a framer for raw PCM; None where chunks must pass unchanged (Opus, Ogg)."""
        sample_frame = options.sample_frame_bytes
        if sample_frame is None or options.sample_rate is None:
            return None
        return cls(options.sample_rate, sample_frame)

    @property
    def frame_bounds(self) -> tuple[int, int]:
        """Return the smallest and largest frame in bytes (the last frame may be smaller)."""
        return self._min, self._max

    def feed(self, chunk: bytes) -> list[bytes]:
        """Take a chunk; return the frames that are ready (often none, or one)."""
        buffer = self._buffer
        size = len(chunk)
        if not buffer and self._min <= size <= self._max and not size % self._sample_frame:
            return [chunk]  # already a good frame: no copy
        buffer += chunk
        size = len(buffer)
        if size < self._min:
            return []
        whole = size - size % self._sample_frame
        frames: list[bytes] = []
        start = 0
        with memoryview(buffer) as view:
            while whole - start > self._max:
                frames.append(bytes(view[start : start + self._max]))
                start += self._max
            if whole - start >= self._min:
                frames.append(bytes(view[start:whole]))
                start = whole
        del buffer[:start]
        return frames

    def flush(self) -> bytes:
        """Return whatever is held back (b"" if nothing), e.g. at the end of the audio."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


def listen_url(server: str, *, flux: bool = False) -> URL:
    """Return the websocket URL of the live endpoint of an http(s) or ws(s) server."""
    return endpoint_url(server, FLUX_LISTEN_PATH if flux else LISTEN_PATH, websocket=True)


class LiveStream:
    """One live request: audio goes up as it arrives, messages come down."""

    def __init__(
        self,
        client: DeepgramClient,
        audio: AsyncIterable[bytes],
        options: LiveOptions,
    ) -> None:
        """Prepare the request; nothing is sent until `messages()` is iterated."""
        self._client = client
        self._audio = aiter(audio)
        self.options = options
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._framer = AudioFramer.for_options(options)
        self._reader_sending = False
        self._reader: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[aiohttp.ClientWebSocketResponse] | None = None
        # The reader and the sender, so that `abort()` can stop and await them.
        self._tasks: list[asyncio.Task[None]] = []
        self._audio_ended = False
        self._input_error: Exception | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        # Set once the handshake's backlog is sent: the reader then sends itself.
        self._open_ws: aiohttp.ClientWebSocketResponse | None = None
        self._aborted = False
        self._finish_timed_out = False
        self._closed_by_client = False
        # Flux's Error message, which precedes the close of a failed stream.
        self._fatal_error: ErrorMessage | None = None
        self._last_sent = 0.0
        self.request_id: str | None = None
        # What reached Deepgram, for the caller's records.
        self.audio_bytes = 0
        self.last_audio_at: float | None = None

    async def abort(self) -> None:
        """Stop the stream now, even mid-handshake, e.g. because its owner is shutting down.

        Returns once every task of the stream has ended; the caller reading
        `messages()` gets a DeepgramConnectionError.
        """
        self._aborted = self._closed_by_client = True
        self.end_audio()
        tasks: list[asyncio.Task[Any]] = [
            task for task in (self._connecting, *self._tasks) if task is not None
        ]
        for task in tasks:
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._client.streams.discard(self)

    def end_audio(self) -> None:
        """Stop reading the audio source now; Deepgram still finishes what it got."""
        self._audio_ended = True
        if self._reader is not None and not self._reader.done():
            # Its last act queues what it held back, then the end of the audio.
            self._reader.cancel()
        else:
            self._chunks.put_nowait(None)

    def _stopped_error(self) -> DeepgramConnectionError:
        msg = "Deepgram stream stopped: its owner is shutting down"
        return DeepgramConnectionError(msg, request_id=self.request_id)

    async def messages(self) -> AsyncGenerator[ServerMessage]:
        """Yield Deepgram's messages until it closes the stream; clean up on exit.

        Leaving early hands the socket to a background task that sends
        CloseStream and waits (bounded) for Deepgram to close, so the caller
        does not wait for it.
        """
        tasks = self._tasks
        if not self._audio_ended:
            self._reader = asyncio.create_task(self._read_audio())
            tasks.append(self._reader)
        ws: aiohttp.ClientWebSocketResponse | None = None
        self._client.streams.add(self)
        try:
            ws = self._ws = await self._connect()
            self.request_id = handshake_request_id(ws)
            tasks.append(asyncio.create_task(self._send_audio(ws)))
            async with aclosing(self._receive(ws)) as received:
                async for message in received:
                    yield message
        finally:
            self._client.streams.discard(self)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if ws is not None and not ws.closed:
                self._closed_by_client = True
                self._client.finish_in_background(self._finish(ws))
            with suppress(Exception):
                aclose = getattr(self._audio, "aclose", None)
                if aclose is not None:
                    await aclose()

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        """Open the socket in a task of its own, so that `abort()` can stop the handshake."""
        self._connecting = asyncio.create_task(self._client.connect(self.options))
        try:
            ws = await self._connecting
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._aborted and (current is None or not current.cancelling()):
                raise self._stopped_error() from None
            raise
        if self._aborted:  # stopped between the handshake's end and now
            await ws.close()
            raise self._stopped_error()
        return ws

    async def _finish(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Ask Deepgram to close the stream cleanly, within a bound."""
        with suppress(Exception):
            await ws.send_str(CLOSE_STREAM_MESSAGE)
            async with asyncio.timeout(self._client.finish_timeout):
                while (await ws.receive()).type not in CLOSE_TYPES:
                    pass
        await ws.close()

    async def _read_audio(self) -> None:
        """Pull audio from the caller as it comes, even while the handshake runs.

        Raw PCM is coalesced into frames (`AudioFramer`); other audio goes as it
        comes. Until the socket is open (and its backlog sent) frames wait in a
        queue; after that they go straight out from here, saving a task switch each.
        """
        strip = self.options.encoding == "linear16"
        stripper = WavHeaderStripper() if strip else None
        framer = self._framer
        put = self._chunks.put_nowait
        try:
            async for chunk in self._audio:
                if stripper is not None:
                    chunk = stripper.feed(chunk)  # noqa: PLW2901
                    if stripper.done:
                        stripper = None
                if not chunk:  # An empty binary frame would end the Deepgram stream.
                    continue
                for frame in (chunk,) if framer is None else framer.feed(chunk):
                    if self._open_ws is None:
                        put(frame)
                    else:
                        # Frames of one chunk stay together (see `_send_held_audio`).
                        self._reader_sending = True
                        await self._send_chunk(self._open_ws, frame)
                        self._reader_sending = False
            if stripper is not None and (rest := stripper.flush()):
                put(rest)
        except (aiohttp.ClientError, ConnectionError):
            LOGGER.debug("Stopped sending audio: the stream is closed")
        except Exception as err:  # noqa: BLE001 - handed to the consumer below
            self._input_error = err
        finally:
            # What the framer held back goes before the end (and so before CloseStream).
            if framer is not None and (rest := framer.flush()):
                put(rest)
            put(None)

    async def _send_chunk(self, ws: aiohttp.ClientWebSocketResponse, chunk: bytes) -> None:
        await ws.send_bytes(chunk)
        self.last_audio_at = self._last_sent = asyncio.get_running_loop().time()
        self.audio_bytes += len(chunk)

    async def _send_audio(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send the audio queued during the handshake, keep the socket alive, end the stream."""
        self._last_sent = asyncio.get_running_loop().time()
        keepalive = None if self.options.flux else asyncio.create_task(self._keep_alive(ws))
        try:
            # The backlog, in order; once it is empty the reader sends by itself
            # (no await between the check and the hand-over, so nothing slips between).
            while not self._chunks.empty():
                if (chunk := self._chunks.get_nowait()) is None:
                    break
                await self._send_chunk(ws, chunk)
            else:
                self._open_ws = ws
                while (chunk := await self._chunks.get()) is not None:
                    await self._send_chunk(ws, chunk)  # the WAV remainder at the end
        finally:
            self._open_ws = None
            if keepalive is not None:
                keepalive.cancel()
                await asyncio.gather(keepalive, return_exceptions=True)
        if self._input_error is None:
            await ws.send_str(CLOSE_STREAM_MESSAGE)
            # Deepgram answers with the last results and closes; bound the wait.
            await asyncio.sleep(self._client.finish_timeout)
            self._finish_timed_out = True
        self._closed_by_client = True
        await ws.close()

    async def _keep_alive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send KeepAlive whenever no audio went out for the keepalive interval."""
        loop = asyncio.get_running_loop()
        interval = self._client.keepalive_interval
        while True:
            idle = loop.time() - self._last_sent
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            await self._send_held_audio(ws)
            await ws.send_str(KEEPALIVE_MESSAGE)
            self._last_sent = loop.time()

    async def _send_held_audio(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send the audio the framer holds, so that a control message follows it in order.

        Only while the reader sends by itself and is not in the middle of a send
        (a congested socket): before that the backlog is not out yet, after it the
        reader has queued the rest itself, and during a send the held audio would
        overtake frames not yet sent.
        """
        framer = self._framer
        if framer is None or self._open_ws is not ws or self._reader_sending:
            return
        if rest := framer.flush():
            await self._send_chunk(ws, rest)

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncGenerator[ServerMessage]:
        """Yield parsed messages; raise if the stream ended abnormally."""
        while True:
            msg = await ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                message = parse_message(msg.data)
                if message is not None:
                    self.request_id = self.request_id or getattr(message, "request_id", None)
                    if isinstance(message, ErrorMessage) and self.options.flux:
                        self._fatal_error = message
                    yield message
            elif msg.type is aiohttp.WSMsgType.BINARY:
                LOGGER.debug("Ignoring a binary frame of %d bytes from Deepgram", len(msg.data))
            elif msg.type in CLOSE_TYPES:
                break
            else:
                raise self._closed_error(ws.close_code, str(msg.data))
        self._raise_for_close(*peer_close(msg, ws))

    def _closed_error(self, code: int | None, reason: str) -> DeepgramConnectionClosedError:
        error = self._fatal_error
        return DeepgramConnectionClosedError(
            code,
            reason,
            request_id=self.request_id,
            error_code=error.code if error is not None else None,
            error_description=error.description if error is not None else None,
        )

    def _raise_for_close(self, code: int | None, reason: str) -> None:
        """Turn how the stream ended into an exception, unless it ended well."""
        if self._input_error is not None:
            raise self._input_error
        if self._aborted:
            raise self._stopped_error()
        if self._finish_timed_out:
            msg = f"Deepgram sent no close within {self._client.finish_timeout} s of CloseStream"
            raise DeepgramConnectionError(msg, request_id=self.request_id)
        if self._closed_by_client:
            return
        # Flux's fatal Error fails the stream, whatever code the close carries.
        if code not in NORMAL_CLOSE_CODES or self._fatal_error is not None:
            raise self._closed_error(code, reason)


class DeepgramClient:
    """Talks to Deepgram's live API (or a self-hosted server) with one API key."""

    def __init__(  # noqa: PLR0913 - the bounds are keyword-only knobs for tests
        self,
        api_key: str,
        *,
        session: aiohttp.ClientSession,
        server: str = DEFAULT_SERVER,
        keepalive_interval: float = KEEPALIVE_INTERVAL,
        connect_timeout: float = CONNECT_TIMEOUT,
        finish_timeout: float = FINISH_TIMEOUT,
        create_task: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]] = (
            asyncio.create_task
        ),
    ) -> None:
        """Use `session` for every request, so the caller owns its lifetime.

        `create_task` runs the clean close of streams their caller left early;
        Home Assistant passes one that it tracks and cancels at shutdown.
        """
        self._api_key = api_key
        self._session = session
        self.server = server.rstrip("/")
        self.keepalive_interval = keepalive_interval
        self.connect_timeout = connect_timeout
        self.finish_timeout = finish_timeout
        self._create_task = create_task
        self._finishing: set[asyncio.Task[None]] = set()
        # Streams in progress, so `close()` can stop them.
        self.streams: set[LiveStream] = set()

    def __repr__(self) -> str:
        """Describe the client without its key."""
        return f"DeepgramClient(server={self.server!r})"

    @property
    def _headers(self) -> dict[str, str]:
        return request_headers(self._api_key)

    async def connect(self, options: LiveOptions) -> aiohttp.ClientWebSocketResponse:
        """Open a live stream; map every failure to a DeepgramError."""
        return await connect_websocket(
            self._session,
            listen_url(self.server, flux=options.flux),
            params=options.query(),
            headers=self._headers,
            connect_timeout=self.connect_timeout,
            close_timeout=self.finish_timeout,
            refused="Deepgram refused the stream",
            heartbeat=FLUX_PING_INTERVAL if options.flux else None,
            max_msg_size=MAX_MESSAGE_BYTES,
        )

    def open_stream(self, audio: AsyncIterable[bytes], options: LiveOptions) -> LiveStream:
        """Return a live request whose `messages()` streams `audio` as it arrives."""
        return LiveStream(self, audio, options)

    async def stream(
        self, audio: AsyncIterable[bytes], options: LiveOptions
    ) -> AsyncGenerator[ServerMessage]:
        """Stream audio as it arrives and yield every message Deepgram sends back.

        Ends when Deepgram closes the stream after the audio ran out; closing the
        iterator early closes the stream cleanly (CloseStream, then a bounded wait).
        """
        async with aclosing(self.open_stream(audio, options).messages()) as messages:
            async for message in messages:
                yield message

    def finish_in_background(self, finish: Coroutine[Any, Any, None]) -> None:
        """Run the clean close of a stream its caller has left."""
        task = self._create_task(finish)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)

    async def close(self) -> None:
        """Stop streams in progress and wait for those still closing (each is bounded)."""
        await asyncio.gather(
            *(stream.abort() for stream in list(self.streams)),
            *self._finishing,
            return_exceptions=True,
        )

    async def transcribe(self, audio: AsyncIterable[bytes], options: LiveOptions) -> Transcript:
        """Stream audio to its end and return every final segment, joined."""
        builder = TranscriptBuilder()
        audio_seconds: float | None = None
        async for message in self.stream(audio, options):
            builder.add(message)
            if isinstance(message, Metadata):
                audio_seconds = message.duration
        return Transcript(builder.text, builder.request_id, audio_seconds)

    async def validate(self) -> str | None:
        """Check the key; return the Deepgram project id, or None for a self-hosted server."""
        status, body = await self._get("/v1/projects")
        if status == HTTPStatus.NOT_FOUND:  # Self-hosted servers have no Manage API.
            status, body = await self._get("/v1/status")
            if status == HTTPStatus.OK:
                return None
        if status != HTTPStatus.OK:
            raise refusal_error(status, "Deepgram refused the key check", headers={}, body=body)
        projects = body.get("projects") if isinstance(body, dict) else None
        if isinstance(projects, list) and projects and isinstance(projects[0], dict):
            project_id = projects[0].get("project_id")
            if isinstance(project_id, str) and project_id:
                return project_id
        msg = "Deepgram listed no project for this key"
        raise DeepgramServerError(msg, status=status, request_id=body_request_id(body))

    async def _get(self, path: str) -> tuple[int, Any]:
        """GET a JSON document; return the status and the parsed body (or None)."""
        url = endpoint_url(self.server, path)
        async with (
            reaching(url, self.connect_timeout, timed_out=f"Timed out talking to {url.host}"),
            self._session.get(url, headers=self._headers) as response,
        ):
            return response.status, await read_json(response)


def normalize_server(server: str) -> str:
    """Return a server URL the client can use, or raise ValueError saying why not.

    Accepts http(s) and ws(s); a path prefix is kept for servers behind a proxy.
    """
    url = URL(server.strip())
    if url.scheme not in ("http", "https", "ws", "wss") or not url.host:
        msg = "the server URL needs http:// or https:// and a host"
        raise ValueError(msg)
    if url.user or url.password or url.query_string or url.fragment:
        msg = "the server URL must not contain credentials, a query or a fragment"
        raise ValueError(msg)
    scheme = {"ws": "http", "wss": "https"}.get(url.scheme, url.scheme)
    return str(url.with_scheme(scheme)).rstrip("/")
