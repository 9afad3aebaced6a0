"""What CI tools show at a place in a spec: failed or undecided properties and diagnostics.

SARIF results and GitHub annotations are both rendered from these findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from verifier import ir
from verifier.check.results import CheckResult, PropertyResult
from verifier.diagnostics import WHOLE_FILE, Diagnostic, Span
from verifier.report.text import render_property

Level = Literal["error", "warning", "note"]

# rule id -> one-line description; diagnostic rules are "diagnostic/CODE"
PROPERTY_RULES: dict[str, str] = {
    "property/invariant": "an invariant is broken in a reachable state",
    "property/reachable": "a reachable goal can never be reached",
    "property/deadlock": "a reachable state that is not final has nothing enabled",
    "property/domain": "a transition writes a value outside its variable's range",
    "property/inconclusive": "a bound or a timeout stopped the check of a property",
}


@dataclass(frozen=True)
class Finding:
    """One located message: a violated or inconclusive property, or a diagnostic."""

    path: str
    span: Span | None  # None: the file as a whole
    level: Level
    rule: str
    title: str
    details: str
    model: ir.Model | None = None
    prop: PropertyResult | None = None


def headline(p: PropertyResult) -> str:
    """One line saying what happened to property `p`."""
    if p.verdict == "inconclusive":
        why = f": {p.message}" if p.message else ""
        what = p.kind if p.kind in ("deadlock", "domain") else f"{p.kind} `{p.name}`"
        return f"{what} is inconclusive{why}"
    if p.verdict != "violated":
        return f"{p.kind} `{p.name}` is {p.verdict}"
    return {
        "invariant": f"invariant `{p.name}` is violated",
        "reachable": f"reachable `{p.name}` can never be reached",
        "deadlock": "deadlock: a reachable state that is not final has nothing enabled",
        "domain": f"domain violation: {p.message}",
    }[p.kind]


def property_span(p: PropertyResult) -> Span | None:
    """Where a property's finding points: its declaration, else the last transition taken."""
    if p.span is not None:
        return p.span
    if p.trace is not None and p.trace.steps[-1].transition is not None:
        return p.trace.steps[-1].transition.span
    return None


def findings(results: Sequence[CheckResult]) -> list[Finding]:
    """Every finding of every result, in report order."""
    out: list[Finding] = []
    for r in results:
        out.extend(_diagnostic(r, d) for d in r.diagnostics)
        if r.model is None:
            continue
        for p in r.properties:
            if p.verdict in ("violated", "inconclusive"):
                out.append(_property(r, r.model, p))
    return out


def _diagnostic(r: CheckResult, d: Diagnostic) -> Finding:
    span = None if d.span == WHOLE_FILE or d.span.line < 1 else d.span
    details = f"hint: {d.help}" if d.help else ""
    return Finding(d.path or r.path, span, d.severity, f"diagnostic/{d.code}", d.message, details)


def _property(r: CheckResult, model: ir.Model, p: PropertyResult) -> Finding:
    violated = p.verdict == "violated"
    rule = f"property/{p.kind}" if violated else "property/inconclusive"
    block = render_property(model, p, verbose=True) or ""
    details = "\n".join(block.splitlines()[1:])  # the headline is the title
    level: Level = "error" if violated else "warning"
    return Finding(r.path, property_span(p), level, rule, headline(p), details, model, p)
