"""The Jacobian / Hessian dialog driven as a person would: J numeric beside its matrix
form from the symbolic side (the seed's 1024·I), a heatmap with a colour bar for a
bigger J, and for a scalar function the Hessian numeric and in matrix form (Aᵀ + A).
The kernel's side runs in this process (its service, the answer through the wire
form); light and dark renderings are saved for a look."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from gradstudio.studio.kernel import records as kernel_data, schema
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session
from gradstudio.ui import theme
from gradstudio.ui.model import AppModel
from gradstudio.ui.panels.jacobian_view import JacobianDialog


class InProcessRunner(QObject):
    jacobianReceived = Signal(object)

    def __init__(self, session):
        super().__init__()
        self.service = KernelService(session, self._send)

    def _send(self, message):
        self.jacobianReceived.emit(schema.decode(*schema.encode(message)))

    def request_jacobian(self, call, leaf=0, v=None):
        request = {"type": "jacobian", "call": call, "leaf": leaf}
        if v is not None:
            request["v"] = [float(x) for x in v]
        self.service.handle(request)


def dialog_for(qtbot, script: str):
    session = Session(step_trace=True)
    session.run_script(script)
    model = AppModel()
    model.finish_cell(schema.RunData(cell=1, execution_count=1, ok=True),
                      [kernel_data.call_data(c) for c in session.backward_calls], [])
    record = model.calls.call_list()[-1]
    dialog = JacobianDialog(record, InProcessRunner(session))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=30000)
    return dialog


def test_the_seeds_loop_is_1024_identity_numerically_and_symbolically(qtbot):
    dialog = dialog_for(qtbot, "import torch\ntorch.manual_seed(4)\nx = torch.randn(3, requires_grad=True)\n"
                               "y = x * 2\nwhile y.data.norm() < 1000:\n    y = y * 2\n"
                               "y.backward(torch.tensor([1.0, 0.1, 0.001]))\n")
    answer = dialog.answer
    assert answer.symbolic.text == "1024·I" and answer.symbolic.agree
    np.testing.assert_allclose(answer.symbolic.values, 1024 * np.eye(3))
    text = dialog.J.formula.text()
    assert "1024·I" in text and "✓ matches the numeric J" in text
    assert dialog.J.table.item(2, 2).text() == "1024"
    assert not dialog.tabs.isTabEnabled(1)          # a vector root: no Hessian


def test_a_bigger_jacobian_is_a_heatmap_with_a_colour_bar_light_and_dark(qtbot):
    dialog = dialog_for(qtbot, "import torch\nx = torch.linspace(-1, 1, 24).requires_grad_()\n"
                               "y = x.exp()\ny.backward(torch.ones(24))\n")
    answer = dialog.answer
    assert answer.symbolic.text == "diag(exp(x))" and answer.symbolic.agree
    assert dialog.J.showing_heatmap()
    figure = dialog.J.canvas.figure
    assert len(figure.axes) == 2                    # the map and its colour bar
    image = figure.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.diag(image), np.exp(np.linspace(-1, 1, 24)), rtol=1e-5)
    dialog.resize(900, 520)
    qtbot.wait(20)
    dialog.grab().save("/tmp/s3step-jacobian-light.png")
    dialog.setPalette(theme.dark_palette())
    dialog._on_answer(answer)
    qtbot.wait(20)
    dialog.grab().save("/tmp/s3step-jacobian-dark.png")
    assert figure.axes[0].title.get_color() != "#202020"


def test_a_scalar_function_shows_its_hessian_numeric_and_in_matrix_form(qtbot):
    dialog = dialog_for(qtbot, "import torch\ntorch.manual_seed(0)\nx = torch.randn(3, requires_grad=True)\n"
                               "A = torch.randn(3, 3)\nf = x @ A @ x\nf.backward()\n")
    answer = dialog.answer
    assert dialog.tabs.isTabEnabled(1)
    dialog.tabs.setCurrentIndex(1)
    assert answer.hessian.shape == (3, 3)
    assert answer.hessian_symbolic.text == "Aᵀ + A" and answer.hessian_symbolic.agree
    np.testing.assert_allclose(answer.hessian, answer.hessian - answer.hessian.T + answer.hessian.T)
    text = dialog.H.formula.text()
    assert "Aᵀ + A" in text and "✓ matches the numeric Hessian" in text and "3×3" in text
    assert dialog.H.table.rowCount() == 3
    assert float(dialog.H.table.item(0, 1).text()) == float(f"{answer.hessian[0, 1]:.5g}")
    # J of a scalar is the gradient's row, and its matrix form is the gradient's
    assert answer.symbolic.text == "xᵀ·(Aᵀ + A)" and answer.symbolic.agree
    dialog.resize(900, 480)
    qtbot.wait(20)
    dialog.grab().save("/tmp/s3step-hessian-light.png")
    dialog.setPalette(theme.dark_palette())
    dialog._on_answer(answer)
    qtbot.wait(20)
    dialog.grab().save("/tmp/s3step-hessian-dark.png")


def test_without_a_matrix_form_the_dialog_says_why(qtbot):
    dialog = dialog_for(qtbot, "import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                               "x.cumsum(0).sum().backward()\n")
    assert dialog.answer.symbolic.text is None
    assert "no matrix form: CumsumBackward0 has no matrix rule" in dialog.J.formula.text()
    assert "no Hessian in matrix form" in dialog.H.formula.text()
    np.testing.assert_allclose(dialog.answer.hessian, np.zeros((3, 3)))
