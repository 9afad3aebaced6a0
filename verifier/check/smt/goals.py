"""Every property as a state predicate that must hold in all reachable states.

Invariants are themselves; a `reachable` goal G becomes "never G" (a counterexample is its
witness, a proof shows it unreachable); deadlock freedom is "final or some instance enabled";
domain safety is "no instance faults". All engines work on this one form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import z3

from verifier import ir
from verifier.check.smt.encode import Encoding, State

Predicate = Callable[[State], z3.BoolRef]


@dataclass(frozen=True)
class Goal:
    """A property to check: `good` must hold in every reachable state."""

    name: str
    kind: str  # "invariant" | "reachable" | "deadlock" | "domain"
    good: Predicate
    prop: ir.Property | None = None

    @property
    def is_reach(self) -> bool:
        return self.kind == "reachable"


def goals(enc: Encoding, deadlock: bool) -> list[Goal]:
    """The model's properties, then deadlock (if checked), then domain: the explicit order."""
    out = [_property_goal(enc, p) for p in enc.model.properties]
    if deadlock:
        out.append(Goal("deadlock", "deadlock", enc.deadlock_free))
    out.append(Goal("domain", "domain", enc.domain_safe))
    return out


def _property_goal(enc: Encoding, p: ir.Property) -> Goal:
    if p.kind == "reachable":
        return Goal(p.name, p.kind, lambda s: z3.Not(enc.holds(p.cond, s)), p)
    return Goal(p.name, p.kind, lambda s: enc.holds(p.cond, s), p)


@dataclass
class Outcome:
    """What one engine concluded about one goal."""

    status: str  # "holds" | "fails" | "unknown"
    engine: str
    path: object | None = None  # a replay.Path when the goal fails
    detail: str | None = None  # e.g. "k=3"
    invariant: str | None = None  # SMT-LIB2 term over the bare state names, when it holds
    k: int = 1  # the invariant is k-inductive
    simple_path: bool = False  # ... with simple-path constraints
    note: str | None = None


class Budget:
    """A wall-clock allowance (None: unlimited) that solver calls draw from."""

    def __init__(self, seconds: float | None) -> None:
        import time

        self._clock = time.monotonic
        self.deadline = None if seconds is None else self._clock() + seconds

    def expired(self) -> bool:
        return self.deadline is not None and self._clock() >= self.deadline

    def arm(self, solver: z3.Solver | z3.Fixedpoint) -> None:
        """Limit the solver's next call to the time left."""
        if self.deadline is not None:
            ms = max(1, int((self.deadline - self._clock()) * 1000))
            solver.set("timeout", ms)
