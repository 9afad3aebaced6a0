"""Quantifiers over a set's members and set-typed parameters, in every engine and the guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guard_support import write_artifact
from verifier.check.explicit import check_explicit
from verifier.check.packed import check_packed
from verifier.check.smt import check_symbolic
from verifier.guard import Guard
from verifier.ir import semantics as sem
from verifier.lang.frontend import load_text

SHARE = """
capability share "share a document with a set of teams"
enum Team { legal, ops, sales }
state {
  shared_with: set of Team = {}
  shares: 0..3 = 0
}
action share(with: set of Team) {
  when with != {} and shares < 3
  when all t in with: t != sales or legal in shared_with
  shared_with := shared_with + with
  shares := shares + 1
}
final when shares == 3
invariant sales_after_legal: sales in shared_with implies legal in shared_with
invariant not_everyone: count(t in shared_with: true) < 3
"""


def verdicts(result) -> dict[str, tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return {
        p.name: (p.verdict, len(p.trace.steps) - 1 if p.trace is not None else None)
        for p in result.properties
        if p.kind == "invariant"
    }


def test_set_parameter_is_one_instance_per_subset() -> None:
    model = load_text(SHARE).model
    assert model is not None
    (share,) = model.transitions
    assert [p.type.size() for p in share.params] == [8]
    result = check_explicit(model)
    # sales only after legal: {legal,ops,sales} is reached in two shares, so not_everyone breaks
    assert verdicts(result) == {
        "sales_after_legal": ("proved", None),
        "not_everyone": ("violated", 2),
    }
    (report,) = [p for p in result.to_json()["properties"] if p["name"] == "not_everyone"]
    assert [step["args"] for step in report["trace"][1:]] == [
        {"with": ["legal"]},
        {"with": ["ops", "sales"]},
    ]


@pytest.mark.parametrize("engine", ["bmc", "kind", "pdr"])
def test_symbolic_engines_agree_on_set_parameters(engine: str) -> None:
    model = load_text(SHARE).model
    assert model is not None
    explicit = verdicts(check_explicit(model))
    symbolic = verdicts(check_symbolic(model, engine, depth=6, timeout=60))
    if engine == "bmc":  # bmc proves nothing unbounded; it finds the same shortest trace
        assert symbolic["not_everyone"] == explicit["not_everyone"]
    else:
        assert symbolic == explicit


def test_packed_engine_agrees_on_set_parameters() -> None:
    model = load_text(SHARE).model
    assert model is not None
    explicit, packed = check_explicit(model), check_packed(model)
    assert packed is not None
    assert (packed.states, packed.transitions) == (explicit.states, explicit.transitions)
    assert verdicts(packed) == verdicts(explicit)


QUANT = """
capability quant "quantifiers over a set variable and a set parameter"
enum L { a, b, c }
state { s: set of L = {}  n: 0..3 = 0 }
action put(x: set of L) { s := x  n := count(y in x: y != c) }
invariant all_same: (all y in s: y != b) == (all y in L: y in s implies y != b)
invariant some_same: (some y in s: y != a) == (some y in L: y in s and y != a)
invariant count_same: count(y in s: y != a) == count(y in L: y in s and y != a)
invariant n_counts: n == count(y in s: y != c)
"""


@pytest.mark.parametrize("engine", ["explicit", "pdr"])
def test_quantifier_over_a_set_means_the_guarded_expansion(engine: str) -> None:
    model = load_text(QUANT).model
    assert model is not None
    result = check_explicit(model) if engine == "explicit" else check_symbolic(model, "pdr")
    assert {p.name: p.verdict for p in result.properties if p.kind == "invariant"} == {
        "all_same": "proved",
        "some_same": "proved",
        "count_same": "proved",
        "n_counts": "proved",
    }


def test_guard_takes_a_set_argument_as_a_list_of_members(tmp_path: Path) -> None:
    spec = tmp_path / "share.cap"
    spec.write_text(SHARE.replace("invariant not_everyone", "// invariant not_everyone"))
    guard = Guard.load(str(write_artifact(spec, tmp_path / "share.artifact.json")))
    session = guard.session("doc-1")
    assert session.propose("share", {"with": ["sales"]}).verdict == "deny"
    assert session.propose("share", {"with": ["legal", "ops"]}).verdict == "allow"
    assert session.propose("share", {"with": ["sales"]}).verdict == "allow"
    assert session.state()["state"]["shared_with"] == ["legal", "ops", "sales"]
    bad = session.propose("share", {"with": ["finance"]})
    assert bad.verdict == "deny" and "finance" in (bad.reason or "")
    assert session.propose("share", {"with": "legal"}).verdict == "deny"


ARRAYS = """
capability arrays "whole arrays and ordered enums"
const N = 3
type Proc = 0..N-1
enum Level { low, mid, high }
state {
  want: array[Proc] of bool = false
  grid: array[Proc] of array[Level] of bool = false
  lvl: Level = low
  turn: Proc = 0
}
action request(i: Proc) {
  when want == [for j in Proc: false]
  want := [for j in Proc: j == i]
  turn := i
}
action rotate { want := [for j in Proc: want[(j + 1) mod N]] }
action reset { want := false  grid[turn] := [for l in Level: l >= lvl] }
action raise_level { when lvl < high  lvl := if lvl == low then mid else high }
invariant one_or_none: count(j in Proc: want[j]) <= 1
invariant ord_ok: ord(lvl) <= 2 and (lvl > low) == (ord(lvl) > 0)
invariant grid_rows: all p in Proc: grid[p] == [for l in Level: false] or grid[p][high]
invariant rotated: want != [true, true, false]
reachable mid_row: grid[1] == [false, true, true]
"""


def test_whole_arrays_expand_to_element_writes_and_comparisons() -> None:
    model = load_text(ARRAYS).model
    assert model is not None
    request, rotate, _reset, _raise = model.transitions
    assert [u.name for u in request.updates] == ["want", "want", "want", "turn"]
    assert [u.name for u in rotate.updates] == ["want"] * 3
    result = check_explicit(model)
    assert result.verdict == "proved"
    assert result.states == 1032
    (mid,) = [p for p in result.to_json()["properties"] if p["name"] == "mid_row"]
    assert [(s["action"], s["args"]) for s in mid["trace"][1:]] == [
        ("request", {"i": 1}),
        ("raise_level", {}),
        ("reset", {}),
    ]


@pytest.mark.parametrize("engine", ["kind", "pdr"])
def test_symbolic_engines_prove_the_array_spec(engine: str) -> None:
    model = load_text(ARRAYS).model
    assert model is not None
    assert check_symbolic(model, engine, timeout=60).verdict == "proved"


def test_rotation_reads_the_state_before_the_transition() -> None:
    model = load_text(ARRAYS).model
    assert model is not None
    (init,) = sem.initial_states(model)
    rotate = next(i for i in sem.instances(model) if i.transition.name == "rotate")
    state = (1, 0, 1, *init[3:])  # want = [true, false, true]
    assert sem.apply(rotate, state)[:3] == (0, 1, 1)
