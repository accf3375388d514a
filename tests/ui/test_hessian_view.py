"""A leaf's Hessian from its row in Compare: the matrix form beside autograd.functional.hessian."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gradstudio.ui.panels.compare import ROLE_KIND
from gradstudio.ui.panels.hessian_view import HessianDialog

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

QUADRATIC = ("import torch\ntorch.manual_seed(0)\nA = torch.randn(3, 3)\n"
             "x = torch.randn(3, requires_grad=True)\nf = 0.5 * x @ A @ x\nf.backward()\n")


def _leaf_row(panel, name):
    for section in panel.sections.values():
        for i in range(section.childCount()):
            row = section.child(i)
            if row.data(0, ROLE_KIND) == "leaf" and row.text(0) == name:
                return row
    raise AssertionError(f"no row for {name}")


def _open_from_the_bar(qtbot, window, helpers, script, leaf):
    helpers.set_script(window, script)
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    panel = window.panel("compare")
    window.docks["compare"].raise_()
    qtbot.waitUntil(lambda: panel.tree.isVisible(), timeout=5000)
    panel.tree.setCurrentItem(_leaf_row(panel, leaf))
    button = panel.formula_actions.hessian
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    (dialog,) = panel.hessian_dialogs
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=30000)
    return dialog


def test_the_hessian_of_half_x_a_x_reads_half_a_plus_a_transposed_and_agrees(qtbot, window, helpers):
    dialog = _open_from_the_bar(qtbot, window, helpers, QUADRATIC, "x")
    answer = dialog.answer
    assert isinstance(dialog, HessianDialog) and answer.error is None
    assert answer.formula == "0.5*(A.T + A)"
    assert answer.latex == r"\frac{1}{2}\,\left(A^{T} + A\right)"      # ½(Aᵀ + A), drawn by mathtext
    assert dialog.formula.mode == "math" and dialog.formula.toolTip() == "0.5*(A.T + A)"
    A = np.asarray(window.model.tensors.tensor("A").value, dtype=np.float64)
    np.testing.assert_allclose(answer.engine, 0.5 * (A + A.T), rtol=1e-6)
    np.testing.assert_allclose(answer.values, answer.engine, rtol=1e-9)
    assert answer.agree and "✓" in dialog.summary.text()
    table = dialog.tables["engine"]
    assert (table.rowCount(), table.columnCount()) == (3, 3)
    assert table.item(0, 1).text() == f"{0.5 * (A[0, 1] + A[1, 0]):.4g}"


def test_a_leaf_with_no_matrix_form_hessian_says_why(qtbot, window, helpers):
    dialog = _open_from_the_bar(qtbot, window, helpers,
                                "import torch\nx = torch.tensor([1., 2., 3.], requires_grad=True)\n"
                                "x.cumsum(0).pow(2).sum().backward()\n", "x")
    answer = dialog.answer
    assert answer.values is None and "no Hessian in matrix form" in answer.note
    assert answer.engine is not None and answer.engine.shape == (3, 3)     # the engine's stays shown
    assert "no matrix form" in dialog.summary.text() and dialog.tables["engine"].rowCount() == 3
