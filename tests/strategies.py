"""Hypothesis strategies for random, small, valid `.cap` specs (shared by engine and monitor tests).

A generated spec has a few variables of every kind (bool, small ranges, an enum, a small array,
a set of the enum), actions and events with and without a parameter, guards, updates that may
leave their range (to exercise domain violations), invariants, `reachable` goals and sometimes
a `final` predicate. Array indices are always the parameter or a constant inside the index
range, so no expression faults outside an update's range check.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

COLORS = ("red", "green", "blue")


@dataclass(frozen=True)
class _Vars:
    bools: tuple[str, ...]
    ints: tuple[tuple[str, int], ...]  # (name, hi): declared 0..hi
    color: bool  # a variable `c: Color`
    arr: bool  # a variable `a: array[0..1] of 0..2`
    bag: bool  # a variable `s: set of Color`


@st.composite
def _vars(draw: st.DrawFn) -> _Vars:
    nb = draw(st.integers(0, 2))
    ni = draw(st.integers(1 if nb == 0 else 0, 2))
    ints = tuple((f"n{i}", draw(st.integers(1, 3))) for i in range(ni))
    return _Vars(
        tuple(f"b{i}" for i in range(nb)),
        ints,
        draw(st.booleans()),
        draw(st.booleans()),
        draw(st.booleans()),
    )


def _int_atom(v: _Vars, param: bool) -> st.SearchStrategy[str]:
    options = [st.sampled_from([n for n, _ in v.ints])] if v.ints else []
    options.append(st.integers(0, 3).map(str))
    if param:
        options.append(st.just("p"))
    if v.arr:
        options.append(st.sampled_from(["a[0]", "a[1]"] + (["a[p]"] if param else [])))
    return st.one_of(*options)


def _int_expr(v: _Vars, param: bool) -> st.SearchStrategy[str]:
    atom = _int_atom(v, param)
    return st.one_of(
        atom,
        st.tuples(atom, st.sampled_from(["+", "-"]), atom).map(" ".join),
    )


def _bool_atom(v: _Vars, param: bool) -> st.SearchStrategy[str]:
    options: list[st.SearchStrategy[str]] = [
        st.tuples(
            _int_expr(v, param), st.sampled_from(["<", "<=", "==", "!=", ">"]), _int_expr(v, param)
        ).map(" ".join)
    ]
    if v.bools:
        options.append(st.sampled_from(list(v.bools) + [f"not {b}" for b in v.bools]))
    if v.color:
        options.append(st.sampled_from(COLORS).map(lambda m: f"c == {m}"))
    if v.bag:
        options.append(st.sampled_from(COLORS).map(lambda m: f"{m} in s"))
    return st.one_of(*options)


def _bool_expr(v: _Vars, param: bool) -> st.SearchStrategy[str]:
    atom = _bool_atom(v, param)
    return st.one_of(
        atom,
        st.tuples(atom, st.sampled_from(["and", "or"]), atom).map(lambda t: f"({' '.join(t)})"),
    )


def _targets(v: _Vars, param: bool) -> list[str]:
    out = list(v.bools) + [n for n, _ in v.ints]
    if v.color:
        out.append("c")
    if v.bag:
        out.append("s")
    if v.arr:
        out.append("a[p]" if param else "a[0]")
    return out


def _value(v: _Vars, target: str, param: bool) -> st.SearchStrategy[str]:
    if target in v.bools:
        return st.one_of(st.sampled_from(["true", "false", f"not {target}"]), _bool_atom(v, param))
    if target == "c":
        return st.sampled_from(COLORS)
    if target == "s":
        return st.sampled_from(COLORS).flatmap(
            lambda m: st.sampled_from([f"s + {{{m}}}", f"s - {{{m}}}", "{}"])
        )
    return st.one_of(st.sampled_from([f"{target} + 1", f"{target} - 1", "0"]), _int_expr(v, param))


@st.composite
def _transition(draw: st.DrawFn, v: _Vars, index: int) -> str:
    kind = draw(st.sampled_from(["action", "event"]))
    param = draw(st.booleans())
    head = f"{kind} t{index}(p: 0..1)" if param else f"{kind} t{index}"
    lines = [f"when {draw(_bool_expr(v, param))}" for _ in range(draw(st.integers(0, 2)))]
    targets = draw(
        st.lists(st.sampled_from(_targets(v, param)), min_size=1, max_size=2, unique=True)
    )
    lines += [f"{t} := {draw(_value(v, t, param))}" for t in targets]
    return head + " {\n" + "".join(f"  {ln}\n" for ln in lines) + "}\n"


def _declarations(v: _Vars) -> list[str]:
    lines = [f"  {b}: bool = false" for b in v.bools]
    lines += [f"  {n}: 0..{hi} = 0" for n, hi in v.ints]
    if v.color:
        lines.append("  c: Color = red")
    if v.arr:
        lines.append("  a: array[0..1] of 0..2 = 0")
    if v.bag:
        lines.append("  s: set of Color = {}")
    return lines


@st.composite
def cap_specs(draw: st.DrawFn) -> str:
    """The text of a small, valid spec (at most a few hundred declared states)."""
    v = draw(_vars())
    out = ["capability random_spec", f"enum Color {{ {', '.join(COLORS)} }}", "state {"]
    out += _declarations(v)
    out.append("}")
    for i in range(draw(st.integers(1, 3))):
        out.append(draw(_transition(v, i)))
    for i in range(draw(st.integers(0, 2))):
        out.append(f"invariant inv{i}: {draw(_bool_expr(v, False))}")
    for i in range(draw(st.integers(0, 1))):
        out.append(f"reachable goal{i}: {draw(_bool_expr(v, False))}")
    if draw(st.booleans()):
        out.append(f"final when {draw(_bool_atom(v, False))}")
    return "\n".join(out) + "\n"
