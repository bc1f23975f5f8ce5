"""Key terms from the home itself: the names Assist knows, as Deepgram prompts.

Deepgram hears "kitchen pendant" instead of "kitchen pendent" when it is told
the words to expect. The terms are the user's own, then floor and area names,
then the aliases and names of entities exposed to Assist; rebuilt when any of
those change, never on the audio path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import math
import re
from typing import Any

from homeassistant.components.homeassistant import exposed_entities
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    entity_registry as er,
    floor_registry as fr,
)
from homeassistant.helpers.debounce import Debouncer

from .const import LOGGER

# Deepgram's limits for keyterm prompting.
MAX_TERMS = 100
MAX_TOKENS = 500
# A name longer than this is a sentence, not a term worth prompting.
MAX_TERM_CHARACTERS = 50
# Nova-2 and older take weighted keywords; a modest boost, as Deepgram advises.
KEYWORD_BOOST = 2
REBUILD_DELAY = 2.0
ASSIST = "conversation"

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)


def estimate_tokens(term: str) -> int:
    """Estimate Deepgram's token count for a term: a word, or ~4 characters, each."""
    return max(len(term.split()), math.ceil(len(term) / 4))


def select_terms(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Choose the terms to send, deterministically and within Deepgram's limits.

    Groups come in priority order; each group is taken alphabetically (ignoring
    case). A term that repeats an earlier one (ignoring case) is skipped, as is
    one too long to be a name. Selection stops at the first term that would pass
    MAX_TERMS or MAX_TOKENS, so a higher-priority group is never cut for a
    lower one.
    """
    chosen: list[str] = []
    seen: set[str] = set()
    tokens = 0
    for group in groups:
        cleaned = {_SPACES.sub(" ", term).strip() for term in group}
        for term in sorted(cleaned, key=lambda item: (item.casefold(), item)):
            key = term.casefold()
            if not term or key in seen or len(term) > MAX_TERM_CHARACTERS:
                continue
            cost = estimate_tokens(term)
            if len(chosen) == MAX_TERMS or tokens + cost > MAX_TOKENS:
                return tuple(chosen)
            seen.add(key)
            chosen.append(term)
            tokens += cost
    return tuple(chosen)


def keywords(terms: Iterable[str]) -> tuple[str, ...]:
    """Turn terms into Nova-2 keywords: each distinct word, with a modest boost."""
    words: dict[str, str] = {}
    for term in terms:
        for word in _WORD.findall(term):
            if len(word) > 2:  # noqa: PLR2004 - "on", "of" need no boost
                words.setdefault(word.casefold(), word)
    return tuple(f"{word}:{KEYWORD_BOOST}" for word in words.values())[:MAX_TERMS]


class HomeKeyterms:
    """The key terms of one entry, kept current as the home changes."""

    def __init__(self, hass: HomeAssistant, custom: Iterable[str], *, from_home: bool) -> None:
        """Hold the user's own terms; the home's are added when `from_home`."""
        self._hass = hass
        self._custom = tuple(custom)
        self._from_home = from_home
        self.terms: tuple[str, ...] = select_terms([self._custom])
        self._debouncer = Debouncer(
            hass, LOGGER, cooldown=REBUILD_DELAY, immediate=False, function=self._rebuild
        )

    @callback
    def async_start(self) -> Callable[[], None]:
        """Build the terms and follow the registries; return the function that stops it."""
        if not self._from_home:
            return lambda: None
        self._rebuild()
        # One call each: their event data differ, and a union of event types is no one type.
        listen = self._hass.bus.async_listen
        unsubscribes: list[CALLBACK_TYPE] = [
            listen(er.EVENT_ENTITY_REGISTRY_UPDATED, self._schedule_rebuild),
            listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._schedule_rebuild),
            listen(fr.EVENT_FLOOR_REGISTRY_UPDATED, self._schedule_rebuild),
            listen(EVENT_HOMEASSISTANT_STARTED, self._schedule_rebuild),
        ]
        try:
            unsubscribes.append(
                exposed_entities.async_listen_entity_updates(
                    self._hass, ASSIST, self._debouncer.async_schedule_call
                )
            )
        except KeyError:
            LOGGER.debug("Assist's exposed entities are not loaded; names follow registries only")

        def stop() -> None:
            for unsubscribe in unsubscribes:
                unsubscribe()
            self._debouncer.async_shutdown()

        return stop

    @callback
    def _schedule_rebuild(self, _event: Event[Any]) -> None:
        self._debouncer.async_schedule_call()

    @callback
    def _rebuild(self) -> None:
        """Collect the home's names and choose the terms."""
        self.terms = select_terms([self._custom, *self._home_names()])
        LOGGER.debug("%d key terms for Deepgram", len(self.terms))

    def _home_names(self) -> list[list[str]]:
        """Return floor, area, alias and entity names, in that priority."""
        hass = self._hass
        floors = [
            name
            for floor in fr.async_get(hass).async_list_floors()
            for name in (floor.name, *floor.aliases)
        ]
        areas = [
            name
            for area in ar.async_get(hass).async_list_areas()
            for name in (area.name, *area.aliases)
        ]
        registry = er.async_get(hass)
        aliases: list[str] = []
        names: list[str] = []
        for state in hass.states.async_all():
            if not self._exposed(state.entity_id):
                continue
            names.append(state.name)
            if (entry := registry.async_get(state.entity_id)) is not None:
                # Newer Home Assistant puts a marker for "the entity's name" in aliases.
                aliases.extend(alias for alias in entry.aliases if isinstance(alias, str))
        return [floors, areas, aliases, names]

    def _exposed(self, entity_id: str) -> bool:
        try:
            return exposed_entities.async_should_expose(self._hass, ASSIST, entity_id)
        except KeyError:  # Assist is not set up: nothing is exposed to it.
            return False
