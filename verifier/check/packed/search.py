"""Level-by-level BFS over packed states, chunk by chunk, with the explicit engine's counts.

Memory per stored state: 8 bytes in the visited set (sorted runs). Each level's states, in
discovery order, are written to a temporary file once explored; only the frontier and the
level being built stay in memory. There are no parent pointers: a trace is rebuilt backwards
by re-expanding the previous level and taking the first row (and first instance) that reaches
the state, which is by definition the state's BFS parent.
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from verifier.check.packed.expand import Chunk, Program, expand, successor_stream
from verifier.check.packed.keys import as_keys, rows_equal
from verifier.check.packed.visited import SortedRuns
from verifier.ir.evaluate import EvalError

Progress = Callable[[int, int, float], None]
CHUNK_CELLS = 1 << 21  # rows x instances per chunk
SPILL_FROM = 1 << 16  # levels with at least this many states go to disk once explored


@dataclass
class Hit:
    """The first occurrence of something: level, row in that level, and an instance."""

    level: int
    row: int
    instance: int = -1


class Levels:
    """The states of each BFS level in discovery order; explored big levels live on disk."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, level: int) -> np.ndarray:
        return self.arrays[level]

    def append(self, states: np.ndarray) -> None:
        self.arrays.append(states)

    def sizes(self) -> list[int]:
        return [len(a) for a in self.arrays]

    def spill(self, level: int) -> None:
        """Move an explored level to a file, memory-mapped back for trace rebuilding."""
        states = self.arrays[level]
        if len(states) < SPILL_FROM or isinstance(states, np.memmap):
            return
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="verifier-levels-")
        path = Path(self._dir.name) / f"level{level}.u64"
        states.tofile(path)
        self.arrays[level] = np.memmap(path, dtype=np.uint64, mode="r", shape=states.shape)

    def close(self) -> None:
        self.arrays = []
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


@dataclass
class Search:
    prog: Program
    deadlock: bool
    max_states: int | None
    progress: Progress | None
    levels: Levels = field(default_factory=Levels)
    visited: SortedRuns = field(default_factory=SortedRuns)
    states: int = 0
    generated: int = 0
    edges: int = 0
    depth: int = 0
    complete: bool = True
    fired: np.ndarray | None = None
    hits: dict[int, Hit] = field(default_factory=dict)
    deadlock_at: Hit | None = None
    domain_at: Hit | None = None
    workers: int = 1
    cells: int = CHUNK_CELLS
    pool: Executor | None = None
    stop: Callable[[], bool] | None = None
    stopped: bool = False

    def chunk_rows(self) -> int:
        return max(16, self.cells // max(1, len(self.prog.instances)))

    def run(self, initial: np.ndarray) -> None:
        self.levels.append(initial)
        self.visited.add(np.sort(as_keys(initial)))
        self.states = self.generated = len(initial)
        self.fired = np.zeros(len(self.prog.instances), dtype=np.int64)
        started = time.perf_counter()
        level = 0
        while level < len(self.levels) and self.complete:
            self.depth = level
            self.explore_level(level)
            self.levels.spill(level)
            if self.progress is not None:
                self.progress(self.states, self.depth, time.perf_counter() - started)
            level += 1

    def open_props(self) -> dict[int, bool]:
        props = self.prog.model.properties
        return {p: props[p].kind == "reachable" for p in range(len(props)) if p not in self.hits}

    def explore_level(self, level: int) -> None:
        frontier = self.levels[level]
        parts: list[np.ndarray] = []
        for start, words, chunk in self.expanded(frontier):
            fresh = ~self.visited.contains(as_keys(chunk.uniq))
            limit = self.max_states
            if limit is not None and self.states + int(fresh.sum()) > limit:
                chunk, fresh = self.truncate(words, chunk, fresh, limit)
            self.visited.add(as_keys(chunk.uniq[fresh]))
            parts.append(self.commit(level, start, chunk, fresh))
            if self.complete and self.stop is not None and self.stop():
                self.complete, self.stopped = False, True
            if not self.complete:
                break
        if parts and sum(len(p) for p in parts):
            self.levels.append(np.concatenate(parts))

    def expanded(self, frontier: np.ndarray) -> Iterator[tuple[int, np.ndarray, Chunk]]:
        """Each chunk of the frontier with its expansion, in order; workers run ahead."""
        step = self.chunk_rows()
        starts = range(0, len(frontier), step)
        if self.pool is None or len(starts) < 2 or self.max_states is not None:
            for start in starts:
                words = frontier[start : start + step]
                yield start, words, self.expand(words)
            return
        pending: deque[tuple[int, np.ndarray, Future[Chunk]]] = deque()
        ahead = 2 * self.workers
        for start in starts:
            words = frontier[start : start + step]
            pending.append((start, words, self.submit(words)))
            if len(pending) > ahead:
                first, w, fut = pending.popleft()
                yield first, w, self.result(fut, w)
        while pending:
            first, w, fut = pending.popleft()
            yield first, w, self.result(fut, w)

    def submit(self, words: np.ndarray) -> Future[Chunk]:
        assert self.pool is not None
        if isinstance(self.pool, ProcessPoolExecutor):  # the worker has the program already
            want_deadlock = self.deadlock and self.deadlock_at is None
            return self.pool.submit(_expand_here, words, self.open_props(), want_deadlock)
        return self.pool.submit(self.expand, words)

    def result(self, fut: Future[Chunk], words: np.ndarray) -> Chunk:
        try:
            return fut.result()
        except EvalError:
            # A property may fault on a state that in-order exploration never evaluates it
            # on (after it was decided): redo the chunk in order, where faults are real.
            return self.expand(words)

    def expand(self, words: np.ndarray) -> Chunk:
        want_deadlock = self.deadlock and self.deadlock_at is None
        return expand(self.prog, words, self.open_props(), want_deadlock)

    def truncate(
        self, words: np.ndarray, chunk: Chunk, fresh: np.ndarray, limit: int
    ) -> tuple[Chunk, np.ndarray]:
        """Redo the chunk up to the row after which the state count first exceeds `limit`."""
        k_count = len(self.prog.instances)
        rows = np.sort(chunk.first[fresh] // k_count)
        need = limit - self.states  # the (need+1)-th new state crosses the limit
        last = 0 if need < 0 else int(rows[need])
        self.complete = False
        chunk = self.expand(words[: last + 1])
        return chunk, ~self.visited.contains(as_keys(chunk.uniq))

    def commit(self, level: int, start: int, chunk: Chunk, fresh: np.ndarray) -> np.ndarray:
        """Record a chunk's counts and findings; return its new states in discovery order."""
        assert self.fired is not None
        self.fired += chunk.fired
        self.generated += int(chunk.fired.sum())
        self.edges += chunk.edges
        for p, row in chunk.hits.items():
            self.hits.setdefault(p, Hit(level, start + row))
        if chunk.deadlock is not None and self.deadlock_at is None:
            self.deadlock_at = Hit(level, start + chunk.deadlock)
        if chunk.domain is not None and self.domain_at is None:
            self.domain_at = Hit(level, start + chunk.domain[0], chunk.domain[1])
        self.states += int(np.count_nonzero(fresh))
        order = np.argsort(chunk.first[fresh])  # first occurrences are distinct
        return chunk.uniq[fresh][order]

    def path(self, level: int, row: int) -> list[tuple[object, int]]:
        """(state, instance) from an initial state to levels[level][row]; instance -1 first.

        A state is a packed word (int) or, for wide layouts, a row of words."""
        word = _state(self.levels[level][row])
        chain: list[tuple[object, int]] = []
        for lv in range(level, 0, -1):
            parent, k = self.parent_of(lv - 1, word)
            chain.append((word, k))
            word = parent
        chain.append((word, -1))
        chain.reverse()
        return chain

    def parent_of(self, level: int, word: object) -> tuple[object, int]:
        """The first (row, instance) of `level` in exploration order whose successor is `word`."""
        frontier = self.levels[level]
        step = self.chunk_rows()
        k_count = len(self.prog.instances)
        for start in range(0, len(frontier), step):
            words = np.asarray(frontier[start : start + step])
            st = successor_stream(self.prog, self.prog.batch(words))
            hit = st.order[rows_equal(st.succ, word)]  # type: ignore[arg-type]
            if len(hit):
                row, k = divmod(int(hit.min()), k_count)
                return _state(words[row]), k
        raise AssertionError("a discovered state has no parent")  # pragma: no cover


def _state(value: np.ndarray | np.uint64) -> object:
    """One packed state out of a batch: an int word, or a copied row of words."""
    return np.array(value, dtype=np.uint64) if np.ndim(value) else int(value)


_PROGRAM: Program | None = None  # the program a forked expansion worker inherited


def _expand_here(words: np.ndarray, open_props: dict[int, bool], want_deadlock: bool) -> Chunk:
    assert _PROGRAM is not None
    return expand(_PROGRAM, words, open_props, want_deadlock)


def expansion_pool(prog: Program, workers: int) -> Executor:
    """Worker processes that expand chunks of `prog`'s frontier (forked: they inherit the
    compiled program, which holds closures and cannot be pickled); threads where a process
    may not fork (inside a daemon worker, or without fork)."""
    global _PROGRAM
    if mp.current_process().daemon or "fork" not in mp.get_all_start_methods():
        return ThreadPoolExecutor(workers)
    _PROGRAM = prog
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
