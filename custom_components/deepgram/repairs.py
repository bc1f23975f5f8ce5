"""Fix flows of the Repairs issues a user can fix: a stored model or voice no longer offered."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult

from .const import CONF_LANGUAGE, CONF_MODEL, CONF_VOICE
from .health import MODEL_NOT_LISTED, MODEL_UNAVAILABLE
from .protocol.aura_voices import CATALOGUE, default_voice
from .protocol.models import model_label
from .settings import StreamSettings
from .stt_flow import MODEL_SCHEMA, default_language, renamed_setting
from .tts_flow import voice_selector

# What a repairs flow step returns: 2026.10+ types it as RepairsFlowResult, a
# FlowResult with its own context; this names both versions' results alike.
type FixFlowResult = FlowResult[Any, str]


async def async_create_fix_flow(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's platform signature
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Return the flow that chooses a model, or a voice, in place of the one gone."""
    details = data or {}
    entry_id, subentry_id = str(details.get("entry_id")), str(details.get("subentry_id"))
    if issue_id.startswith((MODEL_UNAVAILABLE, MODEL_NOT_LISTED)):
        return ModelRepairFlow(entry_id, subentry_id)
    return VoiceRepairFlow(entry_id, subentry_id)


class _EntryRepairFlow(RepairsFlow):
    """A fix flow of one setting or voice; it ends quietly if that is gone meanwhile."""

    def __init__(self, entry_id: str, subentry_id: str) -> None:
        """Remember the account and its setting or voice to fix."""
        self._entry_id = entry_id
        self._subentry_id = subentry_id

    def _target(self) -> tuple[ConfigEntry, ConfigSubentry] | None:
        """Return the account and the setting or voice, if both still exist."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or (subentry := entry.subentries.get(self._subentry_id)) is None:
            return None
        return entry, subentry

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """Show the choice; the flow starts with the issue's id, not with an answer."""
        del user_input
        return await self.async_step_choose()

    async def async_step_choose(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """Ask for the replacement; each kind of issue has its own form."""
        raise NotImplementedError  # pragma: no cover - every flow below overrides it

    def _done(self) -> FixFlowResult:
        """End the flow; the account reloads itself with the change, the issue goes with it."""
        return self.async_create_entry(data={})


class ModelRepairFlow(_EntryRepairFlow):
    """Choose a model in place of one the integration no longer offers."""

    async def async_step_choose(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """Ask for the model; keep the language where the new model has it."""
        if (target := self._target()) is None:
            return self.async_create_entry(data={})
        entry, subentry = target
        current = StreamSettings.from_options(subentry.data)
        errors: dict[str, str] = {}
        if user_input is not None:
            model = user_input[CONF_MODEL]
            language = default_language(model, current.language)
            options = {**subentry.data, CONF_MODEL: model, CONF_LANGUAGE: language}
            updates = renamed_setting(subentry, options, entry.subentries)
            if updates is not None:
                self.hass.config_entries.async_update_subentry(
                    entry, subentry, data=options, **updates
                )
                return self._done()
            errors["base"] = "already_configured"
        in_use = current.on_offered_model()
        return self.async_show_form(
            step_id="choose",
            data_schema=self.add_suggested_values_to_schema(
                MODEL_SCHEMA, user_input or {CONF_MODEL: in_use.model}
            ),
            errors=errors,
            description_placeholders={
                "title": subentry.title,
                "model": current.model,
                "fallback": model_label(in_use.model),
            },
        )


class VoiceRepairFlow(_EntryRepairFlow):
    """Choose a voice in place of one Deepgram no longer lists."""

    async def async_step_choose(self, user_input: dict[str, Any] | None = None) -> FixFlowResult:
        """Ask for one of the voices Deepgram lists now."""
        if (target := self._target()) is None:
            return self.async_create_entry(data={})
        entry, subentry = target
        if user_input is not None:
            self.hass.config_entries.async_update_subentry(
                entry, subentry, data={**subentry.data, CONF_VOICE: user_input[CONF_VOICE]}
            )
            return self._done()
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
                "title": subentry.title,
                "voice": gone,
            },
        )
