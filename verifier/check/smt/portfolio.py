"""The symbolic portfolio: for each goal, PDR and k-induction race in separate processes.

The first conclusive outcome wins (the result says which engine decided), and the loser is
stopped at once, so one engine stuck on a goal never holds up the others. With one core the
engines take turns instead.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from typing import Any

from verifier import ir
from verifier.check.smt.goals import Outcome

PORTFOLIO = ("pdr", "kind")


def _worker(
    model: ir.Model,
    engine: str,
    goal: int,
    depth: int | None,
    timeout: float | None,
    deadlock: bool,
    lemmas: list[int],
    out: Any,
) -> None:
    from verifier.check.smt import run_engine

    [(_, outcome)] = run_engine(
        model,
        engine,
        depth=depth,
        timeout=timeout,
        deadlock=deadlock,
        only=[goal],
        lemmas=lemmas,
    )
    out.put(outcome)


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
    out: list[Outcome] = []
    for i in range(n):
        lemmas = [j for j, o in enumerate(out) if _is_lemma(model, j, o)]
        out.append(_race(ctx, model, i, depth, timeout, deadlock, lemmas))
    return out


def _is_lemma(model: ir.Model, index: int, o: Outcome) -> bool:
    """A proved invariant-like goal (not a reachable goal, not bmc's exhaustion proof)."""
    reach = index < len(model.properties) and model.properties[index].kind == "reachable"
    return o.status == "holds" and o.engine in PORTFOLIO and not reach


def _race(
    ctx: Any,
    model: ir.Model,
    goal: int,
    depth: int | None,
    timeout: float | None,
    deadlock: bool,
    lemmas: list[int],
) -> Outcome:
    results: Any = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(model, e, goal, depth, timeout, deadlock, lemmas, results),
            daemon=True,
        )
        for e in PORTFOLIO
    ]
    for p in procs:
        p.start()
    tried: list[Outcome] = []
    try:
        while len(tried) < len(procs):
            try:
                outcome = results.get(timeout=0.05)
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and results.empty():
                    break  # a worker died without reporting (killed, out of memory)
                continue
            if outcome.status != "unknown":
                return outcome
            tried.append(outcome)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()
    return _undecided(tried)


def _undecided(tried: list[Outcome]) -> Outcome:
    notes = "; ".join(f"{o.engine}: {o.note}" for o in tried if o.note)
    return Outcome("unknown", "portfolio", note=notes or "no engine decided it")


def _sequential(
    model: ir.Model, n: int, depth: int | None, timeout: float | None, deadlock: bool
) -> list[Outcome]:
    from verifier.check.smt import run_engine

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
