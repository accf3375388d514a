"""Colours and fonts of the graph, read from the widget palette.

Nodes are coloured by the magnitude of the gradient that reached them: the
log₁₀ of ‖grad‖ mapped onto viridis (a sequential map that reads in light and
dark themes and in grey); nodes that got no gradient are grey. Text on a node
is black or white, whichever contrasts with its fill; everything else
(constants, edges, frames) is mixed from the palette, so nothing is drawn
black on a dark background.
"""
from __future__ import annotations

import math

from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPalette

# viridis, sampled at nine points (matplotlib's table; no matplotlib import here)
VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30",
           "#fde725"]
_STOPS = [QColor(c) for c in VIRIDIS]


def colormap(t: float) -> QColor:
    """The colour at ``t`` ∈ [0, 1] (clamped)."""
    t = min(1.0, max(0.0, t)) * (len(_STOPS) - 1)
    i = min(int(t), len(_STOPS) - 2)
    f = t - i
    a, b = _STOPS[i], _STOPS[i + 1]
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * f, a.greenF() + (b.greenF() - a.greenF()) * f,
                           a.blueF() + (b.blueF() - a.blueF()) * f)


class GradScale:
    """log₁₀‖grad‖ → [0, 1] over the norms of one backward call."""

    def __init__(self, norms):
        logs = [math.log10(v) for v in norms if v is not None and math.isfinite(v) and v > 0]
        self.lo = min(logs) if logs else None
        self.hi = max(logs) if logs else None

    @property
    def empty(self) -> bool:
        return self.lo is None

    def position(self, norm) -> float | None:
        """Where ``norm`` sits on the scale; None for no gradient (None or NaN)."""
        if norm is None or (isinstance(norm, float) and math.isnan(norm)):
            return None
        if norm <= 0:
            return 0.0
        if math.isinf(norm) or self.empty:
            return 1.0
        if self.hi - self.lo < 1e-12:
            return 0.6
        return (math.log10(norm) - self.lo) / (self.hi - self.lo)

    def color(self, norm) -> QColor | None:
        t = self.position(norm)
        return None if t is None else colormap(t)

    def bounds(self) -> tuple:
        """(smallest, largest) norm on the scale, or (None, None)."""
        if self.empty:
            return None, None
        return 10 ** self.lo, 10 ** self.hi


def contrasting_text(fill: QColor) -> QColor:
    """Black or white, whichever reads on ``fill`` (relative luminance, WCAG)."""
    def channel(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    luminance = 0.2126 * channel(fill.redF()) + 0.7152 * channel(fill.greenF()) + 0.0722 * channel(fill.blueF())
    return QColor("#101010") if luminance > 0.23 else QColor("#ffffff")


def mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t, a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


class Style:
    """Colours and fonts for one palette (rebuilt when the palette changes)."""

    def __init__(self, palette: QPalette, font: QFont):
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        self.dark = base.lightness() < 128
        self.background = base
        self.text = text
        self.muted = mix(base, text, 0.55)
        self.no_grad_fill = mix(base, text, 0.13)
        self.no_grad_text = text
        self.const_fill = mix(base, text, 0.04)
        self.border = mix(base, text, 0.45)
        self.edge = mix(base, text, 0.42)
        self.frame_fill = mix(base, palette.color(QPalette.ColorRole.Highlight), 0.07)
        self.frame_border = mix(base, palette.color(QPalette.ColorRole.Highlight), 0.45)
        self.highlight = palette.color(QPalette.ColorRole.Highlight)
        self.root = QColor("#ff922b") if self.dark else QColor("#d9480f")
        self.root_text = QColor("#1a1a1a") if self.dark else QColor("#ffffff")
        self.font = QFont(font)
        self.bold = QFont(font)
        self.bold.setBold(True)
        self.small = QFont(font)
        self.small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        self.metrics = {id(f): QFontMetricsF(f) for f in (self.font, self.bold, self.small)}

    def text_width(self, text: str, font: QFont) -> float:
        return self.metrics[id(font)].horizontalAdvance(text)

    def line_height(self, font: QFont) -> float:
        return self.metrics[id(font)].height()
