"""One Flux `/v2/listen` websocket: the stream around `flux`'s turn model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .flux import (
    CONTROL_TYPES as FLUX_CONTROL_TYPES,
    FluxParameterError,
    FluxParams,
    TurnEvent,
    TurnTracker,
    turn_info_fields,
)
from .sessions import RecordedSession, StreamSession
from .transcriber import AudioMeter

if TYPE_CHECKING:
    from collections.abc import Callable

    from .server import DeepgramTestServer

FLUX_INTERNAL_ERROR_REASON: Final = "Deepgram encountered an internal error."
FLUX_IDLE_REASON: Final = (
    "Deepgram did not receive audio data, a text message or a ping within the timeout "
    "window. See https://dpgr.am/net0001"
)


class FluxSession(StreamSession):
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
        self._fatal_error_at = server.flux_fatal_error
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
        if self._fatal_error_at is not None and end >= self._fatal_error_at[0]:
            _, code, description = self._fatal_error_at
            await self._fatal(code, description, close_code=1011, reason=FLUX_INTERNAL_ERROR_REASON)

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
        # Deepgram's answer also names profanity_filter, which Flux does not document.
        await self._message("ConfigureSuccess", {**params.settings(), "profanity_filter": False})

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
        """Send `{"type", "request_id", **fields, "sequence_id"}`; count it when sent."""
        message: dict[str, Any] = {"type": kind}
        if request_id:  # Deepgram's fatal Error is the one message without it.
            message["request_id"] = self.record.request_id
        # Last, as Deepgram orders it.
        if await self._send({**message, **fields, "sequence_id": self._sequence_id}):
            self._sequence_id += 1
