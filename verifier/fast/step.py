"""Vectorised transition instances: guards and updates over a batch of packed states.

Rows where the vectorised code might disagree with the reference semantics (any row the
compiled code marks as raising `EvalError`) are recomputed one by one with
`verifier.semantics`, so results are exact by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from verifier import ir, semantics
from verifier.evaluate import EvalError
from verifier.fast.layout import Layout
from verifier.fast.vector import (
    Arr,
    Batch,
    Compiler,
    Err,
    Fn,
    Node,
    NotVectorisable,
    andm,
    as_fn,
    orr,
    truth,
)

Writer = Callable[[Batch, np.ndarray], tuple[Arr, Err]]


@dataclass
class Fired:
    """One instance over one batch: enabled rows, error rows and successors of valid rows."""

    enabled: np.ndarray  # bool[n]: guard true or raising (the reference "yields" the instance)
    valid: np.ndarray  # int64 row indices whose successor is a valid state
    succ: np.ndarray  # uint64 successors of `valid` rows
    errors: np.ndarray  # int64 row indices where the reference raises EvalError


class CompiledInstance:
    """One transition instance compiled for a packed layout."""

    def __init__(self, comp: Compiler, inst: semantics.Instance) -> None:
        self.inst = inst
        self.layout = comp.layout
        env = inst.env
        self.guards: list[Node] = [comp.expr(g.cond, env) for g in inst.transition.guards]
        self.writes = [_compile_update(comp, u, env) for u in inst.transition.updates]

    def guard(self, b: Batch) -> tuple[np.ndarray, Err]:
        ok: Arr = np.bool_(True)
        err: Err = None
        for g in self.guards:
            if isinstance(g, int):
                ok = np.logical_and(ok, bool(g))
                continue
            v, e = g(b)
            err = orr(err, andm(ok, e))
            ok = np.logical_and(ok, truth(v))
        return np.broadcast_to(ok, (b.n,)), err

    def fire(self, b: Batch) -> Fired:
        ok, gerr = self.guard(b)
        rows = np.flatnonzero(ok if gerr is None else ok & ~gerr)
        sub = Batch(b.layout, b.tables, b.words[rows])
        new, uerr = self.apply(sub)
        if uerr is not None and uerr.any():
            bad = rows[uerr]
            keep = ~uerr
            rows, new = rows[keep], new[keep]
        else:
            bad = np.zeros(0, dtype=np.int64)
        suspects = np.flatnonzero(gerr) if gerr is not None else np.zeros(0, dtype=np.int64)
        enabled = ok.copy()
        if len(suspects) or len(bad):
            return self._recheck(b, enabled, rows, new, np.concatenate([suspects, bad]))
        return Fired(enabled, rows, new, bad)

    def apply(self, sub: Batch) -> tuple[np.ndarray, Err]:
        new = sub.words.copy()
        err: Err = None
        written: list[Arr] = []
        for w in self.writes:
            slots, e = w(sub, new)
            err = orr(err, e)
            written.append(slots)
        return new, orr(err, _double_writes(written, sub.n))

    def _recheck(
        self, b: Batch, enabled: np.ndarray, rows: np.ndarray, new: np.ndarray, rows2: np.ndarray
    ) -> Fired:
        """Recompute suspect rows with the reference semantics."""
        lay = self.layout
        extra_rows, extra_new, errors = [], [], []
        for r in sorted(set(rows2.tolist())):
            state = lay.unpack(b.words[r])
            try:
                if not semantics.enabled(self.inst, state):
                    enabled[r] = False
                    continue
                enabled[r] = True
                nxt = semantics.apply(self.inst, state)
            except EvalError:
                enabled[r] = True
                errors.append(r)
                continue
            extra_rows.append(r)
            extra_new.append(lay.pack(nxt))
        all_rows = np.concatenate([rows, np.array(extra_rows, dtype=np.int64)])
        all_new = np.concatenate([new, np.array(extra_new, dtype=np.uint64)])
        order = np.argsort(all_rows, kind="stable")
        return Fired(enabled, all_rows[order], all_new[order], np.array(errors, dtype=np.int64))


def _double_writes(written: list[Arr], n: int) -> Err:
    err: Err = None
    for i in range(len(written)):
        for j in range(i):
            a, b = written[i], written[j]
            if isinstance(a, int) and isinstance(b, int):
                if a == b:
                    err = orr(err, np.ones(n, dtype=np.bool_))
                continue
            err = orr(err, np.broadcast_to(np.equal(a, b), (n,)))
    return err


def _compile_update(comp: Compiler, u: ir.Update, env: dict[str, int]) -> Writer:
    """A writer: (batch, new words) -> (slot written, errors); it updates `new` in place."""
    lay = comp.layout
    value = as_fn(comp.expr(u.value, env))
    t = u.type
    bounds = (t.lo, t.hi) if isinstance(t, ir.IntType) else None
    if u.indices:
        where = comp.slot_of(u, env)
        if where is None:
            return lambda b, new: (-1, np.ones(b.n, dtype=np.bool_))
    else:
        where = u.base
    if isinstance(where, int):
        k = where
        shift, mask, lo = np.uint64(lay.shifts[k]), np.uint64(lay.masks[k]), lay.lows[k]
        clear = np.uint64(~(lay.masks[k] << lay.shifts[k]) & 0xFFFF_FFFF_FFFF_FFFF)

        def write_static(b: Batch, new: np.ndarray) -> tuple[Arr, Err]:
            v, e = value(b)
            e = orr(e, _out_of_bounds(v, bounds, b.n))
            stored = (np.asarray(v, dtype=np.int64) - lo).astype(np.uint64) & mask
            np.bitwise_and(new, clear, out=new)
            np.bitwise_or(new, stored << shift, out=new)
            return k, e

        return write_static
    dyn: Fn = where

    def write_dynamic(b: Batch, new: np.ndarray) -> tuple[Arr, Err]:
        slots, se = dyn(b)
        v, e = value(b)
        e = orr(orr(se, e), _out_of_bounds(v, bounds, b.n))
        tab = b.tables
        shift, mask = tab.shifts[slots], tab.masks[slots]
        stored = (np.asarray(v, dtype=np.int64) - tab.lows[slots]).astype(np.uint64) & mask
        np.bitwise_and(new, ~(mask << shift), out=new)
        np.bitwise_or(new, stored << shift, out=new)
        return slots, e

    return write_dynamic


def _out_of_bounds(v: Arr, bounds: tuple[int, int] | None, n: int) -> Err:
    if bounds is None:
        return None
    bad = np.logical_or(np.less(v, bounds[0]), np.greater(v, bounds[1]))
    if not np.any(bad):
        return None
    return np.broadcast_to(bad, (n,))


def compile_instances(
    model: ir.Model, layout: Layout
) -> tuple[list[CompiledInstance], Compiler] | None:
    """Every instance compiled, or None if some construct cannot be vectorised."""
    comp = Compiler(model, layout)
    try:
        return [CompiledInstance(comp, i) for i in semantics.instances(model)], comp
    except NotVectorisable:
        return None
