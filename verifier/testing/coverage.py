"""Which actions, events and clauses (guards and approvals) the scenarios exercised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier import ir
from verifier.guard.decision import ALLOW, ESCALATE
from verifier.guard.replay import Played
from verifier.ir.evaluate import EvalError, eval_expr
from verifier.ir.values import ValueError_, args_from_json


@dataclass
class TransitionUse:
    """How often a transition was requested, and how often it took effect."""

    kind: str
    requested: int = 0
    allowed: int = 0
    escalated: int = 0


@dataclass
class ClauseUse:
    """How often one guard clause was found true and false before a request was decided."""

    transition: str
    text: str
    line: int
    true: int = 0
    false: int = 0


class Coverage:
    """Counts per transition and per guard clause, over every step run."""

    def __init__(self, model: ir.Model) -> None:
        self.model = model
        self._by_name = {t.name: t for t in model.transitions}
        self.transitions = {t.name: TransitionUse(t.kind) for t in model.transitions}
        self.clauses = {
            (t.name, k): ClauseUse(t.name, " ".join(g.text.split()), g.span.line)
            for t in model.transitions
            for k, g in enumerate(t.guards)
        }
        for t in model.transitions:  # the approval condition, key -1: true means escalate
            if t.approval is not None:
                line = t.approval.span.line if t.approval.span.line > 1 else t.span.line
                self.clauses[(t.name, -1)] = ClauseUse(t.name, "needs approval", line)

    def record(
        self, kind: str | None, name: Any, args: Any, before: tuple[int, ...], played: Played
    ) -> None:
        """Count one step: the request, its effect and every guard's value in the pre-state."""
        t = self._by_name.get(name) if isinstance(name, str) else None
        if t is None or kind in ("approve", "reject", "release"):
            return
        use = self.transitions[t.name]
        use.requested += 1
        use.allowed += played.final.verdict == ALLOW
        use.escalated += played.decision.verdict == ESCALATE
        try:
            values = args_from_json(t.params, args if isinstance(args, dict) else None)
        except ValueError_:
            return
        env = {p.name: v for p, v in zip(t.params, values, strict=True)}
        enabled = True
        for k, g in enumerate(t.guards):
            held = self._count((t.name, k), g.cond, before, env)
            enabled = enabled and held is True
        if t.approval is not None and enabled:  # the guard asks only of enabled proposals
            self._count((t.name, -1), t.approval, before, env)

    def _count(
        self, key: tuple[str, int], cond: ir.Expr, state: tuple[int, ...], env: dict[str, int]
    ) -> bool | None:
        try:
            held = bool(eval_expr(cond, state, env))
        except EvalError:
            return None
        clause = self.clauses[key]
        clause.true += held
        clause.false += not held
        return held

    def to_json(self) -> dict[str, Any]:
        """The coverage as the JSON report shows it."""
        return {
            "transitions": {
                name: {
                    "kind": u.kind,
                    "requested": u.requested,
                    "allowed": u.allowed,
                    "escalated": u.escalated,
                }
                for name, u in self.transitions.items()
            },
            "clauses": [
                {
                    "transition": c.transition,
                    "line": c.line,
                    "clause": c.text,
                    "true": c.true,
                    "false": c.false,
                }
                for c in self.clauses.values()
            ],
            "summary": self.summary(),
        }

    def summary(self) -> dict[str, list[int]]:
        """[covered, total] for actions, events and clauses (seen both true and false)."""
        out: dict[str, list[int]] = {}
        for kind in ("action", "event"):
            uses = [u for u in self.transitions.values() if u.kind == kind]
            out[f"{kind}s"] = [sum(u.requested > 0 for u in uses), len(uses)]
        cs = list(self.clauses.values())
        out["clauses"] = [sum(c.true > 0 and c.false > 0 for c in cs), len(cs)]
        return out
