"""The editor's ``QGraphicsView``: pan, zoom, fit, a minimap, and the gestures.

Every gesture ends in one call on the :class:`~.document.EditorDocument`
(hence one undo step): drag a wire from a port to a port (a refused link is
drawn red while hovering, with the design's reason — both shapes named — and
is not made), drop it on empty canvas for a menu of the ops that accept it,
drag nodes (dropping a lone node onto a wire inserts it), drop a palette entry,
Tab or double-click on empty canvas to search, double-click a node to type its
value, Delete, Ctrl+C/X/V/D, Ctrl+G / Ctrl+Shift+G, Ctrl+L auto-layout, F fit,
R makes the selected output the root, Space toggles requires_grad, Ctrl+Z /
Ctrl+Shift+Z undo and redo on this document's own stack. Middle-drag (or
Alt+drag) pans, the wheel zooms at the cursor, a left drag on empty canvas
box-selects.

Below :data:`~.style.SIMPLE_BELOW` zoom the view puts its scene in the overview
look (checked at each paint, so any change of the transform counts). The
minimap is a picture of the overview, redrawn a moment after the design
changes (never per frame); panning only moves its frame.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (QGraphicsPathItem, QGraphicsSimpleTextItem, QGraphicsView, QLineEdit,
                               QMenu)

from . import clipboard, style
from .items import NodeItem, WireItem, wire_path
from .palette import MIME
from .search import NodeSearch, entries

MIN_ZOOM, MAX_ZOOM = 0.05, 4.0
MINIMAP_FROM = 25          # nodes: the minimap shows for designs at least this big


class DesignView(QGraphicsView):
    message = Signal(str)       # a refusal or hint for the panel's status line

    def __init__(self, document, scene, parent=None):
        super().__init__(scene, parent)
        self.document = document
        self.design = document.design
        # smooth pixmaps: during a zoom the nodes are scaled pictures (DesignScene.zooming)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._wire = None          # (node id, "out" | "in", slot, temp path item, tip text item)
        self._drag_from = None     # {node id: position} when a node drag began
        self._pan = None
        self.editor = None         # the inline value editor, while open
        self.popup = None          # the search popup, while open
        self.minimap = Minimap(self)
        self.minimap.design_changed()

    # -- zoom and pan ---------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float):
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        if factor != 1.0:
            self.scene().zooming(self.zoom() * self.devicePixelRatioF())
        self.scale(factor, factor)
        self.minimap.update()

    def fit(self, readable: bool = False):
        """Show the whole design (Fit, F). With ``readable`` (a design just opened), never
        so small that the nodes lose their text (under :data:`style.TEXT_BELOW`): a design
        too wide for the view opens at that zoom from its inputs (on the left), the rest a
        scroll or the minimap away — eight boxes without a name tell a learner nothing."""
        rect = self.scene().itemsBoundingRect()
        if rect.isEmpty():
            return
        shown = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(shown, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.5:
            self.zoom_by(1.5 / self.zoom())
        elif readable and self.zoom() < style.TEXT_BELOW:
            self.zoom_by(style.TEXT_BELOW / self.zoom())
            width = self.viewport().width() / self.zoom()
            height = self.viewport().height() / self.zoom()
            self.centerOn(shown.left() + width / 2,
                          shown.center().y() if shown.height() <= height else shown.top() + height / 2)
        self.minimap.update()

    def wheelEvent(self, event):
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.15 ** steps)
        event.accept()

    def paintEvent(self, event):
        # the look follows the zoom, however the transform was set (zoom_by, fit, resetTransform …)
        scene = self.scene()
        if scene is None:               # the scene went first (a tab being closed)
            return
        scene.set_overview(self.zoom() < style.SIMPLE_BELOW)
        super().paintEvent(event)

    def request_fit(self):
        """Fit now if the view has its size, else as soon as it gets one (a tab made
        while its dock is hidden is a few pixels wide until shown)."""
        if self.isVisible() and self.viewport().width() > 200:
            self.fit(readable=True)
        else:
            self._fit_pending = True

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if getattr(self, "_fit_pending", False) and self.isVisible() and self.viewport().width() > 200:
            self._fit_pending = False
            self.fit(readable=True)

    def scrollContentsBy(self, dx, dy):
        super().scrollContentsBy(dx, dy)
        if self.minimap.isVisible():
            # the scrolled pixels carried the minimap along: repaint where it was and where it is
            self.viewport().update(self.minimap.rect().translated(dx, dy))
            self.minimap.update()

    def drawForeground(self, painter, rect):
        super().drawForeground(painter, rect)
        if self.minimap.isVisible():
            painter.save()
            painter.resetTransform()
            self.minimap.paint(painter)
            painter.restore()

    # -- mouse ----------------------------------------------------------------------------------
    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton and self.minimap.click(event.position().toPoint()):
            return
        point = self.mapToScene(event.position().toPoint())
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and event.modifiers() & Qt.KeyboardModifier.AltModifier):
            self._pan = event.position().toPoint()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == Qt.MouseButton.LeftButton:
            item = self.scene().node_at(point)
            if item is not None:
                local = item.mapFromScene(point)
                port = item.port_at(local)
                if port is not None:
                    self._start_wire(item, port, point)
                    return
                if item.kind == "leaf" and item.grad_box().contains(local):
                    self._report(item.node_id, self.document.toggle_requires_grad(item.node_id))
                    return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = {i.node_id: (i.pos().x(), i.pos().y()) for i in self.scene().selectedItems()
                               if isinstance(i, NodeItem)}

    def mouseMoveEvent(self, event):
        if self._pan is not None:
            delta = event.position().toPoint() - self._pan
            self._pan = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            return
        if self._wire is not None:
            self._drag_wire(self.mapToScene(event.position().toPoint()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self._pan is not None:
            self._pan = None
            self.unsetCursor()
            return
        point = self.mapToScene(event.position().toPoint())
        if self._wire is not None:
            self._finish_wire(point, event.position().toPoint())
            return
        super().mouseReleaseEvent(event)
        if self._drag_from:
            self._finish_move(point)
        self._drag_from = None

    def mouseDoubleClickEvent(self, event):
        point = self.mapToScene(event.position().toPoint())
        collapsed = self.scene().collapsed_at(point)
        if collapsed is not None:
            self._act(self.document.expand(collapsed.name))
            return
        item = self.scene().node_at(point)
        if item is None:
            self.open_search(point)
            return
        self.edit_node(item.node_id)

    def contextMenuEvent(self, event):
        point = self.mapToScene(event.pos())
        item = self.scene().node_at(point)
        menu = QMenu(self)
        if item is not None:
            if not item.isSelected():
                self.scene().clearSelection()
                item.setSelected(True)
            node = self.design.nodes[item.node_id]
            if node.kind == "output":
                menu.addAction("Make this the root", lambda: self._act(self.document.set_root(item.node_id)))
            if node.kind == "leaf":
                menu.addAction("Requires grad" + (" ✓" if node.requires_grad else ""),
                               lambda: self._report(item.node_id, self.document.toggle_requires_grad(item.node_id)))
            menu.addAction("Edit value…" if node.kind != "op" else "Edit params…",
                           lambda: self.edit_node(item.node_id))
            menu.addAction("Duplicate", self.duplicate)
            menu.addAction("Group", self.group)
            group = self.design.group_of(item.node_id)
            if group is not None:
                menu.addAction(f"Collapse {group}", lambda: self._act(self.document.collapse(group)))
            menu.addAction("Delete", self.delete_selected)
        elif self.scene().collapsed_at(point) is not None:
            name = self.scene().collapsed_at(point).name
            menu.addAction(f"Expand {name}", lambda: self._act(self.document.expand(name)))
            menu.addAction(f"Ungroup {name}", lambda: self._act(self.document.ungroup(name)))
        else:
            menu.addAction("Add node…", lambda: self.open_search(point))
            menu.addAction("Paste", lambda: self.paste(point))
            menu.addAction("Auto-layout", lambda: self._act(self.document.auto_layout()))
            menu.addAction("Fit", self.fit)
        menu.popup(event.globalPos())
        self.context_menu = menu

    # -- wires ----------------------------------------------------------------------------------
    def _start_wire(self, item: NodeItem, port, point: QPointF):
        direction, slot = port
        path = QGraphicsPathItem()
        path.setZValue(5)
        tip = QGraphicsSimpleTextItem()
        tip.setZValue(6)
        self.scene().addItem(path)
        self.scene().addItem(tip)
        self._wire = (item.node_id, direction, slot, path, tip)
        self._drag_wire(point)

    def wire_target(self, point: QPointF):
        """``(src, dst, slot)`` the dragged wire would make if dropped at ``point`` (None: no port there)."""
        node_id, direction, slot, _, _ = self._wire
        item = self.scene().node_at(point)
        if item is None:
            return None
        port = item.port_at(item.mapFromScene(point))
        if port is None:
            # anywhere on a node: its first free input (or output, dragging from an input)
            if direction == "out" and item.inputs:
                taken = {l.slot for l in self.design.inputs_of(item.node_id)}
                free = [s for s in range(item.inputs) if s not in taken]
                port = ("in", free[0] if free else 0)
            elif direction == "in" and item.has_output:
                port = ("out", 0)
            else:
                return None
        if direction == "out" and port[0] == "in":
            return node_id, item.node_id, port[1]
        if direction == "in" and port[0] == "out":
            return item.node_id, node_id, slot
        return None

    def _drag_wire(self, point: QPointF):
        node_id, direction, slot, path, tip = self._wire
        item = self.scene().nodes[node_id]
        anchor = item.mapToScene(item.output_point() if direction == "out" else item.input_point(slot))
        start, end = (anchor, point) if direction == "out" else (point, anchor)
        target = self.wire_target(point)
        problem = self.design.check_link(*target) if target else None
        color = (self.scene().colors["refused"] if problem else self.scene().colors["accepted"]) if target \
            else self.scene().colors["wire"]
        path.setPen(QPen(color, 2.2, Qt.PenStyle.DashLine if not target else Qt.PenStyle.SolidLine))
        path.setPath(wire_path(start, end))
        tip.setBrush(color)
        tip.setText(problem or "")
        tip.setPos(point + QPointF(12, 10))
        self.refusal = problem

    def _finish_wire(self, point: QPointF, view_point: QPoint):
        node_id, direction, slot, path, tip = self._wire
        target = self.wire_target(point)
        self.scene().removeItem(path)
        self.scene().removeItem(tip)
        self._wire = None
        if target is not None:
            error = self.document.connect(*target)
            if error:
                self.message.emit(f"Not connected: {error}")
            return
        if direction == "out":
            self._offer_ops_for(node_id, point)

    def _offer_ops_for(self, node_id: str, point: QPointF):
        """A wire dropped on empty canvas: the ops whose first input accepts its value."""
        shape = self.design.shapes.get(node_id)
        items = entries(shape, with_sources=True)
        self.open_search(point, items=items, connect_from=node_id,
                         title=f"Ops that take {shape if shape is not None else 'this value'}")

    # -- moving ---------------------------------------------------------------------------------
    def _finish_move(self, point: QPointF):
        moves = {}
        for node_id, old in self._drag_from.items():
            item = self.scene().nodes.get(node_id)
            if item is not None:
                moves[node_id] = (old, (item.pos().x(), item.pos().y()))
        moved = {k: v for k, v in moves.items() if v[0] != v[1]}
        insert = None
        if len(moved) == 1:
            (node_id,) = moved
            if not any(node_id in (l.src, l.dst) for l in self.design.links):
                wire = self.scene().wire_at(self.scene().nodes[node_id].pos(), ignore=node_id)
                insert = wire.link if wire is not None else None
        error = self.document.move(moved, insert=insert)
        if error:
            self.message.emit(f"Not inserted: {error}")

    # -- placing --------------------------------------------------------------------------------
    def open_search(self, point: QPointF, *, items=None, connect_from=None, title="Add a node"):
        popup = NodeSearch(self, items if items is not None else entries(), title)
        popup.chosen.connect(lambda payload: self.place(payload, point, connect_from=connect_from))
        popup.move(self.mapToGlobal(self.mapFromScene(point)))
        popup.show()
        self.popup = popup
        return popup

    def place(self, payload, point: QPointF, *, connect_from=None, insert=None):
        key = payload if isinstance(payload, str) else f"op:{payload.id}"
        node_id, error = self.document.place(key, (point.x(), point.y()), connect_from=connect_from,
                                             insert=insert)
        if error:
            self.message.emit(f"Not placed: {error}")
            return None
        self.scene().clearSelection()
        self.scene().nodes[node_id].setSelected(True)
        return node_id

    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        if not event.mimeData().hasFormat(MIME):
            return super().dropEvent(event)
        key = bytes(event.mimeData().data(MIME)).decode()
        point = self.mapToScene(event.position().toPoint())
        wire = self.scene().wire_at(point)
        self.place(key, point, insert=wire.link if wire is not None and key.startswith("op:") else None)
        event.acceptProposedAction()

    # -- editing a node's text ------------------------------------------------------------------
    def edit_node(self, node_id: str):
        """An inline line edit over the node: its value (leaf, constant), gradient=
        (output) or params as ``name=value, …`` (op). The design's refusal stays on the node."""
        node = self.design.nodes[node_id]
        if node.kind == "op":
            from gradstudio.studio.design import EDITABLE_PARAM_TYPES
            editable = [p for p in node.row.params if p.type in EDITABLE_PARAM_TYPES]
            if not editable:
                self.message.emit(f"{node.row.name} has no params to type")
                return None
            text = ", ".join(f"{p.name}={node.param_dict()[p.name]}" for p in editable)
        else:
            text = node.value
        item = self.scene().nodes[node_id]
        rect = self.mapFromScene(item.mapRectToScene(item.rect())).boundingRect()
        editor = QLineEdit(self.viewport())
        editor.setText(text)
        editor.setGeometry(rect.left(), rect.top() + int(style.HEADER * self.zoom()), max(rect.width(), 160), 24)
        editor.selectAll()
        editor.show()
        editor.setFocus()
        editor.returnPressed.connect(lambda: self._commit_edit(node_id, editor))
        self.editor = editor
        return editor

    def _commit_edit(self, node_id: str, editor: QLineEdit):
        text = editor.text()
        self.close_editor()
        node = self.design.nodes.get(node_id)
        if node is None:
            return
        if node.kind == "op":
            error = None
            for part in [p for p in text.split(",") if p.strip()] if "=" in text else []:
                name, _, value = part.partition("=")
                name = name.strip()
                if name not in {p.name for p in node.row.params}:
                    error = f"{node.row.name} has no parameter {name!r}"
                    break
                error = self.document.set_param(node_id, name, value)
                if error:
                    break
        else:
            error = self.document.set_value(node_id, text)
        self._report(node_id, error)

    def close_editor(self):
        if self.editor is not None:
            self.editor.hide()
            self.editor.deleteLater()
            self.editor = None
            self.setFocus()

    def _report(self, node_id: str, error: str | None):
        self.scene().set_note(node_id, error)
        if error:
            self.message.emit(error)

    def _act(self, error):
        if error:
            self.message.emit(error)

    # -- keyboard -------------------------------------------------------------------------------
    def keyPressEvent(self, event):
        key, mods = event.key(), event.modifiers()
        ctrl = mods & Qt.KeyboardModifier.ControlModifier
        shift = mods & Qt.KeyboardModifier.ShiftModifier
        stack = self.document.undo_stack
        if key == Qt.Key.Key_Escape and self.editor is not None:
            self.close_editor()
        elif key == Qt.Key.Key_Tab:
            self.open_search(self.mapToScene(self.mapFromGlobal(self.cursor().pos())))
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif ctrl and key == Qt.Key.Key_Z:
            (stack.redo if shift else stack.undo)()
        elif ctrl and key == Qt.Key.Key_Y:
            stack.redo()
        elif ctrl and key == Qt.Key.Key_C:
            self.copy()
        elif ctrl and key == Qt.Key.Key_X:
            self.copy()
            self.delete_selected()
        elif ctrl and key == Qt.Key.Key_V:
            self.paste()
        elif ctrl and key == Qt.Key.Key_D:
            self.duplicate()
        elif ctrl and key == Qt.Key.Key_G:
            self.ungroup() if shift else self.group()
        elif ctrl and key == Qt.Key.Key_L:
            self._act(self.document.auto_layout())
        elif ctrl and key == Qt.Key.Key_A:
            for item in self.scene().nodes.values():
                item.setSelected(True)
        elif key == Qt.Key.Key_F and not ctrl:
            self.fit()
        elif key == Qt.Key.Key_R and not ctrl:
            outputs = [n for n in self.scene().selected_ids() if self.design.nodes[n].kind == "output"]
            if outputs:
                self._act(self.document.set_root(outputs[0]))
        elif key == Qt.Key.Key_Space:
            for n in self.scene().selected_ids():
                if self.design.nodes[n].kind == "leaf":
                    self._report(n, self.document.toggle_requires_grad(n))
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(0.8)
        else:
            super().keyPressEvent(event)

    def focusNextPrevChild(self, next_):
        return False          # Tab opens the search here instead of moving the focus

    def delete_selected(self):
        nodes = self.scene().selected_ids()
        wires = [i.link for i in self.scene().selectedItems() if isinstance(i, WireItem)
                 and i.link.src not in nodes and i.link.dst not in nodes]
        if nodes:
            self._act(self.document.delete(nodes))
        for link in wires:
            self._act(self.document.disconnect(link))

    def copy(self):
        nodes = self.scene().selected_ids()
        if nodes:
            mime = clipboard_mime(clipboard.fragment(self.design, nodes))
            QGuiApplication.clipboard().setMimeData(mime)

    def paste(self, point: QPointF | None = None):
        mime = QGuiApplication.clipboard().mimeData()
        text = bytes(mime.data(clipboard.MIME)).decode() if mime.hasFormat(clipboard.MIME) else mime.text()
        new, error = self.document.paste(text)
        self._select(new)
        self._act(error)

    def duplicate(self):
        new, error = self.document.duplicate(self.scene().selected_ids())
        self._select(new)
        self._act(error)

    def group(self):
        nodes = self.scene().selected_ids()
        if nodes:
            self._act(self.document.group(nodes)[1])

    def ungroup(self):
        nodes = set(self.scene().selected_ids())
        for name, members in list(self.design.groups.items()):
            if nodes & set(members):
                self._act(self.document.ungroup(name))

    def _select(self, ids):
        if ids:
            self.scene().clearSelection()
            for n in ids:
                self.scene().nodes[n].setSelected(True)


def clipboard_mime(text: str):
    from PySide6.QtCore import QMimeData
    mime = QMimeData()
    mime.setData(clipboard.MIME, text.encode())
    mime.setText(text)
    return mime


class Minimap:
    """The whole design small, in the view's bottom-right corner, with the visible
    part framed; a click there centres the view on that point.

    It is painted by the view over its items (:meth:`DesignView.drawForeground`),
    not as a child widget: a widget overlapping the viewport stops Qt from
    scrolling the viewport's pixels, so every pan step would repaint the whole view
    instead of the strip that came into sight. It shows a picture of the scene's
    :class:`~.items.Overview`, drawn again :data:`DELAY` ms after the design last
    changed (a drag redraws it once, after the drag, not per move); a pan or zoom
    only moves the frame on top."""

    SIZE = (200, 140)
    MARGIN = 14
    DELAY = 250

    def __init__(self, view: DesignView):
        self.main = view
        self.visible = False
        self.picture = QPixmap()
        self.to_scene = QTransform()     # minimap pixels -> scene coordinates
        self.stale = True
        self.redraws = 0                 # pictures drawn (the tests count them)
        self.timer = QTimer(view)
        self.timer.setSingleShot(True)
        self.timer.setInterval(self.DELAY)
        self.timer.timeout.connect(self.design_changed)
        view.scene().overview.listeners.append(self._on_change)

    def isVisible(self) -> bool:
        return self.visible

    def rect(self) -> QRect:
        """Where it sits, in viewport pixels."""
        viewport = self.main.viewport()
        w, h = self.SIZE
        return QRect(viewport.width() - w - self.MARGIN, viewport.height() - h - self.MARGIN, w, h)

    def _on_change(self):
        if not self.timer.isActive():
            self.timer.start()

    def design_changed(self):
        """The design changed a moment ago: show or hide for its size, and draw the
        picture again at the next paint. Not while nodes are being dragged (however slow
        the moves come): then once the drag is over."""
        if self.main._drag_from:
            self.timer.start()
            return
        self.visible = len(self.main.design.nodes) >= MINIMAP_FROM
        self.stale = True
        self.update()

    def update(self):
        self.main.viewport().update(self.rect())

    def _redraw(self):
        self.stale = False
        self.redraws += 1
        overview = self.main.scene().overview
        source = overview.boundingRect().adjusted(-20, -20, 20, 20)
        w, h = self.SIZE
        ratio = self.main.devicePixelRatioF()
        picture = QPixmap(int(w * ratio), int(h * ratio))
        picture.setDevicePixelRatio(ratio)
        picture.fill(self.main.scene().colors["background"])
        scale = min(w / max(source.width(), 1.0), h / max(source.height(), 1.0))
        dx = (w - source.width() * scale) / 2 - source.left() * scale
        dy = (h - source.height() * scale) / 2 - source.top() * scale
        to_minimap = QTransform(scale, 0, 0, scale, dx, dy)
        painter = QPainter(picture)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(to_minimap)
        overview.draw(painter)
        painter.end()
        self.picture = picture
        self.to_scene = to_minimap.inverted()[0]

    def paint(self, painter):
        """Draw it (``painter`` in viewport pixels)."""
        if not self.visible:
            return
        visible = self.main.mapToScene(self.main.viewport().rect()).boundingRect()
        if visible.contains(self.main.scene().overview.boundingRect()):
            return                      # the whole design is in view: a minimap would only cover it
        if self.stale or self.picture.isNull():
            self._redraw()
        box = self.rect()
        painter.drawPixmap(box.topLeft(), self.picture)
        frame = self.to_scene.inverted()[0].mapRect(visible).translated(box.left(), box.top())
        painter.setClipRect(box)
        painter.setPen(QPen(QColor("#f0b429"), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(frame)
        painter.setClipping(False)
        painter.setPen(QPen(self.main.scene().colors["border"], 1))
        painter.drawRect(QRectF(box).adjusted(0.5, 0.5, -0.5, -0.5))

    def click(self, point: QPoint) -> bool:
        """A press at ``point`` (viewport pixels): on the minimap, centre the view there."""
        if not self.visible or not self.rect().contains(point):
            return False
        self.main.centerOn(self.to_scene.map(QPointF(point - self.rect().topLeft())))
        return True
