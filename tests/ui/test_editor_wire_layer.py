"""The canvas's wires drawn by one layer, kept as a picture of the view: asserted
as structure and as pixels, not as times (benchmarks/editor_canvas.py has those).
Wire items keep hit tests and selection but paint nothing; a pan blits the
picture and gives the pixels drawing would; a drag strokes only the dragged
node's wires after its first move and leaves no trace of where they were; a zoom
scales the picture and the frame after it draws it crisp; zoomed out, the
overview does the same; the grid finds exactly the wires that meet a rect; and
opening a design routes each wire once."""
from __future__ import annotations

import random

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsItem

from gradstudio.ui.editor import picture, style
from gradstudio.ui.editor.document import EditorDocument
from gradstudio.ui.editor.scene import DesignScene
from test_editor_canvas_speed import a_middle_node, grid_canvas, grid_design

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


@pytest.fixture
def canvas(qtbot):
    design, scene, view = grid_canvas(qtbot)
    view.viewport().repaint()
    yield design, scene, view
    scene.close()


def shot(view):
    view.viewport().repaint()
    return view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def pixels(image) -> np.ndarray:
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine()).astype(int)


def assert_same_look(a, b):
    """The same pixels, give or take the rounding of blending a picture instead of drawing
    over the background (a channel off by a few levels where antialiased wires cross; a
    wire missing or left behind differs by a hundred)."""
    difference = np.abs(pixels(a) - pixels(b))
    assert difference.max() <= 4, f"{(difference > 2).sum()} channels differ by up to {difference.max()}"


def drawn_directly(view, layer, monkeypatch):
    """The view as it looks with ``layer`` drawing every wire (or box) as it is, no picture."""
    with monkeypatch.context() as patch:
        patch.setattr(picture, "FULL_FROM", 10.0)       # no repaint is big enough for a picture
        layer.drop_picture()
        image = shot(view)
        assert layer.picture is None
    return image


def test_wires_are_drawn_by_one_layer_and_keep_their_hit_tests_and_selection(qtbot, canvas):
    design, scene, view = canvas
    layer = scene.wire_layer
    assert all(w.flags() & NO_CONTENTS for w in scene.wires.values())
    assert set(layer.covers) == set(scene.wires.values())
    nodes = [n.sceneBoundingRect().adjusted(-6, -6, 6, 6) for n in scene.nodes.values()]
    wire, point = next((w, w.path().pointAtPercent(t)) for w in scene.wires.values() for t in (0.2, 0.3, 0.7)
                       if view.viewport().rect().adjusted(10, 10, -10, -10).contains(
                           view.mapFromScene(w.path().pointAtPercent(t)))
                       and not any(r.contains(w.path().pointAtPercent(t)) for r in nodes)
                       and not w.label_box.adjusted(-4, -4, 4, 4).contains(w.path().pointAtPercent(t)))
    assert wire in scene.items(point, Qt.ItemSelectionMode.IntersectsItemShape)     # still hit-tested
    assert scene.wire_at(point) is not None
    wire.setSelected(True)
    image = shot(view)
    assert QColor(image.pixel(view.mapFromScene(point))) == style.colors()["selected"]   # drawn, on top
    wire.setSelected(False)
    assert QColor(shot(view).pixel(view.mapFromScene(point))) != style.colors()["selected"]


def test_a_pan_blits_the_wire_picture_and_gives_the_pixels_drawing_would(qtbot, canvas, monkeypatch):
    design, scene, view = canvas
    layer = scene.wire_layer
    assert layer.picture is not None
    pictures, stroked = layer.pictures, layer.stroked
    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() + 20)
    QApplication.processEvents()
    assert (layer.pictures, layer.stroked) == (pictures, stroked)        # not one wire stroked
    blitted = shot(view)
    assert_same_look(blitted, drawn_directly(view, layer, monkeypatch))


def test_a_drag_strokes_only_the_dragged_nodes_wires_and_leaves_no_trace(qtbot, canvas, monkeypatch):
    design, scene, view = canvas
    layer = scene.wire_layer
    item = a_middle_node(design, scene, view)
    own = scene.node_wires[item.node_id]
    viewport = view.viewport()
    grab = view.mapFromScene(item.mapToScene(QPointF(0, 8)))
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab)
    QTest.mouseMove(viewport, grab + QPoint(6, 4))
    QApplication.processEvents()                 # the first move: the picture is drawn again where they were
    assert layer.live == set(own)
    pictures, stroked = layer.pictures, layer.stroked
    for step in range(2, 7):
        QTest.mouseMove(viewport, grab + QPoint(6 * step, 4 * step))
        QApplication.processEvents()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab + QPoint(36, 24))
    QApplication.processEvents()
    assert layer.pictures == pictures
    assert 0 < layer.stroked - stroked <= 6 * len(own)       # each frame: its own wires, nothing else
    assert_same_look(shot(view), drawn_directly(view, layer, monkeypatch))    # where they were: drawn again


def test_a_zoom_scales_the_wire_picture_and_once_it_stops_draws_it_crisp_a_tile_a_frame(qtbot, canvas, monkeypatch):
    design, scene, view = canvas
    layer = scene.wire_layer
    scene._settle.setInterval(60_000)       # the zoom goes on until the test settles it
    pictures = layer.pictures
    for step in range(6):
        view.zoom_by(1.05 if step % 2 == 0 else 1 / 1.05)
        view.viewport().repaint()
    assert scene.zoom_cached and layer.pictures <= pictures + 1
    # a wire that changes during the zoom shows at once, over the picture
    wire = next(iter(scene.wires.values()))
    wire.setSelected(True)
    assert wire in layer.live
    view.viewport().repaint()
    assert layer.pictures <= pictures + 1
    zoomed = layer.pictures
    monkeypatch.setattr(picture, "BUDGET", 0.0)      # one tile a frame, however fast the machine
    scene.zoom_settled()
    view.viewport().repaint()
    assert len(layer.tiles) >= 3 and layer.picture.fits(view.viewportTransform())   # the margin's bands
    while layer.tiles:                               # each frame draws a part or so, never all
        left = len(layer.tiles)
        view.viewport().repaint()
        assert 0 < left - len(layer.tiles) <= 2
    assert layer.pictures == zoomed                  # no frame drew the whole picture
    assert_same_look(shot(view), drawn_directly(view, layer, monkeypatch))


def test_zoomed_out_the_overview_is_a_picture_a_pan_blits(qtbot, canvas, monkeypatch):
    design, scene, view = canvas
    view.zoom_by(0.3)
    scene.zoom_settled()
    view.viewport().repaint()
    overview = scene.overview
    assert scene.overview_shown and overview.picture is not None
    pictures = overview.pictures
    bar = view.verticalScrollBar()
    bar.setValue(bar.value() + 10)
    QApplication.processEvents()
    assert overview.pictures == pictures
    assert_same_look(shot(view), drawn_directly(view, overview, monkeypatch))


def test_the_grid_finds_exactly_the_wires_whose_cover_meets_a_rect(qtbot, canvas):
    design, scene, view = canvas
    layer = scene.wire_layer
    rng = random.Random(1)
    bounds = layer.boundingRect()
    for _ in range(40):
        x, y = rng.uniform(bounds.left(), bounds.right()), rng.uniform(bounds.top(), bounds.bottom())
        rect = QRectF(x, y, rng.uniform(1, 700), rng.uniform(1, 500))
        expected = {w for w, cover in layer.covers.items() if any(rect.intersects(r) for r in cover)}
        assert set(layer.wires_in(rect)) == expected
    # a wire's cover holds all of it
    for wire in scene.wires.values():
        cover = layer.covers[wire]
        for t in (0.0, 0.1, 0.37, 0.5, 0.81, 1.0):
            assert any(r.contains(wire.path().pointAtPercent(t)) for r in cover)


def test_opening_a_design_routes_each_wire_once(qtbot, monkeypatch):
    from gradstudio.ui.editor.items import WireItem
    routed = []
    original = WireItem.set_ends
    monkeypatch.setattr(WireItem, "set_ends", lambda self, start, end: routed.append(self) or original(self, start, end))
    design = grid_design()
    scene = DesignScene(EditorDocument(design))
    assert len(routed) == len(design.links) == len(set(routed))
    # and each where its nodes' ports are, now that they have their size
    for link, wire in scene.wires.items():
        src, dst = scene.nodes[link.src], scene.nodes[link.dst]
        assert wire.start == src.mapToScene(src.output_point())
        assert wire.end == dst.mapToScene(dst.input_point(link.slot))
    scene.close()


def test_lines_are_cut_to_a_rect_exactly_all_at_once():
    """items.clip_lines (numpy Liang–Barsky, the overview's and the rough wires' lines):
    a part is kept for each line that meets the rect (found by points along it) and for
    no other, each part lies in the rect, and a line inside comes back as it is."""
    from PySide6.QtCore import QLineF
    from gradstudio.ui.editor.items import clip_lines
    rng = random.Random(3)
    lines = [QLineF(rng.uniform(-50, 450), rng.uniform(-50, 450), rng.uniform(-50, 450), rng.uniform(-50, 450))
             for _ in range(300)]
    lines += [QLineF(100, -20, 100, 500), QLineF(-20, 150, 500, 150), QLineF(120, 130, 120, 130),
              QLineF(-10, -10, -10, 400), QLineF(160, 160, 170, 175)]
    rect = QRectF(90, 110, 210, 160)
    kept = clip_lines(lines, rect)
    meeting = [l for l in lines if any(rect.contains(l.pointAt(t / 1000)) for t in range(1001))]
    assert len(kept) == len(meeting)
    near = rect.adjusted(-1e-6, -1e-6, 1e-6, 1e-6)
    assert all(near.contains(part.p1()) and near.contains(part.p2()) for part in kept)
    inside = [l for l in lines if rect.contains(l.p1()) and rect.contains(l.p2())]
    assert len(inside) >= 3 and all(any(k is l for k in kept) for l in inside)      # whole, the same object
