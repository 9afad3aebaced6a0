"""Symbolic counterexamples turned into traces, and replayed through the reference semantics.

A solver model is only trusted after every step of the trace it yields has been re-executed
by `verifier.ir.semantics`: the first state is initial, each instance is enabled and produces
exactly the next state, and the last state really violates the property (or reaches the goal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import z3

from verifier import ir
from verifier.check.results import Step, Trace
from verifier.check.smt.encode import Encoding, State, number
from verifier.check.smt.encode import Step as StepVars
from verifier.check.smt.goals import Goal
from verifier.ir import semantics as sem
from verifier.ir.evaluate import EvalError, eval_expr


class ReplayError(Exception):
    """A symbolic trace that the reference semantics does not reproduce (an internal error)."""


@dataclass(frozen=True)
class Path:
    """A concrete path: the initial state, then (transition index, args, state) per step."""

    start: tuple[int, ...]
    steps: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...]


def extract(
    enc: Encoding, m: z3.ModelRef, states: Sequence[State], steps: Sequence[StepVars]
) -> Path:
    """Read a path of len(states) - 1 steps out of a Z3 model."""
    out = []
    for k, st in enumerate(steps[: len(states) - 1]):
        t = number(m, st.sel)
        args = tuple(number(m, a) for a in st.params[t])
        out.append((t, args, enc.value_of(m, states[k + 1])))
    return Path(enc.value_of(m, states[0]), tuple(out))


def replay(model: ir.Model, goal: Goal, path: Path) -> Trace:
    """The trace of `path` as the reference semantics runs it; ReplayError if it does not."""
    _check_initial(model, path.start)
    steps = [Step(None, (), path.start)]
    state = path.start
    for t_index, args, nxt in path.steps:
        inst = sem.Instance(model.transitions[t_index], args)
        try:
            if not sem.enabled(inst, state):
                raise ReplayError(f"`{inst.name}{list(args)}` is not enabled at step {len(steps)}")
            got = sem.apply(inst, state)
        except EvalError as err:
            raise ReplayError(f"`{inst.name}` faults at step {len(steps)}: {err.message}") from err
        if got != nxt:
            raise ReplayError(f"`{inst.name}` does not lead to the solver's state {nxt}")
        steps.append(Step(inst.transition, args, nxt))
        state = nxt
    return _finish(model, goal, steps, state)


def _check_initial(model: ir.Model, start: tuple[int, ...]) -> None:
    for slot, v in zip(model.slots, start, strict=True):
        if v not in slot.type.values():
            raise ReplayError(f"initial value {v} of `{slot.label}` is outside its type")
    for var in model.vars:
        if var.init is not None and tuple(start[var.slot : var.slot + len(var.init)]) != var.init:
            raise ReplayError(f"`{var.name}` does not start at its initial value")
    if not all(_true(p, start) for p in model.init):
        raise ReplayError("the first state does not satisfy `init`")


def _true(e: ir.Expr, state: tuple[int, ...]) -> bool:
    try:
        return bool(eval_expr(e, state, {}))
    except EvalError:
        return False


def _finish(model: ir.Model, goal: Goal, steps: list[Step], state: tuple[int, ...]) -> Trace:
    if goal.prop is not None:
        if _true(goal.prop.cond, state) != goal.is_reach:
            raise ReplayError(f"the last state does not {_what(goal)}")
        return Trace(tuple(steps))
    outcomes = list(sem.successors(model, state))
    if goal.kind == "deadlock":
        if outcomes or sem.is_final(model, state):
            raise ReplayError("the last state is not a deadlock")
        return Trace(tuple(steps))
    for inst, out in outcomes:
        if isinstance(out, EvalError):
            steps.append(Step(inst.transition, inst.args, state))
            return Trace(tuple(steps), out.message)
    raise ReplayError("no instance faults in the last state")


def _what(goal: Goal) -> str:
    return f"reach `{goal.name}`" if goal.is_reach else f"violate `{goal.name}`"
