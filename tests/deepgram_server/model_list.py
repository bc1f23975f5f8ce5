"""The speech models the local server lists in `GET /v1/models` and serves on `/v1/listen`.

It starts as the integration's built-in table; tests switch it to look like a
Deepgram that added a model or a language (listed and served), retired one
or a language (no longer listed, still served for a while, as Deepgram does), or cannot
list its models at all (`status`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from custom_components.deepgram.protocol.models import SPEECH_MODELS, SpeechModel

from .listen_messages import ModelInfo


class SpeechModelList:
    """The `stt` half of `/v1/models`, with switches."""

    def __init__(self) -> None:
        """List and serve every model of the built-in table."""
        self.served: dict[str, SpeechModel] = dict(SPEECH_MODELS)
        self.unlisted: set[str] = set()
        self.unlisted_languages: set[tuple[str, str]] = set()
        # `/v1/models`' top-level `languages`: names of languages beyond the voices'.
        self.language_names: dict[str, str] = {}
        # Answer `/v1/models` with this HTTP status and Deepgram's refusal instead.
        self.status: int | None = None

    def add(self, name: str, languages: Iterable[str], *, keyterms: bool = True) -> None:
        """List and serve a model the integration's table lacks."""
        self.served[name] = SpeechModel(name, name, tuple(languages), supports_keyterms=keyterms)

    def add_language(self, model: str, language: str, name: str | None = None) -> None:
        """List and serve one more language of a model; `name` joins the list's names."""
        if name is not None:
            self.language_names[language] = name
        served = self.served[model]
        self.served[model] = replace(served, languages=(*served.languages, language))

    def drop(self, model: str) -> None:
        """Stop listing a model; streams may still ask for it."""
        self.unlisted.add(model)

    def drop_language(self, model: str, language: str) -> None:
        """Stop listing one language of a model; streams may still ask for it."""
        self.unlisted_languages.add((model, language))

    def listed(self) -> Mapping[str, SpeechModel]:
        """Return the models `/v1/models` lists."""
        return {name: model for name, model in self.served.items() if name not in self.unlisted}

    def entries(self) -> list[dict[str, Any]]:
        """Return the `stt` list in Deepgram's shape."""
        stt = []
        for name, model in self.listed().items():
            info = ModelInfo.of(name)
            stt.append(
                {
                    "name": info.name,
                    "canonical_name": name,
                    "architecture": info.arch,
                    "languages": [
                        code
                        for code in model.languages
                        if (name, code) not in self.unlisted_languages
                    ],
                    "version": info.version,
                    "uuid": info.uuid,
                    "batch": not model.flux,  # Flux is streaming only.
                    "streaming": True,
                    "formatted_output": True,
                }
            )
        return stt
