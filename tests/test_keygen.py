"""`verifier keygen` warns when the private key lands in a git work tree that does not ignore it."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.services import require
from verifier.cli import main


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run([require("git")["git"], "init", "-q", str(path)], check=True)
    return path


def keygen(cwd: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(main, ["keygen", name])
    return result.exit_code, result.stdout, result.stderr


def warning(key: str, tree: Path) -> str:
    return (
        f"warning: `{key}` is inside the git work tree `{tree}` and not ignored: a commit would"
        " publish the signing key\nhint: keep private keys outside the repository (for example"
        " `verifier keygen ~/.config/verifier/NAME`), or ignore them (`*.key` in .gitignore)\n"
    )


def test_warns_inside_a_work_tree_that_does_not_ignore_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / "keys").mkdir()
    code, out, err = keygen(repo, "keys/ops", monkeypatch)
    assert code == 0  # a warning: the keys are written
    assert out.startswith("wrote `keys/ops.key` and `keys/ops.pub` (key id ")
    assert err == warning("keys/ops.key", repo.resolve())
    assert stat.S_IMODE(os.stat(repo / "keys/ops.key").st_mode) == 0o600


def test_quiet_when_git_ignores_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_repo(tmp_path / "repo")
    (repo / ".gitignore").write_text("*.key\n")
    code, _, err = keygen(repo, "ops", monkeypatch)
    assert (code, err) == (0, "")


def test_quiet_outside_a_work_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_repo(tmp_path / "repo")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # do not look above tmp_path
    code, _, err = keygen(outside, "ops", monkeypatch)
    assert (code, err) == (0, "")
    code, _, err = keygen(outside, "../repo/ops", monkeypatch)  # the path decides, not the cwd
    assert code == 0 and err == warning("../repo/ops.key", (tmp_path / "repo").resolve())


def test_quiet_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_repo(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    code, out, err = keygen(repo, "ops", monkeypatch)
    assert (code, err) == (0, "")
    assert (repo / "ops.key").exists() and out.startswith("wrote `ops.key`")


def test_warns_for_the_guards_secret_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["keygen", "--secret", "guard"])
    assert result.exit_code == 0 and result.stdout.startswith("wrote `guard.secret` (key id ")
    assert result.stderr == (
        f"warning: `guard.secret` is inside the git work tree `{repo.resolve()}` and not ignored:"
        " a commit would publish the guard's secret\nhint: keep private keys outside the"
        " repository (for example `verifier keygen ~/.config/verifier/NAME`), or ignore them"
        " (`*.secret` in .gitignore)\n"
    )
    (repo / ".gitignore").write_text("*.secret\n")
    quiet = CliRunner().invoke(main, ["keygen", "--secret", "other"])
    assert (quiet.exit_code, quiet.stderr) == (0, "")
