"""The reachable state graph as DOT, Mermaid or JSON (networkx node-link)."""

from __future__ import annotations

import json
from typing import TextIO

import networkx as nx

from verifier import ir
from verifier.check.explicit import Graph, TooManyInitialStates, explore
from verifier.check.results import Step
from verifier.diagnostics import render as render_diagnostic
from verifier.ir import semantics as sem
from verifier.ir.values import scalar_text, state_to_json
from verifier.report.text import step_label


def state_label(model: ir.Model, state: tuple[int, ...]) -> str:
    if not state:
        return "(no variables)"
    return ", ".join(
        f"{model.slots[k].label}={scalar_text(model.slots[k].type, v)}" for k, v in enumerate(state)
    )


def to_networkx(g: Graph) -> nx.MultiDiGraph:
    """Nodes are discovery indices with `state`, `initial`, `final` attributes."""
    out = nx.MultiDiGraph(capability=g.model.name)
    for i, s in enumerate(g.states):
        out.add_node(
            i,
            state=state_to_json(g.model, s),
            initial=i < g.initial,
            final=sem.is_final(g.model, s),
            label=state_label(g.model, s),
        )
    for a, b, k in g.edges:
        inst = g.instances[k]
        out.add_edge(
            a, b, action=step_label(Step(inst.transition, inst.args, ())), kind=inst.transition.kind
        )
    return out


def _dot(g: nx.MultiDiGraph) -> str:
    lines = [f'digraph "{_esc(g.graph["capability"])}" {{', "  node [shape=box, fontsize=10];"]
    for n, data in g.nodes(data=True):
        style = ', style="bold"' if data["initial"] else ""
        style += ", peripheries=2" if data["final"] else ""
        lines.append(f'  s{n} [label="{_esc(data["label"])}"{style}];')
    for a, b, data in g.edges(data=True):
        dashed = ", style=dashed" if data["kind"] == "event" else ""
        lines.append(f'  s{a} -> s{b} [label="{_esc(data["action"])}"{dashed}];')
    lines.append("}")
    return "\n".join(lines)


def _mermaid(g: nx.MultiDiGraph) -> str:
    lines = ["stateDiagram-v2"]
    for n, data in g.nodes(data=True):
        lines.append(f"  s{n} : {data['label'].replace(':', ' ')}")
        if data["initial"]:
            lines.append(f"  [*] --> s{n}")
    for a, b, data in g.edges(data=True):
        lines.append(f"  s{a} --> s{b} : {data['action'].replace(':', ' ')}")
    return "\n".join(lines)


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_graph(model: ir.Model, fmt: str, max_states: int, out: TextIO, err: TextIO) -> int:
    """Write the reachable graph of `model`; return an exit code (0, 2 or 3)."""
    try:
        g = explore(model, max_states=max_states)
    except TooManyInitialStates as too_many:
        err.write(render_diagnostic(too_many.diagnostic, model.source) + "\n")
        return 2
    if not g.complete:
        err.write(
            f"{model.path}: more than {max_states} reachable states; raise --max-states or "
            "scale the model down with --const\n"
        )
        return 3
    nxg = to_networkx(g)
    if fmt == "dot":
        out.write(_dot(nxg) + "\n")
    elif fmt == "mermaid":
        out.write(_mermaid(nxg) + "\n")
    else:
        data = nx.node_link_data(nxg, edges="edges")
        out.write(json.dumps(data, indent=2) + "\n")
    return 0
