"""`verifier fmt`: canonical layout that keeps every comment, is idempotent, keeps meaning."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.strategies import cap_specs
from verifier.cli import main
from verifier.cli.fmt import format_paths
from verifier.diagnostics import SpecError
from verifier.ir.codec import model_to_json
from verifier.lang.format import format_text
from verifier.lang.frontend import load_text
from verifier.lang.parser import lex_tokens

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(
    [*ROOT.glob("models/**/*.cap"), *ROOT.glob("examples/**/*.cap")], key=lambda p: str(p)
)


def comments(text: str) -> list[str]:
    return sorted(t.text.rstrip() for t in lex_tokens(text) if t.kind == "COMMENT")


def meaning(data: Any) -> Any:
    """The canonical JSON of a model without spans and the source text kept for display."""
    if isinstance(data, dict):
        return {k: meaning(v) for k, v in data.items() if k not in ("span", "text")}
    if isinstance(data, list):
        return [meaning(v) for v in data]
    return data


def assert_same_meaning(before: str, after: str) -> None:
    a, b = load_text(before), load_text(after)
    assert a.model is not None and b.model is not None
    assert meaning(model_to_json(a.model)) == meaning(model_to_json(b.model))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_specs_are_formatted(path: Path) -> None:
    text = path.read_text()
    assert format_text(text, str(path)) == text


def test_fmt_check_passes_on_the_bundled_specs() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = format_paths(("models", "examples"), True, False, out, err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert out.getvalue().endswith(f"0 would reformat, {len(BUNDLED)} already formatted\n")


OTHERS = sorted(
    [*ROOT.glob("tests/**/*.cap"), *ROOT.glob("benchmarks/**/*.cap")], key=lambda p: str(p)
)


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_other_spec_round_trips(path: Path) -> None:
    text = path.read_text()
    try:
        once = format_text(text, str(path))
    except SpecError:
        return  # a syntax-error case: fmt refuses it, as tested below
    assert format_text(once, str(path)) == once
    assert comments(once) == comments(text)
    before, after = load_text(text), load_text(once)
    assert [d.code for d in before.diagnostics] == [d.code for d in after.diagnostics]
    if before.model is not None:
        assert_same_meaning(text, once)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cap_specs(), st.data())
def test_random_specs_round_trip(text: str, data: st.DataObject) -> None:
    lines = text.splitlines()
    # Sprinkle comments: on their own line and after code, anywhere between lines.
    for _ in range(data.draw(st.integers(0, 4))):
        k = data.draw(st.integers(0, len(lines)))
        own = data.draw(st.booleans())
        if own or k == len(lines):
            lines.insert(k, f"# note {k}")
        else:
            lines[k] += f"  // after {k}"
    messy = "\n".join(" " * data.draw(st.integers(0, 3)) + ln for ln in lines) + "\n"
    once = format_text(messy)
    assert format_text(once) == once
    assert comments(once) == comments(messy)
    assert_same_meaning(messy, once)


CASES = {
    "comment inside an expression keeps the item as written": (
        "invariant i:\n        a # first\n     and b\nstate { a: bool = true b: bool = true }\n",
        "invariant i:\n     a # first\n  and b\n\nstate {\n  a: bool = true\n  b: bool = true\n}\n",
    ),
    "comments after braces, before the closing brace, after else": (
        "state{x:0..2=0}action a { # opens\nif x==0 { x:=1 } # then\nelse { # other\n"
        "x := 2\n# last\n} } # done\n",
        "state {\n  x: 0..2 = 0\n}\n\naction a {  # opens\n  if x == 0 {\n    x := 1\n"
        "  } else {  # other\n    # then\n    x := 2\n    # last\n  }\n}  # done\n",
    ),
    "parentheses the parse needs, and none it does not": (
        "state { b: bool = true n: 0..3 = 0 }\n"
        "invariant q: (all i in 0..3: i != n) and ((b))\n"
        "invariant r: b implies (b implies b) and (n + 1) * 2 == (n - (1 - 1))\n"
        "invariant s: not (if b then b else not b) or -(-n) < 1\n",
        "state {\n  b: bool = true\n  n: 0..3 = 0\n}\n\n"
        "invariant q: (all i in 0..3: i != n) and b\n"
        "invariant r: b implies ((b implies b) and (n + 1) * 2 == n - (1 - 1))\n"
        "invariant s: not (if b then b else not b) or --n < 1\n",
    ),
    "semicolons and empty else blocks dropped, docs re-quoted, else-if chains": (
        'action a "say \\"hi\\"" { when true; if true { } else if false { } else { } }',
        'action a "say \\"hi\\"" {\n  when true\n  if true {\n  } else if false {\n  }\n}\n',
    ),
    "a file of comments only": ("\n# one\n\n\n// two\n", "# one\n\n// two\n"),
}


@pytest.mark.parametrize("name", CASES)
def test_layout_cases(name: str) -> None:
    before, expected = CASES[name]
    assert format_text(before) == expected
    assert format_text(expected) == expected
    assert comments(expected) == comments(before)


def test_long_expressions_break_before_operators() -> None:
    names = [f"flag_number_{k}" for k in range(8)]
    decls = " ".join(f"{n}: bool = false" for n in names)
    text = f"state {{ {decls} }}\ninvariant long: {' and '.join(names)} or {names[0]}\n"
    out = format_text(text)
    tail = out.split("invariant long:\n")[1].splitlines()
    assert all(len(ln) <= 100 for ln in tail)
    assert tail[0].startswith("  (flag_number_0 and") and tail[-1] == "  or flag_number_0"
    assert format_text(out) == out
    assert_same_meaning(text, out)


def test_unparsable_text_is_a_diagnostic_not_a_rewrite() -> None:
    with pytest.raises(SpecError) as err:
        format_text("state { x: bool = }")
    assert err.value.diagnostics[0].code == "syntax"


@pytest.mark.parametrize("n", [400, 2000])
def test_deep_nesting_is_a_diagnostic_not_a_traceback(n: int) -> None:
    text = "state { x: 0..1 = 0 }\ninvariant i: " + " and ".join(["x == 0"] * n) + "\n"
    with pytest.raises(SpecError) as err:
        format_text(text)
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.span.line) == ("syntax", 2)
    assert diag.message == "this declaration nests too deeply to process"


def test_cli_check_diff_write_and_stdin(tmp_path: Path) -> None:
    spec = tmp_path / "a.cap"
    spec.write_text("state{x:bool=false}\n")
    runner = CliRunner()
    checked = runner.invoke(main, ["fmt", "--check", str(spec)])
    assert checked.exit_code == 1
    assert f"would reformat {spec}" in checked.output
    diffed = runner.invoke(main, ["fmt", "--diff", str(spec)])
    assert diffed.exit_code == 0
    assert "-state{x:bool=false}\n+state {\n+  x: bool = false\n+}\n" in diffed.output
    assert spec.read_text() == "state{x:bool=false}\n"
    written = runner.invoke(main, ["fmt", str(tmp_path)])
    assert written.exit_code == 0 and spec.read_text() == "state {\n  x: bool = false\n}\n"
    piped = runner.invoke(main, ["fmt", "-"], input="const N=1")
    assert piped.exit_code == 0 and piped.output == "const N = 1\n"


def test_cli_leaves_a_broken_file_alone(tmp_path: Path) -> None:
    spec = tmp_path / "bad.cap"
    spec.write_text("state { x: bool = }\n")
    result = CliRunner().invoke(main, ["fmt", str(spec), str(tmp_path / "missing.cap")])
    assert result.exit_code == 2
    assert "bad.cap:1:19: error[syntax]" in result.output
    assert "missing.cap` does not exist" in result.output
    assert spec.read_text() == "state { x: bool = }\n"
