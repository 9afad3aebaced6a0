"""The symbolic portfolio: PDR and k-induction race in separate processes, goal by goal.

Each worker reports a goal as soon as it decides it; the first conclusive outcome for a goal
wins and the result says which engine decided. With one core the engines run in turn.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from typing import Any

from verifier import ir
from verifier.smt.goals import Outcome

PORTFOLIO = ("pdr", "kind")


def _worker(
    model: ir.Model,
    engine: str,
    depth: int | None,
    timeout: float | None,
    deadlock: bool,
    decided: Any,
    out: Any,
) -> None:
    from verifier.smt import run_engine

    for i in range(len(decided)):
        if decided[i]:
            continue  # the other engine was faster
        for index, outcome in run_engine(
            model, engine, depth=depth, timeout=timeout, deadlock=deadlock, only=[i]
        ):
            out.put((engine, index, outcome))


def _goal_count(model: ir.Model, deadlock: bool) -> int:
    return len(model.properties) + (2 if deadlock else 1)


def run_portfolio(
    model: ir.Model, *, depth: int | None, timeout: float | None, deadlock: bool
) -> list[Outcome]:
    """One outcome per goal: the first conclusive one, else the engines' notes combined."""
    n = _goal_count(model, deadlock)
    if (os.cpu_count() or 1) < 2:
        return _sequential(model, n, depth, timeout, deadlock)
    # fork: no re-import of the caller's main module, and workers start in milliseconds.
    ctx: Any = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    results: Any = ctx.Queue()
    decided: Any = ctx.Array("b", n, lock=False)
    procs = [
        ctx.Process(
            target=_worker,
            args=(model, e, depth, timeout, deadlock, decided, results),
            daemon=True,
        )
        for e in PORTFOLIO
    ]
    for p in procs:
        p.start()
    try:
        return _collect(n, procs, results, decided)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()


def _collect(n: int, procs: list[Any], results: Any, decided: Any) -> list[Outcome]:
    won: dict[int, Outcome] = {}
    tried: dict[int, list[Outcome]] = {i: [] for i in range(n)}
    while len(won) < n:
        try:
            _engine, index, outcome = results.get(timeout=0.1)
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                time.sleep(0.1)  # let the feeder threads of exited workers flush
                if results.empty():
                    break
            continue
        tried[index].append(outcome)
        if outcome.status != "unknown" and index not in won:
            won[index] = outcome
            decided[index] = 1
    return [won.get(i) or _undecided(tried[i]) for i in range(n)]


def _undecided(tried: list[Outcome]) -> Outcome:
    notes = "; ".join(f"{o.engine}: {o.note}" for o in tried if o.note)
    return Outcome("unknown", "portfolio", note=notes or "no engine decided it")


def _sequential(
    model: ir.Model, n: int, depth: int | None, timeout: float | None, deadlock: bool
) -> list[Outcome]:
    from verifier.smt import run_engine

    out: list[Outcome | None] = [None] * n
    tried: dict[int, list[Outcome]] = {i: [] for i in range(n)}
    for engine in PORTFOLIO:
        todo = [i for i in range(n) if out[i] is None]
        for i, o in run_engine(
            model, engine, depth=depth, timeout=timeout, deadlock=deadlock, only=todo
        ):
            tried[i].append(o)
            if o.status != "unknown":
                out[i] = o
    return [o or _undecided(tried[i]) for i, o in enumerate(out)]
