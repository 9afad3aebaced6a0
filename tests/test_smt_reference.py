"""The symbolic engines against the reference models (/work/shared/REFERENCE_MODELS.md).

pdr must reproduce every verdict, bmc every counterexample and witness length, and plain
k-induction (no simple-path constraints, as the reference computes it) the published depths:
Peterson `Inv` k=1, TCommit k=1, Simple `Inv` k=1 and `PCorrect` k=10, and no k for
Peterson's Mutex alone [H]. The two largest models run with `-m slow`.
"""

from __future__ import annotations

import pytest

from tests.test_reference_models import HOLDS, ROWS, Row
from verifier.check.results import CheckResult
from verifier.check.smt import check_symbolic
from verifier.lang.frontend import load_model

SLOW = {"dining_philosophers", "hanoi5"}


def _params(rows: list[Row]) -> list[object]:
    return [
        pytest.param(r, id=r.id, marks=[pytest.mark.slow] if r.id in SLOW else []) for r in rows
    ]


def _got(r: CheckResult) -> dict[str, tuple[str, int | None]]:
    return {
        p.name: (p.verdict, len(p.trace) if p.trace is not None else None) for p in r.properties
    }


def _kind(path: str, depth: int, simple_path: bool) -> dict[str, tuple[str, str | None]]:
    r = check_symbolic(load_model(path), "kind", depth=depth, simple_path=simple_path)
    return {p.name: (p.verdict, p.detail) for p in r.properties}


@pytest.mark.parametrize("row", _params(ROWS))
def test_pdr_reproduces_every_verdict(row: Row) -> None:
    got = _got(check_symbolic(load_model(str(row.path), row.consts), "pdr"))
    assert got.pop("deadlock") == HOLDS
    assert got.pop("domain") == HOLDS
    assert got == row.properties


@pytest.mark.parametrize("row", _params(ROWS))
def test_bmc_reproduces_every_trace_length(row: Row) -> None:
    model = load_model(str(row.path), row.consts)
    got = _got(check_symbolic(model, "bmc", depth=row.depth + 1))
    for name, (verdict, length) in row.properties.items():
        if length is not None:
            assert got[name] == (verdict, length), name
        else:  # no counterexample: bmc finds none (it proves it when every path ends)
            assert got[name] in (("inconclusive", None), (verdict, None)), name


def test_kind_depths_without_simple_paths() -> None:
    peterson = _kind("models/reference/peterson.cap", 12, simple_path=False)
    assert peterson["inv"] == ("proved", "k=1")
    assert peterson["mutex"] == ("inconclusive", None)  # a cycle of unreachable states
    assert _kind("models/reference/tcommit.cap", 3, False)["tc_consistent"] == ("proved", "k=1")
    simple = _kind("models/reference/simple.cap", 12, simple_path=False)
    assert simple["inv"] == ("proved", "k=1")
    assert simple["p_correct"] == ("proved", "k=10")


def test_kind_proves_mutex_with_simple_paths_and_says_at_which_k() -> None:
    r = check_symbolic(load_model("models/reference/peterson.cap"), "kind", depth=30)
    mutex = next(p for p in r.properties if p.name == "mutex")
    assert (mutex.verdict, mutex.engine, mutex.detail) == ("proved", "kind", "k=24")


def test_two_phase_needs_pdr_strengthening() -> None:
    model = load_model("models/reference/two_phase.cap")
    kind = check_symbolic(model, "kind", depth=8, simple_path=False)
    tc = next(p for p in kind.properties if p.name == "tc_consistent")
    assert (tc.verdict, tc.message) == ("inconclusive", "not k-inductive for any k <= 8")
    pdr = check_symbolic(model, "pdr")
    tc = next(p for p in pdr.properties if p.name == "tc_consistent")
    assert (tc.verdict, tc.engine, tc.detail) == ("proved", "pdr", "strengthened invariant")


def test_bmc_prints_the_explicit_peterson_bug_trace() -> None:
    r = check_symbolic(load_model("examples/violations/peterson_bug.cap"), "bmc", depth=10)
    mutex = next(p for p in r.properties if p.name == "mutex")
    assert mutex.verdict == "violated" and mutex.trace is not None
    assert (len(mutex.trace), mutex.engine, mutex.detail) == (8, "bmc", "depth 8")
