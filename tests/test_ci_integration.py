"""The pre-commit hook (.pre-commit-hooks.yaml) and the composite GitHub Action (action.yml):
their definitions are valid, the hook's entry runs on specs with the right exit status, and
the action's step script runs locally against fake GITHUB_OUTPUT/GITHUB_ENV files."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml
from pre_commit.clientlib import load_manifest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EMAIL_BUG = "examples/violations/email_label_bug.cap"
REFUND = "models/refund_agent.cap"


def hook() -> dict[str, object]:
    (only,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))  # pre-commit's own loader
    return dict(only)


def test_hook_definition() -> None:
    h = hook()
    assert (h["id"], h["language"], h["pass_filenames"]) == ("verifier-check", "python", True)
    files = re.compile(str(h["files"]))
    assert files.search("models/refund_agent.cap") and not files.search("tasks.py")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert h["additional_dependencies"] == extras["optional-dependencies"]["check"]


@pytest.mark.parametrize(
    ("files", "code"),
    [([REFUND, "models/deploy_agent.cap"], 0), ([REFUND, EMAIL_BUG], 1),
     (["tests/data/diagnostics/type_errors.cap"], 2)],
    ids=["proved", "violated", "invalid"],
)  # fmt: skip
def test_hook_entry_runs_on_the_staged_specs(files: list[str], code: int) -> None:
    program, *args = shlex.split(str(hook()["entry"]))
    done = subprocess.run(
        [str(BIN / program), *args, *files], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert [ln.split(":")[0] for ln in done.stdout.splitlines() if ln[:1] not in " "] == files


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_definition() -> None:
    a = action()
    assert a["runs"]["using"] == "composite"
    install, check = a["runs"]["steps"]
    assert 'pip install --quiet "$GITHUB_ACTION_PATH[check]"' in install["run"]
    assert check["run"] == (
        '"${RUNNER_TEMP:-/tmp}/verifier-action/bin/python" "$GITHUB_ACTION_PATH/action/run.py"'
    )
    assert all(s["shell"] == "bash" for s in a["runs"]["steps"])
    # every INPUT_ variable the script reads is wired to a declared input
    for name, value in check["env"].items():
        key = name.removeprefix("INPUT_").lower()
        assert value == f"${{{{ inputs.{key} }}}}" and key in a["inputs"]
    for name, out in a["outputs"].items():
        assert out["value"] == f"${{{{ steps.check.outputs.{name} }}}}"


def run_action(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    files = {
        v: tmp_path / v.lower() for v in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")
    }
    env = {
        **os.environ,
        **{k: str(p) for k, p in files.items()},
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "action/run.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    written = {k: p.read_text() if p.exists() else None for k, p in files.items()}
    return done, written


def test_action_on_a_violation_writes_reports_outputs_and_annotations(tmp_path: Path) -> None:
    sarif, junit = tmp_path / "v.sarif", tmp_path / "v.xml"
    done, written = run_action(
        tmp_path, paths=f"{EMAIL_BUG} {REFUND}", sarif=str(sarif), junit=str(junit)
    )
    assert done.returncode == 1, done.stderr
    assert "invariant `no_exfiltration` is violated" in done.stdout  # the text report in the log
    annotations = [ln for ln in done.stderr.splitlines() if ln.startswith("::error ")]
    assert len(annotations) == 1  # annotated once, not once per report
    assert annotations[0].startswith(f"::error file={EMAIL_BUG},line=63,col=11,")
    assert written["GITHUB_OUTPUT"] == (
        f"exit-code=1\nverdict=violated\nsarif={sarif}\njunit={junit}\n"
    )
    assert written["GITHUB_ENV"] == f"VERIFIER_VERDICT=violated\nVERIFIER_SARIF={sarif}\n"
    assert written["GITHUB_STEP_SUMMARY"] == (
        "### verifier check: violated (exit 1)\n\n"
        f"- **error** `{EMAIL_BUG}:63`: invariant `no_exfiltration` is violated\n"
    )
    schema = json.loads((ROOT / "tests/data/sarif/sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(json.loads(sarif.read_text()))
    suites = ET.fromstring(junit.read_text()).findall("testsuite")
    assert [s.get("failures") for s in suites] == ["1", "0"]


def test_action_on_proved_specs(tmp_path: Path) -> None:
    done, written = run_action(tmp_path, paths=REFUND, sarif="", junit="")
    assert done.returncode == 0, done.stderr
    assert written["GITHUB_OUTPUT"] == "exit-code=0\nverdict=proved\nsarif=\njunit=\n"
    assert "::" not in done.stderr


def test_action_fail_false_reports_but_passes(tmp_path: Path) -> None:
    done, written = run_action(tmp_path, paths=EMAIL_BUG, sarif="", fail="false")
    assert done.returncode == 0
    assert (written["GITHUB_OUTPUT"] or "").startswith("exit-code=1\nverdict=violated\n")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [({"fail": "maybe"}, "input `fail` must be `true` or `false`, not `maybe`"),
     ({"args": "--format json"}, "input `args` must not set `--format`"),
     ({"paths": "'unclosed"}, "cannot split the inputs `paths` or `args`")],
)  # fmt: skip
def test_action_refuses_bad_inputs(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    done, written = run_action(tmp_path, **inputs)
    assert done.returncode == 2
    assert done.stderr.startswith(f"::error title=verifier action::{message}")
    assert written["GITHUB_OUTPUT"] is None


@pytest.mark.slow
def test_action_steps_run_as_written(tmp_path: Path) -> None:
    """Both steps of action.yml through bash, as a runner would: venv, install, check."""
    a = action()
    inputs = {k: v.get("default", "") for k, v in a["inputs"].items()}
    inputs.update(paths=EMAIL_BUG, sarif=str(tmp_path / "out.sarif"))
    output = tmp_path / "output"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
    }
    codes = []
    for step in a["runs"]["steps"]:
        step_env = {
            k: re.sub(r"\$\{\{ inputs\.(\w+) \}\}", lambda m: inputs[m.group(1)], v)
            for k, v in step.get("env", {}).items()
        }
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=ROOT,
            env={**env, **step_env},
            capture_output=True,
            text=True,
        )
        codes.append(done.returncode)
    assert codes == [0, 1], done.stderr
    assert output.read_text().startswith("exit-code=1\nverdict=violated\n")
    assert f"::error file={EMAIL_BUG},line=63" in done.stderr


@pytest.mark.slow
def test_hook_runs_under_pre_commit(tmp_path: Path) -> None:
    """`pre-commit try-repo` installs the hook from this repository and runs it on a project."""
    git = shutil.which("git")
    assert git is not None
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / REFUND, project / "refund.cap")
    shutil.copy(ROOT / EMAIL_BUG, project / "email.cap")
    subprocess.run([git, "init", "-q", str(project)], check=True)
    subprocess.run([git, "-C", str(project), "add", "."], check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    pre_commit = [str(BIN / "pre-commit"), "try-repo", str(ROOT), "verifier-check"]

    def hook_on(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*pre_commit, "--files", *files], cwd=project, env=env, capture_output=True, text=True
        )

    passed = hook_on("refund.cap")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"verifier check\.+Passed", passed.stdout)
    failed = hook_on("refund.cap", "email.cap")
    assert failed.returncode == 1
    assert re.search(r"verifier check\.+Failed", failed.stdout)
    assert "invariant `no_exfiltration` is violated (email.cap:63)" in failed.stdout
