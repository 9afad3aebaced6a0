"""Specs with seeded policy bugs: each is violated, with the shortest counterexample on file.

`examples/violations/NAME.expected.json` holds, for NAME.cap, every violated property with
its kind, its shortest counterexample's length and its steps as a replayable script of
actions. VERIFIER_UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.golden import assert_golden
from verifier.check.explicit import check_explicit
from verifier.check.results import EXIT_CODES, CheckResult, Step, exit_code
from verifier.ir import semantics as sem
from verifier.ir.values import args_to_json
from verifier.lang.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
VIOLATIONS = sorted((ROOT / "examples" / "violations").glob("*.cap"))


def step_text(step: Step) -> str:
    """`refund(amount=3)`: one call of a replayable script."""
    assert step.transition is not None
    args = args_to_json(step.transition.params, step.args)
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in args.items())
    return f"{step.transition.name}({inner})"


def summary(result: CheckResult) -> dict[str, Any]:
    """The violated properties, each with the length and script of its shortest trace."""
    violated = []
    for p in result.properties:
        if p.verdict != "violated":
            continue
        entry: dict[str, Any] = {"name": p.name, "kind": p.kind}
        if p.trace is not None:  # an unreached goal has no trace
            entry["length"] = len(p.trace)
            entry["actions"] = [step_text(s) for s in p.trace.steps[1:]]
        violated.append(entry)
    return {"capability": result.model.name if result.model else None, "violated": violated}


@pytest.fixture(scope="module")
def results() -> dict[str, CheckResult]:
    return {p.stem: check_explicit(load_model(str(p))) for p in VIOLATIONS}


def test_there_are_several_violation_examples() -> None:
    assert len(VIOLATIONS) >= 4


@pytest.mark.parametrize("path", VIOLATIONS, ids=[p.stem for p in VIOLATIONS])
def test_violation_is_found(path: Path, results: dict[str, CheckResult]) -> None:
    result = results[path.stem]
    assert result.complete
    assert result.verdict == "violated"
    assert exit_code([result]) == EXIT_CODES["violated"] == 1


@pytest.mark.parametrize("path", VIOLATIONS, ids=[p.stem for p in VIOLATIONS])
def test_counterexample_matches_golden(path: Path, results: dict[str, CheckResult]) -> None:
    text = json.dumps(summary(results[path.stem]), indent=2) + "\n"
    assert_golden(path.with_suffix(".expected.json"), text)


@pytest.mark.parametrize("path", VIOLATIONS, ids=[p.stem for p in VIOLATIONS])
def test_counterexample_replays(path: Path, results: dict[str, CheckResult]) -> None:
    """Every trace starts in an initial state and each step is an enabled transition."""
    result = results[path.stem]
    assert result.model is not None
    model = result.model
    for p in result.properties:
        if p.verdict != "violated" or p.kind == "domain" or p.trace is None:
            continue
        steps = p.trace.steps
        assert steps[0].state in sem.initial_states(model)
        for before, after in itertools.pairwise(steps):
            assert after.transition is not None
            inst = sem.Instance(after.transition, after.args)
            assert sem.enabled(inst, before.state)
            assert sem.apply(inst, before.state) == after.state


def test_each_bug_is_absent_from_the_fixed_model() -> None:
    """The correct models these bugs were seeded into hold the same properties."""
    pairs = {
        "refund_threshold_bug": "refund_agent",
        "deploy_rollback_bug": "deploy_agent",
        "email_label_bug": "email_assistant",
        "file_symlink_bug": "file_agent",
        "budget_escrow_bug": "budget_handoff",
        "tool_pinning_bug": "tool_gateway",
    }
    for bug, fixed in pairs.items():
        assert (ROOT / "examples" / "violations" / f"{bug}.cap").exists()
        result = check_explicit(load_model(str(ROOT / "models" / f"{fixed}.cap")))
        assert result.verdict == "proved", fixed
