"""Node editor features driven as a person would: designs saved in the project file
and opened again, the NumPy and LaTeX exports, groups collapsed into one node and
expanded, "Open as nodes" from the Graph and Compare panels, a stale derivation
cancelled by a new edit."""
from __future__ import annotations

import json

import numpy as np

import pytest
from PySide6.QtWidgets import QWidget
from PySide6.QtGui import QPalette

from test_editor_canvas import drag_wire, drop_from_palette, editor_panel

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def standalone_panel(qtbot):
    from gradstudio.ui.editor.panel import EditorPanel
    from gradstudio.ui.panels import PanelContext
    panel = EditorPanel(PanelContext(None, None, None, None))
    qtbot.addWidget(panel)
    return panel


def example_path(word: str):
    from gradstudio.ui.editor.panel import example_designs
    return next(p for t, p in example_designs() if word in t or word in p.name)


# --------------------------------------------------------------------------- fix: no shadowed QWidget methods
def test_the_panel_keeps_qwidgets_window_and_palette(qtbot):
    panel = standalone_panel(qtbot)
    assert isinstance(panel.window(), QWidget) and isinstance(panel.palette(), QPalette)
    assert panel.op_palette.tree.item_for("leaf") is not None


# --------------------------------------------------------------------------- designs in the project file
def build_seed_by_hand(qtbot, panel):
    view = panel.current().view
    x = drop_from_palette(panel, "leaf", (0, 0))
    mul = drop_from_palette(panel, "op:elementwise.MUL", (220, 0))
    three = drop_from_palette(panel, "const", (220, 140))
    y = drop_from_palette(panel, "op:elementwise.MUL", (440, 40))
    z = drop_from_palette(panel, "op:reduction.MEAN", (660, 40))
    out = drop_from_palette(panel, "output", (880, 40))
    assert panel.current().document.set_value(three, "3") is None
    for src, dst, slot in ((x, mul, 0), (x, mul, 1), (mul, y, 0), (three, y, 1), (y, z, 0), (z, out, 0)):
        drag_wire(qtbot, view, src, dst, slot)
    assert len(view.design.links) == 6 and not view.design.errors
    return view.design


def test_build_save_and_reopen_gives_the_same_designs(qtbot, window, tmp_path):
    panel = editor_panel(qtbot, window)
    design = build_seed_by_hand(qtbot, panel)
    built = design.to_json()
    neuron = panel.open_example(example_path("sigmoid"))
    panel.tabs.setCurrentIndex(0)
    path = tmp_path / "designs.gradstudio"
    assert window.documents.save_as(str(path))
    saved = json.loads(path.read_text())
    assert saved["designs"]["version"] == 1 and len(saved["designs"]["documents"]) == 2
    assert "designs" not in saved["view"].get("editor", {})
    # edit after saving, then open the file again: the saved designs replace the edited ones
    panel.current().document.delete(["n1"])
    neuron.document.delete(list(neuron.document.design.nodes)[:1])
    assert window.documents.open(str(path), interactive=False)
    assert panel.tabs.count() == 2 and panel.tabs.currentIndex() == 0
    assert panel.current().document.design.to_json() == built
    assert panel.tabs.widget(1).document.design.to_json() == saved["designs"]["documents"][1]["design"]
    assert panel.tabs.tabText(1) == saved["designs"]["documents"][1]["title"]


def test_a_file_with_newer_designs_is_refused_and_nothing_changes(qtbot, window, tmp_path):
    panel = editor_panel(qtbot, window)
    panel.open_example(example_path("seed"))
    path = tmp_path / "newer.gradstudio"
    assert window.documents.save_as(str(path))
    data = json.loads(path.read_text())
    data["designs"]["version"] = 2
    data["script"] = "print('from the newer file')\n"
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    tabs = [panel.tabs.widget(i) for i in range(panel.tabs.count())]
    script = window.model.script.script_text()
    assert not window.documents.open(str(path), interactive=False)
    assert "newer GradStudio" in window.documents.last_error and "designs version 2" in window.documents.last_error
    assert [panel.tabs.widget(i) for i in range(panel.tabs.count())] == tabs
    assert window.model.script.script_text() == script and path.read_bytes() == before


# --------------------------------------------------------------------------- exports
def test_the_export_menu_writes_a_numpy_script_and_a_latex_derivation(qtbot, tmp_path, monkeypatch):
    import subprocess
    import sys
    from PySide6.QtWidgets import QFileDialog
    panel = standalone_panel(qtbot)
    panel.open_example(example_path("seed"))
    texts = [a.text() for a in panel.export_menu.actions()]
    assert texts == ["PyTorch script", "NumPy script…", "LaTeX derivation…", "Picture (PNG or SVG)…"]
    assert panel.export_menu in [a.menu() for a in panel.menu().actions() if a.menu()]
    chosen = {}
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, title, name, filter: (chosen["path"], filter)))
    chosen["path"] = str(tmp_path / "seed_numpy.py")
    next(a for a in panel.export_menu.actions() if a.text().startswith("NumPy")).trigger()
    result = subprocess.run([sys.executable, "-I", chosen["path"]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["z = 3.0", "x.grad = [[1.5, 1.5], [1.5, 1.5]]"]
    chosen["path"] = str(tmp_path / "seed.tex")
    next(a for a in panel.export_menu.actions() if a.text().startswith("LaTeX")).trigger()
    tex = (tmp_path / "seed.tex").read_text()
    assert "\\frac{3 \\cdot 2 \\cdot x}{4}" in tex and "Exported seed.tex" in panel.status.text()
    # softmax cross-entropy (logp[2] is a one-hot product) exports too, and runs
    panel.open_example(example_path("softmax"))
    chosen["path"] = str(tmp_path / "ce.py")
    next(a for a in panel.export_menu.actions() if a.text().startswith("NumPy")).trigger()
    result = subprocess.run([sys.executable, "-I", chosen["path"]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loss = 0.8634")
    # a design the matrix language cannot write: named in the status line, no file
    design = panel.current().document.design
    mean = next(n for n, node in design.nodes.items() if node.op == "reduction.LOG_SOFTMAX")
    (link,) = design.inputs_of(mean)
    cumsum = design.add_node("op", op="reduction.CUMSUM", params={"dim": 0})
    design.disconnect(link)
    design.connect(link.src, cumsum, 0)
    design.connect(cumsum, mean, 0)
    chosen["path"] = str(tmp_path / "cumsum.py")
    next(a for a in panel.export_menu.actions() if a.text().startswith("NumPy")).trigger()
    assert "CumsumBackward0" in panel.status.text() and not (tmp_path / "cumsum.py").exists()


# --------------------------------------------------------------------------- collapsible groups
def test_a_group_collapses_into_one_node_with_its_external_ports_and_expands_again(qtbot):
    from PySide6.QtCore import QPoint, Qt
    from gradstudio.studio.design import from_json
    from gradstudio.ui.editor.group_item import CollapsedGroupItem
    panel = standalone_panel(qtbot)
    panel.resize(1100, 600)
    panel.show()
    tab = panel.open_example(example_path("sigmoid"))
    view, scene, doc = tab.view, tab.scene, tab.document
    design = doc.design
    by_name = {node.name: n for n, node in design.nodes.items() if node.name}
    members = [by_name[k] for k in ("s", "a", "p")]
    view.setFocus()
    for n in members:
        scene.nodes[n].setSelected(True)
    qtbot.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    (group,) = design.groups
    start = doc.save()
    panel.actions["collapse"].trigger()
    item = scene.collapsed[group]
    assert isinstance(item, CollapsedGroupItem) and item.isVisible()
    assert not any(scene.nodes[n].isVisible() for n in members) and not scene.groups
    # its ports: what comes in from outside (w and x into s, b into a) and p going out
    assert [(l.src, l.dst) for l in item.inputs] == [(by_name["w"], by_name["s"]), (by_name["x"], by_name["s"]),
                                                     (by_name["b"], by_name["a"])]
    assert item.outputs == [by_name["p"]] and item.output_labels == ["p"]
    inner = [w for l, w in scene.wires.items() if l.src in members and l.dst in members]
    assert inner and not any(w.isVisible() for w in inner)
    # nor does the zoomed-out overview, which draws every shown node and wire itself
    assert not (set(inner) & set(scene.overview.lines)) and not (set(members) & set(scene.overview.boxes))
    into = next(w for l, w in scene.wires.items() if l.src == by_name["b"])
    assert into.end == item.mapToScene(item.input_point(into.link))
    # saved with the design; the design computes the same
    assert json.loads(doc.save())["collapsed"] == [group]
    assert from_json(json.loads(doc.save())).collapsed == {group}
    assert design.backward_call().status == "ok"
    # dragging the collapsed node moves its members, one step
    before = {n: design.nodes[n].position for n in members}
    centre = view.mapFromScene(item.mapToScene(item.rect().center()))
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(view.viewport(), centre + QPoint(30, 20))
    qtbot.mouseMove(view.viewport(), centre + QPoint(60, 40))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=centre + QPoint(60, 40))
    moved = {n: design.nodes[n].position for n in members}
    dx = moved[members[0]][0] - before[members[0]][0]
    assert dx > 0 and all(abs(moved[n][0] - before[n][0] - dx) < 1e-6 for n in members)
    doc.undo_stack.undo()
    assert {n: design.nodes[n].position for n in members} == before
    # a double-click expands it (a step of its own); undo collapses it again, undo again expands
    centre = view.mapFromScene(item.mapToScene(item.rect().center()))
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert not design.collapsed and group not in scene.collapsed
    assert all(scene.nodes[n].isVisible() for n in members) and all(w.isVisible() for w in inner)
    assert scene.groups[group].isVisible()
    assert set(inner) <= set(scene.overview.lines) and set(members) <= set(scene.overview.boxes)
    doc.undo_stack.undo()
    assert design.collapsed == {group} and not scene.nodes[members[0]].isVisible()
    doc.undo_stack.undo()
    assert doc.save() == start
    # ungrouping a collapsed group expands it first, as one step
    doc.collapse(group)
    assert doc.ungroup(group) is None and not design.groups and not design.collapsed
    assert all(scene.nodes[n].isVisible() for n in members)
    doc.undo_stack.undo()
    assert design.collapsed == {group} and group in scene.collapsed


# --------------------------------------------------------------------------- "Open as nodes" from Graph and Compare
def test_open_as_nodes_from_the_graph_and_compare_panels(qtbot, window, helpers, monkeypatch):
    from gradstudio.ui.panels.compare import ROLE_KIND
    helpers.set_script(window, helpers.tutorial.read_text())
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    mean = next(r for r in window.model.calls.call_list() if (r.data.root.grad_fn or "").startswith("Mean"))
    window.model.selection.select(call=mean.index)
    # Graph: right-click on the canvas, "Open as nodes"
    window.docks["graph"].raise_()
    graph = window.panel("graph")
    graph.show_call(mean.index)
    qtbot.waitUntil(lambda: graph.document is not None and graph.document.call == mean.index, timeout=10000)
    graph.view.customContextMenuRequested.emit(graph.view.viewport().rect().center())
    action = next(a for a in graph.context_menu.actions() if a.text() == "Open as nodes")
    graph.context_menu.close()           # a popup left open outlives the window (and crashes the next one)
    action.trigger()
    editor = window.panel("editor").editor
    tab = editor.current()
    assert editor.tabs.tabText(editor.tabs.currentIndex()) == "z.backward()"
    call = tab.document.design.backward_call()
    assert call.status == "ok" and call.leaves[0].name == "x" and float(call.leaves[0].grad.ravel()[0]) == 1.5
    count = editor.tabs.count()
    # Compare: right-click on the call's leaf row
    window.docks["compare"].raise_()
    compare = window.panel("compare")
    section = compare.sections[mean.index]
    row = next(section.child(i) for i in range(section.childCount()) if section.child(i).data(0, ROLE_KIND) == "leaf")
    compare.tree.scrollToItem(row)
    monkeypatch.setattr(compare, "exec_menu", lambda menu, position: None)
    compare.tree.customContextMenuRequested.emit(compare.tree.visualItemRect(row).center())
    next(a for a in compare.context_menu.actions() if a.text() == "Open as nodes").trigger()
    assert editor.tabs.count() == count + 1
    assert editor.current().document.design.to_json() == tab.document.design.to_json()
    assert window.docks["editor"].isVisible()


# --------------------------------------------------------------------------- an edit cancels stale kernel work
def slow_design():
    """softmax((x @ x @ x).cumsum(0), dim=1): sympy works per element for seconds (the
    responsiveness test's script, as nodes)."""
    from gradstudio.studio.design import Design
    d = Design()
    x = d.add_node("leaf", name="x", value="rand(6, 6, seed=0)", requires_grad=True)
    xx = d.add_node("op", op="linalg.MM", name="xx")
    xxx = d.add_node("op", op="linalg.MM", name="xxx")
    c = d.add_node("op", op="reduction.CUMSUM", params={"dim": 0}, name="c")
    y = d.add_node("op", op="reduction.SOFTMAX", params={"dim": 1}, name="y")
    yy = d.add_node("op", op="elementwise.MUL", name="yy")
    f = d.add_node("op", op="reduction.SUM", name="f")
    out = d.add_node("output")
    for src, dst, slot in ((x, xx, 0), (x, xx, 1), (xx, xxx, 0), (x, xxx, 1), (xxx, c, 0), (c, y, 0),
                           (y, yy, 0), (y, yy, 1), (yy, f, 0), (f, out, 0)):
        d.connect(src, dst, slot)
    assert not d.errors
    return d, x


def whole_check(calls, index) -> bool:
    """The call has its whole check (its provisional one, engine and finite differences, came first)."""
    check = calls.call(index).check
    return check is not None and not check.provisional


def test_an_edit_cancels_the_stale_derivation_and_only_the_newest_result_is_shown(qtbot, window):
    import time
    from gradstudio.ui.panels.compare import CHAIN, FD, ROLE_KIND
    window.runner.derive_timeout = 6.0
    panel = editor_panel(qtbot, window)
    design, x = slow_design()
    tab = panel.add_document(design, "slow")
    calls = window.model.calls
    qtbot.waitUntil(lambda: any(r.deriving for r in calls.call_list()), timeout=60000)
    (stale,) = [r.index for r in calls.call_list() if r.deriving]
    record = calls.call(stale)
    first = record.check                 # engine and finite differences came with the call
    assert first is not None and first.provisional and first.agree and first.leaves[0].finite_difference is not None
    started = time.perf_counter()
    assert tab.document.set_value(x, "rand(6, 6, seed=1)") is None      # the edit, while sympy works
    qtbot.waitUntil(lambda: record.superseded, timeout=5000)
    # until the new call is back, Compare shows what came with the stale one, marked superseded
    compare = window.panel("compare")
    section = compare.sections[stale]
    assert "superseded" in section.text(0)
    row = next(section.child(i) for i in range(section.childCount()) if section.child(i).data(0, ROLE_KIND) == "leaf")
    assert row.text(CHAIN) == "superseded" and row.text(FD) not in ("", "—")
    # the newest design is sent as soon as the stale derivation is interrupted
    qtbot.waitUntil(lambda: any(r.index > stale for r in calls.call_list()), timeout=20000)
    assert time.perf_counter() - started < window.runner.derive_timeout, "interrupted well before its time limit"
    assert tab.live.cancelled == 1
    # the stale call's late record (its cancellation) never reached it, and the new call took
    # its place: one section for the design
    assert record.superseded and record.check is first and not record.pending
    newest = max(r.index for r in calls.call_list())
    assert calls.call(stale) is None and list(compare.sections) == [newest]
    # the newest is derived, and it is what the nodes and Compare show
    qtbot.waitUntil(lambda: whole_check(calls, newest) and not tab.live.busy(), timeout=60000)
    assert not calls.call(newest).check.cancelled and not calls.call(newest).superseded
    assert tab.live.call_index == newest and window.model.selection.current.call == newest
    value = calls.call(newest).data.graph.nodes[0].value
    assert not np.allclose(value, record.data.graph.nodes[0].value), "the edited leaf's values"
    assert tab.scene.nodes[x].fill is not None


def test_an_edit_never_interrupts_a_script_cell(qtbot, window, helpers):
    """The cancellation is only ever of the design's own derivation."""
    panel = editor_panel(qtbot, window)
    tab = panel.open_example(example_path("seed"))
    qtbot.waitUntil(lambda: not tab.live.busy(), timeout=60000)
    helpers.set_script(window, "import time\ntime.sleep(3)\nprint('slept')\n")
    window.actions["run_all"].trigger()
    qtbot.waitUntil(lambda: window.model.console.running_cell is not None, timeout=20000)
    leaf = next(n for n, node in tab.document.design.nodes.items() if node.kind == "leaf")
    tab.document.set_value(leaf, "2 * ones(2, 2)")
    qtbot.waitUntil(lambda: not tab.live.busy() and window.runner.is_idle(), timeout=60000)
    assert "slept" in helpers.console_text(window) and tab.live.cancelled == 0


def test_an_edit_interrupts_only_its_own_derivation_and_only_when_nothing_waits_behind_it(qtbot):
    """What the live evaluation reads of the kernel client is public: the request in
    flight (``current_request``) and how many wait (``queued``, which an interrupt drops)."""
    from gradstudio.studio.design import from_json
    from gradstudio.ui.editor.document import EditorDocument
    from gradstudio.ui.editor.live import LiveEvaluator
    from gradstudio.ui.editor.scene import DesignScene
    from gradstudio.ui.jupyter_client import JupyterClient
    assert isinstance(JupyterClient.current_request, property) and isinstance(JupyterClient.queued, property)

    class Client:
        current_request, queued = None, 0

    class Runner:
        client, interrupts = Client(), 0

        def interrupt(self):
            self.interrupts += 1
            return True
    document = EditorDocument(from_json(json.loads(example_path("seed").read_text())["design"]))
    runner = Runner()
    live = LiveEvaluator(document, DesignScene(document), runner, delay_ms=10_000)
    live._sent_script = "the design's script"
    runner.client.current_request = {"type": "run", "cells": [{"index": None, "source": "the design's script"}]}
    runner.client.queued = 1                 # a script's cell waits: an interrupt would drop it
    live._cancel_stale_derivation()
    assert runner.interrupts == 0 and live.cancelled == 0
    runner.client.current_request = {"type": "run", "cells": [{"index": 0, "source": "print(1)"}]}
    runner.client.queued = 0                 # a script's cell in flight: never interrupted
    live._cancel_stale_derivation()
    assert runner.interrupts == 0
    runner.client.current_request = {"type": "run", "cells": [{"index": None, "source": "the design's script"}]}
    live._cancel_stale_derivation()          # our own derivation, nothing behind it
    assert runner.interrupts == 1 and live.cancelled == 1


def test_an_evaluation_compiles_the_design_once_and_sends_the_live_script(qtbot, monkeypatch):
    """The script and the local NaN/inf diagnosis come from one compile (each made its
    own: a second forward pass of the whole design on the GUI thread per edit)."""
    from gradstudio.studio import codegen
    from gradstudio.studio.design import Design, from_json
    from gradstudio.ui.editor.document import EditorDocument
    from gradstudio.ui.editor.live import LiveEvaluator
    from gradstudio.ui.editor.scene import DesignScene

    class Runner:
        sent: list = []

        def run_design(self, script, design=None):
            self.sent.append(script)
    document = EditorDocument(from_json(json.loads(example_path("seed").read_text())["design"]))
    runner = Runner()
    live = LiveEvaluator(document, DesignScene(document), runner, delay_ms=10_000)
    compiles = []
    original = Design.compile
    monkeypatch.setattr(Design, "compile", lambda self: compiles.append(1) or original(self))
    leaf = next(n for n, node in document.design.nodes.items() if node.kind == "leaf")
    document.set_value(leaf, "2 * ones(2, 2)")
    live.evaluate_now()
    assert len(compiles) == 1
    assert runner.sent == [codegen.design_to_script(document.design, exact_values=True)]


def test_a_value_edit_comes_back_as_values_only_and_the_window_shows_the_new_numbers(qtbot, window):
    """Through the real kernel: the window's client keeps the last cell's graph structure,
    so the seed design's value edit comes as values only (a SharedCall view), its named
    tensors without their values (filled in from the call); the nodes, Compare and the
    Inspector's tensors all show the edited numbers."""
    from gradstudio.studio.kernel.shared import SharedCall
    panel = editor_panel(qtbot, window)
    tab = panel.open_example(example_path("seed"))
    calls, tensors = window.model.calls, window.model.tensors
    qtbot.waitUntil(lambda: tab.live.call_index is not None and not tab.live.busy()
                    and whole_check(calls, tab.live.call_index), timeout=60000)
    first = calls.call(tab.live.call_index)
    leaf = next(n for n, node in tab.document.design.nodes.items() if node.kind == "leaf")
    name = tab.document.design.nodes[leaf].name
    assert not isinstance(first.data, SharedCall)
    tab.document.set_value(leaf, "[[1.0, 2.0], [3.0, 4.0]]")
    qtbot.waitUntil(lambda: tab.live.call_index != first.index and not tab.live.busy()
                    and whole_check(calls, tab.live.call_index), timeout=60000)
    record = calls.call(tab.live.call_index)
    assert isinstance(record.data, SharedCall)                      # values only on the wire
    vertex = next(n for n in record.data.graph.nodes if n.name == name)
    assert vertex.value.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    (leaf_check,) = record.check.leaves
    np.testing.assert_allclose(leaf_check.numeric, 1.5 * np.array([[1.0, 2.0], [3.0, 4.0]]))   # 3·2·x/4
    assert leaf_check.agree and leaf_check.formula == "3*2*x/4"
    assert tensors.tensor(name).value.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tensors.tensor(name).value_summary.max == 4.0
    assert "6" in tab.scene.nodes[leaf].toolTip()                    # grad 1.5·4 on the hover text
