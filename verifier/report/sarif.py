"""SARIF 2.1.0: a violated property is a result at its line with its trace as a code flow;
diagnostics are results at their spans. Code-scanning tools (GitHub, GitLab, IDEs) read it."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from verifier import __version__, ir
from verifier.check.results import CheckResult, Trace, exit_code
from verifier.diagnostics import CODES, Span
from verifier.ir.values import state_to_json
from verifier.report.findings import PROPERTY_RULES, Finding, findings
from verifier.report.text import trace_rows

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {"error": "error", "warning": "warning", "note": "note"}


def rules() -> list[dict[str, Any]]:
    """Every rule a result may name: the property kinds, then the diagnostic codes."""
    described = dict(PROPERTY_RULES)
    described.update({f"diagnostic/{code}": text for code, text in CODES.items()})
    return [{"id": rid, "shortDescription": {"text": text}} for rid, text in described.items()]


def sarif_log(results: Sequence[CheckResult]) -> dict[str, Any]:
    """The SARIF log of one `verifier check` run."""
    table = rules()
    index = {rule["id"]: i for i, rule in enumerate(table)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "verifier",
                        "version": __version__,
                        "rules": table,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": exit_code(list(results)) in (0, 1),
                        "exitCode": exit_code(list(results)),
                    }
                ],
                "results": [_result(f, index) for f in findings(results)],
            }
        ],
    }


def render_sarif(results: Sequence[CheckResult]) -> str:
    """The SARIF log as indented JSON text."""
    return json.dumps(sarif_log(results), indent=2) + "\n"


def artifact_uri(path: str) -> str:
    """A relative path as a relative URI reference (what code scanning expects); else file:."""
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(Path(path).as_posix())


def _location(path: str, span: Span | None, message: str | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(path)}}
    if span is not None and span.line >= 1:
        region = {"startLine": span.line, "startColumn": max(span.column, 1)}
        if span.end_line >= span.line and span.end_column >= 1:
            region.update(endLine=span.end_line, endColumn=span.end_column)
        physical["region"] = region
    out: dict[str, Any] = {"physicalLocation": physical}
    if message:
        out["message"] = {"text": message}
    return out


def _result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    text = f.title + (f"\n{f.details}" if f.details else "")
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "kind": "fail" if f.level == "error" or f.prop is None else "open",
        "level": LEVELS[f.level],
        "message": {"text": text},
        "locations": [_location(f.path, f.span)],
    }
    if f.prop is not None and f.model is not None:
        out["properties"] = {"property": f.prop.name, "capability": f.model.name}
        if f.prop.engine:
            out["properties"]["engine"] = f.prop.engine
        if f.prop.trace is not None and f.prop.verdict == "violated":
            out["codeFlows"] = [_code_flow(f.model, f.path, f.prop.trace)]
    return out


def _code_flow(model: ir.Model, path: str, trace: Trace) -> dict[str, Any]:
    """The counterexample as one thread flow: a location per step, the full state at each."""
    steps = []
    for i, (step, (_, label, changes)) in enumerate(
        zip(trace.steps, trace_rows(model, trace), strict=True)
    ):
        span = step.transition.span if step.transition is not None else None
        message = f"step {i}: {label}: {changes}"
        state = {k: {"text": json.dumps(v)} for k, v in state_to_json(model, step.state).items()}
        steps.append(
            {"location": _location(path, span, message), "state": state, "executionOrder": i}
        )
    n = len(trace)
    return {
        "message": {"text": f"shortest counterexample, {n} step{'s' if n != 1 else ''}"},
        "threadFlows": [{"locations": steps}],
    }
