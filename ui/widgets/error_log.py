"""A non-modal window listing errors that reached the app's excepthook or came
from the kernel's own code, with their tracebacks (copyable)."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QPushButton, QVBoxLayout

from .code_editor import monospace_font


class ErrorLog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Errors")
        self.setModal(False)
        self.resize(760, 420)
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(monospace_font(9))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        clear = QPushButton("Clear")
        buttons.addButton(clear, QDialogButtonBox.ButtonRole.ResetRole)
        clear.clicked.connect(self.text.clear)
        buttons.rejected.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def add(self, summary: str, details: str):
        stamp = time.strftime("%H:%M:%S")
        self.text.appendPlainText(f"[{stamp}] {summary}\n{details.rstrip()}\n")
