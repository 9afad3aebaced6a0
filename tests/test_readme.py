"""The README's guard example runs as written against the bundled refund spec."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_guard_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["keygen", "ops"]).exit_code == 0
    compiled = runner.invoke(
        main,
        [
            "compile",
            str(ROOT / "models/refund_agent.cap"),
            "-o",
            "refund.artifact.json",
            "--sign-key",
            "ops.key",
        ],
    )
    assert compiled.exit_code == 0, compiled.output
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["deny", "allow", "allow"]
    assert lines[3] == "`refund` requires `ticket == verified` (line 58)"
    audit = runner.invoke(main, ["audit", "verify", "audit.jsonl"])
    assert audit.exit_code == 0, audit.output
