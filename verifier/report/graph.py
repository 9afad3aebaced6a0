"""The reachable state graph as DOT, Mermaid, JSON (networkx node-link) or SVG (graphviz),
whole or projected onto a few variables."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from typing import TextIO

import networkx as nx

from verifier import ir
from verifier.check.explicit import Graph, TooManyInitialStates, explore
from verifier.check.results import Step
from verifier.diagnostics import render as render_diagnostic
from verifier.ir import semantics as sem
from verifier.ir.values import scalar_text, scalar_to_json, state_to_json
from verifier.report.projection import ProjectedGraph, project
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


def projected_networkx(p: ProjectedGraph) -> nx.MultiDiGraph:
    """Nodes are projected value combinations (with `states`, how many states each stands
    for); one edge per transition between two of them, with `count`, how many edges."""
    out = nx.MultiDiGraph(capability=p.model.name, projected_on=list(p.variables))
    kinds = {t.name: t.kind for t in p.model.transitions}
    for n in range(len(p.nodes)):
        count = p.states[n]
        label = f"{p.label(n)} ({count} state{'s' if count != 1 else ''})"
        out.add_node(
            n,
            state={
                p.model.slots[s].label: scalar_to_json(p.model.slots[s].type, v)
                for s, v in zip(p.slots, p.nodes[n], strict=True)
            },
            initial=n in p.initial,
            final=n in p.final,
            states=count,
            label=label,
        )
    for (a, b), names in sorted(p.edges.items()):
        for name, count in sorted(names.items()):
            action = f"{name} x{count}" if count > 1 else name
            out.add_edge(a, b, action=action, kind=kinds[name], count=count)
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


SVG_HELP = (
    "install graphviz (for example `apt-get install graphviz`), or draw the graph without it "
    "with `verifier report SPEC -o report.html`"
)


def dot_to_svg(dot: str, err: TextIO) -> str | None:
    """Run graphviz `dot -Tsvg`; None (after saying why on `err`) when it cannot."""
    exe = shutil.which("dot")
    if exe is None:
        err.write(
            "error: `--format svg` needs graphviz's `dot` program, which is not installed\n"
            f"  = help: {SVG_HELP}\n"
        )
        return None
    done = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output"
        err.write(f"error: graphviz `dot` failed: {reason}\n")
        return None
    return done.stdout


def render_graph(
    model: ir.Model,
    fmt: str,
    max_states: int,
    out: TextIO,
    err: TextIO,
    variables: Sequence[str] | None = None,
) -> int:
    """Write the reachable graph of `model` (projected onto `variables` if given); return an
    exit code (0, 2 or 3)."""
    try:
        g = explore(model, max_states=max_states)
    except TooManyInitialStates as too_many:
        err.write(render_diagnostic(too_many.diagnostic, model.source) + "\n")
        return 2
    if not g.complete:
        err.write(
            f"{model.path}: more than {max_states} reachable states; raise --max-states, "
            "project onto a few variables with --project, or scale the model down with --const\n"
        )
        return 3
    nxg = projected_networkx(project(g, variables)) if variables else to_networkx(g)
    if fmt == "dot":
        out.write(_dot(nxg) + "\n")
    elif fmt == "mermaid":
        out.write(_mermaid(nxg) + "\n")
    elif fmt == "svg":
        svg = dot_to_svg(_dot(nxg), err)
        if svg is None:
            return 2
        out.write(svg)
    else:
        data = nx.node_link_data(nxg, edges="edges")
        out.write(json.dumps(data, indent=2) + "\n")
    return 0
