"""A collapsed group on the editor canvas: one node standing for its members.

When the design marks a group collapsed (``Design.collapsed``), :func:`sync`
hides the group's members, its frame and the wires between members, and shows
a :class:`CollapsedGroupItem` at the members' centre: the group's name, how
many nodes it holds, one input port per link coming in from outside and one
output port per member feeding something outside (``Design.group_ports``).
The wires that cross the group's border are drawn to those ports
(:func:`wire_ends`). Expanding undoes all of it. Only the drawing changes;
the design computes the same.

Dragging the collapsed node moves its members with it, as one undo step;
double-clicking it expands it (the view's gesture, also one step).
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem

from . import style
from .items import BOLD, FONT, _METRICS, zoom_of

WIDTH = style.NODE_WIDTH + 30


class CollapsedGroupItem(QGraphicsItem):
    """One collapsed group: ``name`` stays, the ports are set by :meth:`show_ports`."""

    def __init__(self, name: str, colors: dict):
        super().__init__()
        self.name, self.colors = name, colors
        self.inputs: list = []           # Link per input port, top to bottom
        self.outputs: list = []          # member node id per output port
        self.input_labels: list = []
        self.output_labels: list = []
        self.count = 0
        self.hidden: set = set()         # the member nodes this item stands for (hidden)
        self.height = style.HEADER + style.LINE * 2 + 6
        self._press = None
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setZValue(1)
        self.setToolTip(f"group {name}, collapsed: double-click to expand")

    def show_ports(self, design, inputs: list, outputs: list, count: int):
        self.prepareGeometryChange()
        self.inputs, self.outputs, self.count = list(inputs), list(outputs), count
        width = WIDTH / 2 - 14
        self.input_labels = [_METRICS.elidedText(_input_label(design, l), Qt.TextElideMode.ElideRight, width)
                             for l in inputs]
        self.output_labels = [_METRICS.elidedText(design.describe(n), Qt.TextElideMode.ElideRight, width)
                              for n in outputs]
        self.height = style.HEADER + style.LINE * (max(len(inputs), len(outputs), 1) + 1) + 6
        self.update()

    # -- geometry ----------------------------------------------------------------------------
    def rect(self) -> QRectF:
        return QRectF(-WIDTH / 2, -self.height / 2, WIDTH, self.height)

    def boundingRect(self) -> QRectF:
        return self.rect().adjusted(-style.PORT_RADIUS - 2, -2, style.PORT_RADIUS + 2, 2)

    def _port_y(self, index: int) -> float:
        return -self.height / 2 + style.HEADER + style.LINE * (index + 0.5) + 3

    def input_point(self, link) -> QPointF:
        index = self.inputs.index(link) if link in self.inputs else 0
        return QPointF(-WIDTH / 2, self._port_y(index))

    def output_point(self, node_id: str) -> QPointF:
        index = self.outputs.index(node_id) if node_id in self.outputs else 0
        return QPointF(WIDTH / 2, self._port_y(index))

    # -- painting ----------------------------------------------------------------------------
    def paint(self, painter, option, widget=None):
        c = self.colors
        rect = self.rect()
        selected = self.isSelected()
        solid = QColor(c["group_border"].red(), c["group_border"].green(), c["group_border"].blue())
        if zoom_of(painter) < style.SIMPLE_BELOW:       # level of detail: a plain box, as nodes are
            painter.fillRect(rect, solid)
            if selected:
                painter.setPen(QPen(c["selected"], 3))
                painter.drawRect(rect)
            return
        painter.setPen(QPen(c["selected"] if selected else c["group_border"], 2.5 if selected else 1.5))
        painter.setBrush(c["node"])
        painter.drawRoundedRect(rect, 6, 6)
        header = QRectF(rect.left(), rect.top(), rect.width(), style.HEADER)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(solid))
        painter.drawRoundedRect(header, 6, 6)
        painter.drawRect(header.adjusted(0, style.HEADER / 2, 0, 0))
        painter.setPen(QColor("#ffffff"))
        painter.setFont(BOLD)
        title = _METRICS.elidedText(f"▸ {self.name}", Qt.TextElideMode.ElideRight, WIDTH - 60)
        painter.drawText(header.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, title)
        painter.setFont(FONT)
        painter.drawText(header.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                         f"{self.count} nodes")
        painter.setPen(c["text"])
        for i, label in enumerate(self.input_labels):
            painter.drawText(QRectF(rect.left() + 10, self._port_y(i) - style.LINE / 2, WIDTH / 2 - 12, style.LINE),
                             Qt.AlignmentFlag.AlignVCenter, label)
        for i, label in enumerate(self.output_labels):
            painter.drawText(QRectF(0, self._port_y(i) - style.LINE / 2, WIDTH / 2 - 10, style.LINE),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, label)
        painter.setPen(QPen(c["border"], 1))
        painter.setBrush(style.dtype_color("float32"))
        for i in range(len(self.inputs)):
            painter.drawEllipse(QPointF(-WIDTH / 2, self._port_y(i)), style.PORT_RADIUS, style.PORT_RADIUS)
        for i in range(len(self.outputs)):
            painter.drawEllipse(QPointF(WIDTH / 2, self._port_y(i)), style.PORT_RADIUS, style.PORT_RADIUS)

    # -- gestures ----------------------------------------------------------------------------
    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and self.scene() is not None:
            self.scene().collapsed_group_moved(self)
        return super().itemChange(change, value)

    def mousePressEvent(self, event):
        self._press = QPointF(self.pos())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        start, self._press = self._press, None
        scene = self.scene()
        if start is None or scene is None or start == self.pos():
            return
        delta = self.pos() - start
        design = scene.design
        moves = {m: (design.nodes[m].position, (design.nodes[m].position[0] + delta.x(),
                                                design.nodes[m].position[1] + delta.y()))
                 for m in design.groups.get(self.name, ())}
        scene.document.move(moves)          # one step: the members move with their group


def _input_label(design, link) -> str:
    target = design.nodes[link.dst]
    slot = f" [{link.slot + 1}]" if target.arity > 1 else ""
    return f"{design.describe(link.dst)}{slot}"


def centre_of(design, members) -> QPointF:
    xs = [design.nodes[m].position[0] for m in members]
    ys = [design.nodes[m].position[1] for m in members]
    return QPointF(sum(xs) / len(xs), sum(ys) / len(ys))


def sync(scene, name: str) -> bool:
    """Show group ``name`` collapsed or expanded as the design says; True when it is
    collapsed (the scene then draws no frame for it). The nodes it hid before and no
    longer holds (the group was made again with other members) are shown again."""
    design = scene.design
    members = design.groups.get(name, ())
    collapsed = bool(members) and name in design.collapsed
    item = scene.collapsed.get(name)
    affected = set(members) | (item.hidden if item is not None else set())

    def hidden_by_another(m):
        return any(m in design.groups.get(other, ()) for other in design.collapsed if other != name)
    hide = {m for m in affected if (collapsed and m in members) or hidden_by_another(m)}
    if not collapsed:
        if item is not None:
            scene.removeItem(scene.collapsed.pop(name))
        _show_members(scene, affected, hide)
        return False
    if item is None:
        item = scene.collapsed[name] = CollapsedGroupItem(name, scene.colors)
        scene.addItem(item)
        item.setPos(centre_of(design, members))
    elif item._press is None:       # not while the person drags it
        centre = centre_of(design, members)
        if item.pos() != centre:
            item.setPos(centre)
    item.hidden = set(members)
    inputs, outputs = design.group_ports(name)
    item.show_ports(design, inputs, outputs, len(members))
    _show_members(scene, affected, hide)
    return True


def _show_members(scene, nodes, hidden: set):
    for m in nodes:
        node = scene.nodes.get(m)
        if node is not None:
            if m in hidden:
                node.setSelected(False)
            node.setVisible(m not in hidden)
            scene.overview.node_changed(node)   # the zoomed-out overview drops a hidden node
    for m in nodes:
        for wire in scene.node_wires.get(m, ()):
            link = wire.link
            box = collapsed_item_of(scene, link.src)
            inside = box is not None and box is collapsed_item_of(scene, link.dst)
            if inside and wire.isVisible():
                wire.setSelected(False)
                wire.hide()
            elif not inside and not wire.isVisible():
                wire.show()
            scene._place_wire(wire)
            scene.overview.wire_changed(wire)


def collapsed_item_of(scene, node_id: str):
    """The collapsed group item a hidden node is drawn inside, or None."""
    if not scene.collapsed:
        return None
    for name, item in scene.collapsed.items():
        if node_id in scene.design.groups.get(name, ()):
            return item
    return None


def wire_ends(scene, wire):
    """``(start, end)`` in scene coordinates of a wire with an end inside a collapsed
    group (drawn to that group's port), or None for an ordinary wire."""
    link = wire.link
    src_group, dst_group = collapsed_item_of(scene, link.src), collapsed_item_of(scene, link.dst)
    if src_group is None and dst_group is None:
        return None
    if src_group is not None:
        start = src_group.mapToScene(src_group.output_point(link.src))
    else:
        item = scene.nodes.get(link.src)
        start = item.mapToScene(item.output_point()) if item is not None else QPointF()
    if dst_group is not None:
        end = dst_group.mapToScene(dst_group.input_point(link))
    else:
        item = scene.nodes.get(link.dst)
        end = item.mapToScene(item.input_point(link.slot)) if item is not None else QPointF()
    return start, end
