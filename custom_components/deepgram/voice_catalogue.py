"""The voices of a Deepgram account: a new voice's settings, and the voices to choose from."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, callback

from .const import (
    CONF_SPEED,
    CONF_VOICE,
    DEFAULT_SPEED,
    LOGGER,
    SUBENTRY_VOICE,
    VOICE_TITLE,
)
from .protocol import DeepgramError, DeepgramSpeaker, Voice
from .protocol.aura_voices import CATALOGUE, DEFAULT_VOICE, default_voice

# A failed voice list is asked for again at most this often.
VOICES_RETRY_SECONDS = 600.0


def voice_subentry(hass: HomeAssistant) -> ConfigSubentryData:
    """Return a new voice for Home Assistant's language (Thalia where Aura-2 lacks it)."""
    voice = default_voice(CATALOGUE, hass.config.language)
    return ConfigSubentryData(
        data={CONF_VOICE: voice.model if voice else DEFAULT_VOICE, CONF_SPEED: DEFAULT_SPEED},
        subentry_type=SUBENTRY_VOICE,
        title=VOICE_TITLE,
        unique_id=None,
    )


class VoiceCatalogue:
    """Deepgram's voices from `GET /v1/models`, with the built-in catalogue until then."""

    def __init__(
        self,
        speaker: DeepgramSpeaker,
        create_task: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]],
        list_voices: Callable[[], Awaitable[list[Voice]]] | None = None,
    ) -> None:
        """Start from the built-in catalogue; `list_voices` replaces the speaker's own fetch."""
        self._list_voices = list_voices or speaker.voices
        self._create_task = create_task
        self.voices: tuple[Voice, ...] = CATALOGUE
        self.live = False
        self._failed_at: float | None = None
        self._refreshing = False

    async def refresh(self) -> None:
        """Fetch the live list; keep the current one if it cannot be had."""
        self._refreshing = True
        try:
            voices = await self._list_voices()
        except DeepgramError as err:
            LOGGER.debug("Using the built-in voice list; Deepgram's is unavailable: %s", err)
            self._failed_at = asyncio.get_running_loop().time()
            return
        finally:
            self._refreshing = False
        if voices:
            self.voices = tuple(voices)
            self.live = True

    @callback
    def retry_if_due(self) -> None:
        """Ask Deepgram in the background: never asked yet, or it failed a while ago."""
        if self.live or self._refreshing:
            return
        now = asyncio.get_running_loop().time()
        if self._failed_at is None or now - self._failed_at >= VOICES_RETRY_SECONDS:
            self._refreshing = True
            self._create_task(self.refresh())

    def get(self, model: str) -> Voice | None:
        """Return a voice by its model id."""
        return next((voice for voice in self.voices if voice.model == model), None)
