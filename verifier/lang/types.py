"""Type relations used by lowering: compatibility, joins, interval arithmetic, descriptions."""

from __future__ import annotations

from verifier import ir
from verifier.ir import wellformed as wf


def describe(t: ir.Type) -> str:
    match t:
        case ir.BoolType():
            return "a bool"
        case ir.IntType():
            return "an integer"
        case ir.EnumType():
            return f"a value of enum `{t.name}`"
        case ir.SetType():
            return f"a set of `{t.elem.name}`"
        case ir.ArrayType():
            return f"an array ({t})"
    return str(t)  # pragma: no cover


def mismatch_help(want: ir.Type, got: ir.Type) -> str | None:
    """A hint for using a value of type `got` where `want` is expected."""
    if isinstance(want, ir.BoolType) and isinstance(got, ir.IntType):
        return "compare it to get a bool, e.g. `x > 0`"
    if isinstance(want, ir.IntType) and isinstance(got, ir.BoolType):
        return "write `if c then 1 else 0` to turn a bool into a number"
    if isinstance(want, ir.BoolType) and isinstance(got, ir.EnumType):
        return f"compare it with a member, e.g. `== {got.members[0]}`"
    if isinstance(want, ir.BoolType) and isinstance(got, ir.SetType):
        return "test membership with `in`, or compare with `==` or `size(...)`"
    if isinstance(want, ir.EnumType):
        return f"the members of `{want.name}` are {', '.join(f'`{m}`' for m in want.members)}"
    if isinstance(want, ir.SetType):
        return f"write a set such as `{{{want.elem.members[0]}}}` or `{{}}`"
    return None


def same_kind(a: ir.Type, b: ir.Type) -> bool:
    """Whether a value of type `a` may be used where `b` is expected (ranges are checked later)."""
    return wf.same_kind(a, b)


# One definition of the typing rules: the artifact loader re-derives types with the same ones.
join_types = wf.join_types
arith_interval = wf.arith_interval
