"""A real Home Assistant with the integration and the local Deepgram server, per test module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import os
import subprocess
from typing import Any

import pytest
import pytest_socket

from tools.home_assistant_harness import HASS_PYTHON, HomeAssistant, LocalDeepgram, running

API_KEY = "e2e-deepgram-key"
WRONG_API_KEY = "not-a-deepgram-key"
UTTERANCE = "turn on the kitchen lights"


def allow_sockets() -> None:
    """Let a module fixture talk to 127.0.0.1.

    The Home Assistant test plugin blocks sockets before each test, and module
    fixtures are set up before a test's `socket_enabled` fixture lifts that. Only
    127.0.0.1 stays reachable, as for every test.
    """
    pytest_socket.enable_socket()


def require_frontend() -> None:
    """A real `hass` needs the frontend package; without it HA starts in recovery mode."""
    found = subprocess.run(  # noqa: S603 - the configured Python, no shell
        [HASS_PYTHON, "-c", "import hass_frontend"], capture_output=True, check=False
    )
    if found.returncode == 0:
        return
    reason = (
        f"end-to-end tests skipped: {HASS_PYTHON} has no home-assistant-frontend, which a real "
        "hass needs; scripts/test installs it (or run scripts/setup --dev)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def instance(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[HomeAssistant, LocalDeepgram]]:
    """Start the local Deepgram server and an onboarded Home Assistant; stop both after."""
    require_frontend()
    allow_sockets()
    # Every utterance of every stream gets the same words, whatever order the tests run in.
    with running(
        tmp_path_factory.mktemp("e2e"), api_keys=[API_KEY], utterances=[UTTERANCE] * 20
    ) as processes:
        yield processes


@pytest.fixture(scope="module")
def home_assistant(instance: tuple[HomeAssistant, LocalDeepgram]) -> HomeAssistant:
    """Return the running, onboarded Home Assistant."""
    return instance[0]


@pytest.fixture(scope="module")
def deepgram_url(instance: tuple[HomeAssistant, LocalDeepgram]) -> str:
    """Return the base URL of the local Deepgram server."""
    return instance[1].url


@dataclass(frozen=True, slots=True)
class ConfigFlowRun:
    """What the config flow answered at each step, and what it created."""

    answers: list[dict[str, Any]]
    entity_id: str


@pytest.fixture(scope="module")
def config_flow(home_assistant: HomeAssistant, deepgram_url: str) -> ConfigFlowRun:
    """Add the integration through the config-flow REST API: a wrong key first, then the key."""
    allow_sockets()
    answers: list[dict[str, Any]] = []

    def answer(path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = home_assistant.request("POST", path, data)
        assert response.status == 200, response.body
        answers.append(response.body)
        return response.body

    started = answer(
        "/api/config/config_entries/flow",
        {"handler": "deepgram", "show_advanced_options": False},
    )
    flow = f"/api/config/config_entries/flow/{started['flow_id']}"
    for key in (WRONG_API_KEY, API_KEY):
        answer(flow, {"api_key": key, "model": "nova-3", "advanced": {"server": deepgram_url}})
    answer(flow, {"language": "en"})

    states = home_assistant.request("GET", "/api/states")
    stt_entities = [
        state["entity_id"] for state in states.body if state["entity_id"].startswith("stt.")
    ]
    assert len(stt_entities) == 1, stt_entities
    return ConfigFlowRun(answers, stt_entities[0])
