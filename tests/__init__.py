"""Tests of the Deepgram integration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components import stt

if TYPE_CHECKING:
    # Only for annotations: the benchmarks import this package without the test plugin.
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from homeassistant.config_entries import ConfigEntry, ConfigSubentry
    from homeassistant.core import HomeAssistant


def pcm_metadata(
    *,
    language: str = "en",
    sample_rate: int = 16000,
    channels: int = 1,
    audio_format: stt.AudioFormats = stt.AudioFormats.WAV,
    codec: stt.AudioCodecs = stt.AudioCodecs.PCM,
) -> stt.SpeechMetadata:
    """Describe an audio stream as Home Assistant does (16 kHz mono PCM unless told)."""
    return stt.SpeechMetadata(
        language=language,
        format=audio_format,
        codec=codec,
        bit_rate=stt.AudioBitRates.BITRATE_16,
        sample_rate=stt.AudioSampleRates(sample_rate),
        channel=stt.AudioChannels(channels),
    )


METADATA = pcm_metadata()


def subentries_of(entry: ConfigEntry, subentry_type: str) -> list[ConfigSubentry]:
    """Return the account's speech-to-text settings ("stt") or voices ("tts"), in order."""
    return [sub for sub in entry.subentries.values() if sub.subentry_type == subentry_type]


def setting_of(entry: ConfigEntry) -> ConfigSubentry:
    """Return the account's first speech-to-text setting."""
    return subentries_of(entry, "stt")[0]


def voice_of(entry: ConfigEntry) -> ConfigSubentry:
    """Return the account's first voice."""
    return subentries_of(entry, "tts")[0]


def answers_of(entry: ConfigEntry) -> Any:
    """Return the recent answers of the account's first voice, oldest first."""
    return entry.runtime_data.answers[voice_of(entry).subentry_id]


async def setup_integration(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> None:
    """Add the account to Home Assistant, with `options` on its first setting, and set it up."""
    if entry.entry_id not in hass.config_entries.async_entry_ids():
        entry.add_to_hass(hass)
    if options:
        setting = setting_of(entry)
        hass.config_entries.async_update_subentry(entry, setting, data={**setting.data, **options})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
