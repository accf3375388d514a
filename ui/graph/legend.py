"""The colour legend: ‖grad‖ from the smallest to the largest in the call (log
scale) on the graph's colour map, and the grey of "no gradient"."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QLinearGradient, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .style import VIRIDIS, Style
from .text import number

BAR_WIDTH = 90


class GradLegend(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.scale = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip("Nodes are coloured by the norm of the gradient that reached them in this "
                        "backward call, on a log scale; grey: no gradient reached it")

    def set_scale(self, scale):
        same = (scale is None) == (self.scale is None) and (
            scale is None or (scale.lo, scale.hi) == (self.scale.lo, self.scale.hi))
        self.scale = scale
        if not same:                     # (a re-run's call: the same range, nothing to redraw)
            self.updateGeometry()
            self.update()

    def texts(self) -> tuple:
        lo, hi = self.scale.bounds() if self.scale is not None else (None, None)
        if lo is None:
            return None, None
        return number(lo), number(hi)

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        return QSize(int(self._paint(None, fm, fm.height() + 8)) + 4, fm.height() + 8)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint(painter, self.fontMetrics(), self.height())
        painter.end()

    def _paint(self, painter, fm, h) -> float:
        """Draw (or, without a painter, only measure); returns the width used."""
        style = Style(self.palette(), self.font())
        text = self.palette().color(QPalette.ColorRole.WindowText)
        box = fm.height() - 4
        x = 2.0

        def label(s: str, gap: float):
            nonlocal x
            w = fm.horizontalAdvance(s)
            if painter is not None:
                painter.setPen(text)
                painter.drawText(QRectF(x, 0, w + 1, h), Qt.AlignmentFlag.AlignVCenter, s)
            x += w + gap

        lo, hi = self.texts()
        if lo is not None:
            label("‖grad‖", 6)
            label(lo, 6)
            if painter is not None:
                bar = QRectF(x, (h - box) / 2, BAR_WIDTH, box)
                gradient = QLinearGradient(bar.topLeft(), bar.topRight())
                for i, c in enumerate(VIRIDIS):
                    gradient.setColorAt(i / (len(VIRIDIS) - 1), c)
                painter.setPen(QPen(style.border, 1))
                painter.setBrush(gradient)
                painter.drawRect(bar)
            x += BAR_WIDTH + 6
            label(hi, 14)
        if painter is not None:
            swatch = QRectF(x, (h - box) / 2, box * 1.6, box)
            painter.setPen(QPen(style.border, 1))
            painter.setBrush(style.no_grad_fill)
            painter.drawRoundedRect(swatch, 3, 3)
        x += box * 1.6 + 5
        label("no grad", 0)
        return x
