"""Every wire of the detailed look, drawn by one item: the :class:`WireLayer`.

A wire is still a :class:`~.items.WireItem` — it keeps its path, pens and label,
and answers hit tests, hover (its tooltip) and selection — but in a
:class:`~.scene.DesignScene` it is marked ``ItemHasNoContents``, so Qt calls no
Python ``paint`` for it (one Python paint per wire was about a third of a
frame). The layer draws them: it keeps each shown wire's cover
(:meth:`WireItem.cover`: the boxes of its pieces and its label) in a
:class:`~.grid.Grid`, takes only the wires whose cover meets the exposed rect,
strokes them in a fixed order with the selected ones last (on top), then writes
every label, on its box, over every wire. A wire that changes (dragged,
selected, edited) tells the layer, which re-indexes that one wire and repaints
only its old and new cover.

What it draws is kept as a picture of the view (:mod:`.picture`): a pan blits
it, a zoom scales it until the zoom settles, and a dragged node's wires are
drawn over it. A picture of the design (``DesignScene.full_detail``) is drawn
as paths. Below ``SIMPLE_BELOW`` the scene's :class:`~.items.Overview` draws
the wires instead and the layer paints nothing (:meth:`set_active`).
"""
from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen

from . import style
from .grid import Grid
from .items import clip_ends
from .picture import PictureLayer

CELL = 400.0          # scene units per side of a grid cell of the wire index


class WireLayer(PictureLayer):
    def __init__(self, colors: dict):
        super().__init__(active=True)
        self.colors = colors
        self.covers: dict = {}      # WireItem -> its cover (scene rects), for every shown wire
        self.grid = Grid(CELL)      # where each shown wire's cover is
        self.order: dict = {}       # WireItem -> serial: wires are drawn in the order they came
        self._serial = itertools.count()
        self.stroked = 0            # wires stroked so far (the tests count them)
        self.setZValue(0)

    # -- what the wires report ---------------------------------------------------------------------
    def wire_changed(self, wire):
        old = self.covers.get(wire)
        if not wire.isVisible() or wire.path().isEmpty():
            if old is not None:
                self.forget_wire(wire)
            return
        cover = wire.cover()
        if old is not None:
            self.grid.remove(wire, old)
        else:
            self.order[wire] = next(self._serial)
        self.covers[wire] = cover
        self.grid.add(wire, cover)
        self.hold(_union(cover))
        self.leave_picture(wire, old)
        self._repaint(cover if old is None else old + cover)

    def forget_wire(self, wire):
        old = self.covers.pop(wire, None)
        self.order.pop(wire, None)
        if old is not None:
            self.grid.remove(wire, old)
            self.leave_picture(wire, old)
            self.live.discard(wire)
            self._repaint(old)

    def _repaint(self, rects: list):
        if self.active:
            for rect in rects:
                self.update(rect.adjusted(-2, -2, 2, 2))

    def wires_in(self, rect: QRectF) -> list:
        """The shown wires whose cover meets ``rect``, in drawing order (selected last)."""
        covers = self.covers
        shown = [w for w in self.grid.near(rect) if any(rect.intersects(r) for r in covers[w])]
        order = self.order
        shown.sort(key=lambda w: (w.isSelected(), order[w]))
        return shown

    # -- painting ------------------------------------------------------------------------------------
    def draw_part(self, painter, exposed: QRectF, zoom: float, raster: bool = True, skip=(), only=None):
        """The wires that meet ``exposed`` (less ``skip``; of ``only``) as they look at
        ``zoom``; labels over all of them."""
        wires = self.wires_in(exposed)
        if skip:
            wires = [w for w in wires if w not in skip]
        if only is not None:
            wires = [w for w in wires if w in only]
        self.stroked += len(wires)
        for wire in wires:
            wire.draw(painter, zoom, exposed, raster)
        if zoom < style.TEXT_BELOW:
            return
        labelled = [w for w in wires if w.label and exposed.intersects(w.label_box)]
        if labelled:
            background, muted = self.colors["background"], self.colors["muted"]
            painter.setBrush(background)
            for wire in labelled:           # each box over the labels before it, as the wires lie
                painter.setPen(Qt.PenStyle.NoPen)
                painter.drawRect(wire.label_box)
                painter.setPen(muted)
                wire.draw_label(painter, raster)


    def draw_rough(self, painter, rects: list):
        """Each wire as a thin straight line, not antialiased and cut to each of ``rects``,
        in one call a look and rect (the edges a zoom out brings in, a picture made during
        a zoom, until they are drawn crisp once it settles): the rasteriser's cost is the
        length it strokes, so a long wire across the view is cut to the bands, not to
        their bounding box."""
        near = set()
        for rect in rects:
            near |= self.grid.near(rect)
        lines: dict = {}                   # (selected, flows) -> (pen, [ends])
        for wire in near:
            if wire not in self.live:
                selected = wire.isSelected()
                look = lines.get((selected, wire.flows))
                if look is None:              # solid: a dashed thin line costs several times more
                    pen = QPen((wire._thin_selected if selected else wire._thin).color(), 1.0)
                    pen.setCosmetic(True)
                    look = lines[selected, wire.flows] = (pen, [])
                look[1].append(wire.ends)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for pen, ends in lines.values():
            painter.setPen(pen)
            ends = np.array(ends)
            for rect in rects:
                painter.drawLines([QLineF(*e) for e in clip_ends(ends, rect)[2]])
        painter.restore()


def _union(rects: list) -> QRectF:
    united = QRectF(rects[0])
    for rect in rects[1:]:
        united = united.united(rect)
    return united


