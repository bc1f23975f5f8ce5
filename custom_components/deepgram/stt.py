"""The Deepgram speech-to-text entity."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing
import time
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
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import DeepgramConfigEntry
from .const import DOMAIN, LOGGER, MANUFACTURER
from .protocol import (
    SPEECH_MODELS,
    DeepgramAuthenticationError,
    DeepgramConnectionClosedError,
    DeepgramConnectionError,
    DeepgramError,
    LiveOptions,
    TranscriptBuilder,
)

# Streams are independent; Deepgram limits concurrency per project, not here.
PARALLEL_UPDATES = 0

# Home Assistant 2026.11 added partial results; older versions lack the class.
PartialSpeechResult: Any = getattr(stt, "PartialSpeechResult", None)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    entry: DeepgramConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entry's speech-to-text entity."""
    async_add_entities([DeepgramSpeechToTextEntity(entry)])


def live_options(metadata: SpeechMetadata, *, model: str, language: str) -> LiveOptions:
    """Describe Home Assistant's audio to Deepgram exactly as it will arrive."""
    if metadata.format == AudioFormats.OGG:
        # Ogg carries its own format; Deepgram reads it from the container.
        return LiveOptions(model=model, language=language, punctuate=True)
    return LiveOptions(
        model=model,
        language=language,
        punctuate=True,
        encoding="linear16" if metadata.codec == AudioCodecs.PCM else "opus",
        sample_rate=int(metadata.sample_rate),
        channels=int(metadata.channel),
    )


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

    def __init__(self, entry: DeepgramConfigEntry) -> None:
        """Describe the entity and its service device."""
        self._entry = entry
        self._model = SPEECH_MODELS[entry.runtime_data.model]
        self._attr_unique_id = entry.entry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            manufacturer=MANUFACTURER,
            model=self._model.label,
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def supported_languages(self) -> list[str]:
        """Return every language code the configured model accepts."""
        return list(self._model.languages)

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
        """Return every rate Home Assistant defines; Deepgram takes any."""
        return list(AudioSampleRates)

    @property
    def supported_channels(self) -> list[AudioChannels]:
        """Return mono and stereo."""
        return [AudioChannels.CHANNEL_MONO, AudioChannels.CHANNEL_STEREO]

    async def async_process_audio_stream(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> SpeechResult:
        """Return the final transcript of one voice command."""
        async with aclosing(self._transcribe(metadata, stream)) as results:
            async for result in results:
                if isinstance(result, SpeechResult):
                    return result
        return SpeechResult(None, SpeechResultState.ERROR)  # pragma: no cover

    async def async_process_audio_stream_with_progress(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> AsyncGenerator[Any]:
        """Yield the transcript so far as it grows, then the final result."""
        async with aclosing(self._transcribe(metadata, stream)) as results:
            async for result in results:
                yield result

    async def _transcribe(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> AsyncGenerator[Any]:
        """Yield partial results, then exactly one SpeechResult, whatever happens."""
        data = self._entry.runtime_data
        options = live_options(metadata, model=data.model, language=data.language)
        transcript = TranscriptBuilder()
        started = time.monotonic()
        result = SpeechResult(None, SpeechResultState.ERROR)
        try:
            async with aclosing(data.client.stream(audio_chunks(stream), options)) as messages:
                async for message in messages:
                    if transcript.add(message) and PartialSpeechResult is not None:
                        yield PartialSpeechResult(transcript.partial_text)
        except DeepgramAuthenticationError as err:
            LOGGER.error("Deepgram rejected the API key, please re-authenticate: %s", err)
            self._entry.async_start_reauth(self.hass)
        except (DeepgramConnectionClosedError, DeepgramConnectionError) as err:
            if transcript.has_finals:
                LOGGER.warning("Deepgram stream ended early, keeping what was heard: %s", err)
                result = SpeechResult(transcript.text, SpeechResultState.SUCCESS)
            else:
                LOGGER.error("Deepgram speech-to-text failed: %s", err)
        except DeepgramError as err:
            LOGGER.error("Deepgram speech-to-text failed: %s", err)
        except Exception:  # noqa: BLE001 - the pipeline must get a result, not a traceback
            LOGGER.exception("Deepgram speech-to-text failed on the audio stream")
        else:
            result = SpeechResult(transcript.text, SpeechResultState.SUCCESS)
        LOGGER.debug(
            "Deepgram request %s: %s in %.0f ms: %r",
            transcript.request_id,
            result.result,
            (time.monotonic() - started) * 1000,
            result.text,
        )
        yield result
