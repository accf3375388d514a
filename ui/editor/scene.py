"""The editor's ``QGraphicsScene``: fills itself from a design, then follows its events.

Nothing here edits the design — the view turns gestures into commands
(:mod:`.document`), the design announces what changed, and this scene adds,
removes or refreshes just the items concerned (Orange canvas's pattern: no
rebuild per edit). It also shows what the latest run found (:meth:`show_results`):
each node coloured by its gradient's magnitude, hover text with value, grad and
shape, and errors kept on the node that caused them.

Speed: an edit refreshes every node's text, but a node whose look did not change
is not repainted; moving a node re-routes only its own wires. The node and wire
items paint nothing themselves: the scene has two looks (:meth:`set_overview`),
detailed — one :class:`~.node_layer.NodeLayer` painting every node and one
:class:`~.wire_layer.WireLayer` every wire — and the zoomed-out overview, one
:class:`~.items.Overview` item painting boxes and lines; switching is a flag per
layer. The layers keep what they draw as a picture of the view (:mod:`.picture`).
Pictures of the design (:meth:`render`) are always detailed. While a zoom goes on,
each step only scales the layers' pictures (:meth:`zooming`); they are drawn crisp
again once it stops.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import QGraphicsScene

from gradstudio.ui.graph.style import GradScale

from . import group_item, style
from .items import MIDDLE, GroupItem, NodeItem, Overview, WireItem
from .node_layer import NodeLayer
from .wire_layer import WireLayer

SETTLE = 200       # ms after a zoom's last step when nodes are drawn crisp at the new scale
REACH = 1000.0     # scene units the scene's rect reaches beyond its nodes, and grows by at a time


@dataclass
class NodeResult:
    """What a run found for one node (all optional). ``value`` and ``grad`` are the
    arrays (or texts); their short texts are written when a hover asks for them —
    writing 200 arrays' texts on every live edit took ~100 ms of the GUI thread."""

    value: object = None       # the node's value
    grad: object = None        # the gradient that reached it
    grad_norm: float | None = None
    error: str = ""            # an error this node caused (with its hint)

    @property
    def value_text(self) -> str:
        return _short(self.value)

    @property
    def grad_text(self) -> str:
        return _short(self.grad)


def _short(value) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    from .results import short
    return short(value)


class DesignScene(QGraphicsScene):
    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self.design = document.design
        self.colors = style.colors()
        self.setBackgroundBrush(self.colors["background"])
        self.nodes: dict = {}          # node id -> NodeItem
        self.wires: dict = {}          # Link -> WireItem
        self.groups: dict = {}         # name -> GroupItem
        self.collapsed: dict = {}      # name -> CollapsedGroupItem (see group_item.py)
        self.node_wires: dict = {}     # node id -> the WireItems touching it
        self.results: dict = {}        # node id -> NodeResult of the latest run
        self.notes: dict = {}          # node id -> why the last edit of it was refused
        self._scale = GradScale([])
        self._following = True
        self._flows: set = set()
        self.overview_shown = False    # the zoomed-out look (set by the view from its zoom)
        self.overview = Overview(self.colors)
        self.wire_layer = WireLayer(self.colors)   # draws every wire of the detailed look
        self.node_layer = NodeLayer()              # draws every node of the detailed look
        self.drawing_picture = False   # inside full_detail: texts are written as text (an SVG keeps them)
        self.zoom_cached = False       # a zoom gesture goes on: the layers scale their pictures (see zooming)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE)
        self._settle.timeout.connect(self.zoom_settled)
        # the wires are routed once, when every node has its final size: routing each as it
        # comes and again when its nodes' text first sets their height was 3 routes per wire
        self._filling = True
        for node_id in self.design.nodes:
            self._add_node(node_id)
        for link in self.design.links:
            self._add_wire(link)
        for name in self.design.groups:
            self._refresh_group(name)
        self._refresh_all()
        self._filling = False
        for wire in self.wires.values():
            self._place_wire(wire)
        # the layers join the scene with their bounds known: each growth of an item's bounds
        # in a scene leaves Qt a repaint of all it covered, which a first edit would otherwise do
        for layer in (self.overview, self.wire_layer, self.node_layer):
            self.addItem(layer)
        self._rect = QRectF()
        self.reach(self.itemsBoundingRect(), slack=0.0)       # at first what Qt's own would be
        self.design.listeners.append(self._on_event)

    def close(self):
        """Stop following the design (the document outlives its scene)."""
        if self._on_event in self.design.listeners:
            self.design.listeners.remove(self._on_event)

    # -- design events ------------------------------------------------------------------------
    def _on_event(self, event):
        kind = event.kind
        if kind == "node_added":
            self._add_node(event.node)
        elif kind == "node_removed":
            item = self.nodes.pop(event.node)
            item.overview = item.layer = None
            self.overview.forget_node(event.node)
            self.node_layer.forget_node(item)
            self.removeItem(item)
            self.results.pop(event.node, None)
            self.notes.pop(event.node, None)
            self.node_wires.pop(event.node, None)
        elif kind == "link_added":
            self._add_wire(event.link)
        elif kind == "link_removed":
            wire = self.wires.pop(event.link)
            for end in (event.link.src, event.link.dst):
                self.node_wires.get(end, set()).discard(wire)
            wire.overview = wire.layer = None
            self.overview.forget_wire(wire)
            self.wire_layer.forget_wire(wire)
            self.removeItem(wire)
            self._share_label(event.link.src, event.link.dst)       # a twin it had writes its own
        elif kind == "node_moved":
            item = self.nodes[event.node]
            x, y = self.design.nodes[event.node].position
            if (item.pos().x(), item.pos().y()) != (x, y):
                item.setPos(x, y)
        elif kind == "node_changed":
            self.notes.pop(event.node, None)
        elif kind == "group_changed":
            self._refresh_group(event.node)
        elif kind == "shapes_changed":
            self._refresh_all()

    def _add_node(self, node_id: str):
        item = NodeItem(node_id, self.colors, layered=True)     # the node layer paints it
        x, y = self.design.nodes[node_id].position
        item.setPos(x, y)
        item.overview = self.overview
        item.layer = self.node_layer
        self.nodes[node_id] = item
        self.addItem(item)
        self.overview.node_changed(item)
        self.node_layer.node_changed(item)
        if not self._filling:
            self.reach(item.sceneBoundingRect())

    def _add_wire(self, link):
        wire = WireItem(link, self.colors, layered=True)      # the wire layer draws it
        self.wires[link] = wire
        for end in (link.src, link.dst):
            self.node_wires.setdefault(end, set()).add(wire)
        wire.overview = self.overview
        wire.layer = self.wire_layer
        self.addItem(wire)
        self._place_wire(wire)

    def _place_wire(self, wire):
        if self._filling:
            return
        ends = group_item.wire_ends(self, wire)
        if ends is None:
            src, dst = self.nodes.get(wire.link.src), self.nodes.get(wire.link.dst)
            if src is None or dst is None:
                return
            ends = src.mapToScene(src.output_point()), dst.mapToScene(dst.input_point(wire.link.slot))
        # (else an end is inside a collapsed group: the wire is drawn to the group's port)
        wire.set_ends(*ends)
        self._share_label(wire.link.src, wire.link.dst)

    def _share_label(self, src: str, dst: str):
        """Wires from one output into several inputs of one node (``x * x``) carry the same
        shape and run a few pixels apart, so their labels would lie on one another: the
        shape is written once, centred between them, by the wire into the lowest slot."""
        twins = sorted((w for w in self.node_wires.get(src, ()) if w.link.src == src and w.link.dst == dst),
                       key=lambda w: w.link.slot)
        if len(twins) == 1:
            twins[0].place_label(MIDDLE)
        elif twins:
            centre = sum((w.middle() for w in twins), QPointF()) / len(twins)
            twins[0].place_label(centre)
            for wire in twins[1:]:
                wire.place_label(None)

    def _refresh_all(self):
        """Shapes, errors and gradient flow after an edit: items whose text changed repaint."""
        design = self.design
        self._flows = design.requiring_grad()
        for node_id, item in self.nodes.items():
            self._refresh_node(node_id, item)
        for link, wire in self.wires.items():       # (their ends moved only if a node's height did)
            wire.set_state(link.src in self._flows, design.shapes.get(link.src))
        for name in list(self.groups):
            self._refresh_group(name)

    def _refresh_node(self, node_id: str, item: NodeItem):
        design = self.design
        node = design.nodes[node_id]
        result = self.results.get(node_id)
        error = self.notes.get(node_id) or design.errors.get(node_id) or (result.error if result else "")
        fill = self._scale.color(result.grad_norm) if result and result.grad_norm is not None else None
        connected = {w.link.slot for w in self._wires_of(node_id) if w.link.dst == node_id}
        height = item.height
        item.show_node(design, node, design.shapes.get(node_id), error or None, node_id in self._flows, fill,
                       [True if s in connected else None for s in range(node.arity)])
        if item.height != height:          # its ports moved: so do the ends of its wires
            for wire in self._wires_of(node_id):
                self._place_wire(wire)

    def hover_text(self, node_id: str) -> str:
        """A node's hover text: what it is, its shape and dtype, and what the last run found."""
        return self._hover_text(node_id, self.results.get(node_id))

    def helpEvent(self, event):
        # a node's tooltip is written when it is asked for (see NodeResult), not on every run
        for item in self.items(event.scenePos()):
            if isinstance(item, NodeItem) and item.node_id in self.design.nodes:
                from PySide6.QtWidgets import QToolTip
                QToolTip.showText(event.screenPos(), self.hover_text(item.node_id), event.widget())
                event.setAccepted(True)
                return
        super().helpEvent(event)

    def _hover_text(self, node_id: str, result) -> str:
        design = self.design
        node = design.nodes[node_id]
        shape = design.shapes.get(node_id)
        lines = [f"{design.describe(node_id)} ({node.kind}{', ' + node.row.name if node.kind == 'op' else ''})",
                 f"shape: {shape if shape is not None else 'not known yet'}, dtype {node.dtype}"]
        if node.kind == "op" and node.row.doc:
            lines.append(node.row.doc)
        if result is not None:
            if result.value is not None:
                lines.append(f"value: {result.value_text}")
            if result.grad is not None:
                lines.append(f"grad: {result.grad_text}")
            if result.grad_norm is not None:
                lines.append(f"‖grad‖ = {result.grad_norm:.4g}")
        return "\n".join(lines)

    def _wires_of(self, node_id: str):
        return self.node_wires.get(node_id, ())

    def _refresh_group(self, name: str):
        members = self.design.groups.get(name)
        item = self.groups.get(name)
        if group_item.sync(self, name) or not members:
            if item is not None:
                self.removeItem(self.groups.pop(name))
            return
        if item is None:
            item = self.groups[name] = GroupItem(name, self.colors)
            self.addItem(item)
        rect = QRectF()
        for m in members:
            node = self.nodes.get(m)
            if node is not None:
                rect = rect.united(node.mapRectToScene(node.rect()))
        item.set_frame(rect)
        if hasattr(self, "_rect"):           # (once the scene is filled)
            self.reach(item.boundingRect())

    # -- from the items ---------------------------------------------------------------------
    def node_item_moved(self, item: NodeItem):
        """A node is being dragged (or was placed): its wires and group frames follow
        (and nothing else is touched)."""
        for wire in self._wires_of(item.node_id):
            self._place_wire(wire)
        self.overview.node_changed(item)
        self.node_layer.node_changed(item)
        self.reach(self.node_layer.boxes.get(item, QRectF()))
        for name, members in self.design.groups.items():
            if item.node_id in members:
                self._refresh_group(name)

    def reach(self, rect: QRectF, slack: float = REACH):
        """The scene's rect holds ``rect``: grown to it and ``slack`` beyond it at a time,
        never shrunk. Qt's own rect, its items' bounding box, grew with every step of a
        node dragged past the design's edge, and each growth rebuilt its item index and
        repainted the whole view (40 ms a move at 2,000 nodes)."""
        if rect.isEmpty() or self._rect.contains(rect):
            return
        grown = rect.adjusted(-slack, -slack, slack, slack)
        self._rect = grown if self._rect.isNull() else self._rect.united(grown)
        self.setSceneRect(self._rect)

    def collapsed_group_moved(self, item):
        """A collapsed group is being dragged: the wires to its ports follow."""
        self.reach(item.sceneBoundingRect())
        for m in self.design.groups.get(item.name, ()):
            for wire in self._wires_of(m):
                self._place_wire(wire)

    def collapsed_at(self, point: QPointF):
        for item in self.items(point):
            if isinstance(item, group_item.CollapsedGroupItem):
                return item
        return None

    def node_at(self, point: QPointF):
        for item in self.items(point):
            if isinstance(item, NodeItem):
                return item
        return None

    def wire_at(self, point: QPointF, ignore=None):
        for item in self.items(QRectF(point.x() - 4, point.y() - 4, 8, 8)):
            if isinstance(item, WireItem) and item.link.src != ignore and item.link.dst != ignore \
                    and item.shape().intersects(QRectF(point.x() - 4, point.y() - 4, 8, 8)):
                return item
        return None

    def selected_ids(self) -> list:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    # -- the two looks ------------------------------------------------------------------------
    def set_overview(self, shown: bool):
        """Zoomed out (True): the :class:`Overview` paints every node and wire.
        Detailed, the :class:`~.node_layer.NodeLayer` paints every node and the
        :class:`~.wire_layer.WireLayer` every wire. The node and wire items paint
        nothing in either look (they pick, drag and hover), so the switch is three
        flags, however big the design."""
        if shown == self.overview_shown:
            return
        self.overview_shown = shown
        self.overview.set_active(shown)
        self.wire_layer.set_active(not shown)
        self.node_layer.set_active(not shown)

    # -- pictures while zooming ---------------------------------------------------------------
    def zooming(self, scale: float):
        """A zoom step at ``scale`` device pixels per scene unit. Drawing every node and
        wire in view again at every new scale costs a frame or more, so for the length of
        the gesture the layers only scale their pictures (:mod:`.picture`); :data:`SETTLE`
        ms after the last step they are drawn crisp once, at the scale the zoom ended on."""
        self.zoom_cached = True
        self._settle.start()

    def zoom_settled(self):
        self._settle.stop()
        if self.zoom_cached:
            self.zoom_cached = False
            self.node_layer.settle()
            self.wire_layer.settle()
            self.overview.settle()

    @contextlib.contextmanager
    def full_detail(self):
        """Every item painting itself, uncached — for a picture (PNG, SVG) of the design."""
        shown = self.overview_shown
        self.zoom_settled()
        self.set_overview(False)
        self.drawing_picture = True        # the layers draw paths and text, not their pictures
        try:
            yield self
        finally:
            self.drawing_picture = False
            self.set_overview(shown)

    def render(self, painter, target=QRectF(), source=QRectF(), mode=Qt.AspectRatioMode.KeepAspectRatio):
        """A picture of the design is always drawn in full detail, whatever a view's zoom."""
        with self.full_detail():
            super().render(painter, target, source, mode)

    # -- notes and results ---------------------------------------------------------------------
    def set_note(self, node_id: str, text: str | None):
        """Why an edit of this node was refused, shown on it until it is next changed."""
        if text:
            self.notes[node_id] = text
        else:
            self.notes.pop(node_id, None)
        if node_id in self.nodes:
            self._refresh_node(node_id, self.nodes[node_id])

    def show_results(self, results: dict):
        """The latest run's findings per node (``{node id: NodeResult}``), replacing the last."""
        self.results = dict(results)
        self._scale = GradScale([r.grad_norm for r in self.results.values()])
        for node_id, item in self.nodes.items():
            self._refresh_node(node_id, item)
