"""What steers a running check from outside, and what engines say while they work.

`Stop` ends a search early (a time budget, a signal, or a request from a parent process);
`Status` is one engine's latest progress (states explored, bmc depth, k, pdr frames), shown
live on stderr and reported for every property still open when the budget runs out;
`Listener` is who hears about both and about each property as it is decided.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The default overall time budget of `verifier check`, per file, all engines included
# (`--timeout` changes it). Past it the check stops and exits 3 (inconclusive).
DEFAULT_BUDGET = 300.0


@dataclass(frozen=True)
class CheckOptions:
    """What `verifier check` asks of the engines."""

    engine: str = "auto"
    deadlock: bool = True
    max_states: int | None = None
    depth: int | None = None
    timeout: float | None = None  # the overall time budget per file; None: DEFAULT_BUDGET
    certificate: str | None = None
    simple_path: bool = True
    workers: int = 1  # processes for explicit search outside `auto`


@dataclass
class Stop:
    """Why a running check must end now: its deadline passed, a signal came, or it was asked."""

    deadline: float | None = None  # time.monotonic() value
    signal: int = 0  # SIGINT / SIGTERM number once received
    event: Any = None  # a multiprocessing Event a parent sets to stop a worker

    @classmethod
    def within(cls, seconds: float | None) -> Stop:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def reason(self) -> str | None:
        """None while the check may go on, else why it must stop."""
        if self.signal:
            return "interrupted"
        if self.event is not None and self.event.is_set():
            return "stopped"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "time budget"
        return None

    def __call__(self) -> bool:
        return self.reason() is not None

    def left(self) -> float | None:
        """Seconds left before the deadline (None: unlimited)."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True)
class Status:
    """How far one engine got: the fields that apply to it, the others None."""

    engine: str
    states: int | None = None
    depth: int | None = None
    rate: float | None = None  # states per second
    memory: int | None = None  # bytes of resident memory
    k: int | None = None
    frames: int | None = None
    obligations: int | None = None
    goal: str | None = None  # the property being worked on (symbolic engines)

    def summary(self) -> str:
        """A short line: `explicit 1,204,332 states, depth 31, 402,113 states/s, 118 MiB`."""
        parts: list[str] = []
        if self.states is not None:
            parts.append(f"{self.states:,} states")
        if self.depth is not None:
            parts.append(f"depth {self.depth}")
        if self.rate is not None:
            parts.append(f"{self.rate:,.0f} states/s")
        if self.memory is not None:
            parts.append(f"{self.memory / 2**20:,.0f} MiB")
        if self.k is not None:
            parts.append(f"k={self.k}")
        if self.frames is not None:
            parts.append(f"{self.frames} frames")
        if self.obligations is not None:
            parts.append(f"{self.obligations:,} obligations")
        if self.goal is not None:
            parts.append(f"on `{self.goal}`")
        return f"{self.engine} " + ", ".join(parts) if parts else self.engine


@dataclass
class Listener:
    """Callbacks for progress (`status`) and for each property decided (`decided`)."""

    status: Callable[[Status], None] = field(default=lambda s: None)
    decided: Callable[[str, str, str], None] = field(default=lambda name, verdict, engine: None)


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux), else None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def available_bytes() -> int | None:
    """Memory the kernel says is available for new work (Linux `MemAvailable`), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _never(index: int) -> bool:
    return False


def _ignore(*args: Any) -> None:
    return None


@dataclass
class Hooks:
    """What a symbolic engine reports while it runs, and which goals it may drop."""

    skip: Callable[[int], bool] = _never  # the goal was decided by another engine
    status: Callable[[Status], None] = _ignore
    outcome: Callable[[int, Any], None] = _ignore  # (goal index, smt Outcome) once decided
