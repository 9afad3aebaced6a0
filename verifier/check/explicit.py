"""Explicit-state breadth-first search over the compiled transition program.

Counts distinct states (the full slot tuple), distinct edges and BFS depth; checks every
invariant, reachable goal, deadlock and domain fault; keeps parent pointers so that every
counterexample and witness is a shortest one. The search always covers the whole reachable
space (violations do not stop it) unless `max_states` is exceeded.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from verifier import ir
from verifier.check.results import CheckResult, PropertyResult, Step, Trace, Verdict
from verifier.diagnostics import Diagnostic
from verifier.ir import semantics as sem
from verifier.ir.compiled import CompiledModel, compile_model
from verifier.ir.evaluate import EvalError

State = tuple[int, ...]
Progress = Callable[[int, int, float], None]  # (states, depth, seconds)
ShouldStop = Callable[[], bool]  # polled during the search; True ends it, incomplete
PROGRESS_SECONDS = 0.25


@dataclass
class Graph:
    """The reachable graph: states in discovery order, edges as (source, target, instance)."""

    model: ir.Model
    instances: tuple[sem.Instance, ...]
    states: list[State]
    initial: int  # states[:initial] are the initial states
    edges: list[tuple[int, int, int]]
    complete: bool


MAX_INITIAL_STATES = 2**22  # initial valuations enumerated before `init when` filters them


class TooManyInitialStates(Exception):
    """The `= any` variables of a model start from more valuations than can be enumerated."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def check_initial_count(model: ir.Model) -> None:
    """Raise TooManyInitialStates before enumerating an initial set that cannot fit."""
    count, free = 1, []
    for var in model.vars:
        if var.init is None:
            count *= var.type.size()
            free.append(var)
    if count <= MAX_INITIAL_STATES:
        return
    names = ", ".join(f"`{v.name}`" for v in free)
    raise TooManyInitialStates(
        Diagnostic(
            "too-large",
            "error",
            f"{names} start{'s' if len(free) == 1 else ''} from any value: "
            f"{count} initial states, more than the explicit engine enumerates",
            free[0].span,
            f"at most {MAX_INITIAL_STATES:,} initial states are enumerated; give initial "
            "values, narrow the ranges, or use a symbolic engine (`--engine pdr`)",
            model.path,
        )
    )


def refuse_initial_explosion(model: ir.Model) -> CheckResult | None:
    """An invalid, incomplete result if the initial states cannot be enumerated, else None."""
    try:
        check_initial_count(model)
    except TooManyInitialStates as err:
        return CheckResult(
            model.path, model.source, model, diagnostics=[err.diagnostic], complete=False
        )
    return None


@dataclass
class _Found:
    """The first (so shortest) occurrence of something at state `at`."""

    at: int
    instance: int = -1
    message: str | None = None


@dataclass
class _Search:
    model: ir.Model
    compiled: CompiledModel
    max_states: int | None
    progress: Progress | None
    keep_edges: bool
    stop: ShouldStop | None = None
    stopped: bool = False
    states: list[State] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    via: list[int] = field(default_factory=list)
    edges: list[tuple[int, int, int]] = field(default_factory=list)
    generated: int = 0
    distinct_edges: int = 0
    depth: int = 0
    complete: bool = True
    fired: list[int] = field(default_factory=list)
    hits: dict[int, _Found] = field(default_factory=dict)  # property index -> first hit
    deadlock: _Found | None = None
    domain: _Found | None = None

    def run(self) -> None:
        index: dict[State, int] = {}
        for s0 in sem.initial_states(self.model):
            if s0 not in index:
                index[s0] = len(self.states)
                self.states.append(s0)
                self.parent.append(-1)
                self.via.append(-1)
        self.generated = len(self.states)
        self.fired = [0] * len(self.compiled.fires)
        preds = self.compiled.invariants
        props = self.model.properties
        # Invariants fire on a false predicate, reachable goals on a true one.
        wanted = [p.kind == "reachable" for p in props]
        open_props = list(range(len(props)))
        final = self.compiled.final
        fires = [(k, self.compiled.fires[k]) for k in self.compiled.live()]
        states, parent, via, fired = self.states, self.parent, self.via, self.fired
        keep = self.keep_edges
        level_end = len(states)
        started = time.perf_counter()
        next_report = started + PROGRESS_SECONDS
        limit = self.max_states
        i = 0
        while i < len(states):
            if i == level_end:
                self.depth += 1
                level_end = len(states)
            s = states[i]
            if open_props:
                for p in list(open_props):
                    if preds[p](s) == wanted[p]:
                        self.hits[p] = _Found(i)
                        open_props.remove(p)
            succ: set[int] = set()
            enabled = False
            for k, fire in fires:
                try:
                    t = fire(s)
                except EvalError as err:
                    enabled = True
                    if self.domain is None:
                        self.domain = _Found(i, k, err.message)
                    continue
                if t is None:
                    continue
                enabled = True
                fired[k] += 1
                j = index.get(t)
                if j is None:
                    j = len(states)
                    index[t] = j
                    states.append(t)
                    parent.append(i)
                    via.append(k)
                succ.add(j)
                if keep:
                    self.edges.append((i, j, k))
            self.distinct_edges += len(succ)
            if not enabled and self.deadlock is None and not (final and final(s)):
                self.deadlock = _Found(i)
            i += 1
            if limit is not None and len(states) > limit:
                self.complete = False
                break
            if not i & 2047 and self.stop is not None and self.stop():
                self.complete, self.stopped = False, True
                break
            if self.progress is not None and not i & 2047:
                now = time.perf_counter()
                if now >= next_report:
                    next_report = now + PROGRESS_SECONDS
                    self.progress(len(states), self.depth, now - started)
        self.generated += sum(fired)

    def trace(self, at: int, extra: tuple[int, str] | None = None) -> Trace:
        chain: list[int] = []
        i = at
        while i != -1:
            chain.append(i)
            i = self.parent[i]
        chain.reverse()
        insts = self.compiled.instances
        steps = []
        for i in chain:
            k = self.via[i]
            t = insts[k].transition if k >= 0 else None
            steps.append(Step(t, insts[k].args if k >= 0 else (), self.states[i]))
        failure = None
        if extra is not None:
            k, failure = extra
            steps.append(Step(insts[k].transition, insts[k].args, self.states[at]))
        return Trace(tuple(steps), failure)


def _property_results(search: _Search, deadlock: bool) -> list[PropertyResult]:
    out: list[PropertyResult] = []
    undecided: Verdict | None = "inconclusive" if not search.complete else None
    for p_index, p in enumerate(search.model.properties):
        hit = search.hits.get(p_index)
        r = PropertyResult(p.name, p.kind, "proved", span=p.span, text=p.text, engine="explicit")  # type: ignore[arg-type]
        if p.kind == "invariant" and hit is not None:
            r.verdict, r.trace = "violated", search.trace(hit.at)
        elif p.kind == "reachable" and hit is not None:
            r.trace = search.trace(hit.at)
        elif p.kind == "reachable":
            r.verdict = undecided or "violated"
            r.message = "no reachable state satisfies it"
        else:
            r.verdict = undecided or "proved"
        out.append(r)
    if deadlock:
        r = PropertyResult("deadlock", "deadlock", undecided or "proved", engine="explicit")
        if search.deadlock is not None:
            r.verdict, r.trace = "violated", search.trace(search.deadlock.at)
            r.message = "a reachable state that is not final has no enabled action or event"
        out.append(r)
    r = PropertyResult("domain", "domain", undecided or "proved", engine="explicit")
    if search.domain is not None:
        d = search.domain
        assert d.message is not None
        r.verdict, r.trace, r.message = (
            "violated",
            search.trace(d.at, (d.instance, d.message)),
            (d.message),
        )
    out.append(r)
    return out


def _coverage(search: _Search) -> dict[str, int]:
    cov = {t.name: 0 for t in search.model.transitions}
    for k, n in enumerate(search.fired):
        cov[search.compiled.instances[k].name] += n
    return cov


def _dead_transitions(
    model: ir.Model, cov: dict[str, int], faulting: str | None = None
) -> list[Diagnostic]:
    """A warning per transition that never fires; `faulting` names the one whose firing was
    the domain violation found, which is blocked by that fault, not by its guards."""
    return [
        Diagnostic(
            "dead-transition",
            "warning",
            f"{t.kind} `{t.name}` never fires in any reachable state",
            t.span,
            "its guards hold, but firing it faults (the domain violation reported for it); "
            "fix the fault and check again"
            if t.name == faulting
            else "its guards never all hold; this capability is dead",
            model.path,
        )
        for t in model.transitions
        if cov[t.name] == 0
    ]


def _no_initial_state(model: ir.Model) -> Diagnostic:
    span = model.init[0].span if model.init else model.vars[0].span
    return Diagnostic(
        "empty-init",
        "error",
        "no state satisfies the initial values and `init when`: every property would hold "
        "vacuously",
        span,
        "relax `init when` or change the initial values",
        model.path,
    )


def _search(
    model: ir.Model,
    max_states: int | None,
    progress: Progress | None,
    keep_edges: bool,
    stop: ShouldStop | None = None,
) -> _Search:
    check_initial_count(model)
    search = _Search(model, compile_model(model), max_states, progress, keep_edges, stop)
    # The search allocates millions of tuples and no cycles; the cyclic collector would
    # rescan them all again and again (measured: 2-3x slower at a million states).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        search.run()
    finally:
        if was_enabled:
            gc.enable()
    return search


def check_explicit(
    model: ir.Model,
    *,
    deadlock: bool = True,
    max_states: int | None = None,
    progress: Progress | None = None,
    stop: ShouldStop | None = None,
) -> CheckResult:
    """Explore every reachable state breadth-first and decide every property.

    `stop` is polled every few thousand states; when it says so the search ends, incomplete.
    """
    started = time.perf_counter()
    refused = refuse_initial_explosion(model)
    if refused is not None:
        return refused
    search = _search(model, max_states, progress, keep_edges=False, stop=stop)
    cov = _coverage(search)
    result = CheckResult(
        path=model.path,
        source=model.source,
        model=model,
        engine="explicit",
        properties=_property_results(search, deadlock),
        states=len(search.states),
        transitions=search.distinct_edges,
        generated=search.generated,
        depth=search.depth,
        coverage=cov,
        complete=search.complete,
    )
    if not search.states:
        result.diagnostics.append(_no_initial_state(model))
    elif search.complete:
        d = search.domain
        faulting = search.compiled.instances[d.instance].transition.name if d else None
        result.diagnostics.extend(_dead_transitions(model, cov, faulting))
    elif not search.stopped:
        result.notes.append(f"stopped after {max_states} states (--max-states)")
    result.seconds = time.perf_counter() - started
    return result


def explore(model: ir.Model, max_states: int | None = None) -> Graph:
    """The reachable graph with every edge (for rendering and artifacts; small models)."""
    search = _search(model, max_states, None, keep_edges=True)
    initial = sum(1 for p in search.parent if p == -1)
    return Graph(
        model, search.compiled.instances, search.states, initial, search.edges, search.complete
    )
