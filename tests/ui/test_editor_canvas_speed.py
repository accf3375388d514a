"""What keeps the node editor's canvas at frame rate on a big design, asserted as
structure, not as times (benchmarks/editor_canvas.py has the frame times):
dragging a node repaints only it and its own wires, an edit repaints only the
nodes whose look changed, a pan paints only the strip that came into sight,
zoomed out the items paint nothing and one overview draws boxes and lines, the
minimap is redrawn once after a drag and not per move, a long wire is kept as
exact pieces, and a picture is always drawn in full detail."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QRegion
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsScene

from gradstudio.studio.design import Design
from gradstudio.ui.editor import style
from gradstudio.ui.editor.document import EditorDocument
from gradstudio.ui.editor.items import WireItem, wire_controls, wire_path, wire_pieces
from gradstudio.ui.editor.scene import DesignScene
from gradstudio.ui.editor.view import DesignView

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


def grid_design(columns: int = 8, rows: int = 6) -> Design:
    """A leaf, then columns of tanh / add nodes, each fed by the column before it."""
    d = Design()
    with d.batch():
        previous = [d.add_node("leaf", name="x", value="ones(4)", requires_grad=True, position=(0, 0))]
        for c in range(1, columns):
            column = []
            for r in range(rows):
                pos = (c * 220.0, r * 120.0)
                if r % 2:
                    node = d.add_node("op", op="elementwise.ADD", position=pos)
                    d.connect(previous[r % len(previous)], node, 0)
                    d.connect(previous[(r + 1) % len(previous)], node, 1)
                else:
                    node = d.add_node("op", op="elementwise.TANH", position=pos)
                    d.connect(previous[r % len(previous)], node, 0)
                column.append(node)
            previous = column
    return d


class PaintSpy(QObject):
    """The region of every paint event the viewport gets."""

    def __init__(self, widget):
        super().__init__()
        self.region = QRegion()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.region = self.region.united(event.region())
            self.count += 1
        return False

    def reset(self):
        self.region, self.count = QRegion(), 0


def open_canvas(qtbot, design, zoom: float = 1.0):
    """``design`` in a shown 900×650 view at ``zoom``: (scene, view)."""
    doc = EditorDocument(design)
    scene = DesignScene(doc)
    view = DesignView(doc, scene)
    qtbot.addWidget(view)
    view.resize(900, 650)
    view.show()
    qtbot.waitExposed(view)
    view.resetTransform()
    if zoom != 1.0:
        view.zoom_by(zoom)
    return scene, view


def grid_canvas(qtbot) -> tuple:
    """The grid design shown at zoom 1 with its first node near the view's top left:
    (design, scene, view)."""
    design = grid_design()
    scene, view = open_canvas(qtbot, design)
    view.centerOn(scene.nodes[next(iter(design.nodes))].pos() + QPointF(420, 300))
    QApplication.processEvents()
    return design, scene, view


@pytest.fixture
def canvas(qtbot):
    design, scene, view = grid_canvas(qtbot)
    yield design, scene, view
    scene.close()


def view_rect(view, scene_rect: QRectF):
    return view.mapFromScene(scene_rect).boundingRect().adjusted(-4, -4, 4, 4)


def area(region: QRegion) -> int:
    return sum(r.width() * r.height() for r in region)


def a_middle_node(design, scene, view):
    """An op node near the middle of the view, with at least one wire."""
    centre = view.mapToScene(view.viewport().rect().center())
    return min((scene.nodes[n] for n, node in design.nodes.items() if node.kind == "op" and scene.node_wires.get(n)),
               key=lambda item: (item.pos() - centre).manhattanLength())


def test_dragging_a_node_repaints_only_it_and_its_own_wires(qtbot, canvas):
    design, scene, view = canvas
    item = a_middle_node(design, scene, view)
    own = set(scene.node_wires[item.node_id])
    others = {w: (QPointF(w.start), QPointF(w.end)) for w in scene.wires.values() if w not in own}
    before = item.sceneBoundingRect()
    for wire in own:
        before = before.united(wire.sceneBoundingRect())
    viewport = view.viewport()
    grab = view.mapFromScene(item.mapToScene(QPointF(0, 8)))
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab)
    QApplication.processEvents()
    spy = PaintSpy(viewport)
    for step in range(1, 6):
        QTest.mouseMove(viewport, grab + QPoint(6 * step, 4 * step))
        QApplication.processEvents()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab + QPoint(30, 20))
    assert item.pos() != QPointF(*design.nodes[item.node_id].position) or design.nodes[item.node_id].position != (0, 0)
    after = item.sceneBoundingRect()
    for wire in own:
        after = after.united(wire.sceneBoundingRect())
    allowed = QRegion(view_rect(view, before)).united(QRegion(view_rect(view, after)))
    assert spy.count >= 1
    assert spy.region.subtracted(allowed).isEmpty(), "a drag repainted more than the node and its own wires"
    assert area(spy.region) < 0.5 * viewport.width() * viewport.height()
    # the other wires were not even re-routed
    assert all((w.start, w.end) == ends for w, ends in others.items())


def test_dragging_a_node_past_the_designs_edge_grows_the_scene_a_step_at_a_time(qtbot, canvas):
    """Qt's own scene rect (its items' bounding box) grew with every move of a node past
    the design's edge, and each growth rebuilt the item index and repainted the whole view."""
    design, scene, view = canvas
    edge = scene.itemsBoundingRect().bottom()
    assert scene.sceneRect() == scene.itemsBoundingRect()          # at first what Qt's own would be
    item = max(scene.nodes.values(), key=lambda i: (i.pos().y(), -abs(i.pos().x() - 600)))
    view.centerOn(item.pos() + QPointF(0, 150))
    QApplication.processEvents()
    changes = []
    scene.sceneRectChanged.connect(changes.append)
    viewport = view.viewport()
    grab = view.mapFromScene(item.mapToScene(QPointF(0, 8)))
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab)
    QTest.mouseMove(viewport, grab + QPoint(0, 10))                # past the edge: the first growth
    QApplication.processEvents()
    spy = PaintSpy(viewport)
    for step in range(2, 8):
        QTest.mouseMove(viewport, grab + QPoint(0, 10 * step))
        QApplication.processEvents()
        assert scene.sceneRect().contains(item.sceneBoundingRect())
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab + QPoint(0, 70))
    assert item.sceneBoundingRect().bottom() > edge + 40              # it went past the edge
    assert len(changes) == 1, "the scene's rect grew with each move"
    assert spy.count >= 1 and area(spy.region) < 0.5 * viewport.width() * viewport.height()


def test_an_edit_repaints_only_the_nodes_whose_look_changed(qtbot, canvas):
    design, scene, view = canvas
    leaf = next(n for n, node in design.nodes.items() if node.kind == "leaf")
    states = {n: item._state for n, item in scene.nodes.items()}
    # the minimap is redrawn on purpose a moment after a change (Minimap.DELAY): on a loaded
    # machine that moment can fall inside this test's event-loop turn, so not here
    view.minimap.timer.setInterval(60_000)
    spy = PaintSpy(view.viewport())
    view.document.set_value(leaf, "zeros(4)")        # same shape: nothing else looks different
    QApplication.processEvents()
    assert design.nodes[leaf].value == "zeros(4)"
    assert [n for n, item in scene.nodes.items() if item._state != states[n]] == [leaf]
    assert spy.region.subtracted(QRegion(view_rect(view, scene.nodes[leaf].sceneBoundingRect()))).isEmpty()


def test_a_pan_paints_only_the_strip_that_came_into_sight_even_with_the_minimap(qtbot, canvas):
    design, scene, view = canvas
    assert len(design.nodes) >= 25 and view.minimap.isVisible()
    viewport = view.viewport()
    spy = PaintSpy(viewport)
    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() + 20)
    QApplication.processEvents()
    assert spy.count >= 1
    strip = 20 * viewport.height()
    minimap = view.minimap.SIZE[0] * view.minimap.SIZE[1]
    # the strip, and the minimap where it was and where it is: not the whole view
    assert area(spy.region) <= strip + 2 * minimap + 4 * (viewport.height() + 400)
    assert area(spy.region) < 0.3 * viewport.width() * viewport.height()


def test_zoomed_out_the_items_paint_nothing_and_one_overview_draws_boxes_and_lines(qtbot, canvas):
    design, scene, view = canvas
    item = next(iter(scene.nodes.values()))
    view.zoom_by(0.3)
    view.viewport().repaint()
    assert view.zoom() < style.SIMPLE_BELOW and scene.overview_shown and scene.overview.active
    assert not scene.node_layer.active and not scene.wire_layer.active
    assert all(i.flags() & NO_CONTENTS for i in scene.nodes.values())
    assert all(w.flags() & NO_CONTENTS for w in scene.wires.values())
    assert not scene.overview.flags() & NO_CONTENTS
    assert len(scene.overview.boxes) == len(design.nodes) and len(scene.overview.lines) == len(design.links)
    # the box is drawn, in the node's colour, where the node is
    image = view.viewport().grab().toImage()
    centre = view.mapFromScene(item.mapToScene(QPointF(0, 0)))
    assert QColor(image.pixel(centre)) == QColor(style.KIND_COLORS[item.kind])
    # the items are still there to pick and drag
    assert scene.node_at(item.scenePos()) is item
    view.zoom_by(1 / view.zoom())
    view.viewport().repaint()
    # detailed again: the node layer paints the nodes (the items themselves never do)
    assert not scene.overview_shown and scene.node_layer.active and scene.wire_layer.active
    assert all(i.flags() & NO_CONTENTS for i in scene.nodes.values())
    assert scene.overview.flags() & NO_CONTENTS and not scene.node_layer.flags() & NO_CONTENTS


def test_the_overview_follows_a_drag_and_the_minimap_is_redrawn_once_after_it(qtbot):
    design = grid_design(columns=16, rows=10)        # wider than the view even zoomed out
    scene, view = open_canvas(qtbot, design, zoom=0.4)
    view.centerOn(scene.overview.boundingRect().center())
    QApplication.processEvents()
    view.viewport().repaint()
    assert scene.overview_shown
    item = a_middle_node(design, scene, view)
    qtbot.wait(view.minimap.DELAY + 100)
    view.viewport().repaint()
    redraws = view.minimap.redraws
    viewport = view.viewport()
    grab = view.mapFromScene(item.mapToScene(QPointF(0, 0)))
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab)
    for step in range(1, 11):
        QTest.mouseMove(viewport, grab + QPoint(3 * step, 2 * step))
        QApplication.processEvents()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab + QPoint(30, 20))
    QApplication.processEvents()
    assert view.minimap.redraws == redraws, "the minimap was redrawn during the drag"
    assert scene.overview.boxes[item.node_id][0] == item.mapRectToScene(item.rect())
    qtbot.waitUntil(lambda: not view.minimap.timer.isActive(), timeout=3000)
    view.viewport().repaint()
    assert view.minimap.redraws == redraws + 1
    scene.close()


def test_a_picture_of_a_zoomed_out_design_is_drawn_in_full_detail(qtbot, canvas):
    design, scene, view = canvas
    source = scene.itemsBoundingRect()

    def picture():
        image = QImage(int(source.width()), int(source.height()), QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        scene.render(painter, QRectF(image.rect()), source)
        painter.end()
        return image

    def differing(a, b):       # sampled; equal-z wires may stack in another order over a label
        points = [(x, y) for x in range(0, a.width(), 3) for y in range(0, a.height(), 3)]
        return sum(a.pixel(x, y) != b.pixel(x, y) for x, y in points) / len(points)

    detailed = picture()
    view.zoom_by(0.3)
    view.viewport().repaint()
    assert scene.overview_shown
    assert differing(picture(), detailed) < 0.01
    # (the overview look itself would differ everywhere a node has text)
    overview = QImage(detailed.size(), QImage.Format.Format_ARGB32)
    overview.fill(0)
    painter = QPainter(overview)
    painter.setWindow(source.toRect())
    scene.overview.draw(painter)
    painter.end()
    assert differing(overview, detailed) > 0.05
    assert scene.overview_shown and not scene.node_layer.active and scene.overview.active


def test_a_long_wire_is_kept_as_exact_pieces_of_its_curve(qtbot):
    start, end = QPointF(0, 0), QPointF(2600, 900)
    path = wire_path(start, end)
    pieces = wire_pieces(start, end, path.length())
    assert len(pieces) >= 8
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = wire_controls(start, end)

    def bezier(points, t):
        (a, b), (c, d), (e, f), (g, h) = points
        u = 1 - t
        return QPointF(u ** 3 * a + 3 * u * u * t * c + 3 * u * t * t * e + t ** 3 * g,
                       u ** 3 * b + 3 * u * u * t * d + 3 * u * t * t * f + t ** 3 * h)

    whole = ((x0, y0), (x1, y1), (x2, y2), (x3, y3))
    n = len(pieces)
    for k, (bounds, piece, before) in enumerate(pieces):
        assert piece.elementCount() == 4
        own = tuple((piece.elementAt(i).x, piece.elementAt(i).y) for i in range(4))
        for s_ in (0.0, 0.25, 0.5, 0.75, 1.0):     # each piece is the curve itself, re-parametrised
            assert (bezier(own, s_) - bezier(whole, (k + s_) / n)).manhattanLength() < 1e-6
        assert bounds.contains(piece.boundingRect())
    assert abs(sum(piece.length() for _, piece, _ in pieces) - path.length()) < 1.0
    assert pieces[-1][2] == pytest.approx(path.length() - pieces[-1][1].length(), abs=1.0)
    # a wire only strokes pieces when it is long
    wire = WireItem(None, style.colors())
    wire.set_ends(QPointF(0, 0), QPointF(200, 40))
    assert wire._pieces == []
    wire.set_ends(start, end)
    assert len(wire._pieces) == len(pieces)


def _ink(image: QImage, x: int) -> float:
    """How much is drawn down column ``x`` of ``image`` (white background): summed darkness."""
    return sum(255 - QColor(image.pixel(x, y)).lightness() for y in range(image.height())) / 255


def test_at_about_1_to_1_a_wire_is_twin_thin_lines_inked_like_its_wide_stroke(qtbot):
    from gradstudio.ui.editor.items import twin_outline
    pen = QPen(QColor("#d35400"), 2.4)
    straight = wire_path(QPointF(0, 10), QPointF(300, 10))
    outline = twin_outline(straight, pen)
    assert outline.boundingRect().height() == pytest.approx(1.4, abs=0.01)     # its sides 1 unit inside the stroke's
    dashed = QPen(QColor("#9aa0a8"), 1.6, Qt.PenStyle.DashLine)
    dashes = twin_outline(straight, dashed).toSubpathPolygons()
    assert len(dashes) == pytest.approx(300 / (6 * 1.6), abs=2)                  # the pen's own dash lengths
    assert all(p.boundingRect().width() <= 4 * 1.6 + 0.01 for p in dashes)

    colors = style.colors()
    colors["background"] = QColor("white")
    scene = QGraphicsScene()
    scene.setBackgroundBrush(QColor("white"))
    scene.setSceneRect(QRectF(0, 0, 240, 120))
    wire = WireItem(None, colors)
    wire.set_state(True, None)
    wire.set_ends(QPointF(10, 20), QPointF(230, 100))
    scene.addItem(wire)
    image = QImage(240, 120, QImage.Format.Format_RGB32)
    wide = QImage(image)
    for target, twin in ((image, True), (wide, False)):
        target.fill(QColor("white"))
        painter = QPainter(target)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if twin:
            scene.render(painter, QRectF(target.rect()), scene.sceneRect())
        else:
            painter.setPen(wire.pen())
            painter.drawPath(wire.path())
        painter.end()
    for x in (40, 120, 200):      # flat, steep and flat again: as much ink as the wide stroke, give or take
        assert 0.75 < _ink(image, x) / _ink(wide, x) < 1.3, x
    assert style.THIN_BELOW < 1.0 < style.WIDE_FROM


def test_a_zoom_scales_the_node_picture_and_draws_the_nodes_crisp_once_it_stops(qtbot, canvas):
    design, scene, view = canvas
    layer = scene.node_layer
    view.viewport().repaint()
    pictures, painted = layer.pictures, layer.painted
    assert layer.picture is not None and all(i.cacheMode() == QGraphicsItem.CacheMode.NoCache
                                             for i in scene.nodes.values())
    view.zoom_by(1.1)
    view.viewport().repaint()
    assert scene.zoom_cached
    view.zoom_by(1 / 1.1)                 # each step only scales the picture: no node is painted
    view.viewport().repaint()
    assert (layer.pictures, layer.painted) == (pictures, painted)
    qtbot.waitUntil(lambda: not scene.zoom_cached, timeout=2000)
    view.viewport().repaint()
    assert layer.painted > painted                # made crisp, a few tiles a frame, the view's first
    qtbot.waitUntil(lambda: not layer.tiles, timeout=5000)
    assert layer.pictures == pictures


def test_a_node_cached_for_a_zoom_shows_its_new_value_at_once(qtbot, canvas):
    design, scene, view = canvas
    leaf = next(n for n, node in design.nodes.items() if node.kind == "leaf")
    item = scene.nodes[leaf]
    view.centerOn(item)
    scene._settle.setInterval(60_000)       # the zoom goes on for the whole test, however slow the machine
    view.zoom_by(1.05)
    assert scene.zoom_cached
    box = view_rect(view, item.mapRectToScene(item.rect()))

    def shot():
        view.viewport().repaint()
        return view.viewport().grab(box).toImage()

    before = shot()
    assert view.document.set_value(leaf, "ones(2, 3)") is None
    QApplication.processEvents()
    assert scene.zoom_cached and item.lines == ["ones(2, 3)"]
    assert shot() != before


def test_texts_are_glyph_runs_drawn_as_text_would_be_and_written_as_text_in_a_picture(qtbot):
    from PySide6.QtGui import QFont, QFontMetricsF
    from gradstudio.ui.editor.items import LaidText
    font = QFont()          # made here, with the application there (a font made before it may measure otherwise)
    font.setPointSizeF(8.5)
    text = LaidText("shape (4,)  float32  ∇", font)
    assert text.size().width() == pytest.approx(QFontMetricsF(font).horizontalAdvance(text.text), abs=1)
    images = []
    for glyphs in (True, False):
        picture = QPixmap(200, 30)           # a screen's device, as the view's (an image may have other metrics)
        picture.fill(QColor("white"))
        painter = QPainter(picture)
        painter.setPen(QColor("black"))
        text.draw(painter, QPointF(4, 6), glyphs)
        painter.end()
        images.append(picture.toImage())
    inks = [[_ink(image, x) for x in range(200)] for image in images]
    extents = [(min(x for x in range(200) if ink[x] > 0.3), max(x for x in range(200) if ink[x] > 0.3)) for ink in inks]
    assert extents[0][1] - extents[0][0] == pytest.approx(text.size().width(), abs=3)
    assert extents[0] == pytest.approx(extents[1], abs=1)           # the same words in the same place
    assert sum(inks[0]) == pytest.approx(sum(inks[1]), rel=0.05)    # in the same weight
