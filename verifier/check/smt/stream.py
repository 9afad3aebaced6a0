"""One symbolic engine in a worker process, reporting each goal the moment it is decided.

Messages sent to the parent: `("status", Status)` while working (bmc depth, k, pdr frames
and proof obligations, read from Spacer's verbose log), `("outcome", engine, index,
PropertyResult, Proof | None)` per decided goal (counterexamples already replayed through the
reference semantics), `("done", engine)` at the end. Goals another engine decided (a nonzero
entry in `flags`) are skipped.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import z3

from verifier import ir
from verifier.check.control import Hooks, Status
from verifier.check.smt import DEFAULT_DEPTH, encoding_for, to_result
from verifier.check.smt.bmc import run_bmc
from verifier.check.smt.certificate import Proof
from verifier.check.smt.encode import Encoding
from verifier.check.smt.goals import Goal, Outcome, goals
from verifier.check.smt.kind import run_kind
from verifier.check.smt.pdr import run_pdr_all

Send = Callable[[Any], None]
STATUS_SECONDS = 0.5


def stream_engine(
    send: Send,
    model: ir.Model,
    engine: str,
    depth: int | None,
    timeout: float | None,
    deadlock: bool,
    simple_path: bool,
    flags: Sequence[int],
) -> None:
    """Run `engine` (bmc, kind or pdr) on every goal, streaming outcomes through `send`."""
    enc = encoding_for(model, engine)
    gs = goals(enc, deadlock)
    ints = Encoding(model)
    canon = goals(ints, deadlock)
    bound = DEFAULT_DEPTH if depth is None else depth

    def outcome(i: int, o: Outcome) -> None:
        r = to_result(model, canon[i], o)
        send(("outcome", engine, i, r, _proof(ints, canon[i], o)))

    def status(s: Status) -> None:
        send(("status", s))

    hooks = Hooks(skip=lambda i: bool(flags[i]), status=status, outcome=outcome)
    if engine == "bmc":
        run_bmc(enc, gs, bound, timeout, hooks)
    elif engine == "kind":
        for i, g in enumerate(gs):
            if flags[i]:
                continue
            one = Hooks(skip=_flag(flags, i), status=status)
            outcome(i, run_kind(enc, g, bound, timeout, simple_path, one))
    else:
        with spacer_progress(hooks, status) as pdr_hooks:
            run_pdr_all(enc, gs, timeout, hooks=pdr_hooks)
    send(("done", engine))


def _flag(flags: Sequence[int], index: int) -> Callable[[int], bool]:
    """A skip test for one goal, whatever index the engine asks about."""
    return lambda _: bool(flags[index])


def _proof(enc: Encoding, goal: Goal, o: Outcome) -> Proof | None:
    """What a certificate needs of a symbolic proof (bmc's exhaustion is not one)."""
    if o.status != "holds" or o.engine == "bmc":
        return None
    inv = o.invariant if o.invariant is not None else goal.good(enc.state("")).sexpr()
    return Proof(goal.name, inv, o.k, o.simple_path)


class _Spacer:
    """Spacer's progress, parsed from its verbose log: the level (frame) and proof obligations."""

    def __init__(self, status: Callable[[Status], None]) -> None:
        self.status = status
        self.goal: str | None = None
        self.frames = 0
        self.obligations = 0
        self.reported = 0.0

    def start_goal(self, s: Status) -> None:
        self.goal, self.frames, self.obligations = s.goal, 0, 0
        self.status(s)

    def line(self, text: str) -> None:
        if text.startswith("Entering level "):
            self.frames = int(text.split()[2]) if text.split()[2].isdigit() else self.frames
            self.report(force=True)
        elif text.startswith("expand:"):
            self.obligations += 1
            self.report()

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.reported >= STATUS_SECONDS:
            self.reported = now
            s = Status("pdr", frames=self.frames, obligations=self.obligations, goal=self.goal)
            self.status(s)


@contextmanager
def spacer_progress(hooks: Hooks, status: Callable[[Status], None]) -> Iterator[Hooks]:
    """Hooks for pdr whose status also carries Spacer's frames, read from its verbose log.

    Spacer reports nothing through its API while it runs; at verbosity 1 it logs `Entering
    level N` and one `expand:` line per proof obligation to stderr, which is redirected into a
    pipe read by a thread for as long as the block runs.
    """
    spacer = _Spacer(status)
    read_fd, write_fd = os.pipe()
    saved = os.dup(2)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    z3.set_param("verbose", 1)
    reader = threading.Thread(target=_read_lines, args=(read_fd, spacer), daemon=True)
    reader.start()
    try:
        yield Hooks(skip=hooks.skip, status=spacer.start_goal, outcome=hooks.outcome)
    finally:
        z3.set_param("verbose", 0)
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees EOF
        os.close(saved)
        reader.join(timeout=2)


def _read_lines(fd: int, spacer: _Spacer) -> None:
    with os.fdopen(fd, encoding="utf-8", errors="replace") as stream:
        for text in stream:
            spacer.line(text)
