"""What the Compare panel says about a leaf, as text: short samples of gradient
arrays, the formulas of a leaf check (as :class:`~.math_view.Formula`), and
the explanation under a leaf — which elements disagree (values side by side,
the bad ones marked), the note, and what the symbols stand for.

Plain functions of the kernel's check dicts (``gradstudio.studio.kernel.records``); no
widgets, no model.
"""
from __future__ import annotations

import html

import numpy as np

from . import math_view
from .math_view import Formula

MAX_CELL_CHARS = 80
SAMPLE_ELEMENTS = 2           # elements spelled out in a value cell (all of them in its tooltip)
MAX_LISTED_ELEMENTS = 4       # disagreeing elements spelled out in the explanation
SMALL_TENSOR = 16             # up to this many elements, whole arrays are shown with the bad ones marked


# --------------------------------------------------------------------------- number texts
def format_sample(values, missing=None) -> str:
    """A short text for an array: the value if all equal, else the first few."""
    if values is None:
        return "—"
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return "[]"
    flat = a.reshape(-1)
    skip = np.asarray(missing, dtype=bool).reshape(-1) if missing is not None else np.zeros(flat.size, bool)
    shown = flat[~skip] if (~skip).any() else flat
    if a.size == 1:
        return _num(flat[0])
    texts = {_num(v) for v in shown[:4096]}
    if len(texts) == 1 and (shown.size <= 4096 or np.all(shown == shown[0])):   # equal as shown
        return f"{_num(shown[0])} (all {a.size})" if not skip.any() else f"{_num(shown[0])} (sampled)"
    head = ", ".join("·" if skip[i] else _num(flat[i]) for i in range(min(SAMPLE_ELEMENTS, flat.size)))
    return f"[{head}{', …' if flat.size > SAMPLE_ELEMENTS else ''}]"


def format_full(values) -> str:
    if values is None:
        return ""
    return np.array2string(np.asarray(values), precision=6, threshold=200, max_line_width=100)


def _num(v) -> str:
    return "nan" if np.isnan(v) else f"{v:.5g}"


def cut_lines(text: str, lines: int = 40, width: int = 160) -> str:
    """A pretty print cut to fit a tooltip."""
    rows = text.split("\n")
    cut = [r if len(r) <= width else r[: width - 1] + "…" for r in rows[:lines]]
    return "\n".join(cut + (["⋮"] if len(rows) > lines else []))


def cut(text: str | None) -> str:
    if not text:
        return "—"
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


# --------------------------------------------------------------------------- formulas of a leaf
def leaf_formulas(check: dict, *, whole: bool = False) -> dict:
    """``{"chain": Formula, "simplified": Formula}`` of one leaf check (empty
    Formulas where there is none). The kernel's ``latex`` is of the simplified
    form, or of the formula itself until it is simplified.

    A per-element gradient is a matrix of formulas, too wide for a row: unless
    ``whole``, its LaTeX is that of the first element (labelled), which mathtext
    can draw; the pretty print and the text stay whole."""
    chain_text, simplified_text = check.formula, check.simplified
    latex = check.latex
    chain_latex = check.chain_latex
    if chain_latex is None and simplified_text in (None, chain_text):
        chain_latex = latex                       # the same expression (matrix and per-element forms)
    caption = None
    if not whole and check.formula_kind == "per_element":
        shape = check.shape or []
        caption = f"[{', '.join('0' for _ in shape)}]" if shape else None
        chain_latex, latex = (_first_entry(chain_latex), _first_entry(latex))
    chain = Formula(chain_latex, check.chain_pretty, chain_text, caption) if chain_text else Formula()
    simplified = (Formula(latex, check.pretty, simplified_text, caption) if simplified_text
                  else Formula())
    return {"chain": chain, "simplified": simplified}


def _first_entry(latex):
    entries = math_view.matrix_entries(latex)
    return entries[0][0] if entries else None


def legend_html(check: dict) -> str:
    symbols = check.symbols or []
    if not symbols:
        return ""
    items = ", ".join(f"<i>{html.escape(str(name))}</i> = {html.escape(str(meaning))}"
                      for name, meaning in symbols)
    return f"where {items}"


def _array_html(values, mismatch, colors, missing=None) -> str:
    """A small array as text, its disagreeing elements marked."""
    a = np.asarray(values, dtype=np.float64)
    bad = np.asarray(mismatch, dtype=bool) if mismatch is not None else np.zeros(a.shape, bool)
    skip = np.asarray(missing, dtype=bool) if missing is not None else np.zeros(a.shape, bool)
    style = (f"background-color:{colors['mismatch_bg']};color:{colors['bad']};font-weight:600")

    def one(index):
        text = "·" if skip[index] else _num(a[index])
        return f"<span style='{style}'>{text}</span>" if bad[index] else text

    def nested(prefix):
        depth = len(prefix)
        if depth == a.ndim:
            return one(prefix)
        return "[" + ", ".join(nested(prefix + (i,)) for i in range(a.shape[depth])) + "]"

    return nested(()) if a.ndim else one(())


def explain_html(check: dict, colors: dict) -> str:
    """The detail line under a leaf: what disagrees (values side by side), the note,
    the symbols legend."""
    lines = []
    mismatch = check.mismatch
    references = [(label, getattr(check, key), check.unsampled if key == "finite_difference" else None)
                  for label, key in (("symbolic", "symbolic"), ("finite diff.", "finite_difference"),
                                     ("PyTorch", "torch"))]
    references = [(label, values, missing) for label, values, missing in references if values is not None]
    numeric = check.numeric
    if not check.agree:
        bad = colors["bad"]
        if mismatch is not None and np.any(mismatch) and numeric is not None:
            mismatch = np.asarray(mismatch, dtype=bool)
            count, size = int(mismatch.sum()), mismatch.size
            head = (f"<b style='color:{bad}'>✗ {count} of {size} element{'s' if size != 1 else ''} "
                    f"disagree{'s' if count == 1 and size == 1 else ''}</b>")
            if size <= SMALL_TENSOR:
                parts = [f"engine {_array_html(numeric, mismatch, colors)}"]
                parts += [f"{label} {_array_html(values, mismatch, colors, missing)}"
                          for label, values, missing in references]
                lines.append(head + ": " + " · ".join(parts))
            else:
                where = np.argwhere(mismatch)[:MAX_LISTED_ELEMENTS]
                listed = []
                for index in map(tuple, where):
                    values = [f"engine {_num(float(np.asarray(numeric)[index]))}"]
                    for label, array, missing in references:
                        skipped = missing is not None and bool(np.asarray(missing)[index])
                        values.append(f"{label} {'·' if skipped else _num(float(np.asarray(array)[index]))}")
                    listed.append(f"<b>{[int(i) for i in index]}</b> {', '.join(values)}")
                more = f"; … {count - len(listed)} more" if count > len(listed) else ""
                lines.append(head + ": " + "; ".join(listed) + more)
        else:
            lines.append(f"<b style='color:{bad}'>✗ not confirmed</b>")
    note = check.note
    if note:
        color = colors["hint"] if check.agree else colors["bad"]
        lines.append(f"<span style='color:{color}'>{html.escape(note)}</span>")
    legend = legend_html(check) if check.formula else ""
    if legend:
        lines.append(f"<span style='color:{colors['muted']}'>{legend}</span>")
    return "<br>".join(lines)
