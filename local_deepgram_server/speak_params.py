"""The query of `/v1/speak` (REST and websocket), validated as Deepgram does, and its refusals.

Deepgram checks in two stages (as observed on its API): unknown parameters, unparsable
values and the model before the key (400 even with a bad key), combinations and ranges
after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

from aiohttp import web
from multidict import MultiMapping

from .refusals import COMMON_ERRORS, DeepgramHTTPError, phrase
from .synthesis import AudioFormat
from .voices import DEFAULT_VOICE, VOICES, Voice

MAX_CHARACTERS: Final = 2000
MAX_BODY_BYTES: Final = 2 * 1024 * 1024

REST_PARAMS: Final = (
    *("model", "encoding", "container", "sample_rate", "bit_rate", "speed"),
    *("mip_opt_out", "tag", "callback", "callback_method"),
)
# Deepgram's AsyncAPI spec of the v1 websocket; `container` only as `none` (its container docs).
WEBSOCKET_PARAMS: Final = ("model", "encoding", "sample_rate", "speed", "mip_opt_out", "container")
REST_ENCODINGS: Final = ("linear16", "flac", "mulaw", "alaw", "mp3", "opus", "aac")
WEBSOCKET_ENCODINGS: Final = ("linear16", "mulaw", "alaw")
CONTAINERS: Final = ("none", "wav", "ogg")
SPEED_RANGE: Final = (0.7, 1.5)

# Per encoding (Deepgram's "Audio Format Combinations"): containers (first is the default),
# sample rates (first is the default; one entry means "not configurable"), bit rates.
_RAW_CONTAINERS: Final = ("wav", "none")
_CONTAINERS: Final[dict[str, tuple[str, ...]]] = {
    "linear16": _RAW_CONTAINERS,
    "mulaw": _RAW_CONTAINERS,
    "alaw": _RAW_CONTAINERS,
    "opus": ("ogg",),
}
_SAMPLE_RATES: Final[dict[str, tuple[int, ...]]] = {
    "linear16": (24000, 8000, 16000, 32000, 48000),
    "mulaw": (8000, 16000),
    "alaw": (8000, 16000),
    "flac": (48000, 8000, 16000, 22050, 32000),
}
# Fixed rates of the encodings whose rate is "not applicable"; mp3 as Deepgram's live
# bytes show (24 kHz MPEG-2 Layer III), not the docs' 22050.
_FIXED_RATES: Final = {"mp3": 24000, "opus": 48000, "aac": 22050}
_BIT_RATE_CHOICES: Final = {"mp3": (48000, 32000)}
_BIT_RATE_RANGES: Final = {"opus": (12000, 4000, 650000), "aac": (48000, 4000, 192000)}

# status -> (err_code, err_msg) for TTS (the TTS section of Deepgram's error docs).
_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    **COMMON_ERRORS,
    413: ("PAYLOAD_TOO_LARGE", "Payload size exceeds limit of 2 MB."),
    415: (
        "UNSUPPORTED_MEDIA_TYPE",
        (
            "`Content-Type` header is not supported. `Content-Type` must be either "
            "`text/plain` or `application/json`."
        ),
    ),
    422: ("UNPROCESSABLE_ENTITY", "Failed to handle request."),
    429: ("Too Many Requests", "Please try again later."),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error."),
    503: ("Service Unavailable", "Please try again later"),
}


class SpeakError(DeepgramHTTPError):
    """A `/v1/speak` refusal in Deepgram's legacy shape `{err_code, err_msg, request_id}`."""

    errors = _ERRORS

    @staticmethod
    def unlisted(status: int) -> tuple[str, str]:
        """Return the status's phrase as both code and message."""
        return phrase(status), phrase(status)

    def response(self, request_id: str, *, upgrade: bool = False) -> web.Response:
        """Return the HTTP answer; a refused upgrade repeats the message in `dg-error`."""
        # Deepgram's error docs spell the key of the 503 body `error_code`.
        code_key = "error_code" if self.status == HTTPStatus.SERVICE_UNAVAILABLE else "err_code"
        body = {code_key: self.err_code, "err_msg": self.err_msg, "request_id": request_id}
        headers = {"dg-error": self.err_msg} if upgrade else {}
        return web.json_response(body, status=self.status, headers=headers)


def _query_error(problem: str) -> SpeakError:
    return SpeakError(
        400, f"Failed to deserialize query parameters: {problem}", "INVALID_QUERY_PARAMETER"
    )


def _format_error(problem: str) -> SpeakError:
    return SpeakError(400, f"Unsupported audio format: {problem}", "INVALID_QUERY_PARAMETER")


@dataclass(frozen=True, slots=True)
class SpeakQuery:
    """A query that parsed (the checks before the key): values, not yet combined."""

    voice: Voice
    encoding: str
    container: str | None
    sample_rate: int | None
    bit_rate: int | None
    speed: float | None
    callback: str | None
    websocket: bool


@dataclass(frozen=True, slots=True)
class SpeakParams:
    """A valid request: the voice, the audio it gets and how fast it speaks."""

    voice: Voice
    audio: AudioFormat
    speed: float


def _variant(query: MultiMapping[str], key: str, variants: tuple[str, ...]) -> str | None:
    value = query.get(key)
    if value is not None and value not in variants:
        expected = ", ".join(f"`{variant}`" for variant in variants)
        msg = f"unknown variant `{value}`, expected one of {expected}"
        raise _query_error(msg)
    return value


def _number[T: (int, float)](query: MultiMapping[str], key: str, kind: type[T]) -> T | None:
    value = query.get(key)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        what = "an integer" if kind is int else "a float"
        msg = f"invalid value: string {value!r}, expected {what}"
        raise _query_error(msg) from None


def parse_speak_query(query: MultiMapping[str], *, websocket: bool) -> SpeakQuery:
    """Check what Deepgram checks before the key; raise SpeakError(400)."""
    allowed = WEBSOCKET_PARAMS if websocket else REST_PARAMS
    for key in query:
        if key not in allowed:
            msg = f"unknown field `{key}`"
            raise _query_error(msg)
    encodings = WEBSOCKET_ENCODINGS if websocket else REST_ENCODINGS
    encoding = _variant(query, "encoding", encodings) or ("linear16" if websocket else "mp3")
    container = _variant(query, "container", CONTAINERS)
    _variant(query, "mip_opt_out", ("true", "false"))
    _variant(query, "callback_method", ("POST", "PUT"))
    voice = VOICES.get(query.get("model", DEFAULT_VOICE))
    if voice is None:
        raise SpeakError(400, "Bad Request: No such model/version combination found.")
    return SpeakQuery(
        voice=voice,
        encoding=encoding,
        container=container,
        sample_rate=_number(query, "sample_rate", int),
        bit_rate=_number(query, "bit_rate", int),
        speed=_number(query, "speed", float),
        callback=query.get("callback"),
        websocket=websocket,
    )


def validate_speak_query(query: SpeakQuery) -> SpeakParams:
    """Check combinations and ranges (after the key); raise SpeakError(400)."""
    encoding = query.encoding
    if query.callback is not None:
        # No callback can reach a test machine's caller; refuse as Deepgram does a bad URL.
        raise SpeakError(400, "Invalid callback url.", "INVALID_QUERY_PARAMETER")
    speed = 1.0 if query.speed is None else query.speed
    low, high = SPEED_RANGE
    if not low <= speed <= high:
        msg = f"`speed` must be between {low} and {high}"
        raise _query_error(msg)
    return SpeakParams(
        voice=query.voice,
        audio=AudioFormat(
            encoding=encoding,
            sample_rate=_sample_rate(encoding, query.sample_rate),
            container=_container(encoding, query.container, websocket=query.websocket),
            bit_rate=_bit_rate(encoding, query.bit_rate),
        ),
        speed=speed,
    )


def _container(encoding: str, container: str | None, *, websocket: bool) -> str:
    if websocket:  # Streams carry raw samples only.
        if container not in {None, "none"}:
            msg = f"`container={container}` is invalid when `encoding={encoding}`"
            raise _format_error(msg)
        return "none"
    choices = _CONTAINERS.get(encoding)
    if choices is None:
        if container is not None:
            msg = f"`container` is not applicable when `encoding={encoding}`"
            raise _format_error(msg)
        return "none"
    if container is None:
        return choices[0]
    if container not in choices:
        msg = f"`container={container}` is invalid when `encoding={encoding}`"
        raise _format_error(msg)
    return container


def _sample_rate(encoding: str, sample_rate: int | None) -> int:
    choices = _SAMPLE_RATES.get(encoding)
    if choices is None:
        if sample_rate is not None:
            msg = f"`sample_rate` is not applicable when `encoding={encoding}`"
            raise _format_error(msg)
        return _FIXED_RATES[encoding]
    return _choice("sample_rate", sample_rate, choices, encoding)


def _bit_rate(encoding: str, bit_rate: int | None) -> int | None:
    if (choices := _BIT_RATE_CHOICES.get(encoding)) is not None:
        return _choice("bit_rate", bit_rate, choices, encoding)
    if (bounds := _BIT_RATE_RANGES.get(encoding)) is not None:
        default, low, high = bounds
        if bit_rate is None:
            return default
        if not low <= bit_rate <= high:
            msg = f"`bit_rate` must be between {low} and {high} when `encoding={encoding}`"
            raise _format_error(msg)
        return bit_rate
    if bit_rate is not None:
        msg = f"`bit_rate` is not applicable when `encoding={encoding}`"
        raise _format_error(msg)
    return None


def _choice(key: str, value: int | None, choices: tuple[int, ...], encoding: str) -> int:
    """Return `value`, or the first choice when it is None; refuse any other."""
    if value is None:
        return choices[0]
    if value not in choices:
        listed = ", ".join(str(choice) for choice in sorted(choices))
        msg = f"`{key}` must be {listed} when `encoding={encoding}`"
        raise _format_error(msg)
    return value
