"""Differential testing: explicit search, bmc, kind and pdr agree on random small specs.

bmc runs to the explicit depth (plus one, so a domain fault at the deepest state is seen);
kind runs with simple-path constraints up to the declared space, where it is complete.
Every symbolic counterexample has been replayed by `check_symbolic`; its length must be the
explicit (shortest) one. CI runs a few hundred specs; `-m slow` runs thousands.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.strategies import cap_specs
from verifier.check.explicit import check_explicit
from verifier.check.results import CheckResult
from verifier.check.smt import check_symbolic
from verifier.lang.frontend import load_text


def _verdicts(r: CheckResult) -> dict[str, tuple[str, int | None]]:
    return {
        p.name: (p.verdict, len(p.trace) if p.trace is not None else None) for p in r.properties
    }


def agree(text: str) -> None:
    model = load_text(text).model
    assert model is not None, text
    explicit = check_explicit(model)
    expected = _verdicts(explicit)
    assert explicit.depth is not None
    for engine, depth in (("kind", model.declared_space() + 1), ("pdr", None)):
        got = _verdicts(check_symbolic(model, engine, depth=depth))
        assert got == expected, f"{engine} disagrees on\n{text}"
    bmc = _verdicts(check_symbolic(model, "bmc", depth=explicit.depth + 1))
    for name, (verdict, length) in expected.items():
        if length is not None:  # a counterexample or a witness: the same length
            assert bmc[name] == (verdict, length), f"bmc disagrees on `{name}` of\n{text}"
        else:  # none exists: bmc finds none (it proves the property if paths run out)
            assert bmc[name][1] is None, f"bmc found a trace for `{name}` of\n{text}"
            assert bmc[name][0] in (verdict, "inconclusive"), f"bmc on `{name}` of\n{text}"


_SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=200, **_SETTINGS)  # type: ignore[arg-type]
@given(cap_specs())
def test_engines_agree(text: str) -> None:
    agree(text)


@pytest.mark.slow
@settings(max_examples=3000, **_SETTINGS)  # type: ignore[arg-type]
@given(cap_specs())
def test_engines_agree_thousands(text: str) -> None:
    agree(text)
