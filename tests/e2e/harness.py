"""The end-to-end tests' view of the Home Assistant process harness, which lives in tools/."""

from tools.home_assistant_harness import (
    HASS_PYTHON,
    HarnessError,
    HomeAssistant,
    LocalDeepgram,
    running,
)

__all__ = ["HASS_PYTHON", "HarnessError", "HomeAssistant", "LocalDeepgram", "running"]
