"""Explanations in counterexamples: the guards that admitted each step, what is false at the end."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from verifier.check.dispatch import CheckOptions, run_check
from verifier.check.results import report_json
from verifier.lang.frontend import load_text
from verifier.report.explain import admission_text, admissions, annotate_report, violation

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "verifier/schemas/report.schema.json").read_text())

SPEC = """\
const N = 2
state {
  a: array[1..2] of 0..N = 0
  armed: bool = false
  done: bool = false
}
def full(i: 1..2) = a[i] == N
action arm {
  when not armed
  armed := true
}
action bump(i: 1..2) {
  when armed or done
  when a[i] < N
  needs approval when i == 2
  a[i] := a[i] + 1
}
action finish {
  when full(1)
  done := true
}
invariant ok: armed implies (all i in 1..2: a[i] < N or done)
invariant calm: not (armed and full(2))
"""


def checked(text: str = SPEC) -> tuple[object, dict[str, object]]:
    loaded = load_text(text)
    assert loaded.model is not None, loaded.diagnostics
    result = run_check(loaded.model, CheckOptions(deadlock=True))
    return result, {p.name: p for p in result.properties}


def test_each_step_lists_the_guards_that_held_and_which_disjunct() -> None:
    result, props = checked()
    p = props["ok"]
    model = result.model  # type: ignore[attr-defined]
    rows = [admission_text(a) for a in admissions(model, p.trace)]
    assert rows == [
        "not armed",
        "armed (of armed or done); a[i] < N",
        "armed (of armed or done); a[i] < N",
    ]


def test_the_false_part_of_the_property_is_named_with_values() -> None:
    result, props = checked()
    model = result.model  # type: ignore[attr-defined]
    assert violation(model, props["ok"]) == [
        "`armed` holds",
        "for `i` = 1: `a[i] < N` is false (`a[i]` = 2)",
        "for `i` = 1: `done` is false",
    ]
    assert violation(model, props["calm"]) == [
        "`not (armed and full(2))` is false: `armed` and `full(2)` hold"
    ]


def test_approval_and_deadlock_are_explained() -> None:
    text = SPEC.replace("invariant ok:", "invariant ok2:").replace(
        "action finish {\n  when full(1)", "action finish {\n  when full(1) and not done"
    )
    result, props = checked(text)
    model = result.model  # type: ignore[attr-defined]
    calm = props["calm"]
    assert admission_text(admissions(model, calm.trace)[-1]).endswith("needs approval: i == 2")
    dead = props["deadlock"]
    assert dead.verdict == "violated"
    assert violation(model, dead) == [
        "`arm` is disabled: `not armed` is false: `armed` is true",
        "`bump` is disabled: `a[i] < N` is false (`a[i]` = 2)",
        "`finish` is disabled: `not done` is false: `done` is true",
    ]


def test_json_report_carries_explanations_and_stays_valid() -> None:
    result, _ = checked()
    data = annotate_report([result], report_json([result]))  # type: ignore[list-item]
    jsonschema.validate(data, SCHEMA)
    ok = next(p for p in data["files"][0]["properties"] if p["name"] == "ok")
    assert ok["admitted_by"][1] == {
        "guards": ["armed (of armed or done)", "a[i] < N"],
        "approval": None,
    }
    assert ok["why"][0] == "`armed` holds"
