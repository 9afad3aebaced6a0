"""Type relations used by lowering: compatibility, joins, interval arithmetic, descriptions."""

from __future__ import annotations

from verifier import ir


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


def same_kind(a: ir.Type, b: ir.Type) -> bool:
    """Whether a value of type `a` may be used where `b` is expected (ranges are checked later)."""
    if isinstance(a, ir.IntType) and isinstance(b, ir.IntType):
        return True
    return a == b


def join_types(a: ir.Type, b: ir.Type) -> ir.Type:
    if isinstance(a, ir.IntType) and isinstance(b, ir.IntType):
        return ir.IntType(min(a.lo, b.lo), max(a.hi, b.hi))
    return a


def arith_interval(op: str, a: ir.IntType, b: ir.IntType) -> ir.IntType:
    """The exact interval of `a op b` (the divisor of div/mod is known to be positive)."""
    if op == "add":
        return ir.IntType(a.lo + b.lo, a.hi + b.hi)
    if op == "sub":
        return ir.IntType(a.lo - b.hi, a.hi - b.lo)
    if op == "mul":
        products = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return ir.IntType(min(products), max(products))
    if op == "div":
        quotients = [x // y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return ir.IntType(min(quotients), max(quotients))
    if op == "mod":
        if a.lo >= 0 and a.hi < b.lo:
            return a
        return ir.IntType(0, b.hi - 1)
    raise ValueError(op)  # pragma: no cover
