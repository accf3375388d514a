"""Type-to-search for a node to place: the popup Tab or a double-click on empty
canvas opens, and the menu of ops that accept a wire dropped on empty canvas.

The entries come from the op table through :func:`entries` (the same list the
palette shows), filtered as the person types; Enter or a click places the
first or chosen one.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from gradstudio.studio import design as design_module

SOURCES = [("input", "leaf", "Leaf  —  a tensor that can require grad"),
           ("input", "const", "Constant  —  a value that needs no gradient"),
           ("output", "output", "Output  —  the root of backward()")]


def entries(shape=None, *, with_sources: bool = True) -> list:
    """``(category, text, search text, payload)``: payload is a node kind ("leaf",
    "const", "output") or an op row. ``shape`` given: only ops whose first input
    can take it (and the output marker)."""
    found = []
    if with_sources:
        found += [(c, t, f"{k} {t}".lower(), k) for c, k, t in SOURCES if shape is None or k == "output"]
    for category, label, row in design_module.ops_accepting(shape):
        text = f"{label}  —  {row.doc or row.name}"
        found.append((category, text, f"{label} {row.name} {row.id} {row.doc} {category}".lower(), row))
    return found


class NodeSearch(QFrame):
    """A popup with a filter line and the matching entries; ``chosen(payload)``."""

    chosen = Signal(object)

    def __init__(self, parent, items: list, title: str = "Add a node"):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.items = items
        self.line = QLineEdit(self)
        self.line.setPlaceholderText(f"{title}: type to search (mean, exp, @ …)")
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.line)
        layout.addWidget(self.list)
        self.resize(380, 320)
        self.line.textChanged.connect(self._filter)
        self.line.returnPressed.connect(self._pick_current)
        self.list.itemActivated.connect(self._pick)
        self.list.itemClicked.connect(self._pick)
        self._filter("")
        self.line.setFocus()

    def _filter(self, text: str):
        words = text.lower().split()
        self.list.clear()
        for category, label, haystack, payload in self.items:
            if all(w in haystack for w in words):
                item = QListWidgetItem(f"{label}   [{category}]")
                item.setData(Qt.ItemDataRole.UserRole, payload)
                self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            self.list.keyPressEvent(event)
            return
        super().keyPressEvent(event)

    def _pick_current(self):
        item = self.list.currentItem()
        if item is not None:
            self._pick(item)

    def _pick(self, item):
        payload = item.data(Qt.ItemDataRole.UserRole)
        self.close()
        self.chosen.emit(payload)
