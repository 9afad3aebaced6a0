"""Level-by-level BFS over packed states, chunk by chunk, with the explicit engine's counts.

Memory per stored state: 8 bytes in the visited set plus 8 bytes in the level arrays (kept in
discovery order). There are no parent pointers: a trace is rebuilt backwards by re-expanding
the previous level and taking the first row (and first instance) that reaches the state, which
is by definition the state's BFS parent.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from verifier.evaluate import EvalError
from verifier.fast.expand import Chunk, Program, expand, successor_stream
from verifier.fast.visited import SortedRuns, contains

Progress = Callable[[int, int, float], None]
Expanded = tuple[Chunk, np.ndarray, int]  # chunk, fresh mask as of a commit count, that count
CHUNK_CELLS = 1 << 21  # rows x instances per chunk


@dataclass
class Hit:
    """The first occurrence of something: level, row in that level, and an instance."""

    level: int
    row: int
    instance: int = -1


@dataclass
class Search:
    prog: Program
    deadlock: bool
    max_states: int | None
    progress: Progress | None
    levels: list[np.ndarray] = field(default_factory=list)
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
    pool: ThreadPoolExecutor | None = None
    commits: int = 0
    recent: deque[tuple[int, np.ndarray]] = field(default_factory=lambda: deque(maxlen=64))

    def chunk_rows(self) -> int:
        return max(16, self.cells // max(1, len(self.prog.instances)))

    def run(self, initial: np.ndarray) -> None:
        self.levels.append(initial)
        self.visited.add(np.sort(initial))
        self.states = self.generated = len(initial)
        self.fired = np.zeros(len(self.prog.instances), dtype=np.int64)
        started = time.perf_counter()
        level = 0
        while level < len(self.levels) and self.complete:
            self.depth = level
            self.explore_level(level)
            if self.progress is not None:
                self.progress(self.states, self.depth, time.perf_counter() - started)
            level += 1

    def open_props(self) -> dict[int, bool]:
        props = self.prog.model.properties
        return {p: props[p].kind == "reachable" for p in range(len(props)) if p not in self.hits}

    def explore_level(self, level: int) -> None:
        frontier = self.levels[level]
        parts: list[np.ndarray] = []
        for start, words, done in self.expanded(frontier):
            chunk, fresh = self.settle(done)
            limit = self.max_states
            if limit is not None and self.states + int(fresh.sum()) > limit:
                chunk, fresh = self.truncate(words, chunk, fresh, limit)
            parts.append(self.commit(level, start, chunk, fresh))
            if not self.complete:
                break
        if parts and sum(len(p) for p in parts):
            self.levels.append(np.concatenate(parts))

    def expanded(self, frontier: np.ndarray) -> Iterator[tuple[int, np.ndarray, Expanded]]:
        """Each chunk of the frontier with its expansion, in order; workers run ahead."""
        step = self.chunk_rows()
        starts = range(0, len(frontier), step)
        if self.pool is None or len(starts) < 2 or self.max_states is not None:
            for start in starts:
                words = frontier[start : start + step]
                yield start, words, self.expand_and_filter(words, *self.snapshot())
            return
        pending: deque[tuple[int, np.ndarray, Future[Expanded]]] = deque()
        ahead = 2 * self.workers
        for start in starts:
            words = frontier[start : start + step]
            job = self.pool.submit(self.expand_and_filter, words, *self.snapshot())
            pending.append((start, words, job))
            if len(pending) > ahead:
                first, w, fut = pending.popleft()
                yield first, w, self.result(fut, w)
        while pending:
            first, w, fut = pending.popleft()
            yield first, w, self.result(fut, w)

    def result(self, fut: Future[Expanded], words: np.ndarray) -> Expanded:
        try:
            return fut.result()
        except EvalError:
            # A property may fault on a state that in-order exploration never evaluates it
            # on (after it was decided): redo the chunk in order, where faults are real.
            return self.expand_and_filter(words, *self.snapshot())

    def snapshot(self) -> tuple[tuple[np.ndarray, ...], int]:
        """The visited runs and the commit count, taken in the merging thread."""
        return self.visited.snapshot(), self.commits

    def expand_and_filter(
        self, words: np.ndarray, runs: tuple[np.ndarray, ...], commits: int
    ) -> Expanded:
        """Expand a chunk and drop successors in the visited set as of `commits` commits."""
        chunk = self.expand(words)
        return chunk, ~contains(runs, chunk.uniq), commits

    def settle(self, done: Expanded) -> tuple[Chunk, np.ndarray]:
        """Also drop successors committed after the chunk was filtered."""
        chunk, fresh, commits = done
        for seq, added in self.recent:
            if seq >= commits and len(added):
                fresh &= ~contains((added,), chunk.uniq)
        return chunk, fresh

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
        return chunk, ~self.visited.contains(chunk.uniq)

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
        new_sorted = chunk.uniq[fresh]
        self.visited.add(new_sorted)
        self.recent.append((self.commits, new_sorted))
        self.commits += 1
        self.states += len(new_sorted)
        return new_sorted[np.argsort(chunk.first[fresh], kind="stable")]

    def path(self, level: int, row: int) -> list[tuple[int, int]]:
        """(word, instance) from an initial state to levels[level][row]; instance -1 first."""
        word = int(self.levels[level][row])
        chain: list[tuple[int, int]] = []
        for lv in range(level, 0, -1):
            parent, k = self.parent_of(lv - 1, word)
            chain.append((word, k))
            word = parent
        chain.append((word, -1))
        chain.reverse()
        return chain

    def parent_of(self, level: int, word: int) -> tuple[int, int]:
        """The first (row, instance) of `level` in exploration order whose successor is `word`."""
        frontier = self.levels[level]
        step = self.chunk_rows()
        k_count = len(self.prog.instances)
        for start in range(0, len(frontier), step):
            words = frontier[start : start + step]
            st = successor_stream(self.prog, self.prog.batch(words))
            hit = st.order[st.succ == np.uint64(word)]
            if len(hit):
                row, k = divmod(int(hit.min()), k_count)
                return int(words[row]), k
        raise AssertionError("a discovered state has no parent")  # pragma: no cover
