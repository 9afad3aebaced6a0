#!/usr/bin/env python3
"""Developer tasks with nothing but Python 3.11+: `python3 tasks.py check|test|vsix`.

Creates `.venv` (and installs the project with its dev extras) on first use or whenever
pyproject.toml changes.
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


# Programs some tests drive, by the Debian package that provides them.
SYSTEM_TOOLS = {"node": "nodejs", "npm": "npm", "chromium": "chromium"}


def ensure_system_tools() -> None:
    """Install node, npm and chromium from Debian packages when missing (as root)."""
    missing = sorted({pkg for tool, pkg in SYSTEM_TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"missing {', '.join(missing)}: install them to run every test", flush=True)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.call(["apt-get", "update", "-qq"], env=env)
    subprocess.call(["apt-get", "install", "-y", "-qq", *missing], env=env)


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


def check() -> None:
    """The main job: prove every spec under models/."""
    run(BIN / "verifier", "check", "models/")


def test() -> None:
    """Lint, format check, type check, then the test suite (warnings are errors)."""
    run(BIN / "ruff", "check", "verifier", "grammar", "tests", "benchmarks")
    run(BIN / "ruff", "format", "--check", "verifier", "grammar", "tests", "benchmarks")
    run(BIN / "mypy")
    ensure_system_tools()
    run(BIN / "pytest", "-q", *sys.argv[2:])


def vsix() -> None:
    """Build editors/vscode/build/verifier-cap.vsix with @vscode/vsce, installed locally by npm."""
    ensure_system_tools()
    folder = ROOT / "editors" / "vscode"
    run("npm", "ci", "--no-audit", "--no-fund", cwd=folder)
    (folder / "build").mkdir(exist_ok=True)
    out = Path("build") / "verifier-cap.vsix"
    run(
        "npx",
        "--no-install",
        "vsce",
        "package",
        "--allow-missing-repository",
        "--out",
        out,
        cwd=folder,
    )
    print(f"built {folder / out}")


TASKS = {"check": check, "test": test, "vsix": vsix}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}} [pytest args]", file=sys.stderr)
        sys.exit(2)
    ensure_venv()
    TASKS[sys.argv[1]]()
