"""The node editor's nodes are painted by one layer (ui/editor/node_layer.py): the
switch between the detailed look and the overview touches no node item, every node
is drawn and picked as before on both sides of the switch, a selection shows, and a
pan past the picture grows it by the new strip with the pixels drawing would give."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QGraphicsItem

from gradstudio.ui.editor import style
from gradstudio.ui.editor.items import NodeItem
from test_editor_canvas_speed import grid_canvas
from test_editor_wire_layer import assert_same_look, drawn_directly, shot

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


@pytest.fixture
def counted(qtbot, monkeypatch):
    """The grid canvas, with every Python ``itemChange`` call of a node counted."""
    calls = []
    original = NodeItem.itemChange

    def item_change(self, change, value):
        calls.append(change)
        return original(self, change, value)

    monkeypatch.setattr(NodeItem, "itemChange", item_change)      # before the items are made
    design, scene, view = grid_canvas(qtbot)
    view.viewport().repaint()
    yield design, scene, view, calls
    scene.close()


def outlined(view, node) -> bool:
    """Whether ``node`` is drawn with the selection's outline (looked for across its bottom edge)."""
    image = shot(view)
    edge = view.mapFromScene(node.mapToScene(QPointF(0, node.rect().bottom())))
    return any(QColor(image.pixel(edge.x(), edge.y() + dy)) == style.colors()["selected"] for dy in (-1, 0, 1))


def in_view(scene, view):
    """The nodes well inside the view and not under the minimap."""
    area = view.viewport().rect().adjusted(30, 30, -30, -30)
    minimap = view.minimap.rect().adjusted(-90, -40, 0, 0) if view.minimap.isVisible() else None
    return [i for i in scene.nodes.values() if area.contains(view.mapFromScene(i.pos()))
            and not (minimap and minimap.contains(view.mapFromScene(i.pos())))]


def test_crossing_into_and_out_of_the_overview_touches_no_node_and_draws_and_picks_every_node(qtbot, counted):
    design, scene, view, calls = counted
    item = next(iter(scene.nodes.values()))
    item.setSelected(True)
    assert calls, "the count sees the nodes' itemChange calls"
    view.zoom_by(style.SIMPLE_BELOW * 1.05)
    view.viewport().repaint()
    assert not scene.overview_shown
    for crossing in range(2):
        calls.clear()
        view.zoom_by(0.9)                          # into the overview
        image = shot(view)
        assert scene.overview_shown and calls == []
        shown = in_view(scene, view)
        assert len(shown) >= 10
        for node in shown:                         # a box in its colour where each node is
            assert QColor(image.pixel(view.mapFromScene(node.pos()))) == QColor(node._accent), node.node_id
            assert scene.node_at(node.pos()) is node
        view.zoom_by(1 / 0.9)                      # and out of it
        image = shot(view)
        assert not scene.overview_shown and calls == []
        shown = in_view(scene, view)
        for node in shown:                         # each node's header, drawn again at once
            header = node.mapToScene(QPointF(-style.NODE_WIDTH / 2 + 3, -node.height / 2 + 3))
            assert QColor(image.pixel(view.mapFromScene(header))) == QColor(node._accent), node.node_id
            assert scene.node_at(node.pos()) is node
    assert all(i.flags() & NO_CONTENTS for i in scene.nodes.values())
    # the selection is still drawn, by the layer
    view.zoom_by(1 / view.zoom())
    view.centerOn(item)
    qtbot.waitUntil(lambda: not scene.zoom_cached, timeout=2000)
    assert outlined(view, item)


def test_a_node_is_painted_by_the_layer_only_and_picked_as_an_item(qtbot, counted):
    design, scene, view, calls = counted
    layer = scene.node_layer
    assert set(layer.boxes) == set(scene.nodes.values())
    assert layer.picture is not None and not layer.flags() & NO_CONTENTS
    node = in_view(scene, view)[0]
    assert scene.node_at(node.pos()) is node
    assert not outlined(view, node)
    node.setSelected(True)                         # a change leaves the picture: drawn over it at once
    assert node in layer.live and outlined(view, node)
    node.setSelected(False)
    assert not outlined(view, node)


def test_a_pan_past_the_picture_grows_it_by_the_new_strip_with_the_pixels_drawing_would_give(
        qtbot, counted, monkeypatch):
    design, scene, view, calls = counted
    layers = (scene.node_layer, scene.wire_layer)
    pictures = [layer.pictures for layer in layers]
    first = [QRectF(layer.picture.rect) for layer in layers]
    drawn = {layer: [] for layer in layers}
    bar = view.horizontalScrollBar()
    with monkeypatch.context() as patch:
        for layer in layers:
            def spy(painter, rect, zoom, *args, layer=layer, draw=layer.draw_part, **kwargs):
                drawn[layer].append(QRectF(rect))
                return draw(painter, rect, zoom, *args, **kwargs)
            patch.setattr(layer, "draw_part", spy)
        for _ in range(6):                         # 6 × 60 px: past the picture's margin on that side
            bar.setValue(bar.value() + 60)
            QApplication.processEvents()
            view.viewport().repaint()
    assert [layer.pictures for layer in layers] == pictures, "a pan drew the whole view again"
    assert all(layer.extended >= 1 for layer in layers)
    for layer, old in zip(layers, first):          # only the strips beyond the first picture, never what it had
        assert drawn[layer] and not any(old.adjusted(2, 2, -2, -2).intersects(rect) for rect in drawn[layer])
    grown = shot(view)
    for layer in layers:
        assert_same_look(grown, drawn_directly(view, layer, monkeypatch))


def test_a_zoom_out_past_the_picture_grows_it_and_every_node_in_view_is_drawn_at_each_step(qtbot, counted):
    design, scene, view, calls = counted
    layer = scene.node_layer
    scene._settle.setInterval(60_000)            # the zoom goes on for the whole test
    view.centerOn(scene.node_layer.boundingRect().center())
    view.viewport().repaint()
    pictures = layer.pictures
    for step in range(5):                        # each step out brings in ~5 % of the view a side
        view.zoom_by(1 / 1.1)
        image = shot(view)
        for node in in_view(scene, view):        # drawn roughly or crisp, but drawn: its header's colour
            header = node.mapToScene(QPointF(0, -node.height / 2 + 4))
            assert QColor(image.pixel(view.mapFromScene(header))) == QColor(node._accent), (step, node.node_id)
    assert layer.pictures == pictures and layer.extended >= 1      # grown, never drawn whole
    scene.zoom_settled()
    while layer.tiles:
        view.viewport().repaint()
    assert layer.pictures == pictures


def test_at_the_zoom_a_design_opens_at_the_picture_writes_every_nodes_texts(qtbot, counted, monkeypatch):
    """A design too wide for the view opens at exactly style.TEXT_BELOW; the picture's
    transform, composed with a node's place, came out a rounding error below it, and
    the nodes drawn into the picture lost their texts (the body went blank)."""
    design, scene, view, calls = counted
    view.zoom_by(style.TEXT_BELOW / view.zoom())
    scene.zoom_settled()
    view.viewport().repaint()
    while scene.wire_layer.tiles:                # the wires made crisp, a few tiles a frame, in both shots
        view.viewport().repaint()
    layer = scene.node_layer
    layer.drop_picture()
    pictured = shot(view)
    assert layer.picture is not None
    assert_same_look(pictured, drawn_directly(view, layer, monkeypatch))
