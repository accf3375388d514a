"""A one-line label that ends in "…" when it is narrower than its text.

A plain QLabel with an Ignored width policy is simply cut, mid-word, at its edge.
:class:`ElidedLabel` keeps the whole text (``text()``) and paints as much of it as
fits, ending in an ellipsis; while cut, its tooltip says the text whole."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._update_tip()

    def shown_text(self) -> str:
        """What is painted at the current width: the text, or its head and "…"."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                             self.contentsRect().width())

    def is_elided(self) -> bool:
        return self.shown_text() != self.text()

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._update_tip()

    def setText(self, text: str):
        super().setText(text)
        self._update_tip()

    def _update_tip(self):
        self.setToolTip(self.text() if self.is_elided() else "")
