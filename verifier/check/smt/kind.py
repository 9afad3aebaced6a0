"""k-induction: a base case by BMC and an inductive step over paths of `good` states."""

from __future__ import annotations

import z3

from verifier.check.control import Hooks, Status
from verifier.check.smt.bmc import Unrolling
from verifier.check.smt.encode import Encoding
from verifier.check.smt.goals import Budget, Goal, Outcome


def run_kind(
    enc: Encoding,
    goal: Goal,
    max_k: int,
    timeout: float | None,
    simple_path: bool = True,
    hooks: Hooks | None = None,
) -> Outcome:
    """Prove `goal` k-inductive for the smallest k <= max_k, or find a counterexample."""
    hk = hooks or Hooks()
    budget = Budget(timeout)
    base = Unrolling(enc, "kb")
    step = Unrolling(enc, "ks", from_init=False)
    for k in range(1, max_k + 1):
        hk.status(Status("kind", k=k, goal=goal.name))
        if hk.skip(0):
            return Outcome("unknown", "kind", note="decided by another engine")
        while base.depth < k - 1:
            base.extend()
        res, path = base.check([z3.Not(goal.good(base.states[-1]))], budget, want_path=True)
        if res == z3.sat:
            return Outcome("fails", "kind", path=path, detail=f"depth {k - 1}")
        if res == z3.unknown:
            return _gave_up(k, budget)
        step.solver.add(goal.good(step.states[-1]))
        step.extend()
        if simple_path:
            last = step.states[-1]
            step.solver.add(*[enc.distinct(last, other) for other in step.states[:-1]])
        res, _ = step.check([z3.Not(goal.good(step.states[-1]))], budget)
        if res == z3.unsat:
            # The property itself is the (k-inductive) invariant; certificates restate it.
            return Outcome("holds", "kind", detail=f"k={k}", k=k, simple_path=simple_path)
        if res == z3.unknown:
            return _gave_up(k, budget)
    return Outcome("unknown", "kind", note=f"not k-inductive for any k <= {max_k}")


def _gave_up(k: int, budget: Budget) -> Outcome:
    why = "time limit reached" if budget.expired() else "solver gave up"
    return Outcome("unknown", "kind", note=f"{why} at k={k}")
