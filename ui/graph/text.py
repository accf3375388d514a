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
    value = node.value
    if value is not None:
        a = np.asarray(value)
        if a.size == 1 and a.dtype.kind in "fiub":
            v = a.reshape(-1)[0]
            return str(bool(v)) if a.dtype.kind == "b" else (f"{v:g}" if a.dtype.kind == "f" else str(int(v)))
    return f"const {shape_text(node.shape)}"


def node_lines(node: dict) -> list:
    """(text, role) pairs, role "title" | "detail" | "const"."""
    kind = node.kind
    if kind == "const":
        if node.name:        # a tensor the script named that needs no gradient (data)
            return [(f"{node.name} · {shape_text(node.shape)}", "const")]
        return [(const_text(node), "const")]
    if kind == "leaf":
        title = node.name or ("leaf" if node.requires_grad else "tensor")
        return [(title, "title"), (shape_text(node.shape), "detail")]
    title = node.grad_fn or node.label or "op"
    detail = [node.op_label or ""]
    if node.name:
        detail.append(f"→ {node.name}")
    shape = node.shape
    if shape:
        detail.append(f"[{shape_text(shape)}]")
    return [(title, "title"), ("  ".join(d for d in detail if d), "detail")]


def group_lines(group, expanded: bool = False) -> list:
    hint = "double-click to collapse" if expanded else "double-click to expand"
    if group.kind == "module":
        ops = f"{len(group.steps)} op{'s' if len(group.steps) != 1 else ''}"
        return [(group.label, "title"), (" · ".join(p for p in (group.name, ops) if p), "detail")]
    return [(group.label, "title"), (f"{len(group.steps)} steps · {hint}", "detail")]


def frame_title(group) -> str:
    """The header of an expanded group's frame: a module call names itself and its module."""
    if group.kind == "module":
        return f"{group.name} · {group.label}" if group.name else group.label
    return group.label


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
    parts = [f"{key} {number(getattr(summary, key))}" for key in ("min", "max", "mean", "norm")
             if getattr(summary, key) is not None]
    return f"{summary.size} elements: " + ", ".join(parts) if parts else ""


def node_tooltip(node: dict, check: dict | None = None) -> str:
    """Rich text for hovering over a node."""
    kind = node.kind
    name = node.name
    if kind == "op":
        head = f"<b>{html.escape(node.grad_fn or 'op')}</b>"
        if node.op_label:
            head += f" &nbsp;({html.escape(node.op_label)})"
        if name:
            head += f" → <b>{html.escape(name)}</b>"
    elif kind == "leaf":
        head = f"<b>{html.escape(name or 'leaf')}</b> &nbsp;leaf" + (", requires_grad" if node.requires_grad else "")
    else:
        head = f"<b>{html.escape(name or const_text(node))}</b> &nbsp;constant (no gradient needed)"
    if node.is_root:
        head += " &nbsp;<i>(root of this backward call)</i>"
    rows = [head]
    if node.doc:
        rows.append(html.escape(node.doc))
    rows.append(f"shape {tuple(node.shape)} · {html.escape(str(node.dtype))}")
    rows.append("<b>value</b>" + _array_html(node.value, node.value_summary))
    if node.grad is not None or node.grad_summary:
        norm = node.grad_norm
        rows.append(f"<b>grad</b> (reached it in this call{', ‖grad‖ = ' + number(norm) if norm is not None else ''})"
                    + _array_html(node.grad, node.grad_summary))
    elif kind != "const":
        rows.append("<i>no gradient reached it in this call</i>")
    if check is not None:
        mark = "✓ engine, closed form and finite differences agree" if check.agree else "✗ see Compare"
        formula = check.simplified or check.formula
        if formula:
            short = formula if len(formula) <= 120 else formula[:119] + "…"
            rows.append(f"∂/∂{html.escape(check.name or '')} = <code>{html.escape(short)}</code>")
        rows.append(mark)
    return "<br>".join(rows)


def module_tooltip(group, nodes: dict) -> str:
    """A collapsed module call: what it is, what it hides, its output."""
    last = nodes[group.last]
    rows = [f"<b>{html.escape(group.label)}</b>" + (f" — {html.escape(group.name)}" if group.name else "")]
    params = [nodes[m].name or "parameter" for m in group.members if m not in group.steps and m in nodes]
    rows.append(f"{len(group.steps)} ops" + (f", parameters {html.escape(', '.join(params))}" if params else "")
                + ", collapsed")
    if last.shape is not None:
        rows.append(f"output {tuple(last.shape)} · {html.escape(str(last.dtype))}")
    if last.grad_norm is not None:
        rows.append(f"‖grad‖ at the output {number(last.grad_norm)}")
    rows.append("<i>double-click to expand</i>")
    return "<br>".join(rows)


def group_tooltip(group, nodes: dict) -> str:
    if group.kind == "module":
        return module_tooltip(group, nodes)
    first, last = nodes[group.first], nodes[group.last]
    rows = [f"<b>{html.escape(group.label)}</b>",
            f"{len(group.steps)} ops (vertices {group.first}…{group.last}) "
            f"and {len(group.members) - len(group.steps)} constants, collapsed"]
    norms = [(first.grad_norm, "first"), (last.grad_norm, "last")]
    if all(n is not None for n, _ in norms):
        rows.append("‖grad‖ " + ", ".join(f"{label} {number(n)}" for n, label in norms))
    if last.shape is not None:
        rows.append(f"shape {tuple(last.shape)} · {html.escape(str(last.dtype))}")
    rows.append("<i>double-click to expand</i>")
    return "<br>".join(rows)
