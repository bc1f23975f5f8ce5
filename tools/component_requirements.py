"""Print the pinned requirements of Home Assistant components, as their manifests pin them.

    python -m tools.component_requirements assist_pipeline frontend ...

Run with the interpreter of the environment whose Home Assistant is meant: it reads
the manifests of the installed `homeassistant` package, follows each component's
dependencies and after-dependencies, and prints every requirement once, sorted.
Home Assistant would pip-install these at run time; installing them up front keeps
tests and `hass --skip-pip` off the network, with exactly the versions that
release expects (a newer pymicro-vad, for one, has an API HA 2026.10 does not know).
"""

from __future__ import annotations

import json
from pathlib import Path
import sys


def components_folder() -> Path:
    """Return the installed Home Assistant's `components` folder."""
    import homeassistant.components  # noqa: PLC0415 - only where Home Assistant is installed

    return Path(next(iter(homeassistant.components.__path__)))


def requirements(domains: list[str], folder: Path) -> list[str]:
    """Return the requirements of the domains and of everything they depend on."""
    pending = list(domains)
    seen: set[str] = set()
    found: set[str] = set()
    while pending:
        domain = pending.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest_path = folder / domain / "manifest.json"
        if not manifest_path.is_file():
            msg = f"no component {domain!r} in {folder}"
            raise SystemExit(msg)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        found.update(manifest.get("requirements", []))
        pending.extend(manifest.get("dependencies", []))
        # After-dependencies that are not there are skipped by HA; those that are need theirs.
        pending.extend(
            name
            for name in manifest.get("after_dependencies", [])
            if (folder / name / "manifest.json").is_file()
        )
    return sorted(found, key=str.lower)


def main(argv: list[str]) -> int:
    """Print the requirements of the components named on the command line."""
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    for requirement in requirements(argv, components_folder()):
        sys.stdout.write(f"{requirement}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
