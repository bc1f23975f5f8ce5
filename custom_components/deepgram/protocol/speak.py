"""Deepgram text-to-speech on an injected aiohttp session: `/v1/speak` REST and websocket."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
import json
import logging
from typing import Any, Final

import aiohttp
from yarl import URL

from .client import DEFAULT_SERVER, MAX_RESPONSE_BYTES, handshake_request_id
from .errors import (
    DeepgramConnectionClosedError,
    DeepgramConnectionError,
    DeepgramError,
    error_for_status,
)
from .sentences import (
    CHARACTERS_PER_MINUTE,
    MAX_TEXT_CHARS,
    FlushPlanner,
    cut_to_limit,
    split_sentences,
)
from .voices import Voice, parse_models

LOGGER = logging.getLogger(__name__)

SPEAK_PATH: Final = "/v1/speak"
MODELS_PATH: Final = "/v1/models"
# The rates the websocket takes for linear16.
STREAM_SAMPLE_RATES: Final = (8000, 16000, 24000, 32000, 48000)
DEFAULT_SAMPLE_RATE: Final = 24000
CONNECT_TIMEOUT: Final = 8.0
# Once Deepgram owes audio (a Flush or Close is out), this much silence means it is stuck.
SILENCE_TIMEOUT: Final = 10.0
CLOSE_TIMEOUT: Final = 2.0
CHARACTER_WINDOW: Final = 60.0
READ_CHUNK_BYTES: Final = 8192

FLUSH_MESSAGE: Final = json.dumps({"type": "Flush"})
CLOSE_MESSAGE: Final = json.dumps({"type": "Close"})
EXCESSIVE_FLUSH: Final = "EXCESSIVE_FLUSH"

_CLOSE_TYPES = frozenset(
    {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED}
)
_NORMAL_CLOSE_CODES = frozenset({1000, 1005})


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakOptions:
    """The query of a `/v1/speak` request: the voice and the audio format."""

    model: str
    encoding: str = "linear16"
    sample_rate: int | None = None
    container: str | None = None
    bit_rate: int | None = None
    speed: float | None = None

    def query(self) -> dict[str, str]:
        """Return the query parameters, leaving Deepgram's defaults unsent."""
        values: dict[str, Any] = {
            "model": self.model,
            "encoding": self.encoding,
            "sample_rate": self.sample_rate,
            "container": self.container,
            "bit_rate": self.bit_rate,
            "speed": None if self.speed is None else f"{self.speed:g}",
        }
        return {key: str(value) for key, value in values.items() if value is not None}


def speak_url(server: str, *, websocket: bool) -> URL:
    """Return the `/v1/speak` URL of an http(s) server, as ws(s) for the websocket."""
    url = URL(server)
    if websocket:
        url = url.with_scheme({"https": "wss", "http": "ws"}.get(url.scheme, url.scheme))
    return url.with_path(url.path.rstrip("/") + SPEAK_PATH)


class SpeechStream:
    """One answer on one websocket: text goes up as it is written, audio comes down."""

    def __init__(self, speaker: DeepgramSpeaker, options: SpeakOptions) -> None:
        """Prepare the stream; nothing is sent until `audio()` is iterated."""
        self._speaker = speaker
        self.options = options
        self.request_id: str | None = None
        self._flushes = 0
        self._flushed = 0
        self._all_flushed = asyncio.Event()
        self._close_sent = False
        # While Deepgram owes audio: since when it has sent nothing.
        self._owed_since: float | None = None
        self._input_error: BaseException | None = None
        self.characters = 0
        self.audio_bytes = 0
        self.warnings: list[str] = []
        # (time, characters) of the Speak messages of the last minute.
        self._recent_text: deque[tuple[float, int]] = deque()
        # Stopped by its owner (Home Assistant unloading): the audio just ends.
        self.aborted = False
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def abort(self) -> None:
        """End the answer now; its audio ends without an error."""
        self.aborted = True
        if self._ws is not None:
            await self._ws.close()

    async def audio(self, text: AsyncIterable[str]) -> AsyncGenerator[bytes]:
        """Speak `text` as it arrives; yield the audio as Deepgram sends it.

        Leaving early (or being cancelled) closes the socket at once.
        """
        ws = self._ws = await self._speaker.connect_stream(self.options)
        self.request_id = handshake_request_id(ws)
        sender = asyncio.create_task(self._send_text(ws, text))
        self._speaker.streams.add(self)
        try:
            async for chunk in self._receive(ws):
                yield chunk
        finally:
            self._speaker.streams.discard(self)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            if not ws.closed:
                await ws.close()

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncGenerator[bytes]:
        loop = asyncio.get_running_loop()
        timeout = self._speaker.silence_timeout
        while True:
            try:
                msg = await ws.receive(timeout=timeout)
            except TimeoutError:
                owed_since = self._owed_since
                if owed_since is not None and loop.time() - owed_since >= timeout:
                    silent = f"Deepgram sent no audio for {timeout:g} s"
                    raise DeepgramConnectionError(silent, request_id=self.request_id) from None
                continue
            if self._owed_since is not None:
                self._owed_since = loop.time()
            if msg.type is aiohttp.WSMsgType.BINARY:
                self.audio_bytes += len(msg.data)
                yield msg.data
            elif msg.type is aiohttp.WSMsgType.TEXT:
                self._on_message(msg.data)
            elif msg.type in _CLOSE_TYPES:
                break
            else:
                raise DeepgramConnectionClosedError(
                    ws.close_code, str(msg.data), request_id=self.request_id
                )
        if self._input_error is not None:
            raise self._input_error
        if self.aborted:
            return
        code = ws.close_code
        if code not in _NORMAL_CLOSE_CODES:
            reason = msg.extra if isinstance(msg.extra, str) else ""
            raise DeepgramConnectionClosedError(code, reason, request_id=self.request_id)
        if not self._close_sent:
            early = "Deepgram closed the stream before the answer was spoken"
            raise DeepgramConnectionError(early, request_id=self.request_id)

    def _on_message(self, raw: str) -> None:
        """Follow Flushed acknowledgements; keep the request id and any warning."""
        try:
            message = json.loads(raw)
        except ValueError:
            LOGGER.debug("Ignoring a malformed message from Deepgram: %.100s", raw)
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "Metadata":
            request_id = message.get("request_id")
            if isinstance(request_id, str):
                self.request_id = self.request_id or request_id
        elif kind == "Flushed":
            self._acknowledge_flush()
        elif kind == "Warning":
            # The wire says warn_code/warn_msg; the spec says code/description.
            code = message.get("warn_code") or message.get("code")
            text = message.get("warn_msg") or message.get("description")
            self.warnings.append(f"{code}: {text}")
            LOGGER.debug("Deepgram warned: %s: %s", code, text)
            if code == EXCESSIVE_FLUSH:
                # That Flush is ignored and gets no Flushed; Close speaks its text.
                self._acknowledge_flush()
        elif kind == "Error":
            code = message.get("err_code") or message.get("code")
            text = message.get("err_msg") or message.get("description")
            msg = f"Deepgram reported an error: {code}: {text}"
            raise DeepgramError(msg, request_id=self.request_id)

    def _acknowledge_flush(self) -> None:
        self._flushed += 1
        if self._flushed >= self._flushes:
            self._all_flushed.set()
            if not self._close_sent:
                self._owed_since = None

    async def _send_text(
        self, ws: aiohttp.ClientWebSocketResponse, text: AsyncIterable[str]
    ) -> None:
        """Send each chunk as it arrives, Flush at sentence ends, Close after the last audio."""
        planner = FlushPlanner()
        try:
            async for chunk in text:
                for piece in planner.feed(chunk):
                    await self._send(ws, piece)
            for piece in planner.finish():
                await self._send(ws, piece)
            if self._flushed < self._flushes:
                await self._all_flushed.wait()
            self._close_sent = True
            self._owed_since = asyncio.get_running_loop().time()
            await ws.send_str(CLOSE_MESSAGE)
        except (aiohttp.ClientError, ConnectionError):
            LOGGER.debug("Stopped sending text: the stream is closed")
        except Exception as err:  # noqa: BLE001 - handed to the audio's consumer
            # The answer's text failed; end the audio with its error.
            self._input_error = err
            await ws.close()

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, piece: str | None) -> None:
        if piece is None:
            self._flushes += 1
            self._all_flushed.clear()
            if self._owed_since is None:
                self._owed_since = asyncio.get_running_loop().time()
            await ws.send_str(FLUSH_MESSAGE)
            return
        await self._within_character_budget(len(piece))
        self.characters += len(piece)
        await ws.send_str(json.dumps({"type": "Speak", "text": piece}))

    async def _within_character_budget(self, count: int) -> None:
        """Wait until `count` more characters keep the last minute within Deepgram's limit.

        Deepgram closes a stream that sends more (1008 DATA-0001). A minute of text
        at that rate is minutes of speech, so holding text back never starves the
        listener.
        """
        loop = asyncio.get_running_loop()
        budget = self._speaker.characters_per_minute
        recent = self._recent_text
        while True:
            now = loop.time()
            while recent and now - recent[0][0] >= CHARACTER_WINDOW:
                recent.popleft()
            if not recent or sum(sent for _, sent in recent) + count <= budget:
                break
            await asyncio.sleep(recent[0][0] + CHARACTER_WINDOW - now)
        recent.append((now, count))


class DeepgramSpeaker:
    """Speaks with Deepgram's Aura voices (or a self-hosted server's) with one API key."""

    def __init__(  # noqa: PLR0913 - the bounds are keyword-only knobs for tests
        self,
        api_key: str,
        *,
        session: aiohttp.ClientSession,
        server: str = DEFAULT_SERVER,
        connect_timeout: float = CONNECT_TIMEOUT,
        silence_timeout: float = SILENCE_TIMEOUT,
        characters_per_minute: int = CHARACTERS_PER_MINUTE,
    ) -> None:
        """Keep the key for the Authorization header; it never goes into a URL."""
        self._api_key = api_key
        self._session = session
        self.server = server
        self.connect_timeout = connect_timeout
        self.silence_timeout = silence_timeout
        self.characters_per_minute = characters_per_minute
        # Answers in progress, so `close()` can end them.
        self.streams: set[SpeechStream] = set()

    def __repr__(self) -> str:
        """Describe the speaker without its key."""
        return f"DeepgramSpeaker(server={self.server!r})"

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self._api_key}"}

    def open_stream(self, options: SpeakOptions) -> SpeechStream:
        """Return an answer whose `audio(text)` speaks text as it is written."""
        return SpeechStream(self, options)

    async def connect_stream(self, options: SpeakOptions) -> aiohttp.ClientWebSocketResponse:
        """Open a `/v1/speak` websocket; map every failure to a DeepgramError."""
        url = speak_url(self.server, websocket=True)
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await self._session.ws_connect(
                    url,
                    params=options.query(),
                    headers=self._headers,
                    # pyright misreads aiohttp's attrs fields as no parameters.
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT),  # pyright: ignore[reportCallIssue]
                )
        except aiohttp.WSServerHandshakeError as err:
            headers: Mapping[str, str] = err.headers or {}
            raise error_for_status(
                err.status,
                "Deepgram refused to speak",
                detail=headers.get("dg-error"),
                request_id=headers.get("dg-request-id"),
            ) from err
        except TimeoutError as err:
            msg = f"Timed out connecting to {url.host} after {self.connect_timeout:g} s"
            raise DeepgramConnectionError(msg) from err
        except (aiohttp.ClientError, OSError) as err:
            msg = f"Cannot connect to {url.host}: {err}"
            raise DeepgramConnectionError(msg) from err

    async def synthesize(
        self, text: str, options: SpeakOptions, *, request_ids: list[str] | None = None
    ) -> AsyncGenerator[bytes]:
        """Speak one text with the REST endpoint; yield the audio as it streams in.

        The response's request id is appended to `request_ids` as soon as it is known.
        """
        url = speak_url(self.server, websocket=False)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout) as bound:
                async with self._session.post(
                    url, params=options.query(), headers=self._headers, json={"text": text}
                ) as response:
                    request_id = response.headers.get("dg-request-id")
                    if request_id and request_ids is not None:
                        request_ids.append(request_id)
                    if response.status != 200:  # noqa: PLR2004
                        raise await _rest_error(response)
                    while True:
                        # Each read is bounded by the silence timeout, not the whole answer.
                        bound.reschedule(loop.time() + self.silence_timeout)
                        chunk = await response.content.readany()
                        if not chunk:
                            break
                        bound.reschedule(None)
                        yield chunk
        except TimeoutError as err:
            msg = f"Deepgram sent no audio within {self.silence_timeout:g} s"
            raise DeepgramConnectionError(msg) from err
        except aiohttp.ClientPayloadError as err:
            msg = f"Deepgram's audio broke off: {err}"
            raise DeepgramConnectionError(msg) from err
        except (aiohttp.ClientError, OSError) as err:
            msg = f"Cannot connect to {url.host}: {err}"
            raise DeepgramConnectionError(msg) from err

    async def synthesize_sentences(
        self,
        text: AsyncIterable[str],
        options: SpeakOptions,
        *,
        request_ids: list[str] | None = None,
    ) -> AsyncGenerator[bytes]:
        """Speak text as it is written with one REST request per sentence batch.

        Each request takes every sentence written by then, up to Deepgram's 2,000
        characters: the first sentence of a streamed answer goes alone and is heard
        soonest. The audio of the requests follows one another (MP3 frames concatenate).
        """
        sentences = _Sentences()
        reader = asyncio.create_task(sentences.read(text))
        try:
            while (batch := await sentences.next_batch()) is not None:
                for piece in cut_to_limit(batch):
                    async for chunk in self.synthesize(piece, options, request_ids=request_ids):
                        yield chunk
            await asyncio.wait([reader])
            if (error := reader.exception()) is not None:
                raise error
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def voices(self) -> list[Voice]:
        """Return the Aura-2 voices the server lists at `GET /v1/models`."""
        url = URL(self.server + MODELS_PATH)
        try:
            async with asyncio.timeout(self.connect_timeout):
                async with self._session.get(url, headers=self._headers) as response:
                    if response.status != 200:  # noqa: PLR2004
                        raise await _rest_error(response)
                    raw = await response.content.read(4 * MAX_RESPONSE_BYTES)
        except TimeoutError as err:
            msg = f"Timed out listing Deepgram's voices after {self.connect_timeout:g} s"
            raise DeepgramConnectionError(msg) from err
        except (aiohttp.ClientError, OSError) as err:
            msg = f"Cannot connect to {url.host}: {err}"
            raise DeepgramConnectionError(msg) from err
        try:
            return parse_models(json.loads(raw))
        except ValueError as err:
            msg = "Deepgram's model list is not JSON"
            raise DeepgramConnectionError(msg) from err

    async def close(self) -> None:
        """End the answers in progress, e.g. when Home Assistant stops."""
        await asyncio.gather(
            *(stream.abort() for stream in list(self.streams)), return_exceptions=True
        )


class _Sentences:
    """Sentences written so far and not yet spoken."""

    def __init__(self) -> None:
        self._waiting: deque[str] = deque()
        self._ended = False
        self._changed = asyncio.Event()

    async def read(self, text: AsyncIterable[str]) -> None:
        """Take each complete sentence of the text as it is written, then the rest."""
        pending = ""
        try:
            async for chunk in text:
                sentences, pending = split_sentences(pending + chunk)
                self._waiting.extend(sentences)
                self._changed.set()
            if pending.strip():
                self._waiting.append(pending.strip())
        finally:
            self._ended = True
            self._changed.set()

    async def next_batch(self) -> str | None:
        """Wait for a sentence; join those waiting behind it, up to the limit. None at the end."""
        while not self._waiting:
            if self._ended:
                return None
            self._changed.clear()
            await self._changed.wait()
        batch = self._waiting.popleft()
        while self._waiting and len(batch) + 1 + len(self._waiting[0]) <= MAX_TEXT_CHARS:
            batch = f"{batch} {self._waiting.popleft()}"
        return batch


async def _rest_error(response: aiohttp.ClientResponse) -> DeepgramError:
    """Return the error of a refused request, with Deepgram's message and request id."""
    body: Any = None
    with suppress(Exception):
        body = json.loads(await response.content.read(MAX_RESPONSE_BYTES))
    body = body if isinstance(body, dict) else {}
    detail = body.get("err_msg") or body.get("message") or response.headers.get("dg-error")
    request_id = response.headers.get("dg-request-id") or body.get("request_id")
    return error_for_status(
        response.status,
        "Deepgram refused to speak",
        detail=detail if isinstance(detail, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
    )
