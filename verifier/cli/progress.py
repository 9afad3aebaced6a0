"""What `verifier check` shows on stderr while it works, and how it reacts to signals.

On a terminal one line is redrawn in place (every engine's latest status); with `--progress`
and no terminal (CI logs) a full line is written every few seconds. Each property is
announced with the engine that decided it. Nothing here writes to stdout.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

from verifier.check.control import Listener, Status, Stop

REDRAW_SECONDS = 0.1
LOG_SECONDS = 5.0


class ProgressPrinter:
    """Progress of one file's check, as a live line (`live`) or as log lines."""

    def __init__(self, stream: TextIO, path: str, live: bool) -> None:
        self.stream = stream
        self.path = path
        self.live = live
        self.latest: dict[str, Status] = {}
        self.shown = 0.0
        self.dirty = False

    def listener(self) -> Listener:
        return Listener(status=self.status, decided=self.decided)

    def line(self) -> str:
        return f"{self.path}: " + " | ".join(s.summary() for s in self.latest.values())

    def status(self, s: Status) -> None:
        new = s.engine not in self.latest
        self.latest[s.engine] = s
        now = time.monotonic()
        if now - self.shown < (REDRAW_SECONDS if self.live else LOG_SECONDS) and not new:
            return
        self.shown = now
        if self.live:
            width = shutil.get_terminal_size((120, 24)).columns - 1
            self.stream.write(f"\r{self.line()[:width]}\033[K")
            self.dirty = True
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def decided(self, name: str, verdict: str, engine: str) -> None:
        self.clear()
        self.stream.write(f"{self.path}: `{name}` {verdict} by {engine}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.dirty:
            self.stream.write("\r\033[K")
            self.dirty = False


class Interrupts:
    """SIGINT and SIGTERM turned into a stop request for the running check.

    The first signal stops the check (the partial result is reported, the exit status is
    128 + the signal number); a second one gives up at once with the same exit status.
    """

    def __init__(self) -> None:
        self.signal = 0
        self.current: Stop | None = None

    def stop_within(self, seconds: float) -> Stop:
        """A fresh stop for the next file, already tripped if a signal came before."""
        self.current = Stop.within(seconds)
        self.current.signal = self.signal
        return self.current

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal:
            raise KeyboardInterrupt
        self.signal = signum
        if self.current is not None:
            self.current.signal = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signal


@contextmanager
def catching_signals(interrupts: Interrupts) -> Iterator[Interrupts]:
    """Route SIGINT and SIGTERM to `interrupts` for the duration of the block."""
    saved = {s: signal.signal(s, interrupts.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield interrupts
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
