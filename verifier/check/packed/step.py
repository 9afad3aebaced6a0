"""Vectorised transition instances: guards and updates over a batch of packed states.

Rows where the vectorised code might disagree with the reference semantics (any row the
compiled code marks as raising `EvalError`) are recomputed one by one with
`verifier.ir.semantics`, so results are exact by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from verifier import ir
from verifier.check.packed.layout import Layout
from verifier.check.packed.vector import (
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
from verifier.ir import semantics
from verifier.ir.evaluate import EvalError

Writer = Callable[[Batch, np.ndarray], tuple[Arr, Err]]


@dataclass
class Fired:
    """One instance over one batch: enabled rows, error rows and successors of valid rows."""

    enabled: np.ndarray  # int64 rows where the guard holds or faults (the reference yields)
    valid: np.ndarray  # int64 rows whose successor is a valid state (ascending)
    succ: np.ndarray  # uint64 successors of `valid` rows
    errors: np.ndarray  # int64 rows where the reference raises EvalError


NO_ROWS = np.zeros(0, dtype=np.int64)


class CompiledInstance:
    """One transition instance compiled for a packed layout.

    Leading guard conjuncts of the form `slot == constant` (before anything that can fault)
    become one mask test on the packed words; the other conjuncts run only on rows that pass.
    """

    def __init__(self, comp: Compiler, inst: semantics.Instance) -> None:
        self.inst = inst
        self.layout = comp.layout
        env = inst.env
        conjuncts = [c for g in inst.transition.guards for c in _conjuncts(g.cond)]
        self.tests, self.never, rest = _split_guard(comp, conjuncts, env)
        self.guards: list[Node] = [comp.expr(c, env) for c in rest]
        self.writes = [_compile_update(comp, u, env) for u in inst.transition.updates]

    def guard(self, b: Batch) -> tuple[Arr, Err]:
        ok: Arr = np.bool_(True)
        err: Err = None
        for g in self.guards:
            if isinstance(g, int):
                ok = np.logical_and(ok, bool(g))
                continue
            v, e = g(b)
            err = orr(err, andm(ok, e))
            ok = np.logical_and(ok, truth(v))
        return ok, err

    def candidates(self, b: Batch) -> tuple[np.ndarray | None, Batch]:
        """Rows passing the mask test (None: every row) and the batch of those rows."""
        if not self.tests:
            return None, b
        if not self.layout.wide:
            ((mask, want),) = self.tests.values()
            rows = np.flatnonzero((b.words & mask) == want)
            return rows, b.take(rows)
        ok = np.ones(b.n, dtype=np.bool_)
        for word, (mask, want) in self.tests.items():
            ok &= (b.words[:, word] & mask) == want
        rows = np.flatnonzero(ok)
        return rows, b.take(rows)

    def fire(self, b: Batch) -> Fired:
        if self.never:
            return Fired(NO_ROWS, NO_ROWS, self.layout.empty(), NO_ROWS)
        rows, sub = self.candidates(b)
        ok, gerr = self.guard(sub)
        base = rows if rows is not None else np.arange(b.n)
        good = ok if gerr is None else np.logical_and(ok, ~gerr)
        if isinstance(good, np.ndarray):
            pick = np.flatnonzero(good)
            sel, sub = base[pick], sub.take(pick)
        else:
            sel = base if good else NO_ROWS
            sub = sub if good else sub.take(NO_ROWS)
        new, uerr = self.apply(sub)
        bad = NO_ROWS
        if uerr is not None and uerr.any():
            bad, sel, new = sel[uerr], sel[~uerr], new[~uerr]
        suspects = base[gerr] if gerr is not None else NO_ROWS
        if len(suspects) or len(bad):
            enabled = np.setdiff1d(np.union1d(sel, bad), suspects)
            return self._recheck(b, enabled, sel, new, np.union1d(suspects, bad))
        return Fired(sel, sel, new, NO_ROWS)

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
        self, b: Batch, enabled: np.ndarray, rows: np.ndarray, new: np.ndarray, suspects: np.ndarray
    ) -> Fired:
        """Recompute suspect rows with the reference semantics."""
        lay = self.layout
        on, extra_rows, extra_new, errors = [], [], [], []
        for r in suspects.tolist():
            state = lay.unpack(b.words[r])
            try:
                if not semantics.enabled(self.inst, state):
                    continue
                on.append(r)
                nxt = semantics.apply(self.inst, state)
            except EvalError:
                errors.append(r)
                continue
            extra_rows.append(r)
            extra_new.append(lay.pack(nxt))
        all_rows = np.concatenate([rows, np.array(extra_rows, dtype=np.int64)])
        all_new = np.concatenate([new, lay.array(extra_new)])
        order = np.argsort(all_rows, kind="stable")
        en = np.union1d(enabled, np.array(on + errors, dtype=np.int64))
        return Fired(en, all_rows[order], all_new[order], np.array(errors, dtype=np.int64))


def _conjuncts(e: ir.Expr) -> list[ir.Expr]:
    """`a and b and c` as [a, b, c], in evaluation (short-circuit) order."""
    if isinstance(e, ir.Binary) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


def _split_guard(
    comp: Compiler, conjuncts: list[ir.Expr], env: dict[str, int]
) -> tuple[dict[int, tuple[int, int]], bool, list[ir.Expr]]:
    """({word: (mask, wanted bits)}, never enabled, remaining conjuncts) for a conjunction."""
    tests: dict[int, tuple[int, int]] = {}
    never = False
    rest: list[ir.Expr] = []
    clean = True  # nothing before this conjunct can fault
    lay = comp.layout
    for c in conjuncts:
        test = _slot_test(comp, c, env) if clean else None
        if test is None:
            rest.append(c)
            clean = clean and not _may_fault(comp, c, env)
            continue
        slot, value = test
        stored = value - lay.lows[slot]
        bits = lay.masks[slot] << lay.shifts[slot]
        mask, want = tests.get(lay.word_of(slot), (0, 0))
        if not 0 <= stored <= lay.masks[slot] or (
            mask & bits and want & bits != stored << lay.shifts[slot]
        ):
            never = True
        mask |= bits
        want |= (stored & lay.masks[slot]) << lay.shifts[slot]
        if mask:
            tests[lay.word_of(slot)] = (mask, want)
    return tests, never, rest


def _slot_test(comp: Compiler, e: ir.Expr, env: dict[str, int]) -> tuple[int, int] | None:
    """(slot, value) if `e` is `slot == constant` (or a bare boolean slot, or its negation)."""
    if isinstance(e, ir.Unary) and e.op == "not":
        slot = _static_slot(comp, e.arg, env)
        return (slot, 0) if slot is not None and isinstance(e.arg.type, ir.BoolType) else None
    if isinstance(e.type, ir.BoolType) and not isinstance(e, ir.Binary):
        slot = _static_slot(comp, e, env)
        return (slot, 1) if slot is not None else None
    if not (isinstance(e, ir.Binary) and e.op == "eq"):
        return None
    for var, other in ((e.left, e.right), (e.right, e.left)):
        slot = _static_slot(comp, var, env)
        value = comp.expr(other, env)
        if slot is not None and isinstance(value, int):
            return slot, value
    return None


def _static_slot(comp: Compiler, e: ir.Expr, env: dict[str, int]) -> int | None:
    if isinstance(e, ir.Var):
        return e.slot
    if isinstance(e, ir.ArrayRead):
        slot = comp.slot_of(e, env)
        return slot if isinstance(slot, int) else None
    return None


def _may_fault(comp: Compiler, e: ir.Expr, env: dict[str, int]) -> bool:
    """Whether evaluating `e` can raise EvalError (a dynamic or bad index, a division)."""
    if isinstance(e, ir.ArrayRead) and not isinstance(comp.slot_of(e, env), int):
        return True
    if isinstance(e, ir.Binary) and e.op in ("div", "mod"):
        d = comp.expr(e.right, env)
        if not (isinstance(d, int) and d > 0):
            return True
    if isinstance(e, ir.Quant):
        return any(_may_fault(comp, e.body, {**env, e.var: v}) for v in e.domain.values())
    return any(_may_fault(comp, c, env) for c in _children(e))


_children = ir.children


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

        word = lay.word_of(k)

        def write_static(b: Batch, new: np.ndarray) -> tuple[Arr, Err]:
            v, e = value(b)
            e = orr(e, _out_of_bounds(v, bounds, b.n))
            stored = (np.asarray(v, dtype=np.int64) - lo).astype(np.uint64) & mask
            col = new[:, word] if new.ndim == 2 else new  # a view: updated in place
            np.bitwise_and(col, clear, out=col)
            np.bitwise_or(col, stored << shift, out=col)
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
        if new.ndim == 1:
            np.bitwise_and(new, ~(mask << shift), out=new)
            np.bitwise_or(new, stored << shift, out=new)
            return slots, e
        at = (np.arange(b.n), tab.words[slots])  # each row's word of its slot
        new[at] = (new[at] & ~(mask << shift)) | (stored << shift)
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
