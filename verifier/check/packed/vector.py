"""Compilation of IR expressions into NumPy closures over a batch of packed states.

A compiled expression is either a Python int (a constant, folded at compile time) or a
function `batch -> (values, errors)`. `values` is an int64 or bool array (or a scalar that
broadcasts); `errors` is None or a bool array marking the rows where the reference evaluator
would raise `EvalError`, honouring its short-circuit order exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from verifier import ir
from verifier.check.packed.layout import Layout

Arr = Any  # np.ndarray or a NumPy/Python scalar that broadcasts
Err = np.ndarray | None
Fn = Callable[["Batch"], tuple[Arr, Err]]
Node = int | Fn

SAFE = 1 << 62  # every integer interval must stay inside (-SAFE, SAFE): int64 never overflows


class NotVectorisable(Exception):
    """The model uses something this compiler does not handle; use the general engine."""


class Batch:
    """A batch of packed states with lazily decoded slot columns."""

    def __init__(self, layout: Layout, tables: Tables, words: np.ndarray) -> None:
        self.layout = layout
        self.tables = tables
        self.words = words
        self.n = len(words)
        self._cols: dict[int, np.ndarray] = {}

    def slot(self, k: int) -> np.ndarray:
        col = self._cols.get(k)
        if col is None:
            lay = self.layout
            src = self.words[:, lay.word_of(k)] if lay.wide else self.words
            raw = (src >> np.uint64(lay.shifts[k])) & np.uint64(lay.masks[k])
            col = raw.astype(np.int64)
            if lay.lows[k]:
                col += lay.lows[k]
            self._cols[k] = col
        return col

    def take(self, rows: np.ndarray) -> Batch:
        """The sub-batch of some rows (decoded columns are not carried over)."""
        return Batch(self.layout, self.tables, self.words[rows])

    def gather(self, slots: np.ndarray) -> np.ndarray:
        """Per-row read of slot `slots[i]` (slots already clipped into range)."""
        t = self.tables
        src = self.words
        if self.layout.wide:
            src = src[np.arange(self.n), t.words[slots]]
        raw = (src >> t.shifts[slots]) & t.masks[slots]
        return raw.astype(np.int64) + t.lows[slots]


class Tables:
    """Per-slot shift/mask/low lookup arrays for dynamic (state-dependent) slot access."""

    def __init__(self, layout: Layout) -> None:
        self.shifts = layout.shift_table()
        self.masks = layout.mask_table()
        self.lows = layout.low_table()
        self.words = layout.word_table()


def orr(a: Err, b: Err) -> Err:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def andm(cond: Arr, err: Err) -> Err:
    """Errors of a sub-expression that is evaluated only where `cond` holds."""
    if err is None:
        return None
    return np.logical_and(cond, err)


def truth(v: Arr) -> Arr:
    if isinstance(v, np.ndarray) and v.dtype != np.bool_:
        return v != 0
    return v if isinstance(v, np.ndarray) else np.bool_(bool(v))


def const_fn(value: int) -> Fn:
    return lambda b: (value, None)


def as_fn(node: Node) -> Fn:
    return const_fn(node) if isinstance(node, int) else node


def error_everywhere(b: Batch) -> tuple[Arr, Err]:
    return 0, np.ones(b.n, dtype=np.bool_)


def check_interval(t: ir.Type) -> None:
    if isinstance(t, ir.IntType) and not (t.lo > -SAFE and t.hi < SAFE):
        raise NotVectorisable("integer interval too wide for 64-bit arithmetic")


_ARITH: dict[str, Callable[[Arr, Arr], Arr]] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "union": np.bitwise_or,
    "inter": np.bitwise_and,
    "diff": lambda a, b: np.bitwise_and(a, np.invert(b)),
    "in": lambda a, b: np.bitwise_and(np.right_shift(b, a), 1),
}


class Compiler:
    """Compiles expressions of one model against its packed layout."""

    def __init__(self, model: ir.Model, layout: Layout) -> None:
        self.model = model
        self.layout = layout

    def expr(self, e: ir.Expr, env: Mapping[str, int]) -> Node:
        check_interval(e.type)
        match e:
            case ir.Lit(value=v):
                return v
            case ir.Var(slot=slot):
                return self.read_slot(slot)
            case ir.Local(name=name):
                return env[name]
            case ir.ArrayRead():
                return self.array_read(e, env)
            case ir.Unary():
                return self.unary(e, env)
            case ir.Binary():
                return self.binary(e, env)
            case ir.Ite():
                return self.ite(e, env)
            case ir.Call():
                return self.call(e, env)
            case ir.Quant():
                return self.quant(e, env)
        raise NotVectorisable(f"unknown expression {type(e).__name__}")

    def read_slot(self, slot: int) -> Node:
        if self.layout.bits[slot] == 0:
            return self.layout.lows[slot]
        return lambda b: (b.slot(slot), None)

    def slot_of(self, e: ir.ArrayRead | ir.Update, env: Mapping[str, int]) -> Node | None:
        """The flat slot of an array access: an int, a closure, or None if always out of range."""
        const = 0
        dyn: list[tuple[Fn, int, int, int]] = []
        for dim, stride, idx in zip(e.dims, e.strides, e.indices, strict=True):
            node = self.expr(idx, env)
            lo = dim.lo if isinstance(dim, ir.IntType) else 0
            if isinstance(node, int):
                off = node - lo
                if not 0 <= off < dim.size():
                    return None
                const += stride * off
            else:
                dyn.append((node, lo, dim.size(), stride))
        if not dyn:
            return e.base + const
        base = e.base + const
        return lambda b: _dynamic_slot(b, base, dyn)

    def array_read(self, e: ir.ArrayRead, env: Mapping[str, int]) -> Node:
        slot = self.slot_of(e, env)
        if slot is None:
            return error_everywhere
        if isinstance(slot, int):
            return self.read_slot(slot)
        where = slot

        def read(b: Batch) -> tuple[Arr, Err]:
            slots, err = where(b)
            return b.gather(slots), err

        return read

    def unary(self, e: ir.Unary, env: Mapping[str, int]) -> Node:
        a = self.expr(e.arg, env)
        if e.op == "not":
            op: Callable[[Arr], Arr] = np.logical_not
        elif e.op == "neg":
            op = np.negative
        elif e.op == "singleton":
            op = lambda v: np.left_shift(1, v)  # noqa: E731
        else:
            raise NotVectorisable(f"operator {e.op}")
        if isinstance(a, int):
            return int(op(a))
        fa = a
        return lambda b: _map1(fa(b), op)

    def binary(self, e: ir.Binary, env: Mapping[str, int]) -> Node:
        left = self.expr(e.left, env)
        right = self.expr(e.right, env)
        if e.op in ("and", "or", "implies"):
            return _logic(e.op, left, right)
        if e.op in ("div", "mod"):
            return _division(e.op, left, right)
        op = _ARITH.get(e.op)
        if op is None:
            raise NotVectorisable(f"operator {e.op}")
        if isinstance(left, int) and isinstance(right, int):
            return int(op(left, right))
        fl, fr = as_fn(left), as_fn(right)

        def run(b: Batch) -> tuple[Arr, Err]:
            lv, le = fl(b)
            rv, re = fr(b)
            return op(lv, rv), orr(le, re)

        return run

    def ite(self, e: ir.Ite, env: Mapping[str, int]) -> Node:
        cond = self.expr(e.cond, env)
        then = self.expr(e.then, env)
        orelse = self.expr(e.orelse, env)
        if isinstance(cond, int):
            return then if cond else orelse
        ft, fe = as_fn(then), as_fn(orelse)

        def run(b: Batch) -> tuple[Arr, Err]:
            cv, ce = cond(b)
            c = truth(cv)
            tv, te = ft(b)
            ev, ee = fe(b)
            err = orr(ce, orr(andm(c, te), andm(np.logical_not(c), ee)))
            return np.where(c, tv, ev), err

        return run

    def call(self, e: ir.Call, env: Mapping[str, int]) -> Node:
        args = [self.expr(a, env) for a in e.args]
        if e.func in ("min", "max"):
            red = np.minimum if e.func == "min" else np.maximum
            consts = [a for a in args if isinstance(a, int)]
            if len(consts) == len(args):
                return min(consts) if e.func == "min" else max(consts)
            fns = [as_fn(a) for a in args]
            return lambda b: _reduce(b, fns, red)
        if e.func in ("abs", "size"):
            op1: Callable[[Arr], Arr] = np.abs if e.func == "abs" else _popcount
            if isinstance(args[0], int):
                return int(op1(np.int64(args[0])))
            f0 = args[0]
            return lambda b: _map1(f0(b), op1)
        raise NotVectorisable(f"function {e.func}")

    def quant(self, e: ir.Quant, env: Mapping[str, int]) -> Node:
        bodies = []
        for v in e.domain.values():
            inner = dict(env)
            inner[e.var] = v
            bodies.append(self.expr(e.body, inner))
        if e.kind == "count":
            if all(isinstance(x, int) for x in bodies):
                return sum(1 for x in bodies if x)
            fns = [as_fn(x) for x in bodies]
            return lambda b: _count(b, fns)
        op = "and" if e.kind == "all" else "or"
        out: Node = 1 if e.kind == "all" else 0
        for body in bodies:
            out = _logic(op, out, body)
        return out


def _dynamic_slot(b: Batch, base: int, dyn: list[tuple[Fn, int, int, int]]) -> tuple[Arr, Err]:
    slot: Arr = base
    err: Err = None
    for fn, lo, size, stride in dyn:
        v, e = fn(b)
        off = v - lo
        bad = (off < 0) | (off >= size)
        err = orr(err, orr(e, bad))
        slot = slot + stride * np.clip(off, 0, size - 1)
    return np.broadcast_to(slot, (b.n,)), err


def _map1(pair: tuple[Arr, Err], op: Callable[[Arr], Arr]) -> tuple[Arr, Err]:
    return op(pair[0]), pair[1]


def _popcount(v: Arr) -> Arr:
    return np.bitwise_count(v).astype(np.int64)


def _reduce(b: Batch, fns: list[Fn], red: Callable[[Arr, Arr], Arr]) -> tuple[Arr, Err]:
    val, err = fns[0](b)
    for f in fns[1:]:
        v, e = f(b)
        val = red(val, v)
        err = orr(err, e)
    return val, err


def _count(b: Batch, fns: list[Fn]) -> tuple[Arr, Err]:
    total: Arr = 0
    err: Err = None
    for f in fns:
        v, e = f(b)
        total = total + truth(v).astype(np.int64) if isinstance(v, np.ndarray) else total + bool(v)
        err = orr(err, e)
    return total, err


def _logic(op: str, left: Node, right: Node) -> Node:
    """Short-circuit `and` / `or` / `implies`; the right side's errors count only when evaluated."""
    if isinstance(left, int):
        if left if op == "or" else not left:
            return 1 if op != "and" else 0
        if isinstance(right, int):
            return 1 if right else 0
        fr = right
        return lambda b: _map1(fr(b), truth)
    fl, fr2 = left, as_fn(right)

    def run(b: Batch) -> tuple[Arr, Err]:
        lv, le = fl(b)
        lb = truth(lv)
        rv, re = fr2(b)
        rb = truth(rv)
        if op == "and":
            return np.logical_and(lb, rb), orr(le, andm(lb, re))
        if op == "or":
            return np.logical_or(lb, rb), orr(le, andm(np.logical_not(lb), re))
        return np.logical_or(np.logical_not(lb), rb), orr(le, andm(lb, re))

    return run


def _division(op: str, left: Node, right: Node) -> Node:
    if isinstance(left, int) and isinstance(right, int) and right > 0:
        return left // right if op == "div" else left % right
    fl, fr = as_fn(left), as_fn(right)
    func = np.floor_divide if op == "div" else np.remainder

    def run(b: Batch) -> tuple[Arr, Err]:
        lv, le = fl(b)
        rv, re = fr(b)
        bad = np.less_equal(rv, 0)
        safe = np.where(bad, 1, rv)
        err = orr(orr(le, re), np.broadcast_to(bad, (b.n,)) if np.any(bad) else None)
        return func(lv, safe), err

    return run
