"""The Inspector panel: the selected tensor.

Shows the model's selection: a script variable (name, shape, dtype,
requires_grad, is_leaf, grad_fn, value and grad as torch prints them), or a
graph vertex without a name (its recorded value and the gradient that reached
it in that backward call); for a leaf that has been checked, its formula.
The combo box lists the script's tensors; picking one selects it everywhere.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QComboBox, QFormLayout, QFrame, QLabel, QPlainTextEdit, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from ..widgets import math_view
from ..widgets.code_editor import monospace_font
from ..widgets.echo import EchoGuard
from ..widgets.formula_actions import breakable, choice_for, fitted
from ..widgets.gradient_text import leaf_formulas

NONE_TEXT = "—"
TEXT_PENDING = "(asking the kernel for the text…)"
MATH_POLL_MS = 50            # while mathtext loads in the background
MAX_FORMULA_CHARS = 240      # the full text is in the tooltip (per-element formulas get long)


def torch_dtype(name) -> str | None:
    """A dtype as torch writes it (``torch.float32``): graph vertices carry numpy's
    name (``float32``), script variables torch's; the Inspector shows one spelling."""
    if name is None:
        return None
    name = str(name)
    return name if name.startswith("torch.") else f"torch.{name}"


def _array_text(value) -> str:
    if value is None:
        return NONE_TEXT
    return np.array2string(np.asarray(value), precision=4, threshold=400, max_line_width=80)


def _put(box: QPlainTextEdit, text: str):
    """Show ``text`` in a value box. The text it shows already changes nothing: a re-run
    cell's equal value (and the check that follows its call) is not laid out and
    repainted again, and the box keeps where it was scrolled to."""
    if box.toPlainText() != text:
        box.setPlainText(text)


class InspectorPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.model = context.model
        self.runner = context.runner
        self._text_asked: set = set()        # deferred tensors whose text was asked for
        self.picker = QComboBox()
        self.picker.setPlaceholderText("Select a tensor")
        self.picker.setToolTip("The script's tensors; pick one to select it everywhere")
        self.fields = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, label in (("name", "name"), ("shape", "shape"), ("dtype", "dtype"),
                           ("requires_grad", "requires_grad"), ("is_leaf", "is_leaf"),
                           ("grad_fn", "grad_fn"), ("formula", "formula")):
            widget = QLabel(NONE_TEXT)
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            widget.setWordWrap(True)
            # a long value wraps (or is cut) inside the dock instead of widening it
            widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            widget.setMinimumWidth(0)
            if key in ("grad_fn", "formula"):
                widget.setFont(monospace_font(9))
                # a long formula wraps inside the dock instead of widening it
                widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                widget.setMinimumWidth(0)
            self.fields[key] = widget
            if key == "formula":        # a formula gets the dock's whole width, under its label
                self.formula_label = QLabel(label)
                form.addRow(self.formula_label)
                form.addRow(widget)
            else:
                form.addRow(label, widget)
        self.value = self._text_box()
        self.grad = self._text_box()
        self.value_label = QLabel("value")
        self.grad_label = QLabel("grad")
        for label in (self.value_label, self.grad_label):    # their text changes with the selection
            label.setWordWrap(True)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.picker.setMinimumContentsLength(8)
        self.formula_text = NONE_TEXT          # the formula as text (what the tooltip and copying use)
        self._math_timer = QTimer(self, singleShot=True, interval=MATH_POLL_MS,
                                  timeout=lambda: self._show_formula(self.model.selection.current))
        # the fields scroll when a long formula and the two text boxes need more height than
        # the dock has: a layout squeezed under its minimum draws its widgets over each other
        body = QWidget()
        inner = QVBoxLayout(body)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(form)
        inner.addWidget(self.value_label)
        inner.addWidget(self.value, 1)
        inner.addWidget(self.grad_label)
        inner.addWidget(self.grad, 1)
        self.scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addWidget(self.scroll, 1)
        self._syncing = EchoGuard()

        self.picker.currentTextChanged.connect(self._on_picked)
        m = self.model
        m.tensors.tensorsChanged.connect(self._on_tensors_changed)
        m.tensors.textArrived.connect(self._on_text_arrived)
        m.selection.selectionChanged.connect(self._show_selection)
        m.calls.callChecked.connect(lambda index: self._show_selection(m.selection.current))
        self.forms = choice_for(m)                # the form Compare's switch picked for each leaf
        self.forms.changed.connect(lambda key: self._show_formula(m.selection.current))
        self._on_tensors_changed()

    @staticmethod
    def _text_box() -> QPlainTextEdit:
        box = QPlainTextEdit(readOnly=True)
        box.setFont(monospace_font(9))
        box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        box.setMinimumHeight(48)
        return box

    # -- model → view ------------------------------------------------------------------------------
    def _on_tensors_changed(self):
        self._text_asked.clear()               # new records: a deferred text is asked anew
        names = sorted(self.model.tensors.by_name)
        with self._syncing:
            self.picker.clear()
            self.picker.addItems(names)
            current = self.model.selection.current.tensor
            self.picker.setCurrentIndex(names.index(current) if current in names else -1)
        self._show_selection(self.model.selection.current)

    def _on_text_arrived(self, name: str):
        if self.model.selection.current.tensor == name:
            self._show_selection(self.model.selection.current)

    def _on_picked(self, name: str):
        if not self._syncing and name:
            self.model.selection.select(tensor=name)

    def _show_selection(self, selection):
        tensor = self.model.selection.selected_tensor()
        node = self.model.selection.selected_node()
        with self._syncing:
            index = self.picker.findText(selection.tensor) if selection.tensor else -1
            self.picker.setCurrentIndex(index)
        if tensor is not None:
            self._show_tensor(tensor)
        elif node is not None:
            self._show_node(node)
        else:
            self._show_nothing()
        self._show_formula(selection)

    def _show_formula(self, selection):
        """The selected leaf's gradient formula as mathematics: mathtext's picture of
        the simplified form, else sympy's pretty print (e.g. a Piecewise as a brace
        with its cases), else the text; the text is always in the tooltip."""
        formula = self._formula_text(selection)
        self.formula_text = formula
        widget = self.fields["formula"]
        leaf = self._leaf(selection)
        self.formula_label.setText(f"∂/∂{leaf.name}" if leaf is not None else "formula")
        forms = leaf_formulas(leaf) if leaf is not None else {}
        form = forms.get("simplified") or forms.get("chain")
        if form and math_view.can_render(form.latex):
            if not math_view.warm_up():
                self._math_timer.start()          # text until mathtext is ready
            else:
                picture = math_view.render_latex(
                    form.latex, self.palette().color(QPalette.ColorRole.WindowText),
                    math_view.formula_pixel_size(self.font()), math_view.device_pixel_ratio(self))
                picture = fitted(picture, widget.width()) if picture is not None else None
                if picture is not None:
                    widget.setMinimumHeight(0)
                    widget.setWordWrap(False)         # a wrapping label asks no height for a picture
                    widget.setPixmap(picture)
                    widget.setToolTip(formula)
                    return
        if form and form.pretty:
            widget.setWordWrap(False)                 # the pretty print is drawn with its lines
            widget.setText(form.pretty)
            widget.setToolTip(formula)
            return
        widget.setWordWrap(True)
        shown = formula if len(formula) <= MAX_FORMULA_CHARS else formula[:MAX_FORMULA_CHARS - 1] + "…"
        widget.setText(breakable(shown))
        widget.setToolTip(formula if shown != formula else "")
        # all its lines, not what is left between the other fields (a cut formula misleads)
        widget.setMinimumHeight(max(0, widget.heightForWidth(max(widget.width(), 1))))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._math_timer.start()             # the formula is fitted to the new width

    def _set(self, **values):
        for key, value in values.items():
            self.fields[key].setText(NONE_TEXT if value is None else str(value))

    def _show_tensor(self, t: dict):
        self._set(name=t.name, shape=f"torch.Size({list(t.shape)})", dtype=torch_dtype(t.dtype),
                  requires_grad=t.requires_grad, is_leaf=t.is_leaf, grad_fn=t.grad_fn)
        self.value_label.setText("value")
        self.grad_label.setText("grad (accumulated .grad)")
        if t.text_deferred:                    # the kernel writes torch's repr when it is shown
            _put(self.value, TEXT_PENDING)
            _put(self.grad, TEXT_PENDING if t.grad is not None or t.grad_summary is not None else NONE_TEXT)
            if t.name not in self._text_asked and self.runner is not None:
                self._text_asked.add(t.name)
                # last: the answer may come back inside this call (the client reads what the
                # kernel has sent right after it sends) and fill the boxes, which stay filled
                self.runner.request_tensor_text(t.name)
            return
        _put(self.value, t.value_text or _array_text(t.value))
        _put(self.grad, t.grad_text or NONE_TEXT)

    def _show_node(self, n: dict):
        kind = {"leaf": "leaf", "const": "constant", "op": "result of an op"}[n.kind]
        self._set(name=n.name or f"(unnamed {kind})", shape=f"torch.Size({list(n.shape)})",
                  dtype=torch_dtype(n.dtype), requires_grad=n.requires_grad, is_leaf=n.kind != "op",
                  grad_fn=n.grad_fn)
        self.value_label.setText("value (recorded in the graph)")
        _put(self.value, _array_text(n.value))
        self.grad_label.setText("gradient that reached it in this backward call")
        _put(self.grad, _array_text(n.grad))

    def _show_nothing(self):
        self._set(name=None, shape=None, dtype=None, requires_grad=None, is_leaf=None, grad_fn=None)
        _put(self.value, "")
        _put(self.grad, "")

    def _leaf(self, selection) -> dict | None:
        record = self.model.calls.call(selection.call) if selection.call is not None else None
        check = record.leaf_check(selection.node) if record is not None else None
        return self.forms.shown((selection.call, selection.node), check)

    def _formula_text(self, selection) -> str:
        leaf = self._leaf(selection)
        if leaf is None:
            return NONE_TEXT
        chain, simplified = leaf.formula, leaf.simplified
        if chain and simplified and chain != simplified:
            return f"∂/∂{leaf.name} = {chain} = {simplified}"
        if chain or simplified:
            return f"∂/∂{leaf.name} = {chain or simplified}"
        return leaf.note or NONE_TEXT
