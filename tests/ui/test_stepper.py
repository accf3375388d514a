"""Stepping through backward() in the Graph panel: the seed example's failing second
backward stepped to its node and back, re-run with retain_graph until it passes,
predict-then-reveal, breakpoints, running to a clicked node, the Jacobian explorer,
export, and the step drawn at three points (rendered and checked)."""
from __future__ import annotations

import pathlib

import pytest
from PySide6.QtCore import Qt

from gradstudio.studio.kernel import records as kernel_data
from gradstudio.studio.session import Session
from gradstudio.ui.model import AppModel
from gradstudio.studio.kernel.schema import RunData
from gradstudio.ui.panels import PanelContext
from gradstudio.ui.panels.graph import GraphPanel

ROOT = pathlib.Path(__file__).resolve().parents[2]
SECOND_BACKWARD = ROOT / "resources" / "examples" / "second_backward.py"


def recorded(script: str) -> list:
    session = Session(step_trace=True)
    session.run_script(script, stop_on_error=False)
    return [kernel_data.call_data(call) for call in session.backward_calls]


def standalone(qtbot, calls, show: int):
    model = AppModel()
    panel = GraphPanel(PanelContext(model, None, None))
    qtbot.addWidget(panel)
    panel.resize(1200, 600)
    panel.show()
    model.finish_cell(RunData(cell=1, execution_count=1, ok=True),
                      calls, [])
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.document is not None, timeout=20000)
    panel.show_call(show)
    return model, panel


def name_of_item(panel, item) -> str:
    return item.lines[0][0]


def running_item(panel):
    ring = panel.step_view.overlay.ring()
    return ring.parentItem() if ring is not None else None


# --------------------------------------------------------------------------- with the real kernel
def test_second_backward_steps_to_the_failing_node_and_passes_with_retain_graph(qtbot, window, helpers):
    helpers.set_script(window, SECOND_BACKWARD.read_text())
    window.runner.run_all()
    helpers.wait_idle(qtbot, window)
    failed = next(r for r in window.model.calls.call_list() if r.status == "error")
    graph = window.panel("graph")
    graph.show_call(failed.index)
    view = graph.step_view
    # a failed call opens at the failure: MulBackward0 ringed, its saved tensors freed
    assert view.state.error is not None
    assert name_of_item(graph, running_item(graph)) == "MulBackward0"
    assert view.position == len(view.stepper) - 1
    text = view.text.toPlainText()
    assert "Trying to backward through the graph a second time" in text
    assert "an earlier backward() freed them" in text
    assert any(badge.startswith("freed") for badge, _ in view.overlay.badges())
    # the leaf was never reached: dimmed
    leaf = next(i for i in graph.scene.node_items.values() if i.kind == "leaf")
    assert leaf.opacity() < 1.0
    # Shift+F10 steps back: MulBackward0 about to run, no error yet
    graph.setFocus()
    qtbot.keyClick(graph, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert view.state.error is None and view.position == len(view.stepper) - 2
    qtbot.keyClick(graph, Qt.Key.Key_F10)
    assert view.state.error is not None
    # retain_graph: the cells from the one that built y run again, and the call passes
    assert view.retain_button.isVisible()
    before = len(window.model.calls.call_list())
    view.retain_button.click()
    helpers.wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: len(window.model.calls.call_list()) >= before + 3, timeout=30000)
    newest = window.model.calls.call_list()[-1]
    assert newest.status == "ok", newest.data.error
    qtbot.waitUntil(lambda: graph.document is not None and graph.document.call == newest.index, timeout=20000)
    assert view.record is not None and view.record.index == newest.index
    view.to_end()
    assert view.state.complete and view.state.error is None
    assert not view.retain_button.isVisible()
    # the script itself was not changed
    assert "y.backward()\n" in window.panel("script").editor.toPlainText()


# --------------------------------------------------------------------------- standalone panel
def test_predict_then_reveal(qtbot):
    calls = recorded("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                     "z = (x * x * 3).mean()\nz.backward()\n")
    model, panel = standalone(qtbot, calls, 0)
    view = panel.step_view
    view.predict.setChecked(True)
    view.go(-1)
    assert not view.guess_row.isVisible()  # next is the seed: nothing to predict
    view.step()
    # after the seed, MeanBackward0 is about to start: predict what it receives
    assert view.guess_row.isVisible() and "MeanBackward0" in view.prompt.text()
    here = view.position
    view.step()
    assert view.position == here           # stepping waits for the prediction
    qtbot.keyClicks(view.guess, "[1, 1]")
    qtbot.keyClick(view.guess, Qt.Key.Key_Return)
    assert view.verdict is not None and not view.verdict.ok and "Shape mismatch" in view.verdict.message
    assert view.position == here + 1      # revealed anyway
    assert "Shape mismatch" in view.text.toPlainText()
    # step on to the next node start: MulBackward0 (×3) receives 1/4 everywhere
    while not view.guess_row.isVisible():
        view.step()
    assert "MulBackward0" in view.prompt.text()
    view.guess.setText("0.25")
    view.reveal_button.click()
    assert view.verdict.ok and "✓" in view.text.toPlainText()
    view.predict.setChecked(False)
    assert not view.guess_row.isVisible()


def test_play_stops_at_a_nan_and_highlights_the_forward_op(qtbot):
    calls = recorded("import torch\nx = torch.tensor([0.0, 1.0], requires_grad=True)\n"
                     "y = x.sqrt() * 100\nz = y.sum()\nz.backward()\n")
    model, panel = standalone(qtbot, calls, 0)
    view = panel.step_view
    view.speed.setCurrentIndex(view.speed.count() - 1)
    view.play()
    qtbot.waitUntil(lambda: not view.timer.isActive(), timeout=10000)
    assert view.hit is not None and view.position == view.hit.step
    assert view.position < len(view.stepper) - 1
    assert "Breakpoint" in view.text.toPlainText()
    highlighted = panel.scene.node_items[panel.scene.highlighted]
    assert name_of_item(panel, highlighted) == "SqrtBackward0"


def test_click_a_node_runs_to_it_and_fan_out_shows_both_terms(qtbot):
    calls = recorded("import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                     "y = (x * x).sum()\ny.backward()\n")
    model, panel = standalone(qtbot, calls, 0)
    view = panel.step_view
    mul = next(i for i in panel.scene.node_items.values() if name_of_item(panel, i) == "MulBackward0")
    panel.scene.nodeClicked.emit(mul.vid)
    assert view.stepper.events[view.position]["kind"] == "node_start"
    assert running_item(panel) is mul
    view.step()      # released
    view.step()      # edge 0
    view.step()      # edge 1
    view.step()      # the buffer adds them
    text = view.text.toPlainText()
    assert "Fan-out" in text and "[2., 4., 6.]" in text
    edges = [b for b in view.overlay.badges() if b[0].startswith("∂")]
    assert len(edges) == 3 and all("shape" in tip for _, tip in edges)
    view.to_end()
    assert "x.grad" in view.text.toPlainText() and "before None" in view.text.toPlainText()


def test_export_writes_a_png_per_step_and_a_gif(qtbot, tmp_path):
    from PIL import Image
    calls = recorded("import torch\nx = torch.ones(2, requires_grad=True)\n(x.exp() * 2).sum().backward()\n")
    model, panel = standalone(qtbot, calls, 0)
    view = panel.step_view
    view.go(2)
    out = view.export(str(tmp_path / "frames"))
    assert len(out["pngs"]) == len(view.stepper)
    gif = Image.open(out["gif"])
    assert gif.n_frames == len(view.stepper)
    assert view.position == 2              # back where it was
    first, last = Image.open(out["pngs"][0]), Image.open(out["pngs"][-1])
    assert first.size[0] >= 480 and first.tobytes() != last.tobytes()


def test_a_snapshot_at_three_points_of_a_step_through(qtbot, tmp_path):
    """The failing second backward at its start, one step before the failure, and at
    the failure: rendered, with the drawn state checked on the items."""
    calls = recorded(SECOND_BACKWARD.read_text())
    failed = next(i for i, c in enumerate(calls) if c.status == "error")
    model, panel = standalone(qtbot, calls, failed)
    view = panel.step_view
    shots = []
    for step in (-1, len(view.stepper) - 2, len(view.stepper) - 1):
        view.go(step)
        qtbot.wait(10)
        path = tmp_path / f"step{step + 1}.png"
        assert panel.grab().save(str(path))
        shots.append((step, path, running_item(panel), view.counter.text()))
    (s0, p0, ring0, c0), (s1, p1, ring1, c1), (s2, p2, ring2, c2) = shots
    assert ring0 is None and c0.startswith("before the pass")
    assert name_of_item(panel, ring1) == name_of_item(panel, ring2) == "MulBackward0"
    assert c2 == f"step {len(view.stepper)} / {len(view.stepper)}"
    assert p0.read_bytes() != p1.read_bytes() != p2.read_bytes()
    # nothing of the side panel is cut off: its text fits its width (word wrap, no scrollbar)
    assert view.text.horizontalScrollBar().maximum() == 0


def test_the_jacobian_explorer_shows_1024_identity_for_the_seeds_vector_backward(qtbot, window, helpers):
    import numpy as np
    helpers.set_script(window, "import torch\ntorch.manual_seed(4)\nx = torch.randn(3, requires_grad=True)\n"
                               "y = x * 2\nwhile y.data.norm() < 1000:\n    y = y * 2\n"
                               "y.backward(torch.tensor([1.0, 0.1, 0.001]))\nx.grad\n")
    window.runner.run_all()
    helpers.wait_idle(qtbot, window)
    graph = window.panel("graph")
    qtbot.waitUntil(lambda: graph.document is not None, timeout=20000)
    view = graph.step_view
    assert view.jacobian_button.isVisibleTo(view)
    dialog = view.open_jacobian()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=30000)
    answer = dialog.answer
    assert answer.error is None and answer.structure == "1024·I" and answer.agree
    text = dialog.summary.text()
    assert "1024·I" in text and "x.grad = 1024·v" in text and "✓" in text
    np.testing.assert_allclose(answer.engine, 1024 * np.array([1.0, 0.1, 0.001]), rtol=1e-5)
    assert dialog.table.rowCount() == 3 and dialog.table.item(1, 1).text() == "1024"
    assert dialog.vectors.item(0, 2).text() == "1024" and dialog.vectors.horizontalHeaderItem(1).text() == "Jᵀv (3)"
    # a one-hot v: row 2 of J, computed by the engine's backward(gradient=e_2)
    dialog.mode.setCurrentIndex(1)
    dialog.row.setValue(2)
    dialog.answer = None
    dialog.go.click()
    qtbot.waitUntil(lambda: dialog.answer is not None, timeout=30000)
    np.testing.assert_allclose(dialog.answer.engine, [0, 0, 1024])
    dialog.close()


NN_STEP = """
import math
import torch
from torch import nn
torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 8).unsqueeze(1)
y = torch.sin(x) + 0.05 * torch.randn(8, 1)
model = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
loss_fn = nn.MSELoss()
loss = loss_fn(model(x), y)
loss.backward()
"""


def test_a_saved_tensors_badge_covers_no_other_node(qtbot):
    """The training-loop example's graph: the Tanh's "saved ×1" badge, above its node, lay
    over model.2.bias (the module frames between them leave less than a badge's height)."""
    from gradstudio.ui.graph.stepper import _Badge
    _, panel = standalone(qtbot, recorded(NN_STEP), 0)
    scene = panel.scene
    badges = [item for item in panel.step_view.overlay.items
              if isinstance(item, _Badge) and item.text.startswith(("saved", "freed"))]
    assert len(badges) >= 4
    for badge in badges:
        owner = badge.parentItem()
        box = badge.sceneBoundingRect()
        for other in scene.node_items.values():
            if other is not owner:
                assert not box.intersects(other.mapRectToScene(other.body())), (badge.text, other.vid, other.lines)
        assert box.top() < owner.sceneBoundingRect().top() or box.bottom() > owner.sceneBoundingRect().bottom()


@pytest.mark.parametrize("name", ["dark", "light"])
def test_the_step_button_looks_checked_while_the_step_through_is_open_in_both_themes(qtbot, name):
    """Fusion draws a checked tool button as a sunken panel in a shade of the window
    colour: on the dark palette it hardly differed from an unchecked one. A checked tool
    button is now tinted with the highlight colour (``theme.IndicatorStyle``)."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication, QToolButton
    from gradstudio.ui import theme
    app = QApplication.instance()
    palette = app.palette()
    try:
        theme.apply_theme(app, name)
        panel = GraphPanel(PanelContext(AppModel(), None, None))
        qtbot.addWidget(panel)
        panel.resize(900, 500)
        panel.show()
        button = next(b for b in panel.findChildren(QToolButton)
                      if b.defaultAction() is not None and b.defaultAction().text() == "Step")

        def fill() -> QColor:  # a pixel of the button's panel, left of its text
            image = button.grab().toImage()
            ratio = image.devicePixelRatio()
            return QColor(image.pixel(int(3 * ratio), int(button.height() / 2 * ratio)))

        unchecked = fill()
        button.click()
        assert panel.step_view.isVisible() and button.isChecked()
        checked = fill()
        window = panel.palette().color(QPalette.ColorRole.Window)
        highlight = panel.palette().color(QPalette.ColorRole.Highlight)
        distance = lambda a, b: sum(abs(x - y) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3]))
        assert distance(unchecked, window) <= 12, (name, unchecked.name(), window.name())
        assert distance(checked, window) >= 40, (name, checked.name(), window.name())
        # towards the highlight: its blue channel (both palettes' highlight is a blue)
        assert checked.blue() - checked.red() >= 15 and highlight.blue() > highlight.red()
        button.click()
        assert not panel.step_view.isVisible() and not button.isChecked()
    finally:
        app.setPalette(palette)      # (the next tests' palette as it was)
