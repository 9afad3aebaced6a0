"""Whole arrays: assignment and comparison of array values, lowered element by element.

An array value is an array state variable (or a partly indexed one), a list `[a, b, c]`, a
comprehension `[for i in T: e]`, an `if c then x else y` of array values, or a scalar that
stands for every element. Each element is lowered on its own with constant indices, so the
IR, the engines and the guard see only scalar reads and writes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from verifier import ir
from verifier.diagnostics import Span
from verifier.lang import syntax as s
from verifier.lang.scope import Context, Poison, Scope, layout

Path = tuple[int, ...]  # one index value per dimension


def paths(t: ir.Type) -> Iterator[Path]:
    """Every element position of an array type, in row-major order."""
    dims: list[ir.IndexType] = []
    while isinstance(t, ir.ArrayType):
        dims.append(t.index)
        t = t.elem
    yield from itertools.product(*(d.values() for d in dims))


def index_lit(t: ir.IndexType, value: int, span: Span) -> ir.Lit:
    """The constant index `value` of index type `t`."""
    return ir.Lit(value, ir.IntType(value, value) if isinstance(t, ir.IntType) else t, span)


def scalar_of(t: ir.Type) -> ir.Type:
    while isinstance(t, ir.ArrayType):
        t = t.elem
    return t


def array_type(lw: Context, e: s.Expr, scope: Scope) -> ir.ArrayType | None:
    """The array type of `e` when it is an array variable indexed in fewer than all its
    dimensions, else None (lists and comprehensions take their type from the other side)."""
    depth = 0
    base = e
    while isinstance(base, s.Index):
        base, depth = base.base, depth + 1
    if not isinstance(base, s.Name) or base.name in scope.names or base.name not in lw.vars:
        return None
    t: ir.Type = lw.vars[base.name].type
    for _ in range(depth):
        if not isinstance(t, ir.ArrayType):
            return None
        t = t.elem
    return t if isinstance(t, ir.ArrayType) else None


def is_array_valued(lw: Context, e: s.Expr, scope: Scope) -> bool:
    return isinstance(e, s.ListLit | s.ArrayComp) or array_type(lw, e, scope) is not None


def element(lw: Context, e: s.Expr, t: ir.Type, path: Path, scope: Scope) -> ir.Expr:
    """The element at `path` of the array value `e` of type `t` (Poison once reported)."""
    if not path or not isinstance(t, ir.ArrayType):
        return _scalar(lw, e, t, scope)
    value, rest = path[0], path[1:]
    match e:
        case s.ArrayComp():
            domain = lw.lower_type(e.domain, scope=scope)
            if domain is None:
                raise Poison
            if domain != t.index:
                _fail(
                    lw,
                    f"the comprehension ranges over `{domain}`, the array over `{t.index}`",
                    e.domain.span,
                    f"write `[for {e.var.name} in {t.index}: ...]`",
                )
            bound = scope.bind(e.var.name, index_lit(t.index, value, e.var.span))
            return element(lw, e.body, t.elem, rest, bound)
        case s.ListLit():
            if len(e.elems) != t.length:
                _fail(
                    lw,
                    f"the list has {_elements(len(e.elems))} but the array has {t.length}",
                    e.span,
                    f"give one value per element ({t.length})",
                )
            return element(lw, e.elems[ir.index_offset(t.index, value)], t.elem, rest, scope)
        case s.Ite():
            cond = lw.expr(e.cond, scope, expected=ir.BOOL)
            then = element(lw, e.then, t, path, scope)
            orelse = element(lw, e.orelse, t, path, scope)
            return ir.Ite(cond, then, orelse, then.type, e.span)
    if array_type(lw, e, scope) is not None:
        return _read(lw, e, path, scope)
    return _scalar(lw, e, scalar_of(t), scope)  # one value for every element


def _read(lw: Context, e: s.Expr, path: Path, scope: Scope) -> ir.Expr:
    exprs: list[s.Expr] = []
    base = e
    while isinstance(base, s.Index):
        exprs.append(base.index)
        base = base.base
    assert isinstance(base, s.Name)
    var = lw.vars[base.name]
    given = lw.indices(var, tuple(reversed(exprs)), scope, e.span)
    if given is None:
        raise Poison
    t: ir.Type = var.type
    for _ in given:
        assert isinstance(t, ir.ArrayType)
        t = t.elem
    consts: list[ir.Expr] = []
    for value in path:
        assert isinstance(t, ir.ArrayType)
        consts.append(index_lit(t.index, value, e.span))
        t = t.elem
    indices = (*given, *consts)
    dims, strides = layout(var.type, len(indices))
    assert not isinstance(t, ir.ArrayType)
    return ir.ArrayRead(var.name, var.slot, dims, strides, indices, t, e.span)


def _scalar(lw: Context, e: s.Expr, t: ir.Type, scope: Scope) -> ir.Expr:
    if isinstance(e, s.ListLit | s.ArrayComp) or array_type(lw, e, scope) is not None:
        _fail(
            lw,
            "an array value where a single value is expected",
            e.span,
            "the arrays on both sides must have the same dimensions",
        )
    value = lw.expr(e, scope, expected=t)
    if not lw.compatible(value, t, e.span):
        raise Poison
    return value


def _elements(n: int) -> str:
    return f"{n} element{'s' if n != 1 else ''}"


def _fail(lw: Context, message: str, span: Span, help: str) -> None:
    lw.sink.error("type-mismatch", message, span, help)
    raise Poison


def compare(lw: Context, e: s.Binary, scope: Scope) -> ir.Expr:
    """`a == b` / `a != b` on arrays: every element equal (or not)."""
    t = array_type(lw, e.left, scope) or array_type(lw, e.right, scope)
    if t is None and not (
        is_array_valued(lw, e.left, scope) and is_array_valued(lw, e.right, scope)
    ):
        _fail(
            lw,
            "an array value cannot be compared with a single value",
            e.span,
            "compare arrays with arrays of the same type: `a == [...]` for an array `a`",
        )
    if t is None:
        _fail(
            lw,
            "the type of these arrays is unclear",
            e.span,
            "compare with an array state variable, e.g. `a == [for i in I: false]`",
        )
    assert t is not None
    other = array_type(lw, e.right if array_type(lw, e.left, scope) else e.left, scope)
    if other is not None and other != t:
        _fail(
            lw,
            f"cannot compare `{t}` with `{other}`",
            e.span,
            "arrays compare element by element and must have the same type",
        )
    out: ir.Expr | None = None
    for path in paths(t):
        left = element(lw, e.left, t, path, scope)
        right = element(lw, e.right, t, path, scope)
        eq = ir.Binary("eq", left, right, ir.BOOL, e.span)
        out = eq if out is None else ir.Binary("and", out, eq, ir.BOOL, e.span)
    assert out is not None
    return out if e.op == "==" else ir.Unary("not", out, ir.BOOL, e.span)
