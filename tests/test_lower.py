# ruff: noqa: E501  (the table of cases reads best one case per line)
"""Lowering: every error path as data (snippet -> code, message, line:col), then the meaning
of the tricky constructs, checked on concrete states with the reference semantics."""

from __future__ import annotations

import pytest

from verifier import ir
from verifier.check.explicit import check_explicit
from verifier.ir import semantics as sem
from verifier.lang.frontend import load_text
from verifier.lang.scope import MAX_ENUMERATION

ENUMS = "enum Color { red, green, blue }\nenum Size { small, large }\n"
S = "state {\n  x: 0..3 = 0\n  b: bool = false\n  c: Color = red\n}\n"  # lines 1-5

# (id, spec, code, message substring, line, column[, consts])
ERRORS: list[tuple] = [
    # ---- unknown names, with did-you-mean, in every position
    ("type", ENUMS + "state { v: Colr = red }", "unknown-name", "unknown type `Colr`", 3, 12),
    ("name", S + "invariant i: xx > 0", "unknown-name", "unknown name `xx`", 6, 14),
    ("lvalue", S + "action a { xx := 1 }", "unknown-name", "unknown state variable `xx`", 6, 12),
    ("index base", S + "invariant i: bb[1]", "unknown-name", "unknown state variable `bb`", 6, 14),
    (
        "member",
        ENUMS + S + "invariant i: c == Color.rd",
        "unknown-name",
        "`rd` is not a member",
        8,
        19,
    ),
    (
        "enum",
        ENUMS + S + "invariant i: c == Colr.red",
        "unknown-name",
        "unknown enum `Colr`",
        8,
        19,
    ),
    ("function", S + "invariant i: mn(x, 1) > 0", "unknown-name", "unknown function `mn`", 6, 14),
    (
        "bare member",
        ENUMS + S + "invariant i: c == gren",
        "unknown-name",
        "unknown name `gren`",
        8,
        19,
    ),
    (
        "var as enum",
        ENUMS + S + "invariant i: c.red",
        "unknown-name",
        "`c` is a state variable, not an enum",
        8,
        14,
    ),
    (
        "const assigned",
        "const K = 1\n" + S + "action a { K := 2 }",
        "unknown-name",
        "`K` is a constant",
        7,
        12,
    ),
    (
        "param assigned",
        S + "action a(p: bool) { p := true }",
        "unknown-name",
        "`p` is a parameter",
        6,
        21,
    ),
    (
        "def param outside",
        "def f(n: 0..3) = n > 1\n" + S + "invariant i: n > 1",
        "unknown-name",
        "unknown name `n`",
        7,
        14,
    ),
    ("const order", "const A = B\nconst B = 1\n" + S, "unknown-name", "unknown name `B`", 1, 11),
    # ---- duplicates of every kind (one namespace)
    ("dup const", "const A = 1\nconst A = 2\n" + S, "duplicate", "`A` is declared twice", 2, 7),
    (
        "dup enum/type",
        ENUMS + "type Color = 0..1\n" + S,
        "duplicate",
        "`Color` is declared twice",
        3,
        6,
    ),
    ("dup def/var", "def x = 1\n" + S, "duplicate", "`x` is declared twice", 3, 3),
    (
        "dup var",
        "state { v: bool = true }\nstate { v: bool = true }",
        "duplicate",
        "`v` is declared twice",
        2,
        9,
    ),
    ("dup action/event", S + "action a {}\nevent a {}", "duplicate", "`a` is declared twice", 7, 7),
    (
        "dup property",
        S + "invariant p: b\nreachable p: b",
        "duplicate",
        "`p` is declared twice",
        7,
        11,
    ),
    (
        "dup member",
        "enum E { a, b, a }\n" + S,
        "duplicate",
        "enum member `a` is listed twice",
        1,
        16,
    ),
    (
        "dup parameter",
        S + "action a(p: bool, p: bool) {}",
        "duplicate",
        "parameter `p` is declared twice",
        6,
        19,
    ),
    (
        "dup final",
        S + "final when b\nfinal when x > 0",
        "duplicate",
        "`final when` is declared twice",
        7,
        1,
    ),
    ("builtin", "const size = 2\n" + S, "duplicate", "`size` is a built-in function", 1, 7),
    # ---- type mismatches of every operator
    (
        "and left",
        S + "invariant i: x and b",
        "type-mismatch",
        "`and`'s left side must be a bool",
        6,
        14,
    ),
    (
        "or right",
        S + "invariant i: b or x",
        "type-mismatch",
        "`or`'s right side must be a bool",
        6,
        19,
    ),
    ("implies", S + "invariant i: x implies b", "type-mismatch", "`implies`'s left side", 6, 14),
    (
        "not",
        S + "invariant i: not x",
        "type-mismatch",
        "the operand of `not` must be a bool",
        6,
        18,
    ),
    (
        "neg",
        S + "invariant i: -b < 0",
        "type-mismatch",
        "the operand of `-` must be an integer",
        6,
        15,
    ),
    (
        "plus",
        S + "invariant i: x + b > 0",
        "type-mismatch",
        "`+`'s right side must be an integer",
        6,
        18,
    ),
    ("minus enum", ENUMS + S + "invariant i: c - 1 > 0", "type-mismatch", "`-`'s left side", 8, 14),
    ("times", S + "invariant i: b * 2 > 0", "type-mismatch", "`*`'s left side", 6, 14),
    ("div", S + "invariant i: x / b > 0", "type-mismatch", "`/`'s right side", 6, 18),
    (
        "mod zero",
        S + "invariant i: x mod x > 0",
        "type-mismatch",
        "divisor of `mod` may be zero",
        6,
        20,
    ),
    ("div negative", S + "invariant i: x / (x - 5) > 0", "type-mismatch", "divisor of `/`", 6, 19),
    (
        "less enum and int",
        ENUMS + S + "invariant i: c < 2",
        "type-mismatch",
        "cannot order a value of enum `Color` and an integer",
        8,
        14,
    ),
    ("ge bool", S + "invariant i: x >= b", "type-mismatch", "`>=`'s right side", 6, 19),
    (
        "eq kinds",
        S + "invariant i: x == b",
        "type-mismatch",
        "cannot compare an integer with a bool",
        6,
        14,
    ),
    (
        "eq enums",
        ENUMS + S + "invariant i: c == Size.small",
        "type-mismatch",
        "cannot compare a value of enum `Color`",
        8,
        14,
    ),
    (
        "in non-set",
        S + "invariant i: x in x",
        "type-mismatch",
        "`in` needs a set on its right",
        6,
        19,
    ),
    (
        "in wrong member",
        ENUMS + "state { s: set of Color = {} }\ninvariant i: Size.small in s",
        "type-mismatch",
        "cannot be a member of a set of `Color`",
        4,
        14,
    ),
    (
        "in literal",
        S + "invariant i: x in {1, b}",
        "type-mismatch",
        "a bool cannot be in a set with an integer",
        6,
        23,
    ),
    (
        "set union",
        ENUMS
        + "state { s: set of Color = {}\n t: set of Size = {} }\ninvariant i: size(s + t) > 0",
        "type-mismatch",
        "`+` cannot combine a set of `Color` and a set of `Size`",
        5,
        19,
    ),
    (
        "set div",
        ENUMS + "state { s: set of Color = {} }\ninvariant i: size(s / s) > 0",
        "type-mismatch",
        "`/` cannot combine",
        4,
        19,
    ),
    (
        "set literal member",
        ENUMS + "state { s: set of Color = {red, small} }",
        "type-mismatch",
        "a value of enum `Size` cannot be in a set of `Color`",
        3,
        33,
    ),
    (
        "set literal unclear",
        S + "invariant i: {} == {}",
        "type-mismatch",
        "the type of this set is unclear",
        6,
        14,
    ),
    (
        "ite cond",
        S + "invariant i: (if x then b else b)",
        "type-mismatch",
        "an `if` condition must be a bool",
        6,
        18,
    ),
    (
        "ite branches",
        S + "invariant i: (if b then 1 else b) == 1",
        "type-mismatch",
        "the branches of `if` differ",
        6,
        15,
    ),
    (
        "quant body",
        S + "invariant i: all k in 0..2: k",
        "type-mismatch",
        "the body of `all` must be a bool",
        6,
        29,
    ),
    (
        "quant domain",
        ENUMS + "state { s: set of Color = {} }\ninvariant i: some k in set of Color: true",
        "type-mismatch",
        "`some` ranges over a range",
        4,
        24,
    ),
    (
        "count body",
        S + "invariant i: count(k in 0..2: k) > 0",
        "type-mismatch",
        "the body of `count`",
        6,
        31,
    ),
    (
        "min arity",
        S + "invariant i: min(x) > 0",
        "type-mismatch",
        "`min` takes two or more arguments, not 1",
        6,
        14,
    ),
    (
        "max arg",
        S + "invariant i: max(x, b) > 0",
        "type-mismatch",
        "an argument of `max` must be an integer",
        6,
        21,
    ),
    (
        "abs arity",
        S + "invariant i: abs(x, x) > 0",
        "type-mismatch",
        "`abs` takes one argument, not 2",
        6,
        14,
    ),
    ("size", S + "invariant i: size(x) > 0", "type-mismatch", "`size` takes one set", 6, 14),
    (
        "def arg",
        "def pos(n: 0..3) = n > 0\n" + S + "invariant i: pos(b)",
        "type-mismatch",
        "argument `n` of `pos` must be an integer",
        7,
        18,
    ),
    (
        "def arity",
        "def pos(n: 0..3) = n > 0\n" + S + "invariant i: pos(1, 2)",
        "type-mismatch",
        "`pos` takes 1 argument, not 2",
        7,
        14,
    ),
    (
        "def arity 0",
        "def t = true\n" + S + "invariant i: t(1)",
        "type-mismatch",
        "`t` takes 0 arguments, not 1",
        7,
        14,
    ),
    (
        "def recursion",
        "def f = g\ndef g = not f\n" + S + "invariant i: f",
        "type-mismatch",
        "`f` is defined in terms of itself",
        2,
        13,
    ),
    ("unused def", "def broken = x + zz\n" + S, "unknown-name", "unknown name `zz`", 1, 18),
    (
        "guard",
        S + "action a { when x\n b := true }",
        "type-mismatch",
        "a condition must be a bool",
        6,
        17,
    ),
    (
        "invariant",
        S + "invariant i: x",
        "type-mismatch",
        "a condition must be a bool, but it is an integer",
        6,
        14,
    ),
    (
        "init",
        ENUMS + S + "init when c",
        "type-mismatch",
        "a condition must be a bool, but it is a value of enum",
        8,
        11,
    ),
    (
        "approval",
        S + "action a { needs approval when x }",
        "type-mismatch",
        "a condition must be a bool",
        6,
        32,
    ),
    (
        "assign",
        S + "action a { b := x }",
        "type-mismatch",
        "the value must be a bool, but it is an integer",
        6,
        17,
    ),
    (
        "assign enum",
        ENUMS + S + "action a { c := small }",
        "type-mismatch",
        "the value must be a value of enum `Color`",
        8,
        17,
    ),
    (
        "index type",
        ENUMS + "state { a: array[Color] of bool = false }\ninvariant i: a[1]",
        "type-mismatch",
        "an index must be a value of enum `Color`",
        4,
        16,
    ),
    (
        "list in expr",
        S + "invariant i: [1] == x",
        "type-mismatch",
        "an array value cannot be compared with a single value",
        6,
        14,
    ),
    (
        "list length",
        "state { a: array[1..3] of bool = [true] }",
        "type-mismatch",
        "the list has 1 element but the array has 3",
        1,
        34,
    ),
    (
        "array unindexed",
        "state { a: array[1..3] of bool = false }\ninvariant i: a",
        "type-mismatch",
        "`a` is an array; index it",
        2,
        14,
    ),
    (
        "array whole assign of a short list",
        "state { a: array[1..3] of bool = false }\naction f { a := [true] }",
        "type-mismatch",
        "the list has 1 element but the array has 3",
        2,
        17,
    ),
    (
        "array more indices",
        "state { m: array[1..2] of array[bool] of bool = false }\ninvariant i: m[1]",
        "type-mismatch",
        "`m` needs more indices",
        2,
        14,
    ),
    (
        "too many indices",
        "state { a: array[1..2] of bool = false }\ninvariant i: a[1][2]",
        "type-mismatch",
        "`a` has no more dimensions to index",
        2,
        19,
    ),
    ("scalar indexed", S + "action f { x[1] := 2 }", "type-mismatch", "`x` is not an array", 6, 14),
    (
        "const indexed",
        "const K = 1\n" + S + "invariant i: K[1] > 0",
        "type-mismatch",
        "`K` is not an array",
        7,
        14,
    ),
    (
        "type as value",
        ENUMS + S + "invariant i: c == Color",
        "type-mismatch",
        "`Color` is a type, not a value",
        8,
        19,
    ),
    (
        "param of array",
        ENUMS + S + "action f(s: array[1..2] of bool) {}",
        "type-mismatch",
        "a parameter must be a bool, a range, an enum or a set, not `array",
        8,
        13,
    ),
    (
        "set of int",
        "state { s: set of 1..3 = {} }",
        "type-mismatch",
        "a set's elements must be an enum, not `1..3`",
        1,
        19,
    ),
    (
        "array index set",
        ENUMS + "state { a: array[set of Color] of bool = false }",
        "type-mismatch",
        "an array index must be a range, an enum or `bool`",
        3,
        18,
    ),
    (
        "const bool",
        "const T = true\n" + S,
        "type-mismatch",
        "a constant's value must be an integer",
        1,
        11,
    ),
    (
        "ambiguous member",
        "enum A { on, off }\nenum B { on, idle }\ndef d = on\n" + S + "invariant i: d == A.on",
        "type-mismatch",
        "`on` is a member of several enums",
        3,
        9,
    ),
    # ---- an event cannot need approval: nobody can refuse what already happened
    (
        "approval on event",
        S + "event e {\n  needs approval\n  x := 1\n}",
        "approval-on-event",
        "event `e` cannot need approval",
        7,
        3,
    ),
    (
        "approval when on event",
        S + "event e {\n  when x < 3\n  needs approval when b\n}",
        "approval-on-event",
        "event `e` cannot need approval",
        8,
        3,
    ),
    (
        "approval on event in if",
        S + "event e {\n  if b {\n    needs approval\n  }\n}",
        "approval-on-event",
        "event `e` cannot need approval",
        8,
        5,
    ),
    # ---- assigned twice
    (
        "twice",
        S + "action a {\n  x := 1\n  x := 2\n}",
        "assigned-twice",
        "`x` is assigned twice",
        8,
        3,
    ),
    (
        "twice in branch",
        S + "action a {\n  if b {\n    x := 1\n    x := 2\n  }\n}",
        "assigned-twice",
        "`x` is assigned twice",
        9,
        5,
    ),
    (
        "inside and outside if",
        S + "action a {\n  x := 1\n  if b { x := 2 }\n}",
        "assigned-twice",
        "`x` is assigned twice",
        8,
        10,
    ),
    (
        "twice in else",
        S + "action a {\n  if b { x := 1 } else { x := 2\n x := 3 }\n}",
        "assigned-twice",
        "`x` is assigned twice",
        8,
        2,
    ),
    (
        "element twice",
        "state { a: array[1..3] of bool = false }\naction f {\n  a[1] := true\n  a[1] := false\n}",
        "assigned-twice",
        "`a` is assigned twice",
        4,
        3,
    ),
    (
        "nested if twice",
        S + "action a {\n  if b { if x > 0 { x := 1 } }\n  x := 2\n}",
        "assigned-twice",
        "`x` is assigned twice",
        8,
        3,
    ),
    # ---- initial values, ranges, constants
    (
        "missing initial",
        "state {\n  v: 0..3\n}",
        "missing-initial",
        "`v` has no initial value",
        2,
        3,
    ),
    (
        "initial out of range",
        "state {\n  v: 0..3 = 4\n}",
        "out-of-range",
        "the initial value 4 is outside the range `0..3`",
        2,
        13,
    ),
    (
        "initial below range",
        "const LO = 2\nstate { v: LO..5 = 1 }",
        "out-of-range",
        "the initial value 1",
        2,
        20,
    ),
    (
        "list element out of range",
        "state { a: array[1..2] of 0..3 = [1, 9] }",
        "out-of-range",
        "the initial value 9",
        1,
        38,
    ),
    (
        "index out of range",
        "state { a: array[1..3] of bool = false }\ninvariant i: a[0]",
        "out-of-range",
        "index 0 is outside `a`'s index range `1..3`",
        2,
        16,
    ),
    (
        "lvalue index out of range",
        "state { a: array[1..3] of bool = false }\naction f { a[4] := true }",
        "out-of-range",
        "index 4 is outside",
        2,
        14,
    ),
    (
        "const index expr",
        "const N = 3\nstate { a: array[1..N] of bool = false }\ninvariant i: a[N + 1]",
        "out-of-range",
        "index 4",
        3,
        16,
    ),
    ("bad range", "state { v: 3..1 = 3 }", "bad-range", "the range `3..1` is empty", 1, 12),
    ("bad range type", "type T = 5..4\n" + S, "bad-range", "the range `5..4` is empty", 1, 10),
    (
        "bad range quant",
        S + "invariant i: all k in 2..1: true",
        "bad-range",
        "the range `2..1` is empty",
        6,
        23,
    ),
    (
        "state in bound",
        "state {\n  v: 0..3 = 0\n  w: 0..v = 0\n}",
        "not-constant",
        "a range bound must be a constant expression",
        3,
        9,
    ),
    (
        "param in bound",
        S + "action f(p: 0..3) { when all k in 0..p: x > k }",
        "not-constant",
        "a range bound must be a constant",
        6,
        38,
    ),
    (
        "state in const",
        S + "const K = x",
        "not-constant",
        "a constant's value must be a constant",
        6,
        11,
    ),
    (
        "state in initial",
        "state {\n  v: 0..3 = 0\n  w: 0..3 = v\n}",
        "not-constant",
        "an initial value must be a constant",
        3,
        13,
    ),
    (
        "const div zero",
        "const K = 4 / 0\n" + S,
        "type-mismatch",
        "the divisor of `/` may be zero",
        1,
        15,
    ),
    (
        "array too large",
        "state { a: array[0..4096] of bool = false }",
        "too-large",
        "array `a` has 4097 slots",
        1,
        9,
    ),
    (
        "quantifier too large",
        S + "invariant i: all k in 0..1000000: x < 4",
        "too-large",
        "`all` ranges over 1000001 values",
        6,
        23,
    ),
    (
        "count too large",
        "const N = 1000000000000000000000000000000\n"
        + S
        + "invariant i: count(k in 1..N: k > x) > 0",
        "too-large",
        "`count` ranges over",
        7,
        25,
    ),
    (
        "params too large",
        S + "action f(p: 0..999, q: 0..999, r: bool) {}",
        "too-large",
        "2000000 parameter combinations",
        6,
        8,
    ),
    # ---- --const overrides
    (
        "override unknown",
        "const LIMIT = 3\n" + S,
        "bad-const-override",
        "`--const LIMT` names no constant",
        0,
        0,
        {"LIMT": 1},
    ),
    (
        "override empty range",
        "const N = 3\nstate { v: 1..N = 1 }",
        "bad-range",
        "the range `1..0` is empty",
        2,
        12,
        {"N": 0},
    ),
    (
        "override out of range",
        "const N = 3\nstate { v: 0..N = 3 }",
        "out-of-range",
        "the initial value 3",
        2,
        19,
        {"N": 2},
    ),
    # ---- syntax (parser) through the same table
    ("assign with =", S + "action a { x = 1 }", "syntax", "unexpected `=`", 6, 14),
    ("keyword name", "state { init: bool = true }", "syntax", "unexpected `init`", 1, 9),
]

SUGGESTIONS = {
    "type": "did you mean `Color`?",
    "name": "did you mean `x`?",
    "lvalue": "did you mean `x`?",
    "index base": "did you mean `b`?",
    "member": "did you mean `red`?",
    "enum": "did you mean `Color`?",
    "function": "did you mean `min`?",
    "bare member": "did you mean `green`?",
    "override unknown": "did you mean `LIMIT`?",
    "ambiguous member": "write one of `A.on`, `B.on`",
    "def recursion": "definitions are inlined, so they cannot recurse: f -> g -> f",
    "approval on event": "an event reports what already happened, so the guard cannot escalate "
    "it; put the approval on the action that causes it, or model the decision as an event",
}

IMPLEMENTATION_WORDS = ("Token", "Tree", "IntType", "BoolType", "EnumType", "Poison", "Lit(")


def _case(row: tuple) -> tuple:
    name, spec, code, text, line, col = row[:6]
    consts = row[6] if len(row) > 6 else None
    return name, spec, code, text, line, col, consts


@pytest.mark.parametrize("row", ERRORS, ids=[r[0] for r in ERRORS])
def test_error(row: tuple) -> None:
    name, spec, code, text, line, col, consts = _case(row)
    loaded = load_text(spec, "t.cap", consts)
    assert loaded.model is None, f"{name}: expected an error"
    found = [d for d in loaded.diagnostics if d.code == code and text in d.message]
    assert found, [(d.code, d.message) for d in loaded.diagnostics]
    d = found[0]
    assert (d.span.line, d.span.column) == (line, col), d
    if name in SUGGESTIONS:
        assert d.help == SUGGESTIONS[name]
    for diag in loaded.diagnostics:
        assert diag.help, f"no hint for: {diag.message}"
        assert not diag.message[0].isupper() and not diag.message.endswith(".")
        assert not any(w in diag.message for w in IMPLEMENTATION_WORDS), diag.message
        assert diag.span.line == 0 or diag.span.column >= 1


def test_one_error_per_mistake() -> None:
    """A wrongly declared name is reported once, not again at every use."""
    spec = "state {\n  v: 3..1 = 3\n  w: Nope = 0\n}\naction f { v := v + 1 w := 1 }\n"
    loaded = load_text(spec)
    assert [(d.code, d.span.line) for d in loaded.diagnostics] == [
        ("bad-range", 2),
        ("unknown-name", 3),
    ]


@pytest.mark.parametrize(
    ("guard", "always"), [("1 < 2", "true"), ("p > 5", "false"), ("N == 3", "true")]
)
def test_constant_guard_warning(guard: str, always: str) -> None:
    spec = f"const N = 3\n{ENUMS}{S}action f(p: 0..3) {{\n  when {guard}\n  x := p\n}}\n"
    loaded = load_text(spec)
    assert loaded.model is not None
    (w,) = loaded.diagnostics
    assert (w.code, w.severity, w.span.line, w.span.column) == ("constant-guard", "warning", 10, 8)
    assert w.message == f"this guard of `f` is always {always}"


def test_guards_reading_parameters_are_not_constant() -> None:
    loaded = load_text(ENUMS + S + "action f(p: 0..3) { when p > 1  x := p }")
    assert loaded.model is not None and loaded.diagnostics == []


# ---- positive semantics


def model_of(spec: str, consts: dict[str, int] | None = None) -> ir.Model:
    loaded = load_text(spec, "t.cap", consts)
    assert loaded.model is not None, [d.message for d in loaded.diagnostics]
    return loaded.model


def state_of(model: ir.Model, **values: int | list[int]) -> tuple[int, ...]:
    """A state from variable values (arrays as flat lists); others take their initial value."""
    out = list(sem.initial_states(model)[0]) if model.vars else []
    for var in model.vars:
        if var.name in values:
            v = values[var.name]
            flat = v if isinstance(v, list) else [v]
            out[var.slot : var.slot + len(flat)] = flat
    return tuple(out)


def instance(model: ir.Model, name: str, *args: int) -> sem.Instance:
    return sem.Instance(model.transition(name), tuple(args))


def prop(model: ir.Model, name: str, state: tuple[int, ...]) -> bool:
    (p,) = [p for p in model.properties if p.name == name]
    return sem.holds(p, state)


IF_SPEC = """
state {
  level: 0..2 = 0
  mode: enum { low, high } = low
}
action adjust(up: bool) {
  if up {
    when level < 2
    needs approval when level == 1
    level := level + 1
    if level == 1 { mode := high }
  } else {
    when level > 0
    level := level - 1
    mode := low
  }
}
"""


def test_if_lowers_to_per_variable_conditionals_with_branch_guards() -> None:
    m = model_of(IF_SPEC)
    up, down = instance(m, "adjust", 1), instance(m, "adjust", 0)
    for level in range(3):
        s = state_of(m, level=level)
        assert sem.enabled(up, s) == (level < 2)  # `up implies level < 2`
        assert sem.enabled(down, s) == (level > 0)  # `not up implies level > 0`
    assert sem.apply(up, state_of(m, level=1)) == (2, 1)
    assert sem.apply(up, state_of(m, level=0)) == (1, 0)  # mode unchanged off its branch
    assert sem.apply(down, state_of(m, level=2, mode=1)) == (1, 0)
    (t,) = m.transitions
    assert {u.name for u in t.updates} == {"level", "mode"}
    assert all(isinstance(u.value, ir.Ite) for u in t.updates)


def test_needs_approval_inside_if_applies_on_its_branch_only() -> None:
    m = model_of(IF_SPEC)
    up, down = instance(m, "adjust", 1), instance(m, "adjust", 0)
    assert sem.needs_approval(up, state_of(m, level=1))
    assert not sem.needs_approval(up, state_of(m, level=0))
    assert not sem.needs_approval(down, state_of(m, level=1))


def test_nested_arrays_and_arrays_indexed_by_enums_and_bools() -> None:
    m = model_of(
        "enum Who { ann, bob }\nstate {\n  m: array[1..2] of array[bool] of 0..3 = [[0, 1], [2, 3]]\n"
        "  owner: array[Who] of bool = false\n}\n"
        "action put(i: 1..2, f: bool, w: Who) { m[i][f] := 3 - m[i][f]  owner[w] := f }\n"
        "invariant corner: m[2][true] == 3\n"
    )
    assert [s.label for s in m.slots] == [
        "m[1][0]", "m[1][1]", "m[2][0]", "m[2][1]", "owner[0]", "owner[1]",
    ]  # fmt: skip
    s0 = sem.initial_states(m)[0]
    assert s0 == (0, 1, 2, 3, 0, 0)
    assert prop(m, "corner", s0)
    s1 = sem.apply(instance(m, "put", 2, 1, 1), s0)
    assert s1 == (0, 1, 2, 0, 0, 1)
    assert not prop(m, "corner", s1)


def test_set_operations_membership_size_and_count() -> None:
    m = model_of(
        "enum L { a, b, c }\nstate {\n  s: set of L = {a, b}\n  t: set of L = {b, c}\n}\n"
        "invariant union: s + t == {a, b, c}\n"
        "invariant diff: s - t == {a}\n"
        "invariant inter: s * t == {b} and size(s * t) == 1\n"
        "invariant member: a in s and a not in t and c in s + t\n"
        "invariant counted: count(x in L: x in s) == 2 and count(x in L: x in s * t) == 1\n"
    )
    s0 = sem.initial_states(m)[0]
    assert s0 == (0b011, 0b110)
    assert all(sem.holds(p, s0) for p in m.properties)
    swapped = (0b110, 0b011)
    assert [sem.holds(p, swapped) for p in m.properties] == [True, False, True, False, True]


def test_quantifier_body_extends_to_the_right() -> None:
    m = model_of(
        "state {\n  flag: bool = false\n  a: array[1..2] of bool = false\n  done: bool = false\n}\n"
        "invariant q: flag and all i in 1..2: a[i] implies done\n"
        "invariant p: (all i in 1..2: a[i]) implies done\n"
    )
    # flag and (all i: (a[i] implies done)): true when flag, no a[i] set, done false
    s = state_of(m, flag=1, a=[0, 0], done=0)
    assert prop(m, "q", s) and prop(m, "p", s)
    s = state_of(m, flag=1, a=[1, 0], done=0)
    assert not prop(m, "q", s) and prop(m, "p", s)
    s = state_of(m, flag=0, a=[1, 1], done=1)
    assert not prop(m, "q", s) and prop(m, "p", s)


def test_in_a_literal_set_of_integers_and_of_enum_values() -> None:
    m = model_of(
        "state {\n  x: 0..3 = 0\n  mode: enum { idle, busy, done } = idle\n}\n"
        "invariant small: x in {1, 2}\ninvariant settled: mode in {idle, done}\n"
        "invariant none: not (x in {})\n"
    )
    got = [(x, prop(m, "small", state_of(m, x=x))) for x in range(4)]
    assert got == [(0, False), (1, True), (2, True), (3, False)]
    assert [prop(m, "settled", state_of(m, mode=k)) for k in range(3)] == [True, False, True]
    assert prop(m, "none", state_of(m, x=1))


def test_floor_division_and_mod_and_their_intervals() -> None:
    m = model_of(
        "state {\n  q: -4..3 = 0\n  r: 0..1 = 0\n}\n"
        "action divide(a: -7..7) { q := a / 2  r := a mod 2 }\n"
    )
    (t,) = m.transitions
    q, r = t.updates
    assert q.value.type == ir.IntType(-4, 3) and r.value.type == ir.IntType(0, 1)
    s0 = sem.initial_states(m)[0]
    assert sem.apply(instance(m, "divide", -7), s0) == (-4, 1)
    assert sem.apply(instance(m, "divide", 7), s0) == (3, 1)
    assert sem.apply(instance(m, "divide", -2), s0) == (-1, 0)
    result = check_explicit(m, deadlock=False)
    assert (result.verdict, result.states) == ("proved", 15)  # a == 2 * q + r: 15 pairs


@pytest.mark.parametrize(
    ("expr", "interval"),
    [
        ("min(x, y)", (0, 3)),
        ("max(x, y)", (2, 5)),
        ("min(x, y, z)", (-5, -2)),
        ("max(x, z)", (0, 5)),
        ("abs(z)", (2, 5)),
        ("abs(w)", (0, 3)),
        ("abs(y)", (2, 3)),
        ("x * z", (-25, 0)),
        ("z - x", (-10, -2)),
        ("-w", (-2, 3)),
        ("count(i in 1..4: i > x)", (0, 4)),
    ],
)
def test_integer_intervals(expr: str, interval: tuple[int, int]) -> None:
    m = model_of(
        "state {\n  x: 0..5 = 0\n  y: 2..3 = 2\n  z: -5..-2 = -2\n  w: -3..2 = 0\n}\n"
        f"def e = {expr}\ninvariant i: e == e\n"
    )
    (p,) = m.properties
    assert isinstance(p.cond, ir.Binary)
    assert p.cond.left.type == ir.IntType(*interval)


def test_min_max_abs_values() -> None:
    m = model_of(
        "state {\n  x: 0..5 = 4\n  w: -3..2 = -3\n}\n"
        "invariant i: min(x, 2) == 2 and max(x, 2) == 4 and abs(w) == 3 and abs(x) == 4\n"
    )
    assert prop(m, "i", sem.initial_states(m)[0])


def test_simultaneous_assignment_swaps() -> None:
    m = model_of(
        "state {\n  x: 0..3 = 1\n  y: 0..3 = 2\n}\naction swap {\n  x := y\n  y := x\n}\n"
        "invariant different: x != y\n"
    )
    s0 = sem.initial_states(m)[0]
    assert sem.apply(instance(m, "swap"), s0) == (2, 1)
    result = check_explicit(m)
    assert (result.verdict, result.states, result.transitions) == ("proved", 2, 2)


def test_both_branches_may_assign_the_same_variable() -> None:
    m = model_of(ENUMS + S + "action a {\n  if b { x := 1 } else { x := 2 }\n}\n")
    s = state_of(m, b=1)
    assert sem.apply(instance(m, "a"), s)[0] == 1
    assert sem.apply(instance(m, "a"), state_of(m, b=0))[0] == 2


def test_distinct_array_elements_in_one_transition() -> None:
    m = model_of(
        "state { a: array[1..3] of 0..1 = 0 }\naction set2(i: 1..3, j: 1..3) { a[i] := 1  a[j] := 1 }\n"
    )
    s0 = sem.initial_states(m)[0]
    assert sem.apply(instance(m, "set2", 1, 3), s0) == (1, 0, 1)
    result = check_explicit(m)
    domain = next(p for p in result.properties if p.kind == "domain")
    assert domain.verdict == "violated" and "two assignments write `a[1]`" in (domain.message or "")


def test_ambiguous_members_resolved_by_context() -> None:
    m = model_of(
        "enum Door { open, closed }\nenum Ticket { open, resolved }\n"
        "state {\n  d: Door = closed\n  t: Ticket = open\n  seen: set of Door = {open}\n}\n"
        "action act { when d == closed and t == open\n d := open\n t := resolved }\n"
        "invariant i: (if d == open then t == resolved else t == open) and open in seen\n"
    )
    s0 = sem.initial_states(m)[0]
    assert s0 == (1, 0, 0b01)
    s1 = sem.apply(instance(m, "act"), s0)
    assert s1 == (0, 1, 0b01)
    assert prop(m, "i", s0) and prop(m, "i", s1)


def test_const_overrides_scale_the_model() -> None:
    spec = "const N = 2\nstate { x: 0..N = 0 }\naction up { when x < N  x := x + 1 }\nfinal when x == N\n"
    assert check_explicit(model_of(spec)).states == 3
    assert check_explicit(model_of(spec, {"N": 9})).states == 10
    assert check_explicit(model_of(spec.replace("0..N", "-N..N"), {"N": 0})).states == 1


def test_parameter_cap_is_the_documented_one() -> None:
    assert MAX_ENUMERATION == 1_000_000


def test_lowering_reports_all_errors_sorted() -> None:
    loaded = load_text(ENUMS + S + "invariant p1: zz\ninvariant p2: x and 1\naction f { q := 1 }\n")
    assert [(d.span.line, d.code) for d in loaded.diagnostics] == [
        (8, "unknown-name"),
        (9, "type-mismatch"),
        (10, "unknown-name"),
    ]


def test_named_types_defs_with_arguments_and_constant_quantifiers() -> None:
    m = model_of(
        "type Slot = 1..2\nenum Color { red, blue }\n"
        "const BIG = count(i in 0..3: i > 1)\n"
        "def over(k: Slot, c: Color) = k > 1 and c == blue\n"
        "state {\n  a: array[Slot] of bool = false\n  s: set of Color = {}\n  c: Color = red\n}\n"
        "action mark(k: Slot, col: Color) {\n"
        "  needs approval when over(k, col)\n  needs approval when blue == c\n"
        "  if k == 1 { a[1] := true }\n  s := s + {col}\n}\n"
        "invariant spread:\n  size(s) <= BIG\n  and red == red\n"
    )
    assert dict(m.consts) == {"BIG": 2}
    (p,) = m.properties
    assert p.text == "size(s) <= BIG and red == red"  # a multi-line condition, joined
    s0 = sem.initial_states(m)[0]
    mark = {(k, c): instance(m, "mark", k, c) for k in (1, 2) for c in (0, 1)}
    assert [sem.needs_approval(mark[k, c], s0) for k in (1, 2) for c in (0, 1)] == [
        False, False, False, True,
    ]  # fmt: skip
    assert sem.needs_approval(mark[1, 0], state_of(m, c=1))  # the second approval, or-ed
    assert sem.apply(mark[1, 1], s0) == (1, 0, 0b10, 0)
    assert sem.apply(mark[2, 0], s0) == (0, 0, 0b01, 0)  # a[1] kept off its branch
    result = check_explicit(m)
    assert (result.verdict, result.states) == ("proved", 7)  # a[1] set means s is not empty


def test_broken_array_is_reported_once() -> None:
    loaded = load_text("state {\n  a: array[3..1] of bool = false\n}\ninvariant i: a[1]\n")
    assert [(d.code, d.span.line) for d in loaded.diagnostics] == [("bad-range", 2)]


def test_element_writes_in_both_branches_do_not_collide() -> None:
    """`if c { a[i] := 1 } else { a[j] := 2 }` with i == j writes one element once."""
    m = model_of(
        "state {\n  a: array[1..2] of 0..3 = 0\n  flag: bool = false\n}\n"
        "action f(i: 1..2, j: 1..2) {\n  if flag { a[i] := 1 } else { a[j] := 2 }\n"
        "  flag := not flag\n}\n"
    )
    s0 = sem.initial_states(m)[0]
    assert sem.apply(instance(m, "f", 1, 1), s0) == (2, 0, 1)
    assert sem.apply(instance(m, "f", 2, 1), state_of(m, flag=1)) == (0, 1, 0)
    result = check_explicit(m)
    assert (result.verdict, result.states, result.transitions) == ("proved", 11, 22)
