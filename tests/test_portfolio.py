"""`--engine auto` as a race: the first sound answer decides, certificates still come out."""

from __future__ import annotations

from pathlib import Path

from verifier.check.control import Listener, Status
from verifier.check.dispatch import CheckOptions, run_check
from verifier.check.explicit import check_explicit
from verifier.check.smt.recheck import recheck
from verifier.lang.frontend import load_model

ROOT = Path(__file__).resolve().parent.parent


def verdicts(result: object) -> dict[str, str]:
    return {p.name: p.verdict for p in result.properties}  # type: ignore[attr-defined]


def test_the_money_spec_answers_under_auto_and_says_who_decided_what() -> None:
    model = load_model(str(ROOT / "benchmarks/models/money.cap"))
    decided: list[tuple[str, str, str]] = []
    seen: list[Status] = []
    listener = Listener(status=seen.append, decided=lambda *d: decided.append(d))
    result = run_check(model, CheckOptions(timeout=120), listener)
    assert result.engine == "portfolio" and result.complete
    assert verdicts(result) == {
        "within_budget": "proved",
        "committed_fits": "proved",
        "half_spent": "proved",
        "deadlock": "proved",
        "domain": "proved",
    }
    assert sorted(name for name, _, _ in decided) == sorted(verdicts(result))
    assert {engine for _, _, engine in decided} <= {"bmc", "kind", "pdr", "explicit-packed"}
    assert result.properties[2].trace is not None  # the witness of `half_spent`
    assert {s.engine for s in seen} >= {"bmc", "kind"}


def test_auto_agrees_with_explicit_search_on_a_violated_model() -> None:
    model = load_model(str(ROOT / "benchmarks/spin/philosophers.cap"), {"N": 9})
    raced = run_check(model, CheckOptions(timeout=120))
    plain = check_explicit(model)
    assert verdicts(raced) == verdicts(plain)
    deadlock = next(p for p in raced.properties if p.name == "deadlock")
    assert deadlock.verdict == "violated" and deadlock.trace is not None
    assert len(deadlock.trace) == len(
        next(p for p in plain.properties if p.name == "deadlock").trace
    )  # type: ignore[arg-type]


def test_certificate_covers_what_explicit_search_proved_first(tmp_path: Path) -> None:
    spec = ROOT / "benchmarks/spin/mutex.cap"
    model = load_model(str(spec), {"N": 5})
    cert = tmp_path / "mutex.smt2"
    result = run_check(model, CheckOptions(certificate=str(cert), timeout=120))
    assert result.engine == "portfolio"
    assert verdicts(result)["mutual_exclusion"] == "proved"
    assert any(n.startswith("certificate for mutual_exclusion, lock_held") for n in result.notes), (
        result.notes
    )
    assert not any("does not cover" in n for n in result.notes), result.notes
    assert recheck(model, cert.read_text(), use_cvc5=False).accepted
