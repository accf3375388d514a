"""Which closed form of a leaf's gradient is shown, and copying it as NumPy code.

A leaf's check carries one form first — the matrix form where it exists
(``½(A + Aᵀ)x``), else the generic-element or per-element one — and, under
``alternative``, the form one click away (the per-element form of a small
tensor beside a matrix form, the matrix form beside a generic-element one).
:class:`FormChoice` remembers, per leaf of a call, which one the user asked for;
the Compare and Inspector panels share one per app model (:func:`choice_for`)
and show ``choice.shown(key, check)``: the check with the chosen form's keys.
:class:`FormulaActions` is the bar's part: the switch and "Copy as NumPy code"
(the matrix form's ``fAndG``, computing f and its gradient), and "Hessian…", which
asks the panel to open the leaf's Hessian (:mod:`..panels.hessian_view`). (Compare draws a
matrix form on a line of its own under the leaf's row, the whole width of the
panel: ``(softmax(Wx + b) − e_y)xᵀ`` does not fit a column; see ``compare_rows``.)
"""
from __future__ import annotations

import weakref

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget


FORM_NAMES = {"matrix": "matrix form", "elementwise": "generic element", "per_element": "per element"}


def hessian_applies(check) -> bool:
    """Whether a leaf's Hessian can be asked for: a scalar, vector or matrix leaf of a
    checked call (the kernel refuses one too big, and says why)."""
    return check is not None and len(check.shape or ()) <= 2


def swapped(check):
    """``check`` (a LeafCheckData) showing its alternative form (the numbers stay), or
    ``check`` itself when it has none."""
    return check.swapped() if check is not None else None


class FormChoice(QObject):
    """The leaves, ``(call index, vertex)``, shown in their alternative form."""

    changed = Signal(object)         # the key whose form changed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.swapped: set = set()

    def shown(self, key, check):
        return swapped(check) if check is not None and key in self.swapped else check

    def toggle(self, key) -> None:
        self.swapped.symmetric_difference_update({key})
        self.changed.emit(key)


_CHOICES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def choice_for(model) -> FormChoice:
    """The one FormChoice of an app model (the panels showing its records share it)."""
    choice = _CHOICES.get(model)
    if choice is None:
        choice = _CHOICES[model] = FormChoice()
    return choice


class FormulaActions(QWidget):
    """The form switch, "Copy as NumPy code" and "Hessian…" for the current leaf."""

    hessianRequested = Signal(object)     # the (call index, vertex) whose Hessian to show

    def __init__(self, choice: FormChoice, parent=None):
        super().__init__(parent)
        self.choice = choice
        self.key = None
        self.check = None
        self.switch = QToolButton()
        self.switch.clicked.connect(self._on_switch)
        self.copy_numpy = QToolButton()
        self.copy_numpy.setText("NumPy")         # after Compare's "Copy as" LaTeX, sympy
        self.copy_numpy.setToolTip("Copy Python code computing f and this gradient with numpy "
                                   "(fAndG, as matrixcalculus.org gives it)")
        self.copy_numpy.clicked.connect(self.copy_code)
        self.hessian = QToolButton()
        self.hessian.setText("Hessian…")
        self.hessian.setToolTip("This leaf's Hessian ∇²f in matrix form, beside the engine's "
                                "autograd.functional.hessian")
        self.hessian.clicked.connect(lambda checked=False: self.hessianRequested.emit(self.key))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.copy_numpy)
        layout.addWidget(self.switch)
        layout.addWidget(self.hessian)
        self.show_leaf(None, None)

    def show_leaf(self, key, check) -> None:
        """``check`` (a LeafCheckData or None) as the panel shows it (after :meth:`FormChoice.shown`)."""
        self.key, self.check = key, check
        other = check.alternative if check is not None else None
        if other:
            self.switch.setText(f"Show {FORM_NAMES.get(other.formula_kind, 'other form')}")
            self.switch.setToolTip(f"Show this leaf's gradient as the {FORM_NAMES.get(other.formula_kind)}"
                                   f" (now: {FORM_NAMES.get(check.formula_kind, 'no formula')})")
        else:
            self.switch.setText("Other form")
            self.switch.setToolTip("This leaf's gradient has one closed form only")
        self.switch.setEnabled(bool(other))
        self.copy_numpy.setEnabled(bool(check is not None and check.numpy_code))
        self.hessian.setEnabled(hessian_applies(check))

    def _on_switch(self):
        if self.key is not None:
            self.choice.toggle(self.key)

    def copy_code(self) -> str | None:
        code = self.check.numpy_code if self.check is not None else None
        if code:
            QGuiApplication.clipboard().setText(code)
        return code


MIN_SCALE = 0.5    # a formula shrunk further is unreadable: the text (which wraps) is shown instead


def fitted(picture, width: int):
    """A rendered formula narrowed to ``width`` (logical pixels) if it is wider, or
    None when that would shrink it below :data:`MIN_SCALE` — never clipped."""
    dpr = picture.devicePixelRatio() or 1.0
    natural = picture.width() / dpr
    if width <= 0 or natural <= width:
        return picture
    if width / natural < MIN_SCALE:
        return None
    scaled = picture.scaledToWidth(int(width * dpr), Qt.TransformationMode.SmoothTransformation)
    scaled.setDevicePixelRatio(dpr)
    return scaled


def breakable(text: str) -> str:
    """``text`` with zero-width spaces after operators and commas, so that a word-
    wrapping label breaks a long formula there instead of cutting it off."""
    for mark in ("*", "+", " - ", ",", "(", "⊙", "="):
        text = text.replace(mark, mark + "\u200b")
    return text
