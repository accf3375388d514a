"""The Editor dock: the node editor (:mod:`gradstudio.ui.editor`), built when it is first needed.

The node editor reads the op table — the engine — for its palette, its shape
checks and its forward values, while the rest of the window never loads the
engine (user code runs in the kernel). So the dock starts as this light stand-in
and builds the editor the first time the dock is painted (a dock tabbed behind
another is not), its Design menu is opened, or a project brings designs to
restore (:meth:`EditorPanel.restore_designs`); :attr:`EditorPanel.editor` is the editor itself, for the window and
the tests.
"""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMenu, QVBoxLayout, QWidget


class EditorPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self._context = context
        self._editor = None
        self._view: dict = {}            # a project's editor state, kept until the editor exists
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._menu = QMenu("&Design", self)
        self._menu.aboutToShow.connect(self._fill_menu)

    @property
    def built(self) -> bool:
        return self._editor is not None

    @property
    def editor(self):
        """The node editor (``gradstudio.ui.editor.panel.EditorPanel``), built on first use."""
        if self._editor is None:
            from gradstudio.ui.editor.panel import EditorPanel as NodeEditor
            self._editor = NodeEditor(self._context, self)
            self._layout.addWidget(self._editor)
        return self._editor

    def paintEvent(self, event):
        # The first paint is the person looking at the dock: a dock tabbed behind another
        # is "visible" to Qt but never painted. Built after this turn, not inside a paint.
        super().paintEvent(event)
        if self._editor is None:
            QTimer.singleShot(0, lambda: self.editor)

    def menu(self) -> QMenu:
        """The window's Design menu: filled with the editor's actions when first opened."""
        return self._menu

    def _fill_menu(self):
        if self._menu.isEmpty():
            self._menu.addActions(self.editor.menu().actions())

    # -- what the window asks of every panel ------------------------------------------------------
    def view_state(self) -> dict:
        return dict(self._view)          # the designs are the project's own section, not view state

    def restore_view_state(self, view: dict):
        self._view = dict(view)              # kept for when the editor is built (it has none of its own)

    def designs(self) -> tuple:
        """The project's ``designs`` section: ``([DesignEntry], current)`` (none before it is built)."""
        return self._editor.designs() if self._editor is not None else ([], 0)

    def restore_designs(self, entries, current: int = 0) -> bool:
        """A project's designs: the editor is built to show them."""
        return bool(entries) and self.editor.restore_designs(entries, current)

    def is_busy(self) -> bool:
        return self._editor is not None and self._editor.is_busy()


__all__ = ["EditorPanel"]
