"""Deepgram text-to-speech on an injected aiohttp session: `/v1/speak` REST and websocket.

One websocket answer is a `SpeechStream` (`speech_stream`); REST answers are here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
import logging
from typing import Any, Final, TypeVar

import aiohttp
from yarl import URL

from .client import DEFAULT_SERVER, http_error, read_json
from .errors import (
    DeepgramConnectionError,
    DeepgramError,
)
from .model_list import fetch_model_list
from .sentences import (
    CHARACTERS_PER_MINUTE,
    MAX_TEXT_CHARS,
    cut_to_limit,
    split_sentences,
)
from .speech_stream import STOPPED_MESSAGE, SpeakingStoppedError, SpeechStream
from .voices import Voice, parse_models
from .websocket import connect_websocket

LOGGER = logging.getLogger(__name__)

_T = TypeVar("_T")

SPEAK_PATH: Final = "/v1/speak"
# The rates the websocket takes for linear16.
STREAM_SAMPLE_RATES: Final = (8000, 16000, 24000, 32000, 48000)
DEFAULT_SAMPLE_RATE: Final = 24000
CONNECT_TIMEOUT: Final = 8.0
# Once Deepgram owes audio (a Flush or Close is out), this much silence means it is stuck.
SILENCE_TIMEOUT: Final = 10.0
CLOSE_TIMEOUT: Final = 2.0


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
        # Answers in progress, so `close()` can end them: open websockets and REST
        # responses, and the steps under way (a handshake, a request, a wait for text).
        self.streams: set[SpeechStream] = set()
        self._steps: set[asyncio.Future[Any]] = set()
        self._responses: set[aiohttp.ClientResponse] = set()
        self.closed = False

    def __repr__(self) -> str:
        """Describe the speaker without its key."""
        return f"DeepgramSpeaker(server={self.server!r})"

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self._api_key}"}

    async def stoppable(self, start: Callable[[], Awaitable[_T]]) -> _T:
        """Run one step of an answer as a task that `close()` cancels and awaits.

        Raise SpeakingStoppedError if the speaker is (or gets) closed; a caller
        that is itself cancelled gets its CancelledError as usual.
        """
        if self.closed:
            raise SpeakingStoppedError(STOPPED_MESSAGE)
        step = asyncio.ensure_future(start())
        self._steps.add(step)
        try:
            return await step
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._stopped() and (current is None or not current.cancelling()):
                raise SpeakingStoppedError(STOPPED_MESSAGE) from None
            raise
        finally:
            self._steps.discard(step)

    def _stopped(self) -> bool:
        """Whether `close()` has begun; read anew after each await."""
        return self.closed

    def open_stream(self, options: SpeakOptions) -> SpeechStream:
        """Return an answer whose `audio(text)` speaks text as it is written."""
        return SpeechStream(self, options)

    async def connect_stream(self, options: SpeakOptions) -> aiohttp.ClientWebSocketResponse:
        """Open a `/v1/speak` websocket; map every failure to a DeepgramError."""
        return await connect_websocket(
            self._session,
            speak_url(self.server, websocket=True),
            params=options.query(),
            headers=self._headers,
            connect_timeout=self.connect_timeout,
            close_timeout=CLOSE_TIMEOUT,
            refused="Deepgram refused to speak",
        )

    async def synthesize(
        self, text: str, options: SpeakOptions, *, request_ids: list[str] | None = None
    ) -> AsyncGenerator[bytes]:
        """Speak one text with the REST endpoint; yield the audio as it streams in.

        The response's request id is appended to `request_ids` as soon as it is known.
        """
        url = speak_url(self.server, websocket=False)
        loop = asyncio.get_running_loop()
        answered = False
        # Known once Deepgram has answered: every later error carries it.
        request_id: str | None = None
        try:
            async with asyncio.timeout(self.connect_timeout) as bound:
                response = await self.stoppable(
                    lambda: self._session.post(
                        url, params=options.query(), headers=self._headers, json={"text": text}
                    )
                )
                answered = True
                # `close()` closes it: cheaper than a stoppable step per read.
                self._responses.add(response)
                try:
                    request_id = response.headers.get("dg-request-id")
                    if request_id and request_ids is not None:
                        request_ids.append(request_id)
                    if response.status != HTTPStatus.OK:
                        raise await _rest_error(response)
                    while True:
                        # Each read is bounded by the silence timeout, not the whole answer.
                        bound.reschedule(loop.time() + self.silence_timeout)
                        chunk = await self._read(response, request_id)
                        if not chunk:
                            break
                        bound.reschedule(None)
                        yield chunk
                finally:
                    self._responses.discard(response)
                    response.release()
        except TimeoutError as err:
            if answered:
                msg = f"Deepgram sent no audio within {self.silence_timeout:g} s"
            else:
                msg = f"Deepgram did not answer within {self.connect_timeout:g} s"
            raise DeepgramConnectionError(msg, request_id=request_id) from err
        except aiohttp.ClientPayloadError as err:
            msg = f"Deepgram's audio broke off: {err}"
            raise DeepgramConnectionError(msg, request_id=request_id) from err
        except (aiohttp.ClientError, OSError) as err:
            msg = f"Cannot connect to {url.host}: {err}"
            raise DeepgramConnectionError(msg, request_id=request_id) from err

    async def _read(self, response: aiohttp.ClientResponse, request_id: str | None) -> bytes:
        """Read what has come of the body; SpeakingStoppedError once `close()` has closed it."""
        try:
            chunk = await response.content.readany()
        except (aiohttp.ClientError, OSError):
            if self._stopped():
                raise SpeakingStoppedError(STOPPED_MESSAGE, request_id=request_id) from None
            raise
        if self._stopped():
            raise SpeakingStoppedError(STOPPED_MESSAGE, request_id=request_id)
        return chunk

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
            while (batch := await self.stoppable(sentences.next_batch)) is not None:
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
        document = await fetch_model_list(
            self._session, self.server, self._api_key, bound=self.connect_timeout
        )
        return parse_models(document)

    async def close(self) -> None:
        """Stop every answer in progress and every one to come (the entry unloads).

        Each ends with SpeakingStoppedError: open websockets and REST responses
        are closed, and the steps under way (handshakes, requests not yet
        answered, waits for text) are cancelled; all of them are awaited.
        """
        self.closed = True
        for response in list(self._responses):
            response.close()
        steps = list(self._steps)
        for step in steps:
            step.cancel()
        await asyncio.gather(
            *(stream.abort() for stream in list(self.streams)), *steps, return_exceptions=True
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
    return http_error(response.status, await read_json(response), "Deepgram refused to speak")
