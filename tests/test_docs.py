"""Every example in docs/language.md is a spec that does what the text says.

```cap blocks must load without errors and be proved by the explicit engine, unless their
first line is `# verdict: violated`. ```cap-error blocks must produce the diagnostic code
named on their first line (`# expect: unknown-name`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from verifier.check.explicit import check_explicit
from verifier.ir import semantics as sem
from verifier.lang.frontend import load_text

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "language.md"
FENCE = re.compile(r"^```(cap|cap-error)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DIRECTIVE = re.compile(r"#\s*(expect|verdict):\s*([\w-]+)")


@dataclass(frozen=True)
class Block:
    kind: str  # "cap" | "cap-error"
    text: str
    line: int  # line of the opening fence in the document

    @property
    def directive(self) -> tuple[str, str] | None:
        first = self.text.split("\n", 1)[0]
        m = DIRECTIVE.fullmatch(first.strip())
        return (m.group(1), m.group(2)) if m else None

    @property
    def id(self) -> str:
        return f"line{self.line}"


def blocks() -> list[Block]:
    doc = DOC.read_text(encoding="utf-8")
    return [
        Block(m.group(1), m.group(2), doc.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(doc)
    ]


BLOCKS = blocks()
SPECS = [b for b in BLOCKS if b.kind == "cap"]
ERRORS = [b for b in BLOCKS if b.kind == "cap-error"]


def test_the_document_has_examples() -> None:
    assert len(SPECS) >= 10 and len(ERRORS) >= 5
    # A fence with another language tag (```cap-err, ```Cap) would silently go untested.
    doc = DOC.read_text(encoding="utf-8")
    tags = set(re.findall(r"^```(\S+)$", doc, re.MULTILINE))
    assert tags <= {"cap", "cap-error"}, tags


@pytest.mark.parametrize("block", SPECS, ids=[b.id for b in SPECS])
def test_example_spec_checks(block: Block) -> None:
    loaded = load_text(block.text, f"docs/language.md:{block.line}")
    assert loaded.model is not None, [d.message for d in loaded.diagnostics]
    assert not loaded.diagnostics, [d.message for d in loaded.diagnostics]
    result = check_explicit(loaded.model, max_states=100_000)
    assert result.complete
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    want = "violated" if block.directive == ("verdict", "violated") else "proved"
    verdicts = {p.name: p.verdict for p in result.properties}
    assert result.verdict == want, verdicts


@pytest.mark.parametrize("block", ERRORS, ids=[b.id for b in ERRORS])
def test_example_error_is_reported(block: Block) -> None:
    directive = block.directive
    assert directive is not None and directive[0] == "expect", "first line: # expect: CODE"
    loaded = load_text(block.text, f"docs/language.md:{block.line}")
    codes = {d.code for d in loaded.diagnostics}
    assert directive[1] in codes, codes


def spec_named(name: str) -> Block:
    return next(b for b in SPECS if re.search(rf"^capability {name}\b", b.text, re.MULTILINE))


def test_claims_in_the_text() -> None:
    """Numbers and traces the prose states about its examples."""
    model = load_text(spec_named("initial_states").text).model
    assert model is not None and len(sem.initial_states(model)) == 10
    model = load_text(spec_named("history").text).model
    assert model is not None
    result = check_explicit(model)
    bad = next(p for p in result.properties if p.name == "no_send_after_taint")
    assert bad.trace is not None
    assert [s.transition.name for s in bad.trace.steps[1:] if s.transition] == [
        "read_untrusted",
        "send",
    ]


SCENARIO_SPECS = [b for b in SPECS if "\nscenario " in b.text]


def test_the_document_has_scenario_examples() -> None:
    assert SCENARIO_SPECS


@pytest.mark.parametrize("block", SCENARIO_SPECS, ids=[b.id for b in SCENARIO_SPECS])
def test_example_scenarios_pass(block: Block, tmp_path: Path) -> None:
    from verifier.testing import run_paths

    spec = tmp_path / "example.cap"
    spec.write_text(block.text, encoding="utf-8")
    (result,) = run_paths([str(spec)])
    assert result.outcomes, "the example declares scenarios"
    assert [(o.plan.name, o.failure) for o in result.outcomes if not o.passed] == []


OVERSPEND = """
scenario overspend {
  pay(amount: 2) -> allow
  pay(amount: 2) -> allow
  pay(amount: 1) -> deny "paid + amount <= 10"
}
"""


def test_the_verifier_test_output_shown_is_a_real_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from verifier.cli import main

    doc = DOC.read_text(encoding="utf-8")
    shown = doc[doc.index("$ verifier test payments.cap") :]
    shown = shown[shown.index("\n") + 1 : shown.index("```")]
    (spec,) = [b for b in SPECS if b.text.startswith("capability payments_tested")]
    (tmp_path / "payments.cap").write_text(spec.text + OVERSPEND, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["test", "payments.cap"])
    assert result.exit_code == 1
    assert result.output == shown
