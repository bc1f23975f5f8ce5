"""The Deepgram speech-to-text entity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing, suppress
from datetime import datetime
from typing import Any

import aiohttp

from homeassistant.components import stt
from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    SpeechMetadata,
    SpeechResult,
    SpeechResultState,
    SpeechToTextEntity,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import DeepgramConfigEntry, ListeningSetting
from .const import DOMAIN, LANGUAGE_FOLLOW_PIPELINE, LOGGER, MANUFACTURER
from .keyterms import keywords
from .protocol import (
    MULTILINGUAL,
    DeepgramAuthenticationError,
    DeepgramConnectionClosedError,
    DeepgramConnectionError,
    DeepgramError,
    LiveOptions,
    LiveStream,
    ServerMessage,
    TranscriptBuilder,
)
from .protocol.command_end import CommandEnd, is_unfinished
from .protocol.models import language_hints, language_query, languages_heard
from .records import SessionRecord
from .settings import StreamSettings

# Streams are independent; Deepgram limits concurrency per project, not here.
PARALLEL_UPDATES = 0

# Newer Home Assistant versions add these; older ones simply never ask for them.
PartialSpeechResult: Any = getattr(stt, "PartialSpeechResult", None)  # 2026.11
SpeechAudioProcessing: Any = getattr(stt, "SpeechAudioProcessing", None)  # 2026.5

# Deepgram's minimum; UtteranceEnd backs up speech_final in noisy rooms.
UTTERANCE_END_MS = 1000
TRAILING_PUNCTUATION = ".!?…。！？ "  # noqa: RUF001 - CJK full stops too
# Beyond a pause's audio-time bound, the wall-clock one: audio that stalls cannot hang it.
PAUSE_WALL_CLOCK_MARGIN = 0.3
# Flux takes these rates only; it has no channels parameter, so mono only.
FLUX_SAMPLE_RATES = frozenset({8000, 16000, 24000, 44100, 48000})


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: DeepgramConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an entity for each of the account's speech-to-text settings."""
    for subentry_id, listening in entry.runtime_data.listening.items():
        async_add_entities(
            [DeepgramSpeechToTextEntity(entry, entry.subentries[subentry_id], listening)],
            config_subentry_id=subentry_id,
        )


def request_language(
    settings: StreamSettings, pipeline_language: str
) -> tuple[str, tuple[str, ...]]:
    """Return the Deepgram `language` to ask for, and the languages to hint.

    Following the voice assistant, or one fixed language, asks for the model's
    own code (de-AT becomes de, pt-BR stays pt-BR), else for `multi` hinted with
    that language (Arabic on Nova-3). Multilingual hints the voice assistant's
    language and the other languages spoken at home.
    """
    model = settings.speech_model
    if settings.language == MULTILINGUAL:
        return MULTILINGUAL, language_hints(model, (pipeline_language, *settings.other_languages))
    if settings.language == LANGUAGE_FOLLOW_PIPELINE:
        return language_query(model, pipeline_language)
    return language_query(model, settings.language)


def live_options(
    metadata: SpeechMetadata,
    settings: StreamSettings,
    terms: tuple[str, ...],
    *,
    interim_results: bool,
) -> LiveOptions:
    """Describe the audio exactly as it will arrive, with the entry's settings."""
    model = settings.speech_model
    language, hints = request_language(settings, metadata.language)
    options: dict[str, Any] = {
        "model": model.name,
        # Unset rather than false: some languages lack these features.
        "numerals": settings.numerals or None,
        "profanity_filter": settings.profanity_filter or None,
    }
    if metadata.format != AudioFormats.OGG:  # Ogg describes itself to Deepgram.
        options["encoding"] = "linear16" if metadata.codec == AudioCodecs.PCM else "opus"
        options["sample_rate"] = int(metadata.sample_rate)
        if not model.flux:  # Flux takes mono only and has no channels parameter.
            options["channels"] = int(metadata.channel)
    if terms:
        options |= {"keyterm": terms} if model.supports_keyterms else {"keywords": keywords(terms)}
    if model.flux:  # Flux has no `language`: its multilingual model takes hints only.
        if language != MULTILINGUAL and model.takes_language_hints:
            hints = (language,)
        return LiveOptions(
            eot_threshold=settings.eot_threshold,
            eot_timeout_ms=settings.eot_timeout_ms,
            language_hint=hints,
            **options,
        )
    return LiveOptions(
        language=language,
        language_hint=hints,
        punctuate=settings.punctuate,
        smart_format=settings.smart_format,
        filler_words=settings.filler_words or None,
        endpointing=settings.endpointing,
        interim_results=True if interim_results or settings.answers_at_end_of_speech else None,
        utterance_end_ms=UTTERANCE_END_MS if settings.answers_at_end_of_speech else None,
        **options,
    )


def without_trailing_punctuation(text: str, settings: StreamSettings) -> str:
    """Drop the final punctuation that Assist's sentence matching trips over."""
    return text.rstrip(TRAILING_PUNCTUATION) if settings.strip_punctuation else text


def audio_chunks(stream: AsyncIterable[bytes]) -> AsyncIterable[bytes]:
    """Read an HTTP upload in fixed chunks instead of lines.

    Before 2026.9, Home Assistant hands `/api/stt` uploads over as the request body,
    whose iterator splits at newline bytes and fails on long digital silence.
    """
    if isinstance(stream, aiohttp.StreamReader):
        return stream.iter_chunked(4096)
    return stream


class DeepgramSpeechToTextEntity(SpeechToTextEntity):
    """Streams each voice command to Deepgram as it is spoken."""

    _attr_has_entity_name = True
    _attr_name = None

    def __init__(
        self, entry: DeepgramConfigEntry, subentry: ConfigSubentry, listening: ListeningSetting
    ) -> None:
        """Describe the entity of one speech-to-text setting and its service device."""
        self._entry = entry
        self._listening = listening
        self._settings = listening.settings
        self._model = self._settings.speech_model
        # A setting migrated from an entry of its own has that entry's id, so the
        # entity keeps its unique id and its device.
        self._attr_unique_id = subentry.subentry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            manufacturer=MANUFACTURER,
            model=self._model.label,
            name=subentry.title,
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def supported_languages(self) -> list[str]:
        """Return the languages this setting recognises, so HA offers no other."""
        return list(languages_heard(self._model, self._settings.language))

    @property
    def supported_formats(self) -> list[AudioFormats]:
        """Return raw WAV/PCM and Ogg/Opus."""
        return [AudioFormats.WAV, AudioFormats.OGG]

    @property
    def supported_codecs(self) -> list[AudioCodecs]:
        """Return PCM and Opus."""
        return [AudioCodecs.PCM, AudioCodecs.OPUS]

    @property
    def supported_bit_rates(self) -> list[AudioBitRates]:
        """Return 16-bit, Deepgram's linear16."""
        return [AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[AudioSampleRates]:
        """Return every rate Home Assistant defines (Nova), or those Flux takes."""
        if self._model.flux:
            return [rate for rate in AudioSampleRates if rate in FLUX_SAMPLE_RATES]
        return list(AudioSampleRates)

    @property
    def supported_channels(self) -> list[AudioChannels]:
        """Return mono and stereo (Nova), or mono (Flux)."""
        if self._model.flux:
            return [AudioChannels.CHANNEL_MONO]
        return [AudioChannels.CHANNEL_MONO, AudioChannels.CHANNEL_STEREO]

    @property
    def audio_processing(self) -> Any:
        """Tell Home Assistant 2026.5+ who ends the command, and to leave the audio raw."""
        if SpeechAudioProcessing is None:
            return None
        return SpeechAudioProcessing(
            requires_external_vad=self._settings.requires_external_vad,
            # Deepgram is trained on untouched audio; gain and noise filters hurt it.
            prefers_auto_gain_enabled=False,
            prefers_noise_reduction_enabled=False,
        )

    async def async_process_audio_stream(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> SpeechResult:
        """Return the final transcript of one voice command."""
        async with aclosing(self._transcribe(metadata, stream, partials=False)) as results:
            async for result in results:
                if isinstance(result, SpeechResult):
                    return result
        return SpeechResult(None, SpeechResultState.ERROR)  # pragma: no cover

    async def async_process_audio_stream_with_progress(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> AsyncGenerator[Any]:
        """Yield the transcript so far as it grows, then the final result."""
        async with aclosing(self._transcribe(metadata, stream, partials=True)) as results:
            async for result in results:
                yield result

    async def _transcribe(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes], *, partials: bool
    ) -> AsyncGenerator[Any]:
        """Yield partial results, then exactly one SpeechResult, whatever happens."""
        settings = self._settings
        data = self._entry.runtime_data
        terms = self._listening.keyterms.terms
        options = live_options(metadata, settings, terms, interim_results=partials)
        command_end = self._command_end(metadata, options)
        decided = asyncio.Event()
        audio = audio_chunks(stream)
        if command_end is not None:
            audio = _counted(audio, command_end, decided)
        live = data.client.open_stream(audio, options)
        transcript = TranscriptBuilder()
        started = dt_util.utcnow()
        # When Deepgram alone ends commands, nothing else bounds the audio (Home
        # Assistant 2026.5+ runs no VAD then), so these timers end it if Deepgram
        # cannot; beside Home Assistant's VAD they cost nothing.
        audio_deadline: asyncio.TimerHandle | None = None
        pause_bound: _PauseBound | None = None
        if settings.answers_at_end_of_speech:
            audio_deadline = _end_audio_after(settings.no_speech_timeout, live, "no speech")
        speech_seen = False
        failure: Exception | None = None
        try:
            async with aclosing(_until(live.messages(), decided)) as messages:
                async for message in messages:
                    if transcript.add(message) and partials and PartialSpeechResult is not None:
                        yield PartialSpeechResult(
                            without_trailing_punctuation(transcript.partial_text, settings)
                        )
                    if audio_deadline is None:
                        continue
                    if _ends_command(message, transcript, command_end):
                        break
                    pause_bound = _watch_pause(command_end, decided, pause_bound)
                    if transcript.heard_speech and not speech_seen:
                        speech_seen = True
                        audio_deadline.cancel()
                        audio_deadline = _end_audio_after(
                            settings.max_utterance, live, "utterance too long"
                        )
        except Exception as err:  # noqa: BLE001 - the pipeline must get a result, not a traceback
            failure = err
            result = self._result_of_failure(err, transcript)
        else:
            data.health.stream_succeeded()
            result = SpeechResult(
                without_trailing_punctuation(transcript.text, settings), SpeechResultState.SUCCESS
            )
        finally:
            for timer in (audio_deadline, pause_bound):
                if timer is not None:
                    timer.cancel()
        self._record(
            metadata=metadata,
            live=live,
            transcript=transcript,
            result=result,
            failure=failure,
            started=started,
        )
        yield result

    def _command_end(self, metadata: SpeechMetadata, options: LiveOptions) -> CommandEnd | None:
        """Return what decides the end of a Nova command, or None (Flux, or the audio's end)."""
        if not self._settings.answers_at_end_of_speech or self._model.flux:
            return None
        language = options.language or metadata.language
        if language == MULTILINGUAL:
            language = metadata.language
        bytes_per_second = None
        if metadata.codec == AudioCodecs.PCM and metadata.format != AudioFormats.OGG:
            bytes_per_second = int(metadata.sample_rate) * int(metadata.channel) * 2
        return CommandEnd(language, bytes_per_second=bytes_per_second, unfinished=is_unfinished)

    def _record(  # noqa: PLR0913 - everything a support ticket asks about one stream
        self,
        *,
        metadata: SpeechMetadata,
        live: LiveStream,
        transcript: TranscriptBuilder,
        result: SpeechResult,
        failure: Exception | None,
        started: datetime,
    ) -> None:
        """Keep what a bug report or a Deepgram support ticket needs about this stream."""
        if failure is not None:
            kept = "kept what was heard after " if result.text else ""
            outcome = f"{kept}{type(failure).__name__}: {failure}"
        else:
            outcome = "success" if result.text else "no speech"
        audio_seconds = transcript.audio_seconds
        if metadata.codec == AudioCodecs.PCM and metadata.format != AudioFormats.OGG:
            bytes_per_second = int(metadata.sample_rate) * int(metadata.channel) * 2
            audio_seconds = round(live.audio_bytes / bytes_per_second, 2)
        after_audio = None
        if live.last_audio_at is not None:
            after_audio = round((asyncio.get_running_loop().time() - live.last_audio_at) * 1000)
        record = SessionRecord(
            started=started.isoformat(),
            # The stream's id (from the upgrade or its messages), else a refusal's.
            request_id=live.request_id or getattr(failure, "request_id", None),
            model=live.options.model,
            language=live.options.language or ",".join(live.options.language_hint),
            languages_hinted=transcript.languages_hinted,
            languages_detected=transcript.languages_detected,
            audio_seconds=audio_seconds,
            final_result_ms=after_audio,
            outcome=outcome,
        )
        self._listening.sessions.append(record)
        LOGGER.debug("Deepgram stream: %s, text %r", record, result.text)

    def _result_of_failure(self, err: Exception, transcript: TranscriptBuilder) -> SpeechResult:
        """Log one line on why the stream failed; keep what was heard if the end was lost."""
        if isinstance(err, DeepgramError):
            self._entry.runtime_data.health.stream_failed(err)
        if isinstance(err, DeepgramAuthenticationError):
            LOGGER.error("Deepgram rejected the API key, please re-authenticate: %s", err)
            self._entry.async_start_reauth(self.hass)
        elif isinstance(err, DeepgramConnectionClosedError | DeepgramConnectionError):
            if transcript.has_finals:
                LOGGER.warning("Deepgram stream ended early, keeping what was heard: %s", err)
                return SpeechResult(
                    without_trailing_punctuation(transcript.text, self._settings),
                    SpeechResultState.SUCCESS,
                )
            LOGGER.error("Deepgram speech-to-text failed: %s", err)
        elif isinstance(err, DeepgramError):
            LOGGER.error("Deepgram speech-to-text failed: %s", err)
        else:
            LOGGER.error("Deepgram speech-to-text failed on the audio stream", exc_info=err)
        return SpeechResult(None, SpeechResultState.ERROR)


def _end_audio_after(seconds: float, live: LiveStream, reason: str) -> asyncio.TimerHandle:
    """End the stream's audio after `seconds`, so Deepgram returns what it heard."""

    def end_audio() -> None:
        LOGGER.debug("Ending the audio after %.1f s: %s", seconds, reason)
        live.end_audio()

    return asyncio.get_running_loop().call_later(seconds, end_audio)


def _ends_command(
    message: ServerMessage, transcript: TranscriptBuilder, command_end: CommandEnd | None
) -> bool:
    """Whether `message` ends the command: Flux's end of turn, or a finished Nova command."""
    if command_end is None:
        return transcript.utterance_ended
    return command_end.add(message, transcript)


class _PauseBound:
    """The wall-clock bound of one pause of an unfinished command, should the audio stall."""

    __slots__ = ("_handle", "pause")

    def __init__(self, command_end: CommandEnd, decided: asyncio.Event) -> None:
        """End the command (set `decided`) if this pause outlasts its bound by the margin."""
        self.pause = pause = command_end.pauses

        def end_pause() -> None:
            if command_end.end_pause(pause):
                LOGGER.debug("Ending the command: the pause outlasted its bound (wall clock)")
                decided.set()

        delay = command_end.pause_left + PAUSE_WALL_CLOCK_MARGIN
        self._handle = asyncio.get_running_loop().call_later(delay, end_pause)

    def cancel(self) -> None:
        """Forget the bound."""
        self._handle.cancel()


def _watch_pause(
    command_end: CommandEnd | None, decided: asyncio.Event, bound: _PauseBound | None
) -> _PauseBound | None:
    """Keep one wall-clock bound on the pause the command is in, none outside a pause."""
    if command_end is None:
        return None
    if bound is not None:
        if command_end.holding and bound.pause == command_end.pauses:
            return bound
        bound.cancel()
    return _PauseBound(command_end, decided) if command_end.holding else None


async def _counted(
    audio: AsyncIterable[bytes], command_end: CommandEnd, decided: asyncio.Event
) -> AsyncGenerator[bytes]:
    """Pass the audio on, timing each pause by the audio itself."""
    chunks = aiter(audio)
    try:
        async for chunk in chunks:
            yield chunk
            if command_end.add_audio(chunk) and not decided.is_set():
                LOGGER.debug("Ending the command: %.2f s of silence", command_end.pause)
                decided.set()
    finally:
        # The microphone is Home Assistant's: closing it tells the satellite to stop.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


async def _until(
    messages: AsyncGenerator[ServerMessage], decided: asyncio.Event
) -> AsyncGenerator[ServerMessage]:
    """Yield Deepgram's messages until they end or `decided` is set, even between messages."""
    decision = asyncio.ensure_future(decided.wait())
    following: asyncio.Future[ServerMessage] | None = None
    try:
        while not decided.is_set():
            following = asyncio.ensure_future(anext(messages))
            await asyncio.wait({following, decision}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():
                return
            try:
                message = following.result()
            except StopAsyncIteration:
                return
            yield message
    finally:
        decision.cancel()
        if following is not None and not following.done():
            # Cancelling the read lets the stream clean up (CloseStream in the background).
            following.cancel()
            with suppress(asyncio.CancelledError, StopAsyncIteration):
                await following
        await messages.aclose()
