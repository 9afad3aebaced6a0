"""The packed engine gives exactly the explicit engine's result (apart from its name and time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import cap_specs
from verifier import ir
from verifier.check.explicit import check_explicit
from verifier.check.packed import check_packed
from verifier.check.packed.layout import layout_of
from verifier.check.results import CheckResult
from verifier.lang.frontend import load_model, load_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(ROOT.glob("models/**/*.cap")) + sorted(ROOT.glob("examples/violations/*.cap"))


def model_of(text: str) -> ir.Model:
    loaded = load_text(text, "t.cap")
    assert loaded.model is not None, loaded.diagnostics
    return loaded.model


def comparable(r: CheckResult) -> dict[str, Any]:
    out = r.to_json()
    del out["seconds"], out["engine"]
    for p in out["properties"]:
        p.pop("engine", None)
    return out


def assert_same(model: ir.Model, **kw: Any) -> CheckResult:
    packed = check_packed(model, **kw)
    assert packed is not None, "the model should pack"
    assert packed.engine == "explicit-packed"
    assert comparable(packed) == comparable(check_explicit(model, **kw))
    return packed


def _one_word(path: Path) -> bool:
    layout = layout_of(load_model(str(path)))
    return layout is not None and not layout.wide


# Specs whose full search takes well under a second (fleet_budget's 10^20 states do not).
PACKABLE = [p for p in SPECS if _one_word(p)]


def test_most_specs_pack() -> None:
    assert len(PACKABLE) >= len(SPECS) - 2


@pytest.mark.parametrize("spec", PACKABLE, ids=lambda p: p.stem)
def test_same_result_as_explicit_engine_on_every_spec(spec: Path) -> None:
    model = load_model(str(spec))
    assert_same(model)
    assert_same(model, deadlock=False)


@pytest.mark.parametrize("spec", PACKABLE, ids=lambda p: p.stem)
def test_same_partial_result_when_max_states_stops_the_search(spec: Path) -> None:
    model = load_model(str(spec))
    for limit in (0, 1, 3, 10, 57):
        assert_same(model, max_states=limit)


FAULTS = """
const N = 3
enum Color { red, green, blue }
state {
  a: array[1..N] of 0..4 = [0, 1, 2]
  i: 0..4 = 0
  d: 0..2 = 0
  s: set of Color = {}
  c: Color = red
}
action step { when i < 4  i := i + 1 }
action bump(k: 1..N) { when a[k] < 4 or k == 2  a[k] := a[k] + 1 }
action peek { when i >= 1 and a[i] > 0  d := d + 1 }
action guarded { when i == 0 or a[i] >= 0  d := 0 }
action divide { when 12 / (d + 1) > 5  s := s + {green} }
action modulo { when i mod (d + 1) == 1  c := if blue in s then blue else green }
action pair(x: 1..N, y: 1..N) { when x != y  a[x] := 0  a[i] := 1 }
action count_up { when count(k in 1..N: a[k] == 0) >= 2 and size(s) < 3  d := min(d + 1, 2) }
final when i == 4 and d == 2
invariant bounded: all k in 1..N: a[k] <= 4
reachable reach: some k in 1..N: a[k] == 4 and c == green
"""


def test_faults_in_guards_updates_and_indices_match_reference() -> None:
    r = assert_same(model_of(FAULTS))
    domain = next(p for p in r.properties if p.kind == "domain")
    assert domain.verdict == "violated"
    assert domain.trace is not None and domain.trace.failure == domain.message


def test_faults_match_under_every_state_limit() -> None:
    model = model_of(FAULTS)
    for limit in range(0, 40, 3):
        assert_same(model, max_states=limit, deadlock=False)


def test_multiple_initial_states_and_negative_ranges() -> None:
    text = """
state { a: -3..3 = any  b: bool = any  e: array[1..2] of -2..1 = [-2, 1] }
init when a != 2
action flip { b := not b }
action down(k: 1..2) { when e[k] > -2  e[k] := e[k] - 1  a := max(a - 1, -3) }
action neg { when a < 0  a := -a }
invariant not_two: a != 2
reachable low: e[1] == -2 and e[2] == -2 and a == -3
"""
    assert_same(model_of(text))


def test_state_wider_than_eight_words_falls_back() -> None:
    text = """
state { x: array[1..300] of 0..3 = 0 }
action inc(k: 1..300) { when x[k] < 3  x[k] := x[k] + 1 }
"""
    model = model_of(text)
    assert layout_of(model) is None
    assert check_packed(model) is None


# 252 bits of declared state (50 cells of 0..31, and 1..4), 4 * C(51, 2) = 5,100 reachable
# states: two tokens moving right over the cells; `dyn` moves one at a state-dependent index.
WIDE = """
state {
  x: array[1..50] of 0..31 = [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0]
  at: 1..4 = 1
}
action pass(k: 1..49) {
  when x[k] > 0 and x[k + 1] < 31
  x[k] := x[k] - 1
  x[k + 1] := x[k + 1] + 1
}
action look { when at < 4  at := at + 1 }
action dyn { when x[at] > 0  x[at] := x[at] - 1  x[at + 1] := x[at + 1] + 1 }
invariant tokens: x[50] < 2
reachable spread: x[10] == 1 and x[30] == 1
"""


def test_a_250_bit_state_packs_into_words_and_matches_the_general_engine() -> None:
    model = model_of(WIDE)
    layout = layout_of(model)
    assert layout is not None and layout.width == 5 and layout.total_bits == 252
    packed = assert_same(model)
    assert packed.states == 5_100
    assert packed.properties[0].verdict == "violated"  # all three tokens reach x[50]
    assert packed.properties[1].verdict == "proved"
    for limit in (0, 7):
        assert_same(model, max_states=limit)
    other = check_packed(model, workers=2, chunk_cells=4096)
    assert other is not None and comparable(other) == comparable(packed)


@pytest.mark.parametrize("spec", PACKABLE, ids=lambda p: p.stem)
def test_every_spec_through_the_multi_word_layout(spec: str) -> None:
    """Small words spread each model over several words: the same results, traces included."""
    model = load_model(str(spec))
    bits = max(5, *((s.type.size() - 1).bit_length() for s in model.slots))
    narrow = check_packed(model, word_bits=bits)
    assert narrow is not None
    assert comparable(narrow) == comparable(check_explicit(model))
    limited = check_packed(model, word_bits=bits, max_states=10, chunk_cells=16)
    assert limited is not None
    assert comparable(limited) == comparable(check_explicit(model, max_states=10))


@pytest.mark.parametrize("spec", ["philosophers", "fleet"])
def test_workers_and_chunk_sizes_change_nothing(spec: str) -> None:
    model = load_model(str(ROOT / f"benchmarks/spin/{spec}.cap"), {"N": 5})
    base = check_packed(model)
    assert base is not None
    for workers, cells in [(1, 300), (2, 300), (3, 5000)]:
        other = check_packed(model, workers=workers, chunk_cells=cells)
        assert other is not None
        assert comparable(other) == comparable(base), (workers, cells)


def test_small_chunks_agree_with_explicit_engine_and_limits() -> None:
    model = load_model(str(ROOT / "models/reference/dining_philosophers.cap"))
    explicit = comparable(check_explicit(model))
    for workers in (1, 2):
        packed = check_packed(model, workers=workers, chunk_cells=16)
        assert packed is not None and comparable(packed) == explicit
    for limit in (5, 30, 60):
        small = check_packed(model, max_states=limit, chunk_cells=16)
        assert small is not None
        assert comparable(small) == comparable(check_explicit(model, max_states=limit))


@settings(max_examples=150, deadline=None)
@given(
    text=cap_specs(),
    limit=st.sampled_from([None, None, 0, 2, 7]),
    cells=st.sampled_from([16, 1 << 21]),
)
def test_random_specs_agree_with_explicit_engine(text: str, limit: int | None, cells: int) -> None:
    model = model_of(text)
    packed = check_packed(model, max_states=limit, chunk_cells=cells)
    assert packed is not None
    assert comparable(packed) == comparable(check_explicit(model, max_states=limit))


@settings(max_examples=60, deadline=None)
@given(text=cap_specs(), limit=st.sampled_from([None, None, 3]), bits=st.sampled_from([4, 9]))
def test_random_specs_agree_through_the_multi_word_layout(
    text: str, limit: int | None, bits: int
) -> None:
    model = model_of(text)
    packed = check_packed(model, max_states=limit, word_bits=bits)
    if packed is None:  # a slot wider than `bits`
        assert any((s.type.size() - 1).bit_length() > bits for s in model.slots)
        return
    assert comparable(packed) == comparable(check_explicit(model, max_states=limit))
