"""Diagnostics: what a bug report or a Deepgram support ticket needs, never the key."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from . import DeepgramConfigEntry
from .const import CONF_SERVER, SUBENTRY_VOICE

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant,  # noqa: ARG001 - Home Assistant's signature
    entry: DeepgramConfigEntry,
) -> dict[str, Any]:
    """Return the entry, its settings and the last streams and answers with their request ids."""
    data = entry.runtime_data
    voices = [
        dict(subentry.data)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_VOICE
    ]
    return {
        "entry": {
            "title": entry.title,
            "version": entry.version,
            "state": entry.state.value,
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": async_redact_data(entry.options, TO_REDACT),
        },
        "server": entry.data[CONF_SERVER],
        "model": data.settings.model,
        "key_terms": len(data.keyterms.terms),
        "sessions": [asdict(session) for session in data.sessions],
        # The account's voice, if this entry carries it.
        "voice": voices[0] if voices else None,
        "voice_list": "live" if data.voices.live else "built-in",
        "answers": [asdict(answer) for answer in data.answers],
    }
