"""What a node, a wire and a group look like on the editor canvas.

A :class:`NodeItem` paints its own ports (typed inputs on the left, the output
on the right, coloured by dtype) rather than owning one child item per port:
500 nodes stay 500 items. Below :data:`~.style.SIMPLE_BELOW` zoom a node is a
plain box and a wire a straight line (the level of detail NodeGraphQt and
litegraph use), so a big design pans and zooms at frame rate. Items only draw;
what they show is set by the scene (:mod:`.scene`) from the design and the
latest run.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from . import style

FONT = QFont()
FONT.setPointSizeF(8.5)
BOLD = QFont(FONT)
BOLD.setBold(True)
_METRICS = QFontMetricsF(FONT)
MAX_NOTE_LINES = 3


def zoom_of(painter) -> float:
    return QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())


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
    """One node. ``node_id`` stays; the rest is set by :meth:`show`."""

    def __init__(self, node_id: str, colors: dict):
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
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        # painted once per zoom level, then blitted: panning and dragging repaint no text
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # -- what it shows --------------------------------------------------------------------
    def show_node(self, design, node, shape, error: str | None, flows: bool, fill: QColor | None):
        self.prepareGeometryChange()
        self.kind, self.dtype = node.kind, node.dtype
        self.title = _METRICS.elidedText(node_title(design, node), Qt.TextElideMode.ElideRight,
                                         style.NODE_WIDTH - 30)
        self.lines = [_METRICS.elidedText(t, Qt.TextElideMode.ElideRight, style.NODE_WIDTH - 16)
                      for t in node_lines(node)]
        self.inputs = node.arity
        self.has_output = node.kind != "output"
        self.requires_grad = node.requires_grad
        self.is_root = design.root == node.id
        shape_text = "shape ?" if shape is None else f"shape {shape}"
        self.footer = f"{shape_text}  {node.dtype}" + ("  ∇" if flows else "")
        body = max(len(self.lines), self.inputs) + 1
        self.height = style.HEADER + style.LINE * body + 6
        self.note_lines = wrap(error, style.NODE_WIDTH + 40) if error else []
        self.fill = fill
        self.update()

    # -- geometry -------------------------------------------------------------------------
    def rect(self) -> QRectF:
        return QRectF(-style.NODE_WIDTH / 2, -self.height / 2, style.NODE_WIDTH, self.height)

    def boundingRect(self) -> QRectF:
        r = self.rect().adjusted(-style.PORT_RADIUS - 2, -2, style.PORT_RADIUS + 2, 2)
        if self.note_lines:
            r.setBottom(r.bottom() + style.LINE * len(self.note_lines) + 4)
            r.setLeft(min(r.left(), -style.NODE_WIDTH / 2 - 20))
            r.setRight(max(r.right(), style.NODE_WIDTH / 2 + 20))
        return r

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
        rect = self.rect()
        selected = self.isSelected()
        kind_color = QColor(style.KIND_COLORS[self.kind])
        if zoom_of(painter) < style.SIMPLE_BELOW:       # level of detail: a plain box
            painter.fillRect(rect, self.fill or kind_color)
            if selected or self.note_lines:
                painter.setPen(QPen(c["selected"] if selected else c["error"], 3))
                painter.drawRect(rect)
            return
        painter.setPen(QPen(c["selected"] if selected else (c["error"] if self.note_lines else c["border"]),
                            2.5 if selected or self.note_lines else 1.0))
        painter.setBrush(c["node"])
        painter.drawRoundedRect(rect, 5, 5)
        header = QRectF(rect.left(), rect.top(), rect.width(), style.HEADER)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.fill or kind_color)
        painter.drawRoundedRect(header, 5, 5)
        painter.drawRect(header.adjusted(0, style.HEADER / 2, 0, 0))
        text_on_header = QColor("#000000") if (self.fill and self.fill.lightness() > 140) else QColor("#ffffff")
        painter.setPen(text_on_header)
        painter.setFont(BOLD)
        painter.drawText(header.adjusted(8, 0, -22, 0), Qt.AlignmentFlag.AlignVCenter, self.title)
        if self.kind == "leaf":                         # requires_grad toggle, drawn in the header
            box = self.grad_box()
            painter.setPen(QPen(text_on_header, 1))
            painter.setBrush(c["wire_grad"] if self.requires_grad else Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(box, 2, 2)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "∇")
        painter.setFont(FONT)
        painter.setPen(c["text"])
        y = rect.top() + style.HEADER + 3
        for line in self.lines:
            painter.drawText(QRectF(rect.left() + 10, y, rect.width() - 18, style.LINE),
                             Qt.AlignmentFlag.AlignVCenter, line)
            y += style.LINE
        painter.setPen(c["muted"])
        painter.drawText(QRectF(rect.left() + 10, rect.bottom() - style.LINE - 3, rect.width() - 16, style.LINE),
                         Qt.AlignmentFlag.AlignVCenter, self.footer)
        port = QColor(style.DTYPE_COLORS.get(self.dtype, "#888888"))
        painter.setPen(QPen(c["border"], 1))
        for slot in range(self.inputs):
            flows = slot < len(self.input_flows) and self.input_flows[slot]
            painter.setBrush(port if flows is not None else c["node"])
            painter.drawEllipse(self.input_point(slot), style.PORT_RADIUS, style.PORT_RADIUS)
        if self.has_output:
            painter.setBrush(port)
            painter.drawEllipse(self.output_point(), style.PORT_RADIUS, style.PORT_RADIUS)
        if self.note_lines:
            painter.setPen(c["error"])
            y = rect.bottom() + 3
            for line in self.note_lines:
                painter.drawText(QRectF(-style.NODE_WIDTH / 2 - 20, y, style.NODE_WIDTH + 40, style.LINE),
                                 Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, line)
                y += style.LINE

    def grad_box(self) -> QRectF:
        rect = self.rect()
        return QRectF(rect.right() - 19, rect.top() + 3, 14, style.HEADER - 6)

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and self.scene() is not None:
            self.scene().node_item_moved(self)
        return super().itemChange(change, value)


def _near(a: QPointF, b: QPointF, reach: float) -> bool:
    return math.hypot(a.x() - b.x(), a.y() - b.y()) <= reach


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    path = QPainterPath(start)
    bend = max(40.0, abs(end.x() - start.x()) * 0.5)
    path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
    return path


class WireItem(QGraphicsPathItem):
    """A link: orange and solid where gradient flows (its value requires grad), grey
    and dashed where it does not; the shape it carries written at its middle. What
    painting needs (pens, the label's box) is worked out when the wire changes, not
    per frame: a frame of a big design paints hundreds of wires from Python."""

    def __init__(self, link, colors: dict):
        super().__init__()
        self.link = link
        self.colors = colors
        self.flows = False
        self.label = ""
        self.start = self.end = QPointF()
        self.label_box = QRectF()
        self.bounds = QRectF()
        self.selected_pen = QPen(colors["selected"], 3.0)
        self.layer = None             # the WireLayer that paints it
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        # the item is kept for picking (hover, select, drop-on-wire); the layer paints
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.setAcceptHoverEvents(True)

    def set_state(self, flows: bool, shape):
        label = "" if shape is None else str(tuple(shape))
        if (flows, label) == (self.flows, self.label) and self.pen().widthF() > 1.0:
            return
        self.flows, self.label = flows, label
        pen = QPen(self.colors["wire_grad"] if flows else self.colors["wire"], 2.4 if flows else 1.6)
        if not flows:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self._place_label()
        self._changed()
        self.setToolTip(f"carries shape {self.label or '?'}; "
                        + ("gradient flows back along it" if flows else "no gradient flows (nothing upstream requires grad)"))

    def set_ends(self, start: QPointF, end: QPointF):
        if start == self.start and end == self.end and not self.path().isEmpty():
            return
        self.start, self.end = QPointF(start), QPointF(end)
        self.setPath(wire_path(start, end))
        self.bounds = self.path().boundingRect().adjusted(-3, -3, 3, 3)
        self._place_label()
        self._changed()

    def _changed(self):
        if self.layer is not None:
            self.layer.mark_dirty()

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._changed()
        return super().itemChange(change, value)

    def _place_label(self):
        if not self.label:
            self.label_box = QRectF()
            return
        middle = (self.start + self.end) / 2          # a symmetric cubic passes through the midpoint
        width = _METRICS.horizontalAdvance(self.label) + 8
        self.label_box = QRectF(middle.x() - width / 2, middle.y() - 8, width, 16)

    def paint(self, painter, option, widget=None):
        pass                          # painted by its WireLayer


class WireLayer(QGraphicsItem):
    """Every wire painted in one go: one path per look (gradient flows / not /
    selected), rebuilt only when a wire changed, so a frame costs a few Python calls
    however many wires there are; straight lines when zoomed out; shape labels only
    where the frame is exposed."""

    def __init__(self, colors: dict):
        super().__init__()
        self.colors = colors
        self.wires: set = set()
        self.dirty = True
        self.bounds = QRectF()
        self.paths = self.lines = {}
        self.setZValue(0)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)   # a true exposedRect

    def add(self, wire: WireItem):
        wire.layer = self
        self.wires.add(wire)
        self.mark_dirty()

    def remove(self, wire: WireItem):
        wire.layer = None
        self.wires.discard(wire)
        self.mark_dirty()

    def mark_dirty(self):
        if not self.dirty:
            self.dirty = True
            self.update()

    def _rebuild(self):
        self.dirty = False
        paths = {"flows": QPainterPath(), "still": QPainterPath(), "selected": QPainterPath()}
        lines = {"flows": [], "still": [], "selected": []}
        bounds = QRectF()
        for wire in self.wires:
            look = "selected" if wire.isSelected() else ("flows" if wire.flows else "still")
            paths[look].addPath(wire.path())
            lines[look].append(QLineF(wire.start, wire.end))
        for path in paths.values():
            bounds = bounds.united(path.boundingRect())
        if bounds != self.bounds:
            self.prepareGeometryChange()
            self.bounds = bounds
        self.paths, self.lines = paths, lines

    def boundingRect(self) -> QRectF:
        if self.dirty:
            self._rebuild()
        return self.bounds.adjusted(-60, -12, 60, 12)

    def paint(self, painter, option, widget=None):
        if self.dirty:
            self._rebuild()
        zoom = zoom_of(painter)
        c = self.colors
        still = QPen(c["wire"], 1.6, Qt.PenStyle.DashLine)
        pens = {"flows": QPen(c["wire_grad"], 2.4), "still": still, "selected": QPen(c["selected"], 3.0)}
        painter.setBrush(Qt.BrushStyle.NoBrush)
        exposed = option.exposedRect
        simple = zoom < style.SIMPLE_BELOW
        if simple or exposed.contains(self.bounds):
            paths, shown = self.paths, self.wires
        else:       # stroke only the wires in the frame: stroking costs even where it is clipped
            shown = [w for w in self.wires if exposed.intersects(w.bounds)]
            paths = {look: QPainterPath() for look in pens}
            for wire in shown:
                paths["selected" if wire.isSelected() else ("flows" if wire.flows else "still")].addPath(wire.path())
        for look, pen in pens.items():
            painter.setPen(pen)
            if simple:
                if self.lines[look]:
                    painter.drawLines(self.lines[look])
            elif not paths[look].isEmpty():
                painter.drawPath(paths[look])
        if zoom < style.TEXT_BELOW:
            return
        painter.setFont(FONT)
        for wire in shown:
            if wire.label and exposed.intersects(wire.label_box):
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(c["background"])
                painter.drawRect(wire.label_box)
                painter.setPen(c["muted"])
                painter.drawText(wire.label_box, Qt.AlignmentFlag.AlignCenter, wire.label)


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
