"""The voice's own flow: add the account's voice to an entry, or change its voice and speed."""

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

from .const import CONF_SPEED, CONF_VOICE, DEFAULT_SPEED, VOICE_TITLE
from .protocol import Voice
from .protocol.aura_voices import CATALOGUE, MAX_SPEED, MIN_SPEED
from .protocol.models import language_name
from .voice import account_has_voice, voice_subentry


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


class DeepgramVoiceFlow(ConfigSubentryFlow):
    """Add the account's voice to this entry, or change it."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add the voice, unless an entry of the same account already has it."""
        entry = self._get_entry()
        if account_has_voice(self.hass, entry.data):
            return self.async_abort(reason="voice_exists")
        if user_input is not None:
            return self.async_create_entry(title=VOICE_TITLE, data=user_input)
        return self.async_show_form(
            step_id="user", data_schema=self._schema(voice_subentry(self.hass)["data"])
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the voice or its speed; the entity reloads with them."""
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            return self.async_update_reload_and_abort(self._get_entry(), subentry, data=user_input)
        return self.async_show_form(step_id="reconfigure", data_schema=self._schema(subentry.data))

    def _schema(self, current: Any) -> vol.Schema:
        entry = self._get_entry()
        runtime = getattr(entry, "runtime_data", None)
        voices = runtime.voices.voices if runtime is not None else CATALOGUE
        return vol.Schema(
            {
                vol.Required(CONF_VOICE, default=current[CONF_VOICE]): voice_selector(voices),
                vol.Required(
                    CONF_SPEED, default=current.get(CONF_SPEED, DEFAULT_SPEED)
                ): SPEED_SELECTOR,
            }
        )
