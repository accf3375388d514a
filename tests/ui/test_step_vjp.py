"""The step-through's VJP side panel with the local derivative from the symbolic side:
the kernel's answer (its service run in this process, the message through the wire
form) shown at each node — MulBackward0's ∂/∂a = b = 2, the mean's 0.25·𝟙, the
product with g and the numbers checked against the engine's; and with the real
kernel. Light and dark renderings are saved for a look."""
from __future__ import annotations

import pathlib

from PySide6.QtCore import QObject, Signal

from gradstudio.studio.kernel import records as kernel_data, schema
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session
from gradstudio.ui.model import AppModel
from gradstudio.studio.kernel.schema import RunData
from gradstudio.ui.panels import PanelContext
from gradstudio.ui.panels.graph import GraphPanel

SHOTS = pathlib.Path("/tmp")


class InProcessRunner(QObject):
    """The runner's local-derivative request served by a KernelService over a real
    session, the answer sent through the wire form as the kernel sends it."""

    localDerivativesReceived = Signal(object)
    jacobianReceived = Signal(object)

    def __init__(self, session):
        super().__init__()
        self.requests = []
        self.service = KernelService(session, self._send)

    def _send(self, message):
        self.localDerivativesReceived.emit(schema.decode(*schema.encode(message)))

    def request_local_derivatives(self, call, vertices=None):
        self.requests.append(call if vertices is None else (call, list(vertices)))
        request = {"type": "local_derivatives", "call": call}
        if vertices is not None:
            request["vertices"] = list(vertices)
        self.service.handle(request)


def stepped(qtbot, script: str, show: int = -1):
    session = Session(step_trace=True)
    session.run_script(script, stop_on_error=False)
    calls = [kernel_data.call_data(call) for call in session.backward_calls]
    runner = InProcessRunner(session)
    model = AppModel()
    panel = GraphPanel(PanelContext(model, runner, None))
    qtbot.addWidget(panel)
    panel.resize(1300, 640)
    panel.show()
    model.finish_cell(RunData(cell=1, execution_count=1, ok=True), calls, [])
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.document is not None, timeout=20000)
    panel.show_call(calls[show].index)
    return runner, panel


def to_start_of(view, name: str, nth: int = 0):
    starts = [i for i, e in enumerate(view.stepper.events)
              if e["kind"] == "node_start" and view.stepper.name(e["node"]) == name]
    view.go(starts[nth])


def test_the_side_panel_writes_out_each_nodes_local_derivative(qtbot):
    runner, panel = stepped(qtbot, "import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                                   "y = x * x * 3\nz = y.mean()\nz.backward()\n")
    view = panel.step_view
    assert runner.requests == []     # the side panel is closed: nothing asked of the kernel
    view.step()                      # the seed; F10 opens the side panel, which asks
    assert runner.requests == [0] and len(view.locals) == 3
    view.step()                      # MeanBackward0 starts
    text = view.text.toPlainText()
    assert "MeanBackward0" in text and "∂out/∂a = 0.25·𝟙" in text and "0.25·g·𝟙" in text
    assert "a = y (2, 2)" in text and "(not sent yet)" in text
    view.step()                      # its edge: the engine's number agrees
    assert "✓ the engine sent the same" in view.text.toPlainText()
    to_start_of(view, "MulBackward0", 0)
    view.step()                     # released
    view.step()                     # the edge to x * x
    text = view.text.toPlainText()
    assert "∂out/∂a = b = 3" in text and "3·g" in text and "✓ the engine sent the same" in text
    to_start_of(view, "MulBackward0", 1)
    for _ in range(3):
        view.step()                 # released, both edges
    text = view.text.toPlainText()
    assert "∂out/∂a = b" in text and "∂out/∂b = a" in text and "g ⊙ a" in text
    assert text.count("✓ the engine sent the same") == 2
    qtbot.wait(20)
    panel.grab().save(str(SHOTS / "s3step-vjp-mul.png"))
    # stepping back: the second input's gradient is not sent yet
    view.step_back()
    text = view.text.toPlainText()
    assert text.count("✓ the engine sent the same") == 1 and "(not sent yet)" in text
    # another call: asked again (and only once per call record)
    view.set_record(view.record)
    assert runner.requests == [0]


def test_a_matmul_shows_g_times_b_transposed_light_and_dark(qtbot):
    from gradstudio.ui import theme
    runner, panel = stepped(qtbot, "import torch\nA = torch.randn(2, 3, requires_grad=True)\n"
                                   "B = torch.randn(3, 2, requires_grad=True)\n"
                                   "L = (A @ B).sin().sum()\nL.backward()\n")
    view = panel.step_view
    to_start_of(view, "MmBackward0")
    for _ in range(2):
        view.step()
    text = view.text.toPlainText()
    assert "g·bᵀ" in text and "aᵀ·g" in text and "in matrix form" in text
    assert "a = A (2, 3)" in text and "b = B (3, 2)" in text
    assert view.text.horizontalScrollBar().maximum() == 0
    qtbot.wait(20)
    assert view.isVisible() and view.width() > 300
    panel.grab().save(str(SHOTS / "s3step-vjp-light.png"))
    # dark: the theme's palette; the side panel's colours follow it
    panel.setPalette(theme.dark_palette())
    view.go(view.position)
    assert theme.colors(view.palette())["ok"] == theme.colors(theme.dark_palette())["ok"]
    assert theme.colors(theme.dark_palette())["ok"] in view.text.toHtml()
    qtbot.wait(20)
    panel.grab().save(str(SHOTS / "s3step-vjp-dark.png"))


def test_an_answer_for_another_call_is_ignored(qtbot):
    runner, panel = stepped(qtbot, "import torch\nx = torch.ones(3, requires_grad=True)\n"
                                   "(x * 2).sum().backward()\n(x.exp()).sum().backward()\n", show=0)
    view = panel.step_view
    view.show()
    shown = dict(view.locals)
    view.set_local_derivatives(schema.LocalDerivatives(call=1, derivatives=[]))
    assert view.locals == shown and shown


def test_with_the_real_kernel_the_tutorials_loop_shows_b_equal_2(qtbot, window, helpers):
    helpers.set_script(window, "import torch\nx = torch.randn(3, requires_grad=True)\ny = x * 2\n"
                               "while y.data.norm() < 1000:\n    y = y * 2\n"
                               "y.backward(torch.tensor([1.0, 0.1, 0.001]))\n")
    window.runner.run_all()
    helpers.wait_idle(qtbot, window)
    graph = window.panel("graph")
    qtbot.waitUntil(lambda: graph.document is not None, timeout=20000)
    view = graph.step_view
    view.show()
    qtbot.waitUntil(lambda: bool(view.locals), timeout=60000)
    assert {d.op for d in view.locals.values()} == {"MulBackward0"}
    to_start_of(view, "MulBackward0")
    view.step()                     # released
    view.step()                     # its edge
    text = view.text.toPlainText()
    assert "∂out/∂a = b = 2" in text and "2·g" in text and "b = 2" in text
    assert "✓ the engine sent the same" in text


def test_a_big_call_asks_for_each_nodes_local_derivative_when_it_is_shown(qtbot, monkeypatch):
    from gradstudio.ui.panels import step_view
    monkeypatch.setattr(step_view, "ASK_ALL", 2)
    runner, panel = stepped(qtbot, "import torch\nx = torch.ones(3, requires_grad=True)\n"
                                   "(x.exp() * 2).sin().sum().backward()\n")
    view = panel.step_view
    view.show()
    assert runner.requests == [] and view.locals == {}
    to_start_of(view, "ExpBackward0")
    exp = view.stepper.vertex(view.state.running)
    assert runner.requests == [(0, [exp])] and set(view.locals) == {exp}
    assert "∂out/∂x = exp(x)" in view.text.toPlainText()
    view.step_back()                           # MulBackward0 runs there: asked for now
    mul = view.stepper.vertex(view.state.running)
    assert view.stepper.name(view.state.running) == "MulBackward0"
    to_start_of(view, "ExpBackward0")          # Exp's answer is kept: not asked again
    assert runner.requests == [(0, [exp]), (0, [mul])]
    assert "∂out/∂x = exp(x)" in view.text.toPlainText()
