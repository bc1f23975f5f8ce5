"""Upgrading a real Home Assistant from the previous release: one account, nothing lost.

The previous release (one entry per model and language) is materialised from git
into a directory of its own; a real `hass` running it creates two entries of one
Deepgram project through the config-flow REST API and stops. Then `hass` starts
with this checkout's code on the same configuration, and the tests check over the
REST and websocket APIs that the entries became one account whose entity ids and
unique ids are those of before, and that both speech-to-text entities and the
voice work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
import io
import os
from pathlib import Path
import subprocess
import tarfile
from typing import Any

import aiohttp
import pytest

from local_deepgram_server.speech import synthesize, wav_file
from tools.home_assistant_harness import REPO, HomeAssistant, LocalDeepgram

from .conftest import API_KEY, UTTERANCE, allow_sockets, require_frontend
from .websocket import Websocket

# Two starts of Home Assistant and a set-up in between.
pytestmark = pytest.mark.timeout(240)

# The last release whose entries were one per model and language (version 1.3).
PREVIOUS_RELEASE = "a61da8b"
SAMPLE_RATE = 16000
ENTRIES = "/api/config/config_entries/entry?domain=deepgram"


@dataclass(frozen=True, slots=True)
class Registry:
    """The integration's entities as Home Assistant lists them."""

    # entity id -> unique id
    unique_ids: dict[str, str]
    # entity id -> state
    states: dict[str, str]


@dataclass(frozen=True, slots=True)
class Upgrade:
    """The same Home Assistant before and after the upgrade."""

    entries_before: list[dict[str, Any]]
    before: Registry
    entries_after: list[dict[str, Any]]
    after: Registry
    home_assistant: HomeAssistant


def materialise(release: str, root: Path) -> Path:
    """Write the release's `custom_components/deepgram` under `root`; return `root`.

    A checkout without that commit (a shallow clone) cannot run the upgrade: the
    tests are skipped, or fail on CI, saying so.
    """
    known = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "-C", str(REPO), "cat-file", "-e", f"{release}^{{commit}}"],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if known.returncode != 0:
        reason = f"the upgrade test needs commit {release} (the previous release) in the checkout"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    archive = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "-C", str(REPO), "archive", "--format=tar", release, "custom_components/deepgram"],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    return root


async def _registry(home_assistant: HomeAssistant) -> Registry:
    """Read the entity registry over the websocket API and the states over REST."""
    async with aiohttp.ClientSession() as session:
        ws = await Websocket.connect(session, home_assistant)
        entities = await ws.command({"type": "config/entity_registry/list"})
        await ws.ws.close()
    states = home_assistant.request("GET", "/api/states").body
    return Registry(
        unique_ids={
            entity["entity_id"]: entity["unique_id"]
            for entity in entities
            if entity["platform"] == "deepgram"
        },
        states={
            state["entity_id"]: state["state"]
            for state in states
            if state["entity_id"].startswith(("stt.deepgram", "tts.deepgram"))
        },
    )


def _add_entry(home_assistant: HomeAssistant, server: str, language: str) -> dict[str, Any]:
    """Add an entry of the previous release: key and model, then the language."""
    started = home_assistant.request(
        "POST", "/api/config/config_entries/flow", {"handler": "deepgram"}
    )
    assert started.status == 200, started.body
    flow = f"/api/config/config_entries/flow/{started.body['flow_id']}"
    form = {"api_key": API_KEY, "model": "nova-3", "advanced": {"server": server}}
    assert home_assistant.request("POST", flow, form).body["step_id"] == "language"
    created = home_assistant.request("POST", flow, {"language": language}).body
    assert created["type"] == "create_entry", created
    return created


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    """Set up two entries with the previous release, then start this checkout on them."""
    require_frontend()
    allow_sockets()
    work = tmp_path_factory.mktemp("upgrade")
    previous = materialise(PREVIOUS_RELEASE, work / "previous")
    deepgram = LocalDeepgram(work / "deepgram.log", api_keys=[API_KEY], utterances=[UTTERANCE] * 20)
    old = HomeAssistant(work / "config", code_root=previous)
    new: HomeAssistant | None = None
    try:
        deepgram.start()
        old.start()
        old.onboard()
        for language in ("en", "de"):
            _add_entry(old, deepgram.url, language)
        entries_before = old.request("GET", ENTRIES).body
        before = _run(_registry(old))
        old.stop()
        # The same address: the owner's login belongs to it.
        new = HomeAssistant(work / "config", port=old.port)
        new.access_token, new.refresh_token = old.access_token, old.refresh_token
        new.start(onboarded=True)
        new.wait_until(lambda: new.request("GET", ENTRIES).body, 60, "list the entries")
        new.wait_until(
            lambda: all(entry["state"] == "loaded" for entry in new.request("GET", ENTRIES).body),
            60,
            "load the account",
        )
        after = _run(_registry(new))
        # For the record: entity id -> unique id, before and after.
        print(f"\nBefore the upgrade: {sorted(before.unique_ids.items())}")  # noqa: T201
        print(f"After the upgrade:  {sorted(after.unique_ids.items())}")  # noqa: T201
        yield Upgrade(entries_before, before, new.request("GET", ENTRIES).body, after, new)
    finally:
        if new is not None:
            new.stop()
        old.stop()
        deepgram.stop()


def _run(coroutine: Any) -> Any:
    """Run a coroutine from the synchronous fixture, on a loop of its own.

    Not `asyncio.run`: that leaves no current loop for the tests' own.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def test_the_previous_release_made_two_entries(upgrade: Upgrade, socket_enabled: None) -> None:
    """Before: one entry per language, the voice on the first, all entities up."""
    assert [entry["title"] for entry in upgrade.entries_before] == [
        "Deepgram Nova-3 (English)",
        "Deepgram Nova-3 (German)",
    ]
    assert sorted(upgrade.before.states) == [
        "stt.deepgram_nova_3_english",
        "stt.deepgram_nova_3_german",
        "tts.deepgram_aura_2",
    ]
    assert "unavailable" not in upgrade.before.states.values()


def test_the_entries_became_one_account_with_the_same_entities(
    upgrade: Upgrade, socket_enabled: None
) -> None:
    """After: one loaded account; the entity ids and unique ids are those of before."""
    assert [(entry["title"], entry["state"]) for entry in upgrade.entries_after] == [
        ("Deepgram", "loaded")
    ]
    assert upgrade.entries_after[0]["entry_id"] == upgrade.entries_before[0]["entry_id"]
    assert upgrade.after.unique_ids == upgrade.before.unique_ids
    assert upgrade.after.states.keys() == upgrade.before.states.keys()
    assert "unavailable" not in upgrade.after.states.values()


async def test_the_account_lists_its_settings_and_voice(
    upgrade: Upgrade, socket_enabled: None
) -> None:
    """The websocket API lists the two settings and the voice as the account's subentries."""
    home_assistant = upgrade.home_assistant
    (entry,) = upgrade.entries_after
    async with aiohttp.ClientSession() as session:
        ws = await Websocket.connect(session, home_assistant)
        subentries = await ws.command(
            {"type": "config_entries/subentries/list", "entry_id": entry["entry_id"]}
        )
        await ws.ws.close()
    assert sorted((sub["subentry_type"], sub["title"]) for sub in subentries) == [
        ("stt", "Deepgram Nova-3 (English)"),
        ("stt", "Deepgram Nova-3 (German)"),
        ("tts", "Deepgram Aura-2"),
    ]


@pytest.mark.parametrize(
    ("entity_id", "language"),
    [("stt.deepgram_nova_3_english", "en"), ("stt.deepgram_nova_3_german", "de")],
)
def test_both_speech_to_text_entities_work(
    upgrade: Upgrade, entity_id: str, language: str, socket_enabled: None
) -> None:
    """POST /api/stt/<entity> transcribes a WAV upload on each migrated setting."""
    speech = synthesize(UTTERANCE, sample_rate=SAMPLE_RATE, channels=1)
    response = upgrade.home_assistant.request(
        "POST",
        f"/api/stt/{entity_id}",
        body=wav_file(speech, SAMPLE_RATE, 1),
        headers={
            "X-Speech-Content": (
                f"format=wav; codec=pcm; sample_rate={SAMPLE_RATE}; "
                f"bit_rate=16; channel=1; language={language}"
            )
        },
    )
    assert response.status == 200, response.body
    assert response.body == {"text": UTTERANCE, "result": "success"}


def test_the_voice_still_speaks(upgrade: Upgrade, socket_enabled: None) -> None:
    """The migrated voice answers a TTS request with audio."""
    home_assistant = upgrade.home_assistant
    answer = home_assistant.request(
        "POST",
        "/api/tts_get_url",
        {"engine_id": "tts.deepgram_aura_2", "message": "The door is locked.", "cache": False},
    )
    assert answer.status == 200, answer.body
    audio = home_assistant.request("GET", answer.body["path"])
    assert audio.status == 200
    assert audio.headers["Content-Type"] == "audio/mpeg"
    assert audio.body


def test_the_upgrade_logged_no_error(upgrade: Upgrade) -> None:
    """Neither release logged an integration error on the way."""
    assert upgrade.home_assistant.log_errors() == []
