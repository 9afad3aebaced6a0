"""A layered drawing of a (projected) state graph as self-contained SVG, no graphviz needed.

Layers are breadth-first distances from the initial nodes; the order inside a layer is
improved by a few barycenter sweeps (the Sugiyama heuristic); edges are cubic curves with
arrowheads, edges of a highlighted path drawn thick and red.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from verifier.report.projection import ProjectedGraph

FONT = 11
CHAR = 6.6  # average glyph width at FONT px, for box sizes
LINE = 14
GAP_X = 28
GAP_Y = 70
PAD = 20
PATH_COLOR = "#d62728"
LABEL_LIMIT = 60  # edges drawn with a visible label; beyond, labels are tooltips only
SWEEPS = 4


@dataclass(frozen=True)
class Box:
    """A node's place: centre x, top y, width, height, and its text lines."""

    x: float
    y: float
    w: float
    h: float
    lines: tuple[str, ...]


def layers(p: ProjectedGraph) -> list[list[int]]:
    """Nodes by breadth-first distance from the initial nodes, in discovery order."""
    succ: dict[int, list[int]] = {}
    for a, b in p.edges:
        succ.setdefault(a, []).append(b)
    depth = {n: 0 for n in sorted(p.initial)}
    queue = deque(sorted(p.initial))
    while queue:
        n = queue.popleft()
        for m in succ.get(n, []):
            if m not in depth:
                depth[m] = depth[n] + 1
                queue.append(m)
    for n in range(len(p.nodes)):  # not reachable in the projection (cannot happen; be safe)
        depth.setdefault(n, max(depth.values(), default=-1) + 1)
    out: list[list[int]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for n in sorted(depth, key=lambda k: (depth[k], k)):
        out[depth[n]].append(n)
    return out


def _order(rows: list[list[int]], edges: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Barycenter sweeps: each node moves towards the mean position of its neighbours."""
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    for sweep in range(SWEEPS):
        pos = {n: i for row in rows for i, n in enumerate(row)}
        down = sweep % 2 == 0
        for r in range(1, len(rows)) if down else range(len(rows) - 2, -1, -1):
            near = set(rows[r - 1] if down else rows[r + 1])
            key = {n: _barycentre(n, pos, neighbours.get(n, []), near) for n in rows[r]}
            rows[r] = sorted(rows[r], key=lambda n: (key[n], pos[n]))
            pos.update({n: i for i, n in enumerate(rows[r])})
    return rows


def _barycentre(n: int, pos: dict[int, int], linked: list[int], near: set[int]) -> float:
    """The mean position of `n`'s neighbours in the adjacent layer (its own if none)."""
    places = [pos[m] for m in linked if m in near]
    return sum(places) / len(places) if places else float(pos[n])


def _box_lines(p: ProjectedGraph, n: int) -> tuple[str, ...]:
    parts = p.parts(n) if p.slots else ["(no variables)"]
    count = p.states[n]
    if len(p.slots) < len(p.model.slots):
        parts.append(f"{count:,} state{'s' if count != 1 else ''}")
    return tuple(parts)


def place(p: ProjectedGraph) -> dict[int, Box]:
    """A box for every node, layer by layer, each layer centred."""
    rows = _order(layers(p), p.edges)
    sizes = {n: _box_lines(p, n) for n in range(len(p.nodes))}
    widths = {n: max(len(s) for s in sizes[n]) * CHAR + 16 for n in sizes}
    heights = {n: len(sizes[n]) * LINE + 10 for n in sizes}
    row_width = [sum(widths[n] for n in row) + GAP_X * (len(row) - 1) for row in rows]
    total = max(row_width, default=0)
    boxes: dict[int, Box] = {}
    y = PAD
    for row, width in zip(rows, row_width, strict=True):
        x = PAD + (total - width) / 2
        tallest = max((heights[n] for n in row), default=0)
        for n in row:
            boxes[n] = Box(x + widths[n] / 2, y, widths[n], heights[n], sizes[n])
            x += widths[n] + GAP_X
        y += tallest + GAP_Y
    return boxes


def _edge_path(a: Box, b: Box, bend: int) -> tuple[str, float, float]:
    """An SVG path from a to b and the point where its label goes."""
    if b.y > a.y:  # downwards: bottom of a to top of b
        x1, y1, x2, y2 = a.x + bend * 6, a.y + a.h, b.x + bend * 6, b.y
        mid = (y1 + y2) / 2
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
        # The label sits past the middle, where edges fanning out of one node have parted.
        return path, x1 + (x2 - x1) * 0.7, y1 + (y2 - y1) * 0.62
    side = 1 if b.x >= a.x else -1  # same layer or upwards: leave and enter from the sides
    x1, y1 = a.x + side * a.w / 2, a.y + a.h / 2 + bend * 4
    x2, y2 = b.x - side * b.w / 2 if b.y == a.y else b.x + b.w / 2 + 2, b.y + b.h / 2
    lift = 40 + 12 * abs(bend)
    c1x, c2x = x1 + side * lift, x2 + (lift if b.y != a.y else -side * lift)
    path = f"M{x1:.1f},{y1:.1f} C{c1x:.1f},{y1:.1f} {c2x:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    return path, (c1x + c2x) / 2, (y1 + y2) / 2


def _edge_label(names: dict[str, int]) -> str:
    return ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in sorted(names.items()))


def render_svg(p: ProjectedGraph, path: set[tuple[int, int]], on_path: set[int]) -> str:
    """The graph as an `<svg>` element; `path` edges and `on_path` nodes are highlighted."""
    boxes = place(p)
    width = max((b.x + b.w / 2 for b in boxes.values()), default=0) + PAD
    height = max((b.y + b.h for b in boxes.values()), default=0) + PAD
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-size="{FONT}">',
        "<defs>",
        _marker("arrow", "#777"),
        _marker("arrow-path", PATH_COLOR),
        "</defs>",
    ]
    show_labels = len(p.edges) <= LABEL_LIMIT
    ordered = sorted(p.edges.items(), key=lambda kv: ((kv[0] in path), kv[0]))
    for (a, b), names in ordered:
        out.append(_edge_svg(boxes, a, b, names, (a, b) in path, show_labels))
    for n, box in boxes.items():
        out.append(_node_svg(p, n, box, n in on_path))
    out.append("</svg>")
    return "\n".join(out)


def _marker(name: str, color: str) -> str:
    return (
        f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{color}"/></marker>'
    )


def _edge_svg(
    boxes: dict[int, Box], a: int, b: int, names: dict[str, int], hot: bool, labels: bool
) -> str:
    d, lx, ly = _edge_path(boxes[a], boxes[b], 0)
    text = _edge_label(names)
    style = (
        f'stroke="{PATH_COLOR}" stroke-width="3" marker-end="url(#arrow-path)"'
        if hot
        else 'stroke="#999" stroke-width="1.2" marker-end="url(#arrow)"'
    )
    cls = "edge on-path" if hot else "edge"
    parts = [
        f'<g class="{cls}" data-from="{a}" data-to="{b}"><title>{escape(text)}</title>',
        f'<path d="{d}" fill="none" {style}/>',
    ]
    if labels or hot:
        color = PATH_COLOR if hot else "#555"
        parts.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" fill="{color}" text-anchor="middle" '
            f'font-size="{FONT - 1}" paint-order="stroke" stroke="#fff" stroke-width="3">'
            f"{escape(text)}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _node_svg(p: ProjectedGraph, n: int, box: Box, hot: bool) -> str:
    x0 = box.x - box.w / 2
    stroke = PATH_COLOR if hot else "#333"
    width = 3 if hot or n in p.initial else 1
    fill = "#fde7e7" if hot else ("#eef4fb" if n in p.initial else "#fff")
    loops = p.loops[n]
    tip = p.label(n) + (f"; {loops} edges stay inside" if loops else "")
    parts = [
        f'<g class="node{" on-path" if hot else ""}" data-node="{n}"><title>{escape(tip)}</title>',
        f'<rect x="{x0:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="6" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>',
    ]
    if n in p.final:
        parts.append(
            f'<rect x="{x0 + 3:.1f}" y="{box.y + 3:.1f}" width="{box.w - 6:.1f}" '
            f'height="{box.h - 6:.1f}" rx="4" fill="none" stroke="{stroke}"/>'
        )
    for k, line in enumerate(box.lines):
        y = box.y + 5 + LINE * (k + 1) - 3
        parts.append(
            f'<text x="{box.x:.1f}" y="{y:.1f}" text-anchor="middle">{escape(line)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)
