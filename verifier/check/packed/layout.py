"""Packing of a state tuple into 64-bit words: one bit field per slot.

Slot k stores `value - lo_k` in `bits_k` bits at `shift_k` of word `words_k`; no field
straddles two words. A state of at most 63 bits is one word and a batch of states a 1-D
uint64 array (the fast path); a wider state takes `width` words and a batch is a C-ordered
(n, width) uint64 array, whose rows `keys.py` views as fixed-size byte strings for sorting
and set membership.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from verifier import ir

WORD_BITS = 63  # bits used per word (the top bit stays clear, as in the one-word layout)
MAX_WIDTH = 8  # words per state: 504 bits of declared state at most


@dataclass(frozen=True)
class Layout:
    """Where each slot lives: its word, its shift inside that word, its width and its low."""

    lows: tuple[int, ...]
    bits: tuple[int, ...]
    shifts: tuple[int, ...]
    total_bits: int
    words: tuple[int, ...] = ()  # word index of each slot (empty: all in word 0)
    width: int = 1  # words per state

    @property
    def masks(self) -> tuple[int, ...]:
        return tuple((1 << b) - 1 for b in self.bits)

    @property
    def wide(self) -> bool:
        return self.width > 1

    def word_of(self, slot: int) -> int:
        return self.words[slot] if self.words else 0

    def shift_table(self) -> np.ndarray:
        return np.array(self.shifts, dtype=np.uint64)

    def mask_table(self) -> np.ndarray:
        return np.array(self.masks, dtype=np.uint64)

    def low_table(self) -> np.ndarray:
        return np.array(self.lows, dtype=np.int64)

    def word_table(self) -> np.ndarray:
        return np.array(self.words or [0] * len(self.lows), dtype=np.int64)

    def pack(self, state: Sequence[int]) -> int | tuple[int, ...]:
        """One int (one word) or a tuple of `width` ints."""
        out = [0] * self.width
        for k, (v, lo, sh) in enumerate(zip(state, self.lows, self.shifts, strict=True)):
            out[self.word_of(k)] |= (v - lo) << sh
        return tuple(out) if self.wide else out[0]

    def unpack(self, word: object) -> tuple[int, ...]:
        """The state of one packed word (an int) or one row of words."""
        row = [int(w) for w in word] if self.wide else [int(word)]  # type: ignore[attr-defined, call-overload]
        return tuple(
            ((row[self.word_of(k)] >> sh) & ((1 << b) - 1)) + lo
            for k, (lo, b, sh) in enumerate(zip(self.lows, self.bits, self.shifts, strict=True))
        )

    def array(self, packed: Sequence[int | tuple[int, ...]]) -> np.ndarray:
        """Packed states as a batch: shape (n,) for one word, (n, width) for more."""
        if self.wide:
            return np.array(packed, dtype=np.uint64).reshape(-1, self.width)
        return np.array(packed, dtype=np.uint64)

    def empty(self) -> np.ndarray:
        return self.array([])


def slot_low(t: ir.ScalarType) -> int:
    return t.lo if isinstance(t, ir.IntType) else 0


def layout_of(
    model: ir.Model, word_bits: int = WORD_BITS, max_width: int = MAX_WIDTH
) -> Layout | None:
    """The packed layout of `model`'s state, or None if it needs more than `max_width` words.

    `word_bits` below 63 (tests only) spreads a small state over several words.
    """
    lows, bits, shifts, words = [], [], [], []
    word, used = 0, 0
    for slot in model.slots:
        b = (slot.type.size() - 1).bit_length()
        if b > word_bits:
            return None
        if used + b > word_bits:
            word, used = word + 1, 0
        lows.append(slot_low(slot.type))
        bits.append(b)
        shifts.append(used)
        words.append(word)
        used += b
    width = word + 1
    if width > max_width:
        return None
    total = sum(bits)
    if width == 1:
        return Layout(tuple(lows), tuple(bits), tuple(shifts), total)
    return Layout(tuple(lows), tuple(bits), tuple(shifts), total, tuple(words), width)
