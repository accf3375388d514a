"""The form switch and "Copy as NumPy" in Compare (and the Inspector following it):
a matrix form first, the per-element form one click away, and fAndG code that
computes f and the gradient from the script's own values."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication

from gradstudio.ui.panels.compare import CHAIN, ROLE_FORMULA, ROLE_KIND

from test_compare_panel import call_by_grad_fn, leaf_row, run_script, settle

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

QUADRATIC = """import torch
A = torch.tensor([[2.0, 1.0, 0.0], [0.5, 3.0, 1.0], [0.0, -1.0, 1.0]], dtype=torch.float64)
x = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
q = 0.5 * x @ A @ x
q.backward()
"""


def test_matrix_form_first_per_element_one_click_away_and_numpy_code(qtbot, window, helpers):
    window.runner.derive_timeout = 120.0      # a loaded machine must not time the derivation out
    panel = run_script(qtbot, window, helpers, QUADRATIC)
    record = call_by_grad_fn(window, "")
    row = leaf_row(panel, record, "x")
    assert row.text(CHAIN) == "0.5*(A.T + A)*x"
    panel.tree.setCurrentItem(row, CHAIN)
    actions = panel.formula_actions
    assert actions.switch.isEnabled() and actions.switch.text() == "Show per element"
    inspector = window.panel("inspector")
    assert "0.5*(A.T + A)*x" in inspector.formula_text

    # NumPy code: fAndG on the script's values gives f and the engine's gradient
    assert actions.copy_numpy.isEnabled()
    actions.copy_numpy.click()
    code = QGuiApplication.clipboard().text()
    namespace: dict = {}
    exec(compile(code, "<fAndG>", "exec"), namespace)      # the kernel's generated code, in the test
    A, x = (np.asarray(window.model.tensors.tensor(n).value) for n in ("A", "x"))
    f, grad = namespace["fAndG"](A=A, x=x)
    assert np.isclose(f, 0.5 * x @ A @ x)
    np.testing.assert_allclose(grad.reshape(-1), np.asarray(window.model.tensors.tensor("x").grad), rtol=1e-12)

    # one click: the per-element form, in Compare and in the Inspector
    actions.switch.click()
    row = leaf_row(panel, record, "x")
    assert row.text(CHAIN).startswith("Matrix(") and "x_0" in row.text(CHAIN)
    panel.tree.setCurrentItem(row, CHAIN)
    assert panel.formula_actions.switch.text() == "Show matrix form"
    assert not panel.formula_actions.copy_numpy.isEnabled()          # per element: no fAndG
    assert "0.5*(A.T + A)*x" not in inspector.formula_text and "x_0" in inspector.formula_text
    # … and back; the matrix form is drawn whole on the line under the leaf's row
    panel.formula_actions.switch.click()
    row = leaf_row(panel, record, "x")
    assert row.text(CHAIN) == "0.5*(A.T + A)*x"
    line = row.parent().child(row.parent().indexOfChild(row) + 1)
    assert line.data(0, ROLE_KIND) == "formula" and line.isFirstColumnSpanned()
    assert line.data(0, ROLE_FORMULA).latex == "\\frac{1}{2}\\,\\left(A^{T} + A\\right) x"
    panel.tree.scrollToItem(line)
    settle(qtbot, panel)
    assert panel.formula_shown(line.data(0, ROLE_FORMULA), False).kind == "math"
    # the background warm-ups (mathtext, plotting) end before the window is torn down
    qtbot.waitUntil(lambda: not {t.name for t in threading.enumerate()} & {"gradstudio-plot-import",
                                                                          "gradstudio-mathtext-warm-up"},
                    timeout=60000)
