"""Constants of the Deepgram integration."""

from __future__ import annotations

import logging
from typing import Final

from .protocol import DEFAULT_SERVER

DOMAIN: Final = "deepgram"
LOGGER = logging.getLogger(__package__)

CONF_SERVER: Final = "server"
CONF_MODEL: Final = "model"
CONF_LANGUAGE: Final = "language"
CONF_OTHER_LANGUAGES: Final = "other_languages"
CONF_PROJECT_ID: Final = "project_id"
CONF_ADVANCED: Final = "advanced"

# The server choice: Deepgram's regional endpoints ("Regional Endpoints" in Deepgram's
# API reference), by a key the form translates. Each keeps audio in its region.
DEFAULT_REGION: Final = "default"
REGION_SERVERS: Final = {
    DEFAULT_REGION: DEFAULT_SERVER,  # global, served from the US
    "us": "https://api.us.deepgram.com",  # GA 2026-11-23
    "eu": "https://api.eu.deepgram.com",  # GA 2025-12-03
    "au": "https://api.au.deepgram.com",  # GA 2026-06-17
    "in": "https://api.in.deepgram.com",  # GA 2026-09-15
}
MANUFACTURER: Final = "Deepgram"

CONF_PUNCTUATE: Final = "punctuate"
CONF_SMART_FORMAT: Final = "smart_format"
CONF_NUMERALS: Final = "numerals"
CONF_PROFANITY_FILTER: Final = "profanity_filter"
CONF_FILLER_WORDS: Final = "filler_words"
CONF_STRIP_PUNCTUATION: Final = "strip_punctuation"
CONF_HOME_KEYTERMS: Final = "home_keyterms"
CONF_CUSTOM_KEYTERMS: Final = "custom_keyterms"
CONF_EOT_THRESHOLD: Final = "eot_threshold"
CONF_EOT_TIMEOUT_MS: Final = "eot_timeout_ms"
CONF_END_OF_COMMAND: Final = "end_of_command"
# Stored by entries before version 1.2; migrated to CONF_END_OF_COMMAND.
CONF_END_OF_SPEECH: Final = "end_of_speech"
CONF_ENDPOINTING: Final = "endpointing"
CONF_NO_SPEECH_TIMEOUT: Final = "no_speech_timeout"
CONF_MAX_UTTERANCE: Final = "max_utterance"

# The language option's value for "the voice assistant's language", the default.
LANGUAGE_FOLLOW_PIPELINE: Final = "pipeline"
# Who ends a voice command (the end_of_command option).
# Deepgram answers at its end of speech; Home Assistant's voice detection (and its
# 15 s limit) stays on as a fallback. The default for Nova.
END_BY_DEEPGRAM_OR_HOME_ASSISTANT: Final = "deepgram_or_home_assistant"
# Only Deepgram: Home Assistant 2026.5+ then runs no voice detection and no limit of
# its own. The default for Flux, whose end of turn waits through mid-sentence pauses.
END_BY_DEEPGRAM: Final = "deepgram"
# Only Home Assistant's voice detection (or the satellite) ends the audio.
END_BY_HOME_ASSISTANT: Final = "home_assistant"
END_OF_COMMAND_CHOICES: Final = (
    END_BY_DEEPGRAM_OR_HOME_ASSISTANT,
    END_BY_DEEPGRAM,
    END_BY_HOME_ASSISTANT,
)
# Deepgram's own default (10 ms) ends an utterance at every breath.
DEFAULT_ENDPOINTING_MS: Final = 300
DEFAULT_NO_SPEECH_TIMEOUT: Final = 8.0
DEFAULT_MAX_UTTERANCE: Final = 30.0
# Flux's own defaults.
DEFAULT_EOT_THRESHOLD: Final = 0.7
DEFAULT_EOT_TIMEOUT_MS: Final = 5000
# Flux's documented ranges ("End-of-Turn Detection Parameters"); 1.0 leaves ending a
# turn to the timeout alone.
EOT_THRESHOLD_RANGE: Final = (0.5, 1.0)
EOT_TIMEOUT_MS_RANGE: Final = (500, 60_000)

# An entry is one Deepgram account (key and server); what it provides are its subentries.
ACCOUNT_TITLE: Final = "Deepgram"
# A speech-to-text setting: a model, a language and how commands are recognised.
SUBENTRY_STT: Final = "stt"
# A voice: an Aura-2 voice and its speed.
SUBENTRY_VOICE: Final = "tts"
VOICE_TITLE: Final = "Deepgram Aura-2"
CONF_VOICE: Final = "voice"
CONF_SPEED: Final = "speed"
DEFAULT_SPEED: Final = 1.0
