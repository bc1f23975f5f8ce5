"""Deepgram's live speech-to-text and text-to-speech protocols; independent of Home Assistant."""

from .aura_voices import Voice
from .client import (
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
    Connected,
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
from .options import LiveOptions, SpeakOptions
from .speak import DeepgramSpeaker
from .speech_stream import SpeechStream
from .transport import DEFAULT_SERVER

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SERVER",
    "MULTILINGUAL",
    "SPEECH_MODELS",
    "Connected",
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
    "DeepgramSpeaker",
    "ErrorMessage",
    "LiveOptions",
    "LiveStream",
    "Metadata",
    "Results",
    "ServerMessage",
    "SpeakOptions",
    "SpeechModel",
    "SpeechStarted",
    "SpeechStream",
    "Transcript",
    "TranscriptBuilder",
    "TurnInfo",
    "UtteranceEnd",
    "Voice",
    "Word",
    "listen_url",
    "normalize_server",
    "parse_message",
]
