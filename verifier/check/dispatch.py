"""The one dispatcher from a model and options to a CheckResult."""

from __future__ import annotations

import time

from verifier import ir
from verifier.check.control import DEFAULT_BUDGET, CheckOptions, Listener, Status, Stop
from verifier.check.explicit import check_explicit
from verifier.check.portfolio import AUTO, run_engines
from verifier.check.results import CheckResult
from verifier.check.search import search_explicit

ENGINES = ("auto", "explicit", "bmc", "kind", "pdr")
__all__ = ["ENGINES", "CheckOptions", "EngineUnavailable", "run_check"]

# `auto` searches explicitly, in this process, up to this declared state space (2^22 ~ 4.2
# million valuations: seconds for the general engine, no process started). Beyond it, and
# whenever a certificate is asked for, explicit search and the symbolic engines race.
EXPLICIT_LIMIT = 2**22
# Before the race, the general engine tries in this process for this many states (a fraction
# of a second, no NumPy, no process): a big declared space often has a small reachable one,
# and then the answer is the same as plain explicit search, counts included. Past it the race
# starts, explicit search included, with no limit but its memory estimate and the budget.
QUICK_STATES = 20_000
QUICK_INSTANCES = 4_096  # more transition instances than this: compiling them alone takes long


def _instance_count(model: ir.Model) -> int:
    total = 0
    for t in model.transitions:
        n = 1
        for p in t.params:
            n *= p.type.size()
        total += n
    return total


class EngineUnavailable(Exception):
    """The requested engine cannot run on this model; the message says why."""


def run_check(
    model: ir.Model,
    options: CheckOptions | None = None,
    listener: Listener | None = None,
    stop: Stop | None = None,
) -> CheckResult:
    """Check every property of `model` with the engine the options select, within the budget.

    `stop` (default: the options' time budget) may also carry a signal; `listener` hears
    progress and each property as it is decided.
    """
    opts = options or CheckOptions()
    hear = listener or Listener()
    if stop is None:
        stop = Stop.within(opts.timeout if opts.timeout is not None else DEFAULT_BUDGET)
    if opts.engine == "explicit" or (opts.engine == "auto" and _explicit_fits(model, opts)):
        return _explicit_here(model, opts, hear, stop)
    try_quick = opts.certificate is None and _instance_count(model) <= QUICK_INSTANCES
    if opts.engine == "auto" and try_quick:
        limit = min(QUICK_STATES, opts.max_states or QUICK_STATES)
        quick = check_explicit(model, deadlock=opts.deadlock, max_states=limit, stop=stop)
        if quick.complete:
            bits = model.declared_bits()
            quick.notes.append(f"declared space 2^{bits:.1f}, but the reachable space is small")
            return quick
    engines = AUTO if opts.engine == "auto" else (opts.engine,)
    return run_engines(model, engines, opts, stop, hear)


def _explicit_here(model: ir.Model, opts: CheckOptions, hear: Listener, stop: Stop) -> CheckResult:
    """Explicit search in this process (it polls `stop` every few thousand states)."""
    from verifier.check.control import resident_bytes

    def progress(states: int, depth: int, seconds: float) -> None:
        rate = states / seconds if seconds > 0 else None
        hear.status(Status("explicit", states, depth, rate, resident_bytes()))

    started = time.perf_counter()
    result = search_explicit(
        model,
        deadlock=opts.deadlock,
        max_states=opts.max_states,
        progress=progress,
        stop=stop,
        workers=opts.workers,
    )
    why = stop.reason()
    if not result.complete and why is not None and result.model is not None:
        result.reached = {"explicit": {"states": result.states, "depth": result.depth}}
        reached = f"{result.states:,} states to depth {result.depth}"
        what = "interrupted" if why == "interrupted" else "the time budget ran out (--timeout)"
        result.notes.append(f"{what} after {reached}")
        for p in result.properties:
            if p.verdict == "inconclusive":
                p.message = f"undecided; reached: explicit {reached}"
    result.seconds = time.perf_counter() - started
    return result


def _explicit_fits(model: ir.Model, opts: CheckOptions) -> bool:
    return opts.certificate is None and model.declared_space() <= EXPLICIT_LIMIT
