"""The model as Z3 terms, built once: states, domains, initial states, the transition relation.

A step is `Trans(s, sel, params, s')`: `sel` picks the transition (its index in
`model.transitions`), each transition has its own parameter variables, and `s'` is `s` with the
selected transition's simultaneous updates applied. A step exists only when the selected
instance is enabled and applying it raises no fault, exactly like `semantics.successors`
yielding a state. Faults become the `domain` property instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import z3

from verifier import ir
from verifier.check.smt.terms import (
    INTS,
    Err,
    Num,
    Numbers,
    Term,
    Translator,
    Value,
    as_bool,
    as_int,
    equal,
    err_and,
    err_or,
    ite,
    literal,
)
from verifier.ir.semantics import Instance, instances

State = list[Value]


@dataclass(frozen=True)
class Step:
    """The variables of one step: the selector and every transition's parameters."""

    sel: Num
    params: tuple[tuple[Num, ...], ...]

    def flat(self) -> list[Num]:
        return [self.sel, *(p for ps in self.params for p in ps)]


@dataclass(frozen=True)
class Firing:
    """One transition applied to a symbolic state with symbolic or concrete arguments."""

    enabled: z3.BoolRef  # every guard holds
    err: Err  # evaluating it raises (a guard faults, or an enabled update faults)
    writes: tuple[tuple[int, z3.BoolRef, Value], ...]  # (slot, condition, value)

    @property
    def fires(self) -> z3.BoolRef:
        return self.enabled if self.err is None else z3.And(self.enabled, z3.Not(self.err))

    @property
    def active(self) -> z3.BoolRef:
        """Enabled or faulting: what keeps a state from being a deadlock."""
        return self.enabled if self.err is None else z3.Or(self.enabled, self.err)


@dataclass
class Encoding:
    """Symbolic states, domains, initial states and steps for one model."""

    model: ir.Model
    nums: Numbers = INTS

    # ---- states

    def state(self, tag: str) -> State:
        """Fresh state variables named `<slot label>@<tag>` (the bare label for tag "")."""
        out: list[Value] = []
        for s in self.model.slots:
            name = f"{s.label}@{tag}" if tag else s.label
            if isinstance(s.type, ir.BoolType):
                out.append(z3.Bool(name))
            elif isinstance(s.type, ir.SetType):
                out.append(tuple(z3.Bool(f"{name}.{m}") for m in s.type.elem.members))
            else:
                out.append(self.nums.var(name))
        return out

    def step(self, tag: str) -> Step:
        """Fresh step variables (`#sel`, `#<transition>.<param>`, suffixed with `@tag`)."""
        at = f"@{tag}" if tag else ""
        params = tuple(
            tuple(self.nums.var(f"#{t.name}.{p.name}{at}") for p in t.params)
            for t in self.model.transitions
        )
        return Step(self.nums.var(f"#sel{at}"), params)

    def in_range(self, s: State) -> z3.BoolRef:
        conds: list[z3.BoolRef] = []
        for slot, v in zip(self.model.slots, s, strict=True):
            t = slot.type
            if isinstance(t, ir.IntType | ir.EnumType):
                lo, hi = (t.lo, t.hi) if isinstance(t, ir.IntType) else (0, t.size() - 1)
                conds.append(z3.And(as_int(v) >= lo, as_int(v) <= hi))
        return z3.And(*conds)

    def value_of(self, m: z3.ModelRef, s: State) -> tuple[int, ...]:
        """The concrete state (one int per slot) of `s` in a Z3 model."""
        out = []
        for v in s:
            if isinstance(v, tuple):
                out.append(sum(1 << i for i, b in enumerate(v) if z3.is_true(m.eval(b, True))))
            elif isinstance(v, z3.BoolRef):
                out.append(1 if z3.is_true(m.eval(v, True)) else 0)
            else:
                out.append(number(m, v))
        return tuple(out)

    def equals(self, s: State, t: Sequence[int]) -> z3.BoolRef:
        """`s` is the concrete state `t`."""
        n = self.nums
        return z3.And(
            *[
                equal(v, literal(slot.type, x, n))
                for slot, v, x in zip(self.model.slots, s, t, strict=True)
            ]
        )

    def distinct(self, s: State, t: State) -> z3.BoolRef:
        return z3.Or(*[z3.Not(equal(a, b)) for a, b in zip(s, t, strict=True)])

    # ---- predicates

    def holds(self, e: ir.Expr, s: State) -> z3.BoolRef:
        """`e` evaluates to true without a fault."""
        t = Translator(s, {}, self.nums)(e)
        v = as_bool(t.value)
        return v if t.err is None else z3.And(v, z3.Not(t.err))

    def initial(self, s: State) -> z3.BoolRef:
        conds = [self.in_range(s)]
        for var in self.model.vars:
            if var.init is None:
                continue
            for k, x in enumerate(var.init):
                slot = var.slot + k
                conds.append(equal(s[slot], literal(self.model.slots[slot].type, x, self.nums)))
        conds.extend(self.holds(p, s) for p in self.model.init)
        return z3.And(*conds)

    def final(self, s: State) -> z3.BoolRef:
        return self.holds(self.model.final, s) if self.model.final else z3.BoolVal(False)

    # ---- transitions

    def firing(self, t: ir.Transition, s: State, args: Sequence[Num]) -> Firing:
        """`t` with arguments `args` in state `s`."""
        env = {p.name: a for p, a in zip(t.params, args, strict=True)}
        tr = Translator(s, env, self.nums)
        enabled, guard_err = _guards(tr, t.guards)
        writes: list[tuple[int, z3.BoolRef, Value]] = []
        faults: list[Err] = []
        targets: list[tuple[ir.Update, Num | int]] = []
        for u in t.updates:
            slot, idx_err = tr.slot_of(u) if u.indices else (u.base, None)
            val = tr(u.value)
            faults += [idx_err, val.err, _out_of_range(u.type, val.value)]
            faults += [_same(slot, other) for w, other in targets if w.name == u.name]
            targets.append((u, slot))
            writes.extend(_writes(u, slot, val.value))
        update_err = err_or(*faults)
        err = err_or(guard_err, err_and(enabled, update_err))
        return Firing(enabled, err, tuple(writes))

    def trans(self, s: State, step: Step, nxt: State) -> z3.BoolRef:
        """One step from `s` to `nxt` by the transition `step.sel` selects."""
        ts = self.model.transitions
        if not ts:
            return z3.BoolVal(False)
        conds = [step.sel >= 0, step.sel < len(ts)]
        per_slot: list[list[tuple[z3.BoolRef, Value]]] = [[] for _ in s]
        for i, t in enumerate(ts):
            args = step.params[i]
            conds.extend(_param_ranges(t, args))
            f = self.firing(t, s, args)
            chosen = step.sel == i
            conds.append(z3.Implies(chosen, f.fires))
            for slot, cond, value in f.writes:
                per_slot[slot].append((z3.And(chosen, cond), value))
        for k, writes in enumerate(per_slot):
            value = s[k]
            for cond, v in reversed(writes):
                value = ite(cond, v, value)
            conds.append(equal(nxt[k], value))
        return z3.And(*conds)

    @cached_property
    def instances(self) -> tuple[Instance, ...]:
        return instances(self.model)

    def instance_firings(self, s: State) -> list[Firing]:
        """Every transition instance (concrete arguments) in state `s`."""
        return [
            self.firing(i.transition, s, [self.nums.val(a) for a in i.args])
            for i in self.instances
            if i.transition.name not in self._summaries
        ]

    def deadlock_free(self, s: State) -> z3.BoolRef:
        """Final, or some instance is enabled (or faults, which the domain property reports)."""
        summed = [self._at(active, s) for active, _ in self._summaries.values()]
        return z3.Or(self.final(s), *summed, *[f.active for f in self.instance_firings(s)])

    def domain_safe(self, s: State) -> z3.BoolRef:
        """No instance faults in `s`."""
        errs = [f.err for f in self.instance_firings(s) if f.err is not None]
        errs += [self._at(err, s) for _, err in self._summaries.values()]
        return z3.Not(z3.Or(*errs)) if errs else z3.BoolVal(True)

    @cached_property
    def _template(self) -> State:
        return self.state("%template")

    @cached_property
    def _summaries(self) -> dict[str, tuple[z3.BoolRef, z3.BoolRef]]:
        """(some instance active, some instance faults) of each transition with more than
        SUMMARISE_FROM instances, as quantifier-free formulas over the template state.

        Enumerating the instances of `request(a: 1..50000)` builds 50,000 firings per state
        (half a minute); eliminating the argument once (z3's `qe`) gives one small formula.
        A transition whose argument does not eliminate keeps its instances, and so does every
        transition of a bit-vector encoding (z3's `qe` does not finish on those).
        """
        if self.nums != INTS:
            return {}
        counts: dict[str, int] = {}
        for inst in self.instances:
            counts[inst.transition.name] = counts.get(inst.transition.name, 0) + 1
        step = self.step("%template")
        out: dict[str, tuple[z3.BoolRef, z3.BoolRef]] = {}
        for i, t in enumerate(self.model.transitions):
            if counts.get(t.name, 0) <= SUMMARISE_FROM:
                continue
            args = step.params[i]
            f = self.firing(t, self._template, args)
            ranges = _param_ranges(t, args)
            active = _eliminate(list(args), z3.And(*ranges, f.active))
            err = _eliminate(list(args), z3.And(*ranges, f.err if f.err is not None else False))
            if active is not None and err is not None:
                out[t.name] = (active, err)
        return out

    def _at(self, formula: z3.BoolRef, s: State) -> z3.BoolRef:
        """A template formula about state `s`."""
        pairs = [(a, b) for x, y in zip(self._template, s, strict=True) for a, b in _pairs(x, y)]
        return z3.substitute(formula, *pairs) if pairs else formula


def _guards(tr: Translator, guards: Sequence[ir.Guard]) -> tuple[z3.BoolRef, Err]:
    """Conjunction of the guards and the fault of evaluating them in order (short-circuit)."""
    vals: list[z3.BoolRef] = []
    errs: list[Err] = []
    for g in guards:
        term: Term = tr(g.cond)
        errs.append(err_and(z3.And(*vals), term.err) if vals else term.err)
        vals.append(as_bool(term.value))
    return z3.And(*vals), err_or(*errs)


def _out_of_range(t: ir.ScalarType, v: Value) -> Err:
    if not isinstance(t, ir.IntType):
        return None
    x = as_int(v)
    return z3.Or(x < t.lo, x > t.hi)


def _same(a: Num | int, b: Num | int) -> Err:
    if isinstance(a, int) and isinstance(b, int):
        return z3.BoolVal(True) if a == b else None
    return a == b


def _writes(u: ir.Update, slot: Num | int, value: Value) -> list[tuple[int, z3.BoolRef, Value]]:
    if isinstance(slot, int):
        return [(slot, z3.BoolVal(True), value)]
    width = 1
    for d in u.dims:
        width *= d.size()
    inner = ir.slot_width(u.type)
    assert inner == 1
    return [(u.base + k, slot == u.base + k, value) for k in range(width)]


def number(m: z3.ModelRef, v: Num) -> int:
    """The value of an Int or signed bit-vector term in a model."""
    got = m.eval(v, True)
    return got.as_signed_long() if z3.is_bv_value(got) else got.as_long()


SUMMARISE_FROM = 256  # instances of one transition beyond which its argument is eliminated
QE_MILLISECONDS = 10_000


def _pairs(x: Value, y: Value) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
    if isinstance(x, tuple):
        return list(zip(x, y, strict=True))
    return [(x, y)]


def _eliminate(args: list[Num], body: z3.BoolRef) -> z3.BoolRef | None:
    """`exists args: body` without the quantifier, or None if z3 cannot eliminate it."""
    names = {str(a) for a in args}
    try:
        tactic = z3.TryFor(z3.Then("simplify", "qe", "simplify"), QE_MILLISECONDS)
        got = tactic(z3.Exists(args, body))
    except z3.Z3Exception:
        return None
    if len(got) != 1:
        return None
    out = z3.And(*got[0]) if len(got[0]) else z3.BoolVal(True)
    text = out.sexpr()
    if "exists" in text or "forall" in text or any(n in text for n in names):
        return None
    return out


def _param_ranges(t: ir.Transition, args: Sequence[Num]) -> list[z3.BoolRef]:
    out = []
    for p, a in zip(t.params, args, strict=True):
        vals = p.type.values()
        out += [a >= vals.start, a <= vals.stop - 1]
    return out
