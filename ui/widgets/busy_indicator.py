"""Status-bar progress for anything longer than a moment: what is happening,
for how long, an indeterminate bar and a Cancel button."""
from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

SHOW_AFTER_MS = 300


class BusyIndicator(QWidget):
    cancelRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.elapsed = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setFixedWidth(110)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Interrupt the running cell or derivation (Run ▸ Interrupt)")
        self.cancel.clicked.connect(self.cancelRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.elapsed, self.bar, self.cancel):
            layout.addWidget(widget)
        self._since = None
        self._show_timer = QTimer(self, singleShot=True, interval=SHOW_AFTER_MS,
                                  timeout=self._appear)
        self._tick = QTimer(self, interval=500, timeout=self._update_elapsed)
        self.hide()

    def set_busy(self, busy: bool):
        if busy and self._since is None:
            self._since = time.monotonic()
            self._show_timer.start()
        elif not busy:
            self._since = None
            self._show_timer.stop()
            self._tick.stop()
            self.hide()

    def set_text(self, text: str):
        self.label.setText(text)

    def _appear(self):
        if self._since is not None:
            self._update_elapsed()
            self.show()
            self._tick.start()

    def _update_elapsed(self):
        if self._since is not None:
            seconds = int(time.monotonic() - self._since)
            self.elapsed.setText(f"({seconds} s)" if seconds else "")
