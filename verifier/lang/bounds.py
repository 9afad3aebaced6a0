"""Range bounds in transitions: saturating writes, and guards that only keep a value in range.

A `lo..hi saturating` variable never leaves its range: a write above `hi` stores `hi` (read
as "`hi` or more") and a write below `lo` stores `lo`. The clamp is ordinary IR (`min`/`max`),
so the engines and the guard need nothing new.

A guard whose only effect is to keep an update inside its variable's range turns a bound
that may exist only to keep the model finite into a runtime limit; `bound-guard` says so.
"""

from __future__ import annotations

import re

from verifier import ir
from verifier.ir.evaluate import EvalError, eval_expr
from verifier.lang.scope import Context

MAX_VALUES = 4096  # values of a variable enumerated to compare a guard with its range


def clamp(value: ir.Expr, t: ir.Type) -> ir.Expr:
    """`value` written to a variable of type `t`: clamped into `t` when `t` saturates."""
    if not isinstance(t, ir.IntType) or not t.saturating:
        return value
    vt = value.type
    assert isinstance(vt, ir.IntType)
    out = value
    if vt.hi > t.hi:
        hi = ir.Lit(t.hi, ir.IntType(t.hi, t.hi), value.span)
        out = ir.Call("min", (out, hi), ir.IntType(min(vt.lo, t.hi), t.hi), value.span)
    if vt.lo < t.lo:
        lo = ir.Lit(t.lo, ir.IntType(t.lo, t.lo), value.span)
        ot = out.type
        assert isinstance(ot, ir.IntType)
        out = ir.Call("max", (out, lo), ir.IntType(t.lo, max(ot.hi, t.lo)), value.span)
    return out


def check_bound_guards(lw: Context, t: ir.Transition) -> None:
    """Warn about a guard that holds exactly where an update stays inside its range."""
    if t.params:
        return  # with arguments, a bound is usually the policy (a budget), not the model's
    for u in t.updates:
        var = lw.vars.get(u.name)
        if var is None or u.indices or not isinstance(var.type, ir.IntType):
            continue
        if var.type.saturating or var.type.size() > MAX_VALUES:
            continue
        for g in t.guards:
            if _names_a_constant(lw, g.text):
                continue  # a named limit (`sends < MAX_SENDS`) reads as the policy's own
            if _only_keeps_in_range(g.cond, u, var):
                lw.sink.warning(
                    "bound-guard",
                    f"this guard only keeps `{var.name}` inside `{var.type}`: the guard will "
                    f"refuse `{t.name}` once `{var.name}` reaches its bound",
                    g.span,
                    f"if the bound is a policy limit, keep it; if it only keeps the model "
                    f"finite, declare `{var.name}: {var.type} saturating` and drop the guard",
                )


def _names_a_constant(lw: Context, text: str) -> bool:
    return any(re.search(rf"\b{re.escape(name)}\b", text) for name in lw.consts)


def _only_keeps_in_range(cond: ir.Expr, u: ir.Update, var: ir.StateVar) -> bool:
    if _reads(cond) != {var.slot} or _reads(u.value) != {var.slot}:  # only `var` and constants
        return False
    t = var.type
    assert isinstance(t, ir.IntType)
    holds, fits = set(), set()
    for v in t.values():
        state = _state_with(var.slot, v)
        try:
            if eval_expr(cond, state, {}):
                holds.add(v)
            if t.lo <= eval_expr(u.value, state, {}) <= t.hi:
                fits.add(v)
        except EvalError:
            return False
    return holds == fits and len(fits) < t.size()


def _state_with(slot: int, value: int) -> list[int]:
    state = [0] * (slot + 1)
    state[slot] = value
    return state


def _reads(e: ir.Expr) -> set[int] | None:
    """The slots `e` reads, or None when it reads an array element or a local."""
    match e:
        case ir.Var(slot=slot):
            return {slot}
        case ir.ArrayRead() | ir.Local():
            return None
    out: set[int] = set()
    for c in ir.children(e):
        got = _reads(c)
        if got is None:
            return None
        out |= got
    return out
