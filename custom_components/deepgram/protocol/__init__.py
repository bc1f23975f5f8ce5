"""Deepgram's live speech-to-text protocol; independent of Home Assistant."""

from .client import (
    DEFAULT_SERVER,
    DeepgramClient,
    LiveStream,
    Transcript,
    TranscriptBuilder,
    listen_url,
    normalize_server,
)
from .errors import (
    DeepgramAuthenticationError,
    DeepgramConnectionClosedError,
    DeepgramConnectionError,
    DeepgramError,
    DeepgramHTTPError,
    DeepgramPaymentRequiredError,
    DeepgramRateLimitError,
    DeepgramRequestRejectedError,
    DeepgramServerError,
)
from .messages import (
    ErrorMessage,
    Metadata,
    Results,
    ServerMessage,
    SpeechStarted,
    TurnInfo,
    UtteranceEnd,
    Word,
    parse_message,
)
from .models import DEFAULT_MODEL, MULTILINGUAL, SPEECH_MODELS, SpeechModel
from .options import LiveOptions

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SERVER",
    "MULTILINGUAL",
    "SPEECH_MODELS",
    "DeepgramAuthenticationError",
    "DeepgramClient",
    "DeepgramConnectionClosedError",
    "DeepgramConnectionError",
    "DeepgramError",
    "DeepgramHTTPError",
    "DeepgramPaymentRequiredError",
    "DeepgramRateLimitError",
    "DeepgramRequestRejectedError",
    "DeepgramServerError",
    "ErrorMessage",
    "LiveOptions",
    "LiveStream",
    "Metadata",
    "Results",
    "ServerMessage",
    "SpeechModel",
    "SpeechStarted",
    "Transcript",
    "TranscriptBuilder",
    "TurnInfo",
    "UtteranceEnd",
    "Word",
    "listen_url",
    "normalize_server",
    "parse_message",
]
