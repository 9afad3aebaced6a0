"""The bit-vector width that represents every integer a model computes, exactly."""

from __future__ import annotations

from collections.abc import Iterator

from verifier import ir


def _exprs(model: ir.Model) -> Iterator[ir.Expr]:
    yield from model.init
    if model.final is not None:
        yield model.final
    yield from (p.cond for p in model.properties)
    for t in model.transitions:
        yield from (g.cond for g in t.guards)
        if t.approval is not None:
            yield t.approval
        for u in t.updates:
            yield u.value
            yield from u.indices


_children = ir.children


def _bounds(model: ir.Model) -> Iterator[int]:
    yield len(model.slots) + len(model.transitions)
    for s in model.slots:
        if isinstance(s.type, ir.IntType):
            yield from (s.type.lo, s.type.hi)
        yield s.type.size()
    for t in model.transitions:
        for p in t.params:
            yield p.type.size()  # a set-typed parameter is a bit mask below 2^members
    todo = list(_exprs(model))
    while todo:
        e = todo.pop()
        if isinstance(e.type, ir.IntType):
            yield from (e.type.lo, e.type.hi)
        if isinstance(e, ir.Quant | ir.Local) and isinstance(e.type, ir.IntType):
            yield from (e.type.lo, e.type.hi)
        if isinstance(e, ir.Quant) and isinstance(e.domain, ir.IntType):
            yield from (e.domain.lo, e.domain.hi)
        todo.extend(_children(e))


def bit_width(model: ir.Model) -> int:
    """Signed width with headroom: sums of two in-range values and offsets never overflow."""
    biggest = max((abs(b) for b in _bounds(model)), default=1)
    return max(4, (2 * biggest + 1).bit_length() + 2)
