"""Unbounded proofs with Z3's Spacer (IC3/PDR over constrained Horn clauses)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import z3

from verifier.check.control import Hooks, Status
from verifier.check.smt.bmc import Unrolling
from verifier.check.smt.encode import Encoding, State
from verifier.check.smt.goals import Budget, Goal, Outcome, goals
from verifier.check.smt.terms import Numbers
from verifier.check.smt.width import bit_width


def flat(s: State) -> list[z3.ExprRef]:
    """The Z3 constants of a symbolic state, sets expanded into their member bits."""
    out: list[z3.ExprRef] = []
    for v in s:
        out.extend(v if isinstance(v, tuple) else (v,))
    return out


PROBE_SECONDS = 10.0  # the BMC probe for a reachable goal's witness, before Spacer


def run_pdr(
    enc: Encoding, goal: Goal, timeout: float | None, lemmas: Sequence[Goal] = ()
) -> Outcome:
    """Solve `Init => Inv, Inv & Trans => Inv', Inv => good` for an inductive `Inv`.

    `lemmas` are goals already proved invariant: they constrain every state (and must be
    part of any certificate that uses this invariant).
    """
    budget = Budget(timeout)
    if goal.is_reach:  # witnesses are usually shallow: a short BMC probe finds them first
        probe = Budget(PROBE_SECONDS if timeout is None else min(PROBE_SECONDS, timeout / 4))
        found = _counterexample(enc, goal, probe, 64)
        if found.status == "fails":
            return found
    known = [lemma.good for lemma in lemmas]
    if _inductive(enc, goal, known, budget):
        canon = goal.good(enc.state(""))
        return Outcome("holds", "pdr", detail="inductive invariant", invariant=canon.sexpr())
    s, nxt, step = enc.state("p"), enc.state("p'"), enc.step("p")
    vs, vn = flat(s), flat(nxt)
    inv = z3.Function("Inv", *[v.sort() for v in vs], z3.BoolSort())
    solver = z3.SolverFor("HORN")
    solver.add(z3.ForAll(vs, z3.Implies(enc.initial(s), inv(*vs))))
    lemmas_hold = [*[k(s) for k in known], *[k(nxt) for k in known]]
    body = z3.And(inv(*vs), enc.in_range(s), *lemmas_hold, enc.trans(s, step, nxt))
    solver.add(z3.ForAll([*vs, *step.flat(), *vn], z3.Implies(body, inv(*vn))))
    bad = z3.And(inv(*vs), *[k(s) for k in known], z3.Not(goal.good(s)))
    solver.add(z3.ForAll(vs, z3.Implies(bad, False)))
    budget.arm(solver)
    res = solver.check()
    if res == z3.sat:
        canon = flat(enc.state(""))
        # Without completion, eval only substitutes the arguments into Inv's interpretation.
        formula = _quantifier_free(solver.model().eval(inv(*canon), model_completion=False))
        return Outcome("holds", "pdr", detail="strengthened invariant", invariant=formula.sexpr())
    if res == z3.unsat:
        return _counterexample(enc, goal, budget)
    return Outcome("unknown", "pdr", note=f"spacer: {solver.reason_unknown()}")


def _counterexample(
    enc: Encoding, goal: Goal, budget: Budget, max_depth: int | None = None
) -> Outcome:
    """The shortest concrete path to a violation, by BMC on bit-vectors."""
    bv = Encoding(enc.model, Numbers(bit_width(enc.model)))
    goal = next(g for g in goals(bv, deadlock=True) if g.name == goal.name)
    un = Unrolling(bv, "pb")
    while not budget.expired() and (max_depth is None or un.depth <= max_depth):
        res, path = un.check([z3.Not(goal.good(un.states[-1]))], budget, want_path=True)
        if res == z3.sat:
            return Outcome("fails", "pdr", path=path, detail=f"depth {un.depth}")
        if res == z3.unknown:
            break
        un.extend()
    return Outcome("unknown", "pdr", note="violated, but no counterexample within the time limit")


def _inductive(
    enc: Encoding, goal: Goal, known: Sequence[Callable[[State], z3.BoolRef]], budget: Budget
) -> bool:
    """Is the property itself inductive (given `known` invariants)? Then it is its own proof."""
    s, nxt, step = enc.state("i"), enc.state("i'"), enc.step("i")
    solver = z3.Solver()
    initiation = z3.And(enc.initial(s), z3.Not(goal.good(s)))
    consecution = z3.And(
        goal.good(s),
        *[k(s) for k in known],
        *[k(nxt) for k in known],
        enc.trans(s, step, nxt),
        z3.Not(goal.good(nxt)),
    )
    solver.add(enc.in_range(s), z3.Or(initiation, consecution))
    budget.arm(solver)
    return solver.check() == z3.unsat


def _quantifier_free(formula: z3.ExprRef) -> z3.ExprRef:
    """Spacer may answer with an existential over successor variables; eliminate it."""
    if not z3.is_quantifier(formula) and "exists" not in formula.sexpr():
        return formula
    goal = z3.Goal()
    goal.add(formula)
    got = z3.Then("qe", "simplify")(goal)
    return z3.And(*got[0]) if len(got) == 1 else formula


def run_pdr_all(
    enc: Encoding,
    gs: Sequence[Goal],
    timeout: float | None,
    lemmas: Sequence[Goal] = (),
    hooks: Hooks | None = None,
) -> list[Outcome]:
    """Every goal: first those inductive relative to the others found so (cheap, repeated
    until nothing changes), then Spacer on the rest with all proved goals as lemmas."""
    hk = hooks or Hooks()
    known = list(lemmas)
    out: dict[int, Outcome] = {}
    changed = True
    while changed:
        changed = False
        for i, g in enumerate(gs):
            if (
                i not in out
                and not g.is_reach
                and _inductive(enc, g, [k.good for k in known], Budget(timeout))
            ):
                canon = g.good(enc.state(""))
                out[i] = Outcome(
                    "holds", "pdr", detail="inductive invariant", invariant=canon.sexpr()
                )
                hk.outcome(i, out[i])
                known.append(g)
                changed = True
    for i, g in enumerate(gs):
        if i in out:
            continue
        if hk.skip(i):
            out[i] = Outcome("unknown", "pdr", note="decided by another engine")
            continue
        hk.status(Status("pdr", goal=g.name))
        out[i] = run_pdr(enc, g, timeout, known)
        hk.outcome(i, out[i])
        if out[i].status == "holds" and not g.is_reach:
            known.append(g)
    return [out[i] for i in range(len(gs))]
