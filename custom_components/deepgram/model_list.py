"""Deepgram's `GET /v1/models`, fetched once per server and shared.

The set-up flow, each entry's set-up and the voice list all read the same
document: the first asks the server, the others within `MODEL_LIST_MAX_AGE`
use its answer. A failed fetch is not kept: the built-in table stands in, and
the next set-up asks again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .protocol import DeepgramError, Voice
from .protocol.aura_voices import parse_models
from .protocol.model_list import BUILT_IN_MODELS, ModelList, fetch_model_list, parse_model_list

# Set-up and its flow, or the entries of one account started together, share one fetch.
MODEL_LIST_MAX_AGE: Final = 300.0
MODEL_LIST_TIMEOUT: Final = 8.0
# The Repairs issue of an entry whose stored model the server no longer lists.


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One server's answer and when it came."""

    document: dict[str, Any]
    at: float


_DOCUMENTS: HassKey[dict[str, _Fetched]] = HassKey(f"{DOMAIN}_model_lists")
_LOCKS: HassKey[dict[str, asyncio.Lock]] = HassKey(f"{DOMAIN}_model_list_locks")


async def async_model_document(
    hass: HomeAssistant, session: aiohttp.ClientSession, server: str, api_key: str
) -> dict[str, Any]:
    """Return the server's `GET /v1/models` document: a recent one, else fetched now.

    Callers that ask while a fetch is under way wait for it; raises DeepgramError.
    """
    documents = hass.data.setdefault(_DOCUMENTS, {})
    async with hass.data.setdefault(_LOCKS, {}).setdefault(server, asyncio.Lock()):
        fetched = documents.get(server)
        if fetched is not None and hass.loop.time() - fetched.at < MODEL_LIST_MAX_AGE:
            return fetched.document
        document = await fetch_model_list(session, server, api_key, bound=MODEL_LIST_TIMEOUT)
        documents[server] = _Fetched(document, hass.loop.time())
        return document


async def async_model_list(
    hass: HomeAssistant, session: aiohttp.ClientSession, server: str, api_key: str
) -> ModelList:
    """Return the streaming models the server lists; the built-in table if it cannot be had."""
    try:
        listed = parse_model_list(await async_model_document(hass, session, server, api_key))
    except DeepgramError as err:
        LOGGER.debug("Using the built-in model list; the server's is unavailable: %s", err)
        return BUILT_IN_MODELS
    if listed is None:
        LOGGER.debug("The server lists no streaming speech model; using the built-in list")
        return BUILT_IN_MODELS
    return listed


async def async_listed_voices(
    hass: HomeAssistant, session: aiohttp.ClientSession, server: str, api_key: str
) -> list[Voice]:
    """Return the Aura-2 voices of the server's model list (the same fetch as the models)."""
    return parse_models(await async_model_document(hass, session, server, api_key))
