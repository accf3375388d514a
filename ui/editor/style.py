"""How the editor canvas looks: sizes, the colour of each dtype's ports, and the
light/dark colours of nodes and wires (from the application palette)."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleOptionGraphicsItem

from gradstudio.ui import theme

def zoom(transform) -> float:
    """The scale ``transform`` draws at, to 9 digits, for the levels of detail below: a
    picture's transform composed with a node's place comes out a rounding error off
    the view's zoom (0.7 as 0.69999…), which must not cross a level the view sits
    exactly on (a design opened at :data:`TEXT_BELOW` lost its nodes' texts)."""
    return round(QStyleOptionGraphicsItem.levelOfDetailFromTransform(transform), 9)


NODE_WIDTH = 150.0
HEADER = 20.0
LINE = 15.0
PORT_RADIUS = 5.0
SIMPLE_BELOW = 0.45        # zoom under which nodes and wires are drawn as plain shapes (level of detail)
TEXT_BELOW = 0.7           # zoom under which wire labels and a node's text below its title are left out
THIN_BELOW = 0.7           # zoom under which wires are drawn 1 px wide (the fast thin-line stroker)
WIDE_FROM = 1.5            # zoom from which wires are stroked wide; under it as twin 1 px lines (items.twin_outline)

DTYPE_COLORS = {"float32": "#2f80c0", "float64": "#9b59b6"}
KIND_COLORS = {"leaf": "#2e8b57", "const": "#8a8a8a", "op": "#4a6fa5", "output": "#c0392b"}


def dtype_color(dtype: str) -> QColor:
    return QColor(DTYPE_COLORS.get(dtype, "#888888"))


def colors(palette: QPalette | None = None) -> dict:
    """Named QColors for painting the canvas under the current palette."""
    palette = palette or QApplication.palette()
    dark = theme.is_dark(palette)
    named = theme.colors(palette)
    return {
        "background": QColor("#1e1f22" if dark else "#fafafa"),
        "grid": QColor("#2a2c30" if dark else "#ececec"),
        "node": QColor("#2d3036" if dark else "#ffffff"),
        "border": QColor("#5a5e66" if dark else "#9aa0a8"),
        "selected": QColor("#f0b429"),
        "text": palette.color(QPalette.ColorRole.Text),
        "muted": QColor(named["muted"]),
        "error": QColor(named["error"]),
        "ok": QColor(named["ok"]),
        "wire_grad": QColor("#e07b39" if dark else "#d35400"),
        "wire": QColor("#7d8590" if dark else "#9aa0a8"),
        "group": QColor(90, 140, 200, 40 if dark else 30),
        "group_border": QColor(90, 140, 200, 150),
        "refused": QColor(named["error"]),
        "accepted": QColor(named["ok"]),
    }
