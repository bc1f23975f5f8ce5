"""Constants of the Deepgram integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "deepgram"
LOGGER = logging.getLogger(__package__)

CONF_SERVER: Final = "server"
CONF_MODEL: Final = "model"
CONF_LANGUAGE: Final = "language"
CONF_PROJECT_ID: Final = "project_id"
CONF_ADVANCED: Final = "advanced"

EU_SERVER: Final = "https://api.eu.deepgram.com"
MANUFACTURER: Final = "Deepgram"
