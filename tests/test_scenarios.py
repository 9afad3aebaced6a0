"""`verifier test`: scenarios in specs and scenario files, run through the guard's decision code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli_support import cli
from tests.golden import assert_golden
from verifier.lang.frontend import load_suite
from verifier.testing import run_paths
from verifier.testing.render import exit_code

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests/data/scenarios"
AGENT_SPECS = sorted((ROOT / "models").glob("*.cap"))


pytestmark = pytest.mark.usefixtures("in_root")


PAYMENTS = """capability payments
const MAX = 5
state {
  paid: 0..10 = 0
  frozen: bool = false
}
action pay(amount: 1..MAX) {
  when not frozen
  when paid + amount <= 10
  needs approval when amount > 2
  paid := paid + amount
}
event new_day {
  when paid > 0
  paid := 0
}
"""


def write(tmp: Path, text: str, name: str = "spec.cap") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- the models' scenarios


@pytest.mark.parametrize("spec", AGENT_SPECS, ids=lambda p: p.stem)
def test_every_agent_spec_has_three_passing_scenarios(spec: Path) -> None:
    (result,) = run_paths([str(spec.relative_to(ROOT))])
    assert result.unit.diagnostics == []
    assert len(result.outcomes) >= 3
    failed = [(o.plan.name, o.failure) for o in result.outcomes if not o.passed]
    assert failed == []


def test_models_folder_passes_with_exit_0() -> None:
    code, out = cli("test", "models")
    assert code == 0, out
    scenarios = sum(len(load_suite(str(p)).scenarios) for p in AGENT_SPECS)
    assert scenarios >= 3 * len(AGENT_SPECS)
    assert out.endswith(f"{scenarios} scenarios: {scenarios} passed, 0 failed\n")
    assert "models/reference/peterson.cap\n  no scenarios" in out


# ---- failures read like a unit test's diff


def test_seeded_wrong_expectations_fail_with_a_readable_diff() -> None:
    code, out = cli("test", "tests/data/scenarios/seeded_wrong.cap")
    assert code == 1
    assert_golden(ROOT / "tests/golden/scenarios/seeded_wrong.out", out)


def test_seeded_wrong_expectations_in_json() -> None:
    code, out = cli("test", "--format", "json", "tests/data/scenarios/seeded_wrong.cap")
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"] == {"scenarios": 6, "passed": 1, "failed": 5}
    by_name = {s["name"]: s for s in doc["files"][0]["scenarios"]}
    assert by_name["passes"]["passed"] is True
    clause = by_name["wrong_clause"]["failure"]
    assert clause["step"] == 2
    assert clause["expected"] == "deny: `pay` requires `paid + amount <= 10`"
    assert clause["actual"] == "deny: `pay` requires `not frozen` (line 13)"
    state = by_name["wrong_state"]["failure"]
    assert (state["where"], state["actual"]) == ("after step 2", "paid = 4")
    event = by_name["wrong_event"]["failure"]
    assert event["actual"].startswith("quarantine: impossible event: `new_day` requires `paid > 0`")


def test_every_verdict_kind_is_checked(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        PAYMENTS
        + """
scenario all_verdicts {
  pay(amount: 1) -> allow
  pay(amount: 3) -> escalate
  pay(amount: 3) -> escalate then reject
  state: paid == 1
  pay(amount: 3) -> escalate then approve
  state: paid == 4
  pay(amount: 5) -> escalate then approve
  pay(amount: 2) -> deny "paid + amount <= 10"
  pay(amount: 1) -> allow
  new_day -> allow
  new_day -> quarantine "paid > 0"
  pay(amount: 1) -> quarantine
}
""",
    )
    (result,) = run_paths([str(spec)])
    (outcome,) = result.outcomes
    assert outcome.failure is None
    assert outcome.steps == 10


def test_an_approval_that_fails_is_a_failure(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        PAYMENTS + "scenario s {\n  pay(amount: 3) -> escalate then reject\n}\n"
        "scenario t {\n  pay(amount: 3) -> escalate\n}\n",
    )
    results = run_paths([str(spec)])
    assert [o.passed for o in results[0].outcomes] == [True, True]
    spec.write_text(PAYMENTS + "scenario s {\n  pay(amount: 2) -> escalate then approve\n}\n")
    (outcome,) = run_paths([str(spec)])[0].outcomes
    assert outcome.failure is not None
    assert outcome.failure.expected == "escalate, then allow on approval"
    assert outcome.failure.actual == "allow"


def test_init_picks_one_of_several_initial_states(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """capability start_anywhere
state { x: 0..3 = any }
action up { when x < 3  x := x + 1 }
scenario from_two {
  init: x == 2
  up -> allow
  up -> deny "x < 3"
}
scenario ambiguous {
  init: x >= 2
  up -> allow
}
scenario no_init {
  up -> allow
}
""",
    )
    (result,) = run_paths([str(spec)])
    passed = {o.plan.name: o.failure for o in result.outcomes}
    assert passed["from_two"] is None
    assert (
        passed["ambiguous"] is not None and passed["ambiguous"].actual == "2 initial states match"
    )
    assert passed["no_init"] is not None and passed["no_init"].actual == "4 initial states match"


# ---- invalid scenarios are located diagnostics, exit 2


BAD = {
    "unknown verdict `alow`": "pay(amount: 1) -> alow",
    "`x > 1` is not a guard of `pay`": 'pay(amount: 1) -> deny "x > 1"',
    "`pay` needs the argument `amount`": "pay -> allow",
    "`pay` has no parameter `amt`": "pay(amt: 1) -> allow",
    "the argument `amount` = 6 is outside `1..5`": "pay(amount: 6) -> allow",
    "the event `new_day` cannot be answered `deny`": "new_day -> deny",
    "`then approve` and `then reject` follow only `escalate`": (
        "pay(amount: 1) -> allow then approve"
    ),
    "unknown follow-up `maybe`": "pay(amount: 3) -> escalate then maybe",
    "only `deny` and `quarantine` name a failed clause, not `allow`": 'pay(amount: 1) -> allow "x"',
    "unknown action or event `pya`": "pya(amount: 1) -> allow",
    "`init:` must be the first line of a scenario": "pay(amount: 1) -> allow\n  init: paid == 0",
    "the argument `amount` must be a constant": "pay(amount: paid) -> allow",
}


@pytest.mark.parametrize("message", sorted(BAD))
def test_bad_scenarios_are_diagnostics(tmp_path: Path, message: str) -> None:
    spec = write(tmp_path, PAYMENTS + f"scenario s {{\n  {BAD[message]}\n}}\n")
    suite = load_suite(str(spec))
    assert suite.model is None
    assert [d.message for d in suite.diagnostics] == [message]
    code, out = cli("test", str(spec))
    assert code == 2
    assert f"error[{suite.diagnostics[0].code}]: {message}" in out


def test_duplicate_scenario_names(tmp_path: Path) -> None:
    spec = write(tmp_path, PAYMENTS + "scenario s { new_day -> quarantine }\nscenario s { }\n")
    (diag,) = load_suite(str(spec)).diagnostics
    assert (diag.code, diag.message, diag.span.line) == (
        "duplicate",
        "scenario `s` is declared twice",
        18,
    )


def test_nothing_to_run_is_exit_2(tmp_path: Path) -> None:
    spec = write(tmp_path, PAYMENTS)
    code, out = cli("test", str(spec))
    assert code == 2
    assert "no scenarios found" in out
    assert cli("test", str(tmp_path / "missing.cap"))[0] == 2


# ---- scenario files beside a spec


def test_scenario_file_refers_to_its_spec(tmp_path: Path) -> None:
    write(tmp_path, PAYMENTS, "payments.cap")
    tests = write(
        tmp_path,
        'scenarios for "payments.cap"\n\nscenario small {\n  pay(amount: 1) -> allow\n}\n'
        'scenario wrong {\n  pay(amount: 1) -> deny "not frozen"\n}\n',
        "payments.test.cap",
    )
    code, out = cli("test", str(tests))
    assert code == 1
    assert "  ok    small (1 step)\n  FAIL  wrong (line 6)\n" in out
    assert "        step 1, line 7: pay(amount: 1)\n" in out


def test_scenario_file_diagnostics_point_into_it(tmp_path: Path) -> None:
    write(tmp_path, PAYMENTS, "payments.cap")
    tests = write(
        tmp_path,
        'scenarios for "payments.cap"\nscenario s {\n  pay(amount: 1) -> alow\n}\n',
        "payments.test.cap",
    )
    (diag,) = load_suite(str(tests)).diagnostics
    assert (diag.path, diag.span.line, diag.code) == (str(tests), 3, "bad-scenario")
    missing = write(tmp_path, 'scenarios for "nope.cap"\n', "nope.test.cap")
    (diag,) = load_suite(str(missing)).diagnostics
    assert diag.code == "io" and diag.path == str(missing) and diag.span.line == 1
    stray = write(tmp_path, 'scenarios for "payments.cap"\nconst X = 1\n', "stray.test.cap")
    (diag,) = load_suite(str(stray)).diagnostics
    assert diag.code == "bad-scenario" and diag.span.line == 2


def test_check_skips_scenario_files_in_folders_and_refuses_them_directly(tmp_path: Path) -> None:
    write(tmp_path, PAYMENTS + "invariant ok: paid <= 10\n", "payments.cap")
    tests = write(tmp_path, 'scenarios for "payments.cap"\n', "payments.test.cap")
    code, out = cli("check", "--no-deadlock", str(tmp_path))
    assert code == 0, out
    assert "payments.test.cap" not in out
    code, out = cli("check", str(tests))
    assert code == 2
    assert "error[bad-scenario]: this file holds scenarios of `payments.cap`, not a spec" in out


# ---- coverage


def test_coverage_counts_transitions_and_clauses(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        PAYMENTS
        + "scenario s {\n  pay(amount: 1) -> allow\n  pay(amount: 3) -> escalate then approve\n"
        '  pay(amount: 2) -> allow\n  pay(amount: 5) -> deny "paid + amount <= 10"\n}\n',
    )
    code, out = cli("test", "--format", "json", str(spec))
    assert code == 0
    cov = json.loads(out)["files"][0]["coverage"]
    assert cov["transitions"] == {
        "pay": {"kind": "action", "requested": 4, "allowed": 3, "escalated": 1},
        "new_day": {"kind": "event", "requested": 0, "allowed": 0, "escalated": 0},
    }
    assert [(c["clause"], c["true"], c["false"]) for c in cov["clauses"]] == [
        ("not frozen", 4, 0),
        ("paid + amount <= 10", 3, 1),
        ("paid > 0", 0, 0),
        ("needs approval", 1, 2),
    ]
    assert cov["summary"] == {"actions": [1, 1], "events": [0, 1], "clauses": [2, 4]}
    code, text = cli("test", str(spec))
    assert "  coverage: actions 1/1, events 0/1, clauses 2/4 seen both true and false\n" in text
    assert "    never requested: event `new_day`\n" in text
    assert "    never false: `pay` line 8 `not frozen`\n" in text


def test_exit_code_orders_invalid_before_failed() -> None:
    assert exit_code([]) == 2


def test_docs_example_scenarios_pass(tmp_path: Path) -> None:
    shutil.copy(DATA / "seeded_wrong.cap", tmp_path / "copy.cap")
    (result,) = run_paths([str(tmp_path / "copy.cap")])
    assert [o.passed for o in result.outcomes] == [True, False, False, False, False, False]


def test_const_overrides_leave_scenarios_to_verifier_test() -> None:
    # the fleet's scenarios name agent 2; scaled to one agent the spec still checks
    code, out = cli("check", "--const", "AGENTS=1", "models/fleet_budget.cap")
    assert code == 0, out
    code, out = cli("test", "--const", "AGENTS=1", "models/fleet_budget.cap")
    assert code == 2
    assert "the argument `a` = 2 is outside `1..1`" in out


def test_junit_one_case_per_scenario_validated_against_the_schema(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    import xmlschema

    schema = xmlschema.XMLSchema(str(ROOT / "tests/data/junit/junit-10.xsd"))
    bad = write(tmp_path, PAYMENTS + "scenario s {\n  pay(amount: 1) -> alow\n}\n", "bad.cap")
    code, out = cli("test", "--format", "junit", "tests/data/scenarios/seeded_wrong.cap", str(bad))
    assert code == 2
    schema.validate(out)
    root = ET.fromstring(out)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "5", "1")
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["passes", "wrong_verdict", "wrong_clause", "wrong_state",
                           "wrong_denial", "wrong_event"]  # fmt: skip
    assert cases["passes"].find("failure") is None
    failure = cases["wrong_clause"].find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "step 2, line 44: pay(amount: 1): expected deny: `pay` requires `paid + amount <= 10`, "
        "got deny: `pay` requires `not frozen` (line 13)"
    )
    error = root.findall("testsuite")[1].find("testcase/error")
    assert error is not None and error.get("message") == "unknown verdict `alow`"
    code, out = cli("test", "--format", "junit", "models")
    assert code == 0
    schema.validate(out)
    assert ET.fromstring(out).get("tests") == str(
        sum(len(load_suite(str(p)).scenarios) for p in AGENT_SPECS)
    )


def test_no_coverage_leaves_the_coverage_out() -> None:
    code, out = cli("test", "--no-coverage", "models/email_assistant.cap")
    assert code == 0
    assert "coverage" not in out and "  ok    internal_reply (4 steps)\n" in out
