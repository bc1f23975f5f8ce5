"""The speech-to-text entity when only Home Assistant ends a command.

It then streams until Home Assistant ends the audio, as the other clients do,
so its figures compare with theirs one for one.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from custom_components.deepgram.const import CONF_END_OF_COMMAND, END_BY_HOME_ASSISTANT

from .client_entity import open_with_options, versions
from .harness import Transcribe

__all__ = ["open_client", "versions"]


def open_client(server: str, scripts: dict[str, str]) -> AbstractAsyncContextManager[Transcribe]:
    """Open the entity, told to wait for the end of the audio."""
    return open_with_options({CONF_END_OF_COMMAND: END_BY_HOME_ASSISTANT}, server, scripts)
