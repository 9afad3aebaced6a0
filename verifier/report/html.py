"""`verifier report`: one self-contained HTML page (inline CSS, JS and SVG; nothing fetched).

The verdict table; each counterexample as a step table with the changed variables
highlighted, the guards that admitted each step and why the last state is a violation; a
graph of the reachable states (whole when small, else projected onto a few variables) with
the counterexample's path in red; how often each transition fired.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from verifier import ir
from verifier.check.explicit import Graph
from verifier.check.results import CheckResult, PropertyResult, Trace
from verifier.ir.values import scalar_text
from verifier.report.explain import admission_text, admissions, violation
from verifier.report.html_style import SCRIPT, STYLE
from verifier.report.layout import render_svg
from verifier.report.projection import ProjectedGraph, auto_variables, identity, project
from verifier.report.text import step_label, summary_line

FULL_GRAPH_LIMIT = 40  # up to this many reachable states the graph is drawn whole
DRAW_LIMIT = 400  # a projection with more nodes than this is not drawn (unreadable)


@dataclass(frozen=True)
class GraphChoice:
    """The explored graph (or why there is none) and the variables the user projected on."""

    graph: Graph | None
    variables: tuple[str, ...] | None
    missing: str | None = None  # why no graph is drawn


def render_html(result: CheckResult, choice: GraphChoice) -> str:
    """The whole report page."""
    model = result.model
    title = escape(model.name if model is not None else result.path)
    body = [f"<h1>{title}</h1>"]
    if model is not None and model.doc:
        body.append(f'<p class="doc">{escape(model.doc)}</p>')
    body.append(f'<p class="summary">{escape(summary_line(result))}</p>')
    body.append(_diagnostics(result))
    if model is not None:
        body.append(_verdicts(result))
        shown = [p for p in result.properties if p.verdict == "violated" and p.trace]
        for k, p in enumerate(shown):
            body.append(_counterexample(model, p, choice, k))
        if not shown:
            body.append(_graph_section(model, None, choice, "graph"))
        body.append(_coverage(model, result))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}: verifier report</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}<script>{SCRIPT}</script></body></html>\n"
    )


def _diagnostics(result: CheckResult) -> str:
    if not result.diagnostics:
        return ""
    rows = "".join(
        f'<li class="{d.severity}"><code>{escape(d.path)}:{d.span.line}:{d.span.column}</code> '
        f"{escape(d.severity)}[{escape(d.code)}]: {escape(d.message)}"
        + (f" <em>help: {escape(d.help)}</em>" if d.help else "")
        + "</li>"
        for d in result.diagnostics
    )
    return f'<h2>Diagnostics</h2><ul class="diagnostics">{rows}</ul>'


def _verdicts(result: CheckResult) -> str:
    rows = []
    for p in result.properties:
        line = str(p.span.line) if p.span is not None else ""
        how = ", ".join(x for x in (p.engine, p.detail, p.message) if x)
        rows.append(
            f'<tr class="verdict-{p.verdict}"><td><code>{escape(p.name)}</code></td>'
            f'<td>{escape(p.kind)}</td><td><span class="badge {p.verdict}">{p.verdict}</span>'
            f"</td><td>{line}</td><td>{escape(p.text or '')}</td><td>{escape(how)}</td></tr>"
        )
    head = "<tr><th>property</th><th>kind</th><th>verdict</th><th>line</th><th>condition</th>"
    head += "<th>decided by</th></tr>"
    return f'<h2>Verdicts</h2><table class="verdicts">{head}{"".join(rows)}</table>'


def _cells(model: ir.Model, before: Sequence[int] | None, after: Sequence[int]) -> str:
    out = []
    for k, slot in enumerate(model.slots):
        changed = before is not None and before[k] != after[k]
        cls = ' class="changed"' if changed else ""
        out.append(f"<td{cls}>{escape(scalar_text(slot.type, after[k]))}</td>")
    return "".join(out)


def _steps_table(model: ir.Model, trace: Trace, graph: ProjectedGraph | None) -> str:
    heads = "".join(f"<th>{escape(slot.label)}</th>" for slot in model.slots)
    rows = [f"<tr><th>step</th><th>transition</th><th>allowed by</th>{heads}</tr>"]
    allowed = [""] + [admission_text(a) for a in admissions(model, trace)]
    prev: tuple[int, ...] | None = None
    last = len(trace.steps) - 1
    for i, step in enumerate(trace.steps):
        node = graph.node_of(step.state) if graph is not None else None
        data = f' data-node="{node}"' if node is not None else ""
        if i == last and trace.failure is not None:
            cells = f'<td class="failure" colspan="{len(model.slots)}">fails: '
            cells += f"{escape(trace.failure)}</td>"
        else:
            cells = _cells(model, prev, step.state)
        rows.append(
            f'<tr class="step"{data}><td>{i}</td><td><code>{escape(step_label(step))}</code></td>'
            f'<td class="allowed">{escape(allowed[i])}</td>{cells}</tr>'
        )
        prev = step.state
    return f'<div class="scroll"><table class="trace">{"".join(rows)}</table></div>'


def _counterexample(model: ir.Model, p: PropertyResult, choice: GraphChoice, k: int) -> str:
    assert p.trace is not None
    projected = _projection(model, p.trace, choice)
    head = {
        "invariant": f"Invariant <code>{escape(p.name)}</code> is violated",
        "deadlock": "Deadlock: a reachable state that is not final has nothing enabled",
        "domain": f"Domain violation: {escape(p.message or '')}",
        "reachable": f"<code>{escape(p.name)}</code>",
    }[p.kind]
    parts = [f'<section class="counterexample" id="cex-{k}"><h2>{head}</h2>']
    if p.text:
        parts.append(f'<p class="condition"><code>{escape(p.text)}</code></p>')
    parts.append(f"<h3>Shortest counterexample, {len(p.trace)} steps</h3>")
    parts.append(_steps_table(model, p.trace, projected))
    why = violation(model, p)
    if why:
        items = "".join(f"<li>{_code_spans(w)}</li>" for w in why)
        parts.append(f'<h3>Why step {len(p.trace)} is a violation</h3><ul class="why">{items}</ul>')
    parts.append(_graph_section(model, p.trace, choice, f"graph-{k}", projected))
    parts.append("</section>")
    return "".join(parts)


def _code_spans(text: str) -> str:
    """`a` spans of a sentence as <code>."""
    pieces = escape(text).split("`")
    return "".join(f"<code>{s}</code>" if i % 2 else s for i, s in enumerate(pieces))


def _changed_vars(model: ir.Model, trace: Trace) -> list[str]:
    names: list[str] = []
    for a, b in zip(trace.steps, trace.steps[1:], strict=False):
        for k, slot in enumerate(model.slots):
            if a.state[k] != b.state[k] and slot.var not in names:
                names.append(slot.var)
    return names


def _projection(model: ir.Model, trace: Trace | None, choice: GraphChoice) -> ProjectedGraph | None:
    g = choice.graph
    if g is None:
        return None
    if choice.variables:
        return project(g, choice.variables)
    if len(g.states) <= FULL_GRAPH_LIMIT:
        return identity(g)
    changed = _changed_vars(model, trace) if trace is not None else []
    return project(g, auto_variables(model, changed))


def _graph_section(
    model: ir.Model,
    trace: Trace | None,
    choice: GraphChoice,
    anchor: str,
    projected: ProjectedGraph | None = None,
) -> str:
    if choice.graph is None:
        return f'<p class="note">No graph: {escape(choice.missing or "not explored")}.</p>'
    p = projected or _projection(model, trace, choice)
    assert p is not None
    nodes = [p.node_of(s.state) for s in trace.steps] if trace is not None else []
    on_path = {n for n in nodes if n is not None}
    path = {(a, b) for a, b in itertools.pairwise(nodes) if a != b and a is not None}
    total = len(choice.graph.states)
    if len(p.slots) == len(model.slots):
        what = f"The reachable graph: {total:,} states."
    else:
        picked = ", ".join(f"<code>{escape(v)}</code>" for v in p.variables)
        how = (
            "chosen with <code>--project</code>"
            if choice.variables
            else (
                "picked from the variables the counterexample changes; choose others with "
                "<code>--project</code>"
            )
        )
        what = (
            f"The {total:,} reachable states projected onto {picked} ({how}): "
            f"{len(p.nodes)} nodes, each labelled with how many states it stands for."
        )
    note = (
        f'<p class="note">{what} The counterexample path is red.</p>'
        if trace
        else (f'<p class="note">{what}</p>')
    )
    if len(p.nodes) > DRAW_LIMIT:
        return (
            f'<h3>Graph</h3><p class="note">{what} That is too many nodes to draw readably; '
            "project onto fewer or smaller variables with <code>--project</code>.</p>"
        )
    svg = render_svg(p, {(a, b) for a, b in path if b is not None}, on_path)
    return f'<h3>Graph</h3>{note}<div class="scroll graph-box" id="{anchor}">{svg}</div>'


def _coverage(model: ir.Model, result: CheckResult) -> str:
    if not result.coverage:
        return ""
    most = max(result.coverage.values(), default=0) or 1
    rows = []
    for t in model.transitions:
        n = result.coverage.get(t.name, 0)
        width = 200 * n / most
        cls = ' class="dead"' if n == 0 else ""
        rows.append(
            f"<tr{cls}><td><code>{escape(t.name)}</code></td><td>{escape(t.kind)}</td>"
            f'<td class="num">{n:,}</td><td><span class="bar" style="width:{width:.0f}px">'
            "</span></td></tr>"
        )
    head = "<tr><th>transition</th><th>kind</th><th>fired</th><th></th></tr>"
    return (
        '<h2>Coverage</h2><p class="note">How many times each transition fired across the '
        f'reachable states.</p><table class="coverage">{head}{"".join(rows)}</table>'
    )
