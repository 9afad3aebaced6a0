"""`verifier diff`: does NEW only restrict OLD? The engine choice and the reachable space.

Both directions are decided by the explicit product search (`product`) for small models and
by the symbolic check (`smt.refine`) for large ones; the reachable spaces are counted
explicitly where they can be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from verifier import ir
from verifier.check.explicit import TooManyInitialStates, check_explicit, check_initial_count
from verifier.check.product import included_explicit
from verifier.check.refinement import (
    DiffError,
    DiffResult,
    Inclusion,
    Renaming,
    Side,
    Space,
    observed_names,
    raw_names,
)

ENGINES = ("auto", "explicit", "symbolic")
# `auto` searches explicitly when both declared spaces are at most 2^22 valuations, or when a
# product search of at most PROBE_STATES pairs completes; otherwise it runs the symbolic check.
EXPLICIT_LIMIT = 2**22
PROBE_STATES = 20_000
COUNT_LIMIT = 1_000_000  # reachable states counted for the growth report


@dataclass(frozen=True)
class DiffOptions:
    """What `verifier diff` asks for."""

    engine: str = "auto"
    renaming: Renaming = Renaming()
    max_states: int | None = None  # explicit product pairs before giving up (inconclusive)
    depth: int | None = None  # symbolic: the largest k of k-induction and bmc's bound
    timeout: float | None = None  # symbolic: per solver run


def count_space(model: ir.Model, limit: int | None = None) -> Space:
    """The reachable states of a model, counted explicitly up to `limit` (COUNT_LIMIT)."""
    limit = COUNT_LIMIT if limit is None else limit
    declared = model.declared_bits()
    if model.declared_space() > EXPLICIT_LIMIT * 64:
        return Space(None, declared, "not counted: beyond explicit search")
    result = check_explicit(model, deadlock=False, max_states=limit)
    if not result.complete:
        return Space(None, declared, f"not counted: more than {limit:,} reachable states")
    return Space(result.states, declared)


def choose_engine(old: ir.Model, new: ir.Model, options: DiffOptions) -> str:
    """The documented rule: explicit for small declared spaces, symbolic beyond them."""
    if options.engine != "auto":
        return options.engine
    if max(old.declared_space(), new.declared_space()) <= EXPLICIT_LIMIT:
        return "explicit"
    return "probe"


def run_diff(old: ir.Model, new: ir.Model, options: DiffOptions | None = None) -> DiffResult:
    """Compare OLD and NEW in both directions and measure the change in reachable space."""
    opts = options or DiffOptions()
    if opts.engine not in ENGINES:
        raise DiffError(f"unknown engine `{opts.engine}`")
    names = opts.renaming
    names.validate(old, new)
    observed = observed_names(old, new, names)
    engine = choose_engine(old, new, opts)
    notes: list[str] = []
    too_many = _initial_explosion(old, new)
    if too_many is not None and engine in ("explicit", "probe"):
        if engine == "explicit":
            undecided = Inclusion(None, "explicit", note=too_many)
            return _result(old, new, undecided, undecided, observed, names, "explicit", notes)
        notes.append(f"{too_many}: decided symbolically")
        engine = "symbolic"
    if engine in ("explicit", "probe"):
        limit = PROBE_STATES if engine == "probe" else opts.max_states
        raw = raw_names(old, new, names)
        new_side = Side(new, Renaming(), observed, raw)
        old_side = Side(old, names, observed, raw)
        forward = included_explicit(new_side, old_side, limit)
        backward = included_explicit(old_side, new_side, limit)
        if engine == "probe" and (forward.holds is None or backward.holds is None):
            notes.append(_symbolic_note(old, new))
            engine = "symbolic"
        else:
            engine = "explicit"
    if engine == "symbolic":
        from verifier.check.smt.refine import included_symbolic  # z3 loads only here

        # the renaming maps the including spec's names to the included one's
        forward = included_symbolic(new, old, names, opts.depth, opts.timeout)
        backward = included_symbolic(old, new, names.inverse(), opts.depth, opts.timeout)
    return _result(old, new, forward, backward, observed, names, engine, notes)


def _result(
    old: ir.Model, new: ir.Model, forward: Inclusion, backward: Inclusion,
    observed: list[str], names: Renaming, engine: str, notes: list[str],
) -> DiffResult:  # fmt: skip
    hidden_old = [v.name for v in old.vars if names.new_name(v.name) not in observed]
    hidden_new = [v.name for v in new.vars if v.name not in observed]
    return DiffResult(
        old, new, forward, backward, count_space(old), count_space(new), observed,
        hidden_old, hidden_new, engine, notes,
    )  # fmt: skip


def _initial_explosion(old: ir.Model, new: ir.Model) -> str | None:
    """Why the initial states cannot be enumerated explicitly, or None."""
    try:
        check_initial_count(old)
        check_initial_count(new)
    except TooManyInitialStates as err:
        return str(err)
    return None


def _symbolic_note(old: ir.Model, new: ir.Model) -> str:
    bits = max(old.declared_bits(), new.declared_bits())
    return (
        f"declared space 2^{bits:.1f} and more than {PROBE_STATES:,} state pairs: "
        "decided symbolically"
    )


def growth_bits(result: DiffResult) -> float | None:
    """log2(new reachable / old reachable), or None if either was not counted."""
    a, b = result.old_space.states, result.new_space.states
    if not a or not b:
        return None
    return math.log2(b / a)
