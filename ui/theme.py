"""Light and dark: Fusion with a palette that follows the platform (or the user's choice).

:func:`apply_theme` sets the application palette; widgets that draw their own
colours (the code editor, the console, the Compare marks) ask
:func:`is_dark` / :func:`colors` when they paint and listen for
``QEvent.PaletteChange``.

Fusion draws a check box's indicator with an outline it derives from the Window
colour (``Window.darker(140)``) on a Base fill: on the dark palette both are near
black, so an unchecked box vanished. :class:`IndicatorStyle` (Fusion, proxied)
draws that outline again in a colour between the window and its text, in both
themes, wherever Fusion draws that indicator (every QCheckBox; Fusion draws an
item view's check boxes with it too).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory

INDICATOR_OUTLINE = 0.4      # how far from the window colour towards its text the outline is


def indicator_outline(palette: QPalette, enabled: bool = True) -> QColor:
    """The check indicator's outline: the window colour moved towards the text colour,
    so it stands out from the window and from the Base fill in light and dark alike."""
    group = QPalette.ColorGroup.Active if enabled else QPalette.ColorGroup.Disabled
    window = palette.color(group, QPalette.ColorRole.Window)
    text = palette.color(group, QPalette.ColorRole.WindowText)
    mix = lambda a, b: round(a + (b - a) * INDICATOR_OUTLINE)
    return QColor(mix(window.red(), text.red()), mix(window.green(), text.green()), mix(window.blue(), text.blue()))


CHECKED_TINT = 70             # alpha of the highlight over a checked tool button's panel


class IndicatorStyle(QProxyStyle):
    """Fusion, with a check indicator's outline that is visible (see the module docstring),
    and a checked tool button (the Graph panel's Step) tinted with the highlight colour and
    outlined in it: Fusion's sunken panel for it is a shade of the window colour, which
    on the dark palette hardly differs from an unchecked button."""

    def drawPrimitive(self, element, option, painter, widget=None):
        super().drawPrimitive(element, option, painter, widget)
        if (element == QStyle.PrimitiveElement.PE_PanelButtonTool
                and option.state & QStyle.StateFlag.State_On):
            highlight = QColor(option.palette.color(QPalette.ColorRole.Highlight))
            painter.save()
            painter.setPen(QPen(highlight, 1))
            highlight.setAlpha(CHECKED_TINT)
            painter.setBrush(highlight)
            painter.drawRoundedRect(option.rect.adjusted(0, 0, -1, -1), 2, 2)
            painter.restore()
        if element == QStyle.PrimitiveElement.PE_IndicatorCheckBox:
            enabled = bool(option.state & QStyle.StateFlag.State_Enabled)
            painter.save()
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(indicator_outline(option.palette, enabled), 1))
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
            painter.restore()


def platform_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints is not None and hints.colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(220, 220, 220)
    disabled = QColor(127, 127, 127)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(40, 40, 43))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(60, 60, 64))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.PlaceholderText, disabled)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, window)
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 80, 80))
    p.setColor(QPalette.ColorRole.Link, QColor(100, 160, 255))
    p.setColor(QPalette.ColorRole.Highlight, QColor(42, 110, 200))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Light, QColor(70, 70, 74))
    p.setColor(QPalette.ColorRole.Midlight, QColor(58, 58, 62))
    p.setColor(QPalette.ColorRole.Mid, QColor(40, 40, 43))
    p.setColor(QPalette.ColorRole.Dark, QColor(25, 25, 27))
    p.setColor(QPalette.ColorRole.Shadow, QColor(10, 10, 10))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def apply_theme(app: QApplication, preference: str = "system") -> bool:
    """Fusion style; dark palette for "dark" (or "system" on a dark platform).
    Returns whether the result is dark."""
    if not isinstance(app.style(), IndicatorStyle):
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(IndicatorStyle(fusion))
    dark = preference == "dark" or (preference == "system" and platform_is_dark())
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    return dark


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QApplication.palette()
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def colors(palette: QPalette | None = None) -> dict:
    """Named colours for custom painting, chosen for the current palette."""
    if is_dark(palette):
        return {"keyword": "#c586c0", "builtin": "#4ec9b0", "string": "#ce9178", "number": "#b5cea8",
                "comment": "#6a9955", "decorator": "#dcdcaa", "cell": "#569cd6", "self": "#9cdcfe",
                "error": "#f48771", "hint": "#d7ba7d", "prompt": "#6fbf73", "notice": "#9cdcfe",
                "muted": "#8a8a8a", "ok": "#6fbf73", "bad": "#f48771", "current_cell": "#26303a",
                "current_line": "#2e3a46", "separator": "#4a6a8a", "gutter": "#252528",
                "gutter_text": "#858585", "mismatch_bg": "#5a2a2a", "stderr": "#d7ba7d"}
    return {"keyword": "#0033b3", "builtin": "#00707a", "string": "#067d17", "number": "#1750eb",
            "comment": "#8c8c8c", "decorator": "#9e880d", "cell": "#0b5cad", "self": "#94558d",
            "error": "#c0262d", "hint": "#8a5a00", "prompt": "#2e7d32", "notice": "#0b5cad",
            "muted": "#7a7a7a", "ok": "#2e7d32", "bad": "#c0262d", "current_cell": "#f3f7fc",
            "current_line": "#e8f0fa", "separator": "#9bb6d6", "gutter": "#f4f4f4",
            "gutter_text": "#9a9a9a", "mismatch_bg": "#fde2e2", "stderr": "#8a5a00"}
