"""The Inspector shows torch's repr of a tensor whose record deferred it: it asks the
kernel once when it shows the tensor, and shows the answer when it comes."""
from __future__ import annotations

import numpy as np

from gradstudio.studio.kernel.schema import TensorData, TensorText
from gradstudio.ui.model import AppModel
from gradstudio.ui.panels import PanelContext
from gradstudio.ui.panels.inspector import TEXT_PENDING, InspectorPanel


class FakeRunner:
    def __init__(self):
        self.asked = []

    def request_tensor_text(self, name):
        self.asked.append(name)


def deferred(name):
    return TensorData(name=name, shape=(1000,), dtype="torch.float32", requires_grad=True,
                      value=np.zeros(1000), grad=np.ones(1000), text_deferred=True)


def test_a_deferred_tensor_is_asked_for_once_and_shown_when_its_text_arrives(qtbot):
    model, runner = AppModel(), FakeRunner()
    panel = InspectorPanel(PanelContext(model, runner, None))
    qtbot.addWidget(panel)
    model.tensors.set_tensors([deferred("h"), deferred("x")])
    assert runner.asked == []                      # nothing shown, nothing asked
    model.selection.select(tensor="x")
    assert runner.asked == ["x"]
    assert panel.value.toPlainText() == TEXT_PENDING and panel.grad.toPlainText() == TEXT_PENDING
    model.selection.select(tensor="h")
    model.selection.select(tensor="x")             # shown again before the answer: not asked again
    assert runner.asked == ["x", "h"]
    model.tensors.set_text(TensorText(name="x", value_text="tensor([0., …])", grad_text="tensor([1., …])"))
    assert panel.value.toPlainText() == "tensor([0., …])" and panel.grad.toPlainText() == "tensor([1., …])"
    assert not model.tensors.tensor("x").text_deferred
    model.tensors.set_text(TensorText(name="h", error="no tensor named 'h' in the kernel"))
    assert model.tensors.tensor("h").text_deferred          # an error changes nothing
    model.tensors.set_tensors([deferred("x")])     # a new run: its record is deferred again
    assert runner.asked == ["x", "h", "x"] and panel.value.toPlainText() == TEXT_PENDING


def test_an_answer_that_comes_back_inside_the_request_stays_shown(qtbot):
    """The Jupyter client reads what the kernel has sent right after it sends a request,
    so a quick answer arrives inside ``request_tensor_text``: the text it fills in must
    not be overwritten by the "asking" placeholder (1 run in 5 showed the placeholder for
    good before the fix)."""
    model = AppModel()

    class AnsweringRunner(FakeRunner):
        def request_tensor_text(self, name):
            super().request_tensor_text(name)
            model.tensors.set_text(TensorText(name=name, value_text="tensor([0., …])", grad_text="tensor([1., …])"))

    panel = InspectorPanel(PanelContext(model, AnsweringRunner(), None))
    qtbot.addWidget(panel)
    model.tensors.set_tensors([deferred("x")])
    model.selection.select(tensor="x")
    assert panel.value.toPlainText() == "tensor([0., …])" and panel.grad.toPlainText() == "tensor([1., …])"


def test_with_the_real_kernel_a_deferred_tensor_shows_torchs_repr(qtbot, window, helpers):
    helpers.set_script(window, "import torch\n"
                               + "".join(f"h{i} = torch.linspace(0, {i + 1}, 1000)\n" for i in range(6))
                               + "x = torch.linspace(-1, 1, 1000, requires_grad=True)\n"
                               "(x * 2).sum().backward()\n")
    window.runner.run_all()
    helpers.wait_idle(qtbot, window)
    tensors = window.model.tensors
    assert tensors.tensor("h5").text_deferred
    window.model.selection.select(tensor="h5")
    inspector = window.panel("inspector")
    qtbot.waitUntil(lambda: inspector.value.toPlainText() != TEXT_PENDING, timeout=30000)
    text = inspector.value.toPlainText()
    assert text.startswith("tensor([0.0000, 0.0060, 0.0120,") and text.endswith("6.0000])")
    assert not tensors.tensor("h5").text_deferred


def test_a_rerun_with_the_same_value_leaves_the_boxes_as_they_are(qtbot):
    """A re-run cell's records (and the check that follows its call) show the same text:
    the boxes are not filled again (laid out, repainted, scrolled back to the top)."""
    model = AppModel()
    panel = InspectorPanel(PanelContext(model, FakeRunner(), None))
    qtbot.addWidget(panel)

    def record(value):
        return TensorData(name="x", shape=(3,), dtype="torch.float32", requires_grad=True,
                          value=np.full(3, value), value_text=f"tensor([{value}, {value}, {value}])",
                          grad_text="tensor([1., 1., 1.])")
    model.tensors.set_tensors([record(2.0)])
    model.selection.select(tensor="x")
    revisions = (panel.value.document().revision(), panel.grad.document().revision())
    model.tensors.set_tensors([record(2.0)])
    assert (panel.value.document().revision(), panel.grad.document().revision()) == revisions
    model.tensors.set_tensors([record(5.0)])
    assert panel.value.toPlainText() == "tensor([5.0, 5.0, 5.0])"
    assert panel.grad.document().revision() == revisions[1]
