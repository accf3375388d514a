"""Zoom for a projector: one text size for the editor, the console and every panel.

:class:`Zoom` keeps the level (a percentage from :data:`LEVELS`) and applies
it to the widgets under the given roots (the dock panels): a widget with a font
of its own (the editor's and console's monospace, the Inspector's fields) is
set to its own base size × the level — the base is remembered the first time,
so zooming never compounds rounding — and each root gets the application's
font × the level, which its other children inherit. Ctrl+wheel over the editor
or the console steps the same zoom (their own wheel zoom would bypass it).
Widgets created after a zoom step take the level at the next step.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QWidget

LEVELS = (50, 60, 70, 80, 90, 100, 110, 125, 150, 175, 200, 250, 300)
_BASE = "gradstudio_zoom_base"      # dynamic property: a widget's unzoomed point size


class Zoom(QObject):
    changed = Signal(int)           # the new level, in percent

    def __init__(self, roots, parent=None):
        super().__init__(parent)
        self.roots = list(roots)
        self.level = 100

    def zoom_in(self):
        self.set_level(next((v for v in LEVELS if v > self.level), LEVELS[-1]))

    def zoom_out(self):
        self.set_level(next((v for v in reversed(LEVELS) if v < self.level), LEVELS[0]))

    def reset(self):
        self.set_level(100)

    def set_level(self, level: int):
        level = min(max(int(level), LEVELS[0]), LEVELS[-1])
        changed = level != self.level
        self.level = level
        self.apply()
        if changed:
            self.changed.emit(level)

    def apply(self):
        factor = self.level / 100
        app_size = QApplication.font().pointSizeF()
        for root in self.roots:
            # Children first: a root's new font must not be mistaken for a child's own.
            for widget in root.findChildren(QWidget) + [root]:
                if widget is root and widget.property(_BASE) is None:
                    own = widget.testAttribute(Qt.WidgetAttribute.WA_SetFont)
                    widget.setProperty(_BASE, widget.font().pointSizeF() if own else app_size)
                elif widget.property(_BASE) is None:
                    if not widget.testAttribute(Qt.WidgetAttribute.WA_SetFont):
                        continue
                    widget.setProperty(_BASE, widget.font().pointSizeF())
                base = float(widget.property(_BASE))
                if base <= 0:
                    continue
                font = widget.font()
                font.setPointSizeF(round(base * factor, 1))
                widget.setFont(font)

    def watch_wheel(self, *scroll_areas):
        """Ctrl+wheel over these scroll areas steps this zoom."""
        for area in scroll_areas:
            area.viewport().installEventFilter(self)

    def eventFilter(self, watched, event):
        if (event.type() == QEvent.Type.Wheel
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            delta = event.angleDelta().y()
            if delta > 0:
                self.zoom_in()
            elif delta < 0:
                self.zoom_out()
            return True
        return super().eventFilter(watched, event)
