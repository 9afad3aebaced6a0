"""CI outputs of `verifier check`: SARIF 2.1.0 (validated against the official schema), JUnit XML
(parsed and validated against the Jenkins JUnit XSD) and GitHub workflow annotations.

The vendored schemas and their provenance: tests/data/sarif/PROVENANCE.md and
tests/data/junit/PROVENANCE.md.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st

from verifier.check.dispatch import CheckOptions
from verifier.check.results import EXIT_CODES
from verifier.cli.check import check_paths
from verifier.report.junit import Case, Suite, junit_xml
from verifier.report.sarif import artifact_uri

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = json.loads((ROOT / "tests/data/sarif/sarif-schema-2.1.0.json").read_text())
JUNIT_XSD = xmlschema.XMLSchema(str(ROOT / "tests/data/junit/junit-10.xsd"))
VIOLATIONS = sorted((ROOT / "examples/violations").glob("*.cap"))
DIAG_CASES = sorted((ROOT / "tests/data/diagnostics").glob("*.cap"))
EMAIL_BUG = "examples/violations/email_label_bug.cap"


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def run(*paths: str, fmt: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check_paths(list(paths), CheckOptions(), {}, fmt, False, out, err)
    return code, out.getvalue(), err.getvalue()


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def sarif_of(*paths: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Exit code, SARIF log (validated against the schema) and the JSON report of `paths`."""
    code, out, _ = run(*paths, fmt="sarif")
    log = json.loads(out)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    report = json.loads(run(*paths, fmt="json")[1])
    return code, log, report


def test_schema_is_the_official_one() -> None:
    assert (
        SARIF_SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    )
    jsonschema.Draft4Validator.check_schema(SARIF_SCHEMA)


def test_the_schema_rejects_a_broken_log() -> None:
    _, log, _ = sarif_of(EMAIL_BUG)
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


@pytest.mark.parametrize("case", VIOLATIONS, ids=lambda p: p.stem)
def test_sarif_violation_is_a_result_at_the_property_line_with_its_trace(case: Path) -> None:
    code, log, report = sarif_of(rel(case))
    assert code == 1
    (run_,) = log["runs"]
    assert run_["invocations"] == [{"executionSuccessful": True, "exitCode": 1}]
    rules = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    violated = [p for p in report["files"][0]["properties"] if p["verdict"] == "violated"]
    results = [r for r in run_["results"] if r["ruleId"].startswith("property/")]
    assert len(results) == len(violated) > 0
    for prop, result in zip(violated, results, strict=True):
        assert result["ruleId"] == f"property/{prop['kind']}"
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert (result["kind"], result["level"]) == ("fail", "error")
        assert result["properties"]["property"] == prop["name"]
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == rel(case)
        if "line" in prop:
            assert location["physicalLocation"]["region"]["startLine"] == prop["line"]
        (flow,) = result["codeFlows"]
        steps = flow["threadFlows"][0]["locations"]
        assert len(steps) == prop["length"] + 1 == len(prop["trace"])
        for i, (step, row) in enumerate(zip(steps, prop["trace"], strict=True)):
            assert step["executionOrder"] == i
            assert {k: json.loads(v["text"]) for k, v in step["state"].items()} == row["state"]
            label = row["action"] or "(initial)"
            assert step["location"]["message"]["text"].startswith(f"step {i}: {label}")


def test_sarif_code_flow_steps_point_at_the_transitions() -> None:
    _, log, _ = sarif_of(EMAIL_BUG)
    source = (ROOT / EMAIL_BUG).read_text().splitlines()
    result = log["runs"][0]["results"][0]
    for step in result["codeFlows"][0]["threadFlows"][0]["locations"][1:]:
        line = step["location"]["physicalLocation"]["region"]["startLine"]
        name = step["location"]["message"]["text"].split(": ")[1].split("(")[0]
        assert source[line - 1].lstrip().split()[:2][1].startswith(name)


@pytest.mark.parametrize("case", DIAG_CASES, ids=lambda p: p.stem)
def test_sarif_diagnostics_are_results_at_their_spans(case: Path) -> None:
    code, log, report = sarif_of(rel(case))
    assert code == EXIT_CODES[report["files"][0]["verdict"]]
    diags = report["files"][0]["diagnostics"]
    results = [r for r in log["runs"][0]["results"] if r["ruleId"].startswith("diagnostic/")]
    assert len(results) == len(diags) > 0
    for d, r in zip(diags, results, strict=True):
        assert r["ruleId"] == f"diagnostic/{d['code']}"
        assert r["level"] == d["severity"]
        assert r["message"]["text"].split("\n")[0] == d["message"]
        if "help" in d:
            assert r["message"]["text"].endswith(f"hint: {d['help']}")
        region = r["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (d["line"], d["column"])
        assert (region["endLine"], region["endColumn"]) == (d["end_line"], d["end_column"])


def test_sarif_of_a_missing_path_and_a_passing_model() -> None:
    code, log, _ = sarif_of("no/such.cap", "models/refund_agent.cap")
    assert code == 2
    (result,) = log["runs"][0]["results"]  # the passing model adds no result
    assert result["ruleId"] == "diagnostic/io"
    assert result["message"]["text"] == "`no/such.cap` does not exist"
    assert "region" not in result["locations"][0]["physicalLocation"]  # the file as a whole
    assert log["runs"][0]["invocations"][0] == {"executionSuccessful": False, "exitCode": 2}


def junit_of(*paths: str) -> tuple[int, ET.Element, dict[str, Any]]:
    code, out, _ = run(*paths, fmt="junit")
    JUNIT_XSD.validate(out)
    return code, ET.fromstring(out), json.loads(run(*paths, fmt="json")[1])


def test_junit_one_case_per_property_with_the_counterexample() -> None:
    code, root, report = junit_of(EMAIL_BUG, "models/refund_agent.cap")
    assert code == 1
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [EMAIL_BUG, "models/refund_agent.cap"]
    for suite, file in zip(suites, report["files"], strict=True):
        cases = suite.findall("testcase")
        assert len(cases) == len(file["properties"]) == int(suite.get("tests", ""))
        failed = [p for p in file["properties"] if p["verdict"] == "violated"]
        assert int(suite.get("failures", "")) == len(failed)
        for case, prop in zip(cases, file["properties"], strict=True):
            assert case.get("classname") == file["capability"]
            failure = case.find("failure")
            assert (failure is not None) == (prop["verdict"] == "violated")
    bug = suites[0].find("testcase[@name='invariant no_exfiltration']")
    assert bug is not None
    failure = bug.find("failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message") == "invariant `no_exfiltration` is violated"
    assert failure.get("type") == "violated"
    assert failure.text.startswith(
        f"invariant `no_exfiltration` is violated ({EMAIL_BUG}:63)\n  not leaked\n"
        "shortest counterexample, 5 steps:\n"
    )
    lines = failure.text.splitlines()
    assert (
        "send(external=true)"
        in lines[lines.index("why each step could be taken (its guards held):") - 1]
    )
    assert lines[-1] == "  `not leaked` is false: `leaked` is true"  # the explanation ends it
    assert root.get("tests") == str(sum(len(f["properties"]) for f in report["files"]))


def test_junit_invalid_spec_is_one_error_case() -> None:
    code, root, _ = junit_of("tests/data/diagnostics/type_errors.cap")
    assert code == 2
    (case,) = root.iter("testcase")
    error = case.find("error")
    assert error is not None and error.text is not None
    assert error.get("type") == "invalid"
    assert error.get("message", "").startswith("invalid spec: ")
    assert "type_errors.cap:" in error.text


def xml_safe(text: str) -> str:
    """What a character-for-character XML round trip gives: unusable characters replaced."""
    allowed = lambda c: c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"  # noqa: E731
    return "".join(c if allowed(c) or c >= "\U00010000" else "\ufffd" for c in text)


@given(st.text(), st.text())
def test_junit_carries_any_text(name: str, details: str) -> None:
    document = junit_xml([Suite("s", (Case(name, "c", "failure", name, details),))])
    JUNIT_XSD.validate(document)
    parsed = ET.fromstring(document).find("testsuite/testcase")
    assert parsed is not None and parsed.get("name") == xml_safe(name)
    failure = parsed.find("failure")
    assert failure is not None and failure.get("message") == xml_safe(name)
    expected = xml_safe(details).replace("\r\n", "\n").replace("\r", "\n")  # XML line ends
    assert (failure.text or "") == expected


def test_github_annotations_only_under_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(EMAIL_BUG, fmt="text")[2] == ""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, err = run(EMAIL_BUG, "tests/data/diagnostics/warnings.cap", fmt="text")
    assert code == 1
    assert "shortest counterexample" in out  # the report itself is unchanged
    lines = err.splitlines()
    assert lines[0].startswith(
        f"::error file={EMAIL_BUG},line=63,col=11,endLine=63,endColumn=26,"
        "title=verifier property/invariant::invariant `no_exfiltration` is violated"
        "%0A  not leaked%0Ashortest counterexample, 5 steps:%0A"
    )
    assert "\n" not in err.rstrip("\n").replace("\n::", "::")  # one line per annotation
    warnings = [ln for ln in lines if ln.startswith("::warning ")]
    assert warnings and all("file=tests/data/diagnostics/warnings.cap,line=" in w for w in warnings)
    assert all(ln.startswith(("::error ", "::warning ", "::notice ")) for ln in lines)


def test_sarif_inconclusive_properties_are_open_warnings() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = check_paths(["models/refund_agent.cap"], CheckOptions(max_states=5), {}, "sarif",
                       False, out, err)  # fmt: skip
    log = json.loads(out.getvalue())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert code == 3
    assert log["runs"][0]["invocations"][0] == {"executionSuccessful": False, "exitCode": 3}
    results = log["runs"][0]["results"]
    assert results and {(r["ruleId"], r["kind"], r["level"]) for r in results} == {
        ("property/inconclusive", "open", "warning")
    }
    assert "codeFlows" not in results[0]
    assert results[0]["message"]["text"].startswith("invariant `large_refunds_approved` is inconc")


def test_artifact_uris() -> None:
    assert artifact_uri("models/a b.cap") == "models/a%20b.cap"
    assert artifact_uri("/srv/specs/a#1.cap") == "file:///srv/specs/a%231.cap"
