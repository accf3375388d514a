"""The shapes written on the editor's wires stay readable: on every example design,
as opened and after Auto-layout, no label lies on another label or on a node.
Parallel wires (one output into two inputs of a node, as ``x * x``) carry one
shape and write it once, between them; when one of them goes, the other writes
its own again. Geometry (the label boxes the wire layer draws), not pixels."""
from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPointF

from gradstudio.ui.editor.panel import EditorPanel, example_designs
from gradstudio.ui.panels import PanelContext

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def panel(qtbot):
    panel = EditorPanel(PanelContext(None, None, None, None))
    qtbot.addWidget(panel)
    return panel


def label_boxes(scene) -> dict:
    return {wire.link: wire.label_box for wire in scene.wires.values() if not wire.label_box.isNull()}


def overlaps(scene) -> list:
    boxes = label_boxes(scene)
    found = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes.items(), 2)
             if box_a.intersects(box_b)]
    found += [(link, node_id) for link, box in boxes.items() for node_id, node in scene.nodes.items()
              if box.intersects(node.sceneBoundingRect())]
    return found


@pytest.mark.parametrize("laid_out", [False, True], ids=["as opened", "auto-layout"])
def test_no_wire_label_lies_on_another_or_on_a_node(qtbot, panel, laid_out):
    for title, path in example_designs():
        tab = panel.open_example(path)
        if laid_out:
            assert tab.document.auto_layout() is None
        scene = tab.scene
        assert len(label_boxes(scene)) >= len({(l.src, l.dst) for l in scene.design.links}) - 1, title
        assert overlaps(scene) == [], title


def test_parallel_wires_write_their_shape_once_between_them(qtbot, panel):
    path = next(p for _, p in example_designs() if "seed" in p.name)
    tab = panel.open_example(path)
    scene = tab.scene
    pairs: dict = {}
    for wire in scene.wires.values():
        pairs.setdefault((wire.link.src, wire.link.dst), []).append(wire)
    square = [wires for wires in pairs.values() if len(wires) == 2]
    assert len(square) == 1                                      # x into both inputs of x·x
    first, second = sorted(square[0], key=lambda w: w.link.slot)
    assert first.label == second.label == "(2, 2)"
    assert second.label_box.isNull() and not first.label_box.isNull()
    between = (first.middle() + second.middle()) / 2
    assert first.label_box.center() == between
    assert first.label_box.top() < min(first.middle().y(), second.middle().y())
    assert first.label_box.bottom() > max(first.middle().y(), second.middle().y())   # over both wires

    node = scene.nodes[first.link.src]                           # dragged, the label follows
    node.setPos(node.pos() + QPointF(0, 40))
    scene.node_item_moved(node)
    assert first.label_box.center() == (first.middle() + second.middle()) / 2 and second.label_box.isNull()

    assert tab.document.disconnect(first.link) is None           # alone, a wire labels its own middle
    assert second.label == "(2, 2)" and second.label_box.center() == second.middle()
    assert overlaps(scene) == []
