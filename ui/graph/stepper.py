"""The step-through drawn on the graph scene: one step's state as decorations.

:class:`StepOverlay` takes a :class:`gradstudio.studio.stepping.State` and the
:class:`~gradstudio.studio.stepping.Stepper` it came from and marks the scene's
items: the running node ringed, nodes the gradient has not reached dimmed, a
badge on each node that saved tensors ("saved", or "freed" once the pass — or an
earlier one — released them), and a pill on each edge a gradient has travelled
along, showing its shape, with its values on hover. The node items themselves
are not changed beyond their opacity; everything else is an extra item, parented
to its node so it follows drags, and made again after the scene rebuilds.
"""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from gradstudio.studio import stepping

DIM = 0.28                  # opacity of what the gradient has not reached yet
RUNNING = QColor("#7048e8")     # the node being computed (violet: not the selection's blue, the root's orange)
FAILED = QColor("#d6336c")
HELD = QColor("#2b8a3e")
FREED = QColor("#868e96")


class _Badge(QGraphicsItem):
    """A small rounded label: a saved-tensor marker on a node, or an edge's gradient."""

    def __init__(self, text: str, color: QColor, *, hollow: bool = False, parent=None):
        super().__init__(parent)
        self.text, self.color, self.hollow = text, color, hollow
        self.setAcceptHoverEvents(True)
        self.setZValue(5)
        self._rect = QRectF()

    def layout(self, style):
        width = style.text_width(self.text, style.small) + 10
        height = style.line_height(style.small) + 2
        self.prepareGeometryChange()
        self._rect = QRectF(-width / 2, -height / 2, width, height)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter, option, widget=None):
        style = self.scene().style
        painter.setPen(QPen(self.color, 1.2, Qt.PenStyle.DashLine if self.hollow else Qt.PenStyle.SolidLine))
        painter.setBrush(QBrush(style.background if self.hollow else self.color))
        painter.drawRoundedRect(self._rect, 4, 4)
        painter.setPen(self.color if self.hollow else QColor("white"))
        painter.setFont(style.small)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class _Ring(QGraphicsItem):
    """A thick outline around the running (or failed) node."""

    def __init__(self, node_item, color: QColor):
        super().__init__(node_item)
        self.color = color
        self._rect = node_item.body().adjusted(-6, -6, 6, 6)
        self.setZValue(4)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

    def paint(self, painter, option, widget=None):
        painter.setPen(QPen(self.color, 3.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        path = QPainterPath()
        path.addRoundedRect(self._rect, 7, 7)
        painter.drawPath(path)


class StepOverlay:
    """Decorates ``scene`` with one step's state; :meth:`clear` takes it all away."""

    def __init__(self, scene):
        self.scene = scene
        self.items: list = []
        self.dimmed: list = []
        self.state = None
        self.stepper = None

    # -- what the scene shows for a trace node ---------------------------------------------
    def _item_of(self, node: int):
        document = self.scene.document
        vertex = self.stepper.vertex(node) if self.stepper is not None else None
        if document is None or vertex is None:
            return None
        return self.scene.node_items.get(document.visible_id(vertex))

    def _edge_of(self, node: int, slot: int):
        """The scene's edge for input ``slot`` of ``node``'s vertex (the gradient runs
        along it backwards)."""
        target = self._item_of(node)
        if target is None:
            return None
        for edge in target.edges:
            if edge.target is target and edge.slot == slot:
                return edge
        return None

    def _badge_place(self, item, badge) -> QPointF:
        """Where a node's saved-tensor badge sits: on its body's top-right corner, just
        above it — or just below its bottom-right corner when above it would cover
        another node (nodes of a column lie a gap apart, less than a badge's height
        when module frames stand between them: the Tanh's badge hid model.2.bias)."""
        body = item.body()
        width, height = badge.boundingRect().width(), badge.boundingRect().height()
        x = body.right() - width / 2 + 4
        places = [QPointF(x, body.top() - height / 2 + 1), QPointF(x, body.bottom() + height / 2 - 1)]
        others = [other.mapRectToScene(other.body()) for other in self.scene.node_items.values()
                  if other is not item]

        def covered(place: QPointF) -> float:
            rect = item.mapRectToScene(badge.boundingRect().translated(place))
            return sum(max(0.0, r.width()) * max(0.0, r.height())
                       for r in (rect.intersected(other) for other in others))
        return min(places, key=covered)             # (the first of equals: above)

    # -- applying ------------------------------------------------------------------------
    def show(self, stepper, state):
        self.clear()
        self.stepper, self.state = stepper, state
        if stepper is None or state is None or self.scene.document is None:
            return
        style = self.scene.style
        reached_items = set()
        for info in stepper.nodes:
            item = self._item_of(info["id"])
            if item is not None and (state.reached(info["id"]) or info["id"] in state.finished):
                reached_items.add(item)
        if state.step >= 0:
            for item in self.scene.node_items.values():
                if item not in reached_items and item.kind != "const":
                    item.setOpacity(DIM)
                    self.dimmed.append(item)
            for edge in self.scene.edge_items:
                if edge.target not in reached_items:
                    edge.setOpacity(DIM)
                    self.dimmed.append(edge)
        # the running / failed node
        focus = state.error["node"] if state.error is not None else state.running
        item = self._item_of(focus) if focus is not None else None
        if item is not None and not state.complete:
            self.items.append(_Ring(item, FAILED if state.error is not None else RUNNING))
        # saved tensors: one badge per item (a collapsed chain counts its members)
        freed = set(stepper.freed(state))
        counts: dict = {}          # item -> [held, freed, infos]
        for info in stepper.nodes:
            if not info.get("saves"):
                continue
            item = self._item_of(info["id"])
            if item is not None:
                entry = counts.setdefault(item, [0, 0, []])
                entry[1 if info["id"] in freed else 0] += 1
                entry[2].append(info)
        for item, (held, gone, infos) in counts.items():
            if len(infos) == 1:
                count = len(infos[0].get("saved") or ()) or 1
                text = f"{'freed' if gone else 'saved'} ×{count}"
            else:
                text = " · ".join(t for t in (f"saved {held}" if held else "",
                                              f"freed {gone}" if gone else "") if t)
            badge = _Badge(text, FREED if not held else HELD, hollow=not held, parent=item)
            badge.layout(style)
            badge.setPos(self._badge_place(item, badge))
            badge.setToolTip("\n\n".join(_saved_tooltip(stepper, info, info["id"] in freed)
                                          for info in infos[:6])
                             + (f"\n… and {len(infos) - 6} more" if len(infos) > 6 else ""))
            self.items.append(badge)
        # gradients on edges; pills of edges that share a midpoint (x * x) are stacked
        placed = []
        for (node, slot), event in sorted(state.edges.items()):
            vertex = stepper.vertex(node)
            if vertex is None or self.scene.document.visible_id(vertex) != vertex:
                continue       # inside a collapsed chain: its edges are not drawn
            edge = self._edge_of(node, slot)
            value = event.get("grad")
            if edge is None or value is None:
                continue
            badge = _Badge(f"∂ {stepping.shape_text(value['shape'])}", RUNNING if node == state.running
                           else style.edge)
            badge.layout(style)
            path = edge._path
            point = path.pointAtPercent(0.5) if not path.isEmpty() else edge.boundingRect().center()
            height = badge.boundingRect().height()
            while any(abs(point.x() - p.x()) < 20 and abs(point.y() - p.y()) < height for p in placed):
                point = QPointF(point.x(), point.y() + height + 1)
            placed.append(point)
            badge.setPos(point)
            badge.setToolTip(f"gradient {stepper.name(node)} → {stepper.name(event['next_node'])} "
                             f"(input {event['input_nr']})\nshape {stepping.shape_text(value['shape'])}, "
                             f"{value['dtype']}\n{stepping.value_text(value)}")
            self.scene.addItem(badge)
            self.items.append(badge)

    def clear(self):
        for item in self.dimmed:
            if shiboken6.isValid(item):
                item.setOpacity(1.0)
        for item in self.items:
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self.items, self.dimmed = [], []

    def badges(self) -> list:
        """The saved-tensor and edge badges shown (for tests): (text, tooltip)."""
        return [(i.text, i.toolTip()) for i in self.items if isinstance(i, _Badge) and shiboken6.isValid(i)]

    def ring(self):
        return next((i for i in self.items if isinstance(i, _Ring) and shiboken6.isValid(i)), None)


def _saved_tooltip(stepper, info: dict, gone: bool) -> str:
    lines = [stepper.saved_note(info["id"])]
    for saved in info.get("saved") or ():
        shape = saved.get("shape")
        lines.append(f"• {saved['what']}" + (f": shape {stepping.shape_text(shape)}" if shape else ""))
    if gone and not info.get("freed"):
        lines.append("Freed by this pass, when the node finished.")
    return "\n".join(lines)
