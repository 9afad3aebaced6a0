"""Engine worker processes that never outlive the check that started them.

Each worker talks to its parent over its own one-way pipe, so a worker killed in the middle
of a message costs only that worker (the parent reads EOF), never a shared queue. A worker
ignores SIGINT (the terminal sends it to the whole process group; the parent decides what an
interrupt means), asks the kernel to SIGKILL it when its parent dies (Linux
`prctl(PR_SET_PDEATHSIG)`; elsewhere a thread watches the parent's pid), and is killed by the
parent's `Crew.kill` on every way out of a check, including errors and signals.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

Send = Callable[[Any], None]
PR_SET_PDEATHSIG = 1


def context() -> Any:
    """fork where the platform has it: workers start in milliseconds and inherit the model."""
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def die_with_parent(parent: int) -> None:
    """Make this process exit as soon as `parent` is gone, however it went."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _bootstrap(parent: int, conn: Any, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    # Blocked, not just ignored: z3 installs its own SIGINT handler around each solver call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent(parent)
    lock = threading.Lock()

    def send(message: Any) -> None:
        with lock:  # engines may report progress from a helper thread
            conn.send(message)

    try:
        target(send, *args)
    except BaseException:  # the parent reports it: a worker never dies silently
        with contextlib.suppress(OSError):
            send(("error", traceback.format_exc(limit=8)))
    finally:
        conn.close()


@dataclass
class Worker:
    """One engine process and the read end of its pipe."""

    name: str
    process: Any
    conn: Any
    done: bool = False


class Crew:
    """The worker processes of one check."""

    def __init__(self) -> None:
        self.ctx = context()
        self.workers: list[Worker] = []

    def start(self, name: str, target: Callable[..., None], *args: Any) -> Worker:
        """Run `target(send, *args)` in a new process."""
        recv, send = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(
            target=_bootstrap,
            args=(os.getpid(), send, target, args),
            name=f"verifier-{name}",
            daemon=True,
        )
        proc.start()
        send.close()  # the parent keeps only the read end: EOF when the worker is gone
        worker = Worker(name, proc, recv)
        self.workers.append(worker)
        return worker

    def running(self) -> list[Worker]:
        return [w for w in self.workers if not w.done]

    def receive(self, timeout: float) -> list[tuple[Worker, Any]]:
        """Messages that arrive within `timeout` seconds; a worker that ended is marked done."""
        live = {w.conn: w for w in self.running()}
        if not live:
            return []
        out: list[tuple[Worker, Any]] = []
        for conn in wait(list(live), timeout):
            worker = live[conn]
            try:
                out.append((worker, worker.conn.recv()))
            except (EOFError, OSError):
                worker.done = True
        return out

    def kill(self) -> None:
        """Kill every worker still running and reap it, so that no process is left behind."""
        for w in self.workers:
            if w.process.is_alive():
                w.process.kill()
        for w in self.workers:
            w.process.join(timeout=5)
            w.conn.close()
            w.done = True
