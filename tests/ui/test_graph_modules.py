"""Module calls in the Graph panel: every ``nn.Module`` call of the forward is a
group — an outline labelled ``model.0 · Linear(3→4)`` around its ops and
parameters — that collapses into one node keeping the group's edges, undoably,
and expands again; nested calls nest."""
from __future__ import annotations

from test_graph_panel import double_click, recorded, standalone_panel

from gradstudio.ui.graph.items import ModuleFrameItem

MLP = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
x = torch.randn(5, 3)
y = torch.randn(5, 1)
loss = nn.functional.mse_loss(model(x), y)
loss.backward()
"""


def module(doc, label):
    (group,) = [g for g in doc.modules() if g.label == label]
    return group


def edges(panel) -> set:
    return {(e.source.vid, e.target.vid) for e in panel.scene.edge_items}


def test_module_calls_are_drawn_as_groups_that_collapse_and_expand(qtbot):
    model, panel = standalone_panel(qtbot, recorded(MLP))
    doc = panel.document
    assert {(g.label, g.name) for g in doc.modules()} == {
        ("Sequential", "model"), ("Linear(3→4)", "model.0"), ("Tanh", "model.1"), ("Linear(4→1)", "model.2")}
    # every call starts open: a frame each, titled with the module, all nodes drawn
    frames = panel.scene.frames
    assert {frames[g.id].title for g in doc.modules()} == {
        "model · Sequential", "model.0 · Linear(3→4)", "model.1 · Tanh", "model.2 · Linear(4→1)"}
    assert all(isinstance(f, ModuleFrameItem) for f in frames.values())
    all_nodes = set(panel.scene.node_items)
    assert len(all_nodes) == len(doc.vertices)
    first = module(doc, "Linear(3→4)")
    titles = {doc.nodes[v].name or doc.nodes[v].grad_fn for v in first.members}
    assert titles == {"model.0.weight", "model.0.bias", "TBackward0", "AddmmBackward0"}
    # the inner frame lies inside the outer one, and over it (a double-click finds the inner)
    outer = frames[module(doc, "Sequential").id]
    inner = frames[first.id]
    assert outer.path.contains(inner.path.boundingRect().center())
    assert inner.zValue() > outer.zValue()
    assert "4 module calls expanded" in panel.info.text()

    # collapse Linear(3→4) by double-clicking inside its frame, on no node
    before = edges(panel)
    addmm = next(v for v in first.steps if doc.nodes[v].grad_fn == "AddmmBackward0")
    point = panel.scene.node_items[addmm].pos()
    point.setY(point.y() - panel.scene.node_items[addmm].height / 2 - 4)        # just above it: the frame
    assert panel.scene.frame_at(point) is inner
    _double_click_at(panel, point)
    assert first.id not in doc.expanded
    shown = set(panel.scene.node_items)
    assert shown == (all_nodes - set(first.members)) | {first.id}
    node = panel.scene.node_items[first.id]
    assert node.kind == "group" and node.lines[0][0] == "Linear(3→4)"
    # the group's edges: x comes in, the Tanh takes its output
    tanh = module(doc, "Tanh").steps[0]
    x = next(v for v in doc.nodes if doc.nodes[v].name == "x")
    assert {(x, first.id), (first.id, tanh)} <= edges(panel)
    assert not any(first.id in e and set(e) & set(first.members) for e in edges(panel))
    assert "1 of 4 module calls collapsed (4 nodes hidden)" in panel.info.text()
    assert panel.undo_stack.undoText() == "Collapse Linear(3→4)"

    # expand again: by double-clicking the group node, then undo and redo
    double_click(panel, node)
    assert first.id in doc.expanded and set(panel.scene.node_items) == all_nodes and edges(panel) == before
    panel.actions["undo"].trigger()
    assert set(panel.scene.node_items) == shown
    panel.actions["undo"].trigger()
    assert set(panel.scene.node_items) == all_nodes

    # collapsing the Sequential hides the calls inside it, whatever their state
    panel.actions["collapse_all"].trigger()
    outer_group = module(doc, "Sequential")
    assert outer_group.id in panel.scene.node_items and first.id not in panel.scene.node_items
    assert panel.scene.frames == {}
    mse = next(v for v in doc.nodes if doc.nodes[v].grad_fn == "MseLossBackward0")
    assert (outer_group.id, mse) in edges(panel)


def _double_click_at(panel, scene_point):
    from PySide6.QtCore import QEvent, Qt
    from test_graph_panel import send_mouse
    viewport = panel.view.viewport()
    point = panel.view.mapFromScene(scene_point)
    send_mouse(viewport, QEvent.Type.MouseButtonPress, point, Qt.MouseButton.LeftButton)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, point, Qt.MouseButton.NoButton)
    send_mouse(viewport, QEvent.Type.MouseButtonDblClick, point, Qt.MouseButton.LeftButton)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, point, Qt.MouseButton.NoButton)


def test_a_shared_layer_keeps_its_weight_outside_both_calls(qtbot):
    script = MLP.replace("model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))",
                         "layer = nn.Linear(3, 3)\nmodel = lambda t: layer(torch.tanh(layer(t))).sum(1, keepdim=True)")
    model, panel = standalone_panel(qtbot, recorded(script))
    doc = panel.document
    calls = [g for g in doc.modules() if g.label == "Linear(3→3)"]
    assert len(calls) == 2 and all(g.name == "layer" for g in calls)
    weight = next(v for v in doc.nodes if doc.nodes[v].name == "layer.weight")
    assert all(weight not in g.members for g in calls)
    panel.actions["collapse_all"].trigger()
    assert weight in panel.scene.node_items                     # still drawn, feeding both calls
    assert {(weight, g.id) for g in calls} <= edges(panel)
