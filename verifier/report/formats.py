"""The machine-readable report formats of `verifier check`, by name."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from verifier.check.results import CheckResult, report_json
from verifier.report.explain import annotate_report
from verifier.report.junit import check_suites, junit_xml
from verifier.report.sarif import render_sarif

# `text` is rendered file by file as the check goes (report/text.py); these at the end
WRITERS: dict[str, Callable[[Sequence[CheckResult]], str]] = {
    "json": lambda results: json.dumps(_json(results), indent=2) + "\n",
    "sarif": render_sarif,
    "junit": lambda results: junit_xml(check_suites(results)),
}
FORMATS = ("text", *WRITERS)


def _json(results: Sequence[CheckResult]) -> dict[str, Any]:
    """The JSON report, each violated property with its explanation (report/explain.py)."""
    return annotate_report(results, report_json(list(results)))
