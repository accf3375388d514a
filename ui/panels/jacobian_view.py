"""The Jacobian / VJP explorer: what ``backward(gradient=v)`` computes, made visible.

For a backward call on a non-scalar root, the dialog asks the kernel
(``runner.request_jacobian``; the work is :func:`gradstudio.studio.jacobian.explain_data`
in the kernel, the window only shows data) for J = ∂root/∂leaf, Jᵀv and the
engine's own ``backward(gradient=v)``, and shows them side by side: J as a table
when small and as a heatmap when bigger, its structure in words (the seed
tutorial's loop: J = 1024·I, so x.grad = 1024·v), and whether Jᵀv and the engine
agree. v is the call's own ``gradient=``, a one-hot row (Jᵀe_k is row k of J),
or typed (parsed with the whitelisted value parser).
"""
from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout)

from gradstudio.studio.values import ValueParseError, parse_value
from .. import theme

TABLE_LIMIT = 10          # J up to 10×10 is a table; bigger is a heatmap


class JacobianDialog(QDialog):
    def __init__(self, record, runner, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Jacobian of {record.title()}")
        self.record, self.runner = record, runner
        self.answer = None
        self.leaf = QComboBox()
        for leaf in record.data.leaves:
            self.leaf.addItem(leaf.name or "?")
        self.mode = QComboBox()
        self.mode.addItems(["v = the call's gradient=", "v = one-hot row", "v = typed"])
        self.row = QSpinBox()
        self.row.setMinimum(0)
        size = int(np.prod(record.data.root.shape)) if record.data.root.shape else 1
        self.row.setMaximum(max(size - 1, 0))
        self.typed = QLineEdit()
        self.typed.setPlaceholderText("e.g. [1, 0.1, 0.001]")
        self.go = QPushButton("Compute")
        self.go.clicked.connect(self.request)
        self.mode.currentIndexChanged.connect(self._on_mode)
        top = QHBoxLayout()
        for widget in (QLabel("leaf"), self.leaf, self.mode, self.row, self.typed, self.go):
            top.addWidget(widget)
        top.addStretch(1)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTableWidget()
        self.vectors = QTableWidget()
        self.canvas = None
        self.body = QHBoxLayout()
        self.body.addWidget(self.table, 3)
        self.body.addWidget(self.vectors, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addLayout(self.body, 1)
        self.resize(820, 420)
        runner.jacobianReceived.connect(self._on_answer)
        self._on_mode()
        self.request()

    def _on_mode(self):
        mode = self.mode.currentIndex()
        self.row.setVisible(mode == 1)
        self.typed.setVisible(mode == 2)

    def chosen_v(self):
        mode = self.mode.currentIndex()
        if mode == 0:
            return None
        size = self.row.maximum() + 1
        if mode == 1:
            v = np.zeros(size)
            v[self.row.value()] = 1.0
            return v
        v = parse_value(self.typed.text()).reshape(-1)
        if v.size != size:
            raise ValueParseError(f"v needs {size} elements (the root's), not {v.size}")
        return v

    def request(self):
        try:
            v = self.chosen_v()
        except ValueParseError as error:
            self.summary.setText(html.escape(str(error)))
            return
        self.summary.setText("Computing in the kernel…")
        self.runner.request_jacobian(self.record.index, max(self.leaf.currentIndex(), 0), v)

    # -- the answer --------------------------------------------------------------------------
    def _on_answer(self, message):
        """The kernel's JacobianResult (other calls' answers are not for this dialog)."""
        if message.call != self.record.index:
            return
        self.answer = message
        if message.error:
            self.summary.setText(html.escape(message.error))
            return
        colors = theme.colors(self.palette())
        leaf, structure = html.escape(message.leaf or "?"), html.escape(message.structure or "")
        ok = message.agree
        mark = (f"<span style='color:{colors['ok']}'>✓ Jᵀv and the engine agree</span>" if ok else
                f"<span style='color:{colors['bad']}'>✗ Jᵀv and the engine differ</span>")
        words = f"J = ∂root/∂{leaf} is {message.m}×{message.n}: <b>{structure}</b>"
        if structure.endswith("·I") or structure == "I":
            factor = structure[:-2] if structure != "I" else ""
            words += f", so backward(gradient=v) gives {leaf}.grad = {factor + '·' if factor else ''}v"
        note = f" ({html.escape(message.note)})" if message.note else ""
        self.summary.setText(f"{words}{note}. {mark}.")
        self._show_jacobian(message.jacobian)
        self._show_vectors(message)

    def _show_jacobian(self, J):
        if J is None:
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            return
        J = np.asarray(J)
        m, n = J.shape
        if m <= TABLE_LIMIT and n <= TABLE_LIMIT:
            if self.canvas is not None:
                self.canvas.hide()
            self.table.show()
            self.table.setRowCount(m)
            self.table.setColumnCount(n)
            self.table.setHorizontalHeaderLabels([f"∂/∂x{j}" for j in range(n)])
            self.table.setVerticalHeaderLabels([f"y{i}" for i in range(m)])
            for i in range(m):
                for j in range(n):
                    item = QTableWidgetItem(f"{J[i, j]:.5g}")
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    self.table.setItem(i, j, item)
            self.table.resizeColumnsToContents()
            return
        self.table.hide()
        self._heatmap(J)

    def _heatmap(self, J):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure
        if self.canvas is None:
            self.canvas = FigureCanvasQTAgg(Figure(figsize=(4, 3), layout="constrained"))
            self.body.insertWidget(0, self.canvas, 3)
        figure = self.canvas.figure
        figure.clear()
        axes = figure.add_subplot()
        image = axes.imshow(J, cmap="RdBu_r", vmin=-np.max(np.abs(J)) or -1, vmax=np.max(np.abs(J)) or 1,
                            aspect="auto", interpolation="nearest")
        from matplotlib.ticker import MaxNLocator
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("leaf element")
        axes.set_ylabel("root element")
        axes.set_title("J")
        figure.colorbar(image, ax=axes)
        self.canvas.show()
        self.canvas.draw_idle()

    def _show_vectors(self, message):
        columns = [("v", message.v), ("Jᵀv", message.jtv), ("backward(v)", message.engine)]
        rows = max(len(np.asarray(c[1]).reshape(-1)) if c[1] is not None else 0 for c in columns)
        self.vectors.setRowCount(rows)
        self.vectors.setColumnCount(len(columns))
        # v has the root's size, the other two the leaf's: each header says which
        self.vectors.setHorizontalHeaderLabels(
            [f"{name} ({np.asarray(values).size if values is not None else 0})" for name, values in columns])
        self.vectors.setVerticalHeaderLabels([str(i) for i in range(rows)])
        self.vectors.horizontalHeaderItem(2).setToolTip("the engine's backward(gradient=v), replayed")
        for j, (_, values) in enumerate(columns):
            values = np.asarray(values).reshape(-1) if values is not None else np.array([])
            for i in range(rows):
                text = f"{values[i]:.6g}" if i < values.size else ""
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.vectors.setItem(i, j, item)
        self.vectors.resizeColumnsToContents()

    def closeEvent(self, event):
        try:
            self.runner.jacobianReceived.disconnect(self._on_answer)
        except (RuntimeError, TypeError):
            pass
        super().closeEvent(event)
