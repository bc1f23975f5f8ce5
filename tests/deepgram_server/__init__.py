"""A local, protocol-faithful Deepgram server for the tests, a dev instance and benchmarks."""

from .network import PIECES, WHOLE_WRITES, LocalCertificate, Network
from .server import (
    NET0001_REASON,
    DeepgramHTTPError,
    DeepgramTestServer,
    ListenParams,
    RecordedSession,
    parse_listen_query,
)
from .transcriber import AudioMeter, Transcriber, TranscriberConfig

__all__ = [
    "NET0001_REASON",
    "PIECES",
    "WHOLE_WRITES",
    "AudioMeter",
    "DeepgramHTTPError",
    "DeepgramTestServer",
    "ListenParams",
    "LocalCertificate",
    "Network",
    "RecordedSession",
    "Transcriber",
    "TranscriberConfig",
    "parse_listen_query",
]
