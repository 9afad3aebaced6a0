"""Expansion of one chunk of a BFS frontier: every instance over every row at once.

The chunk's successors form a stream in exploration order (row-major, instances in
`semantics.instances` order); the first occurrence of each successor in that stream is where
BFS discovers it, and duplicates inside one row are the non-distinct edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from verifier import ir
from verifier.check.packed.keys import as_keys, from_keys, keys_equal
from verifier.check.packed.layout import Layout
from verifier.check.packed.step import CompiledInstance
from verifier.check.packed.vector import Batch, Compiler, Node, Tables, as_fn, truth
from verifier.ir.evaluate import eval_expr


@dataclass
class Program:
    """A model compiled for packed, vectorised search."""

    model: ir.Model
    layout: Layout
    tables: Tables
    instances: list[CompiledInstance]
    props: list[Node]
    final: Node | None

    def batch(self, words: np.ndarray) -> Batch:
        return Batch(self.layout, self.tables, words)


def compile_program(model: ir.Model, layout: Layout, comp: Compiler, insts: list) -> Program:
    props = [comp.expr(p.cond, {}) for p in model.properties]
    final = comp.expr(model.final, {}) if model.final is not None else None
    return Program(model, layout, Tables(layout), insts, props, final)


@dataclass
class Chunk:
    """What exploring some rows of a frontier produced."""

    rows: int
    fired: np.ndarray  # int64[K]: valid firings per instance
    edges: int  # distinct (row, successor) pairs
    uniq: np.ndarray  # sorted distinct successors
    first: np.ndarray  # stream position of each one's first occurrence
    domain: tuple[int, int] | None = None  # (row, instance) of the first fault
    deadlock: int | None = None  # first row with nothing enabled that is not final
    hits: dict[int, int] = field(default_factory=dict)  # property index -> first row


def first_match(
    prog: Program, node: Node, b: Batch, wanted: bool, among: np.ndarray | None = None
) -> int | None:
    """The first row (of `among`, default all) where the predicate equals `wanted`.

    Rows the vectorised code marks as faulting are evaluated with the reference evaluator, in
    row order and only up to the first match, so it raises exactly where BFS would.
    """
    v, err = as_fn(node)(b)
    match = np.broadcast_to(truth(v), (b.n,)) == wanted
    if among is not None:
        match = match & among
    if err is not None:
        suspect = err if among is None else err & among
        match = match & ~suspect
    rows = np.flatnonzero(match)
    first = int(rows[0]) if len(rows) else None
    if err is None:
        return first
    expr = _expr_of(prog, node)
    for r in np.flatnonzero(suspect[:first]).tolist():
        if bool(eval_expr(expr, prog.layout.unpack(b.words[r]), {})) == wanted:
            return r
    return first


def _expr_of(prog: Program, node: Node) -> ir.Expr:
    for p, n in zip(prog.model.properties, prog.props, strict=True):
        if n is node:
            return p.cond
    assert prog.model.final is not None
    return prog.model.final


@dataclass
class Stream:
    """The valid successors of a batch and their exploration-order keys (row * K + instance)."""

    succ: np.ndarray  # uint64
    order: np.ndarray  # int64
    fired: np.ndarray  # int64[K]
    enabled: np.ndarray  # bool[n]: some instance is enabled (or faults) in the row
    errors: list[np.ndarray]  # per instance, the rows where it faults


def successor_stream(prog: Program, b: Batch) -> Stream:
    """Every instance fired over every row of the batch."""
    k_count = len(prog.instances)
    succ, order, errors = [], [], []
    fired = np.zeros(k_count, dtype=np.int64)
    enabled = np.zeros(b.n, dtype=np.bool_)
    for k, ci in enumerate(prog.instances):
        f = ci.fire(b)
        enabled[f.enabled] = True
        fired[k] = len(f.valid)
        if len(f.valid):
            succ.append(f.succ)
            order.append(f.valid * k_count + k)
        errors.append(f.errors)
    if not succ:
        empty = np.zeros(0, dtype=np.int64)
        return Stream(prog.layout.empty(), empty, fired, enabled, errors)
    return Stream(np.concatenate(succ), np.concatenate(order), fired, enabled, errors)


def expand(
    prog: Program, words: np.ndarray, open_props: dict[int, bool], want_deadlock: bool
) -> Chunk:
    """Explore every row of `words`; `open_props` maps property index -> value that hits."""
    b = prog.batch(words)
    st = successor_stream(prog, b)
    k_count = len(prog.instances)
    uniq, first, edges = first_occurrences(prog.layout, st.succ, st.order, len(words), k_count)
    out = Chunk(len(words), st.fired, edges, uniq, first)
    out.domain = _first_error(st.errors)
    if want_deadlock and not st.enabled.all():
        out.deadlock = _first_deadlock(prog, b, st.enabled)
    for p, wanted in open_props.items():
        hit = first_match(prog, prog.props[p], b, wanted)
        if hit is not None:
            out.hits[p] = hit
    return out


def first_occurrences(
    layout: Layout, succ: np.ndarray, order: np.ndarray, rows: int, k_count: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Sorted distinct successors, the smallest order key of each, and the distinct edges.

    Sorting by (successor, order key) puts equal successors from one row next to each other.
    When both fit in 64 bits that is one plain sort of combined keys; otherwise a lexsort.
    """
    m = len(succ)
    if m == 0:
        return succ, order, 0
    if layout.wide:
        return _first_occurrences_wide(layout, succ, order, k_count)
    idx_bits = max(1, (rows * k_count - 1).bit_length())
    if layout.total_bits + idx_bits <= 64:
        keys = (succ << np.uint64(idx_bits)) | order.astype(np.uint64)
        keys.sort()
        ss = keys >> np.uint64(idx_bits)
        ok = (keys & np.uint64((1 << idx_bits) - 1)).astype(np.int64)
    else:
        perm = np.lexsort((order, succ))
        ss, ok = succ[perm], order[perm]
    head = np.ones(m, dtype=np.bool_)
    np.not_equal(ss[1:], ss[:-1], out=head[1:])
    repeat = np.flatnonzero(~head[1:])  # ss[i + 1] == ss[i]: the same successor again
    same = ok[repeat + 1] // k_count == ok[repeat] // k_count
    return ss[head], ok[head], m - int(np.count_nonzero(same))


def _first_occurrences_wide(
    layout: Layout, succ: np.ndarray, order: np.ndarray, k_count: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """`first_occurrences` for states of several words: sorted by (key, order key)."""
    keys = as_keys(succ)
    by_order = np.argsort(order)  # the order keys are distinct
    perm = by_order[np.argsort(keys[by_order], kind="stable")]
    ks, ok = keys[perm], order[perm]
    head = np.ones(len(ks), dtype=np.bool_)
    head[1:] = ~keys_equal(ks[1:], ks[:-1])
    repeat = np.flatnonzero(~head[1:])
    same = ok[repeat + 1] // k_count == ok[repeat] // k_count
    return from_keys(ks[head], layout.width), ok[head], len(ks) - int(np.count_nonzero(same))


def _first_error(errors: list[np.ndarray]) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    for k, rows in enumerate(errors):
        if len(rows):
            cand = (int(rows.min()), k)
            if best is None or cand < best:
                best = cand
    return best


def _first_deadlock(prog: Program, b: Batch, enabled: np.ndarray) -> int | None:
    stuck = ~enabled
    if prog.final is None:
        return int(np.flatnonzero(stuck)[0])
    return first_match(prog, prog.final, b, False, stuck)
