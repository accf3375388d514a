"""The Jacobian / VJP explorer: what ``backward(gradient=v)`` computes, made visible.

For a backward call on a non-scalar root, the dialog asks the kernel
(``runner.request_jacobian``; the work is :func:`gradstudio.studio.jacobian.explain_data`
in the kernel, the window only shows data) for J = ∂root/∂leaf, Jᵀv and the
engine's own ``backward(gradient=v)``, and shows them side by side: J as a table
when small and as a heatmap when bigger, its structure in words (the seed
tutorial's loop: J = 1024·I, so x.grad = 1024·v), and whether Jᵀv and the engine
agree. v is the call's own ``gradient=``, a one-hot row (Jᵀe_k is row k of J),
or typed (parsed with the whitelisted value parser). Beside the numeric J, its
matrix form from the symbolic side (``1024·I``, ``diag(exp(x))``), checked against
it; for a scalar function, a Hessian tab: numeric (``autograd.functional.hessian``
in the kernel) and, where it exists, its matrix form (``Aᵀ + A``).
"""
from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from gradstudio.studio.values import ValueParseError, parse_value
from .. import theme
from .answer_dialog import AnswerDialog

TABLE_LIMIT = 10          # J up to 10×10 is a table; bigger is a heatmap


class MatrixView(QWidget):
    """A matrix as a table when small, else as a heatmap with a colour bar, with a line
    above it for its matrix form from the symbolic side."""

    def __init__(self, row_name: str, column_name: str, title: str, parent=None):
        super().__init__(parent)
        self.row_name, self.column_name, self.title = row_name, column_name, title
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextFormat(Qt.TextFormat.RichText)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget()
        self.canvas = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.formula)
        layout.addWidget(self.stack, 1)

    def set_matrix(self, values):
        if values is None:
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.stack.setCurrentWidget(self.table)
            return
        values = np.asarray(values, dtype=np.float64)
        m, n = values.shape
        if m <= TABLE_LIMIT and n <= TABLE_LIMIT:
            self.stack.setCurrentWidget(self.table)
            self.table.setRowCount(m)
            self.table.setColumnCount(n)
            self.table.setHorizontalHeaderLabels([f"∂/∂{self.column_name}{j}" for j in range(n)])
            self.table.setVerticalHeaderLabels([f"{self.row_name}{i}" for i in range(m)])
            for i in range(m):
                for j in range(n):
                    item = QTableWidgetItem(f"{values[i, j]:.5g}")
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    self.table.setItem(i, j, item)
            self.table.resizeColumnsToContents()
            return
        self._heatmap(values)

    def _heatmap(self, values):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
        if self.canvas is None:
            self.canvas = FigureCanvasQTAgg(Figure(figsize=(4, 3), layout="constrained"))
            self.stack.addWidget(self.canvas)
        figure = self.canvas.figure
        figure.clear()
        dark = theme.is_dark(self.palette())
        foreground = "#d4d4d4" if dark else "#202020"
        figure.set_facecolor(self.palette().color(self.backgroundRole()).name())
        axes = figure.add_subplot()
        axes.set_facecolor(figure.get_facecolor())
        top = float(np.max(np.abs(values))) or 1.0
        image = axes.imshow(values, cmap="RdBu_r", vmin=-top, vmax=top, aspect="auto",
                            interpolation="nearest")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(f"{self.column_name} element", color=foreground)
        axes.set_ylabel(f"{self.row_name} element", color=foreground)
        axes.set_title(self.title, color=foreground)
        axes.tick_params(colors=foreground)
        bar = figure.colorbar(image, ax=axes)
        bar.ax.tick_params(colors=foreground)
        self.stack.setCurrentWidget(self.canvas)
        self.canvas.draw_idle()

    def showing_heatmap(self) -> bool:
        return self.canvas is not None and self.stack.currentWidget() is self.canvas


class JacobianDialog(AnswerDialog):
    def __init__(self, record, runner, parent=None):
        super().__init__(record, runner, runner.jacobianReceived, parent)
        self.setWindowTitle(f"Jacobian of {record.title()}")
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
        self.J = MatrixView("y", "x", "J")
        self.H = MatrixView("x", "x", "Hessian")
        self.table = self.J.table            # J as a table (when small)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.J, "J = ∂root/∂leaf")
        self.tabs.addTab(self.H, "Hessian")
        self.tabs.setTabEnabled(1, False)
        self.tabs.setTabToolTip(1, "The Hessian of a scalar function (a backward() on a scalar)")
        self.vectors = QTableWidget()
        self.body = QHBoxLayout()
        self.body.addWidget(self.tabs, 3)
        self.body.addWidget(self.vectors, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addLayout(self.body, 1)
        self.resize(900, 480)
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
        if not self._take(message):
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
        self._show_forms(message)
        self._show_vectors(message)

    def _show_jacobian(self, J):
        self.J.set_matrix(J)

    def _show_forms(self, message):
        """The matrix forms from the symbolic side above J and the Hessian, each with its check."""
        leaf = html.escape(message.leaf or "x")
        self.J.formula.setText(self._form_html(message.symbolic, f"J = ∂root/∂{leaf}", "numeric J"))
        scalar = message.hessian is not None or message.hessian_note is not None
        self.tabs.setTabEnabled(1, scalar)
        if not scalar:
            self.H.formula.setText("")
            self.H.set_matrix(None)
            return
        note = f" <i>({html.escape(message.hessian_note)})</i>" if message.hessian_note else ""
        n = np.asarray(message.hessian).shape[0] if message.hessian is not None else 0
        numeric = (f"Numeric ∇²f ({n}×{n}, autograd.functional.hessian in the kernel){note}<br>"
                   if message.hessian is not None else f"No numeric Hessian{note}<br>")
        self.H.formula.setText(numeric + self._form_html(message.hessian_symbolic, f"∇²f in {leaf}",
                                                         "numeric Hessian"))
        self.H.set_matrix(message.hessian)

    def _form_html(self, form, name: str, against: str) -> str:
        colors = theme.colors(self.palette())
        if form is None:
            return ""
        if form.text is None:
            return (f"<span style='color:{colors['muted']}'>Symbolic: {html.escape(form.note or 'none')}"
                    f"</span>")
        text = f"Symbolic: {name} = <b>{html.escape(form.text)}</b>"
        if form.agree is True:
            text += f" <span style='color:{colors['ok']}'>✓ matches the {against}</span>"
        elif form.agree is False:
            text += f" <span style='color:{colors['bad']}'>✗ differs from the {against}</span>"
        return text

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
