"""Batches of packed states as sortable keys, whatever their width in words.

A one-word state is its own key (uint64). A state of W words is a row of an (n, W) array;
its key is the row viewed as a W*8-byte string (NumPy's void dtype), which sorts and binary-
searches bytewise: any fixed total order serves for sets and duplicate detection. Byte-string
comparisons are several times slower than uint64 ones, the price of states wider than a word.
"""

from __future__ import annotations

import numpy as np


def key_dtype(width: int) -> np.dtype:
    return np.dtype(np.uint64) if width == 1 else np.dtype((np.void, 8 * width))


def as_keys(states: np.ndarray) -> np.ndarray:
    """A 1-D array of sortable keys for a batch of states (a view when possible)."""
    if states.ndim == 1:
        return states
    width = states.shape[1]
    return np.ascontiguousarray(states).view(key_dtype(width)).reshape(-1)


def from_keys(keys: np.ndarray, width: int) -> np.ndarray:
    """The batch of states behind `keys` (a view)."""
    if width == 1:
        return keys
    return keys.view(np.uint64).reshape(-1, width)


def words_of(keys: np.ndarray) -> np.ndarray:
    """Keys as uint64 words: (n,) for one-word keys, (n, W) for wider ones."""
    if keys.dtype == np.uint64:
        return keys
    return keys.view(np.uint64).reshape(len(keys), keys.dtype.itemsize // 8)


def keys_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality of two key arrays of one length."""
    wa, wb = words_of(a), words_of(b)
    eq = wa == wb
    return eq if eq.ndim == 1 else eq.all(axis=1)


def rows_equal(states: np.ndarray, row: np.ndarray | int) -> np.ndarray:
    """Which states of a batch equal one state (an int word or a row of words)."""
    if states.ndim == 1:
        return states == np.uint64(int(row))
    return (states == np.asarray(row, dtype=np.uint64)).all(axis=1)
