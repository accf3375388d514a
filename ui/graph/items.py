"""The graph's items: a node (op, leaf, constant or collapsed group), an edge,
the frame around an expanded group (a box around a chain; around a module
call, an outline hugging its nodes and the edges between them).

Items are views: they hold the id of what they show and the colours the
scene gave them, and read fonts and palette colours from the scene's
:class:`~.style.Style` when they paint. Dragging a node moves it freely; the
scene turns the finished drag into an undo command.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QLinearGradient, QPainterPath, QPainterPathStroker, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem

from .style import contrasting_text

PAD_X, PAD_Y = 10.0, 5.0          # around an op's or a leaf's text
CONST_PAD_X, CONST_PAD_Y = 7.0, 2.0
STACK = 3.0                        # offset of the cards drawn behind a collapsed group
STRIP = 5.0                        # height of a group's gradient strip
MIN_WIDTH = 34.0
ROOT_TAG = "backward()"
ARROW = 7.0


def fonts_for(style, role):
    return {"title": style.bold, "detail": style.small, "const": style.small}[role]


def measure(style, kind: str, lines: list) -> tuple:
    """(width, height) of a node showing ``lines`` [(text, role)] — the text never gets cut."""
    pad_x, pad_y = (CONST_PAD_X, CONST_PAD_Y) if kind == "const" else (PAD_X, PAD_Y)
    width = max(style.text_width(text, fonts_for(style, role)) for text, role in lines) + 2 * pad_x + 2
    height = sum(style.line_height(fonts_for(style, role)) for _, role in lines) + 2 * pad_y
    if kind == "group":
        width += STACK * 2
        height += STACK * 2 + STRIP
    return max(width, MIN_WIDTH if kind != "const" else 0.0), height


class NodeItem(QGraphicsItem):
    """One visible vertex; ``vid`` is the vertex id (an int) or a group id (a str)."""

    def __init__(self, vid, kind: str, lines: list, size: tuple, *, fill: QColor | None = None,
                 strip: tuple | None = None, is_root: bool = False, tooltip=None):
        super().__init__()
        self.vid = vid
        self.kind = kind
        self.lines = lines
        self.width, self.height = size
        self.fill = fill                   # gradient colour; None: no gradient reached it
        self.strip = strip                 # (first colour, last colour) of a group's steps
        self.is_root = is_root
        self.highlighted = False
        self.hovered = False
        self._tooltip = tooltip            # a function making the tooltip, called on first hover
        self.edges: list = []
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.tag_width = 0.0               # the root's "backward()" tag, set by the scene

    # -- geometry ------------------------------------------------------------------------------
    def body(self) -> QRectF:
        return QRectF(-self.width / 2, -self.height / 2, self.width, self.height)

    def boundingRect(self) -> QRectF:
        rect = self.body().adjusted(-5, -5, 5, 5)
        if self.is_root:
            rect.setRight(rect.right() + self.tag_width + 8)
        return rect

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.body())
        return path

    def port_in(self, slot: int, count: int) -> QPointF:
        """Where argument ``slot`` of ``count`` enters (left side, in argument order, top first)."""
        body = self.body()
        if count <= 1 or self.kind == "const":
            dy = 0.0
        else:
            spacing = min(9.0, (body.height() - 8) / (count - 1))
            dy = (slot - (count - 1) / 2) * spacing
        return self.pos() + QPointF(body.left(), dy)

    def port_out(self) -> QPointF:
        return self.pos() + QPointF(self.body().right(), 0)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    # -- looks ---------------------------------------------------------------------------------
    def set_highlighted(self, on: bool):
        if on != self.highlighted:
            self.highlighted = on
            self.setZValue(2 if on else 0)
            self.update()

    def fill_color(self, style) -> QColor:
        if self.kind == "const":
            return style.const_fill
        return self.fill if self.fill is not None else style.no_grad_fill

    def text_color(self, style) -> QColor:
        if self.kind == "const":
            return style.muted
        return contrasting_text(self.fill) if self.fill is not None else style.no_grad_text

    def set_tooltip_source(self, make):
        """Make the tooltip with ``make()`` on the next hover (it can be costly for big tensors)."""
        self._tooltip = make
        self.setToolTip("")

    def hoverEnterEvent(self, event):
        if self._tooltip is not None:
            self.setToolTip(self._tooltip())
            self._tooltip = None
        self.hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event):
        self.hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def _outline(self, rect: QRectF) -> QPainterPath:
        path = QPainterPath()
        radius = rect.height() / 2 if self.kind in ("leaf", "const") else 5.0
        path.addRoundedRect(rect, radius, radius)
        return path

    def paint(self, painter, option, widget=None):
        style = self.scene().style
        body = self.body()
        fill = self.fill_color(style)
        border = QPen(style.border, 1.0)
        if self.kind == "group":                       # cards stacked behind: "many of these"
            card = body.adjusted(2 * STACK, 0, 0, -2 * STACK)
            for k in (2, 1):
                painter.setPen(border)
                painter.setBrush(QBrush(fill.darker(100 + 12 * k) if self.fill is not None else fill))
                painter.drawPath(self._outline(card.translated(-k * STACK, k * STACK)))
            body = body.adjusted(0, 2 * STACK, -2 * STACK, 0)
        outline = self._outline(body)
        painter.setPen(border)
        painter.setBrush(QBrush(fill))
        if self.kind == "const":
            painter.setPen(QPen(style.border, 0.8, Qt.PenStyle.DashLine))
        painter.drawPath(outline)
        if self.kind == "group" and self.strip is not None:
            strip = QRectF(body.left() + 4, body.bottom() - STRIP - 3, body.width() - 8, STRIP)
            gradient = QLinearGradient(strip.topLeft(), strip.topRight())
            gradient.setColorAt(0.0, self.strip[0])
            gradient.setColorAt(1.0, self.strip[1])
            painter.setPen(QPen(contrasting_text(fill), 0.6))
            painter.setBrush(QBrush(gradient))
            painter.drawRect(strip)
        if self.is_root:
            painter.setPen(QPen(style.root, 2.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(self._outline(body.adjusted(-1.5, -1.5, 1.5, 1.5)))
            self._paint_root_tag(painter, style, body)
        if self.highlighted or self.hovered:
            color = QColor(style.highlight)
            if not self.highlighted:
                color.setAlphaF(0.55)
            painter.setPen(QPen(color, 3.0 if self.highlighted else 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(self._outline(body.adjusted(-3.5, -3.5, 3.5, 3.5)))
        painter.setPen(self.text_color(style))
        heights = [style.line_height(fonts_for(style, role)) for _, role in self.lines]
        y = body.center().y() - sum(heights) / 2 - (STRIP / 2 if self.kind == "group" else 0)
        for (text, role), h in zip(self.lines, heights):
            painter.setFont(fonts_for(style, role))
            painter.drawText(QRectF(body.left(), y, body.width(), h), Qt.AlignmentFlag.AlignCenter, text)
            y += h

    def _paint_root_tag(self, painter, style, body: QRectF):
        width = self.tag_width
        h = style.line_height(style.small) + 4
        tag = QRectF(body.right() + 6, body.center().y() - h / 2, width, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.root)
        painter.drawRoundedRect(tag, 4, 4)
        painter.setPen(style.root_text)
        painter.setFont(style.small)
        painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, ROOT_TAG)


class EdgeItem(QGraphicsItem):
    """Argument ``slot`` of ``target`` comes from ``source``: a curve left to right
    through the layout's bends (dropped once either end has been dragged)."""

    def __init__(self, source: NodeItem, target: NodeItem, slot: int, slots: int, bends: list,
                 document=None):
        super().__init__()
        self.source, self.target = source, target
        self.slot, self.slots = slot, slots
        self.bends = [QPointF(x, y) for x, y in bends]
        self.document = document
        self.light = source.kind == "const"
        self.setZValue(-1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._path = QPainterPath()
        self._arrow = QPolygonF()
        self._bounds = QRectF()
        source.edges.append(self)
        target.edges.append(self)
        self.update_path()

    def points(self) -> list:
        start, end = self.source.port_out(), self.target.port_in(self.slot, self.slots)
        moved = self.document is not None and (self.document.is_moved(self.source.vid)
                                               or self.document.is_moved(self.target.vid))
        return [start] + ([] if moved else self.bends) + [end]

    def update_path(self):
        points = self.points()
        path = QPainterPath(points[0])
        for a, b in zip(points, points[1:]):
            dx = max(abs(b.x() - a.x()) / 2, 12.0)
            path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
        end = points[-1]
        self._arrow = QPolygonF([end, end + QPointF(-ARROW, -ARROW / 2.2), end + QPointF(-ARROW, ARROW / 2.2)])
        self.prepareGeometryChange()
        self._path = path
        self._bounds = path.boundingRect().united(self._arrow.boundingRect()).adjusted(-3, -3, 3, 3)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def curve(self) -> QPainterPath:
        """The edge's curve in scene coordinates."""
        return QPainterPath(self._path)

    def paint(self, painter, option, widget=None):
        style = self.scene().style
        color = style.edge
        width = 1.0 if self.light else 1.4
        if self.source.highlighted or self.target.highlighted:
            color, width = style.highlight, 2.0
        painter.setPen(QPen(color, width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPolygon(self._arrow)


class GroupFrameItem(QGraphicsItem):
    """The box around the members of an expanded group, with its title."""

    def __init__(self, gid: str, title: str, rect: QRectF, *, hint: bool = True, z: float = -2.0):
        """``hint``: the header says how to collapse (a module call's header is only its
        name, so that side-by-side calls keep their headers apart); ``z`` puts an inner
        frame over the frame around it (both stay under the edges)."""
        super().__init__()
        self.gid = gid
        self.title = title
        self.rect = rect
        self.hint = hint
        self.setZValue(z)
        self.setToolTip(f"{title} — double-click the frame to collapse")

    def header(self) -> QRectF:
        style = self.scene().style if self.scene() is not None else None
        if style is None:
            return QRectF(self.rect.left(), self.rect.top() - 16, self.rect.width(), 16)
        h = style.line_height(style.small) + 4
        width = max(self.rect.width(), style.text_width(self.header_text(), style.small) + 16)
        return QRectF(self.rect.left(), self.rect.top() - h, width, h)

    def header_text(self) -> str:
        return f"{self.title}  ·  double-click to collapse" if self.hint else self.title

    def outline(self) -> QRectF:
        """The frame with its header: what a frame around this one must enclose."""
        return self.rect.united(self.header())

    def boundingRect(self) -> QRectF:
        return self.rect.united(self.header()).adjusted(-2, -2, 2, 2)

    def paint(self, painter, option, widget=None):
        style = self.scene().style
        painter.setPen(QPen(style.frame_border, 1.0, Qt.PenStyle.DashLine))
        painter.setBrush(style.frame_fill)
        painter.drawRoundedRect(self.rect, 8, 8)
        painter.setPen(style.muted)
        painter.setFont(style.small)
        painter.drawText(self.header().adjusted(8, 0, 0, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.header_text())


MAX_HUGGED = 400        # a module call with more nodes gets a plain box (the outline's union costs O(n²))


def hug(rects: list, paths: list, pad: float, tab: QRectF | None = None) -> QPainterPath:
    """One outline around ``rects`` (each grown by ``pad``) and ``paths`` (edge curves,
    stroked ``pad`` wide on each side) — the frame of a module call in a layered
    drawing whose columns it shares with other nodes (a simple Bubble Set: Collins
    et al. 2009), with ``tab`` (the title's box) joined on as it is. Over
    :data:`MAX_HUGGED` pieces, the box around them."""
    if not rects:
        return QPainterPath()
    if len(rects) + len(paths) > MAX_HUGGED:
        box = QRectF(rects[0])
        for rect in rects[1:]:
            box = box.united(rect)
        for path in paths:
            box = box.united(path.boundingRect())
        outline = QPainterPath()
        outline.addRoundedRect(box.adjusted(-pad, -pad, pad, pad), 8, 8)
        if tab is not None:
            outline.addRoundedRect(tab, 4, 4)
            outline = outline.simplified()
        return outline
    pieces = QPainterPath()
    pieces.setFillRule(Qt.FillRule.WindingFill)
    for rect in rects:
        pieces.addRoundedRect(rect.adjusted(-pad, -pad, pad, pad), pad, pad)
    stroker = QPainterPathStroker()
    stroker.setWidth(pad * 1.6)
    stroker.setCapStyle(Qt.PenCapStyle.RoundCap)
    stroker.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    for path in paths:
        pieces.addPath(stroker.createStroke(path))
    if tab is not None:
        pieces.addRoundedRect(tab, 4, 4)
    return pieces.simplified()


class ModuleFrameItem(GroupFrameItem):
    """The outline of an expanded module call (:func:`hug`) with its title in a tab
    (``header``, scene coordinates) above its top-left node; double-clicking inside
    the outline collapses it."""

    def __init__(self, gid: str, title: str, outline: QPainterPath, header: QRectF, *, z: float = -2.0):
        super().__init__(gid, title, outline.boundingRect(), hint=False, z=z)
        self.path = outline
        self._header = header

    def header(self) -> QRectF:
        return self._header

    def shape(self) -> QPainterPath:
        return self.path

    def boundingRect(self) -> QRectF:
        return self.path.boundingRect().adjusted(-2, -2, 2, 2)

    def paint(self, painter, option, widget=None):
        style = self.scene().style
        painter.setPen(QPen(style.frame_border, 1.0, Qt.PenStyle.DashLine))
        painter.setBrush(style.frame_fill)
        painter.drawPath(self.path)
        painter.setPen(style.muted)
        painter.setFont(style.small)
        painter.drawText(self._header.adjusted(5, 0, 0, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.title)
