"""The README's guard example runs as written against the bundled refund spec, from a git
work tree, with its signing keys outside the repository (so `keygen` does not warn)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.services import require
from verifier.cli import main

ROOT = Path(__file__).resolve().parent.parent


def guard_commands(readme: str) -> list[list[str]]:
    """The shell lines of the README's runtime-guard section, `~` expanded as a shell would."""
    section = readme.split("## The runtime guard", 1)[1].split("```python", 1)[0]
    text = "\n".join(ln[4:] for ln in section.splitlines() if ln.startswith("    "))
    lines = [ln.split("#", 1)[0].strip() for ln in text.replace("\\\n", " ").splitlines()]
    return [[os.path.expanduser(w) for w in shlex.split(ln)] for ln in lines if ln]


def test_readme_guard_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    project = tmp_path / "project"  # a git work tree, as a user's repository is
    shutil.copytree(ROOT / "models", project / "models")
    subprocess.run([require("git")["git"], "init", "-q", str(project)], check=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(project)
    runner = CliRunner()
    commands = guard_commands(readme)
    assert [c[:2] for c in commands] == [
        ["mkdir", "-p"],
        ["verifier", "keygen"],
        ["verifier", "compile"],
    ]
    for command in commands:
        if command[0] == "mkdir":
            os.makedirs(command[2], exist_ok=True)
            continue
        done = runner.invoke(main, command[1:])
        assert done.exit_code == 0, done.output
        assert done.stderr == ""  # in particular, no warning about a key in the repository
    assert not list(project.rglob("*.key"))
    assert (tmp_path / "home/.config/verifier/ops.key").exists()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["deny", "allow", "allow"]
    assert lines[3] == "`refund` requires `ticket == verified` (line 58)"
    audit = runner.invoke(main, ["audit", "verify", "audit.jsonl"])
    assert audit.exit_code == 0, audit.output
