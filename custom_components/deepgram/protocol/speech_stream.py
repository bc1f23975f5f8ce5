"""One spoken answer on a `/v1/speak` websocket: text up as it is written, audio down."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable
import json
import logging
from typing import TYPE_CHECKING, Final

import aiohttp

from .client import handshake_request_id
from .errors import DeepgramConnectionClosedError, DeepgramConnectionError, DeepgramError
from .sentences import FlushPlanner
from .websocket import CLOSE_TYPES, NORMAL_CLOSE_CODES, peer_close

if TYPE_CHECKING:
    from .speak import DeepgramSpeaker, SpeakOptions

LOGGER = logging.getLogger(__name__)

CHARACTER_WINDOW: Final = 60.0
FLUSH_MESSAGE: Final = json.dumps({"type": "Flush"})
CLOSE_MESSAGE: Final = json.dumps({"type": "Close"})
EXCESSIVE_FLUSH: Final = "EXCESSIVE_FLUSH"


class SpeakingStoppedError(DeepgramError):
    """The speaker was closed (the entry unloaded) while an answer was being spoken."""


STOPPED_MESSAGE: Final = "The answer was stopped: the speaker is closed"


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
        # Stopped by its owner (Home Assistant unloading): the audio ends with SpeakingStoppedError.
        self.aborted = False
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._sender: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the websocket: return once Deepgram has accepted it, else raise DeepgramError.

        The handshake is a step the speaker's `close()` can stop.
        """
        await self._open()

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        """Return the open websocket, opening it (and registering the stream) the first time."""
        if self._ws is not None:
            return self._ws
        ws = await self._speaker.stoppable(lambda: self._speaker.connect_stream(self.options))
        if self._speaker.closed:
            # Accepted just as the speaker closed: nobody would end this stream.
            await ws.close()
            raise SpeakingStoppedError(STOPPED_MESSAGE, request_id=handshake_request_id(ws))
        self._ws = ws
        self.request_id = handshake_request_id(ws)
        self._speaker.streams.add(self)
        return ws

    async def abort(self) -> None:
        """Stop the answer now: its audio ends with SpeakingStoppedError."""
        self.aborted = True
        await self.close()

    async def close(self) -> None:
        """Close the websocket and stop sending text; wait for both."""
        self._speaker.streams.discard(self)
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()

    async def audio(self, text: AsyncIterable[str]) -> AsyncGenerator[bytes]:
        """Speak `text` as it arrives; yield the audio as Deepgram sends it.

        Opens the websocket unless `open()` already has. Leaving early (or being
        cancelled) closes the socket at once.
        """
        ws = await self._open()
        self._sender = asyncio.create_task(self._send_text(ws, text))
        try:
            async for chunk in self._receive(ws):
                yield chunk
        finally:
            await self.close()

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
            elif msg.type in CLOSE_TYPES:
                break
            else:
                raise DeepgramConnectionClosedError(
                    ws.close_code, str(msg.data), request_id=self.request_id
                )
        if self._input_error is not None:
            raise self._input_error
        if self.aborted:
            raise SpeakingStoppedError(STOPPED_MESSAGE, request_id=self.request_id)
        code, reason = peer_close(msg, ws)
        if code not in NORMAL_CLOSE_CODES:
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
