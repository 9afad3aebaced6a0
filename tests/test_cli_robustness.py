"""Nasty inputs to `verifier check` and `verifier graph`: a diagnostic or a result, never a
traceback, a hang or a wrong caret."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from verifier.check.explicit import MAX_INITIAL_STATES
from verifier.diagnostics import Diagnostic, Span, render

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "verifier/schemas/report.schema.json").read_text())
SMALL = "state {\n  x: 0..2 = 0\n}\naction up {\n  when x < 2\n  x := x + 1\n}\nfinal when x == 2\n"


def invoke(*args: str) -> Result:
    from verifier.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for {args}") from result.exception
    assert "Traceback" not in result.output
    return result


def write(tmp_path: Path, content: str | bytes, name: str = "x.cap") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return str(path)


def check_json(path: str, *extra: str) -> tuple[int, dict]:
    result = invoke("check", "--format", "json", *extra, path)
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    return result.exit_code, doc["files"][0]


def codes(doc: dict) -> list[str]:
    return [d["code"] for d in doc["diagnostics"]]


# ---- files that are not specs


def test_empty_file_is_a_spec_with_one_state(tmp_path: Path) -> None:
    code, doc = check_json(write(tmp_path, ""), "--no-deadlock")
    assert (code, doc["verdict"], doc["states"]) == (0, "proved", 1)


def test_invalid_utf8_is_located_at_the_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path, b"state {\n  x: bool = \xff\n}\n")
    code, doc = check_json(path)
    assert code == 2
    (d,) = doc["diagnostics"]
    assert (d["code"], d["line"], d["column"]) == ("io", 2, 13)
    assert "0xff" in d["message"] and d["help"] == "save the file as UTF-8"
    text = invoke("check", path).output
    assert "2 |   x: bool = \ufffd\n" in text and "  |             ^\n" in text


def test_binary_bytes_and_control_characters(tmp_path: Path) -> None:
    code, doc = check_json(write(tmp_path, bytes(range(256))))
    assert code == 2 and codes(doc) == ["io"]
    code, doc = check_json(write(tmp_path, "state {\x00 }", "nul.cap"))
    (d,) = doc["diagnostics"]
    assert d["message"] == "unexpected character `U+0000`"
    assert "control character" in d["help"]
    assert "\x00" not in invoke("check", str(tmp_path / "nul.cap")).output


def test_a_directory_named_like_a_spec(tmp_path: Path) -> None:
    folder = tmp_path / "x.cap"
    folder.mkdir()
    result = invoke("check", str(folder))
    assert result.exit_code == 2 and "error[empty]" in result.output
    result = invoke("graph", str(folder))
    assert result.exit_code == 2 and "error[io]" in result.output


def test_missing_file(tmp_path: Path) -> None:
    code, doc = check_json(str(tmp_path / "nope.cap"))
    assert code == 2 and codes(doc) == ["io"]


# ---- huge numbers and domains


def test_huge_integers_in_ranges_and_consts(tmp_path: Path) -> None:
    big = 10**30
    spec = f"const N = {big}\nstate {{\n  x: 0..N = 0\n}}\ninvariant low: x < N\n"
    code, doc = check_json(write(tmp_path, spec), "--no-deadlock")
    assert (code, doc["verdict"], doc["states"]) == (0, "proved", 1)
    assert doc["declared_space"] == big + 1
    code, doc = check_json(write(tmp_path, spec), "--no-deadlock", "--const", f"N={-big}")
    assert code == 2 and codes(doc) == ["bad-range"]
    assert doc["diagnostics"][0]["message"] == f"the range `0..{-big}` is empty"
    assert f"--const N={-big}" in doc["diagnostics"][0]["help"]


def test_ten_million_parameter_values_is_too_large(tmp_path: Path) -> None:
    spec = "state { x: bool = false }\naction pick(p: 0..9999999) { x := true }\n"
    code, doc = check_json(write(tmp_path, spec))
    assert code == 2 and codes(doc) == ["too-large"]
    assert doc["diagnostics"][0]["message"] == "`pick` has 10000000 parameter combinations"


@pytest.mark.parametrize("engine", ["explicit", "auto"])
def test_any_over_a_huge_domain_is_too_large_not_a_hang(tmp_path: Path, engine: str) -> None:
    spec = "state {\n  x: 0..100000000 = any\n  flag: bool = any\n}\n"
    path = write(tmp_path, spec)
    code, doc = check_json(path, "--engine", "explicit", "--no-deadlock")
    assert code == 2 and codes(doc) == ["too-large"]
    d = doc["diagnostics"][0]
    assert (d["line"], d["column"]) == (2, 3)
    assert d["message"].startswith("`x`, `flag` start from any value: 200000002 initial states")
    assert f"{MAX_INITIAL_STATES:,}" in d["help"]
    result = invoke("graph", path)
    assert result.exit_code == 2 and "error[too-large]" in result.output


def test_any_just_below_the_cap_is_fine(tmp_path: Path) -> None:
    spec = "state {\n  a: array[1..12] of bool = any\n}\ninit when a[1] and a[2]\n"
    code, doc = check_json(write(tmp_path, spec), "--no-deadlock")
    assert (code, doc["states"]) == (0, 2**10)


def test_graph_of_a_spec_whose_file_name_has_a_quote(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL, 'say "hi".cap')
    dot = invoke("graph", path).output
    assert dot.startswith('digraph "say \\"hi\\"" {\n')
    assert dot.count(" -> ") == 2


def test_arrays_of_sets(tmp_path: Path) -> None:
    spec = (
        "enum Tag { red, blue }\nstate {\n  tags: array[1..2] of set of Tag = {}\n}\n"
        "action tag(i: 1..2, t: Tag) {\n  when t not in tags[i]\n  tags[i] := tags[i] + {t}\n}\n"
        "final when all i in 1..2: size(tags[i]) == 2\n"
        "reachable full: tags[1] == {red, blue} and tags[2] == {}\n"
    )
    path = write(tmp_path, spec)
    code, doc = check_json(path)
    assert (code, doc["states"], doc["transitions"]) == (0, 16, 32)
    (full,) = [p for p in doc["properties"] if p["name"] == "full"]
    assert full["trace"][-1]["state"] == {"tags": [["red", "blue"], []]}
    for fmt in ("dot", "mermaid", "json"):
        result = invoke("graph", "--format", fmt, path)
        assert result.exit_code == 0, result.output
    graph = json.loads(invoke("graph", "--format", "json", path).output)
    assert len(graph["nodes"]) == 16 and len(graph["edges"]) == 32


# ---- deep and wide specs


def test_deeply_nested_if_else_is_a_located_diagnostic(tmp_path: Path) -> None:
    body = "if x == 0 { x := 1 } " + "else if x == 1 { x := 2 } " * 600
    spec = f"state {{\n  x: 0..3 = 0\n}}\n\naction f {{ {body} }}\n"
    code, doc = check_json(write(tmp_path, spec))
    assert code == 2
    (d,) = doc["diagnostics"]
    assert (d["code"], d["line"], d["column"]) == ("syntax", 5, 1)
    assert d["message"] == "this declaration nests too deeply to process"


def test_nesting_too_deep_for_generated_code_uses_the_reference(tmp_path: Path) -> None:
    spec = "state {\n  x: bool = true\n}\ninvariant odd: " + "not " * 251 + "x\n"
    code, doc = check_json(write(tmp_path, spec), "--no-deadlock")
    assert (code, doc["verdict"]) == (1, "violated")


def test_nested_quantifiers_do_not_unroll_exponentially(tmp_path: Path) -> None:
    spec = "state {\n  x: 0..3 = 0\n}\ninvariant i: " + "all i in 0..1: " * 40 + "x > 0\n"
    code, doc = check_json(write(tmp_path, spec), "--no-deadlock")
    assert (code, doc["verdict"]) == (1, "violated")


def test_five_thousand_actions(tmp_path: Path) -> None:
    actions = "".join(
        f"action a{i} {{ when x == {i % 4} x := {(i + 1) % 4} }}\n" for i in range(5000)
    )
    spec = "state {\n  x: 0..3 = 0\n}\n" + actions
    code, doc = check_json(write(tmp_path, spec))
    assert (code, doc["states"], doc["transitions"]) == (0, 4, 4)
    assert sum(doc["coverage"].values()) == 5000


# ---- text layout


def test_crlf_line_endings_give_the_same_result(tmp_path: Path) -> None:
    spec = "state {\n  x: 0..3 = 0\n}\naction go {\n  x := y\n}\n"
    lf = invoke("check", write(tmp_path, spec, "lf.cap")).output
    crlf = invoke("check", write(tmp_path, spec.replace("\n", "\r\n"), "lf.cap")).output
    assert crlf == lf
    assert "5 |   x := y\n" in lf and "  |        ^\n" in lf


def test_unicode_line_separator_in_a_comment_keeps_line_numbers(tmp_path: Path) -> None:
    spec = "# caf\u00e9 \u2028 note\nstate {\n  x: 0..3 = z\n}\n"
    out = invoke("check", write(tmp_path, spec)).output
    assert ":3:13: error[unknown-name]: unknown name `z`" in out
    assert "3 |   x: 0..3 = z\n" in out


def test_tabs_keep_the_caret_under_the_token(tmp_path: Path) -> None:
    spec = "state {\n\tx:\t0..3 = 0\n}\naction go {\n\twhen\tx\t> y\n}\n"
    out = invoke("check", write(tmp_path, spec)).output
    assert ":5:11: error[unknown-name]: unknown name `y`" in out
    shown = "    when    x   > y"  # tab stops every 4 columns
    assert f"5 | {shown}\n" in out
    assert f"  | {' ' * shown.index('y')}^\n" in out


def test_unicode_names_get_a_hint(tmp_path: Path) -> None:
    code, doc = check_json(write(tmp_path, "state {\n  caf\u00e9: bool = false\n}\n"))
    assert code == 2
    (d,) = doc["diagnostics"]
    assert (d["line"], d["column"], d["message"]) == (2, 6, "unexpected character `\u00e9`")
    assert "ASCII" in d["help"]


# ---- edge-case domains


def test_singleton_domains(tmp_path: Path) -> None:
    spec = (
        "enum One { only }\nstate {\n  e: One = only\n  z: 0..0 = 0\n"
        "  a: array[0..0] of bool = any\n}\n"
        "action flip { a[0] := not a[0] }\ninvariant fixed: e == only and z == 0\n"
    )
    code, doc = check_json(write(tmp_path, spec))
    assert (code, doc["states"], doc["declared_space"]) == (0, 2, 2)


def test_state_block_with_nothing_in_it(tmp_path: Path) -> None:
    code, doc = check_json(write(tmp_path, "state {}\nreachable start: true\n"), "--no-deadlock")
    assert (code, doc["states"]) == (0, 1)


def test_no_initial_state_is_an_error_not_a_vacuous_pass(tmp_path: Path) -> None:
    spec = "state {\n  x: 0..3 = any\n}\ninit when x > 5\ninvariant small: x < 2\n"
    code, doc = check_json(write(tmp_path, spec))
    (d,) = doc["diagnostics"]
    assert (code, doc["verdict"], doc["states"]) == (2, "invalid", 0)
    assert (d["code"], d["line"], d["column"]) == ("empty-init", 4, 11)


def test_a_spec_without_variables(tmp_path: Path) -> None:
    path = write(tmp_path, "action tick {}\ninvariant t: true\n")
    out = invoke("check", path).output
    assert ": proved (1 state, 1 edge, depth 0," in out
    assert "(no variables)" in invoke("graph", "--format", "mermaid", path).output


# ---- --const


def test_negative_const_override(tmp_path: Path) -> None:
    spec = "const LOW = 0\nstate {\n  x: LOW..3 = 0\n}\ninvariant i: x >= LOW\n"
    code, doc = check_json(write(tmp_path, spec), "--no-deadlock", "--const", "LOW=-3")
    assert (code, doc["declared_space"]) == (0, 7)


@pytest.mark.parametrize("bad", ["N", "=3", "N=x", "N=1.5", "N=", "N=10**3"])
def test_malformed_const_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    result = invoke("check", "--const", bad, write(tmp_path, SMALL))
    assert result.exit_code == 2 and "is not NAME=INTEGER" in result.output


def test_const_that_names_nothing(tmp_path: Path) -> None:
    code, doc = check_json(write(tmp_path, "const LIMIT = 2\n" + SMALL), "--const", "LIMT=3")
    (d,) = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert (code, d["code"], d["line"]) == (2, "bad-const-override", 0)
    assert d["message"] == "`--const LIMT` names no constant of this spec"
    assert d["help"] == "did you mean `LIMIT`?"


# ---- the caret renderer


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (Span(1, 5, 1, 8), "1 | abc def\n  |     ^^^"),  # after a tab: tab stop at 4
        (Span(1, 1, 3, 2), "1 | abc def\n  | ^^^^^^^"),  # multi-line: to the end of line 1
        (Span(1, 8, 1, 8), "1 | abc def\n  |        ^"),  # at the end of a line: one caret
        (Span(2, 3, 2, 4), "2 | \u4e2d\u6587x\n  |     ^"),  # wide characters count two
        (Span(3, 1, 3, 2), "3 |\n  | ^"),  # an empty last line, e.g. end of file
    ],
)
def test_render_caret(span: Span, expected: str) -> None:
    source = "abc\tdef\n\u4e2d\u6587x\n"
    text = render(Diagnostic("syntax", "error", "m", span, None, "f.cap"), source)
    assert text.split("\n", 2)[2] == expected
