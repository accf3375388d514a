"""What a node, a wire and a group look like on the editor canvas.

A :class:`NodeItem` paints its own ports (typed inputs on the left, the output
on the right, coloured by dtype) rather than owning one child item per port:
500 nodes stay 500 items. What a frame needs is worked out when an item's
content changes, not per paint: a node keeps its texts as glyph runs
(:class:`LaidText`, laid out once, at any zoom), its body, header and ports as
paths (in a DesignScene the :class:`~.node_layer.NodeLayer` paints it, from a
picture a pan blits and a zoom scales, and the item answers hit tests; on its
own it is cached as a pixmap in device coordinates); a wire keeps its path (in a
DesignScene the :class:`~.wire_layer.WireLayer` draws it and the item answers
hit tests) and, at
about 1:1 (from :data:`~.style.THIN_BELOW` to :data:`~.style.WIDE_FROM`), is
stroked as twin 1 px lines along its edges (:func:`twin_outline`), the
rasteriser's thin-line fast path, about a fifth of the cost of its wide
antialiased stroke for the same ink.
An edit that changes nothing a node shows leaves it alone (no repaint).

Zoomed out (below :data:`~.style.SIMPLE_BELOW`, litegraph's low-quality zoom)
the scene switches to its :class:`Overview`: one item draws every node as a box
and every wire as a line in a handful of painter calls. In a DesignScene the node
and wire items are marked ``ItemHasNoContents`` in both looks — there for picking,
dragging and hover, but Qt calls no Python ``paint`` for them (a thousand Python
paint calls alone cost ~8 ms), and switching the look flips the layers, not the
items. Items only draw; what they show is set by the scene (:mod:`.scene`) from
the design and the latest run.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen,
                           QTextLayout)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from . import style
from .grid import Grid
from .picture import PictureLayer

FONT = QFont()
FONT.setPointSizeF(8.5)
BOLD = QFont(FONT)
BOLD.setBold(True)
_METRICS = QFontMetricsF(FONT)
_BOLD_METRICS = QFontMetricsF(BOLD)
MAX_NOTE_LINES = 3
MIDDLE = object()       # a wire's label at the middle of its own curve (WireItem.place_label)
NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


def zoom_of(painter) -> float:
    return style.zoom(painter.worldTransform())


class LaidText:
    """One line of text laid out once as glyph runs, in the font it was made with.

    Drawn with ``drawGlyphRun`` (the painter's pen gives the colour): on the raster
    engine that is ~3× cheaper than ``drawStaticText`` and, unlike a QStaticText,
    it is not laid out again when the painter's scale differs from the one it was
    prepared for — every zoom step would re-lay out every text in the frame. On
    any other engine (an SVG export) it is written as text, so the file keeps it."""

    __slots__ = ("text", "font", "runs", "_size", "_ascent")

    def __init__(self, text: str, font: QFont):
        self.text, self.font = text, font
        layout = QTextLayout(text, font)
        layout.beginLayout()
        line = layout.createLine()
        layout.endLayout()
        self.runs = layout.glyphRuns() if text else []
        self._size = QSizeF(line.naturalTextWidth(), line.height())
        self._ascent = line.ascent()

    def size(self) -> QSizeF:
        return QSizeF(self._size)

    def draw(self, painter, top_left: QPointF, raster: bool = True):
        """At ``top_left``; ``raster`` False (see :func:`glyphs_ok`) writes it as text."""
        if raster:
            for run in self.runs:
                painter.drawGlyphRun(top_left, run)
        else:
            painter.setFont(self.font)
            painter.drawText(top_left + QPointF(0, self._ascent), self.text)


def glyphs_ok(item) -> bool:
    """Whether ``item``'s texts may be drawn as glyph runs: not while its scene draws a
    picture (:meth:`DesignScene.full_detail`: an SVG keeps them as text). A flag and not
    the paint engine's type, which costs more to ask than a glyph run costs to draw."""
    return not getattr(item.scene(), "drawing_picture", False)


def node_title(design, node) -> str:
    if node.kind == "op":
        row = node.row
        label = row.label or row.name
        return f"{node.name} = {label}" if node.name else label
    if node.kind == "output":
        return "output (root)" if design.root == node.id else "output"
    return node.name or ("constant" if node.kind == "const" else "leaf")


def node_lines(node) -> list:
    """The body text of a node: its value, params or gradient=."""
    if node.kind in ("leaf", "const"):
        return [node.value or "(type a value)"]
    if node.kind == "output":
        return [f"gradient={node.value}" if node.value else "backward()"]
    params = [f"{k}={v}" for k, v in node.params]
    return params[:2] or [node.row.doc or node.row.name]


def wrap(text: str, width: float, lines: int = MAX_NOTE_LINES) -> list:
    """``text`` broken into at most ``lines`` lines of ``width`` (the last one elided)."""
    words, out, current = text.split(), [], ""
    for word in words:
        trial = f"{current} {word}".strip()
        if _METRICS.horizontalAdvance(trial) <= width or not current:
            current = trial
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = _METRICS.elidedText(out[-1] + " …", Qt.TextElideMode.ElideRight, width)
    return [_METRICS.elidedText(line, Qt.TextElideMode.ElideRight, width) for line in out]


class NodeItem(QGraphicsItem):
    """One node. ``node_id`` stays; the rest is set by :meth:`show_node`."""

    def __init__(self, node_id: str, colors: dict, layered: bool = False):
        super().__init__()
        self.node_id = node_id
        self.colors = colors
        self.title = ""
        self.lines: list = []
        self.footer = ""
        self.note_lines: list = []       # an error on this node, in red under it
        self.kind = "op"
        self.dtype = "float32"
        self.inputs = 0
        self.has_output = True
        self.requires_grad = False
        self.is_root = False
        self.fill: QColor | None = None  # gradient-magnitude colour of the last run
        self.input_flows: list = []
        self.height = style.HEADER + style.LINE * 2 + 6
        self.overview = None             # the scene's Overview, told when the box changes
        self.layer = None                # the scene's NodeLayer, which paints it (see node_layer.py)
        self._state = None               # what show_node last drew: an equal state repaints nothing
        self._rect = QRectF()
        self._bounds = QRectF()
        self._texts: list = []           # (LaidText, top-left, font, pen colour)
        self._laid_out: dict = {}        # (text, bold) -> LaidText, kept from the last layout
        self._ports: list = []           # (brush, a path of the port circles it fills)
        self._body = self._header = QPainterPath()
        self._accent = QColor()
        self._pen = QPen()
        self._selected_pen = QPen(colors["selected"], 2.5)
        self._port_pen = QPen(colors["border"], 1)
        self._header_text = QColor()
        self._layout()
        flags = (QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                 | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        # one setFlags, set once: in a DesignScene the node layer paints it, whatever the zoom
        self.setFlags(flags | NO_CONTENTS if layered else flags)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        if not layered:
            # on its own: painted once per zoom level, then blitted (panning and dragging repaint no text)
            self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # -- what it shows --------------------------------------------------------------------
    def show_node(self, design, node, shape, error: str | None, flows: bool, fill: QColor | None,
                  input_flows=None) -> bool:
        """Show ``node`` as the design and the last run have it; False (and no repaint)
        when that is what is already shown."""
        title = _METRICS.elidedText(node_title(design, node), Qt.TextElideMode.ElideRight,
                                    style.NODE_WIDTH - 30)
        lines = [_METRICS.elidedText(t, Qt.TextElideMode.ElideRight, style.NODE_WIDTH - 16)
                 for t in node_lines(node)]
        shape_text = "shape ?" if shape is None else f"shape {shape}"
        footer = f"{shape_text}  {node.dtype}" + ("  ∇" if flows else "")
        notes = wrap(error, style.NODE_WIDTH + 40) if error else []
        input_flows = list(input_flows) if input_flows is not None else [None] * node.arity
        state = (title, tuple(lines), footer, tuple(notes), node.kind, node.dtype, node.arity,
                 node.requires_grad, design.root == node.id, None if fill is None else fill.rgba(),
                 tuple(input_flows))
        if state == self._state:
            return False
        self._state = state
        self.title, self.lines, self.footer, self.note_lines = title, lines, footer, notes
        self.kind, self.dtype = node.kind, node.dtype
        self.inputs = node.arity
        self.has_output = node.kind != "output"
        self.requires_grad = node.requires_grad
        self.is_root = design.root == node.id
        self.fill = fill
        self.input_flows = input_flows
        self._layout()
        self.update()
        self._changed()
        return True

    def _changed(self):
        """Tell the layers that draw it (the overview's box, the node layer's picture)."""
        if self.overview is not None:
            self.overview.node_changed(self)
        if self.layer is not None:
            self.layer.node_changed(self)

    def _layout(self):
        """Everything paint needs, worked out once per change of what the node shows."""
        body = max(len(self.lines), self.inputs) + 1
        height = style.HEADER + style.LINE * body + 6
        rect = QRectF(-style.NODE_WIDTH / 2, -height / 2, style.NODE_WIDTH, height)
        bounds = rect.adjusted(-style.PORT_RADIUS - 2, -2, style.PORT_RADIUS + 2, 2)
        if self.note_lines:
            bounds.setBottom(bounds.bottom() + style.LINE * len(self.note_lines) + 4)
            bounds.setLeft(min(bounds.left(), -style.NODE_WIDTH / 2 - 20))
            bounds.setRight(max(bounds.right(), style.NODE_WIDTH / 2 + 20))
        if bounds != self._bounds:
            self.prepareGeometryChange()
        self.height, self._rect, self._bounds = height, rect, bounds
        c = self.colors
        self._accent = QColor(self.fill) if self.fill is not None else QColor(style.KIND_COLORS[self.kind])
        self._header_text = QColor("#000000") if (self.fill and self.fill.lightness() > 140) else QColor("#ffffff")
        marked = bool(self.note_lines)
        self._pen = QPen(c["error"] if marked else c["border"], 2.5 if marked else 1.0)
        kept, laid_out = self._laid_out, {}

        def laid_text(text, font):          # a text that did not change is not laid out again
            key = (text, font is BOLD)
            laid_out[key] = kept.get(key) or LaidText(text, font)
            return laid_out[key]

        texts = [(laid_text(self.title, BOLD),
                  QPointF(rect.left() + 8, rect.top() + (style.HEADER - _BOLD_METRICS.height()) / 2),
                  BOLD, self._header_text)]
        pad = (style.LINE - _METRICS.height()) / 2
        y = rect.top() + style.HEADER + 3
        for line in self.lines:
            texts.append((laid_text(line, FONT), QPointF(rect.left() + 10, y + pad), FONT, c["text"]))
            y += style.LINE
        texts.append((laid_text(self.footer, FONT),
                      QPointF(rect.left() + 10, rect.bottom() - style.LINE - 3 + pad), FONT, c["muted"]))
        y = rect.bottom() + 3
        for line in self.note_lines:
            text = laid_text(line, FONT)
            x = -text.size().width() / 2
            texts.append((text, QPointF(x, y + pad), FONT, c["error"]))
            y += style.LINE
        self._texts, self._laid_out = texts, laid_out
        port = QColor(style.DTYPE_COLORS.get(self.dtype, "#888888"))
        ports = {}                       # brush rgba -> (brush, one path of all its port circles)
        centres = [(self.input_point(slot), port if slot < len(self.input_flows)
                    and self.input_flows[slot] is not None else c["node"]) for slot in range(self.inputs)]
        if self.has_output:
            centres.append((self.output_point(), port))
        for centre, brush in centres:
            path = ports.setdefault(brush.rgba(), (brush, QPainterPath()))[1]
            path.addEllipse(centre, style.PORT_RADIUS, style.PORT_RADIUS)
        self._ports = list(ports.values())
        # the body and the header as paths made once: a frame fills two paths per node, not
        # a rounded rect built again per call, a header patched with a second rect, one ellipse per port
        self._body, self._header = chrome(height)

    # -- geometry -------------------------------------------------------------------------
    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def input_point(self, slot: int) -> QPointF:
        """Where input ``slot``'s port is, in item coordinates."""
        top = -self.height / 2
        return QPointF(-style.NODE_WIDTH / 2, top + style.HEADER + style.LINE * (slot + 0.5) + 3)

    def output_point(self) -> QPointF:
        return QPointF(style.NODE_WIDTH / 2, -self.height / 2 + style.HEADER + style.LINE * 0.5 + 3)

    def port_at(self, local: QPointF):
        """``("in", slot)``, ``("out", 0)`` or None for a point in item coordinates."""
        reach = style.PORT_RADIUS * 2.2
        if self.has_output and _near(local, self.output_point(), reach):
            return ("out", 0)
        for slot in range(self.inputs):
            if _near(local, self.input_point(slot), reach):
                return ("in", slot)
        return None

    # -- painting -------------------------------------------------------------------------
    def paint(self, painter, option, widget=None):
        c = self.colors
        rect = self._rect
        selected = self.isSelected()
        zoom = zoom_of(painter)
        if zoom < style.SIMPLE_BELOW:                   # level of detail: a plain box
            painter.fillRect(rect, self._accent)
            if selected or self.note_lines:
                painter.setPen(QPen(c["selected"] if selected else c["error"], 3))
                painter.drawRect(rect)
            return
        painter.setPen(self._selected_pen if selected else self._pen)
        painter.setBrush(c["node"])
        painter.drawPath(self._body)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._accent)
        painter.drawPath(self._header)
        # below TEXT_BELOW (8.5 pt shown under 6 pt) only the title is written: the rest is unreadable
        raster = glyphs_ok(self)
        for text, at, font, color in (self._texts if zoom >= style.TEXT_BELOW else self._texts[:1]):
            painter.setPen(color)
            text.draw(painter, at, raster)
        if self.kind == "leaf":                         # requires_grad toggle, drawn in the header
            box = self.grad_box()
            painter.setPen(QPen(self._header_text, 1))
            painter.setBrush(c["wire_grad"] if self.requires_grad else Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(box, 2, 2)
            painter.setFont(FONT)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "∇")
        painter.setPen(self._port_pen)
        for brush, circles in self._ports:
            painter.setBrush(brush)
            painter.drawPath(circles)

    def grad_box(self) -> QRectF:
        rect = self._rect
        return QRectF(rect.right() - 19, rect.top() + 3, 14, style.HEADER - 6)

    def toolTip(self) -> str:
        """The hover text, written when asked (a DesignScene keeps what the last run found;
        its helpEvent shows the same text)."""
        scene = self.scene()
        if scene is not None and hasattr(scene, "hover_text") and self.node_id in scene.design.nodes:
            return scene.hover_text(self.node_id)
        return super().toolTip()

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and self.scene() is not None:
            self.scene().node_item_moved(self)
        elif change in (QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged,
                        QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged):
            self._changed()
        return super().itemChange(change, value)


_CHROME: dict = {}


def chrome(height: float) -> tuple:
    """A node's body (a rounded rect) and header (rounded at the top only) as paths,
    shared by every node of that height (paths are implicitly shared)."""
    if height not in _CHROME:
        w, r = style.NODE_WIDTH, 5.0
        left, top = -w / 2, -height / 2
        body = QPainterPath()
        body.addRoundedRect(QRectF(left, top, w, height), r, r)
        header = QPainterPath(QPointF(left, top + style.HEADER))
        header.lineTo(left, top + r)
        header.arcTo(QRectF(left, top, 2 * r, 2 * r), 180, -90)
        header.lineTo(-left - r, top)
        header.arcTo(QRectF(-left - 2 * r, top, 2 * r, 2 * r), 90, -90)
        header.lineTo(-left, top + style.HEADER)
        header.closeSubpath()
        _CHROME[height] = (body, header)
    return _CHROME[height]


def _near(a: QPointF, b: QPointF, reach: float) -> bool:
    return math.hypot(a.x() - b.x(), a.y() - b.y()) <= reach


PIECE = 300.0      # a wire longer than this is also kept as pieces about this long


def wire_controls(start: QPointF, end: QPointF) -> tuple:
    """The cubic's four points as (x, y) pairs."""
    bend = max(40.0, abs(end.x() - start.x()) * 0.5)
    return ((start.x(), start.y()), (start.x() + bend, start.y()), (end.x() - bend, end.y()), (end.x(), end.y()))


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    p0, p1, p2, p3 = wire_controls(start, end)
    path = QPainterPath(QPointF(*p0))
    path.cubicTo(QPointF(*p1), QPointF(*p2), QPointF(*p3))
    return path


def wire_pieces(start: QPointF, end: QPointF, length: float) -> list:
    """The cubic cut into pieces of about :data:`PIECE` length, each exactly the
    part of the curve it covers: ``(bounds, path, length before it)``. The
    rasteriser strokes a whole path even where the frame clips it (a long
    antialiased wire costs by its length, not by what is seen), so a wire crossing
    the frame strokes only its pieces in the exposed part.

    The part of a cubic B from t0 to t1 is the cubic with ends B(t0), B(t1) and
    inner points B(t0) + h·B'(t0) and B(t1) − h·B'(t1), h = (t1 − t0)/3: the
    polynomial's values and slopes, a few multiplications a piece (a de Casteljau
    blossom per point cost most of opening a 2,000-node design)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = wire_controls(start, end)
    # B(t) = a + b t + c t² + d t³ per coordinate
    bx, by = 3 * (x1 - x0), 3 * (y1 - y0)
    cx, cy = 3 * (x0 - 2 * x1 + x2), 3 * (y0 - 2 * y1 + y2)
    dx, dy = x3 - x0 + 3 * (x1 - x2), y3 - y0 + 3 * (y1 - y2)

    def point(t):
        return (x0 + t * (bx + t * (cx + t * dx)), y0 + t * (by + t * (cy + t * dy)),
                bx + t * (2 * cx + 3 * t * dx), by + t * (2 * cy + 3 * t * dy))

    count = max(1, math.ceil(length / PIECE))
    h = 1 / (3 * count)
    pieces, before = [], 0.0
    ax, ay, sx, sy = point(0.0)
    for k in range(count):
        ex, ey, tx, ty = point((k + 1) / count) if k + 1 < count else (x3, y3) + point(1.0)[2:]
        path = QPainterPath(QPointF(ax, ay))
        path.cubicTo(QPointF(ax + h * sx, ay + h * sy), QPointF(ex - h * tx, ey - h * ty), QPointF(ex, ey))
        pieces.append((path.boundingRect().adjusted(-3, -3, 3, 3), path, before))
        before += path.length()
        ax, ay, sx, sy = ex, ey, tx, ty
    return pieces


def twin_outline(path: QPainterPath, pen: QPen) -> QPainterPath:
    """The outline of ``path`` stroked 1 unit narrower than ``pen`` (flat ends; dashed
    like it): stroked with a 1 px cosmetic pen, its two sides are two thin lines whose
    outer edges are the wide stroke's edges at zoom 1 — a dashed pen gives each dash
    its own outline, in the pen's dash lengths."""
    gap = max(0.5, pen.widthF() - 1.0)
    stroker = QPainterPathStroker()
    stroker.setWidth(gap)
    stroker.setCapStyle(Qt.PenCapStyle.FlatCap)
    if pen.style() != Qt.PenStyle.SolidLine:
        # dash lengths are in units of the stroke's width: keep the pen's dashes in scene units
        scale = pen.widthF() / gap
        stroker.setDashPattern([length * scale for length in pen.dashPattern()])
    return stroker.createStroke(path)


class WireItem(QGraphicsPathItem):
    """A link: orange and solid where gradient flows (its value requires grad), grey
    and dashed where it does not; the shape it carries written at its middle (or
    where the scene puts it: :meth:`place_label`). Each
    wire strokes its own short path (one path per wire strokes ~7× faster than all
    wires merged into one, which Qt strokes whole even where it is clipped), and
    the wire layer (:mod:`.wire_layer`) strokes only the wires in the frame. Its
    path, pens, label box, cover and laid-out label are worked out when the wire
    changes, not per frame."""

    def __init__(self, link, colors: dict, layered: bool = False):
        super().__init__()
        self.link = link
        self.colors = colors
        self.flows = False
        self.label = ""
        self.start = self.end = QPointF()
        self.ends = (0.0, 0.0, 0.0, 0.0)   # start and end as x0, y0, x1, y1 (the layers' straight lines)
        self.label_box = QRectF()      # empty when it shows no label
        self.label_at = MIDDLE         # where its label is centred (see place_label)
        self.bounds = QRectF()         # the curve's box and the label's
        self._curve = QRectF()
        self._pieces: list = []       # a long wire's pieces (see wire_pieces); [] for a short one
        self._label_text = LaidText("", FONT)
        self._pen = QPen()
        self.selected_pen = QPen(colors["selected"], 3.0)
        self._thin = QPen(colors["wire"], 1.0)
        self._thin.setCosmetic(True)
        self._thin_selected = QPen(colors["selected"], 1.0)
        self._thin_selected.setCosmetic(True)
        self._twin = None             # the outline its twin lines follow (see twin_outline), until it changes
        self._twin_pen = QPen()
        self.overview = None          # the scene's Overview, told when the line changes
        self.layer = None             # the scene's WireLayer, which draws it (see wire_layer.py)
        # one setFlags (each flag set alone is two Python itemChange calls; a 2,000-node design
        # has 2,800 wires): selectable, a true exposedRect, and no contents when a layer draws it
        flags = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption
        self.setFlags(flags | NO_CONTENTS if layered else flags)
        self.setAcceptHoverEvents(True)

    def set_state(self, flows: bool, shape):
        label = "" if shape is None else str(tuple(shape))
        if (flows, label) == (self.flows, self.label) and self._pen.widthF() > 1.0:
            return
        self.flows, self.label = flows, label
        pen = QPen(self.colors["wire_grad"] if flows else self.colors["wire"], 2.4 if flows else 1.6)
        if not flows:
            pen.setStyle(Qt.PenStyle.DashLine)
        self._pen = pen
        self._twin = None
        self._thin = QPen(pen)
        self._thin.setWidthF(1.0)
        self._thin.setCosmetic(True)
        self._twin_pen = QPen(pen.color(), 1.0)      # solid: a dashed wire's outline is dashed already
        self._twin_pen.setCosmetic(True)
        self.setPen(pen)
        self._label_text = LaidText(label, FONT)
        self._place_label()
        self.update()
        self._changed()
        self.setToolTip(f"carries shape {self.label or '?'}; "
                        + ("gradient flows back along it" if flows else "no gradient flows (nothing upstream requires grad)"))

    def set_ends(self, start: QPointF, end: QPointF):
        if start == self.start and end == self.end and not self.path().isEmpty():
            return
        self.start, self.end = QPointF(start), QPointF(end)
        self.ends = (start.x(), start.y(), end.x(), end.y())
        path = wire_path(start, end)
        length = path.length()
        self._pieces = wire_pieces(start, end, length) if length > 2 * PIECE else []
        self._curve = path.boundingRect().adjusted(-3, -3, 3, 3)
        self._twin = None
        self._place_label()
        self.setPath(path)          # after the bounds: setPath marks them for repainting
        self._changed()

    def _changed(self):
        if self.overview is not None:
            self.overview.wire_changed(self)
        if self.layer is not None:
            self.layer.wire_changed(self)

    def itemChange(self, change, value):
        if change in (QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged,
                      QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged):
            self._changed()
        return super().itemChange(change, value)

    def place_label(self, at):
        """Centre its label at ``at``: :data:`MIDDLE` (its own middle), a scene point, or
        None — no label of its own (a twin wire writes the shape they both carry)."""
        if at is self.label_at or (isinstance(at, QPointF) and isinstance(self.label_at, QPointF)
                                   and at == self.label_at):
            return
        self.label_at = QPointF(at) if isinstance(at, QPointF) else at
        self._place_label()
        self.update()
        self._changed()

    def middle(self) -> QPointF:
        return (self.start + self.end) / 2          # a symmetric cubic passes through the midpoint

    def _place_label(self):
        curve = QRectF(self._curve)
        if self.label and self.label_at is not None:
            middle = self.middle() if self.label_at is MIDDLE else self.label_at
            width = _METRICS.horizontalAdvance(self.label) + 8
            self.label_box = QRectF(middle.x() - width / 2, middle.y() - 8, width, 16)
            curve = curve.united(self.label_box)
        else:
            self.label_box = QRectF()
        if curve != self.bounds:
            self.prepareGeometryChange()
        self.bounds = curve

    def boundingRect(self) -> QRectF:
        return self.bounds

    def cover(self) -> list:
        """Scene rects that together hold all it draws: its pieces' boxes (a long wire's
        own box is mostly empty) or its curve's, and its label's. The wire layer indexes
        and repaints a wire by these."""
        rects = [bounds for bounds, _, _ in self._pieces] if self._pieces else [QRectF(self._curve)]
        if not self.label_box.isNull():
            rects.append(QRectF(self.label_box))
        return rects

    def paint(self, painter, option, widget=None):
        # in a DesignScene the wire layer draws every wire and this item has no contents;
        # on its own (a plain scene) a wire draws itself the same way
        zoom = zoom_of(painter)
        raster = glyphs_ok(self)
        self.draw(painter, zoom, option.exposedRect, raster)
        if not self.label_box.isNull() and zoom >= style.TEXT_BELOW:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.colors["background"])
            painter.drawRect(self.label_box)
            painter.setPen(self.colors["muted"])
            self.draw_label(painter, raster)

    def draw(self, painter, zoom: float, exposed: QRectF, raster: bool = True):
        """Stroke the wire as it looks at ``zoom`` (the part in ``exposed``; the brush is
        left empty). Its label is drawn apart (:meth:`draw_label`), so that a layer
        drawing many wires writes every label over every wire."""
        pen = self.selected_pen if self.isSelected() else self._pen
        if zoom < style.THIN_BELOW:
            # under ~1.7 px on screen a wire is drawn 1 px wide: the rasteriser's fast path
            # for thin lines strokes ~4× faster than a wide antialiased outline
            pen = self._thin_selected if self.isSelected() else self._thin
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if zoom < style.SIMPLE_BELOW:
            painter.setPen(pen)
            painter.drawLine(self.start, self.end)
            return
        if zoom < style.WIDE_FROM and pen is self._pen:
            # at about 1:1, twin 1 px lines along the wire's edges look like its wide stroke and
            # cost a fifth of it (the thin-line fast path instead of the antialiased area fill)
            if self._twin is None:
                self._twin = twin_outline(self.path(), self._pen)
            painter.setPen(self._twin_pen)
            painter.drawPath(self._twin)
            if self.flows:
                painter.drawPath(self.path())
        elif not self._pieces or exposed.contains(self._curve):
            painter.setPen(pen)
            painter.drawPath(self.path())
        else:
            painter.setPen(pen)
            dashed = pen.style() != Qt.PenStyle.SolidLine
            for bounds, piece, before in self._pieces:
                if exposed.intersects(bounds):
                    if dashed:                  # the dashes run on across pieces
                        pen.setDashOffset(before / pen.widthF())
                        painter.setPen(pen)
                    painter.drawPath(piece)

    def draw_label(self, painter, raster: bool = True):
        """The shape it carries, centred in :attr:`label_box`, in the painter's pen (the
        box's background is the caller's: a layer fills all its wires' boxes at once)."""
        size = self._label_text.size()
        box = self.label_box
        self._label_text.draw(painter, QPointF(box.center().x() - size.width() / 2,
                                               box.center().y() - size.height() / 2), raster)


class Overview(PictureLayer):
    """The zoomed-out look of a whole design, drawn by one item: every node a box in
    its colour, every wire a straight line, the selection and errors outlined —
    grouped by look, so a frame is a few ``drawRects`` / ``drawLines`` calls however
    big the design. It keeps each node's box and wire's line as the items report
    them (:meth:`node_changed`, :meth:`wire_changed`), where they are in a
    :class:`~.grid.Grid`, and repaints only the region that changed. What it draws
    is kept as a picture of the view (:mod:`.picture`): long antialiased lines cost
    by their length, so a pan blits and a zoom scales. :meth:`draw` also paints the
    minimap's picture.

    Only while :attr:`active` (the scene's view is zoomed out) does it paint in the
    scene; the node and wire items then paint nothing."""

    def __init__(self, colors: dict):
        super().__init__(active=False)
        self.colors = colors
        self.boxes: dict = {}          # node id -> (scene rect, colour, selected, marked)
        self.lines: dict = {}          # WireItem -> (scene line, look)
        self.grid = Grid()             # node ids and WireItems, by where their box and line are
        self.listeners: list = []      # called (no arguments) after every change: the minimap
        self._grouped = None           # the boxes and lines grouped by look, until the next change
        self.setZValue(0.5)

    # -- what the items report ------------------------------------------------------------------
    def node_changed(self, item: NodeItem):
        if not item.isVisible():          # hidden inside a collapsed group: not drawn here either
            self.forget_node(item.node_id)
            return
        box = (item.mapRectToScene(item._rect), item._accent, item.isSelected(), bool(item.note_lines))
        old = self.boxes.get(item.node_id)
        self.boxes[item.node_id] = box
        if old is not None:
            self.grid.remove(item.node_id, [old[0]])
        self.grid.add(item.node_id, [box[0]])
        self.leave_picture(item.node_id, None if old is None else [old[0]])
        self._changed(box[0] if old is None else box[0].united(old[0]))

    def wire_changed(self, wire: WireItem):
        if not wire.isVisible() or wire.path().isEmpty():       # hidden, or not routed yet
            self.forget_wire(wire)
            return
        look = "selected" if wire.isSelected() else ("flows" if wire.flows else "still")
        line = (QLineF(wire.start, wire.end), look)
        old = self.lines.get(wire)
        if old == line:
            return
        self.lines[wire] = line
        region = _line_box(line[0])
        if old is not None:
            old_box = _line_box(old[0])
            self.grid.remove(wire, [old_box])
            self.leave_picture(wire, [old_box])
            region = region.united(old_box)
        else:
            self.leave_picture(wire, None)
        self.grid.add(wire, [region if old is None else _line_box(line[0])])
        self._changed(region)

    def forget_node(self, node_id: str):
        old = self.boxes.pop(node_id, None)
        if old is not None:
            self.grid.remove(node_id, [old[0]])
            self.leave_picture(node_id, [old[0]])
            self.live.discard(node_id)
            self._changed(old[0], shrink=True)

    def forget_wire(self, wire: WireItem):
        old = self.lines.pop(wire, None)
        if old is not None:
            self.grid.remove(wire, [_line_box(old[0])])
            self.leave_picture(wire, [_line_box(old[0])])
            self.live.discard(wire)
            self._changed(_line_box(old[0]), shrink=True)

    def _changed(self, region: QRectF, shrink: bool = False):
        self._grouped = None
        region = region.adjusted(-4, -4, 4, 4)
        if shrink:
            self._fit_bounds()
        elif not self.bounds.contains(region):
            self.prepareGeometryChange()
            self.bounds = region if self.bounds.isNull() else self.bounds.united(region)
        if self.active:
            self.update(region)
        for listener in list(self.listeners):
            listener()

    def _fit_bounds(self):
        bounds = QRectF()
        for rect, *_ in self.boxes.values():
            bounds = bounds.united(rect)
        for line, _ in self.lines.values():
            bounds = bounds.united(_line_box(line))
        bounds = bounds.adjusted(-4, -4, 4, 4) if not bounds.isNull() else bounds
        if bounds != self.bounds:
            self.prepareGeometryChange()
            self.bounds = bounds

    def _group(self, node_ids=None, wires=None):
        """The boxes and lines (all, or those of ``node_ids`` and ``wires``) grouped by look."""
        boxes = self.boxes.values() if node_ids is None else [self.boxes[n] for n in node_ids if n in self.boxes]
        lines_of = self.lines.values() if wires is None else [self.lines[w] for w in wires if w in self.lines]
        fills: dict = {}                                  # rgba -> (colour, [rects])
        selected, marked = [], []
        lines = {"still": [], "flows": [], "selected": []}
        for rect, color, is_selected, is_marked in boxes:
            fills.setdefault(color.rgba(), (color, []))[1].append(rect)
            if is_selected:
                selected.append(rect)
            elif is_marked:
                marked.append(rect)
        for line, look in lines_of:
            lines[look].append(line)
        return list(fills.values()), selected, marked, lines

    def draw_part(self, painter, rect: QRectF, zoom: float, raster: bool = True, skip=(), only=None):
        # lines are cut a few pixels beyond the part (their cosmetic ends must fall outside it)
        margin = 4 / max(zoom, 1e-3)
        self.draw(painter, rect.adjusted(-margin, -margin, margin, margin), skip=skip, only=only)

    def draw_rough(self, painter, rects: list):
        """The boxes and lines that meet ``rects``, each rect in turn, not antialiased: the
        lines cut to the rect from the wires' ends in one numpy pass a look, and solid (a
        picture made during a zoom, the edges a zoom out brings in, until drawn crisp)."""
        near = set()
        for rect in rects:
            near |= self.grid.near(rect)
        near -= self.live
        c = self.colors
        ends: dict = {"still": [], "flows": [], "selected": []}
        for key in near:
            if not isinstance(key, str) and key in self.lines:
                ends[self.lines[key][1]].append(key.ends)
        fills, selected, marked, _ = self._group([k for k in near if isinstance(k, str)], [])
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for look, color in (("still", c["wire"]), ("flows", c["wire_grad"]), ("selected", c["selected"])):
            if ends[look]:
                pen = QPen(color, 1.0)
                pen.setCosmetic(True)
                painter.setPen(pen)
                shown = np.array(ends[look])
                for rect in rects:
                    painter.drawLines([QLineF(*e) for e in clip_ends(shown, rect)[2]])
        outlines = []
        for boxes, color in ((marked, c["error"]), (selected, c["selected"])):
            if boxes:
                pen = QPen(color, 2.0)
                pen.setCosmetic(True)
                outlines.append((pen, boxes))
        for rect in rects:                    # the boxes clipped to each rect (not over what is beyond it)
            painter.save()
            painter.setClipRect(rect, Qt.ClipOperation.IntersectClip)
            painter.setPen(Qt.PenStyle.NoPen)
            for color, boxes in fills:
                painter.setBrush(color)
                painter.drawRects([b for b in boxes if rect.intersects(b)])
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for pen, boxes in outlines:
                painter.setPen(pen)
                painter.drawRects(boxes)
            painter.restore()
        painter.restore()

    def draw(self, painter, exposed: QRectF | None = None, skip=(), only=None):
        """Every box and line, or those in ``exposed`` (the minimap calls this with its
        own transform and no ``exposed``), less ``skip`` or of ``only``. A line is cut to
        the exposed part first: the rasteriser's cost is the length it strokes, clipped or not."""
        if exposed is not None and exposed.contains(self.bounds):
            exposed = None
        if exposed is None and not skip and only is None:
            if self._grouped is None:
                self._grouped = self._group()
            grouped = self._grouped
        else:
            keys = set(only) if only is not None else (self.grid.near(exposed) if exposed is not None
                                                       else set(self.boxes) | set(self.lines))
            if skip:
                keys -= skip
            grouped = self._group([k for k in keys if isinstance(k, str)],
                                  [k for k in keys if not isinstance(k, str)])
        fills, selected, marked, lines = grouped
        c = self.colors
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for look, color, width in (("still", c["wire"], 1.0), ("flows", c["wire_grad"], 1.0),
                                   ("selected", c["selected"], 2.0)):
            shown = lines[look] if exposed is None else clip_lines(lines[look], exposed)
            if shown:
                pen = QPen(color, width)
                pen.setCosmetic(True)                  # a line stays visible however far out
                painter.setPen(pen)
                painter.drawLines(shown)
        painter.setPen(Qt.PenStyle.NoPen)
        for color, rects in fills:
            if exposed is not None:
                rects = [r for r in rects if exposed.intersects(r)]
            if rects:
                painter.setBrush(color)
                painter.drawRects(rects)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rects, color in ((marked, c["error"]), (selected, c["selected"])):
            if rects:
                pen = QPen(color, 2.0)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawRects(rects)


def _line_box(line: QLineF) -> QRectF:
    return QRectF(line.p1(), line.p2()).normalized()


def clip_lines(lines: list, rect: QRectF) -> list:
    """The parts of ``lines`` inside ``rect``, dropping those outside (see :func:`clip_ends`);
    a line wholly inside is returned as it is."""
    if not lines:
        return []
    keep, whole, ends = clip_ends(np.array([(line.x1(), line.y1(), line.x2(), line.y2()) for line in lines]), rect)
    return [lines[i] if w else QLineF(*e) for i, w, e in zip(keep, whole, ends)]


def clip_ends(ends: np.ndarray, rect: QRectF) -> tuple:
    """The parts inside ``rect`` of the lines ``ends`` (n × 4: x0, y0, x1, y1), by
    Liang–Barsky for all of them at once (a Python loop over a thousand wires cost ~10 ms
    a frame): (the kept lines' indices, whether each is whole, their ends in the rect)."""
    x0, y0, x1, y1 = ends.T
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = np.zeros(len(ends)), np.ones(len(ends))
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, q in ((-dx, x0 - rect.left()), (dx, rect.right() - x0), (-dy, y0 - rect.top()), (dy, rect.bottom() - y0)):
            t = q / p
            t0 = np.where(p < 0, np.maximum(t0, t), t0)
            t1 = np.where(p > 0, np.minimum(t1, t), t1)
            t1 = np.where((p == 0) & (q < 0), -1.0, t1)          # parallel to that side, beyond it
    keep = np.flatnonzero(t0 <= t1)
    clipped = np.stack([x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy], axis=1)[keep].tolist()
    return keep.tolist(), ((t0 == 0.0) & (t1 == 1.0))[keep].tolist(), clipped


class GroupItem(QGraphicsItem):
    """A frame behind a group's members, with its name."""

    def __init__(self, name: str, colors: dict):
        super().__init__()
        self.name, self.colors = name, colors
        self.frame = QRectF()
        self.setZValue(-1)

    def set_frame(self, rect: QRectF):
        self.prepareGeometryChange()
        self.frame = rect.adjusted(-16, -26, 16, 16)

    def boundingRect(self) -> QRectF:
        return self.frame

    def paint(self, painter, option, widget=None):
        painter.setPen(QPen(self.colors["group_border"], 1.2, Qt.PenStyle.DashLine))
        painter.setBrush(QBrush(self.colors["group"]))
        painter.drawRoundedRect(self.frame, 8, 8)
        if zoom_of(painter) >= style.SIMPLE_BELOW:
            painter.setFont(BOLD)
            painter.setPen(self.colors["group_border"])
            painter.drawText(self.frame.adjusted(10, 4, -10, 0), Qt.AlignmentFlag.AlignTop, self.name)
