"""The visited set: sorted runs of packed states, merged like a log-structured tree.

8 bytes per state. A lookup is a binary search per run (the keys arrive sorted); runs of
similar size are merged so that there are only O(log n) of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from verifier.check.packed.keys import keys_equal

MERGE_FACTOR = 4


class SortedRuns:
    """A set of state keys (see keys.py) stored as a few sorted arrays."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []
        self.size = 0

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Membership of each key in `keys` (sorted ascending)."""
        return contains(self.runs, keys)

    def snapshot(self) -> tuple[np.ndarray, ...]:
        """The current runs; they are never modified in place, so a snapshot stays valid."""
        return tuple(self.runs)

    def add(self, keys: np.ndarray) -> None:
        """Add sorted keys that are not members yet."""
        if not len(keys):
            return
        self.runs.append(keys)
        self.size += len(keys)
        runs = self.runs
        while len(runs) >= 2 and len(runs[-2]) < MERGE_FACTOR * len(runs[-1]):
            b = runs.pop()
            a = runs.pop()
            merged = np.concatenate([a, b])
            merged.sort()
            runs.append(merged)

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.runs)


def contains(runs: Sequence[np.ndarray], keys: np.ndarray) -> np.ndarray:
    """Membership of each key in `keys` (sorted ascending) in any of the sorted `runs`.

    Runs are searched newest (smallest) first, and keys found there are not searched again:
    in a BFS most successors are states of the last few levels.
    """
    found = np.zeros(len(keys), dtype=np.bool_)
    todo = np.arange(len(keys))
    for run in reversed(runs):
        if not len(todo):
            break
        if not len(run):
            continue
        needles = keys[todo]
        idx = np.searchsorted(run, needles)
        np.minimum(idx, len(run) - 1, out=idx)
        hit = keys_equal(run[idx], needles)
        found[todo[hit]] = True
        todo = todo[~hit]
    return found
