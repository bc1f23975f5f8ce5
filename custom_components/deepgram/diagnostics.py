"""Diagnostics: what a bug report or a Deepgram support ticket needs, never the key."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from . import DeepgramConfigEntry, DeepgramData
from .const import CONF_SERVER, SUBENTRY_STT

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's signature
    entry: DeepgramConfigEntry,
) -> dict[str, Any]:
    """Return the account, and each setting and voice with its last streams or answers."""
    data: DeepgramData | None = getattr(entry, "runtime_data", None)
    return {
        "entry": {
            "title": entry.title,
            "version": f"{entry.version}.{entry.minor_version}",
            "state": entry.state.value,
            "data": async_redact_data(entry.data, TO_REDACT),
        },
        "server": entry.data[CONF_SERVER],
        "voice_list": "live" if data is not None and data.voices.live else "built-in",
        "subentries": [_subentry(subentry, data) for subentry in entry.subentries.values()],
    }


def _subentry(subentry: ConfigSubentry, data: DeepgramData | None) -> dict[str, Any]:
    """Describe one setting or voice with what it did lately."""
    described: dict[str, Any] = {
        "subentry_id": subentry.subentry_id,
        "type": subentry.subentry_type,
        "title": subentry.title,
        "data": async_redact_data(subentry.data, TO_REDACT),
    }
    if data is None:
        return described
    if subentry.subentry_type == SUBENTRY_STT:
        listening = data.listening.get(subentry.subentry_id)
        if listening is not None:
            described["model"] = listening.settings.model
            described["key_terms"] = len(listening.keyterms.terms)
            described["sessions"] = [asdict(session) for session in listening.sessions]
    else:
        answers = data.answers.get(subentry.subentry_id, ())
        described["answers"] = [asdict(answer) for answer in answers]
    return described
