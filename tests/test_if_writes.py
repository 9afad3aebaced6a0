"""A write in an `if` branch that is not taken never faults on its index (issue 13)."""

from __future__ import annotations

import pytest

from verifier.check.explicit import check_explicit
from verifier.check.packed import check_packed
from verifier.check.smt import check_symbolic
from verifier.lang.frontend import load_text

BRANCH = """
capability branch_write "only the branch taken indexes its array"
state {
  h: 1..5 = 1
  r: array[1..3] of bool = false
  w: array[1..3] of bool = false
}
action mark {
  if h <= 3 { r[h] := true } else { w[h - 3] := true }
}
action move(to: 1..5) {
  h := to
}
invariant one_row_per_mark: count(i in 1..3: r[i]) + count(i in 1..3: w[i]) <= 6
reachable w_marked: w[2]
reachable r_marked: r[3]
"""


def test_explicit_search_proves_it_and_reaches_both_branches() -> None:
    model = load_text(BRANCH).model
    assert model is not None
    result = check_explicit(model)
    assert {p.name: p.verdict for p in result.properties} == {
        "one_row_per_mark": "proved",
        "w_marked": "proved",
        "r_marked": "proved",
        "deadlock": "proved",
        "domain": "proved",
    }
    assert result.states == 160
    assert not result.diagnostics  # `mark` fires: no dead-transition warning


def test_the_packed_engine_agrees() -> None:
    model = load_text(BRANCH).model
    assert model is not None
    packed, explicit = check_packed(model), check_explicit(model)
    assert packed is not None
    assert (packed.verdict, packed.states, packed.transitions) == (
        explicit.verdict,
        explicit.states,
        explicit.transitions,
    )


@pytest.mark.parametrize("engine", ["kind", "pdr"])
def test_symbolic_engines_prove_it(engine: str) -> None:
    model = load_text(BRANCH).model
    assert model is not None
    assert check_symbolic(model, engine, timeout=60).verdict == "proved"


def test_bmc_finds_no_violation() -> None:
    model = load_text(BRANCH).model
    assert model is not None
    result = check_symbolic(model, "bmc", depth=8, timeout=60)
    assert "violated" not in {p.verdict for p in result.properties}


def test_a_taken_branch_still_faults_on_a_bad_index() -> None:
    model = load_text(BRANCH.replace("if h <= 3", "if h <= 4")).model
    assert model is not None
    (domain,) = [p for p in check_explicit(model).properties if p.kind == "domain"]
    assert domain.verdict == "violated"
    assert domain.message == "index 4 of `r` is outside its range 1..3"


def test_a_transition_blocked_by_its_fault_is_not_called_dead_for_its_guards() -> None:
    loaded = load_text(
        "state { h: 4..5 = 4  r: array[1..3] of bool = false }\n"
        "action mark { when h == 4  r[h] := true }\n"
        "action other { when h == 4  h := 5 }\n"
        "final when h == 5\n"
    )
    assert loaded.model is not None
    result = check_explicit(loaded.model)
    (dead,) = [d for d in result.diagnostics if d.code == "dead-transition"]
    assert dead.message == "action `mark` never fires in any reachable state"
    assert dead.help == (
        "its guards hold, but firing it faults (the domain violation reported for it); "
        "fix the fault and check again"
    )
