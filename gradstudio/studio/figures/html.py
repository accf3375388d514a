"""A checked backward call as an HTML block, for notebooks.

What Compare shows in the app, as one self-contained table: per leaf the
engine's gradient, the closed form (LaTeX between ``$…$``, which JupyterLab,
Notebook, VS Code and Colab typeset with MathJax/KaTeX), its value, finite
differences, PyTorch's value when it was computed, the largest error and ✓/✗,
with the explanation under the row. A call that raised shows the error and the
plain-language hint. Every piece of text is escaped: names and messages come
from the user's script.
"""
from __future__ import annotations

from html import escape

import numpy as np

from gradstudio.studio.compare import CallCheck, LeafCheck
from gradstudio.studio.hints import hint_for

_STYLE = ("border-collapse:collapse;margin:4px 0;font-size:13px;"
          "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',sans-serif")
_CELL = "border-top:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top"
_HEAD = "padding:3px 8px;text-align:left;color:#555;font-weight:600"
PREVIEW = 4    # elements shown per array
FOLD = 240     # a formula whose LaTeX is longer than this is folded away behind a summary


def call_html(check: CallCheck) -> str:
    call = check.call
    root = escape(call.root_name or "result")
    seed = "(gradient=…)" if call.gradient is not None else "()"
    where = f"cell {call.cell}, line {call.line}" if call.cell is not None else f"line {call.line}"
    head = (f'<div class="gradstudio-check"><b>{root}.backward{seed}</b> '
            f'<span style="color:#666">· {escape(call.root_grad_fn or "no grad_fn")} · {escape(where)}</span>')
    if call.status != "ok":
        hint = hint_for(call.error or "")
        text = f'<div style="color:#b00020;margin:4px 0">{escape(call.error_type or "Error")}: {escape(call.error or "")}</div>'
        if hint:
            text += f'<div style="color:#8a5a00">Hint: {escape(hint)}</div>'
        return head + text + "</div>"
    if not check.leaves:
        return head + '<div style="color:#666">no leaf received a gradient</div></div>'
    with_torch = any(leaf.torch is not None for leaf in check.leaves)
    columns = ["", "leaf", "engine", "closed form", "symbolic", "finite diff."]
    if with_torch:
        columns.append("PyTorch")
    columns.append("max |error|")
    rows = ["<tr>" + "".join(f'<th style="{_HEAD}">{c}</th>' for c in columns) + "</tr>"]
    for leaf in check.leaves:
        rows.append(_leaf_row(leaf, with_torch, len(columns)))
    return head + f'<table style="{_STYLE}">' + "".join(rows) + "</table></div>"


def _leaf_row(leaf: LeafCheck, with_torch: bool, span: int) -> str:
    mark = ('<span style="color:#1b7f3b" title="all agree">✓</span>' if leaf.agree
            else '<span style="color:#b00020" title="disagree">✗</span>')
    shape = "×".join(str(s) for s in leaf.shape) or "scalar"
    cells = [mark, f"∂/∂{escape(leaf.name)} <span style='color:#888'>({shape})</span>",
             _values(leaf.numeric), _formula(leaf), _values(leaf.symbolic),
             _values(leaf.finite_difference)]
    if with_torch:
        cells.append(_values(leaf.torch))
    # an exponent must not wrap ("1.4e-" above "07") when the formula column takes the width
    cells.append("—" if leaf.max_abs_error is None
                 else f'<span style="white-space:nowrap">{leaf.max_abs_error:.1e}</span>')
    row = "<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>"
    notes = []
    formula = leaf.formula
    if formula is not None and formula.element_symbol:
        notes.append(f"where {escape(formula.element_symbol)} is an element of {escape(leaf.name)}")
    if leaf.note:
        notes.append(escape(leaf.note))
    if notes:
        row += (f'<tr><td></td><td colspan="{span - 1}" style="color:#666;padding:0 8px 4px">'
                + "<br>".join(notes) + "</td></tr>")
    return row


def _formula(leaf: LeafCheck) -> str:
    formula = leaf.formula
    if formula is None or formula.kind == "none":
        return '<span style="color:#888">—</span>'
    if formula.size is not None and not formula.latex:
        return f'<span style="color:#888">too large to show ({formula.size} operations)</span>'
    chain, simplified = formula.chain_latex, formula.latex
    if chain and simplified and chain != simplified:
        latex = f"{chain} = {simplified}"
    elif simplified or chain:
        latex = simplified or chain
    else:
        return escape(formula.simplified or formula.formula or "")
    math = f"${escape(latex, quote=False)}$"
    if len(latex) <= FOLD:
        return math
    what = "one formula per element" if formula.kind == "per_element" else "a long formula"
    return f"<details><summary>{what} ({len(latex)} characters of LaTeX)</summary>{math}</details>"


def _values(values) -> str:
    if values is None:
        return '<span style="color:#888">—</span>'
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        text = _number(flat[0]) + (f" (all {flat.size})" if flat.size > 1 else "")
    else:
        text = ", ".join(_number(v) for v in flat[:PREVIEW]) + (", …" if flat.size > PREVIEW else "")
        if flat.size > 1:
            text = f"[{text}]"
    return escape(text)


def _number(v: float) -> str:
    if np.isnan(v):
        return "nan"
    return f"{v:.4g}"
