"""A voice of a Deepgram account: add one, or change its voice and speed."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .const import CONF_SPEED, CONF_VOICE, DEFAULT_SPEED, MANUFACTURER
from .protocol import Voice
from .protocol.aura_voices import CATALOGUE, MAX_SPEED, MIN_SPEED
from .protocol.models import language_name
from .voice_catalogue import voice_subentry


def voice_selector(voices: tuple[Voice, ...]) -> SelectSelector:
    """Offer every voice as "Thalia (American) · English", by language then name."""
    choices = [
        SelectOptionDict(
            value=voice.model, label=f"{voice.label} · {language_name(voice.language)}"
        )
        for voice in sorted(voices, key=lambda voice: (language_name(voice.language), voice.name))
    ]
    return SelectSelector(SelectSelectorConfig(options=choices, mode=SelectSelectorMode.DROPDOWN))


SPEED_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=MIN_SPEED, max=MAX_SPEED, step=0.05, mode=NumberSelectorMode.SLIDER)
)


def voice_title(voices: tuple[Voice, ...], model: str) -> str:
    """Name an added voice after the voice it speaks with, e.g. "Deepgram Zeus (American)"."""
    voice = next((voice for voice in voices if voice.model == model), None)
    return f"{MANUFACTURER} {voice.label if voice is not None else model}"


class DeepgramVoiceFlow(ConfigSubentryFlow):
    """Add a voice to the account, or change one."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a voice; each is a text-to-speech entity of its own."""
        if user_input is not None:
            title = voice_title(self._voices(), user_input[CONF_VOICE])
            return self.async_create_entry(title=title, data=user_input)
        return self.async_show_form(
            step_id="user", data_schema=self._schema(voice_subentry(self.hass)["data"])
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the voice or its speed; the entity reloads with them."""
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            # The account reloads itself when one of its voices changes (see __init__.py).
            return self.async_update_and_abort(self._get_entry(), subentry, data=user_input)
        return self.async_show_form(step_id="reconfigure", data_schema=self._schema(subentry.data))

    def _voices(self) -> tuple[Voice, ...]:
        """Return Deepgram's voices if the account has fetched them, else the built-in list."""
        runtime = getattr(self._get_entry(), "runtime_data", None)
        return runtime.voices.voices if runtime is not None else CATALOGUE

    def _schema(self, current: Any) -> vol.Schema:
        """Build the form: the voice and its speed, starting from `current`."""
        voices = self._voices()
        return vol.Schema(
            {
                vol.Required(CONF_VOICE, default=current[CONF_VOICE]): voice_selector(voices),
                vol.Required(
                    CONF_SPEED, default=current.get(CONF_SPEED, DEFAULT_SPEED)
                ): SPEED_SELECTOR,
            }
        )
