"""Symbolic checking with Z3: BMC, k-induction, PDR (Spacer), certificates.

The only package that imports z3. `check_symbolic` returns the same `CheckResult` as the
explicit engine; every counterexample has been replayed through `verifier.ir.semantics`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from verifier import ir
from verifier.check.results import CheckResult, PropertyResult
from verifier.check.smt.bmc import run_bmc
from verifier.check.smt.certificate import Proof, write_certificate
from verifier.check.smt.encode import Encoding
from verifier.check.smt.goals import Goal, Outcome, goals
from verifier.check.smt.kind import run_kind
from verifier.check.smt.pdr import run_pdr_all
from verifier.check.smt.replay import Path, ReplayError, replay
from verifier.check.smt.terms import Numbers
from verifier.check.smt.width import bit_width

ENGINES = ("bmc", "kind", "pdr")
DEFAULT_DEPTH = 50  # bmc's bound and kind's largest k when no --depth is given

__all__ = ["DEFAULT_DEPTH", "ENGINES", "check_symbolic", "run_engine"]


def encoding_for(model: ir.Model, engine: str) -> Encoding:
    """Bit-vectors for the unrolling engines (finite-domain SAT), integers for Spacer."""
    if engine == "pdr":
        return Encoding(model)
    return Encoding(model, Numbers(bit_width(model)))


def run_engine(
    model: ir.Model,
    engine: str,
    *,
    depth: int | None = None,
    timeout: float | None = None,
    deadlock: bool = True,
    simple_path: bool = True,
    only: Sequence[int] | None = None,
    lemmas: Sequence[int] = (),
) -> list[tuple[int, Outcome]]:
    """Run one engine on the goals (all, or the indices in `only`), in this process.

    `lemmas` are indices of goals already proved invariant (by pdr or kind); pdr assumes them.
    """
    enc = encoding_for(model, engine)
    gs = goals(enc, deadlock)
    picked = list(range(len(gs))) if only is None else list(only)
    bound = DEFAULT_DEPTH if depth is None else depth
    if engine == "bmc":
        return list(zip(picked, run_bmc(enc, [gs[i] for i in picked], bound, timeout), strict=True))
    if engine == "kind":
        return [(i, run_kind(enc, gs[i], bound, timeout, simple_path)) for i in picked]
    outcomes = run_pdr_all(enc, [gs[i] for i in picked], timeout, [gs[j] for j in lemmas])
    return list(zip(picked, outcomes, strict=True))


def check_symbolic(
    model: ir.Model,
    engine: str = "pdr",
    *,
    depth: int | None = None,
    timeout: float | None = None,
    deadlock: bool = True,
    simple_path: bool = True,
    certificate: str | None = None,
) -> CheckResult:
    """Decide every property with `engine` (bmc, kind or pdr), in this process."""
    started = time.perf_counter()
    pairs = run_engine(
        model,
        engine,
        depth=depth,
        timeout=timeout,
        deadlock=deadlock,
        simple_path=simple_path,
    )
    outcomes = [o for _, o in sorted(pairs, key=lambda p: p[0])]
    gs = goals(Encoding(model), deadlock)
    result = CheckResult(model.path, model.source, model, engine=engine)
    result.properties = [to_result(model, g, o) for g, o in zip(gs, outcomes, strict=True)]
    result.complete = all(p.verdict != "inconclusive" for p in result.properties)
    if certificate is not None:
        _certify(result, model, gs, outcomes, certificate, engine)
    result.seconds = time.perf_counter() - started
    return result


_DEADLOCK = "a reachable state that is not final has no enabled action or event"


def to_result(model: ir.Model, goal: Goal, o: Outcome) -> PropertyResult:
    """The user-facing verdict for one goal, after replaying any counterexample."""
    r = PropertyResult(goal.name, goal.kind, "inconclusive", engine=o.engine, detail=o.detail)  # type: ignore[arg-type]
    if goal.prop is not None:
        r.span, r.text = goal.prop.span, goal.prop.text
    if o.status == "unknown":
        r.message = o.note or "the solver could not decide it"
        return r
    if o.status == "holds":
        r.verdict = "violated" if goal.is_reach else "proved"
        if goal.is_reach:
            r.message = "no reachable state satisfies it"
        return r
    assert isinstance(o.path, Path)
    try:
        r.trace = replay(model, goal, o.path)
    except ReplayError as err:
        r.message = f"internal error: the {o.engine} trace does not replay ({err})"
        return r
    r.verdict = "proved" if goal.is_reach else "violated"
    if goal.kind == "deadlock":
        r.message = _DEADLOCK
    elif goal.kind == "domain":
        r.message = r.trace.failure
    return r


def _certify(
    result: CheckResult,
    model: ir.Model,
    gs: list[Goal],
    outcomes: Sequence[Outcome],
    path: str,
    engine: str,
) -> None:
    canon = Encoding(model).state("")
    proofs = []
    for g, o in zip(gs, outcomes, strict=True):
        if o.status != "holds" or o.engine == "bmc":
            continue
        inv = o.invariant if o.invariant is not None else g.good(canon).sexpr()
        proofs.append(Proof(g.name, inv, o.k, o.simple_path))
    if not proofs:
        result.notes.append("no certificate written: nothing was proved symbolically")
        return
    write_certificate(path, model, proofs, engine)
    names = ", ".join(p.name for p in proofs)
    result.notes.append(f"certificate for {names} written to {path}")
