"""The palette: every op the editor can place, generated from the op table
(``design.palette()``: category, label, doc), plus leaf, constant and output;
dragged onto the canvas (or double-clicked to place at the view's centre).
A new op row appears here with no editor change."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .search import entries

MIME = "application/x-gradstudio-node"


def payload_key(payload) -> str:
    """What a drag carries: a node kind, or ``op:<row id>``."""
    return payload if isinstance(payload, str) else f"op:{payload.id}"


class PaletteTree(QTreeWidget):
    placeRequested = Signal(str)          # payload key, to place at the view's centre

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        self.setUniformRowHeights(True)
        self.categories: dict = {}
        for category, text, _, payload in entries():
            parent_item = self.categories.get(category)
            if parent_item is None:
                parent_item = self.categories[category] = QTreeWidgetItem(self, [category])
                parent_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            label, _, doc = text.partition("  —  ")
            item = QTreeWidgetItem(parent_item, [f"{label}   {doc}" if doc else label])
            item.setData(0, Qt.ItemDataRole.UserRole, payload_key(payload))
            item.setToolTip(0, text if isinstance(payload, str) else
                            f"{payload.name} ({payload.id})\n{payload.doc}\nparams: "
                            + (", ".join(f"{p.name}: {p.type}" for p in payload.params) or "none"))
        self.categories["input"].setExpanded(True)
        self.categories["output"].setExpanded(True)
        self.itemDoubleClicked.connect(self._double_clicked)

    def item_for(self, key: str):
        for category in self.categories.values():
            for i in range(category.childCount()):
                if category.child(i).data(0, Qt.ItemDataRole.UserRole) == key:
                    return category.child(i)
        return None

    def mime_for(self, key: str) -> QMimeData:
        mime = QMimeData()
        mime.setData(MIME, key.encode())
        return mime

    def startDrag(self, actions):
        item = self.currentItem()
        key = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        if not key:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mime_for(key))
        drag.exec(Qt.DropAction.CopyAction)

    def _double_clicked(self, item, column):
        key = item.data(0, Qt.ItemDataRole.UserRole)
        if key:
            self.placeRequested.emit(key)


class Palette(QWidget):
    """The tree with a filter line above it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter ops…")
        self.filter.setClearButtonEnabled(True)
        self.tree = PaletteTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.filter.textChanged.connect(self._filter)

    def _filter(self, text: str):
        words = text.lower().split()
        for category in self.tree.categories.values():
            shown = 0
            for i in range(category.childCount()):
                child = category.child(i)
                hay = (child.text(0) + " " + child.toolTip(0)).lower()
                hidden = not all(w in hay for w in words)
                child.setHidden(hidden)
                shown += not hidden
            category.setHidden(shown == 0)
            category.setExpanded(bool(words) and shown > 0 or category.isExpanded())
