"""The `verifier check` contract: exit codes, text reports (golden), JSON (schema)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from tests.golden import assert_golden
from verifier.check.dispatch import CheckOptions
from verifier.cli import main
from verifier.cli.check import check_paths

ROOT = Path(__file__).resolve().parent.parent
DIAG_CASES = sorted((ROOT / "tests/data/diagnostics").glob("*.cap"))
VIOLATIONS = sorted((ROOT / "examples/violations").glob("*.cap"))
SCHEMA = json.loads((ROOT / "verifier/schemas/report.schema.json").read_text())


def run_check(*paths: str, fmt: str = "text", **opts: object) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    consts = opts.pop("consts", {})
    options = CheckOptions(**opts)  # type: ignore[arg-type]
    code = check_paths(list(paths), options, consts, fmt, False, out, err)  # type: ignore[arg-type]
    return code, out.getvalue()


def stable(text: str) -> str:
    """Timings vary from run to run; golden files hold a placeholder."""
    return re.sub(r"\d+\.\d\ds\)", "<t>s)", text)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("case", DIAG_CASES, ids=lambda p: p.stem)
def test_diagnostics_golden(case: Path) -> None:
    code, out = run_check(rel(case))
    assert_golden(case.with_suffix(".out"), f"exit {code}\n{stable(out)}")


@pytest.mark.parametrize("case", VIOLATIONS, ids=lambda p: p.stem)
def test_violation_reports_golden(case: Path) -> None:
    code, out = run_check(rel(case))
    assert code == 1
    assert_golden(ROOT / "tests/golden/violations" / f"{case.stem}.out", stable(out))


def test_models_all_pass() -> None:
    code, out = run_check("models/")
    assert code == 0, out
    assert out.count(": proved (") == len(list((ROOT / "models").rglob("*.cap")))


def test_peterson_bug_prints_eight_step_trace() -> None:
    code, out = run_check("examples/violations/peterson_bug.cap")
    assert code == 1
    assert "invariant `mutex` is violated" in out
    assert "shortest counterexample, 8 steps:" in out
    rows = re.findall(r"^\s+(\d+)  a\d\(p=\d\)", out, flags=re.M)
    assert rows == [str(i) for i in range(1, 9)]


def test_misspelt_variable_exits_2_with_location_caret_and_hint() -> None:
    code, out = run_check("tests/data/diagnostics/misspelt_variable.cap")
    assert code == 2
    assert "misspelt_variable.cap:7:8: error[unknown-name]: unknown name `amout`" in out
    assert "  |        ^^^^^" in out
    assert "help: did you mean `amount`?" in out


def test_max_states_is_inconclusive_exit_3() -> None:
    code, out = run_check("models/reference/simple.cap", max_states=50)
    assert code == 3
    assert "inconclusive" in out
    assert "stopped after 50 states (--max-states)" in out


def test_const_override_scales_the_model() -> None:
    code, out = run_check("models/reference/hanoi3.cap", fmt="json", consts={"D": 4})
    assert code == 0
    (f,) = json.loads(out)["files"]
    assert f["states"] == 81
    witness = next(p for p in f["properties"] if p["kind"] == "reachable")
    assert witness["length"] == 15


def test_exit_code_priority_invalid_over_violated() -> None:
    code, _ = run_check("examples/violations/peterson_bug.cap", rel(DIAG_CASES[0]))
    assert code == 2


def test_missing_path_is_a_usage_error() -> None:
    code, out = run_check("no/such/file.cap")
    assert code == 2
    assert "no/such/file.cap: error[io]: `no/such/file.cap` does not exist" in out


@pytest.mark.parametrize(
    "paths", [["models/"], ["examples/violations/"], ["tests/data/diagnostics/"]]
)
def test_json_report_matches_schema(paths: list[str]) -> None:
    _, out = run_check(*paths, fmt="json")
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA)
    assert report["version"] == 1
    assert len(report["files"]) >= 3


def test_json_trace_starts_at_initial_state() -> None:
    _, out = run_check("examples/violations/peterson_bug.cap", fmt="json")
    (f,) = json.loads(out)["files"]
    assert (f["verdict"], f["states"], f["engine"]) == ("violated", 72, "explicit")
    mutex = next(p for p in f["properties"] if p["name"] == "mutex")
    assert mutex["trace"][0]["action"] is None
    assert len(mutex["trace"]) == 9 and mutex["length"] == 8
    assert mutex["trace"][-1]["state"]["pc"] == ["cs", "cs"]


def test_click_entry_point_bad_const_is_usage_error() -> None:
    result = CliRunner().invoke(main, ["check", "--const", "N", "models/"])
    assert result.exit_code == 2
    assert "`N` is not NAME=INTEGER" in result.output


def test_click_entry_point_exit_code_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["check", "models/reference/diehard.cap"]).exit_code == 0
    help_text = runner.invoke(main, ["check", "--help"]).output
    assert "3 inconclusive" in help_text


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "json"])
def test_graph_renders_reachable_graph(fmt: str) -> None:
    result = CliRunner().invoke(main, ["graph", "models/reference/diehard.cap", "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        data = json.loads(result.output)
        assert len(data["nodes"]) == 16
        assert len({(e["source"], e["target"]) for e in data["edges"]}) == 74
    elif fmt == "dot":
        assert result.output.startswith('digraph "diehard"')
        assert result.output.count(" -> ") == 96
    else:
        assert result.output.startswith("stateDiagram-v2")


def test_graph_refuses_large_model() -> None:
    result = CliRunner().invoke(
        main, ["graph", "models/reference/simple.cap", "--max-states", "100"]
    )
    assert result.exit_code == 3
    assert "more than 100 reachable states" in result.output


def test_itf_traces_are_written_for_counterexamples_and_witnesses(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = check_paths(
        ["examples/violations/peterson_bug.cap"],
        CheckOptions(),
        {},
        "text",
        False,
        out,
        err,
        str(tmp_path),
    )
    assert code == 1
    doc = json.loads((tmp_path / "peterson_bug.mutex.itf.json").read_text())
    assert doc["#meta"]["format"] == "ITF"
    assert doc["vars"] == ["pc", "c", "turn"]
    assert len(doc["states"]) == 9
    last = doc["states"][-1]
    assert last["#meta"] == {"index": 8, "action": "a3", "args": {"p": 1}}
    assert last["pc"] == {"#map": [[1, "cs"], [2, "cs"]]}
    assert last["c"] == {"#map": [[1, True], [2, True]]}


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_only() -> None:
    out, err = io.StringIO(), _Tty()
    code = check_paths(
        ["benchmarks/models/fleet.cap"],
        CheckOptions(),
        {"N": 8, "B": 20},
        "text",
        False,
        out,
        err,
    )
    assert code == 0
    assert re.search(
        r"\rbenchmarks/models/fleet.cap: explicit [\d,]+ states, depth \d+, [\d,]+ states/s, "
        r"[\d,]+ MiB",
        err.getvalue(),
    )
    quiet = io.StringIO()
    check_paths(
        ["benchmarks/models/fleet.cap"],
        CheckOptions(),
        {"N": 7, "B": 12},
        "text",
        False,
        io.StringIO(),
        quiet,
    )
    assert quiet.getvalue() == ""


def test_worker_processes_change_nothing_but_time() -> None:
    def report(workers: int) -> dict[str, object]:
        opts = CheckOptions(engine="explicit", workers=workers)
        out = io.StringIO()
        code = check_paths(
            ["benchmarks/spin/mutex.cap"], opts, {"N": 11}, "json", False, out, io.StringIO()
        )
        assert code == 0
        doc = json.loads(out.getvalue())["files"][0]
        del doc["seconds"]
        return doc

    one = report(1)
    assert one["engine"] == "explicit-packed" and one["states"] == 2**10 * (2 + 3 * 11)
    assert report(2) == one
