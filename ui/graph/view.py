"""Zoom and pan over the graph scene.

Drag the background to pan (or use the scroll bars); Ctrl+wheel zooms about
the cursor; + and − zoom about the centre; :meth:`GraphView.fit` shows the
whole graph (never enlarging a small one past :data:`MAX_FIT_ZOOM`).
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView

MIN_ZOOM, MAX_ZOOM = 0.002, 4.0     # Fit shows a 2,000-node chain whole, however small
MAX_FIT_ZOOM = 1.3
STEP = 1.25


class GraphView(QGraphicsView):
    """``auto_fit``: after :meth:`fit`, until the user zooms or pans, a resize fits again."""

    zoomChanged = Signal(float)

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.auto_fit = False
        self._fit_args = None

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float, *, under_mouse: bool = False):
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        factor = zoom / self.zoom()
        if abs(factor - 1) < 1e-9:
            return
        anchor = self.transformationAnchor()
        if not under_mouse:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.scale(factor, factor)
        self.setTransformationAnchor(anchor)
        self.zoomChanged.emit(self.zoom())

    def zoom_in(self):
        self.auto_fit = False
        self.set_zoom(self.zoom() * STEP)

    def zoom_out(self):
        self.auto_fit = False
        self.set_zoom(self.zoom() / STEP)

    def fit(self, rect: QRectF | None = None, *, max_zoom: float = MAX_FIT_ZOOM, min_zoom: float = MIN_ZOOM,
            focus: QPointF | None = None):
        """Show ``rect`` (default: the scene rect, i.e. everything) as large as fits, at
        most ``max_zoom``; below ``min_zoom``, show ``focus`` at ``min_zoom`` instead."""
        rect = rect if rect is not None else self.sceneRect()
        if rect.isEmpty():
            return
        viewport = self.viewport().rect()
        frame = 2 * self.frameWidth()
        if self.horizontalScrollBar().isVisible():
            viewport.setHeight(viewport.height() + self.horizontalScrollBar().height())
        if self.verticalScrollBar().isVisible():
            viewport.setWidth(viewport.width() + self.verticalScrollBar().width())
        zoom = min((viewport.width() - 2 - frame) / rect.width(), (viewport.height() - 2 - frame) / rect.height())
        zoom = min(zoom, max_zoom)
        self.set_zoom(max(zoom, min_zoom))
        self.centerOn(focus if zoom < min_zoom and focus is not None else rect.center())
        self.auto_fit = True
        self._fit_args = (rect, max_zoom, min_zoom, focus)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if self.auto_fit and self._fit_args is not None:
            rect, max_zoom, min_zoom, focus = self._fit_args
            self.fit(rect, max_zoom=max_zoom, min_zoom=min_zoom, focus=focus)

    def mousePressEvent(self, event):
        self.auto_fit = False          # the user takes over (a pan, a drag)
        super().mousePressEvent(event)

    def wheelEvent(self, event):
        self.auto_fit = False
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            delta = event.angleDelta().y()
            if delta:
                self.set_zoom(self.zoom() * (1.0015 ** delta), under_mouse=True)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event):
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_out()
        else:
            if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down,
                       Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                self.auto_fit = False
            super().keyPressEvent(event)
            return
        event.accept()
