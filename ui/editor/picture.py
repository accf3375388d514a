"""A layer item whose drawing is kept as a picture of what is in view: :class:`PictureLayer`.

The canvas's two big layers — every wire of the detailed look
(:class:`~.wire_layer.WireLayer`) and the zoomed-out overview's boxes and lines
(:class:`~.items.Overview`) — each draw a thousand things, and the rasteriser's
cost is the ink: long antialiased lines cost by their length whatever Python
does. So a layer draws what is in view, and a margin of :data:`MARGIN` of the
view around it (less during a zoom), once into an image (:class:`Picture`) whose corner sits on a
whole pixel of the view, and then:

* a pan or a full repaint blits it pixel for pixel (the same pixels drawing
  would give); when something beyond it comes into sight, the picture grows
  (:meth:`_extend`): a new one around the view, the old one blitted into it,
  the strip of the bands beyond the old one that is in view drawn at once and
  the rest of them (the margin ahead of the pan) left blank, in strips along
  the view's edge drawn nearest first between frames (:data:`IDLE`), repainting
  nothing (a blank strip that comes into view first is drawn before it shows)
  — so a pan never draws the whole view, nor its margin, in a frame;
* during a zoom gesture (``DesignScene.zoom_cached``) each step only scales it;
  a step out that brings in what is beyond it grows it the same way (the old
  picture scaled into the new one, the bands drawn plain in one pass —
  :meth:`draw_rough`: boxes and straight lines, not antialiased), and a
  picture made during a zoom (the other look's, across ``SIMPLE_BELOW``) is
  drawn plain whole; nothing is drawn crisp while the zoom goes on (its next
  step would throw it away). Once the zoom stops (:meth:`settle`) the picture
  is made crisp at the new scale in tiles of :data:`TILE` over the next frames
  (:data:`BUDGET` of GUI-thread time per frame, at least one tile): the view's
  tiles first, nearest its middle first, then the margin's, the scaled picture
  showing until each tile is drawn — the view whole in one frame took 27–57 ms
  at 500 and 2,000 nodes, the view and its margins 60–85 ms at 500;
* a thing that changes (a wire dragged with its node, a selection) leaves the
  picture (:meth:`leave_picture`): the picture is drawn again once where the
  thing was, without it — a drag's first move, not every move — and from then
  on the thing is drawn over the picture as it is, until the next picture.

A small repaint with no picture to blit (under :data:`FULL_FROM` of the view)
is drawn as it is; an export (``DesignScene.full_detail``) always draws paths
and text. A subclass says how to draw a part: :meth:`draw_part`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, QSizeF, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QRegion, QTransform
from PySide6.QtWidgets import QGraphicsItem

from . import style

MARGIN = 0.15         # of the view's size, drawn into the picture beyond each of its sides
ZOOM_MARGIN = 0.06    # the same for a picture made during a zoom (a step out brings in ~5 % a side)
MAX_PICTURE = 4096    # pixels per side of a picture, at most
LIVE_MAX = 64         # things drawn over the picture, at most: more, and it is drawn again
EXTEND_MARGIN = 0.04  # of the view's size, beyond each side, when a picture grows during a zoom
                      # (small: the frame that grows it draws that ring, and a step out brings ~5 % a side)
FULL_FROM = 0.5       # a repaint of at least this much of the view makes a new picture (less: drawn as is)
TILE = 256            # view pixels per side of a tile a picture is drawn crisp by (a settle, a pan's margin)
STRIP = 48            # view pixels across a tile of a pan's margin (a pan step must not make a whole band due)
SEAM = 48             # view pixels beyond the view that a settle counts as the view (drawn first: in sight
                      # when the view grows a little, a scroll bar goes, a splitter moves)
BUDGET = 0.002        # seconds of GUI-thread time per frame a layer spends making tiles crisp
IDLE = 8              # ms between two turns that draw tiles out of sight (a pan's margin): between frames
GROW = 400.0          # scene units a layer's bounds grow beyond what it must hold, once in a scene


@dataclass
class Picture:
    """What a layer draws in ``rect`` (scene) drawn into ``image`` under ``transform``."""

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


class PictureLayer(QGraphicsItem):
    """The picture machinery; a subclass draws (:meth:`draw_part`), reports changes and
    keeps :attr:`bounds` (what it may draw in, scene). It paints only while
    :attr:`active` (its look is the view's)."""

    def __init__(self, active: bool):
        super().__init__()
        self.active = active
        self.bounds = QRectF()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not active)
        self.picture: Picture | None = None
        self.live: set = set()      # things not in the picture (changed since): drawn over it as they are
        self._holes: list = []      # scene rects of the picture to draw again without the live things
        self._spare = None          # the image of the picture before: reused, its memory already mapped
        self._stale = False         # a zoom settled: the picture is to be made crisp at the new scale
        self._visible = QRectF()    # what of the scene the view showed at the last paint
        self.tiles: list = []       # (image pixel rect, blank) of the picture still to be drawn crisp: drawn
                                    # roughly or scaled (blank False), or not at all (True: drawn before it shows)
        self.pictures = 0           # pictures drawn so far (the tests count them)
        self.extended = 0           # pictures grown so far (see _extend)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)   # a true exposedRect

    def set_active(self, active: bool):
        """Painting (this layer's look is the view's) or not."""
        if active != self.active:
            self.active = active           # (its picture stays: a zoom back across the switch blits it)
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not active)
            self.update()

    def boundingRect(self) -> QRectF:
        return self.bounds

    def hold(self, rect: QRectF):
        """Bounds that hold ``rect``: exact while the layer is filled, then grown
        :data:`GROW` beyond it at a time — Qt repaints all a layer's old bounds when they
        change, the whole view for each move of a node dragged past the design's edge."""
        if self.bounds.contains(rect):
            return
        self.prepareGeometryChange()
        if self.scene() is not None:
            rect = rect.adjusted(-GROW, -GROW, GROW, GROW)
        self.bounds = QRectF(rect) if self.bounds.isNull() else self.bounds.united(rect)

    def draw_part(self, painter, rect: QRectF, zoom: float, raster: bool = True, skip=(), only=None):
        """Draw what meets ``rect`` (scene) as it looks at ``zoom``, less the things in
        ``skip``, or only those in ``only``; ``raster`` False writes texts as text."""
        raise NotImplementedError

    def draw_rough(self, painter, rects: list):
        """What meets ``rects`` (scene; the painter clipped to them), drawn fast and plain,
        until its tiles are drawn crisp (the edges a zoom out brings in, a picture made
        during a zoom): plain shapes where the subclass has them, not antialiased (thin
        antialiased lines cost twice as much)."""
        zoom = style.zoom(painter.worldTransform())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for rect in rects:
            self.draw_part(painter, rect, zoom, skip=self.live)
        painter.restore()

    def leave_picture(self, thing, old: list | None):
        """``thing`` changed (it was drawn in the scene rects ``old``): from now on it is
        drawn over the picture, which is drawn again where it was (once, at the next
        paint: a drag's first move, not every move)."""
        if self.picture is None or thing in self.live:
            return
        self.live.add(thing)
        if old is not None:
            self._holes.extend(old)
        if len(self.live) > LIVE_MAX:
            self._retire(self.picture)
            self.picture = None

    def drop_picture(self):
        """Draw everything again at the next paint (a change of look)."""
        self._retire(self.picture)
        self.picture = None
        self._stale = False
        self.tiles = []
        self.live.clear()
        self._holes.clear()

    def settle(self):
        """The zoom stopped: from the next frame on it is made crisp at the new scale."""
        if self.picture is not None:
            self._stale = True
            self.update()

    def paint(self, painter, option, widget=None):
        zoom = style.zoom(painter.worldTransform())
        exposed = option.exposedRect
        scene = self.scene()
        exporting = getattr(scene, "drawing_picture", False)
        if scene is None or exporting:
            self.draw_part(painter, exposed, zoom, not exporting)     # an export: paths and text
            return
        transform = painter.worldTransform()
        device = painter.device()
        if widget is not None and device is widget:
            size = QSizeF(widget.size())
        else:
            size = QSizeF(device.width(), device.height()) / device.devicePixelRatioF()
        visible = transform.inverted()[0].mapRect(QRectF(QPointF(0, 0), size))
        exposed = exposed.intersected(visible)          # (a render exposes all of it, the view shows a part)
        if widget is None or device is not widget:
            # the view rendered elsewhere (an image of it): the picture if it fits, never a new one
            picture = self.picture
            if picture is None or getattr(scene, "zoom_cached", False) or not picture.fits(transform) \
                    or self._holes or self.tiles or self._stale:
                self.draw_part(painter, exposed, zoom)
            else:
                self._blit(painter, picture, transform, exposed, zoom)
            return
        ratio = widget.devicePixelRatioF()
        self._visible = visible
        zooming = getattr(scene, "zoom_cached", False)
        picture = self.picture
        if picture is not None and self._stale and not zooming and picture.rect.intersects(visible):
            picture = self.picture = self._resample(picture, visible, transform, ratio)
        if picture is not None and (not (zooming or picture.fits(transform))       # turned, or fit()
                                    or not picture.rect.intersects(visible)):     # a jump (the minimap)
            self._retire(picture)
            picture = self.picture = None
            self._stale, self.tiles = False, []
        grown = False
        if picture is None:
            shown = self.boundingRect().intersected(visible)      # what of it there is in view
            if not zooming and _area([exposed]) < FULL_FROM * _area([shown]):
                self.draw_part(painter, exposed, zoom)       # a small repaint (a drag): drawn as it is
                return
            picture = self.picture = self._draw_picture(visible, transform, zoom, ratio,
                                                        ZOOM_MARGIN if zooming else MARGIN)
        elif _outside(visible, picture.rect) and self.boundingRect().intersects(_beyond_box(visible, picture.rect)):
            # something beyond the picture is in sight: grow it, drawing only what is new
            picture = self.picture = self._extend(picture, visible, transform, zoom, ratio,
                                                  EXTEND_MARGIN if zooming else MARGIN)
            grown = True
        if self._holes:
            self._patch(picture, zoom)
        if self.tiles:          # none during a zoom, only what is due in the frame that grew it (it drew its share)
            self._sharpen(picture, visible, None if zooming or grown else BUDGET)
        if zooming:
            painter.drawImage(picture.rect, picture.image)              # scaled, until the zoom settles
            self._beyond(painter, picture, exposed, zoom)
        else:
            self._blit(painter, picture, transform, exposed, zoom)

    def _blit(self, painter, picture: Picture, transform, exposed: QRectF, zoom: float):
        at = transform.map(picture.rect.topLeft())
        painter.save()
        painter.resetTransform()                         # pixel for pixel: what drawing them would give
        painter.drawImage(QPointF(round(at.x()), round(at.y())), picture.image)
        painter.restore()
        self._beyond(painter, picture, exposed, zoom)

    def _beyond(self, painter, picture: Picture, exposed: QRectF, zoom: float):
        """Over the picture, what it lacks: what is beyond its edges, and the live things."""
        for band in _outside(exposed, picture.rect):    # beyond the picture (a pan, a zoom out)
            painter.save()
            painter.setClipRect(band, Qt.ClipOperation.IntersectClip)
            self.draw_part(painter, band, zoom, skip=self.live)
            painter.restore()
        if self.live:
            self.draw_part(painter, exposed, zoom, only=self.live)

    def _draw_picture(self, visible: QRectF, transform, zoom: float, ratio: float, margin: float) -> Picture:
        """What is in ``visible`` and ``margin`` of it around it, drawn under ``transform`` (scene
        to the view's pixels, of pixel ratio ``ratio``) into an image whose corner sits on
        a whole pixel of the view, so that blitting it 1:1 gives the same pixels."""
        rect = visible.adjusted(-margin * visible.width(), -margin * visible.height(),
                                margin * visible.width(), margin * visible.height())
        device = transform.mapRect(rect)
        left, top = math.floor(device.left()), math.floor(device.top())
        width = min(MAX_PICTURE, math.ceil(device.right()) - left)
        height = min(MAX_PICTURE, math.ceil(device.bottom()) - top)
        image = self._image(width, height, ratio)
        inverse = transform.inverted()[0]
        covered = inverse.mapRect(QRectF(left, top, width, height))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(transform * QTransform.fromTranslate(-left, -top))
        if getattr(self.scene(), "zoom_cached", False):
            self.draw_rough(painter, [covered])      # a zoom goes on: its end draws it crisp, tile by tile
        else:
            self.draw_part(painter, covered, zoom)
        painter.end()
        self.pictures += 1
        self.live.clear()
        self._holes.clear()
        return Picture(image, covered, QTransform(transform), transform * QTransform.fromTranslate(-left, -top))

    def _extend(self, picture: Picture, visible: QRectF, transform, zoom: float, ratio: float,
                margin: float) -> Picture:
        """A new picture of ``visible`` and ``margin`` around it, made of the old one —
        blitted pixel for pixel when it fits ``transform`` (a pan: the pixels drawing
        would give), else scaled (a zoom goes on) — and, drawn anew, only the bands of
        it beyond the old one. The things drawn over the old one stay drawn over this."""
        device = transform.mapRect(visible.adjusted(-margin * visible.width(), -margin * visible.height(),
                                                    margin * visible.width(), margin * visible.height()))
        left, top = math.floor(device.left()), math.floor(device.top())
        width = min(MAX_PICTURE, math.ceil(device.right()) - left)
        height = min(MAX_PICTURE, math.ceil(device.bottom()) - top)
        image = self._image(width, height, ratio)
        to_image = transform * QTransform.fromTranslate(-left, -top)
        covered = transform.inverted()[0].mapRect(QRectF(left, top, width, height))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if picture.fits(transform):
            at = to_image.map(picture.rect.topLeft())
            dx, dy = round(at.x()), round(at.y())
            painter.drawImage(QPointF(dx, dy), picture.image)
            # the tiles still to be made crisp move with the old picture's pixels
            bounds = QRect(0, 0, width, height)
            self.tiles = [(t, blank) for t, blank in ((t.translated(dx, dy).intersected(bounds), blank)
                                                      for t, blank in self.tiles) if not t.isEmpty()]
        else:
            # the old picture scaled in: antialiasing off, or the raster engine takes its slow
            # path for a scaled image (~10 ms here, against ~0.5)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.setTransform(to_image)
            painter.drawImage(picture.rect, picture.image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.tiles = []                 # (a zoom goes on: its end makes them again)
        painter.setTransform(to_image)
        bands = _outside(covered, picture.rect) if zoom is not None else []   # (None: the tiles draw it all)
        bounds = QRect(0, 0, width, height)
        if getattr(self.scene(), "zoom_cached", False) or not picture.fits(transform):
            # a step of a zoom: the bands drawn roughly now, in one pass (a long wire is in
            # every band), crisp tile by tile once it settles
            if bands:
                region = QRegion()
                for band in bands:
                    region = region.united(to_image.mapRect(band).toAlignedRect())
                painter.save()
                painter.resetTransform()
                painter.setClipRegion(region, Qt.ClipOperation.IntersectClip)
                painter.setTransform(to_image)
                self.draw_rough(painter, bands)
                painter.restore()
            self.tiles += [(tile, False) for band in bands for tile in _tiles(to_image.mapRect(band), bounds)]
        else:
            # a pan: what of the bands is in view is drawn now, the rest (the margin ahead of
            # the pan) is left blank and drawn tile by tile in the frames after this one
            for band in bands:
                shown = band.intersected(visible)
                if not shown.isEmpty():
                    painter.save()
                    painter.setClipRect(shown, Qt.ClipOperation.IntersectClip)
                    self.draw_part(painter, shown, zoom, skip=self.live)
                    painter.restore()
                view = to_image.mapRect(visible)
                for part in _outside(band, visible):
                    # strips along the view's edge, the nearest first: the pan reaches them in turn
                    part = to_image.mapRect(part)
                    beside = part.height() > part.width()
                    strips = _tiles(part, bounds, STRIP if beside else TILE, TILE if beside else STRIP)
                    strips.sort(key=lambda t: _gap(QRectF(t), view))
                    self.tiles += [(tile, True) for tile in strips]
        painter.end()
        self.extended += 1
        self._retire(picture)
        return Picture(image, covered, QTransform(transform), to_image)

    def _resample(self, picture: Picture, visible: QRectF, transform, ratio: float) -> Picture:
        """The zoom settled: a picture at the new scale, of the view and its margin, that
        starts as the old one scaled and is drawn crisp tile by tile (:meth:`_sharpen`),
        the tiles nearest the middle of the view first."""
        self._stale = False
        new = self._extend(picture, visible, transform, None, ratio, MARGIN)
        size = new.image.deviceIndependentSize()
        bounds = QRect(0, 0, math.ceil(size.width()), math.ceil(size.height()))
        view = new.to_image.mapRect(visible).adjusted(-SEAM, -SEAM, SEAM, SEAM)
        view = QRect(math.floor(view.left()), math.floor(view.top()),
                     math.ceil(view.right()) - math.floor(view.left()),
                     math.ceil(view.bottom()) - math.floor(view.top())).intersected(bounds)
        # the view's tiles, then the margin's. A thin (cosmetic) line is rasterised from where a
        # clip cuts it, so where it crosses a seam between tiles it may step a pixel aside from
        # where drawing it whole puts it (zoomed out; at about 1:1 wires are filled paths, exact)
        centre = QRectF(view).center()

        def nearest_first(tiles):
            return sorted(tiles, key=lambda t: (QRectF(t).center() - centre).manhattanLength())
        self.tiles = [(tile, False) for tile in nearest_first(_tiles(QRectF(view), bounds))
                      + nearest_first([t for band in _outside(QRectF(bounds), QRectF(view)) for t in _tiles(band, bounds)])]
        return new

    def _sharpen(self, picture: Picture, visible: QRectF, budget: float | None):
        """Draw tiles of the picture crisp: the blank ones in ``visible`` (scene) at once,
        then the others in order for ``budget`` seconds of GUI-thread time (at least one;
        None: none), and while some are left (and no zoom goes on) ask for the next turn:
        the next frame for tiles in sight, a turn between frames for those out of it."""
        start = time.thread_time()
        shown = picture.to_image.mapRect(visible).adjusted(1, 1, -1, -1)    # (a tile's edge may reach a pixel in)
        due = [t for t in self.tiles if t[1] and shown.intersects(QRectF(t[0]))]
        if due:
            self.tiles = [t for t in self.tiles if not (t[1] and shown.intersects(QRectF(t[0])))]
        if due or (budget is not None and self.tiles):
            zoom = style.zoom(picture.transform)
            to_image = picture.to_image
            from_image = to_image.inverted()[0]
            painter = QPainter(picture.image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            for tile, _ in due:
                self._draw_tile(painter, tile, to_image, from_image, zoom)
            while self.tiles and budget is not None and not (due and time.thread_time() - start >= budget):
                self._draw_tile(painter, self.tiles.pop(0)[0], to_image, from_image, zoom)
                if time.thread_time() - start >= budget:
                    break
            painter.end()
        if self.tiles and not getattr(self.scene(), "zoom_cached", False):
            QTimer.singleShot(0 if self._tiles_in_sight(picture) else IDLE, self._next_tiles)

    def _tiles_in_sight(self, picture: Picture) -> bool:
        shown = picture.to_image.mapRect(self._visible)
        return any(shown.intersects(QRectF(tile)) for tile, _ in self.tiles)

    def _draw_tile(self, painter, tile: QRect, to_image, from_image, zoom: float):
        """Clear ``tile`` (image pixels) and draw what is in it crisp, less the live things."""
        painter.resetTransform()
        painter.setClipRect(tile)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        painter.fillRect(tile, Qt.GlobalColor.transparent)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        painter.setTransform(to_image)
        self.draw_part(painter, from_image.mapRect(QRectF(tile)), zoom, skip=self.live)

    def _next_tiles(self):
        """Between frames: while tiles in sight are left (a settle), the next frame draws
        them; tiles out of sight (a pan's margin) are drawn here, repainting nothing."""
        try:
            scene, picture = self.scene(), self.picture
            if not self.tiles or scene is None or picture is None or self._stale \
                    or getattr(scene, "zoom_cached", False):
                return                  # (a zoom goes on, or settled: its frame takes over)
            if self._tiles_in_sight(picture):
                self.update()
            else:
                self._sharpen(picture, self._visible, BUDGET)
        except RuntimeError:            # the item went with its scene
            pass

    def _image(self, width: int, height: int, ratio: float) -> QImage:
        """A clear image for a picture of ``width`` × ``height`` view pixels: the last
        picture's when it has that size (a new image's first fill is mostly page faults,
        ~10 ms for a picture of a 1280×800 view with its margins)."""
        size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
        spare, self._spare = self._spare, None
        if spare is not None and (spare.width(), spare.height()) == size and spare.devicePixelRatio() == ratio:
            image = spare
        else:
            image = QImage(size[0], size[1], QImage.Format.Format_ARGB32_Premultiplied)
            image.setDevicePixelRatio(ratio)
        image.fill(0)
        return image

    def _retire(self, picture):
        if picture is not None:
            self._spare = picture.image

    def _patch(self, picture: Picture, zoom: float):
        """Draw the picture again where live things were, without them: cleared and redrawn
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
            self.draw_part(painter, from_image.mapRect(pixels), zoom, skip=self.live)
        painter.end()


def _tiles(pixels: QRectF, bounds: QRect, width: int = TILE, height: int = TILE) -> list:
    """``pixels`` (of an image, within ``bounds``) on whole pixels, cut in tiles of
    ``width`` × ``height``."""
    left, top = math.floor(pixels.left()), math.floor(pixels.top())
    right, bottom = math.ceil(pixels.right()), math.ceil(pixels.bottom())
    tiles = [QRect(x, y, min(width, right - x), min(height, bottom - y)).intersected(bounds)
             for x in range(left, right, width) for y in range(top, bottom, height)]
    return [t for t in tiles if not t.isEmpty()]


def _gap(rect: QRectF, other: QRectF) -> float:
    """How far apart two rects are (0 when they meet)."""
    return max(0.0, rect.left() - other.right(), other.left() - rect.right()) + \
        max(0.0, rect.top() - other.bottom(), other.top() - rect.bottom())


def _beyond_box(rect: QRectF, inner: QRectF) -> QRectF:
    """The bounding box of ``rect`` less ``inner``."""
    box = QRectF()
    for band in _outside(rect, inner):
        box = box.united(band)
    return box


def _area(rects: list) -> float:
    return sum(r.width() * r.height() for r in rects)


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
