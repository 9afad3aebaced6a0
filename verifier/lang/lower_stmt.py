"""Lowering of actions and events: guards, approvals, simultaneous assignments, `if` blocks."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from verifier import ir
from verifier.diagnostics import Span
from verifier.ir.evaluate import EvalError, eval_expr
from verifier.lang import syntax as s
from verifier.lang.bounds import check_bound_guards, clamp
from verifier.lang.lower_array import element, index_lit, paths
from verifier.lang.scope import MAX_ENUMERATION, Context, Poison, Scope, layout
from verifier.lang.types import join_types


@dataclass
class _Target:
    var: ir.StateVar
    indices: tuple[ir.Expr, ...]
    span: Span

    @property
    def key(self) -> tuple[str, tuple[ir.Expr, ...]]:
        return (self.var.name, self.indices)


def lower_transition(lw: Context, d: s.TransitionDecl) -> ir.Transition:
    params = lw.params(d.params)
    rejected = frozenset(p.name.name for p in d.params) - {p.name for p in params}
    scope = Scope({p.name: ir.Local(p.name, p.type, p.span) for p in params}, rejected)
    guards: list[ir.Guard] = []
    approvals: list[ir.Expr] = []
    updates = _block(lw, d.body, scope, None, guards, approvals)
    approval = _disjoin(approvals) if approvals else None
    if d.kind == "event":
        _refuse_event_approvals(lw, d.name.name, d.body)
        approval = None
    total = 1
    for p in params:
        total *= p.type.size()
    if total > MAX_ENUMERATION:
        lw.sink.error(
            "too-large",
            f"`{d.name.name}` has {total} parameter combinations",
            d.name.span,
            f"at most {MAX_ENUMERATION} are enumerated; narrow the parameter ranges",
        )
    t = ir.Transition(
        name=d.name.name,
        kind=d.kind,
        params=tuple(params),
        guards=tuple(guards),
        approval=approval,
        updates=tuple(updates.values()),
        doc=d.doc,
        span=d.name.span,
    )
    _check_constant_guards(lw, t)
    check_bound_guards(lw, t)
    return t


def _refuse_event_approvals(lw: Context, name: str, body: tuple[s.Stmt, ...]) -> None:
    """Report every `needs approval` inside an event: the guard cannot escalate an event."""
    for st in body:
        if isinstance(st, s.If):
            _refuse_event_approvals(lw, name, st.then)
            _refuse_event_approvals(lw, name, st.orelse)
        elif isinstance(st, s.Approval):
            lw.sink.error(
                "approval-on-event",
                f"event `{name}` cannot need approval",
                st.span,
                "an event reports what already happened, so the guard cannot escalate it; "
                "put the approval on the action that causes it, or model the decision as an event",
            )


def _block(
    lw: Context,
    body: tuple[s.Stmt, ...],
    scope: Scope,
    cond: ir.Expr | None,
    guards: list[ir.Guard],
    approvals: list[ir.Expr],
) -> dict[tuple[str, tuple[ir.Expr, ...]], ir.Update]:
    """Lower statements; `cond` is the conjunction of enclosing `if` conditions."""
    updates: dict[tuple[str, tuple[ir.Expr, ...]], ir.Update] = {}
    for st in body:
        match st:
            case s.Guard():
                for g in lw.bool_expr(st.cond, scope):
                    g = g if cond is None else _implies(cond, g)
                    guards.append(ir.Guard(g, lw.text(st.cond.span), st.cond.span))
            case s.Approval():
                a: ir.Expr = ir.Lit(1, ir.BOOL)
                if st.cond is not None:
                    got = lw.bool_expr(st.cond, scope)
                    if not got:
                        continue
                    a = got[0]
                approvals.append(a if cond is None else _and(cond, a))
            case s.Assign():
                new = _assign(lw, st, scope)
                if new:
                    _merge(lw, updates, {(u.name, u.indices): u for u in new}, st.span)
            case s.If():
                _if(lw, st, scope, cond, guards, approvals, updates)
    return updates


def _if(
    lw: Context,
    st: s.If,
    scope: Scope,
    cond: ir.Expr | None,
    guards: list[ir.Guard],
    approvals: list[ir.Expr],
    updates: dict[tuple[str, tuple[ir.Expr, ...]], ir.Update],
) -> None:
    got = lw.bool_expr(st.cond, scope)
    if not got:
        return
    c = got[0]
    neg = ir.Unary("not", c, ir.BOOL, c.span)
    then = _block(lw, st.then, scope, c if cond is None else _and(cond, c), guards, approvals)
    orelse = _block(
        lw, st.orelse, scope, neg if cond is None else _and(cond, neg), guards, approvals
    )
    merged = _pair_element_writes(c, then, orelse, st.span)
    for key in [*then, *(k for k in orelse if k not in then)]:
        proto = then.get(key) or orelse[key]
        if (key in then) != (key in orelse):  # written in one branch only
            proto = _guard_indices(proto, c if key in then else neg)
        current = _read_target(proto)
        t_val = then[key].value if key in then else current
        e_val = orelse[key].value if key in orelse else current
        value = ir.Ite(c, t_val, e_val, join_types(t_val.type, e_val.type), st.span)
        merged[key] = _replace_value(proto, value)
    _merge(lw, updates, merged, st.span)


def _guard_indices(u: ir.Update, taken: ir.Expr) -> ir.Update:
    """`u` with every index that may leave its dimension clamped when `taken` is false.

    A write in one branch of an `if` is lowered as a write of either the new value or the
    element's own value. The element's index must not fault when the branch is not taken
    (`if h <= 3 { r[h] := ... }` with `h == 5`), so the other branch writes the clamped
    element back to itself; when the branch is taken the index is used as written.
    """
    indices = tuple(_guarded_index(i, dim, taken) for i, dim in zip(u.indices, u.dims, strict=True))
    if indices == u.indices:
        return u
    return ir.Update(u.name, u.base, u.dims, u.strides, indices, u.value, u.type, u.text, u.span)


def _guarded_index(i: ir.Expr, dim: ir.IndexType, taken: ir.Expr) -> ir.Expr:
    it = i.type
    if not isinstance(dim, ir.IntType) or not isinstance(it, ir.IntType):
        return i  # enum and bool indices always name an element
    if dim.lo <= it.lo and it.hi <= dim.hi:
        return i
    clamped = ir.Call("min", (i, ir.Lit(dim.hi, ir.IntType(dim.hi, dim.hi), i.span)),
                      ir.IntType(min(it.lo, dim.hi), min(it.hi, dim.hi)), i.span)  # fmt: skip
    ct = clamped.type
    assert isinstance(ct, ir.IntType)
    clamped = ir.Call("max", (clamped, ir.Lit(dim.lo, ir.IntType(dim.lo, dim.lo), i.span)),
                      ir.IntType(max(ct.lo, dim.lo), max(ct.hi, dim.lo)), i.span)  # fmt: skip
    return ir.Ite(taken, i, clamped, join_types(it, clamped.type), i.span)


def _merge(
    lw: Context,
    into: dict[tuple[str, tuple[ir.Expr, ...]], ir.Update],
    new: dict[tuple[str, tuple[ir.Expr, ...]], ir.Update],
    span: Span,
) -> None:
    for key, u in new.items():
        clash = key in into or any(k[0] == key[0] and (not k[1] or not key[1]) for k in into)
        if clash:
            lw.sink.error(
                "assigned-twice",
                f"`{u.name}` is assigned twice in one transition",
                u.span,
                "assignments are simultaneous; combine them into one with `if ... then "
                "... else ...`",
            )
            continue
        into[key] = u


def _assign(lw: Context, st: s.Assign, scope: Scope) -> list[ir.Update]:
    """One update, or one per element when a whole array (or row) is assigned."""
    target = _target(lw, st.target, scope)
    if target is None:
        return []
    var = target.var
    t = var.type
    for _ in target.indices:
        assert isinstance(t, ir.ArrayType)
        t = t.elem
    try:
        if isinstance(t, ir.ArrayType):
            return [
                _update(lw, st, target, path, element(lw, st.value, t, path, scope))
                for path in paths(t)
            ]
        value = lw.expr(st.value, scope, expected=t)
    except Poison:
        return []
    if not lw.compatible(value, t, st.value.span):
        return []
    return [_update(lw, st, target, (), value)]


def _update(
    lw: Context, st: s.Assign, target: _Target, path: tuple[int, ...], value: ir.Expr
) -> ir.Update:
    """The write of `value` to the target's element at `path` (constant trailing indices)."""
    var = target.var
    t: ir.Type = var.type
    for _ in target.indices:
        assert isinstance(t, ir.ArrayType)
        t = t.elem
    indices = list(target.indices)
    for v in path:
        assert isinstance(t, ir.ArrayType)
        indices.append(index_lit(t.index, v, st.target.span))
        t = t.elem
    assert not isinstance(t, ir.ArrayType)
    value = clamp(value, t)
    dims, strides = layout(var.type, len(indices))
    return ir.Update(
        name=var.name,
        base=var.slot,
        dims=dims,
        strides=strides,
        indices=tuple(indices),
        value=value,
        type=t,
        text=lw.text(st.span),
        span=st.span,
    )


def _target(lw: Context, lv: s.LValue, scope: Scope) -> _Target | None:
    name = lv.var.name
    if name in lw.broken:
        return None
    if name not in lw.vars:
        what = lw.kind_of(name, scope)
        if what is not None:
            lw.sink.error(
                "unknown-name",
                f"`{name}` is {what}, not a state variable; it cannot be assigned",
                lv.var.span,
                "only state variables can be assigned; declare one in `state { ... }`",
            )
        else:
            lw.sink.error(
                "unknown-name",
                f"unknown state variable `{name}`",
                lv.var.span,
                lw.suggest(name, lw.vars) or "declare it in a `state { ... }` block",
            )
        return None
    var = lw.vars[name]
    indices = lw.indices(var, lv.indices, scope, lv.span)
    if indices is None:
        return None
    return _Target(var, indices, lv.span)


def _check_constant_guards(lw: Context, t: ir.Transition) -> None:
    for g in t.guards:
        if ir.reads_state(g.cond):
            continue
        values = set()
        for args in _param_values(t.params, limit=4096):
            try:
                values.add(bool(eval_expr(g.cond, (), args)))
            except (EvalError, KeyError, IndexError):
                values.add(None)  # type: ignore[arg-type]
        if len(values) == 1 and None not in values:
            always = values.pop()
            lw.sink.warning(
                "constant-guard",
                f"this guard of `{t.name}` is always {'true' if always else 'false'}",
                g.span,
                "remove it" if always else f"`{t.name}` can never fire",
            )


# ---- properties


def _read_target(u: ir.Update) -> ir.Expr:
    if not u.indices:
        return ir.Var(u.name, u.base, u.type, u.span)
    return ir.ArrayRead(u.name, u.base, u.dims, u.strides, u.indices, u.type, u.span)


def _pair_element_writes(
    c: ir.Expr,
    then: dict[tuple[str, tuple[ir.Expr, ...]], ir.Update],
    orelse: dict[tuple[str, tuple[ir.Expr, ...]], ir.Update],
    span: Span,
) -> dict[tuple[str, tuple[ir.Expr, ...]], ir.Update]:
    """Writes `a[i]` in one branch and `a[j]` in the other become `a[c ? i : j] := c ? x : y`.

    Lowered separately, each would write its element back unchanged on the other branch, and
    the two writes would collide whenever i == j although only one branch runs. The paired
    keys are removed from `then` and `orelse`.
    """
    out: dict[tuple[str, tuple[ir.Expr, ...]], ir.Update] = {}
    for key_t in [k for k in then if k[1] and k not in orelse]:
        key_e = next((k for k in orelse if k[0] == key_t[0] and k[1] and k not in then), None)
        if key_e is None:
            continue
        u_t, u_e = then.pop(key_t), orelse.pop(key_e)
        indices = tuple(
            a if a == b else ir.Ite(c, a, b, join_types(a.type, b.type), span)
            for a, b in zip(u_t.indices, u_e.indices, strict=True)
        )
        value = ir.Ite(c, u_t.value, u_e.value, join_types(u_t.value.type, u_e.value.type), span)
        paired = ir.Update(
            u_t.name, u_t.base, u_t.dims, u_t.strides, indices, value, u_t.type, u_t.text, span
        )
        out[(u_t.name, indices)] = paired
    return out


def _replace_value(u: ir.Update, value: ir.Expr) -> ir.Update:
    return ir.Update(u.name, u.base, u.dims, u.strides, u.indices, value, u.type, u.text, u.span)


def _and(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    return ir.Binary("and", a, b, ir.BOOL, b.span)


def _implies(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    return ir.Binary("implies", a, b, ir.BOOL, b.span)


def _disjoin(es: list[ir.Expr]) -> ir.Expr:
    out = es[0]
    for e in es[1:]:
        out = ir.Binary("or", out, e, ir.BOOL, e.span)
    return out


def _param_values(params: tuple[ir.Param, ...], limit: int) -> Iterator[dict[str, int]]:
    names = [p.name for p in params]
    for combo in itertools.islice(itertools.product(*(p.type.values() for p in params)), limit):
        yield dict(zip(names, combo, strict=True))
