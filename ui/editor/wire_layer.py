"""Every wire of the detailed look, drawn by one item: the :class:`WireLayer`.

A wire is still a :class:`~.items.WireItem` — it keeps its path, pens and label,
and answers hit tests, hover (its tooltip) and selection — but in a
:class:`~.scene.DesignScene` it is marked ``ItemHasNoContents``, so Qt calls no
Python ``paint`` for it. The layer paints them all in one call: it keeps each
shown wire's cover (:meth:`WireItem.cover`: the boxes of its pieces and its
label) in a grid of :data:`CELL`-sized cells, takes from the grid only the wires
whose cover meets the exposed rect, strokes them in a fixed order with the
selected ones last (on top), then writes every label (on its box) over every
wire. A wire that changes (dragged, selected,
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

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem

from . import style
from .items import NO_CONTENTS, glyphs_ok, zoom_of

CELL = 400.0          # scene units per side of a grid cell of the wire index
MARGIN = 0.15         # of the view's size, drawn into the picture beyond each of its sides
MAX_PICTURE = 4096    # pixels per side of a picture, at most
LIVE_MAX = 64         # wires drawn over the picture, at most: more, and it is drawn again
REDRAW_FROM = 0.4     # the picture is drawn again when what is in view beyond it is this much of the view
FULL_FROM = 0.5       # a repaint of at least this much of the view makes a new picture (less: drawn as is)


@dataclass
class WirePicture:
    """The wires of ``rect`` (scene) drawn into ``image`` under ``transform``."""

    image: QImage
    rect: QRectF
    transform: QTransform        # scene -> the view's pixels, when it was drawn
    to_image: QTransform         # scene -> the image's pixels (logical, as its painter has them)

    def fits(self, transform: QTransform) -> bool:
        """Whether it can be blitted 1:1 under ``transform``: the same scale, moved by whole pixels."""
        t = self.transform
        if (transform.m11(), transform.m12(), transform.m21(), transform.m22()) != (t.m11(), t.m12(), t.m21(), t.m22()):
            return False
        dx, dy = transform.dx() - t.dx(), transform.dy() - t.dy()
        return abs(dx - round(dx)) < 1e-6 and abs(dy - round(dy)) < 1e-6


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
        self.picture: WirePicture | None = None
        self.live: set = set()      # wires not in the picture (changed since): drawn over it as they are
        self._holes: list = []      # scene rects of the picture to draw again without the live wires
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
        self._leave_picture(wire, old)
        self._repaint(cover if old is None else old + cover)

    def forget_wire(self, wire):
        old = self.covers.pop(wire, None)
        self.order.pop(wire, None)
        if old is not None:
            self._unindex(wire, old)
            self._leave_picture(wire, old)
            self.live.discard(wire)
            self._repaint(old)

    def _leave_picture(self, wire, old):
        """``wire`` changed: from now on it is drawn over the picture, which is drawn again
        where it was (once, at the next paint: a drag's first move, not every move)."""
        if self.picture is None or wire in self.live:
            return
        self.live.add(wire)
        if old is not None:
            self._holes.extend(old)
        if len(self.live) > LIVE_MAX:
            self.picture = None

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
        if widget is None or scene is None or getattr(scene, "drawing_picture", False):
            self.draw(painter, exposed, zoom, glyphs_ok(self))          # an export: paths and text
            return
        transform = painter.worldTransform()
        if painter.device() is not widget:
            # the view rendered elsewhere (an image of it): the picture if it fits, never a new one
            picture = self.picture
            if picture is None or scene.zoom_cached or not picture.fits(transform) or self._holes:
                self.draw(painter, exposed, zoom)
            else:
                self._blit(painter, picture, transform, exposed, zoom)
            return
        zooming = getattr(scene, "zoom_cached", False)
        ratio = widget.devicePixelRatioF()
        visible = transform.inverted()[0].mapRect(QRectF(widget.rect()))
        picture = self.picture
        if picture is not None and not (zooming or picture.fits(transform)):
            picture = self.picture = None                             # zoomed (and settled) or turned
        if picture is None or _area(_outside(visible, picture.rect)) > REDRAW_FROM * _area([visible]):
            if not zooming and _area([exposed.intersected(visible)]) < FULL_FROM * _area([visible]):
                self.draw(painter, exposed, zoom)       # a small repaint (a drag): drawn as it is
                return
            picture = self.picture = self._draw_picture(visible, transform, zoom, ratio)
        if self._holes:
            self._patch(picture, zoom)
        if zooming:
            painter.drawImage(picture.rect, picture.image)              # scaled, until the zoom settles
            self._beyond(painter, picture, exposed, zoom)
        else:
            self._blit(painter, picture, transform, exposed, zoom)

    def _blit(self, painter, picture: WirePicture, transform, exposed: QRectF, zoom: float):
        at = transform.map(picture.rect.topLeft())
        painter.save()
        painter.resetTransform()                         # pixel for pixel: what drawing them would give
        painter.drawImage(QPointF(round(at.x()), round(at.y())), picture.image)
        painter.restore()
        self._beyond(painter, picture, exposed, zoom)

    def _beyond(self, painter, picture: WirePicture, exposed: QRectF, zoom: float):
        """Over the picture, what it lacks: the wires beyond its edges, and the live ones."""
        for band in _outside(exposed, picture.rect):    # beyond the picture (a pan, a zoom out)
            painter.save()
            painter.setClipRect(band, Qt.ClipOperation.IntersectClip)
            self.draw(painter, band, zoom, skip=self.live)
            painter.restore()
        if self.live:
            self.draw(painter, exposed, zoom, only=self.live)

    def draw(self, painter, exposed: QRectF, zoom: float, raster: bool = True, skip=(), only=None):
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

    def _draw_picture(self, visible: QRectF, transform, zoom: float, ratio: float) -> WirePicture:
        """The wires of ``visible`` and a margin around it, drawn under ``transform`` (scene
        to the view's pixels, of pixel ratio ``ratio``) into an image whose corner sits on
        a whole pixel of the view, so that blitting it 1:1 gives the same pixels."""
        rect = visible.adjusted(-MARGIN * visible.width(), -MARGIN * visible.height(),
                                MARGIN * visible.width(), MARGIN * visible.height())
        device = transform.mapRect(rect)
        left, top = math.floor(device.left()), math.floor(device.top())
        width = min(MAX_PICTURE, math.ceil(device.right()) - left)
        height = min(MAX_PICTURE, math.ceil(device.bottom()) - top)
        image = QImage(max(1, round(width * ratio)), max(1, round(height * ratio)),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(0)
        inverse = transform.inverted()[0]
        covered = inverse.mapRect(QRectF(left, top, width, height))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(transform * QTransform.fromTranslate(-left, -top))
        self.draw(painter, covered, zoom)
        painter.end()
        self.pictures += 1
        self.live.clear()
        self._holes.clear()
        return WirePicture(image, covered, QTransform(transform), QTransform(transform * QTransform.fromTranslate(-left, -top)))

    def _patch(self, picture: WirePicture, zoom: float):
        """Draw the picture again where live wires were, without them: cleared and redrawn
        on whole pixels (a clear on a fraction of a pixel would leave a faint edge)."""
        holes, self._holes = self._holes, []
        to_image = picture.to_image
        from_image = to_image.inverted()[0]
        bounds = QRectF(QPointF(0, 0), picture.image.deviceIndependentSize())
        painter = QPainter(picture.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for hole in holes:
            pixels = to_image.mapRect(hole.adjusted(-2, -2, 2, 2)).intersected(bounds)
            if pixels.isEmpty():
                continue
            pixels = QRectF(QPointF(math.floor(pixels.left()), math.floor(pixels.top())),
                            QPointF(math.ceil(pixels.right()), math.ceil(pixels.bottom())))
            painter.resetTransform()
            painter.setClipRect(pixels)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
            painter.fillRect(pixels, Qt.GlobalColor.transparent)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
            painter.setTransform(to_image)
            self.draw(painter, from_image.mapRect(pixels), zoom, skip=self.live)
        painter.end()


def _area(rects: list) -> float:
    return sum(r.width() * r.height() for r in rects)


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
