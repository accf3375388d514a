"""What the Compare panel shows for one backward call, as plain data.

:func:`describe_call` turns a call record (and its check, once it is back)
into a :class:`Section`: the header line, and one :class:`Row` per leaf —
each cell's text, tooltip, colour role ("muted", "ok", "bad"), formula and
highlight — with the explanation line under it, or the message rows of a
call that raised or reached no leaf. The panel (:mod:`.compare`) only turns
rows into ``QTreeWidgetItem``\\ s; two equal descriptions render the same, so
the panel skips a rebuild that would change nothing.

No widgets here (the texts come from :mod:`..widgets.gradient_text`); the
tests build sections from recorded calls without a window.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from ..widgets.gradient_text import cut, cut_lines, explain_html, format_full, format_sample, leaf_formulas
from ..widgets.math_view import Formula

COLUMNS = ["Leaf", "", "Engine (this call)", "Chain form", "Simplified", "Symbolic", "Finite diff.", "PyTorch",
           "Error"]
LEAF, MARK, ENGINE, CHAIN, SIMPLIFIED, SYMBOLIC, FD, TORCH, ERROR = range(len(COLUMNS))
SAME_CHARS = 12               # a simplified form equal to a chain form longer than this is not repeated


@dataclass
class Cell:
    text: str = ""
    tip: str | None = None
    tone: str | None = None            # a theme colour name for the text: "muted", "ok", "bad"
    formula: Formula | None = None     # drawn as mathematics by the delegate
    bold: bool = False
    mismatch: bool = False             # the disagreeing elements' background


@dataclass
class Row:
    kind: str                          # "leaf", "formula" (a matrix form drawn whole under its leaf),
                                       # "detail" (the explanation under a leaf) or "message"
    key: tuple                         # (call, vertex or None): what a click selects
    cells: dict = field(default_factory=dict)   # column -> Cell (leaf rows)
    html: str | None = None            # detail and message rows: one line spanning the columns
    text: str = ""
    tip: str | None = None
    formula: Formula | None = None     # formula rows: drawn across the panel


@dataclass
class Section:
    text: str
    tip: str
    bad: bool                          # the header in the "bad" colour (a disagreement)
    rows: list
    torch: bool = False                # some leaf has PyTorch's value: show that column


def _as_recorded(key, check):
    return check


def _all_inline(chain, simplified) -> tuple:
    return ()


def describe_call(record, colors: dict, tensor_of, shown=_as_recorded, *, rows: bool = True,
                  below=_all_inline) -> Section:
    """The section of backward call ``record``; ``tensor_of(name)`` is the tensor
    summary of a script variable (its ``.grad`` now), or None; ``shown(key, check)``
    is a leaf's check in the form the user picked (Compare's form switch);
    ``rows`` False: its header only (a collapsed call not looked at yet);
    ``below(chain, simplified)`` (two Formulas; simplified None when it is not shown)
    says which of CHAIN and SIMPLIFIED is too wide for its column: each of those is
    drawn whole on a line of its own under the leaf's row (the panel knows the widths)."""
    index = record.index
    data = record.data
    where = record.where()
    grad_fn = data.root.grad_fn
    state = ""
    if record.status == "error":
        state = " — raised"
    elif record.check is not None and record.check.provisional:    # engine and finite differences so far
        state = (" — ✓ finite differences agree" if record.check.agree else " — ✗ disagreement") + (
            ", superseded" if record.superseded else ", deriving…")
    elif record.check is not None:
        state = " — ✓ all agree" if record.check.agree else " — ✗ disagreement"
    elif record.deriving or record.pending:
        state = " — deriving…"
    elif record.deferred:
        state = " — checked when selected"
    section = Section(text=f"#{index}  {record.title()}{'  ·  ' + grad_fn if grad_fn else ''}  ·  {where}{state}",
                      tip=f"backward call #{index}: {record.title()} at {where}",
                      bad=record.check is not None and not record.check.agree, rows=[])
    if record.check is not None and record.check.provisional:
        section.tip += (" — engine and finite differences so far; a later edit of the design superseded it, "
                        "so its closed form is not shown" if record.superseded else
                        " — engine and finite differences so far; the closed form and PyTorch's value follow")
    if record.deferred:
        section.tip += (" — checked when you select it: it shares its graph with a later call of the "
                        "loop, which was checked at once")
    if record.status == "error":
        lines = [(f"{data.error_type or 'Error'}: {data.error}", "error")]
        if data.hint:
            lines.append((f"Hint: {data.hint}", "hint"))
        section.rows.append(Row("message", (index, None), text="\n".join(text for text, _ in lines),
                                html="<br>".join(f"<span style='color:{colors[color]}'>{html.escape(text)}</span>"
                                                 for text, color in lines)))
        return section
    if not rows:
        return section
    checks = {leaf.vertex: leaf for leaf in (record.check.leaves if record.check is not None else [])}
    for leaf in data.leaves:
        check = checks.get(leaf.vertex)
        if check is not None:
            check = shown((index, leaf.vertex), check)
        section.rows += leaf_rows(record, leaf, check, colors, tensor_of, below)
    if not data.leaves:
        text = "no leaf received a gradient in this call"
        section.rows.append(Row("message", (index, None), text=text, html=html.escape(text)))
    section.torch = any(leaf.torch is not None for leaf in checks.values())
    return section


def leaf_rows(record, leaf, check, colors: dict, tensor_of, below=_all_inline) -> list:
    """The leaf's row (a LeafData, with its LeafCheckData once checked), a matrix form's
    own line under it — or a line for each formula too wide for its column (``below``,
    as in :func:`describe_call`) — and, when its check says more, the explanation line."""
    key = (record.index, leaf.vertex)
    cells = {column: Cell() for column in range(len(COLUMNS))}
    row = Row("leaf", key, cells)
    shape = "×".join(str(s) for s in leaf.shape) or "scalar"
    root = record.data.root.name or ""
    cells[LEAF] = Cell(leaf.name, f"∂{root}/∂{leaf.name}, shape {shape}")
    numeric = check.numeric if check is not None and check.numeric is not None else leaf.numeric
    cells[ENGINE] = Cell(format_sample(numeric), contribution_tip(record, leaf, tensor_of) + format_full(numeric))
    if check is None:
        waiting = ("deriving…" if (record.deriving or record.pending) else
                   "when selected" if record.deferred else "—")
        for column in (CHAIN, SIMPLIFIED, SYMBOLIC, FD):
            cells[column] = Cell(waiting, tone="muted")
        return [row]
    rows = [row]
    if record.check is not None and record.check.provisional:   # the closed form is on its way (or superseded)
        waiting = "superseded" if record.superseded else "deriving…"
        for column in (CHAIN, SIMPLIFIED, SYMBOLIC):
            cells[column] = Cell(waiting, "a later edit of the design made this call stale: it was not derived"
                                 if record.superseded else "the closed form follows", tone="muted")
        return rows + _compared(record, leaf, check, cells, numeric, colors, tensor_of,
                                "engine and finite differences agree")
    forms = leaf_formulas(check)
    if check.formula_kind == "matrix" and forms["chain"]:   # too wide for a column: a line below
        line = forms["chain"]
        rows.append(Row("formula", key, tip=line.text or "", formula=line))
        cell = Formula(None, None, line.text)                # the row's cells: the text only
        forms = {"chain": cell, "simplified": cell}
    same = forms["chain"].text == forms["simplified"].text and len(forms["chain"].text or "") > SAME_CHARS
    wide = () if check.formula_kind == "matrix" else below(forms["chain"] or None,
                                                           None if same else forms["simplified"] or None)
    for column, form in ((CHAIN, forms["chain"]), (SIMPLIFIED, forms["simplified"])):
        if column == SIMPLIFIED and same:      # a long formula sympy could not simplify: once is enough
            cells[column] = Cell("= chain form", "sympy found nothing simpler", tone="muted")
        elif form:
            tip = html.escape(form.text or "")
            if form.pretty:
                tip = f"<pre>{html.escape(cut_lines(form.pretty))}</pre>"
            if form.caption:
                tip = f"Shown: the formula of element {form.caption}. All of them:<br>{tip}"
            tip += "<br><i>Double-click to see it whole; right-click to copy.</i>"
            if column in wide:                 # whole on its own line; the cell keeps the text
                rows.append(Row("formula", key, tip=tip, formula=captioned(form, COLUMNS[column].lower())))
                cells[column] = Cell(cut(form.text), tip)
            else:
                cells[column] = Cell(cut(form.text), tip, formula=form)
        else:
            if column == CHAIN and check.formula_size:
                text = f"too large ({check.formula_size} ops)"
            elif column == SIMPLIFIED and check.formula:
                text = "not simplified"
            else:
                text = "—"
            cells[column] = Cell(text, check.formula_note or check.note or "", tone="muted")
    cells[SYMBOLIC] = Cell(format_sample(check.symbolic), format_full(check.symbolic))
    return rows + _compared(record, leaf, check, cells, numeric, colors, tensor_of,
                            "engine, closed form and finite differences agree")


def _compared(record, leaf, check, cells: dict, numeric, colors: dict, tensor_of, agreed: str) -> list:
    """The cells every check fills (finite differences, PyTorch, error, ✓/✗ with ``agreed``
    as its tip, the disagreeing elements) and the explanation row under the leaf, if any."""
    rows = []
    cells[FD] = Cell(format_sample(check.finite_difference, check.unsampled),
                     format_full(check.finite_difference))
    if check.torch is not None:
        cells[TORCH] = Cell(format_sample(check.torch), format_full(check.torch))
    error = check.max_abs_error
    cells[ERROR] = Cell("—" if error is None else ("0" if error == 0 else f"{error:.1g}"),
                        None if error is None else f"largest |difference| over the elements: {error:.6g}")
    note = check.note or ""
    if check.agree:
        cells[MARK] = Cell("✓", agreed + (f"\n\n{note}" if note else ""), tone="ok", bold=True)
    else:
        mark = "?" if check.formula is None and check.finite_difference is None else "✗"
        cells[MARK] = Cell(mark, note or "the values disagree", tone="bad", bold=True)
        mismatch = check.mismatch
        if mismatch is not None and np.any(mismatch):
            where = np.argwhere(mismatch)
            listing = "\n".join(str([int(v) for v in i]) for i in where[:20]) + ("\n…" if len(where) > 20 else "")
            cells[MARK].mismatch = True
            cells[ENGINE].mismatch = True
            cells[ENGINE].tip = (contribution_tip(record, leaf, tensor_of) + format_full(numeric)
                                 + "\n\ndisagreeing elements:\n" + listing)
    detail = explain_html(check, colors)
    if detail:
        rows.append(Row("detail", (record.index, leaf.vertex), html=detail, tip=note))
    return rows


def captioned(form: Formula, name: str) -> Formula:
    """``form`` on a line of its own, saying which form it is (and which element)."""
    caption = f"{name} {form.caption}:" if form.caption else f"{name}:"
    return Formula(form.latex, form.pretty, form.text, caption)


def contribution_tip(record, leaf, tensor_of) -> str:
    """Says the Engine value is this call's share of ``.grad``; when the leaf is a
    script variable, also its ``.grad`` now (the running total) if that differs."""
    name = leaf.name
    tip = f"This call's contribution to {name}.grad (what backward #{record.index} added).\n"
    tensor = tensor_of(name)
    total = tensor.grad if tensor is not None else None
    numeric = leaf.numeric
    if total is not None and numeric is not None and np.shape(total) == np.shape(numeric) \
            and not np.array_equal(total, numeric):
        tip += f"{name}.grad now (the running total over the calls so far): {format_sample(total)}\n"
    return tip + "\n"
