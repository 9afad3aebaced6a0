"""Packing of a state tuple into one 64-bit word: one bit field per slot.

Slot k stores `value - lo_k` in `bits_k` bits at `shift_k`. At most 63 bits are used, so the
all-ones word never encodes a state and serves as the "no successor" sentinel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from verifier import ir

SENTINEL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
MAX_BITS = 63


@dataclass(frozen=True)
class Layout:
    """Where each slot lives inside the packed word."""

    lows: tuple[int, ...]
    bits: tuple[int, ...]
    shifts: tuple[int, ...]
    total_bits: int

    @property
    def masks(self) -> tuple[int, ...]:
        return tuple((1 << b) - 1 for b in self.bits)

    def shift_table(self) -> np.ndarray:
        return np.array(self.shifts, dtype=np.uint64)

    def mask_table(self) -> np.ndarray:
        return np.array(self.masks, dtype=np.uint64)

    def low_table(self) -> np.ndarray:
        return np.array(self.lows, dtype=np.int64)

    def pack(self, state: Sequence[int]) -> int:
        word = 0
        for v, lo, sh in zip(state, self.lows, self.shifts, strict=True):
            word |= (v - lo) << sh
        return word

    def unpack(self, word: int) -> tuple[int, ...]:
        word = int(word)
        return tuple(
            ((word >> sh) & ((1 << b) - 1)) + lo
            for lo, b, sh in zip(self.lows, self.bits, self.shifts, strict=True)
        )


def slot_low(t: ir.ScalarType) -> int:
    return t.lo if isinstance(t, ir.IntType) else 0


def layout_of(model: ir.Model) -> Layout | None:
    """The packed layout of `model`'s state, or None if it needs more than 63 bits."""
    lows, bits, shifts = [], [], []
    total = 0
    for slot in model.slots:
        b = (slot.type.size() - 1).bit_length()
        lows.append(slot_low(slot.type))
        bits.append(b)
        shifts.append(total)
        total += b
    if total > MAX_BITS:
        return None
    return Layout(tuple(lows), tuple(bits), tuple(shifts), total)
