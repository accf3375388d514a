"""The graph scene: fills itself from a :class:`~.document.GraphDocument`, then listens.

``set_document`` builds one :class:`~.items.NodeItem` per visible vertex (a
collapsed group is one node), one :class:`~.items.EdgeItem` per argument and
a frame per expanded group — or, for a document drawn just like the one shown
(a re-run cell's new call: the same layout, see :mod:`.document`), keeps the
items and gives them the new call's colours, texts and tooltips; afterwards the document's ``layoutChanged``
rebuilds and ``positionsChanged`` moves items. The scene never changes the
document itself: it reports what the user did — a click, a finished drag, a
double-click on a group — by signals, and the panel turns those into model
selections and undo commands.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QGraphicsScene

from . import text as labels
from .items import ROOT_TAG, EdgeItem, GroupFrameItem, ModuleFrameItem, NodeItem, hug, measure
from .style import GradScale, Style

MARGIN = 20.0
FRAME_PAD = 10.0


class GraphScene(QGraphicsScene):
    nodeClicked = Signal(object)           # visible id
    nodesDragged = Signal(object)          # {visible id: (old position | None, new position)}
    groupActivated = Signal(str, bool)     # group id, expand (True) or collapse (False)

    def __init__(self, palette, font, parent=None):
        super().__init__(parent)
        self.style = Style(palette, font)
        self.setBackgroundBrush(QBrush(self.style.background))
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.document = None
        self.scale = GradScale([])
        self.node_items: dict = {}         # visible id -> NodeItem
        self.edge_items: list = []
        self.frames: dict = {}             # group id -> GroupFrameItem
        self.highlighted = None
        self.check = None                  # the call's check, for leaf tooltips
        self._press = None

    # -- sizes (the document's layout asks) ------------------------------------------------------
    def measure(self, document, vertex) -> tuple:
        kind, lines = self._lines(document, vertex.id)
        return measure(self.style, kind, lines)

    def _lines(self, document, vid) -> tuple:
        group = document.group_by_id.get(vid)
        if group is not None:
            return "group", labels.group_lines(group, vid in document.expanded)
        node = document.nodes[vid]
        return node.kind or "op", labels.node_lines(node)

    # -- filling -----------------------------------------------------------------------------------
    def set_document(self, document):
        if self.document is document:
            return
        previous = self.document
        if previous is not None:
            previous.layoutChanged.disconnect(self.rebuild)
            previous.positionsChanged.disconnect(self._on_positions_changed)
        self.document = document
        if document is not None:
            document.layoutChanged.connect(self.rebuild)
            document.positionsChanged.connect(self._on_positions_changed)
            self.scale = GradScale(n.grad_norm for n in document.nodes.values())
        else:
            self.scale = GradScale([])
        if self._same_drawing(previous, document):
            self._refill()
        else:
            self.rebuild()

    @staticmethod
    def _same_drawing(previous, document) -> bool:
        """Whether ``document`` puts the same nodes, edges and frames where ``previous``
        has them (one layout, nothing dragged, the same groups open): a re-run cell's
        new call, whose items need new colours and texts only."""
        return (previous is not None and document is not None and previous.layout is document.layout
                and not previous.overrides and not document.overrides and previous.root == document.root
                and previous.expanded == document.expanded and previous.groups == document.groups)

    def _refill(self):
        """The items shown, given the new document's colours, texts and tooltips (see
        :meth:`_same_drawing`); an item that looks the same is not repainted."""
        doc = self.document
        for edge in self.edge_items:
            edge.document = doc
        root = doc.root
        for vertex in doc.shown:
            item = self.node_items[vertex.id]
            _, lines, fill, strip, _, tooltip = self._node_look(doc, vertex, root)
            if (lines, fill, strip) != (item.lines, item.fill, item.strip):
                item.lines, item.fill, item.strip = lines, fill, strip
                item.update()
            item.set_tooltip_source(tooltip)

    def rebuild(self):
        highlighted = self.highlighted
        self.clear()
        self.node_items, self.edge_items, self.frames = {}, [], {}
        self.highlighted = None
        doc = self.document
        if doc is None:
            self.setSceneRect(QRectF(0, 0, 1, 1))
            return
        root = doc.root
        tag_width = self.style.text_width(ROOT_TAG, self.style.small) + 12
        for vertex in doc.shown:
            item = self._node_item(doc, vertex, root)
            if item.is_root:
                item.tag_width = tag_width
            item.setPos(QPointF(*doc.position(vertex.id)))
            self.addItem(item)
            self.node_items[vertex.id] = item
        slots = {v.id: len(v.inputs) for v in doc.shown}
        for route in doc.layout.edges:
            source, target = self.node_items.get(route.source), self.node_items.get(route.target)
            if source is None or target is None:
                continue
            edge = EdgeItem(source, target, route.slot, slots[route.target], route.points[1:-1], doc)
            self.addItem(edge)
            self.edge_items.append(edge)
        self._build_frames(doc)
        self.update_scene_rect()
        if highlighted is not None:
            self.set_highlight(highlighted)

    def _node_item(self, doc, vertex, root) -> NodeItem:
        kind, lines, fill, strip, is_root, tooltip = self._node_look(doc, vertex, root)
        return NodeItem(vertex.id, kind, lines, doc.layout.sizes[vertex.id], fill=fill, strip=strip,
                        is_root=is_root, tooltip=tooltip)

    def _node_look(self, doc, vertex, root) -> tuple:
        """(kind, lines, fill, strip, is root, tooltip maker) of the item showing ``vertex``."""
        kind, lines = self._lines(doc, vertex.id)
        group = doc.group_by_id.get(vertex.id)
        if group is not None:
            first, last = doc.nodes[group.first], doc.nodes[group.last]
            fill = self.scale.color(last.grad_norm)
            start = self.scale.color(first.grad_norm)
            strip = (start, fill) if start is not None and fill is not None else None
            return ("group", lines, fill, strip, root in group.members,
                    lambda g=group: labels.group_tooltip(g, doc.nodes))
        node = doc.nodes[vertex.id]
        fill = self.scale.color(node.grad_norm) if kind != "const" else None
        return (kind, lines, fill, None, vertex.id == root,
                lambda n=node: labels.node_tooltip(n, self.leaf_check(n)))

    def leaf_check(self, node: dict):
        record = self.document.record if self.document is not None else None
        return record.leaf_check(node.id) if record is not None and node.kind == "leaf" else None

    def _title_tab(self, rects: list, shown: set, pad: float, title: str) -> QRectF:
        """Where a module frame's title goes: a tab above its top-left node, or below its
        bottom-left one when another node sits in the way above."""
        small = self.style.small
        height = self.style.line_height(small) + 2
        width = self.style.text_width(title, small) + 12
        top = min(rects, key=lambda r: (round(r.top()), r.left()))
        bottom = max(rects, key=lambda r: (round(r.bottom()), -r.left()))
        above = QRectF(top.left() - pad, top.top() - pad - height, width, height + 2)
        below = QRectF(bottom.left() - pad, bottom.bottom() + pad - 2, width, height + 2)
        for tab in (above, below):
            blocked = any(isinstance(item, NodeItem) and item.vid not in shown
                          for item in self.items(tab.adjusted(0, -6, 0, 0)))
            if not blocked:
                return tab
        return above

    def _build_frames(self, doc):
        for frame in self.frames.values():
            self.removeItem(frame)
        self.frames = {}
        shown = [g for g in doc.expanded_groups() if not doc.is_hidden(g)]
        for group in sorted(shown, key=lambda g: len(g.members)):      # inner frames first
            self._frame(doc, group)

    def _frame(self, doc, group):
        """A box around the group's steps, and around those of its constants that
        sit among them (the first step's constant shares a column with its input)."""
        def rect_of(ids):
            rect = QRectF()
            for member in ids:
                item = self.node_items.get(member)
                if item is not None:
                    body = item.body().translated(item.pos())
                    rect = body if rect.isNull() else rect.united(body)
            return rect
        if group.kind == "module":
            self._module_frame(doc, group)
            return
        rect = rect_of(group.steps)
        if rect.isNull():
            return
        inside = [m for m in group.members if m not in group.steps and m in self.node_items
                  and self.node_items[m].pos().x() >= rect.left()]
        if inside:
            rect = rect.united(rect_of(inside))
        frame = GroupFrameItem(group.id, labels.frame_title(group),
                               rect.adjusted(-FRAME_PAD, -FRAME_PAD, FRAME_PAD, FRAME_PAD),
                               z=-2.0 - len(group.members) * 1e-6)
        self.addItem(frame)
        self.frames[group.id] = frame

    def _module_frame(self, doc, group):
        """An outline around the call's visible nodes (an inner call collapsed shows as
        its node) and the edges between them, wider for each level of calls inside."""
        shown = {doc.visible_id(m) for m in group.members}
        items = [self.node_items[v] for v in shown if v in self.node_items]
        if not items:
            return
        levels = doc.levels.get(group.id, 0)
        rects = [item.body().translated(item.pos()) for item in items]
        paths = [edge.curve() for item in items for edge in item.edges
                 if edge.source is item and edge.target.vid in shown]
        small = self.style.small
        pad = FRAME_PAD + levels * (self.style.line_height(small) + 2)     # titles stack, not overlap
        title = labels.frame_title(group)
        tab = self._title_tab(rects, shown, pad, title)
        frame = ModuleFrameItem(group.id, title, hug(rects, paths, pad, tab), tab,
                                z=-2.0 - len(group.members) * 1e-6)
        self.addItem(frame)
        self.frames[group.id] = frame

    def update_scene_rect(self):
        bounds = self.itemsBoundingRect()
        self.setSceneRect(bounds.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))

    def apply_palette(self, palette, font):
        self.style = Style(palette, font)
        self.setBackgroundBrush(QBrush(self.style.background))
        for item in self.items():
            item.update()

    # -- following the document ----------------------------------------------------------------------
    def _on_positions_changed(self, moved: dict):
        for vid, (x, y) in moved.items():
            item = self.node_items.get(vid)
            if item is not None:
                item.setPos(QPointF(x, y))
                for edge in item.edges:          # bends come back when both ends are home again
                    edge.update_path()
        if self.frames and self.document is not None:     # frames follow the nodes they surround
            self._build_frames(self.document)
        self.update_scene_rect()

    # -- selection look ------------------------------------------------------------------------------
    def set_highlight(self, vid):
        """Highlight the item showing ``vid`` (a visible id), or nothing; returns the item."""
        if vid is not None and vid == self.highlighted and vid in self.node_items:
            return self.node_items[vid]          # highlighted already (a kept item): nothing to repaint
        old = self.node_items.get(self.highlighted)
        if old is not None:
            old.set_highlighted(False)
            for edge in old.edges:
                edge.update()
        item = self.node_items.get(vid)
        self.highlighted = vid if item is not None else None
        if item is not None:
            item.set_highlighted(True)
            for edge in item.edges:
                edge.update()
        return item

    # -- what the user does --------------------------------------------------------------------------
    def node_at(self, pos: QPointF):
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def frame_at(self, pos: QPointF):
        for item in self.items(pos):
            if isinstance(item, GroupFrameItem):
                return item
        return None

    def mousePressEvent(self, event):
        item = self.node_at(event.scenePos()) if event.button() == Qt.MouseButton.LeftButton else None
        self._press = (item, QPointF(item.pos())) if item is not None else None
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        press, self._press = self._press, None
        if press is None or event.button() != Qt.MouseButton.LeftButton:
            return
        item, start = press
        end = item.pos()
        if (end - start).manhattanLength() > 0.5:
            old = self.document.overrides.get(item.vid) if self.document is not None else None
            self.nodesDragged.emit({item.vid: (old, (end.x(), end.y()))})
        else:
            self.nodeClicked.emit(item.vid)

    def mouseDoubleClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton and self.document is not None:
            item = self.node_at(event.scenePos())
            if item is not None and item.kind == "group":
                self.groupActivated.emit(item.vid, True)
                return
            if item is None:
                frame = self.frame_at(event.scenePos())
                if frame is not None:
                    self.groupActivated.emit(frame.gid, False)
                    return
        super().mouseDoubleClickEvent(event)
