"""The reference semantics: initial states, enabled transitions, successors.

Deliberately plain (a tree-walking evaluator). Every engine and the monitor are tested
against it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from verifier.ir import model as ir
from verifier.ir.evaluate import EvalError, array_slot, eval_expr

State = tuple[int, ...]


class DomainError(EvalError):
    """A transition would leave a variable's domain (or write one slot twice)."""


@dataclass(frozen=True)
class Instance:
    """A transition with concrete argument values (one per parameter, in order)."""

    transition: ir.Transition
    args: tuple[int, ...]

    @cached_property
    def env(self) -> dict[str, int]:
        return {p.name: a for p, a in zip(self.transition.params, self.args, strict=True)}

    @property
    def name(self) -> str:
        return self.transition.name


def instances(model: ir.Model) -> tuple[Instance, ...]:
    """Every transition instance, transitions in declaration order, arguments in domain order."""
    out: list[Instance] = []
    for t in model.transitions:
        for args in itertools.product(*(p.type.values() for p in t.params)):
            out.append(Instance(t, tuple(args)))
    return tuple(out)


def initial_states(model: ir.Model) -> list[State]:
    """All initial states (each variable's initial value or whole domain, filtered by `init`)."""
    choices: list[Sequence[int]] = []
    for var in model.vars:
        width = ir.slot_width(var.type)
        if var.init is not None:
            choices.extend((v,) for v in var.init)
        else:
            choices.extend(model.slots[var.slot + k].type.values() for k in range(width))
    out = []
    for state in itertools.product(*choices):
        if all(eval_expr(p, state, {}) for p in model.init):
            out.append(tuple(state))
    return out


def failed_guard(inst: Instance, state: State) -> ir.Guard | None:
    """The first guard that is false in `state`, or None if the instance is enabled."""
    for g in inst.transition.guards:
        if not eval_expr(g.cond, state, inst.env):
            return g
    return None


def enabled(inst: Instance, state: State) -> bool:
    return failed_guard(inst, state) is None


def needs_approval(inst: Instance, state: State) -> bool:
    cond = inst.transition.approval
    return cond is not None and bool(eval_expr(cond, state, inst.env))


def apply(inst: Instance, state: State) -> State:
    """The successor of an enabled instance; DomainError if it leaves a domain."""
    env = inst.env
    writes: dict[int, tuple[int, ir.Update]] = {}
    for u in inst.transition.updates:
        slot = u.base if not u.indices else array_slot(u, state, env, what="index")
        value = eval_expr(u.value, state, env)
        check_domain(u, value)
        if slot in writes:
            raise DomainError(f"two assignments write `{slot_label(u, state, env)}`", u.span)
        writes[slot] = (value, u)
    nxt = list(state)
    for slot, (value, _) in writes.items():
        nxt[slot] = value
    return tuple(nxt)


def check_domain(u: ir.Update, value: int) -> None:
    t = u.type
    if isinstance(t, ir.IntType) and not t.lo <= value <= t.hi:
        raise DomainError(f"`{u.name}` would become {value}, outside {t}", u.span)


def slot_label(u: ir.Update | ir.ArrayRead, state: State, env: dict[str, int]) -> str:
    vals = [eval_expr(i, state, env) for i in u.indices]
    return u.name + "".join(f"[{v}]" for v in vals)


def successors(
    model: ir.Model, state: State, insts: Sequence[Instance] | None = None
) -> Iterator[tuple[Instance, State | EvalError]]:
    """Each enabled instance with its successor, or the EvalError it raises."""
    for inst in insts if insts is not None else instances(model):
        try:
            if not enabled(inst, state):
                continue
            yield inst, apply(inst, state)
        except EvalError as err:
            yield inst, err


def is_final(model: ir.Model, state: State) -> bool:
    return model.final is not None and bool(eval_expr(model.final, state, {}))


def holds(prop: ir.Property, state: State) -> bool:
    return bool(eval_expr(prop.cond, state, {}))
