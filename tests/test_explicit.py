"""The explicit engine against the reference semantics, and its verdicts on small specs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference_bfs import naive_bfs
from verifier import ir
from verifier.check.explicit import check_explicit, explore
from verifier.ir import semantics as sem
from verifier.ir.compiled import compile_model
from verifier.ir.evaluate import EvalError
from verifier.lang.frontend import load_model, load_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = [
    p
    for p in sorted(ROOT.glob("models/**/*.cap")) + sorted(ROOT.glob("examples/violations/*.cap"))
    # Specs sized for the symbolic engines (10^12 states and more) are not searched here.
    if load_model(str(p)).declared_space() <= 2**22
]


def model_of(text: str) -> ir.Model:
    loaded = load_text(text, "t.cap")
    assert loaded.model is not None, loaded.diagnostics
    return loaded.model


def verdicts(text: str, **kw: object) -> dict[str, tuple[str, int | None]]:
    r = check_explicit(model_of(text), **kw)  # type: ignore[arg-type]
    return {p.name: (p.verdict, len(p.trace) if p.trace else None) for p in r.properties}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_engine_matches_naive_reference_bfs(spec: Path) -> None:
    model = load_model(str(spec))
    r = check_explicit(model)
    naive = naive_bfs(model)
    assert r.states == len(naive.states)
    assert r.transitions == len(naive.edges)
    assert r.generated == naive.generated
    assert r.depth == max(naive.level.values())
    for p in r.properties:
        if p.trace is None:
            continue
        assert len(p.trace) == naive.level[p.trace.steps[-1].state] + (
            1 if p.kind == "domain" else 0
        )


def _random_state(model: ir.Model, data: st.DataObject) -> tuple[int, ...]:
    return tuple(data.draw(st.sampled_from(list(s.type.values()))) for s in model.slots)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_generated_code_agrees_with_reference_on_any_state(spec: Path, data: st.DataObject) -> None:
    model = load_model(str(spec))
    compiled = compile_model(model)
    state = _random_state(model, data)
    for inst, fire in zip(compiled.instances, compiled.fires, strict=True):
        try:
            expected: object = sem.apply(inst, state) if sem.enabled(inst, state) else None
        except EvalError as err:
            expected = ("error", err.message)
        try:
            got: object = fire(state)
        except EvalError as err:
            got = ("error", err.message)
        assert got == expected, f"{inst.name}{inst.args} in {state}"
    for prop, pred in zip(model.properties, compiled.invariants, strict=True):
        assert pred(state) == sem.holds(prop, state)


COUNTER = """
state { n: 0..3 = 0  done: bool = false }
action inc { when not done  n := n + 1 }
action stop { when n >= 2  done := true }
final when done
invariant small: n <= 3
reachable two: n == 2 and done
"""


def test_domain_violation_is_reported_with_the_attempted_step() -> None:
    r = check_explicit(model_of(COUNTER))
    domain = next(p for p in r.properties if p.kind == "domain")
    assert domain.verdict == "violated"
    assert domain.message == "`n` would become 4, outside 0..3"
    assert domain.trace is not None and len(domain.trace) == 4
    assert domain.trace.failure == domain.message
    assert [s.transition.name for s in domain.trace.steps[1:]] == ["inc"] * 4  # type: ignore[union-attr]
    assert domain.trace.steps[-1].state == (3, 0)  # the pre-state: nothing wrapped


def test_reachable_goal_witness_is_shortest() -> None:
    v = verdicts(COUNTER)
    assert v["two"] == ("proved", 3)
    assert v["small"] == ("proved", None)


def test_unreachable_goal_is_violated() -> None:
    v = verdicts(COUNTER.replace("n == 2 and done", "n == 1 and done"))
    assert v["two"] == ("violated", None)


def test_deadlock_found_and_final_states_exempt() -> None:
    text = """
state { n: 0..2 = 0 }
action inc { when n < 2  n := n + 1 }
"""
    assert verdicts(text)["deadlock"] == ("violated", 2)
    assert verdicts(text + "final when n == 2\n")["deadlock"] == ("proved", None)
    assert "deadlock" not in verdicts(text, deadlock=False)


def test_multiple_initial_states_and_init_predicate() -> None:
    text = """
state { a: 0..3 = any  b: bool = any }
init when a != 2
action flip { b := not b }
invariant not_two: a != 2
"""
    r = check_explicit(model_of(text))
    assert r.states == 6
    assert r.depth == 0  # every initial state is reachable only as an initial state
    assert all(p.verdict == "proved" for p in r.properties)


def test_conflicting_writes_to_one_slot_are_a_domain_violation() -> None:
    text = """
state { t: array[1..2] of 0..5 = [0, 0] }
action put(i: 1..2, j: 1..2) { t[i] := 1  t[j] := 2 }
"""
    v = check_explicit(model_of(text), deadlock=False)
    domain = next(p for p in v.properties if p.kind == "domain")
    assert domain.message == "two assignments write `t[1]`"


def test_max_states_leaves_undecided_properties_inconclusive() -> None:
    r = check_explicit(load_model(str(ROOT / "models/reference/simple.cap")), max_states=10)
    assert not r.complete
    assert r.verdict == "inconclusive"
    assert {p.verdict for p in r.properties} == {"inconclusive"}


def test_coverage_counts_firings_and_warns_on_dead_transitions() -> None:
    text = COUNTER + "action never { when n > 5  n := 0 }\n"
    r = check_explicit(model_of(text))
    assert r.coverage["never"] == 0
    assert r.coverage["inc"] == 3  # from n=0,1,2; at n=3 the step is a domain violation
    assert r.coverage["stop"] == 4  # n=2,3, done or not
    assert [d.code for d in r.diagnostics] == ["dead-transition"]


def test_explore_returns_every_edge() -> None:
    g = explore(load_model(str(ROOT / "models/reference/diehard.cap")))
    assert len(g.states) == 16
    assert len(g.edges) == 96
    assert len({(a, b) for a, b, _ in g.edges}) == 74


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_states_hold_plain_ints(spec: Path) -> None:
    """The IR contract: every slot of every state is an int (never a Python bool)."""
    g = explore(load_model(str(spec)), max_states=5000)
    assert all(type(v) is int for s in g.states for v in s)


def test_instances_whose_parameter_guards_fail_are_never_tried() -> None:
    text = """
state { t: array[1..3] of 0..9 = [9, 0, 0] }
action move(a: 1..3, b: 1..3) { when a != b  when t[a] > 0  t[a] := t[a] - 1  t[b] := t[b] + 1 }
"""
    compiled = compile_model(model_of(text))
    live = compiled.live()
    assert len(compiled.instances) == 9
    assert [compiled.instances[k].args for k in live] == [
        (1, 2),
        (1, 3),
        (2, 1),
        (2, 3),
        (3, 1),
        (3, 2),
    ]
    assert check_explicit(model_of(text), deadlock=False).states == 55
