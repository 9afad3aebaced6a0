"""JUnit XML, the test-report format every CI reads: one test case per property.

`Suite` and `Case` are the format's model and `junit_xml` its writer, so other producers
(scenario runs, for instance) render their own cases the same way; `check_suites` makes the
suites of `verifier check` results.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from verifier.check.results import CheckResult
from verifier.diagnostics import render as render_diagnostic
from verifier.report.findings import headline
from verifier.report.text import render_property

Outcome = Literal["passed", "failure", "error", "skipped"]
# characters XML 1.0 cannot carry, even escaped
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Case:
    """One test case: its outcome, a one-line message and the full text (a counterexample)."""

    name: str
    classname: str
    outcome: Outcome = "passed"
    message: str = ""
    details: str = ""
    seconds: float = 0.0
    kind: str = ""  # the `type` attribute of a failure, error or skip


@dataclass(frozen=True)
class Suite:
    """A test suite: one spec file (or any group of cases)."""

    name: str
    cases: tuple[Case, ...]
    seconds: float = 0.0
    file: str | None = None
    output: str = ""  # notes and warnings, as <system-out>


def junit_xml(suites: Sequence[Suite], name: str = "verifier") -> str:
    """The JUnit XML document (a <testsuites> root) of `suites`."""
    root = ET.Element("testsuites", name=_clean(name))
    _counts(root, [c for s in suites for c in s.cases], sum(s.seconds for s in suites))
    for suite in suites:
        root.append(_suite(suite))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _counts(node: ET.Element, cases: Sequence[Case], seconds: float) -> None:
    node.set("tests", str(len(cases)))
    node.set("failures", str(sum(c.outcome == "failure" for c in cases)))
    node.set("errors", str(sum(c.outcome == "error" for c in cases)))
    node.set("time", f"{seconds:.3f}")


def _suite(suite: Suite) -> ET.Element:
    node = ET.Element("testsuite", name=_clean(suite.name))
    _counts(node, suite.cases, suite.seconds)
    node.set("skipped", str(sum(c.outcome == "skipped" for c in suite.cases)))
    if suite.file is not None:
        node.set("file", _clean(suite.file))
    for case in suite.cases:
        item = ET.SubElement(node, "testcase", name=_clean(case.name))
        item.set("classname", _clean(case.classname))
        item.set("time", f"{case.seconds:.3f}")
        if case.outcome != "passed":
            outcome = ET.SubElement(item, case.outcome, message=_clean(case.message))
            if case.kind:
                outcome.set("type", _clean(case.kind))
            outcome.text = _clean(case.details) or None
    if suite.output:
        ET.SubElement(node, "system-out").text = _clean(suite.output)
    return node


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def check_suites(results: Sequence[CheckResult]) -> list[Suite]:
    """One suite per spec file, one case per property; an invalid spec is one error case."""
    return [_check_suite(r) for r in results]


def _check_suite(r: CheckResult) -> Suite:
    classname = r.model.name if r.model is not None else r.path
    errors = [d for d in r.diagnostics if d.severity == "error"]
    others = [d for d in r.diagnostics if d.severity != "error"]
    output = "\n".join([*(render_diagnostic(d, r.source) for d in others), *r.notes])
    if r.model is None or errors:
        text = "\n".join(render_diagnostic(d, r.source) for d in errors)
        n = len(errors)
        message = f"invalid spec: {n} error{'s' * (n != 1)}"
        case = Case("spec", classname, "error", message, text, kind="invalid")
        return Suite(r.path, (case,), r.seconds, r.path, output)
    cases = []
    for p in r.properties:
        name = p.kind if p.kind in ("deadlock", "domain") else f"{p.kind} {p.name}"
        if p.verdict == "proved":
            cases.append(Case(name, classname))
            continue
        outcome: Outcome = "failure" if p.verdict == "violated" else "error"
        details = render_property(r.model, p, verbose=True) or ""
        cases.append(Case(name, classname, outcome, headline(p), details, 0.0, p.verdict))
    return Suite(r.path, tuple(cases), r.seconds, r.path, output)
