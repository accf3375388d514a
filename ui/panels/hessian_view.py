"""A leaf's Hessian, opened from its row in Compare: the matrix form beside the engine's.

The dialog asks the kernel (``runner.request_hessian``; the work is
:func:`gradstudio.studio.symbolic.hessian_check.explain` in the kernel, the window
only shows data) for ∇²f in one leaf and shows the matrix form rendered as
mathematics (``½(Aᵀ + A)`` for ½xᵀAx), then two tables side by side — the
matrix form evaluated, and ``autograd.functional.hessian`` of the same f on the
engine — with the entries that differ marked, and ✓/✗ for their agreement.
Rows and columns are the leaf's elements, vec taking rows first, as torch
flattens.
"""
from __future__ import annotations

import html

import numpy as np
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from .. import theme
from ..widgets.math_view import Formula, MathView
from .answer_dialog import AnswerDialog

TABLE_LIMIT = 30          # a Hessian up to 30×30 is tabulated; bigger ones are summarised


class HessianDialog(AnswerDialog):
    def __init__(self, record, check, runner, parent=None):
        super().__init__(record, runner, runner.hessianReceived, parent)
        self.check = check
        root = record.data.root.name or "f"
        name = check.name or "leaf"
        self.setWindowTitle(f"Hessian ∇²{root} in {name} — #{record.index} {record.title()}")
        self.summary.setText("Computing in the kernel…")
        self.formula = MathView(scale=1.4)
        self.tables = {}
        body = QHBoxLayout()
        for key, title in (("values", "matrix form, evaluated"), ("engine", "autograd.functional.hessian")):
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            table = self.tables[key] = QTableWidget()
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            column.addWidget(table)
            holder = QWidget()
            holder.setLayout(column)
            body.addWidget(holder, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.formula)
        layout.addWidget(self.summary)
        layout.addLayout(body, 1)
        self.resize(760, 460)
        runner.request_hessian(record.index, check.vertex)

    def _on_answer(self, message):
        """The kernel's HessianResult (other leaves' answers are not for this dialog)."""
        if message.call != self.record.index or message.vertex != self.check.vertex:
            return
        if not self._take(message):
            return
        colors = theme.colors(self.palette())
        self.formula.set_formula(Formula(latex=message.latex, text=message.formula))
        n, name = message.n, html.escape(message.leaf or "the leaf")
        words = f"∇²f in {name}: {n}×{n} (rows and columns are {name}'s elements, row by row)"
        if n > TABLE_LIMIT:
            words += f"; over {TABLE_LIMIT}×{TABLE_LIMIT}, so not tabulated"
        if message.values is None:
            mark = f"<span style='color:{colors['bad']}'>no matrix form</span>"
        elif message.agree:
            mark = (f"<span style='color:{colors['ok']}'>✓ the matrix form and autograd.functional.hessian "
                    f"agree</span> (largest difference {message.max_abs_error:.3g})")
        else:
            mark = (f"<span style='color:{colors['bad']}'>✗ the matrix form and autograd.functional.hessian "
                    f"differ</span> (largest difference {message.max_abs_error:.3g})")
        note = f" — {html.escape(message.note)}" if message.note else ""
        self.summary.setText(f"{words}. {mark}{note}.")
        differ = None
        if message.values is not None and message.engine is not None:
            scale = max(1.0, float(np.max(np.abs(message.engine))) if message.engine.size else 1.0)
            differ = np.abs(np.asarray(message.values) - np.asarray(message.engine)) > 1e-6 * scale
        for key in ("values", "engine"):
            self._fill(self.tables[key], getattr(message, key), differ, colors)

    @staticmethod
    def _fill(table, H, differ, colors):
        table.clear()
        if H is None or H.shape[0] > TABLE_LIMIT:
            table.setRowCount(0)
            table.setColumnCount(0)
            return
        H = np.asarray(H)
        n = H.shape[0]
        table.setRowCount(n)
        table.setColumnCount(n)
        for i in range(n):
            for j in range(n):
                item = QTableWidgetItem(f"{H[i, j]:.4g}")
                if differ is not None and differ[i, j]:
                    item.setBackground(QBrush(QColor(colors["mismatch_bg"])))
                table.setItem(i, j, item)
        table.resizeColumnsToContents()
