"""Bad input never yields a traceback: any text gives a model or located diagnostics."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier.lang.frontend import load_text

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [p.read_text() for p in sorted(ROOT.glob("models/**/*.cap"))] + [
    p.read_text() for p in sorted(ROOT.glob("examples/violations/*.cap"))
]
TOKENS = [
    "state",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    ":=",
    "=",
    "==",
    "when",
    "action",
    "event",
    "x",
    "y",
    "0..3",
    "1",
    "-",
    "+",
    "*",
    "/",
    "mod",
    "and",
    "or",
    "not",
    "if",
    "then",
    "else",
    "all",
    "in",
    "count",
    "bool",
    "enum",
    "set",
    "of",
    "array",
    "invariant",
    "reachable",
    "final",
    "needs",
    "approval",
    ",",
    "\n",
    " ",
    '"s"',
    "#c\n",
    "true",
    "false",
    "any",
    "init",
    "def",
]


def assert_front_end_total(text: str) -> None:
    loaded = load_text(text, "fuzz.cap")
    if loaded.model is None:
        assert loaded.diagnostics, "a failed load must explain itself"
        for d in loaded.diagnostics:
            assert d.message and d.code
            assert d.span.line >= 0 and d.span.column >= 0
            assert "Token(" not in d.message and "Tree(" not in d.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    assert_front_end_total(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_token_soup(tokens: list[str]) -> None:
    assert_front_end_total(" ".join(tokens))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 12), st.sampled_from(["", *TOKENS])),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_specs(seed: str, edits: list[tuple[float, int, str]]) -> None:
    """Real specs with spans deleted or replaced by tokens: the realistic typo."""
    text = seed
    for where, length, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + length :]
    assert_front_end_total(text)


def test_deep_parentheses_are_fine() -> None:
    text = "state { x: bool = true }\ninvariant i: " + "(" * 5000 + "x" + ")" * 5000
    loaded = load_text(text)
    assert loaded.model is not None
    assert loaded.model.properties[0].text == "x"


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    text = "state { x: bool = true }\ninvariant i: " + "not " * 20000 + "x"
    loaded = load_text(text, "deep.cap")
    assert loaded.model is None
    (diag,) = loaded.diagnostics
    assert diag.message == "this declaration nests too deeply to process"
    assert (diag.span.line, diag.span.column) == (2, 1)  # the invariant, not the file's start
