"""The node editor driven as a person would: ops dropped from the palette, wires
dragged port to port (a refused one named and not made), values typed,
requires_grad toggled, the closed form ✓ in Compare, undo and redo, the script
exported and run under PyTorch."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from gradstudio.studio.design import from_json
from gradstudio.ui.editor.palette import MIME

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


# --------------------------------------------------------------------------- a person's hands
def drop_from_palette(panel, key: str, scene_point) -> str:
    """Drag a palette entry onto the canvas at ``scene_point``; returns the new node's id.
    (The drag's start is the palette's own mime data; the drop is the event a real
    drag delivers — QDrag.exec cannot be driven offscreen.)"""
    tree = panel.op_palette.tree
    item = tree.item_for(key)
    assert item is not None, f"{key} is not in the palette"
    mime = tree.mime_for(item.data(0, Qt.ItemDataRole.UserRole))
    view = panel.current().view
    before = set(view.design.nodes)
    target = QPointF(view.mapFromScene(QPointF(*scene_point)))
    for kind in (QDropEvent.Type.DragEnter, QDropEvent.Type.DragMove):
        from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
        cls = QDragEnterEvent if kind == QDropEvent.Type.DragEnter else QDragMoveEvent
        event = cls(target.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,  # noqa
                    Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), event)
        assert event.isAccepted()
    drop = QDropEvent(target, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), drop)
    (new,) = set(view.design.nodes) - before
    return new


def port_point(view, node_id: str, port) -> QPoint:
    item = view.scene().nodes[node_id]
    local = item.output_point() if port == "out" else item.input_point(port)
    return view.mapFromScene(item.mapToScene(local))


def drag_wire(qtbot, view, src: str, dst: str, slot: int):
    """Press on ``src``'s output port, move over ``dst``'s input ``slot``, release."""
    start, end = port_point(view, src, "out"), port_point(view, dst, slot)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    middle = (start + end) / 2
    qtbot.mouseMove(view.viewport(), middle)
    qtbot.mouseMove(view.viewport(), end)
    tip = view._wire[4].text() if view._wire else ""
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    return tip


def type_value(qtbot, view, node_id: str, text: str):
    item = view.scene().nodes[node_id]
    centre = view.mapFromScene(item.mapToScene(QPointF(0, 4)))
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    editor = view.editor
    assert editor is not None and editor.isVisible()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def click_requires_grad(qtbot, view, node_id: str):
    item = view.scene().nodes[node_id]
    box = item.grad_box().center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(item.mapToScene(box)))


def editor_panel(qtbot, window):
    dock = window.panel("editor")
    window.docks["editor"].raise_()
    qtbot.waitUntil(lambda: dock.isVisible() and dock.built, timeout=5000)   # built when first shown
    panel = dock.editor
    # a widget added to a shown layout is shown one event-loop turn later: wait for the canvas
    qtbot.waitUntil(lambda: panel.current().view.viewport().isVisible(), timeout=5000)
    panel.current().view.resetTransform()
    return panel


# --------------------------------------------------------------------------- the seed, built by hand
def test_build_the_seed_design_by_hand_and_see_the_tutorials_formula_in_compare(qtbot, window):
    panel = editor_panel(qtbot, window)
    view = panel.current().view
    design = view.design
    x = drop_from_palette(panel, "leaf", (0, 0))
    mul = drop_from_palette(panel, "op:elementwise.MUL", (220, 0))
    three = drop_from_palette(panel, "const", (220, 140))
    y = drop_from_palette(panel, "op:elementwise.MUL", (440, 40))
    z = drop_from_palette(panel, "op:reduction.MEAN", (660, 40))
    out = drop_from_palette(panel, "output", (880, 40))
    assert [design.nodes[n].kind for n in (x, mul, three, y, z, out)] == ["leaf", "op", "const", "op", "op", "output"]
    assert design.nodes[x].name == "x" and design.nodes[x].requires_grad and design.root == out

    drag_wire(qtbot, view, x, mul, 0)
    drag_wire(qtbot, view, x, mul, 1)
    drag_wire(qtbot, view, mul, y, 0)
    # a constant of the wrong shape: refused while hovering, with both shapes named, and not connected
    type_value(qtbot, view, three, "ones(3)")
    tip = drag_wire(qtbot, view, three, y, 1)
    assert "(2, 2)" in tip and "(3,)" in tip
    assert "Not connected" in panel.status.text() and "(3,)" in panel.status.text()
    assert not any(l.dst == y and l.slot == 1 for l in design.links)
    # a value the parser refuses stays on the node; then the right one
    type_value(qtbot, view, three, "nonsense(")
    assert "nonsense" in view.scene().notes[three] and view.scene().nodes[three].note_lines
    assert design.nodes[three].value == "ones(3)"
    type_value(qtbot, view, three, "3")
    assert design.nodes[three].value == "3" and three not in view.scene().notes
    assert drag_wire(qtbot, view, three, y, 1) == ""
    drag_wire(qtbot, view, y, z, 0)
    drag_wire(qtbot, view, z, out, 0)
    assert len(design.links) == 6 and not design.errors and design.shapes[z] == ()
    # the wire from x carries gradient and its shape
    wire = next(w for l, w in view.scene().wires.items() if l.src == x)
    assert wire.flows and wire.label == "(2, 2)"

    # requires_grad off and on again, by clicking the ∇ box
    click_requires_grad(qtbot, view, x)
    assert not design.nodes[x].requires_grad and not wire.flows
    click_requires_grad(qtbot, view, x)
    assert design.nodes[x].requires_grad and wire.flows

    # live: the design runs in the kernel and Compare shows the tutorial's closed form
    from gradstudio.ui.panels.compare import CHAIN, MARK, ROLE_KIND
    compare = window.panel("compare")
    tab = panel.current()
    def checked():       # the whole check (the provisional one, engine and finite differences, comes first)
        check = window.model.calls.call(tab.live.call_index).check
        return check is not None and not check.provisional
    qtbot.waitUntil(lambda: tab.live.call_index is not None and checked(), timeout=90000)
    record = window.model.calls.call(tab.live.call_index)
    window.docks["compare"].raise_()
    section = compare.sections[record.index]
    row = next(section.child(i) for i in range(section.childCount())
               if section.child(i).data(0, ROLE_KIND) == "leaf" and section.child(i).text(0) == "x")
    assert row.text(CHAIN) == "3*2*x/4" and row.text(MARK) == "✓"
    assert window.model.selection.current.call == record.index
    # the nodes carry the run: gradient colours and hover text
    item = view.scene().nodes[x]
    assert item.fill is not None and "grad:" in item.toolTip() and "1.5" in item.toolTip()
    # ... written when a hover asks (a run's results are arrays until then), and shown by the scene
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtWidgets import QGraphicsSceneHelpEvent, QToolTip
    from gradstudio.ui.editor import results as editor_results
    written = []
    real_short = editor_results.short
    editor_results.short = lambda value: written.append(value) or real_short(value)
    try:
        view.scene().show_results(dict(view.scene().results))
        assert written == []
        help_event = QGraphicsSceneHelpEvent(QGraphicsSceneHelpEvent.Type.GraphicsSceneHelp)
        help_event.setScenePos(item.mapToScene(QPointF(0, 0)))
        help_event.setScreenPos(view.viewport().mapToGlobal(view.mapFromScene(item.mapToScene(QPointF(0, 0)))))
        view.scene().helpEvent(help_event)
        assert "1.5" in QToolTip.text() and written
    finally:
        editor_results.short = real_short
        QToolTip.hideText()

    # undo and redo by keyboard, on this design's own stack
    saved = panel.current().document.save()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)     # the last ∇ click
    assert not design.nodes[x].requires_grad
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)     # the first
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)     # the wire into the output
    assert design.nodes[x].requires_grad and len(design.links) == 5
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert panel.current().document.save() == saved

    # export as a PyTorch script: a new script document (its fresh kernel replaces this one,
    # so first let the runs the undo and redo started finish)
    qtbot.waitUntil(lambda: not tab.live.busy() and window.runner.is_idle(), timeout=90000)
    text = panel.export_script()
    assert window.model.script.script_text() == text and "t3.backward()" in text
    assert window.model.script.display_name().startswith("design")
    qtbot.waitUntil(lambda: window.model.kernel.kernel_state == "idle", timeout=30000)   # a new document: a fresh kernel


def test_a_wire_dropped_on_empty_canvas_offers_the_ops_that_accept_it(qtbot, window):
    panel = editor_panel(qtbot, window)
    view = panel.current().view
    x = drop_from_palette(panel, "leaf", (0, 0))
    type_value(qtbot, view, x, "ones(3)")
    start = port_point(view, x, "out")
    end = start + QPoint(250, 80)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    popup = view.popup
    assert popup is not None and popup.isVisible() and "(3,)" in popup.line.placeholderText()
    shown = [popup.list.item(i).text() for i in range(popup.list.count())]
    assert any(t.startswith("exp") for t in shown) and any(t.startswith("Σ") for t in shown)
    assert not any(t.startswith("det") for t in shown), "det needs a square matrix, not a (3,) vector"
    qtbot.keyClicks(popup.line, "tanh")
    qtbot.keyClick(popup.line, Qt.Key.Key_Return)
    (tanh,) = [n for n, node in view.design.nodes.items() if node.kind == "op"]
    assert view.design.nodes[tanh].op == "elementwise.TANH"
    assert [(l.src, l.dst) for l in view.design.links] == [(x, tanh)]
    assert panel.current().document.undo_stack.count() == 3     # leaf, value, the op with its wire as one step


def test_drop_on_a_wire_inserts_and_tab_searches(qtbot, window):
    panel = editor_panel(qtbot, window)
    view = panel.current().view
    x = drop_from_palette(panel, "leaf", (0, 0))
    out = drop_from_palette(panel, "output", (500, 0))
    drag_wire(qtbot, view, x, out, 0)
    (link,) = view.design.links
    wire = view.scene().wires[link]
    middle = wire.path().pointAtPercent(0.5)
    exp = drop_from_palette(panel, "op:elementwise.EXP", (middle.x(), middle.y()))
    assert {(l.src, l.dst) for l in view.design.links} == {(x, exp), (exp, out)}
    # Tab opens the search; Enter places the first match under the cursor
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    popup = view.popup
    assert popup.isVisible()
    qtbot.keyClicks(popup.line, "sigmoid")
    qtbot.keyClick(popup.line, Qt.Key.Key_Return)
    assert any(n.op == "elementwise.SIGMOID" for n in view.design.nodes.values())


def test_box_select_duplicate_group_layout_and_designs_saved_with_the_project(qtbot, window, tmp_path):
    panel = editor_panel(qtbot, window)
    tab = panel.open_example(next(p for t, p in __import__("gradstudio.ui.editor.panel", fromlist=["x"])
                                  .example_designs() if "sigmoid" in t))
    view = tab.view
    view.resetTransform()
    view.centerOn(0, 0)
    before = len(view.design.nodes)
    # box select from empty canvas around the two leftmost inputs (w and x)
    w_item = view.scene().nodes["n1"]
    x_item = view.scene().nodes["n2"]
    rect = w_item.sceneBoundingRect().united(x_item.sceneBoundingRect()).adjusted(-30, -30, 30, 30)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(rect.topLeft()))
    qtbot.mouseMove(view.viewport(), view.mapFromScene(rect.center()))
    qtbot.mouseMove(view.viewport(), view.mapFromScene(rect.bottomRight()))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(rect.bottomRight()))
    assert sorted(view.scene().selected_ids()) == ["n1", "n2"]
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(view.design.nodes) == before + 2
    copies = view.scene().selected_ids()
    assert {view.design.nodes[n].name for n in copies} == {"w_2", "x_2"}
    qtbot.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert [set(members) for members in view.design.groups.values()] == [set(copies)]
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert len(view.design.nodes) == before and not view.design.groups
    qtbot.keyClick(view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    positions = [n.position for n in view.design.nodes.values()]
    assert len(set(positions)) == len(positions)
    # the designs go into the project file and come back
    path = tmp_path / "with_design.gradstudio"
    assert window.documents.save_as(str(path))
    saved = json.loads(path.read_text())
    entries = saved["designs"]["documents"]
    assert any(from_json(e["design"]).to_json() == view.design.to_json() for e in entries)
    # a design from a newer GradStudio is named and nothing changes
    count = panel.tabs.count()
    entries[0]["design"]["version"] = 99
    path.write_text(json.dumps(saved))
    assert not window.documents.open(str(path), interactive=False)
    assert panel.tabs.count() == count and "newer GradStudio" in window.documents.last_error
    # closing the window: an edit's pending run must not start another kernel
    panel.current().live.schedule()
    window.shutdown()
    qtbot.wait(2 * panel.current().live.timer.interval())
    assert window.runner.client.state == "stopped"


def test_open_a_scripts_backward_call_as_nodes(qtbot, window, helpers):
    helpers.set_script(window, helpers.tutorial.read_text())
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    mean = next(r for r in window.model.calls.call_list() if (r.data.root.grad_fn or "").startswith("Mean"))
    window.model.selection.select(call=mean.index)
    panel = editor_panel(qtbot, window)
    tab = panel.open_selected_call()
    design = tab.document.design
    kinds = sorted(n.kind for n in design.nodes.values())
    assert kinds.count("leaf") == 1 and kinds.count("output") == 1 and not design.errors
    call = design.backward_call()
    assert call.status == "ok" and call.leaves[0].name == "x" and float(call.leaves[0].grad.ravel()[0]) == 1.5


@pytest.mark.oracle
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch (the oracle) is not installed")
def test_the_exported_script_runs_the_same_under_pytorch(qtbot, tmp_path):
    from gradstudio.ui.editor.panel import EditorPanel, example_designs
    from gradstudio.ui.panels import PanelContext
    panel = EditorPanel(PanelContext(None, None, None, None))
    qtbot.addWidget(panel)
    for title, path in example_designs():
        panel.open_example(path)
        script = tmp_path / "design.py"
        script.write_text(panel.export_script())
        under_torch = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        under_gradstudio = subprocess.run(
            [sys.executable, "-c", "import sys, gradstudio; sys.modules['torch'] = gradstudio; "
                                   f"exec(compile(open({str(script)!r}).read(), 'design.py', 'exec'))"],
            capture_output=True, text=True)
        assert under_torch.returncode == 0, under_torch.stderr
        assert under_gradstudio.stdout == under_torch.stdout and "grad_fn=<" in under_torch.stdout, title


def test_png_and_svg_of_the_canvas(qtbot, tmp_path):
    from PySide6.QtGui import QImage
    from gradstudio.ui.editor.panel import EditorPanel, example_designs
    from gradstudio.ui.panels import PanelContext
    panel = EditorPanel(PanelContext(None, None, None, None))
    qtbot.addWidget(panel)
    panel.open_example(example_designs()[0][1])
    assert panel.export_image(str(tmp_path / "d.png")) and panel.export_image(str(tmp_path / "d.svg"))
    image = QImage(str(tmp_path / "d.png"))
    assert image.width() > 600 and len({image.pixel(x, image.height() // 2) for x in range(0, image.width(), 7)}) > 3
    svg = (tmp_path / "d.svg").read_text()
    assert "<svg" in svg and "mean" in svg



def test_an_example_opens_readable_in_a_narrow_view_and_fit_shows_it_whole(qtbot):
    """Opening a design wider than the view keeps the nodes' text (it starts from the
    inputs, the rest a scroll away); Fit (F) then shows the whole design, however small."""
    from gradstudio.ui.editor import style
    from gradstudio.ui.editor.panel import EditorPanel, example_designs
    from gradstudio.ui.panels import PanelContext
    panel = EditorPanel(PanelContext(None, None, None, None))
    qtbot.addWidget(panel)
    panel.resize(560, 420)
    panel.show()
    qtbot.waitExposed(panel)
    widest = max(example_designs(), key=lambda example: len(json.loads(example[1].read_text())["design"]["nodes"]))[1]
    view = panel.open_example(widest).view
    qtbot.waitUntil(lambda: not getattr(view, "_fit_pending", False))
    items = view.scene().itemsBoundingRect()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert items.width() * view.zoom() > view.viewport().width()      # (too wide to fit readable)
    assert view.zoom() >= style.TEXT_BELOW - 1e-9
    assert visible.left() <= items.left() + 10 and visible.intersects(items)   # (the scene rect may clamp the margin)
    view.fit()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert view.zoom() < style.TEXT_BELOW and visible.contains(items)
