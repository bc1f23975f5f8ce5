"""Take the README screenshots from a real Home Assistant (run by scripts/screenshots).

Starts the local Deepgram-compatible server and Home Assistant with this integration on
free ports in a temporary directory, onboards it, then runs docs/screenshots/take.mjs,
which drives headless Chromium through the web UI like a user and writes PNG files to
docs/images/. Everything stops at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile

from tools.home_assistant_harness import REPO, HarnessError, running, tail

SCRIPT_DIR = REPO / "docs" / "screenshots"
DEFAULT_OUT = REPO / "docs" / "images"
BRAND_DIR = REPO / "custom_components" / "deepgram" / "brand"
API_KEY = "local-demo-key"
WRONG_API_KEY = "not-a-deepgram-key"
BROWSER_TIMEOUT = 300.0


def find_chromium(explicit: str | None) -> str:
    """Return Debian's chromium (or the given browser), or explain how to get it."""
    for candidate in (explicit, os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (path := shutil.which(candidate)):
            return path
    msg = "Chromium is not installed: apt-get install chromium (scripts/screenshots does it)"
    raise SystemExit(msg)


def main(argv: list[str] | None = None) -> int:
    """Start everything, take the screenshots, stop everything; return node's exit code."""
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots",
        description="Take the README screenshots from a real Home Assistant.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the PNGs go")
    parser.add_argument("--chromium", help="browser executable (default: Debian's chromium)")
    args = parser.parse_args(argv)
    chromium = find_chromium(args.chromium)
    node = shutil.which("node")
    if node is None or not (SCRIPT_DIR / "node_modules" / "playwright-core").is_dir():
        msg = "node and docs/screenshots/node_modules are needed: run scripts/screenshots"
        raise SystemExit(msg)
    out = args.out.resolve()
    with tempfile.TemporaryDirectory(prefix="deepgram-screenshots-") as work:
        work_dir = Path(work)
        try:
            with running(work_dir, api_keys=[API_KEY]) as (hass, deepgram):
                sys.stdout.write(f"screenshots: Home Assistant on {hass.url}\n")
                env = {
                    **os.environ,
                    "HA_URL": hass.url,
                    "HA_CLIENT_ID": hass.client_id,
                    "HA_ACCESS_TOKEN": hass.access_token or "",
                    "HA_REFRESH_TOKEN": hass.refresh_token or "",
                    "DEEPGRAM_URL": deepgram.url,
                    "DEEPGRAM_KEY": API_KEY,
                    "DEEPGRAM_WRONG_KEY": WRONG_API_KEY,
                    "SCREENSHOT_DIR": str(out),
                    "BRAND_DIR": str(BRAND_DIR),
                    "CHROMIUM": chromium,
                    "FAILURE_SCREENSHOT": str(out.parent / "screenshot-failure.png"),
                }
                result = subprocess.run(  # noqa: S603 - fixed argv
                    [node, "take.mjs"],
                    cwd=SCRIPT_DIR,
                    env=env,
                    check=False,
                    timeout=BROWSER_TIMEOUT,
                )
                if result.returncode:
                    sys.stderr.write(f"screenshots: Home Assistant's log:\n{tail(hass.log_path)}\n")
                return result.returncode
        except (HarnessError, subprocess.TimeoutExpired) as err:
            sys.stderr.write(f"screenshots: {err}\n")
            return 1


if __name__ == "__main__":
    sys.exit(main())
