"""Start a real Home Assistant and the local Deepgram server as processes, and talk to them.

Used by the end-to-end tests and by `scripts/screenshots`. Everything is bounded:
each wait has a deadline, and each process runs in its own process group, which
`stop()` ends (SIGTERM, then SIGKILL) so nothing outlives the caller.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
from http import HTTPStatus
import json
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Self
import urllib.error
import urllib.parse
import urllib.request

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# The Python whose Home Assistant runs as `hass`: the tests' own unless
# DEEPGRAM_E2E_HASS_PYTHON names another (scripts/test sets it to the newest
# release's venv when it runs the suite on the newest Home Assistant).
HASS_PYTHON = os.environ.get("DEEPGRAM_E2E_HASS_PYTHON") or sys.executable

START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 30.0
_POLL_INTERVAL = 0.2
_LOG_TAIL_LINES = 60

USER_NAME = "Ada"
USER_LOGIN = "ada"
USER_PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway local instance

CONFIGURATION_YAML = """\
# Written by tools/home_assistant_harness.py for a throwaway instance.
homeassistant:
  name: Home
  unit_system: metric
  time_zone: UTC
  country: US
  currency: USD
  latitude: 52.37
  longitude: 4.89
  elevation: 0

http:
  server_host: {host}
  server_port: {port}

# The web UI and what it depends on (api, auth, config, onboarding, websocket_api).
frontend:
person:

# Assist: the pipeline loads conversation, stt, tts and wake_word.
assist_pipeline:

logger:
  default: warning
  logs:
    custom_components.deepgram: debug
    homeassistant.components.assist_pipeline: info
"""


class HarnessError(RuntimeError):
    """A process did not start, answer or stop as expected."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """Return the last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """A child process in its own process group, with its output in a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str]
    ) -> None:
        """Start `argv` now; its stdout and stderr go to `log_path`."""
        self.name = name
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(  # noqa: S603 - argv built by this module
                list(argv),
                cwd=REPO,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.popen.poll() is None

    def check_running(self) -> None:
        """Raise with the end of the log if the process has exited."""
        if not self.running:
            msg = (
                f"{self.name} exited with code {self.popen.returncode}; "
                f"end of {self.log_path}:\n{tail(self.log_path)}"
            )
            raise HarnessError(msg)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """End the whole process group: SIGTERM, then SIGKILL after `timeout` seconds."""
        if self.running:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(5)
        # Children that outlived the leader (none expected) go too.
        self._signal_group(signal.SIGKILL)
        return self.popen.returncode

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)


def _environment(code_root: Path = REPO) -> dict[str, str]:
    """Return the environment for child processes: `code_root` (the repo's) importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code_root), env.get("PYTHONPATH", "")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


@dataclass(slots=True)
class LocalDeepgram:
    """The project's local Deepgram server (`python -m local_deepgram_server`) as a process."""

    log_path: Path
    api_keys: Sequence[str] = ()
    utterances: Sequence[str] = ()
    port: int = 0
    url: str = ""
    process: ManagedProcess | None = None

    def start(self, timeout: float = START_TIMEOUT) -> Self:
        """Start the server and wait until it says where it listens."""
        argv = [sys.executable, "-m", "local_deepgram_server", "--port", str(self.port)]
        for key in self.api_keys:
            argv += ["--api-key", key]
        for text in self.utterances:
            argv += ["--utterance", text]
        self.process = ManagedProcess(
            "The local Deepgram server", argv, log_path=self.log_path, env=_environment()
        )
        pattern = re.compile(r"Local Deepgram server on (http://[^\s,]+)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process.check_running()
            if match := pattern.search(self.log_path.read_text(errors="replace")):
                self.url = match.group(1)
                return self
            time.sleep(_POLL_INTERVAL)
        self.stop()
        msg = f"The local Deepgram server did not start within {timeout} s:\n{tail(self.log_path)}"
        raise HarnessError(msg)

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None:
            self.process.stop()


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded HTTP response."""

    status: int
    body: Any
    headers: Mapping[str, str]


@dataclass(slots=True)
class HomeAssistant:
    """A real `hass` process with this integration, on a config directory of its own."""

    config_dir: Path
    port: int = field(default_factory=free_port)
    # Where `custom_components/deepgram` is imported from: this checkout unless told.
    code_root: Path = REPO
    process: ManagedProcess | None = None
    access_token: str | None = None
    refresh_token: str | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. "http://127.0.0.1:41234"."""
        return f"http://{HOST}:{self.port}"

    @property
    def client_id(self) -> str:
        """The OAuth client id of the web UI at this URL."""
        return f"{self.url}/"

    @property
    def log_path(self) -> Path:
        """Home Assistant's console output."""
        return self.config_dir / "hass.log"

    def start(self, timeout: float = START_TIMEOUT, *, onboarded: bool = False) -> Self:
        """Write the configuration, start `hass` and wait until its HTTP API answers.

        A new instance is ready when its onboarding answers; one `onboarded`
        already (a restart on the same configuration) when its login does.
        """
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION_YAML.format(host=HOST, port=self.port)
        )
        argv = [
            HASS_PYTHON,
            str(REPO / "scripts" / "hass"),
            "--config",
            str(self.config_dir),
            # The requirements are installed by scripts/setup; never pip-install at run time.
            "--skip-pip",
        ]
        self.process = ManagedProcess(
            "Home Assistant", argv, log_path=self.log_path, env=_environment(self.code_root)
        )
        ready = "/auth/providers" if onboarded else "/api/onboarding"
        self.wait_until(lambda: self._answers(ready), timeout, f"answer on {ready}")
        return self

    def stop(self) -> int | None:
        """Stop Home Assistant (and anything it started)."""
        return self.process.stop() if self.process is not None else None

    def wait_until(self, ready: Any, timeout: float, what: str) -> None:
        """Poll `ready()` until it is true; fail early if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None:
                self.process.check_running()
            if ready():
                return
            time.sleep(_POLL_INTERVAL)
        msg = f"Home Assistant did not {what} within {timeout} s:\n{tail(self.log_path)}"
        raise HarnessError(msg)

    def _answers(self, path: str) -> bool:
        try:
            return self.request("GET", path, auth=False, timeout=2.0).status == HTTPStatus.OK
        except OSError:
            return False

    def request(  # noqa: PLR0913 - keyword-only knobs of one HTTP request
        self,
        method: str,
        path: str,
        data: Any = None,
        *,
        auth: bool = True,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Response:
        """Send a request; return the status and the JSON (or text) body, whatever the status."""
        all_headers = dict(headers or {})
        if data is not None:
            body = json.dumps(data).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        if auth:
            if self.access_token is None:
                msg = "Not logged in: onboard() first"
                raise HarnessError(msg)
            all_headers["Authorization"] = f"Bearer {self.access_token}"
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.url + path, data=body, headers=all_headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return _response(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as err:
            with err:
                return _response(err.code, err.read(), err.headers)

    def onboard(self, timeout: float = START_TIMEOUT) -> None:
        """Onboard as a new owner would: create the user, log in, finish every step."""
        created = self.request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": USER_NAME,
                "username": USER_LOGIN,
                "password": USER_PASSWORD,
                "language": "en",
            },
            auth=False,
        )
        _expect(created, HTTPStatus.OK, "create the owner")
        self._token({"grant_type": "authorization_code", "code": created.body["auth_code"]})
        for step, data in (
            ("core_config", None),
            ("analytics", None),
            ("integration", {"client_id": self.client_id, "redirect_uri": self.client_id}),
        ):
            _expect(self.request("POST", f"/api/onboarding/{step}", data), HTTPStatus.OK, step)
        self.wait_until(self._is_running, timeout, "reach the RUNNING state")

    def _token(self, form: dict[str, str]) -> None:
        response = self.request(
            "POST", "/auth/token", auth=False, form={**form, "client_id": self.client_id}
        )
        _expect(response, HTTPStatus.OK, "get a token")
        self.access_token = response.body["access_token"]
        self.refresh_token = response.body.get("refresh_token", self.refresh_token)

    def _is_running(self) -> bool:
        response = self.request("GET", "/api/config", timeout=5.0)
        return response.status == HTTPStatus.OK and response.body.get("state") == "RUNNING"

    @property
    def version(self) -> tuple[int, int]:
        """Return Home Assistant's (year, month) version, e.g. (2026, 2)."""
        response = self.request("GET", "/api/config")
        _expect(response, HTTPStatus.OK, "read the configuration")
        year, month, *_ = response.body["version"].split(".")
        return int(year), int(month)

    def onboarding_steps(self) -> dict[str, bool]:
        """Return each onboarding step and whether it is done."""
        response = self.request("GET", "/api/onboarding", auth=False)
        _expect(response, HTTPStatus.OK, "read the onboarding status")
        return {step["step"]: step["done"] for step in response.body}

    def log_errors(self) -> list[str]:
        """Return the ERROR lines the integration logged."""
        text = self.log_path.read_text(errors="replace")
        return [
            line
            for line in text.splitlines()
            if " ERROR " in line and "custom_components.deepgram" in line
        ]


def _response(status: int, raw: bytes, headers: Any) -> Response:
    body: Any
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Response(status, body, dict(headers.items()))


def _expect(response: Response, status: int, what: str) -> None:
    if response.status != status:
        msg = f"Could not {what}: HTTP {response.status} {response.body!r}"
        raise HarnessError(msg)


@contextlib.contextmanager
def running(
    work_dir: Path, *, api_keys: Sequence[str] = (), utterances: Sequence[str] = ()
) -> Iterator[tuple[HomeAssistant, LocalDeepgram]]:
    """Run the local Deepgram server and an onboarded Home Assistant; stop both on exit."""
    deepgram = LocalDeepgram(work_dir / "deepgram.log", api_keys=api_keys, utterances=utterances)
    hass = HomeAssistant(work_dir / "config")
    try:
        deepgram.start()
        hass.start()
        hass.onboard()
        yield hass, deepgram
    finally:
        hass.stop()
        deepgram.stop()
