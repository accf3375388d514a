"""One plot in the Plots panel: a ``Figure`` on a ``FigureCanvasQTAgg`` with
matplotlib's navigation toolbar (pan, zoom, home, save).

Drawing is always ``draw_idle()``: however many times the plot is rebuilt
before the event loop runs, the canvas renders once. :meth:`PlotView.is_busy`
says whether a requested draw has not happened yet (``gradstudio snapshot``
waits for it). The toolbar's save button goes through :mod:`.export`.
"""
from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from .. import dialogs
from . import export


class PlotToolbar(NavigationToolbar2QT):
    """matplotlib's toolbar; Save goes to :meth:`PlotView.export_dialog`."""

    def __init__(self, canvas, view):
        super().__init__(canvas, view, coordinates=True)
        self.view = view
        self.setIconSize(self.iconSize() * 0.8)

    def save_figure(self, *args):
        return self.view.export_dialog()

    def is_navigating(self) -> bool:
        """Pan or zoom is on (a click then belongs to the toolbar, not to the plot)."""
        return bool(str(self.mode))


class PlotView(QWidget):
    def __init__(self, suggested_name: str = "plot.png", parent=None):
        super().__init__(parent)
        self.figure = Figure(layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.setMinimumSize(260, 180)
        self.toolbar = PlotToolbar(self.canvas, self)
        self.suggested_name = suggested_name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas, 1)
        self._awaiting_draw = False
        self.draws = 0                      # actual renders (tests check coalescing)
        self.canvas.mpl_connect("draw_event", self._on_draw)

    def request_draw(self):
        """Render at the next idle moment (many requests, one render)."""
        self._awaiting_draw = True
        self.canvas.draw_idle()

    def new_plot(self):
        """An empty figure for a fresh plot; the toolbar forgets old zoom levels."""
        self.figure.clear()
        self.toolbar.update()

    def _on_draw(self, event):
        self._awaiting_draw = False
        self.draws += 1

    def is_busy(self) -> bool:
        """A requested draw has not happened yet (only a canvas on screen will draw)."""
        canvas = self.canvas
        return self._awaiting_draw and canvas.isVisible() and canvas.width() > 0 and canvas.height() > 0

    # -- export ------------------------------------------------------------------------------
    def export(self, path: str):
        export.save_figure(self.figure, path)

    def export_dialog(self) -> str | None:
        path = export.ask_export_path(self, self.suggested_name)
        if not path:
            return None
        try:
            self.export(path)
        except Exception as error:     # a full disk, a bad path: say so, keep the plot
            dialogs.show_error(self, "Export failed", f"Could not save the plot to {path}:\n{error}")
            return None
        return path
