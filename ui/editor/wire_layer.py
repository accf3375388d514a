"""Every wire of the detailed look, drawn by one item: the :class:`WireLayer`.

A wire is still a :class:`~.items.WireItem` — it keeps its path, pens and label,
and answers hit tests, hover (its tooltip) and selection — but in a
:class:`~.scene.DesignScene` it is marked ``ItemHasNoContents``, so Qt calls no
Python ``paint`` for it. The layer paints them all in one call: it keeps each
shown wire's cover (:meth:`WireItem.cover`: the boxes of its pieces and its
label) in a grid of :data:`CELL`-sized cells, takes from the grid only the wires
whose cover meets the exposed rect, strokes them in a fixed order with the
selected ones last (on top), then fills all their label boxes in one call and
writes every label over every wire. A wire that changes (dragged, selected,
edited) tells the layer, which re-indexes that one wire and repaints only its
old and new cover.

During a zoom gesture (``DesignScene.zooming``) the wires are, like the nodes, a
picture that each step only scales: drawn once into an image of what is in view
at the gesture's scale (:class:`ZoomPicture`), then blitted; what a zoom out
brings into sight beyond it is drawn directly, clipped to those bands, until
the bands are most of the view and the picture is drawn again. The frame after
the zoom stops (``DesignScene.zoom_settled``) draws the wires crisp. A picture
of the design (``DesignScene.full_detail``) is always drawn as paths.

Below ``SIMPLE_BELOW`` the scene's :class:`~.items.Overview` draws the wires
instead and the layer paints nothing (:meth:`set_active`).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from . import style
from .items import NO_CONTENTS, glyphs_ok, zoom_of

CELL = 400.0          # scene units per side of a grid cell of the wire index
MAX_PICTURE = 4096    # pixels per side of a zoom picture, at most
REDRAW_FROM = 0.5     # a zoom picture is drawn again when the bands beyond it are this much of the view


@dataclass
class ZoomPicture:
    """The wires of ``rect`` (scene) drawn at ``zoom`` into ``image``."""

    image: QImage
    rect: QRectF
    zoom: float


class WireLayer(QGraphicsItem):
    def __init__(self, colors: dict):
        super().__init__()
        self.colors = colors
        self.active = True
        self.covers: dict = {}      # WireItem -> its cover (scene rects), for every shown wire
        self.cells: dict = {}       # (column, row) -> the WireItems whose cover meets that cell
        self.order: dict = {}       # WireItem -> serial: wires are drawn in the order they came
        self._serial = itertools.count()
        self.bounds = QRectF()
        self.picture: ZoomPicture | None = None
        self.stroked = 0            # wires stroked so far (the tests count them)
        self.pictures = 0           # zoom pictures drawn so far
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)   # a true exposedRect

    # -- what the wires report ---------------------------------------------------------------------
    def wire_changed(self, wire):
        old = self.covers.get(wire)
        if not wire.isVisible() or wire.path().isEmpty():
            if old is not None:
                self.forget_wire(wire)
            return
        cover = wire.cover()
        if old is not None:
            self._unindex(wire, old)
        else:
            self.order[wire] = next(self._serial)
        self.covers[wire] = cover
        self._index(wire, cover)
        united = _union(cover)
        if not self.bounds.contains(united):
            self.prepareGeometryChange()
            self.bounds = united if self.bounds.isNull() else self.bounds.united(united)
        self.picture = None
        self._repaint(cover if old is None else old + cover)

    def forget_wire(self, wire):
        old = self.covers.pop(wire, None)
        self.order.pop(wire, None)
        if old is not None:
            self._unindex(wire, old)
            self.picture = None
            self._repaint(old)

    def _cells(self, rect: QRectF):
        left, right = math.floor(rect.left() / CELL), math.floor(rect.right() / CELL)
        top, bottom = math.floor(rect.top() / CELL), math.floor(rect.bottom() / CELL)
        return ((i, j) for i in range(left, right + 1) for j in range(top, bottom + 1))

    def _index(self, wire, cover: list):
        cells = self.cells
        for rect in cover:
            for cell in self._cells(rect):
                cells.setdefault(cell, set()).add(wire)

    def _unindex(self, wire, cover: list):
        cells = self.cells
        for rect in cover:
            for cell in self._cells(rect):
                held = cells.get(cell)
                if held is not None:
                    held.discard(wire)
                    if not held:
                        del cells[cell]

    def _repaint(self, rects: list):
        if self.active:
            for rect in rects:
                self.update(rect.adjusted(-2, -2, 2, 2))

    def wires_in(self, rect: QRectF) -> list:
        """The shown wires whose cover meets ``rect``, in drawing order (selected last)."""
        found = set()
        cells = self.cells
        for cell in self._cells(rect):
            held = cells.get(cell)
            if held:
                found |= held
        covers = self.covers
        shown = [w for w in found if any(rect.intersects(r) for r in covers[w])]
        order = self.order
        shown.sort(key=lambda w: (w.isSelected(), order[w]))
        return shown

    # -- the looks ----------------------------------------------------------------------------------
    def set_active(self, active: bool):
        """Painting (the detailed look) or not (the overview draws the wires)."""
        if active != self.active:
            self.active = active
            self.picture = None
            self.setFlag(NO_CONTENTS, not active)
            self.update()

    def settle(self):
        """The zoom stopped: the next frame draws the wires crisp at the new scale."""
        if self.picture is not None:
            self.picture = None
            self.update()

    # -- painting ------------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self.bounds

    def paint(self, painter, option, widget=None):
        zoom = zoom_of(painter)
        exposed = option.exposedRect
        scene = self.scene()
        if widget is not None and scene is not None and getattr(scene, "zoom_cached", False) \
                and not scene.drawing_picture:
            self._paint_zooming(painter, exposed, zoom, widget.devicePixelRatioF())
        else:
            self.picture = None
            self.draw(painter, exposed, zoom, glyphs_ok(self))

    def draw(self, painter, exposed: QRectF, zoom: float, raster: bool = True):
        """The wires that meet ``exposed`` as they look at ``zoom``; labels over all of them."""
        wires = self.wires_in(exposed)
        self.stroked += len(wires)
        for wire in wires:
            wire.draw(painter, zoom, exposed, raster)
        if zoom < style.TEXT_BELOW:
            return
        labelled = [w for w in wires if w.label and exposed.intersects(w.label_box)]
        if labelled:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.colors["background"])
            painter.drawRects([w.label_box for w in labelled])
            painter.setPen(self.colors["muted"])
            for wire in labelled:
                wire.draw_label(painter, raster)

    def _paint_zooming(self, painter, exposed: QRectF, zoom: float, ratio: float):
        picture = self.picture
        bands = [] if picture is None else _outside(exposed, picture.rect)
        if picture is None or sum(b.width() * b.height() for b in bands) \
                > REDRAW_FROM * exposed.width() * exposed.height():
            picture = self.picture = self._draw_picture(exposed, zoom, ratio)
            bands = _outside(exposed, picture.rect)
        painter.drawImage(picture.rect, picture.image)
        for band in bands:                  # beyond the picture (zooming out): drawn as they are
            painter.save()
            painter.setClipRect(band, Qt.ClipOperation.IntersectClip)
            self.draw(painter, band, zoom)
            painter.restore()

    def _draw_picture(self, rect: QRectF, zoom: float, ratio: float) -> ZoomPicture:
        """The wires of ``rect`` drawn into an image at ``zoom`` (its pixel ratio ``ratio``)."""
        scale = zoom * ratio
        if max(rect.width(), rect.height()) * scale > MAX_PICTURE:     # (a huge exposed rect: cut to it)
            scale = MAX_PICTURE / max(rect.width(), rect.height())
        width, height = max(1, math.ceil(rect.width() * scale)), max(1, math.ceil(rect.height() * scale))
        image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(scale / ratio, scale / ratio)
        painter.translate(-rect.left(), -rect.top())
        self.draw(painter, rect, zoom)
        painter.end()
        self.pictures += 1
        return ZoomPicture(image, QRectF(rect.left(), rect.top(), width / scale, height / scale), zoom)


def _union(rects: list) -> QRectF:
    united = QRectF(rects[0])
    for rect in rects[1:]:
        united = united.united(rect)
    return united


def _outside(rect: QRectF, inner: QRectF) -> list:
    """``rect`` less ``inner`` as up to four rects (above, below, left, right of it)."""
    if inner.contains(rect):
        return []
    if not inner.intersects(rect):
        return [QRectF(rect)]
    out = []
    if rect.top() < inner.top():
        out.append(QRectF(rect.left(), rect.top(), rect.width(), inner.top() - rect.top()))
    if rect.bottom() > inner.bottom():
        out.append(QRectF(rect.left(), inner.bottom(), rect.width(), rect.bottom() - inner.bottom()))
    top, bottom = max(rect.top(), inner.top()), min(rect.bottom(), inner.bottom())
    if rect.left() < inner.left():
        out.append(QRectF(rect.left(), top, inner.left() - rect.left(), bottom - top))
    if rect.right() > inner.right():
        out.append(QRectF(inner.right(), top, rect.right() - inner.right(), bottom - top))
    return [r for r in out if r.width() > 0 and r.height() > 0]
