"""One plot in the Plots panel: a ``Figure`` on a ``FigureCanvasQTAgg`` with
matplotlib's navigation toolbar (pan, zoom, home, save).

A full matplotlib draw of a labelled chart costs 100–500 ms on a modest
machine, longer than the GUI may ever stall (DESIGN §4: the event loop keeps
running). So the figure is built and rendered in a short-lived worker thread,
into an image the canvas paints when it is done; the GUI thread never waits
for a draw. The thread holds the figure while it works; in that time the GUI
thread leaves the figure alone:

* mouse moves, wheel and key events on the canvas are dropped; a press, a
  double click or a release waits for the frame (a click is never lost and a
  pan or zoom drag always ends), and so does every toolbar command;
* a resize is applied to the figure when the frame is done;
* export waits for the frame.

Redraw requests (``draw_idle()``, from the toolbar or a resize) and new
plots (:meth:`PlotView.submit`) coalesce: one frame renders at a time and
only the newest request waits behind it.

Axes titles marked as an overlay (:func:`overlay_titles`) are drawn after the
rest of the figure, over a copy of it the worker keeps; a new title on the same
chart (a re-run cell: only its call number changed) then costs restoring that
copy and drawing one text (``submit(..., overlay=True)``), not a frame.
Exports (``savefig``) draw them like any other text. :meth:`PlotView.is_busy` says
whether a frame is still coming (``gradstudio snapshot`` waits for it). The
toolbar's save button goes through :mod:`.export`.
"""
from __future__ import annotations

import sys
import threading

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from .. import dialogs
from . import export, replay


def overlay_titles(ax) -> None:
    """Mark ``ax``'s titles as the figure's overlay: drawn over the rest, so that a new
    title alone can be drawn over the kept background (see :func:`render_image`)."""
    for text in _titles(ax):
        text.set_animated(True)


def retitle(ax, title: str) -> None:
    """Give ``ax``'s title (the one that has a text: left, centre or right) a new text,
    keeping its style."""
    text = next((t for t in _titles(ax) if t.get_text()), ax.title)
    text.set_text(title)


def _titles(ax) -> tuple:
    return ax.title, ax._left_title, ax._right_title     # (matplotlib keeps the left/right ones private)


def _overlay(figure) -> list:
    return [text for ax in figure.axes for text in _titles(ax) if text.get_animated() and text.get_visible()]


def render_image(figure, device_pixel_ratio: float = 1.0, renderer: RendererAgg | None = None,
                 memo: replay.LayoutMemo | None = None, background=None) -> tuple[QImage, RendererAgg, object]:
    """``figure`` drawn by Agg at its own size, as an image (any thread may call this
    for a figure that no other thread touches meanwhile). ``renderer``, if it has
    the figure's size and dpi, is cleared and drawn on again: it keeps its caches
    (mathtext tick labels are parsed once, not on every frame). With ``memo``, the
    last layout is replayed while it still fits (see :mod:`.replay`). The figure's
    overlay titles (:func:`overlay_titles`) are drawn last, over a copy of the rest;
    ``background``, such a copy from this renderer, is restored instead of drawing
    the rest (only the titles changed). Returns the image, the renderer and the copy
    to pass next time."""
    width, height = max(int(round(figure.bbox.width)), 1), max(int(round(figure.bbox.height)), 1)
    if renderer is None or (renderer.width, renderer.height, renderer.dpi) != (width, height, figure.dpi):
        renderer, background = RendererAgg(width, height, figure.dpi), None
    if background is not None:
        renderer.restore_region(background)
    else:
        renderer.clear()
        if memo is None:
            figure.draw(renderer)
        else:
            replay.draw(figure, renderer, memo)
    overlay = _overlay(figure)
    if overlay and background is None:
        background = renderer.copy_from_bbox(figure.bbox)
    for text in overlay:
        text.draw(renderer)
    return _image(renderer, width, height, device_pixel_ratio), renderer, background if overlay else None


def _image(renderer, width: int, height: int, device_pixel_ratio: float) -> QImage:
    data = bytes(renderer.buffer_rgba())
    image = QImage(data, width, height, QImage.Format.Format_RGBA8888).copy()
    image.setDevicePixelRatio(device_pixel_ratio)
    return image


class _Relay(QObject):
    finished = Signal(int)          # job id; emitted from the worker, delivered in the GUI thread


class PlotCanvas(FigureCanvasQTAgg):
    """A Qt canvas that paints the last finished frame; drawing is the view's job."""

    def __init__(self, figure, view):
        self.view = view
        self.frame: QImage | None = None
        self._resize_pending = False
        super().__init__(figure)

    def draw(self):
        """(called by ``draw_idle`` on the GUI thread) render in the worker."""
        self.view.request_redraw()

    def set_frame(self, image: QImage):
        self.frame = image
        self.update()

    def paintEvent(self, event):
        self._draw_idle()            # only does something if a draw is pending
        painter = QPainter(self)
        try:
            color = self.figure.get_facecolor() if self.figure is not None else (1, 1, 1, 1)
            painter.fillRect(self.rect(), QColor.fromRgbF(*color[:3]))
            if self.frame is not None:
                painter.drawImage(QPoint(0, 0), self.frame)
            self._draw_rect_callback(painter)
        finally:
            painter.end()

    def resizeEvent(self, event):
        if self.view.rendering():                       # the worker has the figure
            QWidget.resizeEvent(self, event)
            self._resize_pending = True
            return
        super().resizeEvent(event)

    def apply_pending_resize(self):
        if self._resize_pending:
            self._resize_pending = False
            ratio = self.device_pixel_ratio
            self.figure.set_size_inches(self.width() * ratio / self.figure.dpi,
                                        self.height() * ratio / self.figure.dpi, forward=False)
            self.draw_idle()

    # Events read the figure (which axes is under the mouse): not while the worker draws it.
    def _free(self) -> bool:
        return not self.view.rendering()

    def mousePressEvent(self, event):
        self.view.wait()             # a click is worth finishing the frame for
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event):
        self.view.wait()
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event):
        if self._free():
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        self.view.wait()             # a drag (pan, zoom box) must always see its release
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event):
        if self._free():
            super().wheelEvent(event)

    def enterEvent(self, event):
        if self._free():
            super().enterEvent(event)

    def leaveEvent(self, event):
        if self._free():
            super().leaveEvent(event)

    def keyPressEvent(self, event):
        if self._free():
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event):
        if self._free():
            super().keyReleaseEvent(event)

    def _update_pixel_ratio(self):
        if (self.devicePixelRatioF() or 1) != self.device_pixel_ratio:
            self.view.wait()         # another screen: the figure's dpi changes
        super()._update_pixel_ratio()


class PlotToolbar(NavigationToolbar2QT):
    """matplotlib's toolbar; each command waits for a frame in progress, Save goes
    to :meth:`PlotView.export_dialog`."""

    def __init__(self, canvas, view):
        self.view = view
        super().__init__(canvas, view, coordinates=True)
        self.setIconSize(self.iconSize() * 0.8)

    def _waiting(name):
        def command(self, *args):
            self.view.wait()
            return getattr(NavigationToolbar2QT, name)(self, *args)
        command.__name__ = name
        return command

    home = _waiting("home")
    back = _waiting("back")
    forward = _waiting("forward")
    pan = _waiting("pan")
    zoom = _waiting("zoom")
    configure_subplots = _waiting("configure_subplots")
    edit_parameters = _waiting("edit_parameters")
    del _waiting

    def save_figure(self, *args):
        return self.view.export_dialog()

    def is_navigating(self) -> bool:
        """Pan or zoom is on (a click then belongs to the toolbar, not to the plot)."""
        return bool(str(self.mode))


class PlotView(QWidget):
    def __init__(self, suggested_name: str = "plot.png", parent=None):
        super().__init__(parent)
        self.figure = Figure(layout=replay.ReplayableLayout())
        self.canvas = PlotCanvas(self.figure, self)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.canvas.setMinimumSize(260, 180)
        self.toolbar = PlotToolbar(self.canvas, self)
        self.suggested_name = suggested_name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas, 1)
        self.draws = 0                      # frames rendered (tests check coalescing)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_finished)
        self._thread: threading.Thread | None = None
        self._job = 0                       # id of the running job
        self._result = None                 # (job id, image, plot, error, overlay only), written by the worker
        self._pending = None                # ("build" | "update", build, on_done) | ("redraw", None, None)
        self._on_done = None
        self._renderer: RendererAgg | None = None   # the worker's, reused while the size stays
        self._background = None             # the worker's: its last frame without the overlay titles
        self.overlay_draws = 0              # frames that only drew the overlay (tests check the reuse)
        self._layout = replay.LayoutMemo()           # the worker's too

    # -- requests ------------------------------------------------------------------------------
    def submit(self, build, on_done=None, *, keep: bool = False, overlay: bool = False):
        """A new plot: in the worker, clear the figure, ``plot = build(figure)`` and
        render; then ``on_done(plot)`` in the GUI thread. A newer submit replaces
        one still waiting. ``keep``: ``build`` changes the figure as it is instead
        (a new title on the same bars), which skips making axes and ticks afresh.
        ``overlay`` (implies ``keep``): ``build`` changes only the overlay titles, so
        only they are drawn, over the background kept from the last frame."""
        self._pending = ("overlay" if overlay else "update" if keep else "build", build, on_done)
        self._start()

    def request_redraw(self):
        """Render the figure as it is (limits changed, resized, restyled)."""
        if self._pending is None:
            self._pending = ("redraw", None, None)
        self._start()

    def rendering(self) -> bool:
        """The worker has the figure."""
        return self._thread is not None

    def is_busy(self) -> bool:
        """A frame is still to come."""
        canvas = self.canvas
        idle_draw = getattr(canvas, "_draw_pending", False) and canvas.isVisible() \
            and canvas.width() > 0 and canvas.height() > 0
        return self._thread is not None or self._pending is not None or bool(idle_draw)

    def wait(self):
        """Finish the frame in progress (and any queued behind it) on this thread's clock:
        for commands that need the figure still (toolbar, export, a drag's release)."""
        while self._thread is not None:
            self._thread.join()
            self._on_finished(self._job)

    # -- the worker ------------------------------------------------------------------------------
    def _start(self):
        if self._thread is not None or self._pending is None:
            return
        kind, build, on_done = self._pending
        self._pending = None
        self._job += 1
        self._on_done = on_done
        self._thread = threading.Thread(target=self._work, name="gradstudio-plot",
                                        args=(self._job, self.figure, build, self.canvas.device_pixel_ratio,
                                              kind in ("update", "overlay"), kind == "overlay"))
        # not a daemon: the interpreter joins it before it tears anything down at exit
        self._thread.start()

    def _work(self, job: int, figure, build, ratio: float, keep: bool = False, overlay: bool = False):
        plot = image = error = None
        reused = False
        try:
            if build is not None:
                if not keep:
                    figure.clear()
                plot = build(figure)
            # A new plot may replay the last layout; a redraw (pan, zoom, resize) changes
            # the ticks anyway, so it lays out afresh without trying.
            memo = self._layout if build is not None else None
            background = self._background if overlay else None
            reused = background is not None
            image, self._renderer, self._background = render_image(figure, ratio, self._renderer, memo,
                                                                   background)
            reused = reused and self._background is background
        except BaseException as exc:        # shown on the GUI thread (see _on_finished)
            error = exc
            self._background = None
        self._result = (job, image, plot, error, reused)
        try:
            self._relay.finished.emit(job)
        except RuntimeError:                 # the view was deleted meanwhile
            pass

    def _on_finished(self, job: int):
        if self._thread is None or job != self._job or self._result is None or self._result[0] != job:
            return                           # already handled by wait()
        self._thread.join()
        self._thread = None
        _, image, plot, error, reused = self._result
        self._result = None
        on_done, self._on_done = self._on_done, None
        if error is None:
            self.canvas.set_frame(image)
            self.draws += 1
            self.overlay_draws += reused
            if on_done is not None:
                self.toolbar.update()        # a new plot: forget the old zoom history
                on_done(plot)
        self.canvas.apply_pending_resize()
        self._start()
        if error is not None:                # a bug in a plot: the app's excepthook shows it
            sys.excepthook(type(error), error, error.__traceback__)

    # -- export ------------------------------------------------------------------------------
    def export(self, path: str):
        self.wait()
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
