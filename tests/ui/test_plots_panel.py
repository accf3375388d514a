"""The Plots panel: it follows the model, draws the right data (read from the
artists, not from pixels), coalesces redraws, clicks select and pick, sweeps
go through the runner, export writes files — in a bare model and in the real
app running the tutorial."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from gradstudio.studio.kernel.schema import CallData, GraphData, LeafData, NodeData, RootData, RunData, SweepData
from gradstudio.ui.model import AppModel
from gradstudio.ui.panels import PanelContext
from gradstudio.ui.panels.plots import PlotsPanel
from gradstudio.ui.plots import export

pytestmark = [
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
    # matplotlib's Qt backend asks about a Qt 5 attribute that Qt 6 deprecates (not ours to fix)
    pytest.mark.filterwarnings("ignore:Enum value .*AA_UseHighDpiPixmaps:DeprecationWarning"),
]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --------------------------------------------------------------------------- a bare model
class FakeRunner:
    def __init__(self):
        self.sweeps = []
        self.interrupts = 0

    def request_sweep(self, call, vertex, element, **options):
        self.sweeps.append((call, vertex, list(element), options))

    def interrupt(self):
        self.interrupts += 1
        return True


def vertex(i, kind, name, grad, shape, *, grad_fn="MulBackward0", is_root=False):
    value = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float32).reshape(shape)
    return NodeData(id=i, kind=kind, name=name, label=name or grad_fn,
                    grad_fn=grad_fn if kind == "op" else None, shape=tuple(shape), dtype="float32",
                    value=value, grad=None if grad is None else np.asarray(grad, dtype=np.float32),
                    requires_grad=kind != "const", is_root=is_root)


def recorded_call(index, scale=1.0):
    """w (2×3 leaf) · c (constant) → y (unnamed op) → z (root, scalar)."""
    nodes = [vertex(0, "leaf", "w", scale * np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]]), (2, 3)),
             vertex(1, "const", None, None, ()),
             vertex(2, "op", None, scale * np.full((2, 3), 0.5), (2, 3)),
             vertex(3, "op", "z", 1.0, (), grad_fn="SumBackward0", is_root=True)]
    return CallData(index=index, cell=1, line=4, root=RootData("z", "SumBackward0", ()),
                    graph=GraphData(root=3, nodes=nodes), leaves=[LeafData("w", 0, (2, 3), nodes[0].grad)])


RUN = RunData(cell=1, execution_count=1, backward_calls=[0])


@pytest.fixture
def panel(qtbot):
    model = AppModel()
    runner = FakeRunner()
    widget = PlotsPanel(PanelContext(model, runner, None))
    qtbot.addWidget(widget)
    widget.resize(820, 640)
    widget.show()
    qtbot.waitExposed(widget)
    widget.model, widget.fake_runner = model, runner
    return widget


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=60000)   # the first plot imports matplotlib (slow on a loaded machine)


def add_calls(panel, *calls):
    panel.model.finish_cell(RUN, list(calls), [])


def click(qtbot, view, ax, x, y, *, double=False):
    """A real mouse click on the canvas at data coordinates (x, y) of ``ax``."""
    canvas = view.canvas
    px, py = ax.transData.transform((x, y))
    ratio = canvas.device_pixel_ratio
    point = QPoint(int(px / ratio), int((canvas.figure.bbox.height - py) / ratio))
    if double:
        qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=point)
    else:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=point)


def test_norms_follow_the_selected_call_and_a_bar_click_selects_everywhere(qtbot, panel):
    add_calls(panel, recorded_call(0), recorded_call(1, scale=10.0))
    settle(qtbot, panel)
    plot = panel.norms_plot
    assert panel.norms_call == 1, "the newest call when nothing is selected"
    assert plot.node_ids == [0, 2, 3]                                 # the constant is left out
    heights = [bar.get_height() for bar in plot.bars.patches]
    assert heights == pytest.approx([10 * np.sqrt(1 + 4 + 0.25 + 9 + 1), 10 * np.sqrt(6 * 0.25), 1.0])
    assert [t.get_text() for t in plot.ax.get_xticklabels()] == ["w", "MulBackward0", "z"]

    panel.model.selection.select(call=0, node=3)
    settle(qtbot, panel)
    assert panel.norms_call == 0 and panel.call_picker.currentData() == 0
    assert panel.norms_plot.bars.patches[0].get_height() == pytest.approx(np.sqrt(15.25))

    ax = panel.norms_plot.ax
    click(qtbot, panel.views["norms"], ax, 1, 0.5)                    # on the unnamed op's bar
    assert (panel.model.selection.current.call, panel.model.selection.current.node) == (0, 2)
    settle(qtbot, panel)
    bars = panel.norms_plot.bars.patches
    assert bars[1].get_linewidth() > bars[0].get_linewidth(), "the selected bar is outlined"

    panel.call_picker.activated.emit(panel.call_picker.findData(1))  # picking a call selects its first leaf
    assert (panel.model.selection.current.call, panel.model.selection.current.node) == (1, 0)


def test_a_burst_of_changes_is_one_render_and_one_draw(qtbot, panel):
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    view = panel.views["norms"]
    renders, draws = panel.renders["norms"], view.draws
    for i in range(30):
        panel.model.selection.select(call=0, node=(0, 2, 3)[i % 3])
    assert panel.is_busy()
    settle(qtbot, panel)
    assert panel.renders["norms"] == renders + 1
    assert view.draws == draws + 1
    assert panel.views["heatmap"].draws == 0 and panel.renders["heatmap"] == 0, "hidden tabs wait"


def test_behind_another_tab_it_draws_nothing_until_its_tab_is_raised(qtbot):
    """Qt keeps a dock whose tab is not current "visible" (moved out of the window): the
    panel tabbed behind Compare — the window's default layout — drew every re-run
    nobody could see. It draws when its tab comes to the front, the newest call."""
    from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = PlotsPanel(PanelContext(AppModel(), FakeRunner(), None))
    front, behind = QDockWidget("Compare"), QDockWidget("Plots")
    front.setWidget(QLabel("in front"))
    behind.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, front)
    window.tabifyDockWidget(front, behind)
    front.raise_()
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    add_calls(panel, recorded_call(0))
    qtbot.wait(50)
    assert panel.isVisible() and not panel.on_screen()
    assert panel.renders["norms"] == 0 and panel.norms_call is None, "nothing drawn behind the tab"
    assert not panel.is_busy()
    behind.raise_()
    settle(qtbot, panel)
    assert panel.on_screen() and panel.norms_call == 0
    assert "#0" in panel.norms_plot.ax.get_title(loc="left")
    front.raise_()
    add_calls(panel, recorded_call(1, scale=2.0))
    qtbot.wait(50)
    assert panel.norms_call == 0 and not panel.is_busy()
    behind.raise_()
    settle(qtbot, panel)
    assert panel.norms_call == 1 and "#1" in panel.norms_plot.ax.get_title(loc="left")
    assert panel.norms_plot.bars.patches[-1].get_height() == pytest.approx(1.0)


def test_the_render_starts_when_the_runner_says_the_cells_records_are_in(qtbot):
    """A cell's records are a burst of signals, drawn once; the frame is started when the
    runner says the burst is over (before the window repaints what the records changed),
    not by the timer that runs after that repaint."""
    from PySide6.QtCore import QObject, Signal

    class Runner(QObject):
        cellApplied = Signal()
        cells_to_finish = 0
    runner = Runner()
    panel = PlotsPanel(PanelContext(AppModel(), runner, None))
    qtbot.addWidget(panel)
    panel.resize(820, 640)
    panel.show()
    qtbot.waitExposed(panel)
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    renders = panel.renders["norms"]
    add_calls(panel, recorded_call(1, scale=2.0))
    panel.model.selection.select(call=1, node=0)
    assert panel.renders["norms"] == renders, "the burst is not over yet"
    runner.cellApplied.emit()
    assert panel.renders["norms"] == renders + 1 and panel.is_busy()
    settle(qtbot, panel)
    assert panel.renders["norms"] == renders + 1 and panel.norms_call == 1
    assert "#1" in panel.norms_plot.ax.get_title(loc="left")


def test_a_rerun_with_the_same_bars_keeps_the_axes_and_only_retitles(qtbot, panel):
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)        # the canvas takes its size after the first frame: that one is built again
    add_calls(panel, recorded_call(1))
    settle(qtbot, panel)
    ax = panel.norms_plot.ax
    assert "#1" in ax.get_title(loc="left")
    add_calls(panel, recorded_call(2))                 # the same cell again: the same bars
    settle(qtbot, panel)
    assert panel.norms_call == 2 and panel.norms_plot.ax is ax, "kept, not made afresh"
    assert "#2" in ax.get_title(loc="left") and "#1" not in ax.get_title(loc="left")
    assert panel.views["norms"].figure.axes == [ax]
    add_calls(panel, recorded_call(3, scale=3.0))      # other values: built afresh
    settle(qtbot, panel)
    assert panel.norms_plot.ax is not ax and "#3" in panel.norms_plot.ax.get_title(loc="left")
    assert panel.norms_plot.bars.patches[-1].get_height() == pytest.approx(1.0)
    fresh = panel.norms_plot.ax
    fresh.set_ylim(0.5, 2.0)                            # the user zoomed: a re-run starts from the plot's limits
    add_calls(panel, recorded_call(4, scale=3.0))
    settle(qtbot, panel)
    assert panel.norms_plot.ax is not fresh and panel.norms_plot.ax.get_ylim() != (0.5, 2.0)


def test_the_norms_are_drawn_while_the_kernel_still_derives(qtbot, panel):
    """A cell's calls hold everything the norms show: the plot does not wait for the
    kernel's checks (the kernel stays busy deriving until they come back)."""
    panel.model.kernel.set_busy(True)
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    assert panel.model.kernel.busy
    assert panel.norms_call == 0 and panel.views["norms"].draws >= 1
    assert panel.stacks["norms"].currentWidget() is panel.views["norms"]
    add_calls(panel, recorded_call(1, scale=2.0))
    settle(qtbot, panel)
    assert panel.norms_call == 1 and "#1" in panel.norms_plot.ax.get_title(loc="left")
    assert panel.norms_plot.bars.patches[-1].get_height() == pytest.approx(1.0)


def test_a_run_of_several_cells_draws_after_its_last_cell(qtbot, panel):
    """While more cells of a run are to finish, the plot waits (their records replace
    it); the last cell's records are drawn at once, checks still deriving or not."""
    panel.model.kernel.set_busy(True)
    panel.fake_runner.cells_to_finish = 2
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    assert panel.norms_call is None, "the next cell is still to come"
    panel.fake_runner.cells_to_finish = 0
    add_calls(panel, recorded_call(1))
    settle(qtbot, panel)
    assert panel.model.kernel.busy and panel.norms_call == 1


def test_the_runner_counts_the_cells_a_run_has_still_to_finish(qtbot, monkeypatch):
    """What the Plots panel waits on: a run's cells still to finish; none once the
    kernel is idle (a failed cell ends a run early)."""
    from types import SimpleNamespace

    from gradstudio.studio.kernel.schema import CellFinished
    from gradstudio.ui.jupyter_client import JupyterClient
    from gradstudio.ui.runner import Runner
    runner = Runner(AppModel(), JupyterClient())      # never started: the signals are driven by hand
    monkeypatch.setattr(runner.client, "run_cells", lambda cells, **options: None)
    runner.run_cells([SimpleNamespace(index=i, source="x = 1", first_line=i) for i in (1, 2, 3)])
    assert runner.cells_to_finish == 3
    runner.client.cellFinished.emit(CellFinished(run=RunData(cell=1, execution_count=1)))
    runner.client.cellFinished.emit(CellFinished(run=RunData(cell=None)))   # the editor's run: not one of them
    assert runner.cells_to_finish == 2
    runner.client.busyChanged.emit(False)
    assert runner.cells_to_finish == 0 and not runner.model.kernel.busy


def test_a_rerun_draws_only_the_new_title_over_the_kept_frame(qtbot, panel, tmp_path):
    """The same bars with a new call number: the worker restores the frame it kept and
    draws the title on it; the result is the frame a full draw makes."""
    from gradstudio.ui.plots.view import render_image
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    add_calls(panel, recorded_call(1))
    settle(qtbot, panel)
    view = panel.views["norms"]
    draws, overlays = view.draws, view.overlay_draws
    add_calls(panel, recorded_call(2))
    settle(qtbot, panel)
    assert view.draws == draws + 1 and view.overlay_draws == overlays + 1, "one frame, title only"
    assert "#2" in panel.norms_plot.ax.get_title(loc="left")
    full, _, _ = render_image(view.figure, view.canvas.device_pixel_ratio)
    assert full.size() == view.canvas.frame.size()
    assert full == view.canvas.frame, "the title drawn over the kept frame is the full frame"
    add_calls(panel, recorded_call(3, scale=3.0))      # other bars: a whole frame
    settle(qtbot, panel)
    assert view.draws == draws + 2 and view.overlay_draws == overlays + 1
    import matplotlib
    with matplotlib.rc_context({"svg.fonttype": "none"}):          # texts as text, to find the title
        view.export(str(tmp_path / "norms.svg"))
    assert "#3 z.backward()" in (tmp_path / "norms.svg").read_text(), "an export draws the title too"


def test_the_same_chart_with_the_same_title_is_not_drawn_again(qtbot, panel):
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)        # the canvas takes its size after the first frame: that one is built again
    add_calls(panel, recorded_call(1))
    settle(qtbot, panel)
    view = panel.views["norms"]
    draws, renders = view.draws, panel.renders["norms"]
    panel.model.selection.select(tensor="x")          # a variable outside every graph: the same bars
    settle(qtbot, panel)
    assert panel.renders["norms"] == renders + 1, "the tab was asked to update"
    assert view.draws == draws, "its inputs did not change: the frame on screen stays"
    assert panel.norms_call == 1 and panel.stacks["norms"].currentWidget() is view


def test_the_heatmap_of_a_rerun_with_the_same_gradient_only_retitles(qtbot, panel):
    from gradstudio.ui.plots.view import render_image
    panel.tabs.setCurrentIndex(1)
    for index in (0, 1):            # the canvas takes its size after the first frame: that one is built again
        add_calls(panel, recorded_call(index))
        panel.model.selection.select(call=index, node=0)
        settle(qtbot, panel)
    view = panel.views["heatmap"]
    draws, overlays = view.draws, view.overlay_draws
    add_calls(panel, recorded_call(2))
    panel.model.selection.select(call=2, node=0)
    settle(qtbot, panel)
    assert view.draws == draws + 1 and view.overlay_draws == overlays + 1
    assert panel.heatmap_plot.image.axes.get_title(loc="left") == "|∂f/∂w| in backward #2"
    assert panel.heatmap_leaf == (2, 0), "a click picks the element in the call shown"
    full, _, _ = render_image(view.figure, view.canvas.device_pixel_ratio)
    assert full == view.canvas.frame
    panel.model.selection.select(tensor="w")               # nothing of the image changes, nor the title...
    panel.model.selection.select(call=2, node=0)
    settle(qtbot, panel)
    assert view.draws == draws + 1, "the same image and title: not drawn again"
    add_calls(panel, recorded_call(3, scale=2.0))           # another gradient: a whole frame
    panel.model.selection.select(call=3, node=0)
    settle(qtbot, panel)
    assert view.draws == draws + 2 and view.overlay_draws == overlays + 1
    np.testing.assert_allclose(panel.heatmap_plot.image.get_array(), [[2, 4, 1], [0, 6, 2]])


def test_heatmap_follows_the_selection_and_a_click_picks_the_sweep_element(qtbot, panel):
    add_calls(panel, recorded_call(0))
    panel.tabs.setCurrentIndex(1)
    panel.model.selection.select(call=0, node=0)
    settle(qtbot, panel)
    plot = panel.heatmap_plot
    np.testing.assert_allclose(plot.image.get_array(), [[1, 2, 0.5], [0, 3, 1]])
    assert plot.colorbar is not None and panel.heatmap_leaf == (0, 0)

    click(qtbot, panel.views["heatmap"], plot.image.axes, 2, 1)       # row 1, column 2
    assert panel.sweep_target() == (0, 0, (1, 2))
    settle(qtbot, panel)
    assert panel.heatmap_plot.marker.get_xy() == (1.5, 0.5)
    assert panel.lo.value() == pytest.approx(6 - 6) and panel.hi.value() == pytest.approx(12)  # 6 ± 6

    panel.model.selection.select(call=0, node=2)                                # an op: its incoming gradient
    settle(qtbot, panel)
    np.testing.assert_allclose(panel.heatmap_plot.image.get_array(), np.full((2, 3), 0.5))
    assert panel.heatmap_leaf is None
    panel.model.selection.select(call=0, node=1)                                # a constant
    settle(qtbot, panel)
    assert panel.heatmap_plot is None
    assert "constant" in panel.messages["heatmap"].text()
    assert panel.stacks["heatmap"].currentWidget() is panel.messages["heatmap"]


def test_sweep_request_busy_state_result_and_error(qtbot, panel):
    add_calls(panel, recorded_call(0))
    panel.tabs.setCurrentIndex(2)
    panel.model.selection.select(call=0, node=0)
    settle(qtbot, panel)
    panel.element_spins[1].setValue(1)
    panel.auto_range.setChecked(False)
    panel.lo.setValue(-1)
    panel.hi.setValue(3)
    panel.points.setValue(5)
    qtbot.mouseClick(panel.sweep_button, Qt.MouseButton.LeftButton)
    assert panel.fake_runner.sweeps == [(0, 0, [0, 1], {"lo": -1.0, "hi": 3.0, "points": 5})]
    assert not panel.sweep_button.isEnabled() and panel.progress.isVisible() and panel.cancel_button.isVisible()
    assert "Sweeping w[0, 1]" in panel.sweep_status.text()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.fake_runner.interrupts == 1

    x = np.linspace(-1, 3, 5)
    panel.model.sweeps.set_sweep(SweepData(call=0, vertex=0, element=[0, 1], x=x, f=x ** 2, engine=2 * x,
                                           symbolic=2 * x, finite_difference=2 * x, at=-2.0))
    settle(qtbot, panel)
    assert panel.sweep_button.isEnabled() and not panel.progress.isVisible()
    np.testing.assert_allclose(panel.sweep_plot.engine.get_ydata(), 2 * x)
    np.testing.assert_allclose(panel.sweep_plot.symbolic.get_ydata(), 2 * x)
    assert panel.sweep_plot.engine.axes.get_xlabel() == "w[0, 1]"

    panel.request_sweep()
    panel.model.sweeps.set_sweep(SweepData(call=0, vertex=0, error="sweep cancelled (interrupted)"))
    settle(qtbot, panel)
    assert "sweep cancelled" in panel.sweep_status.text() and panel.sweep_status.isVisible()
    assert "sweep cancelled" in panel.sweep_plot.message.get_text()


def test_the_signed_toggle_shows_values_on_a_diverging_map(qtbot, panel):
    add_calls(panel, recorded_call(0))
    panel.tabs.setCurrentIndex(1)
    panel.model.selection.select(call=0, node=0)
    settle(qtbot, panel)
    assert panel.heatmap_plot.image.norm.vmin == 0                     # |grad| by default
    panel.signed_colors.setChecked(True)
    settle(qtbot, panel)
    plot = panel.heatmap_plot
    np.testing.assert_allclose(plot.image.get_array(), [[1, -2, 0.5], [0, 3, 1]])
    assert plot.image.get_cmap().name.startswith("RdBu_r")
    assert (plot.image.norm.vmin, plot.image.norm.vmax) == (-3, 3)
    assert "|" not in plot.image.axes.get_title(loc="left")
    panel.signed_colors.setChecked(False)
    settle(qtbot, panel)
    np.testing.assert_allclose(panel.heatmap_plot.image.get_array(), [[1, 2, 0.5], [0, 3, 1]])


def test_double_click_on_a_heatmap_cell_sweeps_it(qtbot, panel):
    add_calls(panel, recorded_call(0))
    panel.tabs.setCurrentIndex(1)
    panel.model.selection.select(call=0, node=0)
    settle(qtbot, panel)
    click(qtbot, panel.views["heatmap"], panel.heatmap_plot.image.axes, 0, 1, double=True)
    assert panel.fake_runner.sweeps[-1][:3] == (0, 0, [1, 0])
    assert panel.tabs.currentIndex() == 2


def test_export_png_and_svg_through_the_toolbar(qtbot, panel, tmp_path, monkeypatch):
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    asked = []
    for name in ("norms.png", "norms.svg"):
        target = str(tmp_path / name)
        monkeypatch.setattr(export, "ask_export_path", lambda parent, suggested, t=target: asked.append(suggested) or t)
        panel.views["norms"].toolbar.save_figure()
    assert asked == ["gradient-norms.png"] * 2
    assert (tmp_path / "norms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "norms.svg").read_text()
    assert "<svg" in svg and "MulBackward0" in svg.replace("\n", "")

    errors = []
    from gradstudio.ui import dialogs
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, text: errors.append(text))
    monkeypatch.setattr(export, "ask_export_path", lambda parent, suggested: str(tmp_path / "no" / "such.png"))
    assert panel.views["norms"].toolbar.save_figure() is None
    assert errors and "such.png" in errors[0]


def test_dark_palette_and_view_state(qtbot, panel):
    from gradstudio.ui import theme
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    panel.setPalette(theme.dark_palette())
    settle(qtbot, panel)
    figure = panel.views["norms"].figure
    assert sum(figure.get_facecolor()[:3]) < 1.0, "a dark figure on a dark palette"
    panel.tabs.setCurrentIndex(2)
    panel.auto_range.setChecked(False)
    panel.lo.setValue(-4)
    state = panel.view_state()
    other = PlotsPanel(PanelContext(AppModel(), FakeRunner(), None))
    qtbot.addWidget(other)
    other.restore_view_state(state)
    assert other.view_state() == state


# --------------------------------------------------------------------------- the real app
def test_the_tutorial_in_the_app(qtbot, window, helpers, tmp_path, monkeypatch):
    # an earlier test in this worker (a tutorial replay that plots) may have imported
    # pyplot; hidden here, any import of it by the app would put it back
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot", raising=False)
    assert window.open_path(str(helpers.tutorial), interactive=False)
    window.runner.run_all()
    helpers.wait_idle(qtbot, window, timeout=90000)
    panel = window.panel("plots")
    window.docks["plots"].raise_()
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    model = window.model
    mean = next(r for r in model.calls.call_list() if r.data.root.grad_fn == "MeanBackward0")
    x = mean.data.leaves[0].vertex

    # gradient norms of the mean cell: one bar per vertex that gets a gradient
    model.selection.select(call=mean.index, node=x)
    settle(qtbot, panel)
    plot = panel.norms_plot
    graded = [n for n in mean.nodes if n.kind != "const"]
    assert plot.node_ids == [n.id for n in graded]
    heights = [bar.get_height() for bar in plot.bars.patches]
    assert heights == pytest.approx([3.0, 1.5, 0.5, 1.0])                # x, x·x, y = x·x·3, z

    # selecting elsewhere (the Compare panel's row of another call) updates the heatmap
    panel.tabs.setCurrentIndex(1)
    summed = next(r for r in model.calls.call_list() if r.data.root.grad_fn == "SumBackward0" and r.status == "ok")
    compare = window.panel("compare")
    section = compare.sections[summed.index]
    compare.tree.setCurrentItem(section.child(0))
    assert model.selection.current.call == summed.index
    settle(qtbot, panel)
    np.testing.assert_allclose(panel.heatmap_plot.image.get_array(), np.ones((2, 2)))
    compare.tree.setCurrentItem(compare.sections[mean.index].child(0))
    settle(qtbot, panel)
    np.testing.assert_allclose(panel.heatmap_plot.image.get_array(), np.full((2, 2), 1.5))

    # a sweep of x[0, 0] on the mean cell: f = (3a² + 9)/4, ∂f/∂a = 3a/2 three ways
    click(qtbot, panel.views["heatmap"], panel.heatmap_plot.image.axes, 0, 0)
    assert panel.sweep_target() == (mean.index, x, (0, 0))
    panel.tabs.setCurrentIndex(2)
    panel.points.setValue(9)
    with qtbot.waitSignal(model.sweeps.sweepReady, timeout=60000):
        qtbot.mouseClick(panel.sweep_button, Qt.MouseButton.LeftButton)
    settle(qtbot, panel)
    sweep = panel.sweep_plot
    a = sweep.engine.get_xdata()
    np.testing.assert_allclose(a, np.linspace(0, 2, 9))
    np.testing.assert_allclose(sweep.engine.get_ydata(), 1.5 * a, rtol=1e-6)
    np.testing.assert_allclose(sweep.symbolic.get_ydata(), 1.5 * a, rtol=1e-9)
    np.testing.assert_allclose(sweep.finite_difference.get_ydata(), 1.5 * a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sweep.f.get_ydata(), (3 * a ** 2 + 9) / 4, rtol=1e-9)

    # export what is on screen
    for name in ("sweep.png", "sweep.svg"):
        monkeypatch.setattr(export, "ask_export_path", lambda parent, suggested, n=name: str(tmp_path / n))
        panel.views["sweep"].toolbar.save_figure()
    assert (tmp_path / "sweep.png").stat().st_size > 1000 and "<svg" in (tmp_path / "sweep.svg").read_text()
    assert "matplotlib.pyplot" not in sys.modules
    assert not window.reporter.errors


def test_matplotlib_only_when_there_is_something_to_plot_and_never_pyplot():
    """Building and showing the panel with nothing to plot does not import matplotlib
    (it would add a good part of a second to the window's start-up); a plot does,
    and pyplot never gets imported."""
    code = ("import os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "import sys, numpy as np, gradstudio.ui\n"
            "from PySide6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from gradstudio.ui.model import AppModel\n"
            "from gradstudio.ui.panels import PanelContext\n"
            "from gradstudio.ui.panels.plots import PlotsPanel\n"
            "m = AppModel(); p = PlotsPanel(PanelContext(m, None, None)); p.show()\n"
            "for _ in range(5): app.processEvents()\n"
            "before = 'matplotlib' in sys.modules\n"
            "from gradstudio.studio.kernel.schema import CallData, GraphData, NodeData, RootData, RunData\n"
            "leaf = NodeData(id=0, kind='leaf', label='w', name='w', grad=np.ones(2), is_root=True)\n"
            "m.finish_cell(RunData(cell=1, execution_count=1), [CallData(index=0, root=RootData('w'),\n"
            "              graph=GraphData(root=0, nodes=[leaf]))], [])\n"
            "import time; deadline = time.monotonic() + 30\n"
            "while p.is_busy() and time.monotonic() < deadline: app.processEvents(); time.sleep(0.01)\n"
            "drawn = p.norms_plot is not None and len(p.norms_plot.bars.patches) == 1\n"
            "print(before, drawn, 'matplotlib.pyplot' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=ROOT, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "False"], done.stdout + done.stderr


def test_a_failing_plot_reaches_the_excepthook_and_the_view_carries_on(qtbot, panel, monkeypatch):
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: seen.append(value))
    view = panel.views["norms"]

    def broken(figure):
        raise ValueError("a bug in a plot")

    view.submit(broken)
    qtbot.waitUntil(lambda: not view.is_busy(), timeout=5000)
    assert [str(e) for e in seen] == ["a bug in a plot"]
    panel.model.selection.select(call=0, node=2)
    settle(qtbot, panel)
    assert panel.norms_plot is not None and not seen[1:]


def test_a_gradient_too_large_to_send_is_shown_from_its_sample(qtbot, panel):
    from gradstudio.studio.kernel import records
    big = np.arange(600 * 700, dtype=np.float32).reshape(600, 700)
    call = recorded_call(0)
    nodes = list(call.graph.nodes)
    nodes[0] = nodes[0].replace(grad=None, grad_summary=records.summary(big),
                                grad_sample=records.heatmap_sample(big), shape=(600, 700))
    add_calls(panel, call.replace(graph=call.graph.replace(nodes=nodes)))
    panel.tabs.setCurrentIndex(1)
    panel.model.selection.select(call=0, node=0)
    settle(qtbot, panel)
    np.testing.assert_array_equal(panel.heatmap_plot.image.get_array(), big[::3, ::3])
    assert "every 3rd row and 3rd column of its 600×700 layout" in panel.heatmap_info.text()
    assert panel.heatmap_leaf is None


@pytest.mark.parametrize("name", ["dark", "light"])
def test_the_heatmap_check_boxes_are_outlined_against_the_window_in_both_themes(qtbot, name):
    """Fusion outlines a check indicator with Window.darker(140) on a Base fill: on the
    dark palette an unchecked box was a black square on a black window. The outline is
    now drawn between the window and its text (``theme.IndicatorStyle``)."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionButton
    from gradstudio.ui import theme
    app = QApplication.instance()
    palette = app.palette()
    try:
        theme.apply_theme(app, name)
        plots = PlotsPanel(PanelContext(AppModel(), None, None))
        qtbot.addWidget(plots)
        plots.resize(700, 400)
        plots.show()
        plots.tabs.setCurrentWidget(plots.log_colors.parentWidget())
        qtbot.waitUntil(plots.signed_colors.isVisible, timeout=5000)
        for box in (plots.signed_colors, plots.log_colors):
            option = QStyleOptionButton()
            box.initStyleOption(option)
            indicator = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
            image = box.grab().toImage()
            ratio = image.devicePixelRatio()
            edge = QColor(image.pixel(int(indicator.left() * ratio), int(indicator.center().y() * ratio)))
            window = box.palette().color(QPalette.ColorRole.Window)
            assert abs(edge.lightness() - window.lightness()) >= 40, (name, edge.name(), window.name())
    finally:
        app.setPalette(palette)      # (the next tests' palette as it was)
