"""The pytest plugin (entry point `pytest11`): `.cap` specs as test items, opt-in by ini."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
PROVED = ROOT / "models/refund_agent.cap"
VIOLATED = ROOT / "examples/violations/email_label_bug.cap"
INVALID = ROOT / "tests/data/diagnostics/type_errors.cap"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # In process, `verifier` is already imported when the inner session marks its plugin for
    # assertion rewriting; a fresh `pytest` process does not warn.
    return pytester.runpytest("-W", "ignore::pytest.PytestAssertRewriteWarning", *args)


def project(pytester: pytest.Pytester, ini: str) -> None:
    """A project with three specs in models/ and one elsewhere, and the given ini lines."""
    pytester.makeini(f"[pytest]\ntestpaths = models other\n{ini}\n")
    for folder, source in (("models", PROVED), ("models", VIOLATED), ("models", INVALID),
                           ("other", PROVED)):  # fmt: skip
        (pytester.path / folder).mkdir(exist_ok=True)
        shutil.copy(source, pytester.path / folder / source.name)


def test_specs_are_not_collected_without_the_ini_option(pytester: pytest.Pytester) -> None:
    project(pytester, "")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_each_spec_is_an_item_with_the_check_verdict(pytester: pytest.Pytester) -> None:
    project(pytester, "verifier_specs = models/*.cap")
    result = run(pytester, "-rA")
    # other/ is collected but does not match; refund_agent.cap declares three scenarios
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        [
            "PASSED models/refund_agent.cap::check",
            "PASSED models/refund_agent.cap::scenario small_refund",
            "FAILED models/email_label_bug.cap::check*",
            "FAILED models/type_errors.cap::check*",
        ],
    )
    out = result.stdout.str()
    assert "Traceback" not in out and "def runtest" not in out  # the report, not Python
    # the failure text is the rendered counterexample of `verifier check`
    assert "invariant `no_exfiltration` is violated (" in out
    assert "shortest counterexample, 5 steps:" in out
    assert "send(external=true)" in out
    assert "\nmodels/type_errors.cap: invalid (" in out  # paths as given to `verifier check`
    assert "models/type_errors.cap:14:16: error[type-mismatch]" in out


def test_patterns_select_the_specs(pytester: pytest.Pytester) -> None:
    project(pytester, "verifier_specs =\n    other/*.cap\n    models/refund_*.cap")
    result = run(pytester, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["models/refund_agent.cap::check", "other/refund_agent.cap::check"])
    assert "email_label_bug" not in result.stdout.str()


def test_a_bad_engine_is_a_usage_error(pytester: pytest.Pytester) -> None:
    project(pytester, "verifier_specs = models/*.cap\nverifier_engine = fastest")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*`verifier_engine = fastest` is not an engine; hint: one of auto*"]
    )


def test_the_engine_option_is_used(pytester: pytest.Pytester) -> None:
    project(pytester, "verifier_specs = models/refund_*.cap\nverifier_engine = explicit")
    result = run(pytester, "--junitxml=report.xml")
    result.assert_outcomes(passed=4)  # the check and the spec's three scenarios
    assert (
        '<property name="verdict" value="proved" />' in (pytester.path / "report.xml").read_text()
    )


def test_other_plugins_add_items_per_spec(pytester: pytest.Pytester) -> None:
    """The hook the scenario runner uses: extra items under the spec's node."""
    project(pytester, "verifier_specs = models/refund_*.cap")
    pytester.makeconftest(
        """
        import pytest

        class Scenario(pytest.Item):
            def runtest(self):
                assert self.path.name == "refund_agent.cap"

        def pytest_verifier_collect_spec(spec):
            return [Scenario.from_parent(spec, name="scenario happy path")]
        """
    )
    result = run(pytester, "-rA")
    result.assert_outcomes(passed=5)  # check, three declared scenarios, the plugin's item
    result.stdout.fnmatch_lines(["PASSED models/refund_agent.cap::scenario happy path"])


def test_each_scenario_is_an_item_and_a_wrong_one_fails_with_its_step(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\ntestpaths = specs\nverifier_specs = specs/*.cap\n")
    (pytester.path / "specs").mkdir()
    shutil.copy(ROOT / "tests/data/scenarios/seeded_wrong.cap", pytester.path / "specs")
    result = run(pytester, "-rA")
    result.assert_outcomes(passed=1, failed=6)  # one right scenario, five seeded wrong ones
    result.stdout.fnmatch_lines(  # (the spec itself deadlocks, so its `check` fails too)
        [
            "PASSED specs/seeded_wrong.cap::scenario passes",
            "FAILED specs/seeded_wrong.cap::scenario wrong_verdict*",
        ]
    )
    out = result.stdout.str()
    assert "Traceback" not in out and "def runtest" not in out
    assert "FAIL  wrong_verdict (line 37)\nstep 2, line 39: pay(amount: 4)\n" in out
    assert "- expected: allow\n+ actual:   escalate: `pay` needs approval (line 15)" in out
