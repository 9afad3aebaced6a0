"""The agent capability specs in models/: proved, small, and not vacuous.

A spec that denies everything proves every invariant, so each one must also reach all of
its goals, fire every action and event, ask a human somewhere and observe the world.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.check.explicit import check_explicit
from verifier.check.results import CheckResult
from verifier.lang.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent
# Specs sized for the symbolic engines (fleet_budget: 10^20 states) have their own tests.
SPECS = [
    p
    for p in sorted((ROOT / "models").glob("*.cap"))
    if load_model(str(p)).declared_space() <= 2**22
]
MAX_STATES = 5_000  # each spec should check in well under a second


@pytest.fixture(scope="module")
def results() -> dict[str, CheckResult]:
    return {p.stem: check_explicit(load_model(str(p))) for p in SPECS}


def test_the_catalogue_is_there() -> None:
    names = {p.stem for p in SPECS}
    assert {
        "email_assistant",
        "refund_agent",
        "deploy_agent",
        "file_agent",
        "db_agent",
        "budget_handoff",
    } <= names


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_is_proved_and_small(path: Path, results: dict[str, CheckResult]) -> None:
    r = results[path.stem]
    assert r.complete
    assert r.verdict == "proved", [(p.name, p.verdict) for p in r.properties]
    assert r.states is not None and 10 <= r.states <= MAX_STATES
    assert not r.diagnostics, [d.message for d in r.diagnostics]


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_is_not_vacuous(path: Path, results: dict[str, CheckResult]) -> None:
    r = results[path.stem]
    model = r.model
    assert model is not None
    kinds = [p.kind for p in model.properties]
    assert kinds.count("invariant") >= 1 and kinds.count("reachable") >= 2
    for p in r.properties:
        if p.kind == "reachable":
            assert p.trace is not None and len(p.trace) >= 1, p.name
    assert all(n > 0 for n in r.coverage.values()), r.coverage


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_asks_a_human_and_observes_events(path: Path) -> None:
    model = load_model(str(path))
    assert any(t.approval is not None for t in model.transitions if t.kind == "action")
    assert any(t.kind == "event" for t in model.transitions)
    assert model.doc, "the capability line should say what the agent does"
