"""The reachable graph projected onto a few variables: one node per combination of their
values that some reachable state has, one edge per pair of such nodes a transition links.

A model of 10^5 states projected onto `phase` and `sends` is a graph of a dozen nodes that
still shows every way the system moves between phases, and how often.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches

from verifier import ir
from verifier.check.explicit import Graph
from verifier.ir import semantics as sem
from verifier.ir.values import scalar_text


class BadProjection(ValueError):
    """A `--project` list that names no state variable (the message says which, and why)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class ProjectedGraph:
    """Nodes are value tuples of the chosen variables; edges count the underlying edges."""

    model: ir.Model
    variables: tuple[str, ...]
    slots: tuple[int, ...]
    nodes: list[tuple[int, ...]] = field(default_factory=list)
    states: Counter[int] = field(default_factory=Counter)  # node -> reachable states in it
    initial: set[int] = field(default_factory=set)
    final: set[int] = field(default_factory=set)
    edges: dict[tuple[int, int], Counter[str]] = field(default_factory=dict)
    loops: Counter[int] = field(default_factory=Counter)  # node -> edges that stay inside it
    index: dict[tuple[int, ...], int] = field(default_factory=dict)  # values -> node

    def node_of(self, state: Sequence[int]) -> int | None:
        """The node a full state falls into (None if no reachable state has its values)."""
        return self.index.get(tuple(state[k] for k in self.slots))

    def parts(self, node: int) -> list[str]:
        """`["phase=working", "seen={private, untrusted}"]`: one `var=value` per slot."""
        return [
            f"{self.model.slots[s].label}={scalar_text(self.model.slots[s].type, v)}"
            for s, v in zip(self.slots, self.nodes[node], strict=True)
        ]

    def label(self, node: int) -> str:
        """`phase=working, sends=2`."""
        return ", ".join(self.parts(node))


def parse_variables(model: ir.Model, names: Sequence[str]) -> tuple[str, ...]:
    """Check a `--project` list against the model's state variables."""
    known = [v.name for v in model.vars]
    chosen: list[str] = []
    for raw in names:
        name = raw.strip()
        if name not in known:
            close = get_close_matches(name, known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"the variables are {_list(known)}"
            raise BadProjection(f"`{name}` is not a state variable of `{model.name}`", hint)
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise BadProjection("`--project` names no variable", f"choose from {_list(known)}")
    return tuple(chosen)


def _list(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _slots(model: ir.Model, variables: Sequence[str]) -> tuple[int, ...]:
    out: list[int] = []
    for v in model.vars:
        if v.name in variables:
            out.extend(range(v.slot, v.slot + ir.slot_width(v.type)))
    return tuple(out)


def project(g: Graph, variables: Sequence[str]) -> ProjectedGraph:
    """Project the reachable graph `g` onto `variables` (checked with parse_variables)."""
    model = g.model
    p = ProjectedGraph(model, tuple(variables), _slots(model, variables))
    index = p.index
    of_state: list[int] = []
    for k, state in enumerate(g.states):
        key = tuple(state[s] for s in p.slots)
        node = index.setdefault(key, len(index))
        if node == len(p.nodes):
            p.nodes.append(key)
        of_state.append(node)
        p.states[node] += 1
        if k < g.initial:
            p.initial.add(node)
        if sem.is_final(model, state):
            p.final.add(node)
    for a, b, inst in g.edges:
        na, nb = of_state[a], of_state[b]
        if na == nb:
            p.loops[na] += 1
            continue
        p.edges.setdefault((na, nb), Counter())[g.instances[inst].name] += 1
    return p


def identity(g: Graph) -> ProjectedGraph:
    """The whole reachable graph in the same shape (every variable chosen)."""
    return project(g, [v.name for v in g.model.vars])


def auto_variables(model: ir.Model, changed: Sequence[str], limit: int = 48) -> tuple[str, ...]:
    """Variables worth a default projection: those a counterexample changes, small first,
    as many as keep the projected graph at most `limit` nodes (at least one)."""
    sizes = {v.name: v.type.size() for v in model.vars}
    order = sorted(changed or sizes, key=lambda n: (sizes[n], n))
    chosen: list[str] = []
    product = 1
    for name in order:
        if chosen and product * sizes[name] > limit:
            continue
        chosen.append(name)
        product *= sizes[name]
    return tuple(chosen)
