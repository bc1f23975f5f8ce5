"""Fix flows of the Repairs issues a user can fix: a stored model or voice no longer offered."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult

from .config_flow import OPTIONS_MODEL_SCHEMA, default_language, rename_for_options
from .const import CONF_LANGUAGE, CONF_MODEL, CONF_VOICE
from .health import MODEL_UNAVAILABLE
from .model_list import MODEL_NOT_LISTED
from .protocol.aura_voices import CATALOGUE, default_voice
from .protocol.models import model_label
from .settings import StreamSettings
from .voice_flow import voice_selector


async def async_create_fix_flow(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Return the flow that chooses a model, or a voice, in place of the one gone."""
    details = data or {}
    entry_id = str(details.get("entry_id"))
    if issue_id.startswith((MODEL_UNAVAILABLE, MODEL_NOT_LISTED)):
        return ModelRepairFlow(entry_id)
    return VoiceRepairFlow(entry_id, str(details.get("subentry_id")))


class _EntryRepairFlow(RepairsFlow):
    """A fix flow of one entry; it ends quietly if the entry is gone meanwhile."""

    def __init__(self, entry_id: str) -> None:
        """Remember the entry to fix."""
        self._entry_id = entry_id

    def _entry(self) -> ConfigEntry | None:
        return self.hass.config_entries.async_get_entry(self._entry_id)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Show the choice; the flow starts with the issue's id, not with an answer."""
        del user_input
        return await self.async_step_choose()

    async def async_step_choose(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for the replacement; each kind of issue has its own form."""
        raise NotImplementedError  # pragma: no cover - every flow below overrides it

    def _done(self, entry: ConfigEntry) -> FlowResult:
        """Reload the entry with its new setting; the issue goes with this flow."""
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return self.async_create_entry(data={})


class ModelRepairFlow(_EntryRepairFlow):
    """Choose a model in place of one the integration no longer offers."""

    async def async_step_choose(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for the model; keep the language where the new model has it."""
        entry = self._entry()
        if entry is None:
            return self.async_create_entry(data={})
        current = StreamSettings.from_options(entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            model = user_input[CONF_MODEL]
            language = default_language(model, current.language)
            options = {**entry.options, CONF_MODEL: model, CONF_LANGUAGE: language}
            if rename_for_options(self.hass, entry, options):
                self.hass.config_entries.async_update_entry(entry, options=options)
                return self._done(entry)
            errors["base"] = "already_configured"
        in_use = current.on_offered_model()
        return self.async_show_form(
            step_id="choose",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_MODEL_SCHEMA, user_input or {CONF_MODEL: in_use.model}
            ),
            errors=errors,
            description_placeholders={
                "title": entry.title,
                "model": current.model,
                "fallback": model_label(in_use.model),
            },
        )


class VoiceRepairFlow(_EntryRepairFlow):
    """Choose a voice in place of one Deepgram no longer lists."""

    def __init__(self, entry_id: str, subentry_id: str) -> None:
        """Remember the entry and its voice."""
        super().__init__(entry_id)
        self._subentry_id = subentry_id

    async def async_step_choose(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for one of the voices Deepgram lists now."""
        entry = self._entry()
        subentry = entry.subentries.get(self._subentry_id) if entry is not None else None
        if entry is None or subentry is None:
            return self.async_create_entry(data={})
        if user_input is not None:
            self.hass.config_entries.async_update_subentry(
                entry, subentry, data={**subentry.data, CONF_VOICE: user_input[CONF_VOICE]}
            )
            return self._done(entry)
        runtime = getattr(entry, "runtime_data", None)
        voices = runtime.voices.voices if runtime is not None else CATALOGUE
        gone = str(subentry.data.get(CONF_VOICE))
        # Suggest the default voice of the language the gone one spoke.
        language = gone.rsplit("-", 1)[-1]
        suggested = default_voice(voices, language) or default_voice(voices, "en")
        schema = vol.Schema({vol.Required(CONF_VOICE): voice_selector(voices)})
        return self.async_show_form(
            step_id="choose",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_VOICE: suggested.model} if suggested is not None else {}
            ),
            description_placeholders={
                "title": entry.title,
                "voice": gone,
            },
        )
