"""What the graph writes: node labels and hover tooltips.

Labels are short (a grad_fn name and the op's symbol, a variable name and its
shape, a constant's value). Tooltips say everything — name, shape, dtype,
value and the gradient that reached the node — with big tensors summarised
(min, max, mean, norm) rather than printed.
"""
from __future__ import annotations

import html

import numpy as np

MAX_TOOLTIP_ELEMENTS = 36     # arrays with more elements are summarised (with the first few)


def shape_text(shape) -> str:
    shape = list(shape or [])
    return "×".join(str(s) for s in shape) if shape else "scalar"


def number(value) -> str:
    return f"{float(value):.4g}"


def const_text(node: dict) -> str:
    """A constant's value if it is one number, else its shape."""
    value = node.get("value")
    if value is not None:
        a = np.asarray(value)
        if a.size == 1 and a.dtype.kind in "fiub":
            v = a.reshape(-1)[0]
            return str(bool(v)) if a.dtype.kind == "b" else (f"{v:g}" if a.dtype.kind == "f" else str(int(v)))
    return f"const {shape_text(node.get('shape'))}"


def node_lines(node: dict) -> list:
    """(text, role) pairs, role "title" | "detail" | "const"."""
    kind = node.get("kind")
    if kind == "const":
        if node.get("name"):        # a tensor the script named that needs no gradient (data)
            return [(f"{node['name']} · {shape_text(node.get('shape'))}", "const")]
        return [(const_text(node), "const")]
    if kind == "leaf":
        title = node.get("name") or ("leaf" if node.get("requires_grad") else "tensor")
        return [(title, "title"), (shape_text(node.get("shape")), "detail")]
    title = node.get("grad_fn") or node.get("label") or "op"
    detail = [node.get("op_label") or ""]
    if node.get("name"):
        detail.append(f"→ {node['name']}")
    shape = node.get("shape")
    if shape:
        detail.append(f"[{shape_text(shape)}]")
    return [(title, "title"), ("  ".join(d for d in detail if d), "detail")]


def group_lines(group, expanded: bool = False) -> list:
    hint = "double-click to collapse" if expanded else "double-click to expand"
    return [(group.label, "title"), (f"{len(group.steps)} steps · {hint}", "detail")]


def _array_html(value, summary: dict | None) -> str:
    if value is not None:
        a = np.asarray(value)
        if a.size <= MAX_TOOLTIP_ELEMENTS:
            text = np.array2string(a, precision=4, max_line_width=72, suppress_small=False)
        else:
            text = np.array2string(a, precision=4, max_line_width=72, threshold=MAX_TOOLTIP_ELEMENTS,
                                   edgeitems=2)
            text += "\n" + _summary_text(summary)
        return f"<pre style='margin:0'>{html.escape(text)}</pre>"
    if summary:
        return f"<pre style='margin:0'>{html.escape(_summary_text(summary))}</pre>"
    return "—"


def _summary_text(summary: dict | None) -> str:
    if not summary:
        return ""
    parts = [f"{key} {number(summary[key])}" for key in ("min", "max", "mean", "norm")
             if summary.get(key) is not None]
    return f"{summary.get('size', '?')} elements: " + ", ".join(parts) if parts else ""


def node_tooltip(node: dict, check: dict | None = None) -> str:
    """Rich text for hovering over a node."""
    kind = node.get("kind")
    name = node.get("name")
    if kind == "op":
        head = f"<b>{html.escape(node.get('grad_fn') or 'op')}</b>"
        if node.get("op_label"):
            head += f" &nbsp;({html.escape(node['op_label'])})"
        if name:
            head += f" → <b>{html.escape(name)}</b>"
    elif kind == "leaf":
        head = f"<b>{html.escape(name or 'leaf')}</b> &nbsp;leaf" + (", requires_grad" if node.get("requires_grad") else "")
    else:
        head = f"<b>{html.escape(name or const_text(node))}</b> &nbsp;constant (no gradient needed)"
    if node.get("is_root"):
        head += " &nbsp;<i>(root of this backward call)</i>"
    rows = [head]
    if node.get("doc"):
        rows.append(html.escape(node["doc"]))
    rows.append(f"shape {tuple(node.get('shape') or [])} · {html.escape(str(node.get('dtype')))}")
    rows.append("<b>value</b>" + _array_html(node.get("value"), node.get("value_summary")))
    if node.get("grad") is not None or node.get("grad_summary"):
        norm = node.get("grad_norm")
        rows.append(f"<b>grad</b> (reached it in this call{', ‖grad‖ = ' + number(norm) if norm is not None else ''})"
                    + _array_html(node.get("grad"), node.get("grad_summary")))
    elif kind != "const":
        rows.append("<i>no gradient reached it in this call</i>")
    if check is not None:
        mark = "✓ engine, closed form and finite differences agree" if check.get("agree") else "✗ see Compare"
        formula = check.get("simplified") or check.get("formula")
        if formula:
            short = formula if len(formula) <= 120 else formula[:119] + "…"
            rows.append(f"∂/∂{html.escape(check.get('name') or '')} = <code>{html.escape(short)}</code>")
        rows.append(mark)
    return "<br>".join(rows)


def group_tooltip(group, nodes: dict) -> str:
    first, last = nodes.get(group.first, {}), nodes.get(group.last, {})
    rows = [f"<b>{html.escape(group.label)}</b>",
            f"{len(group.steps)} ops (vertices {group.first}…{group.last}) "
            f"and {len(group.members) - len(group.steps)} constants, collapsed"]
    norms = [(first.get("grad_norm"), "first"), (last.get("grad_norm"), "last")]
    if all(n is not None for n, _ in norms):
        rows.append("‖grad‖ " + ", ".join(f"{label} {number(n)}" for n, label in norms))
    if last.get("shape") is not None:
        rows.append(f"shape {tuple(last.get('shape') or [])} · {html.escape(str(last.get('dtype')))}")
    rows.append("<i>double-click to expand</i>")
    return "<br>".join(rows)
