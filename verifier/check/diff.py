"""`verifier diff`: does NEW only restrict OLD? Explicit product search, or the symbolic check.

The explicit search walks NEW's reachable states together with the set of OLD states that
agree with the trace so far (a subset construction: OLD may hide variables NEW does not see),
breadth first, so the first step OLD cannot match ends the shortest distinguishing trace.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from verifier import ir
from verifier.check.explicit import check_explicit
from verifier.check.refinement import (
    DiffError,
    DiffResult,
    Inclusion,
    Renaming,
    Side,
    Space,
    State,
    explain,
    matches,
    observed_names,
)
from verifier.check.results import Step, Trace

ENGINES = ("auto", "explicit", "symbolic")
# `auto` searches explicitly when both declared spaces are at most 2^22 valuations, or when a
# product search of at most PROBE_STATES pairs completes; otherwise it runs the symbolic check.
EXPLICIT_LIMIT = 2**22
PROBE_STATES = 100_000
COUNT_LIMIT = 1_000_000  # reachable states counted for the growth report


@dataclass(frozen=True)
class DiffOptions:
    """What `verifier diff` asks for."""

    engine: str = "auto"
    renaming: Renaming = Renaming()
    max_states: int | None = None  # explicit product pairs before giving up (inconclusive)
    depth: int | None = None  # symbolic: the largest k of k-induction and bmc's bound
    timeout: float | None = None  # symbolic: per solver run


Node = tuple[State, frozenset[State]]


def included_explicit(a: Side, b: Side, limit: int | None) -> Inclusion:
    """Whether every observable trace of `a` is one of `b`; the shortest one that is not."""
    parent: dict[Node, tuple[Node, int] | None] = {}
    queue: deque[Node] = deque()
    b_init = b.initial()
    for s in a.initial():
        agree = frozenset(t for t in b_init if b.project(t) == a.project(s))
        if not agree:
            why = "it has no initial state with these values"
            return Inclusion(False, "explicit", Trace((Step(None, (), s),)), why, None, 0)
        node = (s, agree)
        if node not in parent:
            parent[node] = None
            queue.append(node)
    while queue:
        node = queue.popleft()
        s, olds = node
        for k in range(len(a.instances)):
            nxt = a.step(k, s)
            if nxt is None:
                continue
            approval = a.needs_approval(k, s)
            target = a.project(nxt)
            after = matches(b, a.labels[k], sorted(olds), target, approval)
            if not after:
                why = explain(b, a.labels[k], min(olds), target, approval)
                trace = _trace(a, parent, node, (k, nxt))
                return Inclusion(False, "explicit", trace, why, None, len(parent))
            child = (nxt, frozenset(after))
            if child not in parent:
                if limit is not None and len(parent) >= limit:
                    note = f"stopped after {limit:,} state pairs"
                    return Inclusion(None, "explicit", note=note, explored=len(parent))
                parent[child] = (node, k)
                queue.append(child)
    return Inclusion(True, "explicit", explored=len(parent))


def _trace(
    a: Side, parent: dict[Node, tuple[Node, int] | None], node: Node, last: tuple[int, State]
) -> Trace:
    rows: list[Step] = []
    k, nxt = last
    rows.append(Step(a.instances[k].transition, a.instances[k].args, nxt))
    at: Node | None = node
    while at is not None:
        link = parent[at]
        if link is None:
            rows.append(Step(None, (), at[0]))
            break
        prev, j = link
        rows.append(Step(a.instances[j].transition, a.instances[j].args, at[0]))
        at = prev
    return Trace(tuple(reversed(rows)))


def count_space(model: ir.Model, limit: int = COUNT_LIMIT) -> Space:
    """The reachable states of a model, counted explicitly up to `limit`."""
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
    if engine in ("explicit", "probe"):
        limit = PROBE_STATES if engine == "probe" else opts.max_states
        new_side, old_side = Side(new, Renaming(), observed), Side(old, names, observed)
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
    hidden_old = [v.name for v in old.vars if names.new_name(v.name) not in observed]
    hidden_new = [v.name for v in new.vars if v.name not in observed]
    return DiffResult(
        old, new, forward, backward, count_space(old), count_space(new), observed,
        hidden_old, hidden_new, engine, notes,
    )  # fmt: skip


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
