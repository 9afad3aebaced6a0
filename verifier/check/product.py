"""The explicit product search: NEW's states with the set of OLD states that agree so far.

Breadth first, so the first step B cannot match ends a shortest distinguishing trace; the
subset construction handles variables B hides from the comparison.
"""

from __future__ import annotations

from collections import deque

from verifier.check.refinement import Inclusion, Side, State, explain, matches
from verifier.check.results import Step, Trace

CANONICAL_PAIRS = 50_000  # a symbolic counterexample is re-found breadth first within this

Node = tuple[State, frozenset[State]]


def included_explicit(
    a: Side, b: Side, limit: int | None, max_depth: int | None = None
) -> Inclusion:
    """Whether every observable trace of `a` is one of `b`; the shortest one that is not.

    With `max_depth`, only traces of at most that many steps are searched (a negative answer
    is then inconclusive).
    """
    parent: dict[Node, tuple[Node, int] | None] = {}
    depth: dict[Node, int] = {}
    queue: deque[Node] = deque()
    b_init = b.initial()
    for s in a.initial():
        agree = frozenset(t for t in b_init if b.project(t) == a.project(s))
        if not agree:
            why = "has no initial state with these values"
            return Inclusion(False, "explicit", Trace((Step(None, (), s),)), why, None, 0)
        node = (s, agree)
        if node not in parent:
            parent[node] = None
            depth[node] = 0
            queue.append(node)
    cut = False
    while queue:
        node = queue.popleft()
        s, olds = node
        if max_depth is not None and depth[node] >= max_depth:
            cut = True
            continue
        for k in range(len(a.instances)):
            took = a.step(k, s)
            if took is None:
                continue
            nxt, approval = took
            target = a.project(nxt)
            after = matches(b, a.labels[k], sorted(olds), target, approval)
            if not after:
                why = explain(b, a.labels[k], min(olds), a.shown(nxt), approval)
                trace = _trace(a, parent, node, (k, nxt))
                return Inclusion(False, "explicit", trace, why, None, len(parent))
            child = (nxt, frozenset(after))
            if child not in parent:
                if limit is not None and len(parent) >= limit:
                    note = f"stopped after {limit:,} state pairs"
                    return Inclusion(None, "explicit", note=note, explored=len(parent))
                parent[child] = (node, k)
                depth[child] = depth[node] + 1
                queue.append(child)
    if cut:
        return Inclusion(None, "explicit", note=f"searched {max_depth} steps deep")
    return Inclusion(True, "explicit", explored=len(parent))


def _trace(
    a: Side, parent: dict[Node, tuple[Node, int] | None], node: Node, last: tuple[int, State]
) -> Trace:
    rows: list[Step] = []
    k, nxt = last
    rows.append(Step(a.instances[k].transition, a.instances[k].args, nxt))
    at: Node | None = node
    while at is not None:
        link = parent[at]
        if link is None:
            rows.append(Step(None, (), at[0]))
            break
        prev, j = link
        rows.append(Step(a.instances[j].transition, a.instances[j].args, at[0]))
        at = prev
    return Trace(tuple(reversed(rows)))
