"""The Compare panel: for every backward call, each leaf's gradient three ways.

One section per backward call, one row per leaf: the engine's gradient, the
chain-form and simplified formulas, the symbolic value, the finite-difference
estimate, the largest error, ✓/✗ and the note (timeouts, kinks, size).
Rows appear as soon as a call is recorded and fill in when its derivation
arrives. Clicking a row selects that leaf everywhere; the context menu copies
a formula (sympy or LaTeX) or derives again with a longer time limit.

First version: formulas are shown as text; rendering them as mathematics is
the next step for this panel.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .. import theme

COLUMNS = ["Leaf", "", "Engine", "Chain form", "Simplified", "Symbolic", "Finite diff.",
           "Max |error|", "Note"]
LEAF, MARK, ENGINE, CHAIN, SIMPLIFIED, SYMBOLIC, FD, ERROR, NOTE = range(len(COLUMNS))
ROLE_KEY = Qt.ItemDataRole.UserRole          # (call index, vertex or None)
MAX_CELL_CHARS = 80


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
    if np.all(shown == shown[0]) or (np.all(np.isnan(shown))):
        return f"{_num(shown[0])} (all {a.size})" if not skip.any() else f"{_num(shown[0])} (sampled)"
    head = ", ".join("·" if skip[i] else _num(flat[i]) for i in range(min(3, flat.size)))
    return f"[{head}{', …' if flat.size > 3 else ''}]"


def format_full(values) -> str:
    if values is None:
        return ""
    return np.array2string(np.asarray(values), precision=6, threshold=200, max_line_width=100)


def _num(v) -> str:
    return "nan" if np.isnan(v) else f"{v:.5g}"


def _cut(text: str | None) -> str:
    if not text:
        return "—"
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


class ComparePanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.model = context.model
        self.runner = context.runner
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column in (LEAF, MARK, ENGINE, SYMBOLIC, FD, ERROR):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(CHAIN, 150)
        self.tree.setColumnWidth(SIMPLIFIED, 90)
        self.tree.headerItem().setToolTip(MARK, "✓ engine, closed form and finite differences agree")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.sections: dict = {}                 # call index -> top-level item
        self._syncing = False

        m = self.model
        m.callAdded.connect(self._on_call_added)
        m.callDeriving.connect(self._refresh_call)
        m.callChecked.connect(self._refresh_call)
        m.callsCleared.connect(self._clear)
        m.selectionChanged.connect(self._on_selection_changed)
        self.tree.currentItemChanged.connect(self._on_current_item)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        for record in m.call_list():
            self._on_call_added(record.index)

    # -- building rows -------------------------------------------------------------------------------
    def _clear(self):
        self.tree.clear()
        self.sections.clear()

    def _on_call_added(self, index: int):
        section = QTreeWidgetItem(self.tree)
        section.setData(0, ROLE_KEY, (index, None))
        section.setFirstColumnSpanned(True)
        font = section.font(0)
        font.setBold(True)
        section.setFont(0, font)
        self.sections[index] = section
        self._refresh_call(index)
        section.setExpanded(True)
        self.tree.scrollToItem(section)

    def _refresh_call(self, index: int):
        record = self.model.call(index)
        section = self.sections.get(index)
        if record is None or section is None:
            return
        colors = theme.colors(self.palette())
        data = record.data
        where = f"cell {data['cell']}, line {data['line']}" if data.get("cell") else f"line {data['line']}"
        grad_fn = data["root"].get("grad_fn")
        state = ""
        if record.status == "error":
            state = " — raised"
        elif record.check is not None:
            state = " — ✓ all agree" if record.check["agree"] else " — ✗ disagreement"
        elif record.deriving or record.pending:
            state = " — deriving…"
        section.setText(0, f"#{index}  {record.title()}{'  ·  ' + grad_fn if grad_fn else ''}"
                           f"  ·  {where}{state}")
        section.setToolTip(0, f"backward call #{index}: {record.title()} at {where}")
        section.takeChildren()
        if record.status == "error":
            lines = [(f"{data.get('error_type') or 'Error'}: {data.get('error')}", "error")]
            if data.get("hint"):
                lines.append((f"Hint: {data['hint']}", "hint"))
            for text, color in lines:
                row = QTreeWidgetItem(section)
                row.setData(0, ROLE_KEY, (index, None))
                row.setFirstColumnSpanned(True)
                row.setText(0, text)
                row.setToolTip(0, text)
                row.setForeground(0, QBrush(QColor(colors[color])))
            return
        checks = {leaf["vertex"]: leaf for leaf in (record.check or {}).get("leaves", [])}
        for leaf in data.get("leaves", []):
            self._leaf_row(section, record, leaf, checks.get(leaf["vertex"]), colors)
        if not data.get("leaves"):
            row = QTreeWidgetItem(section)
            row.setFirstColumnSpanned(True)
            row.setText(0, "no leaf received a gradient in this call")
        if self.model.selection.call == index:     # the rows were rebuilt: select again
            self._on_selection_changed(self.model.selection)

    def _leaf_row(self, section, record, leaf: dict, check: dict | None, colors: dict):
        row = QTreeWidgetItem(section)
        row.setData(0, ROLE_KEY, (record.index, leaf["vertex"]))
        shape = "×".join(str(s) for s in leaf["shape"]) or "scalar"
        row.setText(LEAF, leaf["name"])
        row.setToolTip(LEAF, f"∂/∂{leaf['name']}, shape {shape}")
        numeric = check["numeric"] if check is not None and check.get("numeric") is not None else leaf.get("numeric")
        row.setText(ENGINE, format_sample(numeric))
        row.setToolTip(ENGINE, format_full(numeric))
        if check is None:
            waiting = "deriving…" if (record.deriving or record.pending) else "—"
            for column in (CHAIN, SIMPLIFIED, SYMBOLIC, FD):
                row.setText(column, waiting)
                row.setForeground(column, QBrush(QColor(colors["muted"])))
            return
        chain = check.get("formula")
        simplified = check.get("simplified")
        if chain is None and check.get("formula_size"):
            row.setText(CHAIN, f"too large ({check['formula_size']} ops)")
            row.setForeground(CHAIN, QBrush(QColor(colors["muted"])))
        else:
            row.setText(CHAIN, _cut(chain))
        row.setToolTip(CHAIN, chain or check.get("formula_note") or "")
        row.setText(SIMPLIFIED, _cut(simplified if simplified else chain))
        row.setToolTip(SIMPLIFIED, simplified or "")
        row.setText(SYMBOLIC, format_sample(check.get("symbolic")))
        row.setToolTip(SYMBOLIC, format_full(check.get("symbolic")))
        row.setText(FD, format_sample(check.get("finite_difference"), check.get("unsampled")))
        row.setToolTip(FD, format_full(check.get("finite_difference")))
        error = check.get("max_abs_error")
        row.setText(ERROR, "—" if error is None else f"{error:.2g}")
        note = check.get("note") or ""
        row.setText(NOTE, note)
        row.setToolTip(NOTE, note)
        for column in (CHAIN, SIMPLIFIED):
            font = QFont(row.font(column))
            font.setFamily("monospace")
            row.setFont(column, font)
        if check.get("agree"):
            row.setText(MARK, "✓")
            row.setForeground(MARK, QBrush(QColor(colors["ok"])))
            row.setToolTip(MARK, "engine, closed form and finite differences agree")
        else:
            mark = "?" if check.get("formula") is None and check.get("finite_difference") is None else "✗"
            row.setText(MARK, mark)
            row.setForeground(MARK, QBrush(QColor(colors["bad"])))
            row.setToolTip(MARK, note or "the values disagree")
            mismatch = check.get("mismatch")
            if mismatch is not None and np.any(mismatch):
                row.setBackground(ENGINE, QBrush(QColor(colors["mismatch_bg"])))
                row.setToolTip(ENGINE, format_full(numeric) + "\n\ndisagreeing elements:\n"
                               + format_full(np.argwhere(mismatch)))
        bold = QFont(row.font(MARK))
        bold.setBold(True)
        row.setFont(MARK, bold)

    # -- selection -----------------------------------------------------------------------------------
    def _on_current_item(self, item, previous=None):
        if self._syncing or item is None:
            return
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        if call is not None and vertex is not None:
            self.model.select(call=call, node=vertex)

    def _on_selection_changed(self, selection):
        section = self.sections.get(selection.call)
        target = None
        if section is not None:
            for i in range(section.childCount()):
                child = section.child(i)
                if (child.data(0, ROLE_KEY) or (None, None))[1] == selection.node:
                    target = child
        self._syncing = True
        try:
            if target is not None:
                self.tree.setCurrentItem(target)
            else:
                self.tree.clearSelection()
        finally:
            self._syncing = False

    # -- context menu ---------------------------------------------------------------------------------
    def _context_menu(self, point):
        item = self.tree.itemAt(point)
        if item is None:
            return
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        record = self.model.call(call) if call is not None else None
        if record is None:
            return
        menu = QMenu(self)
        leaf = record.leaf_check(vertex) if vertex is not None else None
        if leaf is not None:
            for label, key in (("Copy chain form (sympy)", "formula"),
                               ("Copy simplified (sympy)", "simplified"),
                               ("Copy chain form (LaTeX)", "chain_latex"),
                               ("Copy simplified (LaTeX)", "latex")):
                action = menu.addAction(label)
                action.setEnabled(bool(leaf.get(key)))
                action.triggered.connect(lambda checked=False, t=leaf.get(key): self._copy(t))
        if record.status == "ok" and record.data.get("leaves"):
            menu.addSeparator()
            action = menu.addAction("Derive again with a 60 s time limit")
            action.triggered.connect(lambda checked=False, i=call: self.runner.recheck(i, 60.0))
        menu.exec(self.tree.viewport().mapToGlobal(point))

    def _copy(self, text):
        if text:
            QGuiApplication.clipboard().setText(text)

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            for index in list(self.sections):
                self._refresh_call(index)
