"""What engines produce: per-property verdicts with traces, per-file results, JSON rendering."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from verifier import ir
from verifier.diagnostics import Diagnostic, Span
from verifier.ir.values import args_to_json, state_to_json

Verdict = Literal["proved", "violated", "inconclusive", "invalid"]
Kind = Literal["invariant", "reachable", "deadlock", "domain"]


@dataclass(frozen=True)
class Step:
    """One trace row: the transition taken (None for the initial state) and the state reached."""

    transition: ir.Transition | None
    args: tuple[int, ...]
    state: tuple[int, ...]

    def to_json(self, model: ir.Model) -> dict[str, Any]:
        t = self.transition
        return {
            "action": t.name if t else None,
            "kind": t.kind if t else None,
            "args": args_to_json(t.params, self.args) if t else {},
            "state": state_to_json(model, self.state),
        }


@dataclass(frozen=True)
class Trace:
    """Steps from an initial state. For a domain violation, `failure` says what the last
    (attempted) step would have done; its state is the pre-state."""

    steps: tuple[Step, ...]
    failure: str | None = None

    def __len__(self) -> int:
        """Number of transitions (the initial state is not one)."""
        return len(self.steps) - 1

    def to_json(self, model: ir.Model) -> list[dict[str, Any]]:
        return [s.to_json(model) for s in self.steps]


@dataclass
class PropertyResult:
    name: str
    kind: Kind
    verdict: Verdict
    trace: Trace | None = None
    message: str | None = None
    span: Span | None = None
    text: str | None = None
    engine: str | None = None
    detail: str | None = None  # e.g. "k-induction, k=3"

    def to_json(self, model: ir.Model) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "verdict": self.verdict}
        if self.span is not None:
            out["line"] = self.span.line
        if self.engine:
            out["engine"] = self.engine
        if self.detail:
            out["detail"] = self.detail
        if self.message:
            out["message"] = self.message
        if self.trace is not None:
            out["trace"] = self.trace.to_json(model)
            out["length"] = len(self.trace)
        return out


@dataclass
class CheckResult:
    """The outcome of checking one file."""

    path: str
    source: str
    model: ir.Model | None
    engine: str = "explicit"
    properties: list[PropertyResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    states: int | None = None
    transitions: int | None = None
    generated: int | None = None
    depth: int | None = None
    seconds: float = 0.0
    coverage: dict[str, int] = field(default_factory=dict)
    complete: bool = True  # False when a bound (max states, depth, timeout) stopped the search
    notes: list[str] = field(default_factory=list)
    reached: dict[str, dict[str, Any]] = field(default_factory=dict)  # engine -> how far it got

    @property
    def verdict(self) -> Verdict:
        if self.model is None or any(d.severity == "error" for d in self.diagnostics):
            return "invalid"
        verdicts = {p.verdict for p in self.properties}
        if "violated" in verdicts:
            return "violated"
        if "inconclusive" in verdicts:
            return "inconclusive"
        return "proved"

    @property
    def state_space_bits(self) -> float | None:
        if not self.states:
            return None
        return round(math.log2(self.states), 2)

    def to_json(self) -> dict[str, Any]:
        m = self.model
        out: dict[str, Any] = {
            "path": self.path,
            "capability": m.name if m else None,
            "verdict": self.verdict,
            "engine": self.engine,
            "states": self.states,
            "transitions": self.transitions,
            "generated": self.generated,
            "depth": self.depth,
            "state_space_bits": self.state_space_bits,
            "declared_space": m.declared_space() if m else None,
            "declared_bits": round(m.declared_bits(), 2) if m else None,
            "seconds": round(self.seconds, 4),
            "complete": self.complete,
            "properties": [p.to_json(m) for p in self.properties] if m else [],
            "coverage": dict(self.coverage),
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }
        if self.notes:
            out["notes"] = list(self.notes)
        if self.reached:
            out["reached"] = {e: dict(r) for e, r in self.reached.items()}
        return out


EXIT_CODES = {"proved": 0, "violated": 1, "invalid": 2, "inconclusive": 3}


def exit_code(results: list[CheckResult]) -> int:
    """The CI contract: 2 if any spec is invalid, else 1 if any violation, else 3, else 0."""
    verdicts = {r.verdict for r in results}
    for v in ("invalid", "violated", "inconclusive"):
        if v in verdicts:
            return EXIT_CODES[v]
    return 0


def report_json(results: list[CheckResult]) -> dict[str, Any]:
    return {"version": 1, "files": [r.to_json() for r in results]}
