"""Trace inclusion decided symbolically, for models far beyond explicit search.

When every variable of B is observed (mapped to a variable of A of the same shape), B's state
along a matched trace is A's state read through that mapping, so "every observable trace of A
is one of B" becomes a state invariant of A: from every reachable state, each step A can take
is a step B can take there with the same label, approval standing and successor. That
invariant is written in the IR over A's variables and decided by the existing engines:
k-induction (whose base case is BMC, so a counterexample is a shortest one), then PDR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import z3

from verifier import ir
from verifier.check.explicit import TooManyInitialStates, check_initial_count
from verifier.check.refinement import (
    Inclusion,
    Renaming,
    Side,
    explain,
    matches,
    same_shape,
)
from verifier.check.results import Step, Trace
from verifier.check.smt import DEFAULT_DEPTH, run_engine, to_result
from verifier.check.smt.encode import Encoding
from verifier.check.smt.goals import goals
from verifier.ir import semantics as sem
from verifier.ir.evaluate import EvalError

MAX_PAIRS = 200_000  # instance pairs with equal labels the invariant may hold
Rebase = Callable[[ir.Expr], ir.Expr]
TRUE = ir.Lit(1, ir.BOOL)
FALSE = ir.Lit(0, ir.BOOL)


def included_symbolic(
    a: ir.Model, b: ir.Model, names: Renaming, depth: int | None, timeout: float | None
) -> Inclusion:
    """Whether every observable trace of `a` is one of `b` (`names`: B's names to A's)."""
    slots = _slot_map(a, b, names)
    if isinstance(slots, str):
        return Inclusion(None, "symbolic", note=slots)
    observed = [names.new_name(v.name) for v in b.vars]
    raw = frozenset(observed)  # every variable of B has the shape of its variable in A
    a_side, b_side = Side(a, Renaming(), observed, raw), Side(b, names, observed, raw)
    initial = _initial_problem(a_side, b_side, slots, timeout)
    if initial is not None:
        return initial
    inv = _invariant(a_side, b_side, slots)
    if inv is None:
        return Inclusion(None, "symbolic", note="too many transition instances to encode")
    prop = ir.Property("refines", "invariant", inv, "every step is a step of the other spec")
    model = dataclasses.replace(a, properties=(prop,), final=None)
    return _decide(model, a_side, b_side, slots, depth or DEFAULT_DEPTH, timeout)


def _decide(
    model: ir.Model, a: Side, b: Side, slots: list[int], depth: int, timeout: float | None
) -> Inclusion:
    (goal,) = goals(Encoding(model), deadlock=False)[:1]
    outcome = None
    for engine in ("kind", "pdr"):
        (pair,) = run_engine(model, engine, depth=depth, timeout=timeout, deadlock=False, only=[0])
        outcome = pair[1]
        if outcome.status != "unknown":
            break
    assert outcome is not None
    if outcome.status == "holds":
        detail = f" ({outcome.detail})" if outcome.detail else ""
        return Inclusion(True, "symbolic", note=f"proved by {outcome.engine}{detail}")
    if outcome.status == "unknown":
        return Inclusion(None, "symbolic", note=outcome.note or "the solver could not decide it")
    try:
        if outcome.engine == "pdr":  # PDR's trace need not be shortest: BMC to its length is
            length = len(to_result(model, goal, outcome).trace or ())
            (pair,) = run_engine(
                model, "bmc", depth=length, timeout=timeout, deadlock=False, only=[0]
            )
            outcome = pair[1] if pair[1].status == "fails" else outcome
        result = to_result(model, goal, outcome)
    except EvalError as err:  # a guard or update that faults where the solver went
        note = f"a transition faults on the solver's trace ({err.message}); use `--engine explicit`"
        return Inclusion(None, "symbolic", note=note)
    if result.trace is None:
        return Inclusion(None, "symbolic", note=result.message)
    return _last_step(result.trace, a, b, slots)


def _last_step(trace: Trace, a: Side, b: Side, slots: list[int]) -> Inclusion:
    """The shortest trace, canonical (the first in breadth-first order) when a bounded
    explicit search can reproduce it; else the solver's, extended by the step B cannot take."""
    from verifier.check.product import CANONICAL_PAIRS, included_explicit

    if _enumerable(a, b):
        canonical = included_explicit(a, b, CANONICAL_PAIRS, max_depth=len(trace) + 1)
        if canonical.holds is False and canonical.trace is not None:
            return dataclasses.replace(canonical, engine="symbolic", note="canonical trace")
    s = trace.steps[-1].state
    t = tuple(s[k] for k in slots)
    for k in range(len(a.instances)):
        took = a.step(k, s)
        if took is None:
            continue
        nxt, approval = took
        if not matches(b, a.labels[k], [t], a.project(nxt), approval):
            why = explain(b, a.labels[k], t, a.shown(nxt), approval)
            inst = a.instances[k]
            steps = (*trace.steps, Step(inst.transition, inst.args, nxt))
            return Inclusion(False, "symbolic", Trace(steps), why)
    return Inclusion(None, "symbolic", note="internal error: the violation does not replay")


def _enumerable(a: Side, b: Side) -> bool:
    try:
        check_initial_count(a.model)
        check_initial_count(b.model)
    except TooManyInitialStates:
        return False
    return True


def _initial_problem(a: Side, b: Side, slots: list[int], timeout: float | None) -> Inclusion | None:
    """A's initial states must all be B's; None if they are. Enumerated when they can be
    (so the reported state is the first), else asked of the solver."""
    if not _enumerable(a, b):
        return _initial_symbolic(a, b, slots, timeout)
    b_init = {b.project(t) for t in b.initial()}
    for s in a.initial():
        if a.project(s) not in b_init:
            why = "has no initial state with these values"
            return Inclusion(False, "symbolic", Trace((Step(None, (), s),)), why)
    return None


def _initial_symbolic(
    a: Side, b: Side, slots: list[int], timeout: float | None
) -> Inclusion | None:
    names = {s.var: a.model.slots[slots[k]].var for k, s in enumerate(b.model.slots)}
    rb = _rebase(slots, names, {})
    conds: list[ir.Expr] = [rb(p) for p in b.model.init]
    for v in b.model.vars:
        for k, x in enumerate(v.init or ()):
            slot = b.model.slots[v.slot + k]
            conds.append(_eq(rb(ir.Var(slot.var, v.slot + k, slot.type)), _lit(slot.type, x)))
    enc = Encoding(a.model)
    s = enc.state("init")
    solver = z3.Solver()
    if timeout is not None:
        solver.set("timeout", int(timeout * 1000))
    solver.add(enc.initial(s), z3.Not(enc.holds(_and(conds), s)))
    res = solver.check()
    if res == z3.unsat:
        return None
    if res == z3.unknown:
        return Inclusion(None, "symbolic", note="the solver could not compare the initial states")
    start = enc.value_of(solver.model(), s)
    why = "has no initial state with these values"
    return Inclusion(False, "symbolic", Trace((Step(None, (), start),)), why)


# ---- B's variables read from A's slots


def _slot_map(a: ir.Model, b: ir.Model, names: Renaming) -> list[int] | str:
    """For each slot of B, the slot of A that holds it; or why there is none."""
    by_name = {v.name: v for v in a.vars}
    out = [0] * len(b.slots)
    for v in b.vars:
        w = by_name.get(names.new_name(v.name))
        if w is None:
            return (
                f"`{v.name}` is not observed: the symbolic check needs every variable of the "
                "including spec in the other; use `--engine explicit`"
            )
        if not same_shape(v.type, w.type):
            return f"`{v.name}` has another type in the other spec; use `--engine explicit`"
        for k in range(ir.slot_width(v.type)):
            out[v.slot + k] = w.slot + k
    return out


def _rebase(slots: Sequence[int], var_names: dict[str, str], env: dict[str, int]) -> Rebase:
    """Rewrite an expression of B (with parameters bound) to read A's slots."""

    def go(e: ir.Expr) -> ir.Expr:
        match e:
            case ir.Var():
                return dataclasses.replace(e, name=var_names[e.name], slot=slots[e.slot])
            case ir.ArrayRead():
                idx = tuple(go(i) for i in e.indices)
                read = dataclasses.replace(
                    e, name=var_names[e.name], base=slots[e.base], indices=idx
                )
                return _constant_read(read)
            case ir.Local() if e.name in env:
                return _lit(e.type, env[e.name])
            case ir.Unary():
                return dataclasses.replace(e, arg=go(e.arg))
            case ir.Binary():
                return dataclasses.replace(e, left=go(e.left), right=go(e.right))
            case ir.Ite():
                return dataclasses.replace(e, cond=go(e.cond), then=go(e.then), orelse=go(e.orelse))
            case ir.Call():
                return dataclasses.replace(e, args=tuple(go(x) for x in e.args))
            case ir.Quant():
                return dataclasses.replace(e, body=go(e.body))
        return e

    return go


def _constant_read(e: ir.ArrayRead) -> ir.Expr:
    """`a[1]` read at constant indices is the plain read of one slot."""
    slot = e.base
    for dim, stride, idx in zip(e.dims, e.strides, e.indices, strict=True):
        if not isinstance(idx, ir.Lit):
            return e
        offset = ir.index_offset(dim, idx.value)
        if not 0 <= offset < dim.size():
            return e  # the fault stays where the evaluator reports it
        slot += stride * offset
    return ir.Var(e.name, slot, e.type, e.span)


def _lit(t: ir.Type, v: int) -> ir.Lit:
    return ir.Lit(v, ir.IntType(v, v) if isinstance(t, ir.IntType) else t)


# ---- the invariant


def _invariant(a: Side, b: Side, slots: list[int]) -> ir.Expr | None:
    ident = list(range(len(a.model.slots)))
    a_names = {v.name: v.name for v in a.model.vars}
    b_names = {s.var: a.model.slots[slots[k]].var for k, s in enumerate(b.model.slots)}
    conjuncts: list[ir.Expr] = []
    pairs = 0
    for k, inst in enumerate(a.instances):
        ra = _rebase(ident, a_names, inst.env)
        fires_a = _fires(inst, ra)
        options = []
        for j in b.by_label.get(a.labels[k], ()):
            pairs += 1
            if pairs > MAX_PAIRS:
                return None
            other = b.instances[j]
            rb = _rebase(slots, b_names, other.env)
            approval_ok = _or([_approval(inst, ra), _not(_approval(other, rb))])
            same = [
                _eq(_next(other, rb, s, b.model), _next(inst, ra, slots[s], a.model))
                for s in range(len(b.model.slots))
            ]
            options.append(_and([_fires(other, rb), approval_ok, *same]))
        conjuncts.append(_implies(fires_a, _or(options)))
    return _and(conjuncts)


def _fires(inst: sem.Instance, r: Rebase) -> ir.Expr:
    """The guard lets the step through: its guards hold, and neither they, the updates nor
    the approval condition fault (the guard refuses a step that faults)."""
    t = inst.transition
    enabled = _and([r(g.cond) for g in t.guards])
    evaluated = [r(x) for u in t.updates for x in (*u.indices, u.value)]
    if t.approval is not None:
        evaluated.append(r(t.approval))
    return _and([safe(enabled), enabled, *map(safe, evaluated), _in_domain(inst, r)])


def safe(e: ir.Expr) -> ir.Expr:
    """Evaluating `e` left to right, with the evaluator's short circuits, raises no fault."""
    match e:
        case ir.ArrayRead():
            conds: list[ir.Expr] = []
            for dim, idx in zip(e.dims, e.indices, strict=True):
                conds.append(safe(idx))
                if isinstance(dim, ir.IntType):
                    conds += [
                        _cmp("ge", idx, _lit(dim, dim.lo)),
                        _cmp("le", idx, _lit(dim, dim.hi)),
                    ]
            return _and(conds)
        case ir.Binary(op="and" | "implies"):
            return _and([safe(e.left), _or([_not(e.left), safe(e.right)])])
        case ir.Binary(op="or"):
            return _and([safe(e.left), _or([e.left, safe(e.right)])])
        case ir.Binary(op="div" | "mod"):
            zero = _lit(ir.IntType(0, 0), 0)
            return _and([safe(e.left), safe(e.right), _cmp("gt", e.right, zero)])
        case ir.Binary():
            return _and([safe(e.left), safe(e.right)])
        case ir.Unary():
            return safe(e.arg)
        case ir.Ite():
            return _and([safe(e.cond), _ite(e.cond, safe(e.then), safe(e.orelse))])
        case ir.Call():
            return _and([safe(x) for x in e.args])
        case ir.Quant():
            return _safe_quant(e)
    return TRUE


def _safe_quant(e: ir.Quant) -> ir.Expr:
    """`all` stops at the first false body, `some` at the first true one, `count` never."""
    conds: list[ir.Expr] = []
    went_on: list[ir.Expr] = []  # the bodies before this value let the evaluation go on
    for v in e.domain.values():
        body = _bind(e.body, e.var, _lit(e.domain, v))
        conds.append(_implies(_and(list(went_on)), safe(body)))
        if e.kind == "all":
            went_on.append(body)
        elif e.kind == "some":
            went_on.append(_not(body))
    return _and(conds)


def _bind(e: ir.Expr, name: str, value: ir.Lit) -> ir.Expr:
    """`e` with the local `name` replaced by `value`."""
    if isinstance(e, ir.Local):
        return value if e.name == name else e
    kids = ir.children(e)
    if not kids:
        return e
    new = [_bind(k, name, value) for k in kids]
    match e:
        case ir.ArrayRead():
            return _constant_read(dataclasses.replace(e, indices=tuple(new)))
        case ir.Unary():
            return dataclasses.replace(e, arg=new[0])
        case ir.Binary():
            return dataclasses.replace(e, left=new[0], right=new[1])
        case ir.Ite():
            return dataclasses.replace(e, cond=new[0], then=new[1], orelse=new[2])
        case ir.Call():
            return dataclasses.replace(e, args=tuple(new))
        case ir.Quant():
            return dataclasses.replace(e, body=new[0])
    return e  # pragma: no cover - every node with children is listed above


def _approval(inst: sem.Instance, r: Rebase) -> ir.Expr:
    cond = inst.transition.approval
    return FALSE if cond is None else r(cond)


def _in_domain(inst: sem.Instance, r: Rebase) -> ir.Expr:
    """No update leaves its range, indexes outside an array or writes a slot twice."""
    conds: list[ir.Expr] = []
    ups = inst.transition.updates
    for u in ups:
        if isinstance(u.type, ir.IntType):
            v = r(u.value)
            conds.append(_cmp("ge", v, _lit(u.type, u.type.lo)))
            conds.append(_cmp("le", v, _lit(u.type, u.type.hi)))
        for dim, idx in zip(u.dims, u.indices, strict=True):
            if isinstance(dim, ir.IntType):
                conds.append(_cmp("ge", r(idx), _lit(dim, dim.lo)))
                conds.append(_cmp("le", r(idx), _lit(dim, dim.hi)))
    for x, u in enumerate(ups):
        for w in ups[x + 1 :]:
            if u.base == w.base and u.indices and w.indices:
                same = [_eq(r(i), r(j)) for i, j in zip(u.indices, w.indices, strict=True)]
                conds.append(_not(_and(same)))
    return _and(conds)


def _next(inst: sem.Instance, r: Rebase, slot: int, model: ir.Model) -> ir.Expr:
    """The value `slot` of `model` takes when `inst` fires (read from the pre-state)."""
    s = model.slots[slot]
    current: ir.Expr = r(ir.Var(s.var, slot, s.type))
    for u in reversed(inst.transition.updates):
        width = ir.slot_width(model.var(u.name).type)
        if not u.base <= slot < u.base + width:
            continue
        if not u.indices:
            return r(u.value)
        offsets, rest = [], slot - u.base
        for stride in u.strides:
            offsets.append(rest // stride)
            rest %= stride
        if rest:
            continue  # the update writes a deeper element than this slot's
        hit = _and(
            [
                _eq(r(i), _lit(dim, ir.index_value(dim, off)))
                for i, dim, off in zip(u.indices, u.dims, offsets, strict=True)
            ]
        )
        current = _ite(hit, r(u.value), current)
    return current


# ---- expression builders with sound types


def _and(xs: list[ir.Expr]) -> ir.Expr:
    if any(x == FALSE for x in xs):
        return FALSE
    return _balanced("and", [x for x in xs if x != TRUE], TRUE)


def _or(xs: list[ir.Expr]) -> ir.Expr:
    if any(x == TRUE for x in xs):
        return TRUE
    return _balanced("or", [x for x in xs if x != FALSE], FALSE)


def _balanced(op: str, xs: list[ir.Expr], empty: ir.Expr) -> ir.Expr:
    """A balanced tree of `op`: deep left-leaning chains would exhaust the evaluator's stack."""
    if not xs:
        return empty
    while len(xs) > 1:
        pairs = [ir.Binary(op, x, y, ir.BOOL) for x, y in zip(xs[::2], xs[1::2], strict=False)]
        xs = pairs + (xs[-1:] if len(xs) % 2 else [])
    return xs[0]


def _not(x: ir.Expr) -> ir.Expr:
    if x == TRUE:
        return FALSE
    if x == FALSE:
        return TRUE
    return ir.Unary("not", x, ir.BOOL)


def _implies(x: ir.Expr, y: ir.Expr) -> ir.Expr:
    if x == FALSE or y == TRUE:
        return TRUE
    if x == TRUE:
        return y
    return ir.Binary("implies", x, y, ir.BOOL)


def _cmp(op: str, x: ir.Expr, y: ir.Expr) -> ir.Expr:
    return ir.Binary(op, x, y, ir.BOOL)


def _eq(x: ir.Expr, y: ir.Expr) -> ir.Expr:
    if isinstance(x, ir.Lit) and isinstance(y, ir.Lit):
        return TRUE if x.value == y.value else FALSE
    if isinstance(x, ir.Var) and isinstance(y, ir.Var) and x.slot == y.slot:
        return TRUE
    return ir.Binary("eq", x, y, ir.BOOL)


def _ite(c: ir.Expr, x: ir.Expr, y: ir.Expr) -> ir.Expr:
    if c == TRUE:
        return x
    if c == FALSE:
        return y
    t: ir.Type = x.type
    if isinstance(x.type, ir.IntType) and isinstance(y.type, ir.IntType):
        t = ir.IntType(min(x.type.lo, y.type.lo), max(x.type.hi, y.type.hi))
    return ir.Ite(c, x, y, t)
