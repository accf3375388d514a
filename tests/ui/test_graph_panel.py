"""The Graph panel: the tutorial's graphs through the real app (kernel and all),
selection shared with the Inspector, collapsed chains, undoable edits, colours
that read in light and dark, and a big graph built from recorded data."""
from __future__ import annotations

import math
import random
import re

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from gradstudio.studio.kernel import records as kernel_data
from gradstudio.studio.kernel.schema import RunData
from gradstudio.studio.session import Session
from gradstudio.ui import theme
from gradstudio.ui.graph.items import CONST_PAD_X, PAD_X, STACK
from gradstudio.ui.model import AppModel
from gradstudio.ui.panels import PanelContext
from gradstudio.ui.panels.graph import GraphPanel


# --------------------------------------------------------------------------- helpers
def titles(panel) -> dict:
    """visible id -> the item's first line."""
    return {vid: item.lines[0][0] for vid, item in panel.scene.node_items.items()}


def viewport_point(panel, item) -> QPoint:
    return panel.view.mapFromScene(item.pos())


def send_mouse(widget, kind, point: QPoint, buttons):
    event = QMouseEvent(kind, QPointF(point), QPointF(widget.mapToGlobal(point)), Qt.MouseButton.LeftButton,
                        buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def click(panel, item):
    viewport = panel.view.viewport()
    point = viewport_point(panel, item)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, point, Qt.MouseButton.LeftButton)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, point, Qt.MouseButton.NoButton)


def double_click(panel, item):
    viewport = panel.view.viewport()
    point = viewport_point(panel, item)
    click(panel, item)
    send_mouse(viewport, QEvent.Type.MouseButtonDblClick, point, Qt.MouseButton.LeftButton)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, point, Qt.MouseButton.NoButton)


def drag(panel, item, dx: int, dy: int):
    viewport = panel.view.viewport()
    start = viewport_point(panel, item)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for k in range(1, 6):
        send_mouse(viewport, QEvent.Type.MouseMove, start + QPoint(dx * k // 5, dy * k // 5),
                   Qt.MouseButton.LeftButton)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, start + QPoint(dx, dy), Qt.MouseButton.NoButton)


def contrast(a, b) -> float:
    def lum(c):
        def ch(v):
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def recorded(script: str) -> list:
    """Backward calls of ``script`` as the kernel would send them."""
    session = Session()
    session.run_script(script, stop_on_error=False)
    return [kernel_data.call_data(call) for call in session.backward_calls]


def standalone_panel(qtbot, calls: list, *, shown: bool = True):
    model = AppModel()
    panel = GraphPanel(PanelContext(model, None, None))
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    model.finish_cell(RunData(cell=1, execution_count=1), calls, [])
    qtbot.waitUntil(lambda: not panel.is_busy() and (panel.document is not None or not shown), timeout=20000)
    return model, panel


def doubling(steps: int) -> str:
    return ("import torch\n"
            "x = torch.randn(3, dtype=torch.float64, requires_grad=True)\n"
            "y = x * 2\n"
            f"for _ in range({steps - 1}):\n"
            "    y = y * 2\n"
            "y.sum().backward()\n")


# --------------------------------------------------------------------------- the app, end to end
def test_tutorial_graph_selection_groups_and_undo(qtbot, window, helpers):
    window.open_path(str(helpers.tutorial), interactive=False)
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    panel = window.panel("graph")
    inspector = window.panel("inspector")
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=5000)
    model = window.model
    calls = model.calls.call_list()
    assert panel.calls.count() == len(calls) == 6
    assert panel.document.call == calls[-1].index, "the newest call is shown"

    # the doubling loop: x, one collapsed group, the named y (root)
    shown = titles(panel)
    group_titles = [t for t in shown.values() if re.fullmatch(r"MulBackward0 × \d+", t)]
    assert len(group_titles) == 1
    assert "x" in shown.values() and "MulBackward0" in shown.values()
    root = panel.scene.node_items[panel.document.root]
    assert root.is_root and root.lines[0][0] == "MulBackward0" and "→ y" in root.lines[1][0]
    assert sum(item.is_root for item in panel.scene.node_items.values()) == 1
    assert panel.legend.texts()[0] is not None

    # the mean cell: x → × → × 3 → mean, colours follow |grad| (3, 1.5, 0.5, 1)
    mean_call = next(r.index for r in calls if r.data.root.grad_fn == "MeanBackward0")
    panel.calls.setCurrentIndex(panel.calls.findData(mean_call))
    assert panel.document.call == mean_call and not panel.follow_latest
    items = panel.scene.node_items
    nodes = panel.document.nodes
    by_title = {}
    for vid, item in items.items():
        by_title.setdefault(item.lines[0][0], []).append(item)
    assert set(by_title) == {"x", "MulBackward0", "3", "MeanBackward0"}
    assert by_title["3"][0].kind == "const"
    fills = {nodes[v].grad_norm: items[v].fill.name() for v in items if nodes[v].kind != "const"}
    assert sorted(fills) == [0.5, 1.0, 1.5, 3.0]
    assert len(set(fills.values())) == 4, "different gradient magnitudes, different colours"
    assert fills[3.0] != fills[0.5]

    # the failed backward(): shown, grey, with the error above
    failed = calls[0]
    panel.calls.setCurrentIndex(panel.calls.findData(failed.index))
    assert not panel.notice.isHidden() and "raised" in panel.notice.text()
    assert all(item.fill is None for item in panel.scene.node_items.values())

    # click a node: the model and the Inspector follow
    panel.calls.setCurrentIndex(panel.calls.findData(mean_call))
    x_item = next(i for i in panel.scene.node_items.values() if i.lines[0][0] == "x")
    click(panel, x_item)
    assert model.selection.current.call == mean_call and model.selection.current.node == x_item.vid
    assert model.selection.current.tensor == "x"
    assert inspector.fields["name"].text() == "x" and x_item.highlighted
    mul = next(i for i in panel.scene.node_items.values() if i.lines[0][0] == "MulBackward0" and not
               nodes[i.vid].name)
    click(panel, mul)
    assert model.selection.current == type(model.selection.current)(mean_call, mul.vid, None)
    assert "unnamed" in inspector.fields["name"].text() and mul.highlighted and not x_item.highlighted

    # pick a tensor in the Inspector: its node is highlighted (and the graph switches call)
    inspector.picker.setCurrentIndex(inspector.picker.findText("z"))
    call, node = model.calls.latest_call_with("z")
    assert panel.document.call == call
    highlighted = panel.scene.node_items[panel.scene.highlighted]
    assert highlighted.highlighted and panel.document.visible_id(node) == highlighted.vid
    visible = panel.view.mapToScene(panel.view.viewport().rect()).boundingRect()
    assert visible.contains(highlighted.sceneBoundingRect())

    # the loop call: expand the group by double-click, undo, redo
    panel.calls.setCurrentIndex(panel.calls.count() - 1)
    assert panel.follow_latest
    doc = panel.document
    group = next(i for i in panel.scene.node_items.values() if i.kind == "group")
    before = len(panel.scene.node_items)
    double_click(panel, group)
    assert doc.expanded == {group.vid}
    assert len(panel.scene.node_items) == len(doc.vertices) > before
    assert group.vid in panel.scene.frames
    panel.actions["undo"].trigger()
    assert doc.expanded == set() and len(panel.scene.node_items) == before
    panel.actions["redo"].trigger()
    assert len(panel.scene.node_items) == len(doc.vertices)
    panel.actions["collapse_all"].trigger()
    assert len(panel.scene.node_items) == before

    # drag a node; undo puts it back, redo moves it again (Ctrl+Z in the panel)
    item = next(i for i in panel.scene.node_items.values() if i.lines[0][0] == "x")
    home = QPointF(item.pos())
    drag(panel, item, 40, 60)
    moved = panel.scene.node_items[item.vid].pos()
    assert (moved - home).manhattanLength() > 20 and doc.is_moved(item.vid)
    assert panel.undo_stack.undoText() == "Move node"
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.scene.node_items[item.vid].pos() == home and not doc.is_moved(item.vid)
    panel.actions["redo"].trigger()
    assert panel.scene.node_items[item.vid].pos() == moved
    panel.actions["reset_layout"].trigger()
    assert panel.scene.node_items[item.vid].pos() == home

    # zoom: + and −, Ctrl+wheel-free: the buttons; fit again
    zoom = panel.view.zoom()
    panel.actions["zoom_in"].trigger()
    assert panel.view.zoom() > zoom
    panel.actions["zoom_out"].trigger()
    panel.actions["zoom_out"].trigger()
    assert panel.view.zoom() < zoom
    panel.actions["fit"].trigger()
    assert panel.view.auto_fit
    assert set(panel.view_state()) == {"zoom", "follow_latest", "call"}


# --------------------------------------------------------------------------- recorded data, no kernel
def test_a_1000_step_loop_collapses_and_expands(qtbot):
    model, panel = standalone_panel(qtbot, recorded(doubling(1000)))
    doc = panel.document
    assert len(doc.vertices) == 2002                    # x, 1,000 × (const, Mul), sum
    assert [g.label for g in doc.groups] == ["MulBackward0 × 999"]
    assert len(panel.scene.node_items) == 5 and len(panel.scene.edge_items) == 4
    assert "1 of 1 chain collapsed" in panel.info.text()
    panel.actions["expand_all"].trigger()
    assert len(panel.scene.node_items) == 2002
    assert len(panel.scene.edge_items) == 2001
    far = doc.groups[0].steps[3]                     # far left of a very wide graph: scrolled to
    model.selection.select(call=doc.call, node=far)
    visible = panel.view.mapToScene(panel.view.viewport().rect()).boundingRect()
    assert panel.scene.highlighted == far and visible.contains(panel.scene.node_items[far].sceneBoundingRect())
    panel.actions["undo"].trigger()
    assert len(panel.scene.node_items) == 5
    # selecting a vertex hidden in the group highlights the group
    hidden = doc.groups[0].steps[500]
    model.selection.select(call=doc.call, node=hidden)
    assert panel.scene.highlighted == doc.groups[0].id


def test_a_1000_node_graph_without_repetition_builds(qtbot):
    # a long irregular computation: random ops, a running total fed from every few steps
    rng = random.Random(3)
    lines = ["import torch", "torch.manual_seed(0)", "h = torch.randn(4, requires_grad=True)", "total = h.sum()"]
    ops = ["torch.tanh(h)", "h * 0.5", "torch.sin(h)", "h + 1.0", "torch.exp(h * 0.01)", "h * h", "h - 0.1"]
    for k in range(420):
        lines.append(f"h = {rng.choice(ops)}")
        if rng.random() < 0.4:
            lines.append("total = total + h.sum()")
    lines.append("total.backward()")
    calls = recorded("\n".join(lines))
    model, panel = standalone_panel(qtbot, calls)
    doc = panel.document
    assert len(doc.vertices) >= 1000
    shown = len(doc.shown)
    assert len(panel.scene.node_items) == shown
    assert len(panel.scene.edge_items) == sum(len(v.inputs) for v in doc.shown)
    panel.actions["expand_all"].trigger()
    assert len(panel.scene.node_items) == len(doc.vertices)
    rects = [item.sceneBoundingRect() for item in panel.scene.node_items.values()]
    assert all(r.width() > 0 for r in rects)


def test_each_calls_graph_keeps_its_own_undo_history(qtbot):
    script = ("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 3).sum().backward()\n"
              "w = torch.ones(3, requires_grad=True)\n(w * w).mean().backward()\n")
    model, panel = standalone_panel(qtbot, recorded(script))
    panel.show_call(0)
    a = panel.document
    item = next(i for i in panel.scene.node_items.values() if i.lines[0][0] == "x")
    home = QPointF(item.pos())
    drag(panel, item, 40, 60)
    moved = QPointF(panel.scene.node_items[item.vid].pos())
    assert a.is_moved(item.vid) and (moved - home).manhattanLength() > 20

    panel.calls.setCurrentIndex(panel.calls.findData(1))      # call B: nothing to undo there
    b = panel.document
    assert b is not a and b.call == 1
    b_positions = {vid: QPointF(i.pos()) for vid, i in panel.scene.node_items.items()}
    assert not panel.actions["undo"].isEnabled()
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {vid: i.pos() for vid, i in panel.scene.node_items.items()} == b_positions
    assert not b.overrides
    assert a.is_moved(item.vid) and a.undo_stack.count() == 1 and a.undo_stack.canUndo()

    panel.calls.setCurrentIndex(panel.calls.findData(0))      # back to A: its move is still undoable
    assert panel.document is a and panel.scene.node_items[item.vid].pos() == moved
    assert panel.actions["undo"].isEnabled() and panel.undo_stack is a.undo_stack
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not a.is_moved(item.vid) and panel.scene.node_items[item.vid].pos() == home
    assert panel.actions["redo"].isEnabled()


def test_a_rerun_call_keeps_the_items_and_shows_its_own_values(qtbot):
    """A re-run cell's new call has the graph of the one shown: the same layout and the
    same items (before: laid out and built afresh, and the whole view repainted), with
    the new call's colours, texts and tooltips — what a panel showing it alone has; when
    nothing it shows changed, neither the graph nor the legend is repainted."""
    cell = "x = torch.full((2,), {v}, requires_grad=True)\ny = x * x\ny.sum().backward()\n"
    script = ("import torch\n" + cell.format(v=1.0) + cell.format(v=5.0) + cell.format(v=5.0)
              + cell.format(v=5.0).replace("* x", "* x * 2"))
    calls = recorded(script)
    model, panel = standalone_panel(qtbot, calls)
    panel.show_call(0)
    kept = dict(panel.scene.node_items)
    leaf = next(vid for vid, item in kept.items() if item.kind == "leaf")
    model.selection.select(call=0, node=leaf)
    model.selection.select(call=1, node=leaf)             # what a re-run's auto-selection does
    assert panel.document.call == 1 and panel.documents[1].layout is panel.documents[0].layout
    assert panel.scene.node_items == kept and all(panel.scene.node_items[v] is kept[v] for v in kept)
    assert kept[leaf].highlighted
    assert "‖grad‖ = 14.1" in kept[leaf]._tooltip(), "the tooltip of the new call's x (grad 2·5 twice)"
    _, alone = standalone_panel(qtbot, [calls[1]])
    alone.show_call(1)
    assert titles(panel) == titles(alone)
    assert {v: (i.lines, i.fill, i.strip) for v, i in panel.scene.node_items.items()} == \
        {v: (i.lines, i.fill, i.strip) for v, i in alone.scene.node_items.items()}

    qtbot.wait(50)
    changed, painted = [], []
    panel.scene.changed.connect(changed.append)

    class Paints(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                painted.append(watched)
            return False
    paints = Paints()
    panel.legend.installEventFilter(paints)
    model.selection.select(call=2, node=leaf)             # the same values again: nothing to redraw
    qtbot.wait(50)
    assert panel.document.call == 2 and panel.scene.node_items[leaf] is kept[leaf]
    assert changed == [] and painted == [], "an unchanged graph is not repainted"

    panel.show_call(3)                                       # another graph: built afresh
    assert panel.documents[3].layout is not panel.documents[2].layout
    assert not any(item is kept.get(vid) for vid, item in panel.scene.node_items.items())
    assert len(panel.scene.node_items) == len(panel.documents[3].shown)


# --------------------------------------------------------------------------- looks
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_text_fits_and_reads_in_light_and_dark(qtbot, qapp, dark):
    script = ("import torch\nx = torch.ones(2, 2, requires_grad=True)\nw = torch.tensor(3.0)\n"
              "y = x * x * 3\nz = (y.mean() + w).sum()\nz.backward()\n" + doubling(8))
    calls = recorded(script)
    model = AppModel()
    panel = GraphPanel(PanelContext(model, None, None))
    qtbot.addWidget(panel)
    if dark:
        panel.setPalette(theme.dark_palette())
    panel.show()
    model.finish_cell(RunData(cell=1, execution_count=1), calls, [])
    for record in calls:
        panel.show_call(record.index)
        style = panel.scene.style
        assert style.dark == dark
        for item in panel.scene.node_items.values():
            fill, text = item.fill_color(style), item.text_color(style)
            assert contrast(fill, text) >= 4.0, (item.lines, fill.name(), text.name())
            pad = CONST_PAD_X if item.kind == "const" else PAD_X
            width = item.width - 2 * pad - (2 * STACK if item.kind == "group" else 0)
            for line, role in item.lines:
                font = {"title": style.bold, "detail": style.small, "const": style.small}[role]
                assert style.text_width(line, font) <= width + 0.5, f"{line!r} is cut off"
        assert contrast(style.edge, style.background) >= 2.0
        assert contrast(style.text, style.background) >= 7.0


def test_tooltips_say_name_shape_dtype_value_and_grad(qtbot):
    big = "import torch\nb = torch.ones(40, 40, requires_grad=True)\n(b * 2).sum().backward()\n"
    model, panel = standalone_panel(qtbot, recorded(big))
    from gradstudio.ui.graph.text import node_tooltip
    leaf = panel.document.nodes[0]
    tip = node_tooltip(leaf)
    assert "<b>b</b>" in tip and "shape (40, 40)" in tip and "float32" in tip
    assert "1600 elements" in tip and "norm" in tip, "a big tensor is summarised"
    assert tip.count("\n") < 40
    assert math.isclose(leaf.grad_norm, 80.0) and "‖grad‖ = 80" in tip
    op, root = node_tooltip(panel.document.nodes[2]), node_tooltip(panel.document.nodes[3])
    assert "MulBackward0" in op and "grad</b>" in op
    assert "SumBackward0" in root and "(root of this backward call)" in root


def test_zoom_view_state_and_calls_without_a_graph(qtbot):
    calls = recorded("import torch\nx = torch.ones(3, requires_grad=True)\n(x * 2).sum().backward()\n")
    no_graph = calls[0].replace(index=1, graph=None, graph_error="the graph was too large to record")
    model, panel = standalone_panel(qtbot, calls + [no_graph], shown=False)
    assert panel.stack.currentWidget() is panel.placeholder and "too large" in panel.placeholder.text()
    panel.calls.setCurrentIndex(0)
    assert panel.stack.currentWidget() is panel.view and len(panel.scene.node_items) == 4
    view = panel.view
    zoom = view.zoom()
    centre = QPoint(view.viewport().width() // 2, view.viewport().height() // 2)
    wheel = QWheelEvent(QPointF(centre), QPointF(view.viewport().mapToGlobal(centre)), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() > zoom * 1.2 and not view.auto_fit
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    state = panel.view_state()
    assert state["call"] == 0 and not state["follow_latest"]
    other = GraphPanel(PanelContext(model, None, None))
    qtbot.addWidget(other)
    other.restore_view_state(state)
    assert other.document.call == 0 and math.isclose(other.view.zoom(), state["zoom"], rel_tol=1e-3)
    model.reset_kernel_state()                       # a restart: everything goes
    assert panel.document is None and panel.calls.count() == 0 and panel.undo_stack is None
    assert panel.stack.currentWidget() is panel.placeholder


SECOND_BACKWARD = ("import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                   "y = (x * x).sum()\ny.backward()\ny.backward()\n")


def test_a_failed_backwards_banner_colours_and_legend_agree_and_restart_clears_it(qtbot):
    calls = recorded(SECOND_BACKWARD)
    assert [c.status for c in calls] == ["ok", "error"]
    model, panel = standalone_panel(qtbot, calls)
    assert panel.document.call == 1
    text = panel.notice.text()
    assert panel.notice.isVisibleTo(panel) and "Trying to backward through the graph a second time" in text
    assert ".." not in text
    coloured = [i for i, item in panel.scene.node_items.items() if item.fill is not None and item.kind != "const"]
    reached = [n for n in panel.document.nodes.values() if n.grad_norm is not None]
    assert len(coloured) == len(reached) == 2                  # SumBackward0 and MulBackward0
    assert "reached 2 of 3 nodes before it stopped" in text and "the leaf got none" in text
    assert "no gradient" not in text
    assert panel.legend.scale.bounds() == pytest.approx((1.0, math.sqrt(3)))   # the legend: 1–1.732
    model.reset_kernel_state()                                 # Restart Kernel
    assert not panel.notice.isVisibleTo(panel) and panel.notice.text() == ""


def test_fit_shows_every_node_of_an_expanded_chain(qtbot):
    model, panel = standalone_panel(qtbot, recorded(doubling(300)))
    panel.actions["expand_all"].trigger()
    panel.actions["fit"].trigger()
    visible = panel.view.mapToScene(panel.view.viewport().rect()).boundingRect()
    outside = [vid for vid, item in panel.scene.node_items.items()
               if not visible.contains(item.sceneBoundingRect())]
    assert len(panel.scene.node_items) == 602 and outside == []


def test_another_file_does_not_inherit_the_previous_files_zoom(qtbot):
    calls = recorded("import torch\nx = torch.ones(3, requires_grad=True)\n(x * 2).sum().backward()\n")
    model, panel = standalone_panel(qtbot, calls)
    panel.restore_view_state({"zoom": 0.25, "follow_latest": True, "call": None})
    assert math.isclose(panel.view.zoom(), 0.25, rel_tol=1e-3)
    panel.restore_view_state({"zoom": 3.5, "follow_latest": False, "call": 7})   # a project not run yet
    model.script.set_script("print('another file')\n", "/tmp/other.py")                 # open another file
    model.reset_kernel_state()
    assert panel.view.zoom() == 1.0
    model.finish_cell(RunData(cell=1, execution_count=1), [calls[0].replace(index=0)], [])
    qtbot.waitUntil(lambda: panel.document is not None, timeout=5000)
    assert panel.document.call == 0 and not math.isclose(panel.view.zoom(), 3.5, rel_tol=1e-3)
