"""The examples gallery: a list of examples with a description and a preview."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem,
                               QPlainTextEdit, QSplitter, QVBoxLayout, QWidget)

from .code_editor import monospace_font


class ExamplesDialog(QDialog):
    def __init__(self, examples: list, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Examples")
        self.resize(900, 560)
        self.list = QListWidget()
        for title, description, path in examples:
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setData(Qt.ItemDataRole.UserRole + 1, description)
            item.setToolTip(description)
            self.list.addItem(item)
        self.description = QLabel(wordWrap=True)
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setFont(monospace_font(9))
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.description)
        column.addWidget(self.preview, 1)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setSizes([260, 640])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.list.currentItemChanged.connect(self._show)
        self.list.itemDoubleClicked.connect(lambda *_: self.accept())
        if self.list.count():
            self.list.setCurrentRow(0)

    def _show(self, item, previous=None):
        if item is None:
            return
        self.description.setText(item.data(Qt.ItemDataRole.UserRole + 1) or "")
        try:
            with open(item.data(Qt.ItemDataRole.UserRole), encoding="utf-8") as handle:
                self.preview.setPlainText(handle.read(200_000))
        except OSError as error:
            self.preview.setPlainText(f"cannot read this example: {error}")

    def selected_path(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None
