"""The packed explicit engine: states as 64-bit words, successors computed for whole frontiers.

`check_packed` gives the same CheckResult as `verifier.check.explicit.check_explicit`
(states, edges, generated, depth, coverage, verdicts and the very same shortest traces) or
None when the model cannot be packed (a state wider than 63 bits, or a construct the
vectoriser does not handle).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from verifier import ir
from verifier.check import explicit
from verifier.check.packed.expand import Program, compile_program
from verifier.check.packed.layout import MAX_WIDTH, WORD_BITS, layout_of
from verifier.check.packed.search import CHUNK_CELLS, Progress, Search, expansion_pool
from verifier.check.packed.step import compile_instances
from verifier.check.results import CheckResult, Step, Trace
from verifier.ir import semantics as sem
from verifier.ir.evaluate import EvalError

ENGINE = "explicit-packed"


def prepare(model: ir.Model, word_bits: int = WORD_BITS) -> Program | None:
    """The model compiled for packed search, or None if it cannot be packed."""
    layout = layout_of(model, word_bits, MAX_WIDTH if word_bits == WORD_BITS else 1 << 10)
    if layout is None:
        return None
    compiled = compile_instances(model, layout)
    if compiled is None:
        return None
    insts, comp = compiled
    try:
        return compile_program(model, layout, comp, insts)
    except Exception:  # NotVectorisable in a property
        return None


def check_packed(
    model: ir.Model,
    *,
    deadlock: bool = True,
    max_states: int | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    chunk_cells: int = CHUNK_CELLS,
    stop: Callable[[], bool] | None = None,
    word_bits: int = WORD_BITS,
) -> CheckResult | None:
    """Check `model` like `check_explicit`, or return None if its states cannot be packed.

    `workers` processes (threads inside a daemon process, which may not fork) expand frontier
    chunks ahead of the in-order merge; the result does not
    depend on their number, nor on `chunk_cells` (frontier rows x instances per chunk), nor
    on `word_bits` (tests use small words to run every model through the multi-word path).
    """
    started = time.perf_counter()
    prog = prepare(model, word_bits)
    if prog is None:
        return None
    search = Search(prog, deadlock, max_states, progress, workers=workers, cells=chunk_cells)
    search.stop = stop
    initial = prog.layout.array([prog.layout.pack(s) for s in sem.initial_states(model)])
    if workers > 1:
        with expansion_pool(prog, workers) as pool:
            search.pool = pool
            search.run(initial)
        search.pool = None
    else:
        search.run(initial)
    try:
        view = _ExplicitView(search)
        props = explicit._property_results(cast(Any, view), deadlock)
    finally:
        search.levels.close()
    for p in props:
        p.engine = ENGINE
    cov = _coverage(search)
    result = CheckResult(
        path=model.path,
        source=model.source,
        model=model,
        engine=ENGINE,
        properties=props,
        states=search.states,
        transitions=search.edges,
        generated=search.generated,
        depth=search.depth,
        coverage=cov,
        complete=search.complete,
    )
    if search.complete:
        d = search.domain_at
        faulting = search.prog.instances[d.instance].inst.transition.name if d else None
        result.diagnostics.extend(explicit._dead_transitions(model, cov, faulting))
    elif not search.stopped:
        result.notes.append(f"stopped after {max_states} states (--max-states)")
    result.seconds = time.perf_counter() - started
    return result


def _coverage(search: Search) -> dict[str, int]:
    assert search.fired is not None
    cov = {t.name: 0 for t in search.prog.model.transitions}
    for ci, n in zip(search.prog.instances, search.fired.tolist(), strict=True):
        cov[ci.inst.name] += n
    return cov


@dataclass
class _At:
    at: int
    instance: int = -1
    message: str | None = None


class _ExplicitView:
    """The packed search seen through the attributes the explicit engine's reporting reads."""

    def __init__(self, search: Search) -> None:
        self.search = search
        self.model = search.prog.model
        self.complete = search.complete
        self.offsets = np.cumsum([0, *search.levels.sizes()]).tolist()
        self.hits = {p: _At(self.index(h.level, h.row)) for p, h in search.hits.items()}
        d = search.deadlock_at
        self.deadlock = _At(self.index(d.level, d.row)) if d is not None else None
        self.domain = self._domain()

    def index(self, level: int, row: int) -> int:
        return int(self.offsets[level]) + row

    def locate(self, at: int) -> tuple[int, int]:
        level = int(np.searchsorted(self.offsets, at, side="right")) - 1
        return level, at - int(self.offsets[level])

    def _domain(self) -> _At | None:
        d = self.search.domain_at
        if d is None:
            return None
        word = self.search.levels[d.level][d.row]
        inst = self.search.prog.instances[d.instance].inst
        return _At(self.index(d.level, d.row), d.instance, _fault(inst, self.unpack(word)))

    def unpack(self, word: object) -> tuple[int, ...]:
        return self.search.prog.layout.unpack(word)

    def trace(self, at: int, extra: tuple[int, str] | None = None) -> Trace:
        level, row = self.locate(at)
        insts = self.search.prog.instances
        steps = []
        for word, k in self.search.path(level, row):
            inst = insts[k].inst if k >= 0 else None
            t = inst.transition if inst is not None else None
            steps.append(Step(t, inst.args if inst is not None else (), self.unpack(word)))
        failure = None
        if extra is not None:
            k, failure = extra
            inst = insts[k].inst
            steps.append(Step(inst.transition, inst.args, steps[-1].state))
        return Trace(tuple(steps), failure)


def _fault(inst: sem.Instance, state: tuple[int, ...]) -> str:
    try:
        if sem.enabled(inst, state):
            sem.apply(inst, state)
    except EvalError as err:
        return err.message
    raise AssertionError("the vectorised step reported a fault the reference does not raise")
