"""The Plots panel: gradient magnitudes and sweeps, drawn with matplotlib.

Three tabs, each one ``Figure`` on a ``FigureCanvasQTAgg`` with the
navigation toolbar (pan, zoom, save as PNG/SVG/PDF):

* **Gradient norms** — ‖grad‖ per vertex of the selected backward call (the
  newest when none is selected), log scale. Clicking a bar selects that
  vertex everywhere.
* **Heatmap** — |grad| of the selected vertex (the gradient that reached it in
  that call) or, for a variable outside the graph, of its ``.grad``. Clicking
  a cell of a leaf picks that element for the sweep; a double click sweeps it.
* **Sweep** — f and ∂f/∂a while one element a of a leaf moves over a range,
  computed in the kernel (``runner.request_sweep``): engine, closed form and
  finite differences on top of each other.
* **Loss curve** — the value of the scalar loss of every recorded backward call,
  in order (a training loop's curve; :mod:`gradstudio.studio.figures.loss_curve`).

The panel follows the model's selection and signals. Every change marks the
affected tabs stale; one zero-delay timer rebuilds the visible tab, so a
burst of signals (a cell's calls, tensors and the selection that follows
them) costs one render, started as soon as the runner says the cell's records
are all in (``Runner.cellApplied``: before the window repaints). Hidden tabs (and a hidden panel, or one behind
another panel's tab in its dock area) are rebuilt when they are shown. A tab is drawn as soon as its data is there: nothing it shows
waits for the kernel's checks and derivations, so neither does the plot
(while a run's further cells are still to finish, it waits for the last; the
user's own clicks and picks in this panel never wait). A re-run that gives the same bars or the same heatmap only
draws the new title over the kept frame, and the same chart with the same
title is not drawn again. The figure is built and rendered off the GUI
thread (:mod:`gradstudio.ui.plots.view`); a tab with nothing to plot shows a
plain message, so matplotlib is imported — in a thread — only when there is a
first plot. Drawing itself is
:mod:`gradstudio.studio.figures.plotting`; what to draw (which call, the
heatmap's source, the tabs' messages, where a sweep stands) is decided in
:mod:`gradstudio.studio.figures.plot_choice`, without Qt.
"""
from __future__ import annotations

import re
import threading

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QStackedWidget, QTabWidget,
                               QVBoxLayout, QWidget)

from gradstudio.studio.figures import plot_choice
from gradstudio.studio.figures.plot_choice import (DEFAULT_POINTS, MAX_POINTS, SweepState, default_range,
                                                   element_text, file_part, node_name)

from .. import theme
from ..widgets.echo import EchoGuard

TABS = ("norms", "heatmap", "sweep", "loss")
TITLES = {"norms": "Gradient norms", "heatmap": "Heatmap", "sweep": "Sweep", "loss": "Loss curve"}


class _Relay(QObject):
    done = Signal()           # emitted from a thread, delivered in the GUI thread


class PlotsPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.model = context.model
        self.runner = context.runner
        # The canvases (and matplotlib with them) are made the first time the panel
        # is on screen: the Plots dock starts hidden, and importing matplotlib
        # would cost the window's start-up a good part of a second.
        self.views: dict = {}           # tab name -> gradstudio.ui.plots.view.PlotView
        # Until there is something to plot, a tab shows a plain message instead.
        self.pages, self.headers, self.stacks, self.messages = {}, {}, {}, {}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for name in TABS:
            page = QWidget()
            page_layout = QVBoxLayout(page)
            page_layout.setContentsMargins(0, 0, 0, 0)
            page_layout.setSpacing(0)
            header = QVBoxLayout()
            header.setContentsMargins(4, 2, 4, 0)
            page_layout.addLayout(header)
            message = QLabel()
            message.setWordWrap(True)
            message.setAlignment(Qt.AlignmentFlag.AlignCenter)
            message.setContentsMargins(24, 24, 24, 24)
            stack = QStackedWidget()
            stack.addWidget(message)
            page_layout.addWidget(stack, 1)
            self.pages[name], self.headers[name], self.stacks[name], self.messages[name] = \
                page, header, stack, message
            self.tabs.addTab(page, TITLES[name])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._build_norms_header()
        self._build_heatmap_header()
        self._build_sweep_controls()

        self.norms_plot = None          # gradstudio.studio.figures.plotting.NormsPlot of the shown call
        self.heatmap_plot = None
        self.sweep_plot = None
        self.norms_call = None          # the call the norms tab shows
        self._norms_content = self._norms_limits = self._norms_title = None   # what its bars show, where, titled
        self.heatmap_leaf = None        # (call, vertex) when the heatmap shows a leaf's gradient
        self._heatmap_shown = None      # (what its image shows, its title, its limits)
        self.sweep = SweepState()       # asked of the kernel, and what came back
        self.renders = dict.fromkeys(TABS, 0)
        self._stale = set(TABS)
        self._urgent = False
        self._generation = dict.fromkeys(TABS, 0)
        self._plotting_loaded = False
        self._loader = None
        self._syncing = EchoGuard()
        self._refresh_timer = QTimer(self, singleShot=True, interval=0, timeout=self._refresh)
        self._dock = None               # the QDockWidget holding the panel (see on_screen)

        self.tabs.currentChanged.connect(lambda index: self._schedule(now=True))
        m = self.model
        m.calls.callAdded.connect(self._on_call_added)
        m.calls.callsAdded.connect(self._on_calls_changed)     # a cell's calls: the pickers once
        m.calls.callRemoved.connect(self._on_call_removed)     # a design's replaced live call
        m.calls.callsCleared.connect(self._on_calls_cleared)
        m.tensors.tensorsChanged.connect(lambda: self._mark("heatmap"))
        m.selection.selectionChanged.connect(self._on_selection_changed)
        m.sweeps.sweepReady.connect(self._on_sweep_ready)
        m.kernel.busyChanged.connect(self._on_busy_changed)
        applied = getattr(self.runner, "cellApplied", None)
        if applied is not None:
            applied.connect(self._on_cell_applied)
        self._on_calls_changed()
        if m.sweeps.sweep is not None:
            self._on_sweep_ready(m.sweeps.sweep)

    # -- building ---------------------------------------------------------------------------------
    def _build_norms_header(self):
        self.call_picker = QComboBox()
        self.call_picker.setToolTip("The backward call whose gradient norms are shown")
        self.call_picker.setPlaceholderText("no backward call yet")
        self.call_picker.activated.connect(self._on_call_picked)
        row = QHBoxLayout()
        row.addWidget(QLabel("Backward call"))
        row.addWidget(self.call_picker, 1)
        self.headers["norms"].addLayout(row)

    def _build_heatmap_header(self):
        self.heatmap_info = QLabel()
        self.heatmap_info.setWordWrap(True)
        self.log_colors = QCheckBox("log colour scale")
        self.log_colors.setToolTip("Colour |grad| on a logarithmic scale (for gradients that span decades)")
        self.log_colors.toggled.connect(lambda checked: self._mark("heatmap", now=True))
        self.signed_colors = QCheckBox("signed")
        self.signed_colors.setToolTip("Colour the gradient's values themselves on a diverging map "
                                      "(blue < 0 < red, white at 0) instead of |grad|")
        self.signed_colors.toggled.connect(lambda checked: self._mark("heatmap", now=True))
        row = QHBoxLayout()
        row.addWidget(self.heatmap_info, 1)
        row.addWidget(self.signed_colors)
        row.addWidget(self.log_colors)
        self.headers["heatmap"].addLayout(row)

    def _build_sweep_controls(self):
        self.leaf_picker = QComboBox()
        self.leaf_picker.setToolTip("The leaf whose element moves")
        self.leaf_picker.setPlaceholderText("no leaf")
        self.leaf_picker.setMinimumContentsLength(12)
        self.leaf_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.leaf_picker.currentIndexChanged.connect(self._on_leaf_picked)
        self.element_box = QHBoxLayout()
        self.element_box.setSpacing(2)
        self.element_spins: list = []
        self.auto_range = QCheckBox("auto range")
        self.auto_range.setChecked(True)
        self.auto_range.setToolTip("The recorded value ± max(1, |value|)")
        self.lo = self._number_box("From")
        self.hi = self._number_box("To")
        self.points = QSpinBox(minimum=3, maximum=MAX_POINTS, value=DEFAULT_POINTS)
        self.points.setToolTip("Points along the range")
        self.sweep_button = QPushButton("Sweep")
        self.sweep_button.setToolTip("Ask the kernel for f and ∂f/∂a over the range "
                                     "(double-click a heatmap cell to sweep that element)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Interrupt the sweep")
        self.cancel_button.hide()
        self.progress = QProgressBar(maximumWidth=90, maximumHeight=12, textVisible=False)
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.sweep_status = QLabel()
        self.sweep_status.setWordWrap(True)
        self.sweep_status.hide()
        self.auto_range.toggled.connect(self._update_range_boxes)
        self.sweep_button.clicked.connect(self.request_sweep)
        self.cancel_button.clicked.connect(self._cancel_sweep)

        first = QHBoxLayout()
        first.addWidget(QLabel("Leaf"))
        first.addWidget(self.leaf_picker)
        first.addSpacing(8)
        first.addWidget(QLabel("element"))
        first.addLayout(self.element_box)
        first.addStretch(1)
        second = QHBoxLayout()
        second.addWidget(self.auto_range)
        second.addWidget(QLabel("from"))
        second.addWidget(self.lo)
        second.addWidget(QLabel("to"))
        second.addWidget(self.hi)
        second.addWidget(QLabel("points"))
        second.addWidget(self.points)
        second.addStretch(1)
        second.addWidget(self.sweep_button)
        second.addWidget(self.cancel_button)
        third = QHBoxLayout()
        third.addWidget(self.progress)
        third.addWidget(self.sweep_status, 1)
        header = self.headers["sweep"]
        for row in (first, second, third):
            header.addLayout(row)
        self._update_range_boxes()

    @staticmethod
    def _number_box(tooltip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=4, singleStep=0.5)
        box.setToolTip(f"{tooltip} this value")
        box.setMinimumWidth(80)
        box.setMaximumWidth(110)
        return box

    # -- which data -------------------------------------------------------------------------------
    def current_call(self):
        """The record the norms and sweep tabs are about: the selected call, else the newest."""
        return plot_choice.current_call(self.model)

    def _plotting_ready(self) -> bool:
        """Whether matplotlib is imported. The first time, it is imported in a thread
        (about a second, longer when its font cache is built) and the stale tabs
        are redrawn when it is there; meanwhile the GUI stays responsive."""
        if self._plotting_loaded:
            return True
        if self._loader is None:
            relay = self._loader_relay = _Relay()
            relay.done.connect(self._on_plotting_loaded)

            def load():
                try:
                    import gradstudio.studio.figures.plotting  # noqa: F401
                    from ..plots import view  # noqa: F401
                finally:
                    try:
                        relay.done.emit()
                    except RuntimeError:          # the panel is gone
                        pass

            self._loader = threading.Thread(target=load, name="gradstudio-plot-import")
            self._loader.start()
        return False

    def _on_plotting_loaded(self):
        if self._loader is not None:
            self._loader.join()
        self._plotting_loaded = True
        self._schedule(now=True)

    def _ensure_views(self):
        if self.views:
            return
        from ..plots.view import PlotView
        names = {"norms": "gradient-norms.png", "heatmap": "gradient-heatmap.png", "sweep": "sweep.png",
                 "loss": "loss-curve.png"}
        for name in TABS:
            view = PlotView(names[name])
            view.canvas.mpl_connect("button_press_event", lambda event, n=name: self._on_click(n, event))
            self.stacks[name].addWidget(view)
            self.views[name] = view

    def colors(self) -> dict:
        from gradstudio.studio.figures import plotting
        palette = self.palette()
        return plotting.theme(theme.is_dark(palette),
                              background=palette.color(QPalette.ColorRole.Window).name(),
                              foreground=palette.color(QPalette.ColorRole.WindowText).name())

    # -- scheduling ---------------------------------------------------------------------------------
    def _mark(self, *names, now: bool = False):
        """``names`` (all tabs if none) need a rebuild, on the next turn of the event
        loop (a burst of signals is one rebuild); see :meth:`_holding` for when it
        waits. ``now`` is for the user's own actions in this panel: they never wait."""
        self._stale.update(names or TABS)
        self._schedule(now=now)

    def _schedule(self, now: bool = False):
        self._urgent = self._urgent or now
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _holding(self) -> bool:
        """Redraws wait while more cells of a run are still to finish (Run all): the
        next cell's records would replace the frame, and a render competes with the
        kernel for the CPU. They do not wait for the kernel's checks and derivations:
        what the tabs show is all in the records that came (a cell's calls and
        tensors), and the derivations still running change none of it."""
        return (not self._urgent and self.model.kernel.busy
                and getattr(self.runner, "cells_to_finish", 0) > 0)

    def on_screen(self) -> bool:
        """Whether the panel can be seen: shown, and not behind another tab of its dock
        area — Qt keeps a dock whose tab is not current "visible" and moves it out of
        the window, so ``isVisible()`` alone says yes. Behind a tab it draws nothing;
        its dock's ``visibilityChanged`` brings it up to date when its tab is raised."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def _watch_dock(self):
        """Redraw when the dock holding the panel comes to the front (see :meth:`on_screen`)."""
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None and dock is not self._dock:
            if self._dock is not None:
                self._dock.visibilityChanged.disconnect(self._on_dock_visibility)
            self._dock = dock
            dock.visibilityChanged.connect(self._on_dock_visibility)

    def _on_dock_visibility(self, visible: bool):
        if visible:
            self._schedule(now=True)

    def _on_cell_applied(self):
        """A cell's records are in (the burst of signals is over): the rebuild waiting for the
        timer starts now. The timer would run after the window's repaint of the same records,
        and the frame's worker can draw meanwhile."""
        if self._refresh_timer.isActive():
            self._refresh_timer.stop()
            self._refresh()

    def _refresh(self):
        """Rebuild the visible tab if stale (the others wait until they are shown)."""
        if not self.on_screen() or self._holding():
            return
        self._urgent = False
        name = TABS[self.tabs.currentIndex()]
        if name in self._stale:
            self._stale.discard(name)
            self.renders[name] += 1
            getattr(self, f"_render_{name}")()

    def is_busy(self) -> bool:
        """A rebuild or a frame of the visible plot is on its way."""
        if not self.on_screen():
            return False
        name = TABS[self.tabs.currentIndex()]
        if name in self.views and self.views[name].is_busy():
            return True
        if self._loader is not None and not self._plotting_loaded:
            return True
        return not self._holding() and (self._refresh_timer.isActive() or name in self._stale)

    def showEvent(self, event):
        super().showEvent(event)
        self._watch_dock()
        self._schedule(now=True)

    def changeEvent(self, event):
        if event.type() == QEvent.Type.PaletteChange:
            self._mark(now=True)
        super().changeEvent(event)

    # -- model → view -----------------------------------------------------------------------------
    def _on_call_added(self, index: int):
        if not self.model.calls.adding:
            self._on_calls_changed()

    def _on_calls_changed(self, index=None):
        self._fill_call_picker()
        self._fill_leaf_picker()
        self._mark()

    def _on_call_removed(self, index: int, replacement=None):
        self._on_calls_changed()

    def _on_calls_cleared(self):
        self.sweep.clear()
        self._set_sweep_busy(False)
        self._set_sweep_status("")
        self._on_calls_changed()

    def _on_selection_changed(self, selection):
        self._sync_call_picker()
        self._fill_leaf_picker()
        self._mark("norms", "heatmap", *(("sweep",) if self.sweep.result is None else ()))

    def _fill_call_picker(self):
        with self._syncing:
            self.call_picker.clear()
            for record in self.model.calls.call_list():
                state = "  (raised)" if record.status == "error" else ""
                self.call_picker.addItem(f"#{record.index}  {record.title()}{state}", record.index)
        self._sync_call_picker()

    def _sync_call_picker(self):
        record = self.current_call()
        with self._syncing:
            self.call_picker.setCurrentIndex(self.call_picker.findData(record.index) if record else -1)

    def _on_call_picked(self, row: int):
        index = self.call_picker.itemData(row)
        record = self.model.calls.call(index) if index is not None else None
        if record is None or self._syncing:
            return
        node = plot_choice.node_to_select(record)
        if node is not None:
            self.model.selection.select(call=index, node=node)

    # -- gradient norms -----------------------------------------------------------------------------
    def _render_norms(self):
        """Gather on this thread, draw in the view's worker (see gradstudio.ui.plots.view)."""
        record = self.current_call()
        message = plot_choice.norms_message(record)
        if message is not None:
            self._draw_message("norms", message, reset=("norms_plot", "norms_call"))
            return
        if not self._plotting_ready():
            self._stale.add("norms")
            return
        from gradstudio.studio.figures import plotting

        from ..plots.view import overlay_titles
        colors = self.colors()
        selection = self.model.selection.current
        selected = selection.node if selection.call == record.index else None
        title = plot_choice.norms_title(record)
        nodes, index = record.nodes, record.index
        self._ensure_views()
        view = self.views["norms"]
        content = (plotting.norms_content(nodes, selected), tuple(sorted(colors.items())),
                   tuple(view.figure.get_size_inches()))
        shown = self.norms_plot
        if shown is not None and content == self._norms_content and not view.rendering() \
                and (shown.ax.get_xlim(), shown.ax.get_ylim()) == self._norms_limits:
            if title == self._norms_title and self.stacks["norms"].currentWidget() is view:
                self.norms_call = index      # the very chart on screen: nothing to draw
                return
            # The same bars (a re-run cell): only the title's call number changes. Making
            # the axes and their ticks afresh is most of a frame, and so is drawing them:
            # keep the axes and the frame, draw the new title over it.
            def retitle(figure):
                plotting.norms_title(shown.ax, title, colors)
                return shown

            self._submit("norms", retitle, lambda plot: self._norms_shown(plot, index, content, title),
                         overlay=True)
            return

        def build(figure):
            plotting.style_figure(figure, colors)
            plot = plotting.gradient_norms(figure.add_subplot(), nodes, selected=selected, colors=colors,
                                           title=title)
            overlay_titles(plot.ax)
            return plot

        self._submit("norms", build, lambda plot: self._norms_shown(plot, index, content, title))

    def _norms_shown(self, plot, index: int, content: tuple, title: str):
        self.norms_plot, self.norms_call = plot, index
        self._norms_content, self._norms_title = content, title
        self._norms_limits = (plot.ax.get_xlim(), plot.ax.get_ylim())   # a pan or zoom: build afresh

    def _render_loss(self):
        from gradstudio.studio.figures import loss_curve
        name, curve = loss_curve.points([r.data for r in self.model.calls.call_list()])
        if len(curve) < 2:
            self._draw_message("loss", "Run a loop that calls loss.backward() to see its loss curve")
            return
        if not self._plotting_ready():
            self._stale.add("loss")
            return
        from gradstudio.studio.figures import plotting
        colors = self.colors()

        def build(figure):
            plotting.style_figure(figure, colors)
            return loss_curve.draw(figure.add_subplot(), name, curve, colors=colors)

        self._submit("loss", build, lambda plot: None)

    def _draw_message(self, name: str, message: str, reset=()):
        """No plot: the tab says ``message`` (no matplotlib needed for that)."""
        self._generation[name] += 1          # a frame still being drawn for this tab is stale now
        label = self.messages[name]
        label.setText(message)
        label.setStyleSheet(f"color: {theme.colors(self.palette())['muted']};")
        self.stacks[name].setCurrentWidget(label)
        for attribute in reset:
            setattr(self, attribute, None)

    def _submit(self, name: str, build, done, keep: bool = False, overlay: bool = False):
        """Draw a plot in tab ``name`` (in the view's worker); show it when it is ready
        (``keep``: ``build`` changes the figure shown instead of making a new one;
        ``overlay``: it changes only the overlay titles, see PlotView.submit)."""
        self._ensure_views()
        view = self.views[name]
        self._generation[name] += 1
        generation = self._generation[name]

        def shown(plot):
            if generation != self._generation[name]:
                return                           # a message replaced it meanwhile
            done(plot)
            self.stacks[name].setCurrentWidget(view)

        view.submit(build, shown, keep=keep, overlay=overlay)

    # -- heatmap ------------------------------------------------------------------------------------
    def _render_heatmap(self):
        source = plot_choice.heatmap_source(self.model)
        leaf = source.get("leaf")
        if source.get("array") is None:
            self.heatmap_info.setText("")
            self.heatmap_leaf = leaf
            self._draw_message("heatmap", source["message"], reset=("heatmap_plot",))
            return
        if not self._plotting_ready():
            self._stale.add("heatmap")
            return
        from gradstudio.studio.figures import plotting

        from ..plots.view import overlay_titles, retitle
        colors = self.colors()
        self._ensure_views()
        view = self.views["heatmap"]
        view.suggested_name = f"gradient-{file_part(source.get('name') or 'heatmap')}.png"
        self.heatmap_info.setText(source.get("info", ""))
        marked = None
        target = self.sweep_target()
        if leaf is not None and target is not None and target[:2] == leaf:
            marked = target[2]
        grad, title, log = source["array"], source["title"], self.log_colors.isChecked()
        signed = self.signed_colors.isChecked()
        if signed:          # the title names what is drawn: ∂f/∂x, not |∂f/∂x|
            title = re.sub(r"\|([^|]+)\|", r"\1", title, count=1)

        array = np.asarray(grad)
        content = (array.shape, array.dtype.str, array.tobytes(), log, signed, marked,
                   tuple(sorted(colors.items())), tuple(view.figure.get_size_inches()))

        def done(plot):
            self.heatmap_plot, self.heatmap_leaf = plot, leaf
            ax = plot.image.axes
            self._heatmap_shown = (content, title, (ax.get_xlim(), ax.get_ylim()))

        shown = self.heatmap_plot
        if shown is not None and self._heatmap_shown is not None and not view.rendering():
            ax = shown.image.axes
            was, was_title, limits = self._heatmap_shown
            if content == was and (ax.get_xlim(), ax.get_ylim()) == limits:
                if title == was_title and self.stacks["heatmap"].currentWidget() is view:
                    self.heatmap_leaf = leaf     # the very image on screen (of a re-run's call)
                    return

                def new_title(figure):           # the same image, another call: only the title changes
                    retitle(ax, title)
                    return shown

                self._submit("heatmap", new_title, done, overlay=True)
                return

        def build(figure):
            plotting.style_figure(figure, colors)
            plot = plotting.gradient_heatmap(figure.add_subplot(), grad, colors=colors, title=title,
                                             log=log, marked=marked, signed=signed)
            overlay_titles(plot.image.axes)
            return plot

        self._submit("heatmap", build, done)

    # -- sweep: controls ------------------------------------------------------------------------------
    def _fill_leaf_picker(self):
        """The leaves of the current call; the selected one current if it is a leaf."""
        choices = plot_choice.sweep_leaves(self.current_call())
        keys = [key for key, label in choices]
        selection = self.model.selection.current
        row = plot_choice.pick_leaf(keys, (selection.call, selection.node), self.leaf_picker.currentData())
        with self._syncing:
            if [self.leaf_picker.itemData(i) for i in range(self.leaf_picker.count())] != keys:
                self.leaf_picker.clear()
                for key, label in choices:
                    self.leaf_picker.addItem(label, key)
            if row is not None:
                self.leaf_picker.setCurrentIndex(row)
        self._on_leaf_picked(self.leaf_picker.currentIndex(), select=False)
        self._update_sweep_enabled()

    def _leaf_node(self, key=None) -> dict | None:
        key = key if key is not None else self.leaf_picker.currentData()
        if key is None:
            return None
        record = self.model.calls.call(key[0])
        return record.node(key[1]) if record is not None else None

    def _on_leaf_picked(self, row: int, select: bool = True):
        node = self._leaf_node()
        shape = list(node.shape) if node is not None else []
        if [s.maximum() + 1 for s in self.element_spins] != shape:
            for spin in self.element_spins:
                self.element_box.removeWidget(spin)
                spin.hide()             # now: a deferred delete waits for the event loop proper
                spin.deleteLater()
            self.element_spins = []
            for axis, size in enumerate(shape):
                spin = QSpinBox(minimum=0, maximum=max(0, size - 1))
                spin.setToolTip(f"index along dimension {axis} (size {size})")
                spin.valueChanged.connect(self._on_element_changed)
                self.element_box.addWidget(spin)
                self.element_spins.append(spin)
        self._update_range_boxes()
        if select and not self._syncing and node is not None:
            key = self.leaf_picker.currentData()
            self.model.selection.select(call=key[0], node=key[1])

    def _on_element_changed(self, value=None):
        self._update_range_boxes()
        if self.heatmap_leaf is not None:
            self._mark("heatmap", now=True)

    def sweep_target(self):
        """(call, vertex, element) chosen in the controls, or None."""
        key = self.leaf_picker.currentData()
        if key is None:
            return None
        return key[0], key[1], tuple(spin.value() for spin in self.element_spins)

    def set_sweep_target(self, call: int, vertex: int, element):
        """Point the controls at one element of a leaf (a heatmap click does this)."""
        keys = [self.leaf_picker.itemData(i) for i in range(self.leaf_picker.count())]
        if (call, vertex) not in keys:      # (findData cannot compare Python tuples)
            return False
        row = keys.index((call, vertex))
        with self._syncing:
            self.leaf_picker.setCurrentIndex(row)
        self._on_leaf_picked(row, select=False)
        for spin, index in zip(self.element_spins, element):
            spin.setValue(int(index))
        self._mark("heatmap", now=True)
        return True

    def _recorded_value(self):
        node = self._leaf_node()
        target = self.sweep_target()
        if node is None or target is None or node.value is None:
            return None
        try:
            return float(np.asarray(node.value)[target[2]])
        except (IndexError, TypeError, ValueError):
            return None

    def _update_range_boxes(self, *args):
        auto = self.auto_range.isChecked()
        self.lo.setEnabled(not auto)
        self.hi.setEnabled(not auto)
        if auto:
            value = self._recorded_value()
            if value is not None:
                lo, hi = default_range(value)
                self.lo.setValue(lo)
                self.hi.setValue(hi)

    def _update_sweep_enabled(self):
        self.sweep_button.setEnabled(not self.sweep.pending and self.sweep_target() is not None)

    # -- sweep: request and answer ------------------------------------------------------------------
    def request_sweep(self):
        """Ask the kernel for the sweep the controls describe."""
        target = self.sweep_target()
        if target is None or self.sweep.pending:
            return False
        call, vertex, element = target
        lo = hi = None
        if not self.auto_range.isChecked():
            lo, hi = self.lo.value(), self.hi.value()
            if not lo < hi:
                self._set_sweep_status(f"<span style='color:{theme.colors(self.palette())['error']}'>"
                                          "The range is empty: “from” must be below “to”.</span>")
                return False
        self.sweep.request(target)
        node = self._leaf_node()
        name = element_text(node_name(node), element)
        span = f" over [{self.lo.value():g}, {self.hi.value():g}]" if self.lo.value() < self.hi.value() else ""
        self._set_sweep_status(f"Sweeping {name}{span} ({self.points.value()} points): the kernel "
                                  "re-runs the graph and evaluates the closed form at each point…")
        self._set_sweep_busy(True)
        self.runner.request_sweep(call, vertex, list(element), lo=lo, hi=hi, points=self.points.value())
        return True

    def _set_sweep_status(self, text: str):
        self.sweep_status.setText(text)
        self.sweep_status.setVisible(bool(text))

    def _cancel_sweep(self):
        if self.sweep.pending:
            self.runner.interrupt()

    def _set_sweep_busy(self, busy: bool):
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self._update_sweep_enabled()

    def _on_sweep_ready(self, result: dict):
        was_pending = self.sweep.pending
        shown = self.sweep.receive(result, known=self.model.calls.call(result.call) is not None)
        if was_pending and not self.sweep.pending:
            self._set_sweep_busy(False)
        if not shown:
            return
        if result.error:
            self._set_failed_status(self.sweep.message)
        else:
            self._set_sweep_status(self.sweep.message)
            self.tabs.setCurrentWidget(self.pages["sweep"])
        self._mark("sweep", now=True)

    def _set_failed_status(self, text: str):
        color = theme.colors(self.palette())["error"]
        self._set_sweep_status(f"<span style='color:{color}'>{_html(text)}</span>")

    def _on_busy_changed(self, busy: bool):
        if busy:
            return
        if self._stale:
            self._schedule()              # the redraws held while a run's cells went on
        if self.sweep.pending:            # idle without answering: it died, or dropped the request
            QTimer.singleShot(0, self._check_unanswered)

    def _check_unanswered(self):
        if not self.model.kernel.busy and self.sweep.lost():
            self._set_sweep_busy(False)
            self._set_sweep_status(self.sweep.message)

    def _render_sweep(self):
        result = self.sweep.result
        if result is None:
            hint = plot_choice.sweep_hint(self.current_call(), self.leaf_picker.count())
            self._draw_message("sweep", hint, reset=("sweep_plot",))
            return
        if not self._plotting_ready():
            self._stale.add("sweep")
            return
        from gradstudio.studio.figures import plotting
        colors = self.colors()
        self._ensure_views()
        record = self.model.calls.call(result.call)
        node = record.node(result.vertex) if record is not None and result.vertex is not None else None
        name = element_text(node_name(node), result.element or [])
        self.views["sweep"].suggested_name = f"sweep-{file_part(name)}.png"
        title = f"f and ∂f/∂{name} — #{record.index} {record.title()}" if record else None

        def build(figure):
            plotting.style_figure(figure, colors)
            grid = figure.add_gridspec(2, 1, height_ratios=(1, 2))
            f_ax = figure.add_subplot(grid[0])
            ax = figure.add_subplot(grid[1], sharex=f_ax)
            return plotting.sweep(ax, result, f_ax=f_ax, colors=colors, variable=name, title=title)

        def done(plot):
            self.sweep_plot = plot

        self._submit("sweep", build, done)

    # -- clicks -----------------------------------------------------------------------------------------
    def _on_click(self, name: str, event):
        view = self.views[name]
        if event.button != 1 or event.inaxes is None or view.toolbar.is_navigating() or view.rendering():
            return
        if name == "norms" and self.norms_plot is not None and self.norms_call is not None:
            node = self.norms_plot.node_at(event.xdata)
            if node is not None:
                self._urgent = True           # the user's click: show it even while cells run
                self.model.selection.select(call=self.norms_call, node=node)
        elif name == "heatmap" and self.heatmap_plot is not None and self.heatmap_leaf is not None \
                and event.inaxes is self.heatmap_plot.image.axes:
            element = self.heatmap_plot.element_at(event.xdata, event.ydata)
            if element is not None and self.set_sweep_target(*self.heatmap_leaf, element) and event.dblclick:
                self.tabs.setCurrentWidget(self.pages["sweep"])
                self.request_sweep()

    # -- view state -----------------------------------------------------------------------------------
    def view_state(self) -> dict:
        return {"tab": TABS[self.tabs.currentIndex()], "log_colors": self.log_colors.isChecked(),
                "auto_range": self.auto_range.isChecked(), "lo": self.lo.value(), "hi": self.hi.value(),
                "points": self.points.value()}

    def restore_view_state(self, state: dict):
        if state.get("tab") in TABS:
            self.tabs.setCurrentIndex(TABS.index(state["tab"]))
        if isinstance(state.get("log_colors"), bool):
            self.log_colors.setChecked(state["log_colors"])
        if isinstance(state.get("points"), int):
            self.points.setValue(state["points"])
        if isinstance(state.get("auto_range"), bool):
            self.auto_range.setChecked(state["auto_range"])
        for key, box in (("lo", self.lo), ("hi", self.hi)):
            if isinstance(state.get(key), (int, float)) and not state.get("auto_range", True):
                box.setValue(float(state[key]))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
