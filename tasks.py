#!/usr/bin/env python3
"""Developer tasks with nothing but Python 3.11+: `python3 tasks.py check|test|bench`.

Creates `.venv` (and installs the project with its dev extras) on first use or whenever
pyproject.toml changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
MARKER = VENV / ".installed"


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT)
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


def check() -> None:
    """The main job: prove every spec under models/."""
    run(BIN / "verifier", "check", "models/")


def test() -> None:
    """Lint, format check, type check, then the test suite (warnings are errors)."""
    run(BIN / "ruff", "check", "verifier", "grammar", "tests", "benchmarks")
    run(BIN / "ruff", "format", "--check", "verifier", "grammar", "tests", "benchmarks")
    run(BIN / "mypy")
    run(BIN / "pytest", "-q", *sys.argv[2:])


TASKS = {"check": check, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}} [pytest args]", file=sys.stderr)
        sys.exit(2)
    ensure_venv()
    TASKS[sys.argv[1]]()
