"""Unbounded proofs with Z3's Spacer (IC3/PDR over constrained Horn clauses)."""

from __future__ import annotations

import z3

from verifier.smt.bmc import Unrolling
from verifier.smt.encode import Encoding, State
from verifier.smt.goals import Budget, Goal, Outcome, goals
from verifier.smt.terms import Numbers
from verifier.smt.width import bit_width


def flat(s: State) -> list[z3.ExprRef]:
    """The Z3 constants of a symbolic state, sets expanded into their member bits."""
    out: list[z3.ExprRef] = []
    for v in s:
        out.extend(v if isinstance(v, tuple) else (v,))
    return out


def run_pdr(enc: Encoding, goal: Goal, timeout: float | None) -> Outcome:
    """Solve `Init => Inv, Inv & Trans => Inv', Inv => good` for an inductive `Inv`."""
    budget = Budget(timeout)
    if _inductive(enc, goal, budget):
        canon = goal.good(enc.state(""))
        return Outcome("holds", "pdr", detail="inductive invariant", invariant=canon.sexpr())
    s, nxt, step = enc.state("p"), enc.state("p'"), enc.step("p")
    vs, vn = flat(s), flat(nxt)
    inv = z3.Function("Inv", *[v.sort() for v in vs], z3.BoolSort())
    solver = z3.SolverFor("HORN")
    solver.add(z3.ForAll(vs, z3.Implies(enc.initial(s), inv(*vs))))
    body = z3.And(inv(*vs), enc.in_range(s), enc.trans(s, step, nxt))
    solver.add(z3.ForAll([*vs, *step.flat(), *vn], z3.Implies(body, inv(*vn))))
    solver.add(z3.ForAll(vs, z3.Implies(z3.And(inv(*vs), z3.Not(goal.good(s))), False)))
    budget.arm(solver)
    res = solver.check()
    if res == z3.sat:
        canon = flat(enc.state(""))
        # Without completion, eval only substitutes the arguments into Inv's interpretation.
        formula = _quantifier_free(solver.model().eval(inv(*canon), model_completion=False))
        return Outcome("holds", "pdr", detail="inductive invariant", invariant=formula.sexpr())
    if res == z3.unsat:
        return _counterexample(enc, goal, budget)
    return Outcome("unknown", "pdr", note=f"spacer: {solver.reason_unknown()}")


def _counterexample(enc: Encoding, goal: Goal, budget: Budget) -> Outcome:
    """Spacer showed a violation; BMC (on bit-vectors) recovers the shortest concrete path."""
    bv = Encoding(enc.model, Numbers(bit_width(enc.model)))
    goal = next(g for g in goals(bv, deadlock=True) if g.name == goal.name)
    un = Unrolling(bv, "pb")
    while not budget.expired():
        res, path = un.check([z3.Not(goal.good(un.states[-1]))], budget, want_path=True)
        if res == z3.sat:
            return Outcome("fails", "pdr", path=path, detail=f"depth {un.depth}")
        if res == z3.unknown:
            break
        un.extend()
    return Outcome("unknown", "pdr", note="violated, but no counterexample within the time limit")


def _inductive(enc: Encoding, goal: Goal, budget: Budget) -> bool:
    """Is the property itself an inductive invariant? Then it is its own certificate."""
    s, nxt, step = enc.state("i"), enc.state("i'"), enc.step("i")
    solver = z3.Solver()
    solver.add(
        enc.in_range(s),
        z3.Or(
            z3.And(enc.initial(s), z3.Not(goal.good(s))),
            z3.And(goal.good(s), enc.trans(s, step, nxt), z3.Not(goal.good(nxt))),
        ),
    )
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
