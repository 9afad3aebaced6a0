"""Saturating ranges clamp every write; `bound-guard` names guards that only keep a range."""

from __future__ import annotations

import pytest

from verifier.check.explicit import check_explicit
from verifier.check.smt import check_symbolic
from verifier.lang.frontend import load_text

COUNTERS = """
capability counters "a saturating counter beside a plain one"
state {
  saved: 0..3 saturating = 0
  draft: bool = false
}
action write { draft := true }
action save {
  when draft
  saved := saved + 2
  draft := false
}
action undo {
  when saved > 0
  saved := saved - 4
}
invariant in_range: saved <= 3
reachable full: saved == 3
"""


def test_writes_clamp_and_never_leave_the_range() -> None:
    loaded = load_text(COUNTERS)
    assert loaded.model is not None and not loaded.diagnostics
    result = check_explicit(loaded.model)
    verdicts = {p.name: p.verdict for p in result.properties}
    assert verdicts == {"in_range": "proved", "full": "proved", "deadlock": "proved",
                        "domain": "proved"}  # fmt: skip
    # saved takes 0, 2 (one save), 3 (two saves: 4 clamps to 3); undo from any clamps to 0
    assert sorted({s[0] for s in _reachable(loaded.model)}) == [0, 2, 3]


def _reachable(model):  # type: ignore[no-untyped-def]
    from verifier.check.explicit import explore

    return explore(model).states


@pytest.mark.parametrize("engine", ["kind", "pdr"])
def test_symbolic_engines_agree(engine: str) -> None:
    model = load_text(COUNTERS).model
    assert model is not None
    assert check_symbolic(model, engine, timeout=60).verdict == "proved"


def test_the_type_says_saturating_and_equals_the_plain_range() -> None:
    model = load_text(COUNTERS).model
    assert model is not None
    saved = model.vars[0].type
    assert str(saved) == "0..3 saturating"
    assert saved == load_text("state { x: 0..3 = 0 }").model.vars[0].type  # type: ignore[union-attr]


BOUND = """
capability bound "a guard that only keeps a counter in range"
const MAX = 4
state {
  edits: 0..5 = 0
  sends: 0..MAX = 0
  total: 0..9 = 0
}
action edit {
  when edits < 5
  edits := edits + 1
}
action send {
  when sends < MAX
  sends := sends + 1
}
action add(n: 1..3) {
  when total + n <= 9
  total := total + n
}
action edit_twice {
  when edits <= 2
  edits := edits + 2
}
"""


def test_bound_guard_warns_only_on_bare_model_bounds() -> None:
    loaded = load_text(BOUND, "bound.cap")
    assert loaded.model is not None  # a warning, not an error
    found = [(d.code, d.severity, d.span.line, d.message, d.help) for d in loaded.diagnostics]
    # `send` names its bound, `add` has a parameter (a budget), `edit_twice` refuses 3 too
    assert found == [
        (
            "bound-guard",
            "warning",
            10,
            "this guard only keeps `edits` inside `0..5`: the guard will refuse `edit` once "
            "`edits` reaches its bound",
            "if the bound is a policy limit, keep it; if it only keeps the model finite, "
            "declare `edits: 0..5 saturating` and drop the guard",
        )
    ]


def test_a_saturating_variable_is_never_warned_about() -> None:
    loaded = load_text(BOUND.replace("edits: 0..5 = 0", "edits: 0..5 saturating = 0"))
    assert [d.code for d in loaded.diagnostics] == []


def test_fmt_keeps_saturating() -> None:
    from verifier.lang.format import format_text

    out = format_text(COUNTERS)
    assert "  saved: 0..3 saturating = 0\n" in out
    assert format_text(out) == out
