"""GitHub Actions workflow commands: `::error file=F,line=L,col=C::message` per finding, which
GitHub shows as annotations on the pull request's diff."""

from __future__ import annotations

from collections.abc import Sequence

from verifier.check.results import CheckResult
from verifier.report.findings import Finding, findings

COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def github_annotations(results: Sequence[CheckResult]) -> str:
    """One workflow command line per finding (empty when there is none)."""
    return "".join(annotation(f) + "\n" for f in findings(results))


def annotation(f: Finding) -> str:
    """The workflow command of one finding."""
    fields = [("file", f.path)]
    if f.span is not None and f.span.line >= 1:
        fields += [("line", str(f.span.line)), ("col", str(max(f.span.column, 1)))]
        if f.span.end_line >= f.span.line:
            fields += [("endLine", str(f.span.end_line)), ("endColumn", str(f.span.end_column))]
    fields.append(("title", f"verifier {f.rule}"))
    props = ",".join(f"{key}={_escape_property(value)}" for key, value in fields)
    text = f.title + (f"\n{f.details}" if f.details else "")
    return f"::{COMMANDS[f.level]} {props}::{_escape_data(text)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
