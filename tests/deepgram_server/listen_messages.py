"""The JSON messages of the listen endpoints, in Deepgram's exact shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
import json
from typing import Any, Final
import uuid

from .transcriber import Event, Segment, SpeechStarted, UtteranceEnd

_WORD_CONFIDENCE: Final = 0.99


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What Deepgram reports about the model that served a request."""

    name: str
    version: str
    arch: str
    uuid: str

    @classmethod
    def of(cls, model: str) -> ModelInfo:
        """Describe a model of SPEECH_MODELS in Deepgram's naming."""
        # "nova-2-phonecall" -> ("2", "phonecall")
        family, _, use = model.partition("-")[2].partition("-")
        if model.startswith("flux"):
            name, arch, version = model, "flux", "2025-10-02.0"
        elif model.startswith("nova-3"):
            name, arch, version = f"{use or 'general'}-nova-3", "nova-3", "2025-04-17.21547"
        elif model.startswith("nova-2"):
            name, arch, version = f"2-{use or 'general'}-nova", "nova-2", "2024-01-18.26916"
        else:
            name, arch, version = f"{family or 'general'}-nova", "nova", "2024-01-06.5664"
        model_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"deepgram-test-server/{name}"))
        return cls(name, version, arch, model_uuid)

    def as_dict(self) -> dict[str, str]:
        """Return `{name, version, arch}` as in a message's `model_info`."""
        return {"name": self.name, "version": self.version, "arch": self.arch}


def _time(value: float) -> float:
    return round(value, 6)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def metadata_message(
    request_id: str, model: ModelInfo, duration: float, channels: int, extra: Mapping[str, str]
) -> dict[str, Any]:
    """Return the Metadata message that ends a stream."""
    message: dict[str, Any] = {
        "type": "Metadata",
        "transaction_key": "deprecated",
        "request_id": request_id,
        "sha256": "incomplete",
        "created": _now(),
        "duration": _time(duration),
        "channels": channels,
    }
    if duration > 0:  # Deepgram names the model only when it processed audio.
        message["models"] = [model.uuid]
        message["model_info"] = {model.uuid: model.as_dict()}
    if extra:
        message["extra"] = dict(extra)
    return message


def results_message(
    segment: Segment,
    request_id: str,
    model: ModelInfo,
    extra: Mapping[str, str],
    *,
    languages_hinted: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Return a Results message in Deepgram's exact shape.

    A multilingual stream (`languages_hinted` not None, Nova-3's `multi`) tags each
    word with its language, lists the result's languages (both absent without
    words) and echoes the hints, an empty list when none were sent. The words are
    heard in the first hinted language, else English.
    """
    language = languages_hinted[0] if languages_hinted else "en"
    words = [
        {
            "word": word.plain,
            "start": _time(word.start),
            "end": _time(word.end),
            "confidence": _WORD_CONFIDENCE,
            "punctuated_word": word.text,
            **({} if languages_hinted is None else {"language": language}),
        }
        for word in segment.words
    ]
    alternative: dict[str, Any] = {
        "transcript": segment.transcript,
        "confidence": _WORD_CONFIDENCE if words else 0.0,
    }
    if languages_hinted is not None:
        if words:
            alternative["languages"] = [language]
        alternative["languages_hinted"] = list(languages_hinted)
    alternative["words"] = words
    metadata: dict[str, Any] = {
        "request_id": request_id,
        "model_info": model.as_dict(),
        "model_uuid": model.uuid,
    }
    if extra:
        metadata["extra"] = dict(extra)
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": _time(segment.end - segment.start),
        "start": _time(segment.start),
        "is_final": segment.is_final,
        "speech_final": segment.speech_final,
        "channel": {"alternatives": [alternative]},
        "metadata": metadata,
        "from_finalize": segment.from_finalize,
    }


def event_message(
    event: Event,
    request_id: str,
    model: ModelInfo,
    extra: Mapping[str, str],
    *,
    languages_hinted: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Return the message for one transcriber event."""
    if isinstance(event, SpeechStarted):
        return {"type": "SpeechStarted", "channel": [0, 1], "timestamp": _time(event.timestamp)}
    if isinstance(event, UtteranceEnd):
        return {
            "type": "UtteranceEnd",
            "channel": [0, 1],
            "last_word_end": _time(event.last_word_end),
        }
    return results_message(event, request_id, model, extra, languages_hinted=languages_hinted)


def schema_error(raw: str, problem: str) -> dict[str, Any]:
    """Return Deepgram's answer to a text frame it cannot read."""
    return {
        "type": "Error",
        "variant": "SchemaError",
        "description": f"Could not deserialize last text message: {problem}",
        "message": raw,
    }


def text_problem(
    raw: str, variants: tuple[str, ...]
) -> tuple[str | None, str | None, dict[str, Any]]:
    """Parse a control message; return (type, problem, message) as serde would see it."""
    try:
        message = json.loads(raw)
    except ValueError as err:
        line, column = getattr(err, "lineno", 1), getattr(err, "colno", 1)
        reason = getattr(err, "msg", str(err)).lower()
        return None, f"{reason} at line {line} column {column}", {}
    if not isinstance(message, dict):
        return None, "invalid type: expected internally tagged enum ClientMessage", {}
    kind = message.get("type")
    if not isinstance(kind, str):
        return None, "missing field `type`", message
    if kind not in variants:
        expected = ", ".join(f"`{variant}`" for variant in variants)
        return kind, f"unknown variant `{kind}`, expected one of {expected}", message
    return kind, None, message
