"""The sentences the local recogniser can hear: Assist's commands over the home's names.

A recogniser that ships a small general model mishears free speech, but picks
the right sentence from a short list well. The list is a JSGF grammar: Assist's
everyday command patterns, with the names the integration sends as key terms
(`keyterm=Kitchen Light`, or Nova-2's `keywords=Kitchen:2`) in them, or the
names of a Home Assistant configuration directory when a request sends none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
import json
import logging
from pathlib import Path
import re
from typing import Any

LOGGER = logging.getLogger(__name__)

# Names for a request that sends no key terms and a server that knows no home.
DEMO_NAMES = ("Kitchen", "Kitchen Light", "Living Room", "Living Room Lamp", "Garage Door")

_ONES = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
    *("seventeen", "eighteen", "nineteen"),
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
_KEYWORD_BOOST = re.compile(r":-?\d+(?:\.\d+)?$")
_STORAGE_FILES = ("core.area_registry", "core.floor_registry", "core.entity_registry")

# Assist's everyday English sentences (Home Assistant's intents), in JSGF.
# <name> is any name of the home, <number> zero to one hundred.
COMMANDS = (
    "(turn | switch) (on | off) [the] <name> [in [the] <name>]",
    "(turn | switch) [the] <name> (on | off)",
    "(turn | switch) (on | off) [all] [the] [<name>] lights [in [the] <name>]",
    "(open | close | lock | unlock) [the] <name>",
    "set [the] <name> [brightness] to <number> percent",
    "set [the] <name> to <number> degrees",
    "set [the] temperature [in [the] <name>] to <number> degrees",
    "is [the] <name> (on | off | open | closed | locked | unlocked)",
    "what is the temperature [in [the] <name>]",
    "what is the <name> temperature",
    "what time is it",
    "what is the time",
    "what is the date",
    "what is the weather [like]",
    "set a timer for <number> (minutes | minute | seconds | hours)",
    "cancel [the] timer",
    "(cancel | never mind)",
)


# The largest number spoken_number spells.
_LARGEST_SPOKEN = 100


def spoken_number(number: int) -> str:
    """Spell 0 to 100 as spoken English, e.g. 42 -> "forty two"."""
    if number < len(_ONES):
        return _ONES[number]
    if number == _LARGEST_SPOKEN:
        return "one hundred"
    tens, ones = divmod(number, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def name_words(name: str) -> tuple[str, ...]:
    """Return a name as the words a speaker says: lower case, digits spelled out."""
    words: list[str] = []
    for token in _WORD.findall(_KEYWORD_BOOST.sub("", name).lower()):
        if token.isdigit():
            if int(token) > _LARGEST_SPOKEN:
                return ()
            words.extend(spoken_number(int(token)).split())
        else:
            words.append(token)
    return tuple(words)


def names_from_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """Return the names in key terms (`Kitchen Light`) or keywords (`Kitchen:2`), in order."""
    names: dict[str, None] = {}
    for term in terms:
        words = name_words(term)
        if words:
            names.setdefault(" ".join(words))
    return tuple(names)


def query_names(query: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the names a `/v1/listen` query carries in `keyterm` and `keywords`."""
    getall: Callable[[str, list[str]], list[str]] = getattr(query, "getall", lambda _k, d: d)
    return names_from_terms([*getall("keyterm", []), *getall("keywords", [])])


def names_in_config(config_dir: Path) -> tuple[str, ...]:
    """Return the area, floor and entity names (and aliases) that Home Assistant stored."""
    found: list[str] = []
    for file_name in _STORAGE_FILES:
        path = config_dir / ".storage" / file_name
        try:
            data = json.loads(path.read_text(encoding="utf-8")).get("data", {})
        except (OSError, ValueError, AttributeError):
            continue
        for key in ("areas", "floors", "entities"):
            for item in data.get(key, []):
                if not isinstance(item, dict):
                    continue
                found.extend(
                    value
                    for field in ("name", "original_name")
                    if isinstance(value := item.get(field), str)
                )
                found.extend(alias for alias in item.get("aliases", []) if isinstance(alias, str))
    return names_from_terms(found)


def jsgf(names: Iterable[str], known: Callable[[str], bool]) -> str:
    """Return the JSGF grammar of COMMANDS over `names`.

    A name with a word the recogniser cannot pronounce (`known` is False) is
    left out, as it could never be heard; the demo names stand in when none is left.
    """
    usable = [name for name in names if name and all(known(word) for word in name.split())]
    left_out = [name for name in names if name not in usable]
    if left_out:
        LOGGER.info("Names not in the recogniser's dictionary, not heard: %s", left_out)
    if not usable:
        usable = [" ".join(name_words(name)) for name in DEMO_NAMES]
    numbers = " | ".join(spoken_number(number) for number in range(101))
    alternatives = "\n  | ".join(f"({command})" for command in COMMANDS)
    return (
        "#JSGF V1.0;\n"
        "grammar assist;\n"
        f"<name> = {' | '.join(dict.fromkeys(usable))};\n"
        f"<number> = {numbers};\n"
        f"public <command> = {alternatives};\n"
    )
