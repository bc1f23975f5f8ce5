"""The Deepgram text-to-speech entity: Aura-2 voices, speaking while the answer is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components import tts
from homeassistant.components.tts import (
    ATTR_PREFERRED_FORMAT,
    ATTR_PREFERRED_SAMPLE_BYTES,
    ATTR_PREFERRED_SAMPLE_CHANNELS,
    ATTR_PREFERRED_SAMPLE_RATE,
    ATTR_VOICE,
    TextToSpeechEntity,
    TTSAudioResponse,
    TtsAudioType,
)

# In 2026.2 TTSAudioRequest is not in the package's __all__.
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import DeepgramConfigEntry, DeepgramData
from .const import (
    CONF_SPEED,
    CONF_VOICE,
    DEFAULT_SPEED,
    DOMAIN,
    LOGGER,
    MANUFACTURER,
)
from .protocol import (
    DeepgramAuthenticationError,
    DeepgramError,
    DeepgramSpeaker,
    SpeakOptions,
    Voice,
)
from .protocol.aura_voices import (
    DEFAULT_VOICE,
    MAX_SPEED,
    MIN_SPEED,
    SPEED_LANGUAGES,
    default_voice,
    languages_of,
    voices_for,
)
from .protocol.speak import DEFAULT_SAMPLE_RATE, STREAM_SAMPLE_RATES
from .protocol.speech_stream import SpeakingStoppedError
from .protocol.wav import streaming_wav_header
from .records import AnswerRecord

# Answers are independent; Deepgram limits concurrency per project, not here.
PARALLEL_UPDATES = 0

# Home Assistant 2026.11 hands a 16-bit WAV stream on untouched when the entity
# honours the requested format; before, it runs ffmpeg whenever a sample rate,
# channel count or width is requested, and that ffmpeg holds a WAV back for
# seconds of audio (see `audio_route`).
WAV_PASSTHROUGH: Final = hasattr(tts, "PcmFormat")

SUPPORTED_OPTIONS: Final = [
    ATTR_VOICE,
    CONF_SPEED,
    ATTR_PREFERRED_FORMAT,
    ATTR_PREFERRED_SAMPLE_RATE,
    ATTR_PREFERRED_SAMPLE_CHANNELS,
    ATTR_PREFERRED_SAMPLE_BYTES,
]


@dataclass(frozen=True, slots=True)
class AudioRoute:
    """How an answer reaches Deepgram and in which format it comes back."""

    extension: str
    # The websocket's linear16 rate; None for MP3 over REST.
    sample_rate: int | None = None

    @property
    def name(self) -> str:
        """Describe the route for diagnostics."""
        if self.sample_rate is None:
            return f"rest {self.extension}"
        return f"websocket {self.extension} {self.sample_rate}"


def _number(options: Mapping[str, Any], key: str) -> int | None:
    value = options.get(key)
    return None if value is None else int(value)


def audio_route(
    options: Mapping[str, Any], *, wav_passthrough: bool = WAV_PASSTHROUGH
) -> AudioRoute:
    """Pick the format that reaches the listener soonest with the least conversion.

    Streaming WAV from the websocket (one header, then Deepgram's linear16 as it
    arrives) goes out untouched whenever Home Assistant does not convert it. MP3
    over REST needs no conversion where MP3 is asked for. Where Home Assistant
    converts anyway (before 2026.11: whenever a sample format is asked for), it
    gets MP3: 2026.2's ffmpeg holds WAV back much longer than MP3 before its first
    output (2026.10, which probes less, holds both alike; `python -m benchmarks.tts`
    measures it).
    """
    final = options.get(ATTR_PREFERRED_FORMAT) or "mp3"
    rate = _number(options, ATTR_PREFERRED_SAMPLE_RATE)
    channels = _number(options, ATTR_PREFERRED_SAMPLE_CHANNELS)
    width = _number(options, ATTR_PREFERRED_SAMPLE_BYTES)
    asks_samples = any(value is not None for value in (rate, channels, width))
    streamable_wav = (
        final == "wav"
        and channels in (None, 1)
        and width in (None, 2)
        and (rate is None or rate in STREAM_SAMPLE_RATES)
    )
    if streamable_wav and (wav_passthrough or not asks_samples):
        return AudioRoute("wav", rate or DEFAULT_SAMPLE_RATE)
    if final == "mp3" and not asks_samples:
        return AudioRoute("mp3")
    # Home Assistant converts from here on; on 2026.11 only if the extension differs.
    if wav_passthrough and final == "mp3":
        return AudioRoute("wav", DEFAULT_SAMPLE_RATE)
    return AudioRoute("mp3")


def voice_of_model(model: str) -> Voice:
    """Describe a voice the catalogue lacks from its id, e.g. aura-2-zeus-en."""
    parts = model.split("-")
    name = parts[-2].title() if len(parts) >= 3 else model  # noqa: PLR2004
    return Voice(model, name, (parts[-1],))


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: DeepgramConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an entity for each of the account's voices, with Deepgram's list of voices."""
    data = entry.runtime_data
    if data.answers:
        # Only an account with a voice needs Deepgram's list.
        await data.voices.refresh()
    for subentry_id in data.answers:
        async_add_entities(
            [DeepgramTextToSpeechEntity(entry, entry.subentries[subentry_id])],
            config_subentry_id=subentry_id,
        )


class _Answer:
    """What one answer sent and when, for the log, Repairs and diagnostics."""

    def __init__(self, voice: Voice, route: AudioRoute) -> None:
        self.voice = voice
        self.route = route
        self.started = dt_util.utcnow()
        self.characters = 0
        self.first_text_at: float | None = None
        self.first_audio_at: float | None = None
        self.request_ids: list[str] = []

    async def text(self, message_gen: AsyncIterable[str]) -> AsyncGenerator[str]:
        """Pass the agent's text through, noting when it starts and how long it is."""
        async for chunk in message_gen:
            if self.first_text_at is None:
                self.first_text_at = asyncio.get_running_loop().time()
            self.characters += len(chunk)
            yield chunk

    def audio_arrived(self) -> None:
        """Note when the first audio of the answer arrived."""
        if self.first_audio_at is None:
            self.first_audio_at = asyncio.get_running_loop().time()

    def record(self, outcome: str) -> AnswerRecord:
        first_audio_ms = None
        if self.first_audio_at is not None and self.first_text_at is not None:
            first_audio_ms = round((self.first_audio_at - self.first_text_at) * 1000)
        return AnswerRecord(
            started=self.started.isoformat(),
            request_ids=tuple(self.request_ids),
            voice=self.voice.model,
            route=self.route.name,
            characters=self.characters,
            first_audio_ms=first_audio_ms,
            outcome=outcome,
        )


class DeepgramTextToSpeechEntity(TextToSpeechEntity):
    """Speaks with Deepgram's Aura-2 voices; streams text in and audio out."""

    _attr_has_entity_name = True
    _attr_supported_options = SUPPORTED_OPTIONS

    def __init__(self, entry: DeepgramConfigEntry, subentry: ConfigSubentry) -> None:
        """Describe the voice and its service device."""
        self._entry = entry
        self._answers = entry.runtime_data.answers[subentry.subentry_id]
        self._catalogue = entry.runtime_data.voices
        model = str(subentry.data.get(CONF_VOICE, DEFAULT_VOICE))
        self._voice = self._catalogue.get(model) or voice_of_model(model)
        speed = float(subentry.data.get(CONF_SPEED, DEFAULT_SPEED))
        self._attr_unique_id = subentry.subentry_id
        # Home Assistant's TTS needs a name of the entity's own: "Deepgram" + "Aura-2"
        # for the first voice, "Deepgram" + "Zeus (American)" for one added later.
        self._attr_name = subentry.title.removeprefix(f"{MANUFACTURER} ")
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            manufacturer=MANUFACTURER,
            model="Aura-2",
            name=MANUFACTURER,
            entry_type=DeviceEntryType.SERVICE,
        )
        languages = languages_of(self._catalogue.voices)
        self._attr_supported_languages = languages
        self._attr_default_language = (
            self._voice.languages[0] if self._voice.languages[0] in languages else languages[0]
        )
        # The configured voice and speed are default options so they are part of
        # Home Assistant's cache key: changing them is not answered from the cache.
        self._attr_default_options = {ATTR_VOICE: self._voice.model, CONF_SPEED: speed}

    @callback
    def async_get_supported_voices(self, language: str) -> list[tts.Voice] | None:
        """Return Deepgram's voices of the language, its default and regional accent first.

        Home Assistant preselects the first voice: the one the entity speaks the
        language with when none is chosen.
        """
        self._catalogue.retry_if_due()
        voices = voices_for(self._catalogue.voices, language)
        default = self._voice_for(language, {})
        voices.sort(key=lambda voice: voice.model != default.model)  # stable: keeps the order
        return [tts.Voice(voice.model, voice.label) for voice in voices] or None

    def _voice_for(self, language: str, options: Mapping[str, Any]) -> Voice:
        """Return the voice asked for if it speaks the language, else the language's own."""
        model = str(options.get(ATTR_VOICE) or self._voice.model)
        voice = self._catalogue.get(model) or voice_of_model(model)
        if voice.speaks(language):
            return voice
        return default_voice(self._catalogue.voices, language) or self._voice

    @staticmethod
    def _speed_for(voice: Voice, options: Mapping[str, Any]) -> float | None:
        """Return the speed to send: only where Deepgram has it, and only if not normal."""
        speed = float(options.get(CONF_SPEED) or DEFAULT_SPEED)
        if voice.language not in SPEED_LANGUAGES or speed == DEFAULT_SPEED:
            return None
        return min(max(speed, MIN_SPEED), MAX_SPEED)

    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Speak the answer as it is written; the audio streams out as it arrives."""
        route = audio_route(request.options)
        voice = self._voice_for(request.language, request.options)
        answer = _Answer(voice, route)
        speed = self._speed_for(voice, request.options)
        return TTSAudioResponse(route.extension, self._audio(answer, request.message_gen, speed))

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Speak one whole message (Home Assistant streams instead where it can)."""

        async def whole() -> AsyncGenerator[str]:
            yield message

        response = await self.async_stream_tts_audio(TTSAudioRequest(language, options, whole()))
        audio = b"".join([chunk async for chunk in response.data_gen])
        return (response.extension, audio) if audio else (None, None)

    async def _audio(
        self, answer: _Answer, message_gen: AsyncIterable[str], speed: float | None
    ) -> AsyncGenerator[bytes]:
        """Yield the answer's audio; a failure is recorded, then raised as HomeAssistantError.

        Raising is what makes Home Assistant drop the answer from its cache and
        report it; nothing is yielded before Deepgram has accepted the request.
        """
        route = answer.route
        # Kept: an answer the unload stops ends after the entry's data is gone.
        data = self._entry.runtime_data
        speaker = data.speaker
        text = answer.text(message_gen)
        options = SpeakOptions(
            model=answer.voice.model,
            encoding="mp3" if route.sample_rate is None else "linear16",
            sample_rate=route.sample_rate,
            speed=speed,
        )
        outcome = "cancelled"
        try:
            async with aclosing(self._deepgram_audio(speaker, answer, text, options)) as audio:
                async for chunk in audio:
                    yield chunk
        except SpeakingStoppedError as err:
            outcome = "stopped: the entry was unloaded"
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="speaking_stopped"
            ) from err
        except DeepgramError as err:
            outcome = f"{type(err).__name__}: {err}"
            if err.request_id and err.request_id not in answer.request_ids:
                answer.request_ids.append(err.request_id)
            self._failed(data, err)
            raise speaking_error(err) from err
        except Exception as err:
            outcome = f"{type(err).__name__}: {err}"
            raise
        else:
            outcome = "success"
            data.health.stream_succeeded()
        finally:
            record = answer.record(outcome)
            self._answers.append(record)
            LOGGER.debug("Deepgram answer: %s", record)

    @staticmethod
    async def _deepgram_audio(
        speaker: DeepgramSpeaker, answer: _Answer, text: AsyncIterable[str], options: SpeakOptions
    ) -> AsyncGenerator[bytes]:
        """Yield Deepgram's audio; a WAV header first, once Deepgram has accepted the stream."""
        sample_rate = answer.route.sample_rate
        if sample_rate is None:
            rest = speaker.synthesize_sentences(text, options, request_ids=answer.request_ids)
            async with aclosing(rest) as audio:
                async for chunk in audio:
                    answer.audio_arrived()
                    yield chunk
            return
        stream = speaker.open_stream(options)
        try:
            # The header promises audio: only once Deepgram has taken the request.
            await stream.open()
            yield streaming_wav_header(sample_rate)
            async with aclosing(stream.audio(text)) as audio:
                async for chunk in audio:
                    answer.audio_arrived()
                    yield chunk
        finally:
            await stream.close()
            if stream.request_id:
                answer.request_ids.append(stream.request_id)

    def _failed(self, data: DeepgramData, err: DeepgramError) -> None:
        """Log the one line a failed answer gets; raise Repairs issues or re-authentication."""
        data.health.stream_failed(err)
        if isinstance(err, DeepgramAuthenticationError):
            LOGGER.error("Deepgram rejected the API key, please re-authenticate: %s", err)
            self._entry.async_start_reauth(self.hass)
        else:
            LOGGER.error("Deepgram could not speak the answer: %s", err)


def speaking_error(err: DeepgramError) -> HomeAssistantError:
    """Return the error Home Assistant reports: Deepgram's reason and its request id."""
    reason = Exception.__str__(err)
    if err.request_id is None:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="speaking_failed_without_request_id",
            translation_placeholders={"reason": reason},
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="speaking_failed",
        translation_placeholders={"reason": reason, "request_id": err.request_id},
    )
