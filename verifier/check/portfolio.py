"""Engines racing in worker processes: the `auto` portfolio, and every symbolic engine.

Each engine runs in its own process (`workers.Crew`) and streams what it finds. A property
is decided by the first engine that gives a sound answer (a proof, or a counterexample that
replays through the reference semantics); the others are told to skip it, and every process
is killed as soon as all properties are decided, when the time budget runs out, or on a
signal. Explicit search reports once, at its end; asked to stop, it ends at the next chunk and
reports what it has (its violations and witnesses are sound even when it did not finish).
Whatever is still open at the end is inconclusive, with what each engine had reached.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from verifier import ir
from verifier.check.control import (
    CheckOptions,
    Listener,
    Status,
    Stop,
    available_bytes,
    resident_bytes,
)
from verifier.check.results import CheckResult, PropertyResult
from verifier.check.workers import Crew, Send

AUTO = ("explicit", "bmc", "kind", "pdr")
POLL_SECONDS = 0.1
GRACE_SECONDS = 5.0  # what explicit search gets to report its findings once asked to stop
AUTO_DEPTH = 100_000  # bmc's and kind's bound under `auto`: the time budget is the real one
# Explicit search stops when its estimated memory would pass this share of what is available.
MEMORY_SHARE = 0.5
PACKED_BYTES = 32  # per state: the visited set while two runs merge, frontier, chunk buffers
GENERAL_BYTES = 400  # per state: tuple, dict entry, parent and transition indices


def goal_names(model: ir.Model, deadlock: bool) -> list[tuple[str, str]]:
    """(name, kind) of every goal in engine order: properties, deadlock, domain."""
    out = [(p.name, p.kind) for p in model.properties]
    if deadlock:
        out.append(("deadlock", "deadlock"))
    return [*out, ("domain", "domain")]


def memory_cap(model: ir.Model) -> int | None:
    """How many states explicit search may store before its memory estimate stops fitting."""
    avail = available_bytes()
    if avail is None:
        return None
    from verifier.check.search import packs  # NumPy loads only here, in the worker

    per_state = PACKED_BYTES if packs(model) else GENERAL_BYTES
    return max(1, int(avail * MEMORY_SHARE) // per_state)


def explicit_worker(
    send: Send, model: ir.Model, deadlock: bool, limit: int | None, halt: Any
) -> None:
    """Explicit search in a worker: progress as it goes, its CheckResult at the end."""
    from verifier.check.search import search_explicit

    def progress(states: int, depth: int, seconds: float) -> None:
        rate = states / seconds if seconds > 0 else None
        send(("status", Status("explicit", states, depth, rate, resident_bytes())))

    cap = memory_cap(model)
    bound = cap if limit is None else limit if cap is None else min(limit, cap)
    result = search_explicit(
        model, deadlock=deadlock, max_states=bound, progress=progress, stop=Stop(event=halt)
    )
    if not result.complete and bound == cap and (result.states or 0) > (cap or 0):
        result.notes = [f"explicit search stopped at {cap:,} states: its memory estimate"]
    send(("explicit", result))


# Under `auto` four engines share the cores: bmc and kind yield to explicit search and pdr,
# which decide most models (benchmarks/README.md, "auto against the best single engine").
NICE = {"bmc": 10, "kind": 10}


def symbolic_worker(send: Send, nice: int, *args: Any) -> None:
    """A symbolic engine in a worker (z3 loads in the worker, never in the parent)."""
    from verifier.check.smt.stream import stream_engine

    if nice:
        os.nice(nice)
    stream_engine(send, *args)


@dataclass
class Race:
    """The engines of one check, what each has decided, and how far each got."""

    model: ir.Model
    engines: tuple[str, ...]
    opts: CheckOptions
    stop: Stop
    listener: Listener
    names: list[tuple[str, str]] = field(init=False)
    decided: list[PropertyResult | None] = field(init=False)
    notes: list[list[str]] = field(init=False)
    proofs: dict[int, Any] = field(default_factory=dict)
    latest: dict[str, Status] = field(default_factory=dict)
    explicit: CheckResult | None = None
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = goal_names(self.model, self.opts.deadlock)
        self.decided = [None] * len(self.names)
        self.notes = [[] for _ in self.names]
        self.crew = Crew()
        self.flags = self.crew.ctx.Array("b", len(self.names), lock=False)
        self.halt = self.crew.ctx.Event()

    def run(self) -> CheckResult:
        """Race to a verdict for every property; never leave a worker behind."""
        started = time.perf_counter()
        try:
            self.start()
            self.wait()
            if not self.finished():
                self.collect_explicit()
        finally:
            self.crew.kill()
        return self.result(time.perf_counter() - started)

    def start(self) -> None:
        o = self.opts
        symbolic_depth = o.depth if o.depth is not None or len(self.engines) == 1 else AUTO_DEPTH
        for e in self.engines:
            if e == "explicit":
                self.crew.start(e, explicit_worker, self.model, o.deadlock, o.max_states, self.halt)
            else:
                args = (self.model, e, symbolic_depth, self.stop.left(), o.deadlock, o.simple_path)
                nice = NICE.get(e, 0) if len(self.engines) > 1 else 0
                self.crew.start(e, symbolic_worker, nice, *args, self.flags)

    def wait(self) -> None:
        while self.crew.running():
            for _, message in self.crew.receive(POLL_SECONDS):
                self.handle(message)
            if self.finished() or self.stop():
                return

    def collect_explicit(self) -> None:
        """Ask explicit search to stop and give it a moment to report what it found."""
        explicit = [w for w in self.crew.running() if w.name == "explicit"]
        if not explicit:
            return
        self.halt.set()
        until = time.monotonic() + GRACE_SECONDS
        while self.explicit is None and not explicit[0].done and time.monotonic() < until:
            for _, message in self.crew.receive(POLL_SECONDS):
                self.handle(message)

    def handle(self, message: Any) -> None:
        tag = message[0]
        if tag == "status":
            self.latest[message[1].engine] = message[1]
            self.listener.status(message[1])
        elif tag == "outcome":
            _, engine, index, result, proof = message
            if proof is not None:
                self.proofs.setdefault(index, proof)
            self.offer(index, result, engine)
        elif tag == "explicit":
            self.take_explicit(message[1])
        elif tag == "error":
            self.errors.append(message[1].strip().splitlines()[-1])

    def take_explicit(self, result: CheckResult) -> None:
        self.explicit = result
        if result.properties:
            for i, r in enumerate(result.properties):
                self.offer(i, r, r.engine or "explicit")
        elif result.diagnostics:  # e.g. too many initial states to enumerate
            self.errors.append(f"explicit search refused: {result.diagnostics[0].message}")

    def offer(self, index: int, result: PropertyResult, engine: str) -> None:
        """The first sound answer for a goal decides it."""
        if result.verdict == "inconclusive":
            if result.message and not engine.startswith("explicit"):
                self.notes[index].append(f"{engine}: {result.message}")
            return
        if self.decided[index] is not None:
            return
        self.decided[index] = result
        name, _ = self.names[index]
        self.listener.decided(name, result.verdict, engine)
        # With a certificate asked for, symbolic engines go on proving what explicit proved.
        if self.opts.certificate is None or not engine.startswith("explicit"):
            self.flags[index] = 1

    def finished(self) -> bool:
        if any(d is None for d in self.decided):
            return False
        if self.opts.certificate is None:
            return True
        symbolic = [w for w in self.crew.running() if w.name != "explicit"]
        return not symbolic or all(i in self.proofs for i in self.certifiable())

    def certifiable(self) -> list[int]:
        return [
            i
            for i, d in enumerate(self.decided)
            if d is not None and d.verdict == "proved" and self.names[i][1] != "reachable"
        ]

    def result(self, seconds: float) -> CheckResult:
        m = self.model
        ex = self.explicit
        if ex is not None and ex.complete and ex.properties:
            base = ex
            if self.opts.certificate is not None:
                base.engine = "portfolio"  # the verdicts rest on symbolic proofs too
        else:
            engine = "portfolio" if len(self.engines) > 1 else self.engines[0]
            base = CheckResult(m.path, m.source, m, engine=engine)
            if ex is not None and ex.states is not None:
                base.notes.append(
                    f"explicit search explored {ex.states:,} states to depth {ex.depth} "
                    "without finishing"
                )
        base.properties = [d or self.undecided(i) for i, d in enumerate(self.decided)]
        base.complete = all(d is not None for d in self.decided)
        base.reached = {s.engine: _reached(s) for s in self.latest.values()}
        if not base.complete:
            base.notes.append(self.why_open())
            if self.latest:
                reached = "; ".join(_reached_text(s) for s in self.latest.values())
                base.notes.append(f"reached: {reached}")
        base.notes.extend(f"an engine failed: {e}" for e in self.errors)
        if self.opts.certificate is not None:
            self.certify(base)
        base.seconds = seconds
        return base

    def why_open(self) -> str:
        why = self.stop.reason()
        if why == "interrupted":
            return "interrupted before every property was decided"
        if why == "time budget":
            return "the time budget ran out before every property was decided (--timeout)"
        return "no engine decided every property"

    def undecided(self, index: int) -> PropertyResult:
        name, kind = self.names[index]
        r = PropertyResult(name, kind, "inconclusive", engine="portfolio")  # type: ignore[arg-type]
        if index < len(self.model.properties):
            p = self.model.properties[index]
            r.span, r.text = p.span, p.text
        r.message = "; ".join(["undecided", *self.notes[index]])
        return r

    def certify(self, result: CheckResult) -> None:
        from verifier.check.smt.certificate import write_certificate

        covered = [i for i in range(len(self.names)) if i in self.proofs]
        path = self.opts.certificate
        assert path is not None
        if not covered:
            result.notes.append("no certificate written: nothing was proved symbolically")
            return
        write_certificate(path, self.model, [self.proofs[i] for i in covered], result.engine)
        names = ", ".join(self.names[i][0] for i in covered)
        result.notes.append(f"certificate for {names} written to {path}")
        left = [self.names[i][0] for i in self.certifiable() if i not in self.proofs]
        if left:
            result.notes.append(
                f"the certificate does not cover {', '.join(left)} (proved by explicit search only)"
            )


def _reached_text(s: Status) -> str:
    """How far an engine got, without rates: `explicit 6,446,322 states, depth 9`."""
    return Status(s.engine, s.states, s.depth, k=s.k, frames=s.frames, goal=s.goal).summary()


def _reached(s: Status) -> dict[str, Any]:
    fields = ("states", "depth", "k", "frames", "obligations", "goal")
    return {f: getattr(s, f) for f in fields if getattr(s, f) is not None}


def run_engines(
    model: ir.Model,
    engines: tuple[str, ...],
    opts: CheckOptions,
    stop: Stop,
    listener: Listener | None = None,
) -> CheckResult:
    """Race `engines` (each in a worker process) on every property of `model`."""
    return Race(model, engines, opts, stop, listener or Listener()).run()
