"""Bounded model checking: unroll the transition relation incrementally, shortest first."""

from __future__ import annotations

from collections.abc import Sequence

import z3

from verifier.check.control import Hooks, Status
from verifier.check.smt.encode import Encoding, State, Step
from verifier.check.smt.goals import Budget, Goal, Outcome
from verifier.check.smt.replay import Path, extract


class Unrolling:
    """Paths s0 -> s1 -> ... in one incremental solver, from initial states or from anywhere."""

    def __init__(self, enc: Encoding, prefix: str, from_init: bool = True) -> None:
        self.enc = enc
        self.prefix = prefix
        # The finite-domain solver bit-blasts incrementally: an order of magnitude faster on
        # deep unrollings than the general SMT core (benchmarks/README.md, "Symbolic engines").
        self.solver = z3.SolverFor("QF_FD")
        s0 = enc.state(f"{prefix}0")
        self.states: list[State] = [s0]
        self.steps: list[Step] = []
        self.solver.add(enc.initial(s0) if from_init else enc.in_range(s0))

    @property
    def depth(self) -> int:
        return len(self.states) - 1

    def extend(self) -> None:
        k = len(self.states)
        nxt = self.enc.state(f"{self.prefix}{k}")
        step = self.enc.step(f"{self.prefix}{k - 1}")
        self.solver.add(self.enc.trans(self.states[-1], step, nxt), self.enc.in_range(nxt))
        self.states.append(nxt)
        self.steps.append(step)

    def check(
        self, extra: Sequence[z3.BoolRef], budget: Budget, want_path: bool = False
    ) -> tuple[z3.CheckSatResult, Path | None]:
        """Satisfiability of the path so far with `extra` (temporarily) added, and its path."""
        if budget.expired():
            return z3.unknown, None
        budget.arm(self.solver)
        self.solver.push()
        self.solver.add(*extra)
        try:
            res = self.solver.check()
            path = None
            if res == z3.sat and want_path:
                path = extract(self.enc, self.solver.model(), self.states, self.steps)
            return res, path
        finally:
            self.solver.pop()


def run_bmc(
    enc: Encoding,
    goals: Sequence[Goal],
    depth: int,
    timeout: float | None,
    hooks: Hooks | None = None,
) -> list[Outcome]:
    """Search for the shortest counterexample of every goal up to `depth` steps.

    `hooks` hear each decided goal and each depth reached; goals it says to skip are dropped.
    """
    hk = hooks or Hooks()
    outcomes: list[Outcome | None] = [None] * len(goals)
    budgets = [Budget(timeout) for _ in goals]
    un = Unrolling(enc, "b")
    while True:
        k = un.depth
        hk.status(Status("bmc", depth=k))
        for i, g in enumerate(goals):
            if outcomes[i] is None and not hk.skip(i):
                outcomes[i] = _probe(un, g, budgets[i])
                if outcomes[i] is not None:
                    hk.outcome(i, outcomes[i])
        open_goals = [i for i, o in enumerate(outcomes) if o is None and not hk.skip(i)]
        if not open_goals or k >= depth:
            break
        un.extend()
        if un.check([], Budget(timeout))[0] == z3.unsat:
            done = _exhausted(outcomes, k)
            for i in open_goals:
                hk.outcome(i, done[i])
            return done
    return [
        o or Outcome("unknown", "bmc", note=f"no counterexample up to depth {depth}")
        for o in outcomes
    ]


def _probe(un: Unrolling, g: Goal, budget: Budget) -> Outcome | None:
    bad = z3.Not(g.good(un.states[-1]))
    res, path = un.check([bad], budget, want_path=True)
    if res == z3.unknown:
        why = "time limit reached" if budget.expired() else "solver gave up"
        return Outcome("unknown", "bmc", note=f"{why} at depth {un.depth}")
    if res == z3.unsat:
        return None
    return Outcome("fails", "bmc", path=path, detail=f"depth {un.depth}")


def _exhausted(outcomes: list[Outcome | None], k: int) -> list[Outcome]:
    """No path is longer than `k` steps, so every open goal holds."""
    detail = f"no path longer than {k} steps"
    return [o or Outcome("holds", "bmc", detail=detail) for o in outcomes]
