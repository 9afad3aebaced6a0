"""Properties of the front end on random valid specs: parsing and lowering are deterministic,
and every model's explicit check through the CLI gives JSON that the report schema accepts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import cap_specs
from verifier.check.results import EXIT_CODES
from verifier.cli import main
from verifier.lang.lower import lower_spec
from verifier.lang.parser import parse_spec

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "verifier/schemas/report.schema.json").read_text())

CONDITIONS = [
    "x > 0",
    "b",
    "not b and x < N",
    "all i in 0..1: a[i]",
    "some i in 0..1: a[i] == b",
    "count(i in 0..1: a[i]) == 1",
    "x in {0, 2}",
    "low(x) or m[1][b]",
    "c == red implies x mod 2 == 0",
    "min(x, 1) + max(x, 1) >= abs(x - 1)",
]


@st.composite
def tricky_specs(draw: st.DrawFn) -> str:
    """Specs with the constructs `cap_specs` leaves out: `if` statements, quantifiers,
    definitions, nested arrays, enum-indexed arrays and approvals inside branches."""
    n = draw(st.integers(1, 3))
    cond = st.sampled_from(CONDITIONS)
    in_action = st.sampled_from([*CONDITIONS, "p", "p != b"])
    value = draw(st.sampled_from(["x + 1", "N - x", "(x + 1) mod (N + 1)", "x / 2", "0"]))
    return f"""capability tricky
const N = {n}
enum Color {{ red, blue }}
def low(k: 0..N) = k < N
state {{
  x: 0..N = 0
  b: bool = {draw(st.sampled_from(["false", "any"]))}
  a: array[0..1] of bool = false
  m: array[1..2] of array[bool] of bool = false
  c: Color = red
  seen: array[Color] of bool = false
}}
action act(p: bool) {{
  if {draw(in_action)} {{
    when {draw(in_action)}
    needs approval when {draw(cond)}
    x := {value}
  }} else if {draw(cond)} {{
    b := not b
    a[if p then 1 else 0] := {draw(in_action)}
  }} else {{
    m[x mod 2 + 1][p] := not m[x mod 2 + 1][p]
  }}
}}
event paint(k: Color) {{
  when {draw(cond)}
  c := k
  seen[k] := true
}}
{draw(st.sampled_from(["", "final when x == N"]))}
invariant inv: {draw(cond)}
reachable goal: {draw(cond)}
"""


def _check_properties(text: str, tmp_path: Path) -> None:
    first, second = parse_spec(text, "r.cap"), parse_spec(text, "r.cap")
    assert first == second
    model = lower_spec(first)
    assert model == lower_spec(second)
    assert model == lower_spec(parse_spec(text, "r.cap"))
    path = tmp_path / "r.cap"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["check", "--engine", "explicit", "--format", "json", str(path)]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    (file,) = doc["files"]
    assert result.exit_code == EXIT_CODES[file["verdict"]]
    assert file["verdict"] != "invalid", file["diagnostics"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=cap_specs())
def test_random_specs_are_deterministic_and_report_valid_json(text: str, tmp_path: Path) -> None:
    _check_properties(text, tmp_path)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=tricky_specs())
def test_tricky_specs_are_deterministic_and_report_valid_json(text: str, tmp_path: Path) -> None:
    _check_properties(text, tmp_path)
