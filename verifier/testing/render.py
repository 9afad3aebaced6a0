"""The report of `verifier test`: one line per scenario, a diff for the first failing step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.diagnostics import render
from verifier.report.junit import Case, Suite, junit_xml
from verifier.testing.collect import Unit
from verifier.testing.coverage import Coverage
from verifier.testing.run import Outcome


@dataclass(frozen=True)
class UnitResult:
    """A unit with the outcome of each of its plans and the coverage they reached."""

    unit: Unit
    outcomes: tuple[Outcome, ...]
    coverage: Coverage | None

    @property
    def invalid(self) -> bool:
        return self.unit.model is None

    @property
    def failed(self) -> int:
        return sum(not o.passed for o in self.outcomes)


def exit_code(results: list[UnitResult]) -> int:
    """2 if any input is invalid or nothing ran, else 1 if a scenario failed, else 0."""
    if any(r.invalid for r in results) or not any(r.outcomes for r in results):
        return 2
    return 1 if any(r.failed for r in results) else 0


def render_text(results: list[UnitResult], coverage: bool = True) -> str:
    """The report for people."""
    out: list[str] = []
    for r in results:
        out.extend(_unit_text(r, coverage))
    total = sum(len(r.outcomes) for r in results)
    failed = sum(r.failed for r in results)
    if not total and not any(r.invalid for r in results):
        out.append("no scenarios found: declare `scenario` blocks (see docs/language.md#scenarios)")
    out.append(
        f"{total} scenario{'s' if total != 1 else ''}: {total - failed} passed, {failed} failed"
    )
    return "\n".join(out) + "\n"


def _unit_text(r: UnitResult, coverage: bool) -> list[str]:
    u = r.unit
    lines = [u.path if u.kind == "scenarios" else f"{u.path} ({u.kind} trace)"]
    lines.extend(render(d, u.sources.get(d.path)) for d in u.diagnostics)
    if r.invalid:
        return lines
    if not r.outcomes:
        lines.append("  no scenarios")
    for o in r.outcomes:
        lines.extend(outcome_text(o))
    if coverage and r.coverage is not None and r.outcomes:
        lines.extend(_coverage_text(r.coverage))
    return lines


def outcome_text(o: Outcome) -> list[str]:
    """One scenario's result: `ok` with its steps, or `FAIL` with the first failing step."""
    where = f"line {o.plan.line}" if o.plan.line else o.plan.path
    if o.failure is None:
        return [f"  ok    {o.plan.name} ({o.steps} step{'s' if o.steps != 1 else ''})"]
    f = o.failure
    at = f.where
    lines = [
        f"  FAIL  {o.plan.name} ({where})",
        f"        {at}, line {f.line}: {f.what}" if f.line else f"        {at}: {f.what}",
        f"        - expected: {f.expected}",
        f"        + actual:   {f.actual}",
    ]
    if f.context:
        lines.append(f"          {f.context}")
    return lines


def _coverage_text(c: Coverage) -> list[str]:
    s = c.summary()
    head = (
        f"  coverage: actions {s['actions'][0]}/{s['actions'][1]}, "
        f"events {s['events'][0]}/{s['events'][1]}, "
        f"clauses {s['clauses'][0]}/{s['clauses'][1]} seen both true and false"
    )
    lines = [head]
    unused = [f"{u.kind} `{n}`" for n, u in c.transitions.items() if not u.requested]
    if unused:
        lines.append(f"    never requested: {', '.join(unused)}")
    for clause in c.clauses.values():
        missing = [w for w, n in (("true", clause.true), ("false", clause.false)) if not n]
        if missing and clause.true + clause.false:
            lines.append(
                f"    never {missing[0]}: `{clause.transition}` line {clause.line} `{clause.text}`"
            )
    return lines


def render_json(results: list[UnitResult]) -> dict[str, Any]:
    """The report for tools (`--format json`)."""
    files = [_unit_json(r) for r in results]
    total = sum(len(r.outcomes) for r in results)
    failed = sum(r.failed for r in results)
    return {
        "version": 1,
        "files": files,
        "summary": {"scenarios": total, "passed": total - failed, "failed": failed},
    }


def _unit_json(r: UnitResult) -> dict[str, Any]:
    u = r.unit
    return {
        "path": u.path,
        "kind": u.kind,
        "capability": u.model.name if u.model is not None else None,
        "scenarios": [_outcome_json(o) for o in r.outcomes],
        "coverage": r.coverage.to_json() if r.coverage is not None else None,
        "diagnostics": [d.to_json() for d in u.diagnostics],
    }


def _outcome_json(o: Outcome) -> dict[str, Any]:
    f = o.failure
    return {
        "name": o.plan.name,
        "line": o.plan.line,
        "passed": o.passed,
        "steps": o.steps,
        "failure": None
        if f is None
        else {
            "step": f.step,
            "where": f.where,
            "line": f.line,
            "what": f.what,
            "expected": f.expected,
            "actual": f.actual,
            "context": f.context,
        },
    }


def render_junit(results: list[UnitResult]) -> str:
    """JUnit XML: one suite per file, one test case per scenario (or recorded session)."""
    return junit_xml([_suite(r) for r in results], name="verifier test")


def _suite(r: UnitResult) -> Suite:
    u = r.unit
    cls = u.model.name if u.model is not None else u.path
    if r.invalid:
        text = "\n".join(render(d, u.sources.get(d.path)) for d in u.diagnostics)
        first = next((d.message for d in u.diagnostics if d.severity == "error"), "invalid")
        case = Case("load", cls, "error", first, text, kind="invalid")
        return Suite(u.path, (case,), file=u.path)
    cases = tuple(_case(o, cls) for o in r.outcomes)
    output = "\n".join(_coverage_text(r.coverage)) if r.coverage is not None and r.outcomes else ""
    return Suite(u.path, cases, file=u.path, output=output)


def _case(o: Outcome, cls: str) -> Case:
    f = o.failure
    if f is None:
        return Case(o.plan.name, cls)
    message = f"{f.where}, line {f.line}: {f.what}: expected {f.expected}, got {f.actual}"
    details = "\n".join(line.strip() for line in outcome_text(o)[1:])
    return Case(o.plan.name, cls, "failure", message, details, kind="scenario")
