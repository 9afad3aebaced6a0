"""Proof certificates: written by `check --certificate`, re-checked by `verifier certify`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from verifier.check.smt import check_symbolic
from verifier.check.smt.recheck import recheck
from verifier.cli.certify import certify_paths
from verifier.lang.frontend import load_model

TWO_PHASE = "models/reference/two_phase.cap"


def _certificate(tmp_path: Path, spec: str, engine: str, **kw: object) -> str:
    path = tmp_path / "proof.smt2"
    r = check_symbolic(load_model(spec), engine, certificate=str(path), **kw)  # type: ignore[arg-type]
    assert r.verdict == "proved"
    return path.read_text()


@pytest.fixture(scope="module")
def two_phase(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The pdr certificate of two_phase (made once: Spacer takes seconds)."""
    return _certificate(tmp_path_factory.mktemp("cert"), TWO_PHASE, "pdr")


def _answers(spec: str, text: str) -> dict[tuple[str, str], str]:
    got = recheck(load_model(spec), text)
    return {(o.name, o.solver): o.answer for o in got.obligations}


def test_pdr_certificate_for_two_phase_is_accepted_by_z3_and_cvc5(two_phase: str) -> None:
    got = recheck(load_model(TWO_PHASE), two_phase)
    assert got.accepted and got.properties == ("tc_consistent", "deadlock", "domain")
    assert {o.solver for o in got.obligations} == {"z3", "cvc5"}
    assert {o.name for o in got.obligations} == {"initiation (state 0)", "consecution", "safety"}


def test_weakened_invariant_fails_consecution(two_phase: str) -> None:
    head, inv = two_phase.split("(define-fun Inv ", 1)
    params, body = inv.split(") Bool\n", 1)
    # Drop every conjunct of the strengthening: only the property itself is left.
    weakened = head + "(define-fun Inv " + params + ") Bool\n  (Prop " + _names(params) + "))\n"
    weakened += body[body.index("\n; initiation") :]
    answers = _answers(TWO_PHASE, weakened)
    assert answers[("consecution", "z3")] == "sat"
    assert answers[("consecution", "cvc5")] == "sat"
    assert answers[("safety", "z3")] == "unsat"


def _names(params: str) -> str:
    return " ".join(p.split(" ")[0].lstrip("(") for p in params.strip("()").split(") ("))


def test_tampered_invariant_fails_initiation(two_phase: str) -> None:
    head, inv = two_phase.split("(define-fun Inv ", 1)
    tampered = head + "(define-fun Inv " + inv.replace(") Bool\n  (and", ") Bool\n  (and false", 1)
    assert tampered.count("(and false") == 1
    answers = _answers(TWO_PHASE, tampered)
    assert answers[("initiation (state 0)", "z3")] == "sat"


def test_certificate_of_another_spec_is_rejected(tmp_path: Path) -> None:
    text = _certificate(tmp_path, "models/reference/peterson.cap", "pdr")
    got = recheck(load_model("examples/violations/peterson_bug.cap"), text)
    assert not got.accepted
    assert got.problems == ["the spec has no property `inv`"]


def test_k_inductive_certificate(tmp_path: Path) -> None:
    text = _certificate(
        tmp_path, "models/reference/simple.cap", "kind", depth=12, simple_path=False
    )
    assert "(set-info :k 10)" in text
    got = recheck(load_model("models/reference/simple.cap"), text, use_cvc5=False)
    assert got.accepted and got.k == 10 and not got.simple_path
    assert len(got.obligations) == 12  # initiation for states 0..9, consecution, safety


def test_certify_command(tmp_path: Path, two_phase: str) -> None:
    (tmp_path / "proof.smt2").write_text(two_phase)
    out = io.StringIO()
    code = certify_paths(
        TWO_PHASE,
        str(tmp_path / "proof.smt2"),
        {},
        timeout=60,
        use_cvc5=False,
        fmt="text",
        stdout=out,
    )
    assert code == 0
    assert out.getvalue().splitlines()[:3] == [
        f"{tmp_path / 'proof.smt2'}: certificate accepted for {TWO_PHASE}",
        "  proves tc_consistent, deadlock, domain (1-inductive)",
        "  initiation (state 0): z3 unsat (ok)",
    ]
    garbage = tmp_path / "garbage.smt2"
    garbage.write_text("(assert true)\n")
    out = io.StringIO()
    assert (
        certify_paths(
            TWO_PHASE, str(garbage), {}, timeout=60, use_cvc5=False, fmt="text", stdout=out
        )
        == 1
    )
    assert "error: this is not a verifier certificate" in out.getvalue()
