"""Every node of the detailed look, drawn by one item: the :class:`NodeLayer`.

A node is still a :class:`~.items.NodeItem` — it keeps its texts, paths and
ports, and answers hit tests, hover (its tooltip), selection and drags — but in
a :class:`~.scene.DesignScene` it is marked ``ItemHasNoContents`` for good, so
Qt calls no Python ``paint`` or ``boundingRect`` for it per frame. The layer
paints them: it keeps each shown node's box (its bounds in the scene) in a
:class:`~.grid.Grid`, takes only the nodes whose box meets the exposed rect and
paints them in the order they came (Qt's stacking order for items of one z). A
node that changes (moved, selected, edited, hidden in a collapsed group) tells
the layer (:meth:`node_changed`), which re-indexes that one node and repaints
only its old and new box.

Two things come of one item drawing every node:

* the switch between the detailed look and the overview is one flag on this
  layer (``DesignScene.set_overview``), not one per node — two Python
  ``itemChange`` calls per node made the zoom step that crossed the band take
  24 ms at 500 nodes;
* what it draws is kept as a picture of the view (:mod:`.picture`), as the
  wires are: a pan blits it, a zoom scales one picture (where each node's own
  scaled cache was a blit per node per step, and a cache switch per node at the
  zoom's start and end), and a dragged or changed node is drawn over it.
"""
from __future__ import annotations

import itertools

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPen, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem

from . import style
from .grid import Grid
from .picture import PictureLayer


class NodeLayer(PictureLayer):
    def __init__(self):
        super().__init__(active=True)
        self.boxes: dict = {}       # NodeItem -> its bounds in the scene, for every shown node
        self.grid = Grid()          # where each shown node's box is
        self.order: dict = {}       # NodeItem -> serial: nodes are painted in the order they came
        self._serial = itertools.count()
        self.painted = 0            # node paints so far (the tests count them)
        self._option = QStyleOptionGraphicsItem()
        self.setZValue(1)           # the nodes' own z: over the wires (0) and the overview (0.5)

    # -- what the nodes report ----------------------------------------------------------------------
    def node_changed(self, item):
        """``item`` moved, changed its look, was selected, shown or hidden."""
        old = self.boxes.get(item)
        if not item.isVisible():            # hidden inside a collapsed group: not drawn
            if old is not None:
                self.forget_node(item)
            return
        box = item.mapRectToScene(item.boundingRect())
        if old is None:
            self.order[item] = next(self._serial)
        elif old != box:
            self.grid.remove(item, [old])
        if old != box:
            self.boxes[item] = box
            self.grid.add(item, [box])
            self.hold(box)
        self.leave_picture(item, None if old is None else [old])
        self._repaint([box] if old is None or old == box else [old, box])

    def forget_node(self, item):
        old = self.boxes.pop(item, None)
        self.order.pop(item, None)
        if old is not None:
            self.grid.remove(item, [old])
            self.leave_picture(item, [old])
            self.live.discard(item)
            self._repaint([old])

    def _repaint(self, rects: list):
        if self.active:
            for rect in rects:
                self.update(rect.adjusted(-2, -2, 2, 2))

    def nodes_in(self, rect: QRectF) -> list:
        """The shown nodes whose box meets ``rect``, in painting order."""
        boxes = self.boxes
        shown = [n for n in self.grid.near(rect) if rect.intersects(boxes[n])]
        shown.sort(key=self.order.__getitem__)
        return shown

    # -- painting ------------------------------------------------------------------------------------
    def draw_part(self, painter, exposed: QRectF, zoom: float, raster: bool = True, skip=(), only=None):
        """The nodes that meet ``exposed`` (less ``skip``; of ``only``), each painted by
        its own :meth:`~.items.NodeItem.paint` at its place."""
        nodes = self.nodes_in(exposed)
        if skip:
            nodes = [n for n in nodes if n not in skip]
        if only is not None:
            nodes = [n for n in nodes if n in only]
        self.painted += len(nodes)
        base = painter.worldTransform()
        option = self._option
        for item in nodes:
            at = item.pos()
            painter.setWorldTransform(QTransform.fromTranslate(at.x(), at.y()) * base)
            item.paint(painter, option, None)
        painter.setWorldTransform(base)

    def draw_rough(self, painter, rects: list):
        """Each node as its body, outlined, and its header, plain, in a few calls (the
        edges a zoom out brings in, a picture made during a zoom, until they are drawn
        crisp once it settles)."""
        nodes = [n for n in self.nodes_in(_box(rects)) if n not in self.live]
        if not nodes:
            return
        boxes = [item.mapRectToScene(item.rect()) for item in nodes]
        headers: dict = {}                       # rgba -> (colour, [header rects])
        for item, box in zip(nodes, boxes):
            headers.setdefault(item._accent.rgba(), (item._accent, []))[1].append(
                QRectF(box.left(), box.top(), box.width(), style.HEADER))
        colors = nodes[0].colors
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(QPen(colors["border"], 0))
        painter.setBrush(colors["node"])
        painter.drawRects(boxes)
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in headers.values():
            painter.setBrush(color)
            painter.drawRects(rects)
        painter.restore()


def _box(rects: list) -> QRectF:
    box = QRectF()
    for rect in rects:
        box = box.united(rect)
    return box
