"""A recorded graph as a standalone SVG picture (for notebooks and exports).

Same geometry as the Graph panel — :func:`gradstudio.studio.figures.layout.layout`,
inputs on the left, the root on the right, long repeated chains collapsed —
drawn as plain SVG text with no Qt and no matplotlib, so a Jupyter front end
shows it inline. Leaves are circles, constants dashed, ops rounded boxes
labelled with their grad_fn name; a vertex that received a gradient is filled
by its magnitude (log scale, viridis-like ramp).
"""
from __future__ import annotations

import math
from html import escape

import numpy as np

from gradstudio.studio.figures import layout as _layout
from gradstudio.studio.trace import Graph

MAX_VERTICES = 400            # beyond this the picture is unreadable: say so instead
_RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]   # viridis, 5 stops
_CHAR = 7.2                   # px per character of the 12 px sans font


def graph_svg(graph: Graph | None, *, title: str = "") -> str:
    """The SVG document for ``graph`` (``""`` for no graph)."""
    if graph is None or not graph.nodes:
        return ""
    vertices = [_layout.Vertex(n.id, tuple(n.inputs), n.label, n.kind, n.name) for n in graph.nodes]
    if len(vertices) > MAX_VERTICES:
        return _message_svg(f"graph of {len(vertices)} nodes: too large to draw here")
    groups = _layout.find_groups(vertices)
    shown, group_of = _layout.collapse(vertices, groups)
    labels = {n.id: _text_of(n) for n in graph.nodes}
    for group in groups:
        labels[group.id] = (group.label, "")
    sizes = {v.id: _size(v.kind, labels[v.id]) for v in shown}
    result = _layout.layout(shown, sizes, margin=12.0)
    norms = _norms(graph, group_of)
    low, high = _range(norms.values())
    width, height = result.width, result.height + (20 if title else 0)
    # the viewBox lets a front end narrower than the graph scale it down instead of scrolling
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" style="max-width:100%;height:auto" '
             'font-family="sans-serif" font-size="12">']
    top = 0.0
    if title:
        parts.append(f'<text x="12" y="14" fill="#444">{escape(title)}</text>')
        parts.append('<g transform="translate(0,20)">')
        top = 20.0
    parts.append('<defs><marker id="gs-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                 'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>')
    for edge in result.edges:
        points = list(edge.points)
        points[-1] = _border_point(result, edge.target, points[-2] if len(points) > 1 else points[0])
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#888" stroke-width="1.3" '
                     'marker-end="url(#gs-arrow)"/>')
    for vertex in shown:
        parts.append(_vertex_svg(vertex, result, labels[vertex.id], norms.get(vertex.id), low, high))
    if top:
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _text_of(node) -> tuple:
    """(first line, second line) of a vertex's label."""
    shape = "×".join(str(s) for s in node.shape) or "scalar"
    if node.kind == "op":
        return node.op.name, (f"→ {node.name}" if node.name else shape)
    if node.kind == "const":
        value = node.value
        if np.ndim(value) == 0:
            return node.name or f"{float(value):g}", ""
        return node.name or "const", shape
    return node.name or "leaf", shape


def _size(kind: str, label: tuple) -> tuple:
    width = max(len(label[0]), len(label[1])) * _CHAR + 20
    if kind in ("leaf", "const"):
        side = max(46.0, width)
        return side, 46.0 if label[1] else 30.0
    return max(90.0, width), 40.0 if label[1] else 28.0


def _norms(graph: Graph, group_of: dict) -> dict:
    norms = {}
    for node in graph.nodes:
        if node.grad is None:
            continue
        value = float(np.linalg.norm(np.asarray(node.grad, dtype=np.float64)))
        key = group_of.get(node.id, node.id)
        norms[key] = max(norms.get(key, 0.0), value)
    return norms


def _range(values) -> tuple:
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return 1.0, 1.0
    return min(positive), max(positive)


def _colour(norm: float | None, low: float, high: float) -> str | None:
    if norm is None or not math.isfinite(norm) or norm <= 0:
        return None
    t = 0.5 if high <= low else (math.log(norm) - math.log(low)) / (math.log(high) - math.log(low))
    return _RAMP[min(len(_RAMP) - 1, max(0, int(round(t * (len(_RAMP) - 1)))))]


def _vertex_svg(vertex, result, label, norm, low, high) -> str:
    left, top, right, bottom = result.rect(vertex.id)
    x, y = result.positions[vertex.id]
    fill = _colour(norm, low, high)
    dark_fill = fill in _RAMP[:3]
    text_colour = "#fff" if dark_fill else "#222"
    fill = fill or ("#fafafa" if vertex.kind == "const" else "#f3f0fa")
    tooltip = f"<title>{escape(label[0])} {escape(label[1])}" + (
        f" · ‖grad‖ = {norm:.4g}" if norm is not None else "") + "</title>"
    if vertex.kind == "leaf":
        shape = (f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{(right - left) / 2:.1f}" ry="{(bottom - top) / 2:.1f}" '
                 f'fill="{fill}" stroke="#c9a400" stroke-width="2"/>')
    elif vertex.kind == "const":
        shape = (f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left:.1f}" height="{bottom - top:.1f}" '
                 f'rx="14" fill="{fill}" stroke="#999" stroke-dasharray="4 3"/>')
    else:
        shape = (f'<rect x="{left:.1f}" y="{top:.1f}" width="{right - left:.1f}" height="{bottom - top:.1f}" '
                 f'rx="6" fill="{fill}" stroke="#5b3e96" stroke-width="1.5"/>')
    first_y = y - 3 if label[1] else y + 4
    text = (f'<text x="{x:.1f}" y="{first_y:.1f}" text-anchor="middle" fill="{text_colour}" '
            f'font-weight="bold">{escape(label[0])}</text>')
    if label[1]:
        text += (f'<text x="{x:.1f}" y="{y + 12:.1f}" text-anchor="middle" fill="{text_colour}" '
                 f'font-size="11">{escape(label[1])}</text>')
    return f"<g>{tooltip}{shape}{text}</g>"


def _border_point(result, target, towards) -> tuple:
    """Where the segment from ``towards`` to the target's centre meets its box."""
    (cx, cy), (w, h) = result.positions[target], result.sizes[target]
    dx, dy = towards[0] - cx, towards[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min((w / 2) / abs(dx) if dx else math.inf, (h / 2) / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


def _message_svg(text: str) -> str:
    width = len(text) * _CHAR + 24
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="28" font-family="sans-serif" '
            f'font-size="12"><text x="12" y="18" fill="#666">{escape(text)}</text></svg>')
