"""The Graph panel's step-through side panel: a debugger for backward().

It shows one backward call's step trace (read from the call record with
:func:`gradstudio.studio.stepping.steps_of`) one event at a time: Step (F10),
Step back (Shift+F10), Play/Pause (F5) at a chosen speed, jump to the start or
the end, a slider to scrub, and a click on a node runs to it. The scene gets the
step drawn on it (:class:`gradstudio.ui.graph.stepper.StepOverlay`); this panel
writes out what happened: the node's vector-Jacobian product (incoming gradient,
what it sent to each input, the op's local derivative), the ready queue with
each node's remaining dependency count, input-buffer sums at a fan-out, a leaf's
``.grad`` before + this call = after, saved tensors, and the error with its hint.

Breakpoints stop Play at the first NaN/inf or at |g| above a threshold (and say
which forward op's backward produced it). Predict mode asks for the gradient the
next node receives before showing it. For a second backward() that failed on
freed saved tensors, "Re-run with retain_graph" runs the cells from the one that
made the graph again, in the kernel, with ``retain_graph=True`` added to their
backward() calls (the script itself is not changed). All the computing is in
:mod:`gradstudio.studio.stepping`; this is its view.
"""
from __future__ import annotations

import html

import numpy as np

import shiboken6
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSlider, QStyle, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from gradstudio.studio import stepping
from .. import theme
from ..graph.stepper import StepOverlay

ASK_ALL = 100        # a call with up to this many ops gets all its local derivatives at once
SPEEDS = (("0.5×", 1200), ("1×", 600), ("2×", 300), ("4×", 150), ("8×", 75))   # ms per step


REPLACED_NOTE = "The design was edited: this is its new call, at the same step."
STEPS_COMING = "The step trace is on its way from the kernel…"


class StepView(QWidget):
    """Steps through the call shown in the Graph panel's ``scene``."""

    rerunRequested = Signal(int, int)     # first, last cell: re-run with retain_graph
    shownChanged = Signal(bool)           # the side panel was shown or hidden

    def __init__(self, scene, runner=None, model=None, parent=None):
        super().__init__(parent)
        self.scene = scene
        self.runner = runner
        self.model = model
        self.record = None
        self.resume_at = -1
        self.stepper: stepping.Stepper | None = None
        self.position = -1
        self.state = None
        self.verdict: stepping.Verdict | None = None
        self.hit: stepping.Hit | None = None
        self.overlay = StepOverlay(scene)
        self._document = None
        # the kernel's local derivatives of the shown call's nodes: vertex -> LocalDerivativeData,
        # for the call data they were asked for (a re-run call is a new object)
        self.locals: dict = {}
        self._locals_for = None
        self._steps_for = None              # the call data whose step trace was asked for
        self._note = ""                     # html above the step's text until the next step (REPLACED_NOTE)
        self._locals_error: str | None = None
        self._pending: set = set()          # vertices asked for, not answered yet
        self._requests: list = []           # the vertices of each request, oldest first
        self._asked: set = set()            # vertices whose local derivative was asked for
        self._ask_each = False              # a big call: asked node by node
        if runner is not None and hasattr(runner, "localDerivativesReceived"):
            runner.localDerivativesReceived.connect(self.set_local_derivatives)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)

        self.actions = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(1)
        icons = QStyle.StandardPixmap
        self._icons = {"play": self._icon(icons.SP_MediaPlay), "pause": self._icon(icons.SP_MediaPause)}
        for name, icon, text, tip, slot, keys in (
                ("start", icons.SP_MediaSkipBackward, "Start", "Jump to the start", self.to_start, ["Home"]),
                ("back", icons.SP_MediaSeekBackward, "Step back", "Step back (Shift+F10)", self.step_back,
                 ["Shift+F10"]),
                ("play", icons.SP_MediaPlay, "Play", "Play / pause (F5)", self.toggle_play, ["F5"]),
                ("step", icons.SP_MediaSeekForward, "Step", "Step (F10)", self.step, ["F10"]),
                ("end", icons.SP_MediaSkipForward, "End", "Jump to the end", self.to_end, ["End"])):
            action = QAction(self._icon(icon), text, self)
            action.setToolTip(tip)
            action.setShortcuts([QKeySequence(k) for k in keys])
            # the keys work anywhere in the Graph panel (the panel owns the view and this)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.actions[name] = action
            button = QToolButton()
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            bar.addWidget(button)
        self.speed = QComboBox()
        self.speed.setToolTip("Play speed")
        for text, ms in SPEEDS:
            self.speed.addItem(text, ms)
        self.speed.setCurrentIndex(1)
        self.speed.currentIndexChanged.connect(self._on_speed)
        bar.addWidget(self.speed)
        self.counter = QLabel()
        bar.addWidget(self.counter, 1, Qt.AlignmentFlag.AlignRight)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Scrub through the backward pass")
        self.slider.valueChanged.connect(self._on_slider)

        breaks = QHBoxLayout()
        breaks.setContentsMargins(0, 0, 0, 0)
        self.break_nan = QCheckBox("Stop at NaN/inf")
        self.break_nan.setChecked(True)
        self.break_nan.setToolTip("Play stops at the first gradient with a NaN or inf (like detect_anomaly)")
        self.break_big = QCheckBox("|g| >")
        self.break_big.setToolTip("Play stops where an element of a gradient exceeds this")
        self.threshold = QLineEdit("1e3")
        self.threshold.setMaximumWidth(70)
        self.predict = QCheckBox("Predict")
        self.predict.setToolTip("Type the gradient you expect the next node to receive before it is shown")
        self.predict.toggled.connect(self._on_predict_toggled)
        for widget in (self.break_nan, self.break_big, self.threshold):
            breaks.addWidget(widget)
        breaks.addStretch(1)
        breaks.addWidget(self.predict)

        self.guess_row = QWidget()
        guess = QHBoxLayout(self.guess_row)
        guess.setContentsMargins(0, 0, 0, 0)
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.guess = QLineEdit()
        self.guess.setPlaceholderText("e.g. 1.5, [1, 2, 3] or ones(2, 2) * 0.25")
        self.guess.returnPressed.connect(self.reveal)
        self.reveal_button = QPushButton("Reveal")
        self.reveal_button.clicked.connect(self.reveal)
        guess.addWidget(self.guess, 1)
        guess.addWidget(self.reveal_button)
        self.guess_row.hide()
        self.prompt.hide()

        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setMinimumWidth(240)

        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        self.retain_button = QPushButton("Re-run with retain_graph=True")
        self.retain_button.setToolTip("Run the cells from the one that built this graph again, in the "
                                      "kernel, with retain_graph=True in their backward() calls "
                                      "(your script is not changed)")
        self.retain_button.clicked.connect(self.rerun_with_retain_graph)
        self.retain_button.hide()
        self.jacobian_button = QPushButton("Jacobian…")
        self.jacobian_button.setToolTip("J, Jᵀv and backward(gradient=v) side by side, numeric and "
                                        "symbolic; the Hessian of a scalar function")
        self.jacobian_button.clicked.connect(self.open_jacobian)
        self.jacobian_button.hide()
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the step-through as an animated GIF and a PNG per step")
        self.export_button.clicked.connect(self.export)
        for button in (self.retain_button, self.jacobian_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(3)
        layout.addLayout(bar)
        layout.addWidget(self.slider)
        layout.addLayout(breaks)
        layout.addWidget(self.prompt)
        layout.addWidget(self.guess_row)
        layout.addWidget(self.text, 1)
        layout.addLayout(actions)
        scene.nodeClicked.connect(self._on_node_clicked)
        self.set_record(None)

    def _icon(self, which) -> QIcon:
        """A standard media icon in the palette's text colour (the style's own are dark
        grey, unreadable on a dark theme)."""
        icon = self.style().standardIcon(which)
        color = self.palette().color(QPalette.ColorRole.ButtonText)
        tinted = QIcon()
        for mode, tone in ((QIcon.Mode.Normal, color), (QIcon.Mode.Disabled, QColor(color.red(), color.green(),
                                                                                    color.blue(), 90))):
            pixmap = icon.pixmap(QSize(16, 16))
            painter = QPainter(pixmap)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
            painter.fillRect(pixmap.rect(), tone)
            painter.end()
            tinted.addPixmap(pixmap, mode)
        return tinted

    def _reveal(self):
        """A step key opens the side panel if it was closed."""
        if self.isHidden():
            self.show()

    def showEvent(self, event):
        super().showEvent(event)
        self.shownChanged.emit(True)
        if self.stepper is None and self.record is not None and self._steps_to_ask(self.record):
            self._ask_steps()
        if self.stepper is not None and self.record is not None and self.record.data is not self._locals_for:
            self._ask_local_derivatives()
            self._ask_for_running()
            if self.state is not None:
                self._show_step()

    def hideEvent(self, event):
        super().hideEvent(event)
        if self.isHidden():          # closed, not only its window minimised
            self.shownChanged.emit(False)

    def add_shortcuts_to(self, widget):
        """Make the step keys work in ``widget`` (the whole Graph panel)."""
        for action in self.actions.values():
            widget.addAction(action)

    # -- which call ------------------------------------------------------------------------
    def set_record(self, record):
        """Step through ``record`` (the app's call record), from its start."""
        self.pause()
        self.record = record
        self.resume_at = -1           # (continue_on: the step a replaced call was at)
        self._note = ""
        trace = stepping.steps_of(record) if record is not None else None
        self.stepper = stepping.Stepper(trace) if trace and trace.get("events") else None
        self.verdict = self.hit = None
        self._watch_document()
        count = len(self.stepper) if self.stepper is not None else 0
        self.slider.blockSignals(True)
        self.slider.setRange(-1, max(count - 1, -1))
        self.slider.blockSignals(False)
        for action in self.actions.values():
            action.setEnabled(self.stepper is not None)
        self.export_button.setEnabled(self.stepper is not None)
        data = record.data if record is not None else None
        failed_freed = (record is not None and record.status == "error"
                        and "backward through the graph a second time" in (data.error or ""))
        self.retain_button.setVisible(bool(failed_freed) and self.runner is not None)
        # J for a vector root; for a scalar one J is the gradient's row and the Hessian shows
        self.jacobian_button.setVisible(record is not None and record.status == "ok"
                                        and bool(data.leaves) and self.runner is not None)
        if record is not None:
            scalar = data.gradient is None or not data.root.shape
            self.jacobian_button.setText("Jacobian / Hessian…" if scalar else "Jacobian…")
        self._ask_local_derivatives()
        if self.stepper is None:
            self.position, self.state = -1, None
            self.overlay.clear()
            self.counter.setText("")
            if record is None:
                self.text.setHtml("")
            elif self._steps_to_ask(record):
                self.text.setHtml(f"<p><i>{html.escape(STEPS_COMING)}</i></p>")
                self._ask_steps()
            else:
                self.text.setHtml(f"<p>{html.escape(stepping.why_no_steps(record))}</p>")
            return
        # a failed call opens where it failed; a passing one at its start
        error = self.stepper.error_step()
        self.go(-1 if error is None else error)

    def continue_on(self, record, position: int):
        """The call stepped through was replaced by its design's newer run (an edit in the
        node editor): step through the new call from the same step — the numbers at that
        step are the edited design's — and say so above the step's text. A call whose
        step trace comes after its record (:meth:`steps_came`) goes there when it comes."""
        self.set_record(record)
        self.resume_at = position
        if self.stepper is None or position < 0:
            return
        self.resume_at = -1
        self.go(min(position, len(self.stepper) - 1))
        self._note = f"<p><i>{REPLACED_NOTE}</i></p>"    # (kept when a late answer redraws the step)
        self._show_step()

    @staticmethod
    def _steps_to_ask(record) -> bool:
        """Whether ``record``'s step trace is in the kernel, to be asked for (``steps_on_request``)."""
        data = record.data
        return data.steps is None and bool(getattr(data, "steps_on_request", False))

    def _ask_steps(self):
        """Ask the kernel for the shown call's step trace, once per call record, and only while
        the side panel is open (showEvent asks when it opens): a node editor's edits leave their
        traces in the kernel, and the step-through shows one of them."""
        data = self.record.data if self.record is not None else None
        if data is None or data is self._steps_for or self.isHidden() or self.runner is None \
                or not hasattr(self.runner, "request_steps"):
            return
        self._steps_for = data
        self.runner.request_steps(data.index)

    def steps_came(self, record):
        """``record``'s step trace came after it (``CallSteps``): step through it."""
        if self.resume_at >= 0 and record is self.record:
            self.continue_on(record, self.resume_at)
        else:
            self.set_record(record)

    def _ask_local_derivatives(self):
        """Ask the kernel for the call's local derivatives (sympy runs there, never in
        the window), once per call record: all of them for a graph of up to
        :data:`ASK_ALL` ops, else each node's when the step-through first shows it."""
        data = self.record.data if self.record is not None else None
        # only while the side panel is open: a request makes the kernel busy, and the other
        # panels hold their redraws while it is (showEvent asks when it opens)
        if data is None or self.stepper is None or data is self._locals_for or self.isHidden():
            return
        self.locals, self._locals_for, self._locals_error = {}, data, None
        self._asked, self._pending, self._requests = set(), set(), []
        ops = [n["vertex"] for n in self.stepper.nodes if n["name"] != "AccumulateGrad"
               and n.get("vertex") is not None]
        self._ask_each = len(ops) > ASK_ALL
        if not self._ask_each and self._can_ask():
            self._asked.update(ops)
            self._pending.update(ops)
            self._requests.append(ops)
            self.runner.request_local_derivatives(data.index)

    def _can_ask(self) -> bool:
        return self.runner is not None and hasattr(self.runner, "request_local_derivatives")

    def _ask_for_running(self):
        """In a big graph, the running node's local derivative, when first shown."""
        if not self._ask_each or self.state is None or not self._can_ask():
            return
        vertex = self.stepper.vertex(self.state.running) if self.state.running is not None else None
        if vertex is not None and vertex not in self._asked:
            self._asked.add(vertex)
            self._pending.add(vertex)
            self._requests.append([vertex])
            self.runner.request_local_derivatives(self.record.index, [vertex])

    def set_local_derivatives(self, message):
        """The kernel's LocalDerivatives for the call being shown (others are ignored)."""
        if self.record is None or message.call != self.record.index or self._locals_for is not self.record.data:
            return
        self.locals.update({d.vertex: d for d in message.derivatives})
        # the kernel answers in order: this is the oldest request's answer
        if self._requests:
            self._pending.difference_update(self._requests.pop(0))
        self._locals_error = message.error
        if self.stepper is not None and self.state is not None:
            self._show_step()

    def _watch_document(self):
        """Draw the step again after the scene rebuilt (expand, collapse) or moved items."""
        document = self.scene.document
        if self._document is document:
            return
        if self._document is not None and shiboken6.isValid(self._document):
            self._document.layoutChanged.disconnect(self._redraw)
            self._document.positionsChanged.disconnect(self._redraw)
        self._document = document
        if document is not None:
            document.layoutChanged.connect(self._redraw)
            document.positionsChanged.connect(self._redraw)

    def _redraw(self, *args):
        if self.stepper is not None and self.state is not None:
            self.overlay.show(self.stepper, self.state)

    # -- moving ----------------------------------------------------------------------------
    def go(self, step: int):
        if self.stepper is None:
            return
        step = max(-1, min(step, len(self.stepper) - 1))
        self.position = step
        self.state = self.stepper.state(step)
        self._watch_document()
        self.overlay.show(self.stepper, self.state)
        self.slider.blockSignals(True)
        self.slider.setValue(step)
        self.slider.blockSignals(False)
        self.counter.setText(f"step {step + 1} / {len(self.stepper)}" if step >= 0
                             else f"before the pass · {len(self.stepper)} steps")
        self.actions["back"].setEnabled(step > -1)
        self.actions["start"].setEnabled(step > -1)
        at_end = step >= len(self.stepper) - 1
        self.actions["step"].setEnabled(not at_end)
        self.actions["end"].setEnabled(not at_end)
        self._update_prompt()
        self._ask_for_running()
        self._note = ""
        self._show_step()

    def _show_step(self):
        """The step's text, below the note a replaced call left (until the next step)."""
        self.text.setHtml(self._note + self.describe())

    def step(self):
        self._reveal()
        if self._held():
            return
        self.verdict = None
        self.go(self.position + 1)

    def step_back(self):
        self._reveal()
        self.pause()
        self.verdict = None
        self.go(self.position - 1)

    def to_start(self):
        self._reveal()
        self.pause()
        self.go(-1)

    def to_end(self):
        self._reveal()
        self.pause()
        self.go(len(self.stepper) - 1 if self.stepper is not None else -1)

    def run_to_vertex(self, vertex) -> bool:
        """Go to where the node showing ``vertex`` starts (or is captured)."""
        if self.stepper is None:
            return False
        node = self.stepper.node_of_vertex(vertex)
        at = self.stepper.start_of(node) if node is not None else None
        if at is None:
            return False
        self.pause()
        self.go(at)
        return True

    def _on_node_clicked(self, vid):
        document = self.scene.document
        if document is None or self.stepper is None:
            return
        group = document.group_by_id.get(vid)
        self.run_to_vertex(group.last if group is not None else vid)

    def _on_slider(self, value: int):
        self.pause()
        self.go(value)

    # -- play and breakpoints -----------------------------------------------------------------
    def toggle_play(self):
        if self.timer.isActive():
            self.pause()
        else:
            self.play()

    def play(self):
        self._reveal()
        if self.stepper is None:
            return
        if self.position >= len(self.stepper) - 1:
            self.go(-1)
        self.hit = None
        self.timer.start(self.speed.currentData())
        self.actions["play"].setIcon(self._icons["pause"])
        self.actions["play"].setText("Pause")

    def pause(self):
        if self.timer.isActive():
            self.timer.stop()
        if "play" in self.actions:
            self.actions["play"].setIcon(self._icons["play"])
            self.actions["play"].setText("Play")

    def _on_speed(self):
        if self.timer.isActive():
            self.timer.setInterval(self.speed.currentData())

    def breakpoint_threshold(self) -> float | None:
        if not self.break_big.isChecked():
            return None
        try:
            value = float(stepping.parse_value(self.threshold.text()))
        except (stepping.ValueParseError, TypeError, ValueError):
            return None
        return value

    def _held(self) -> bool:
        """Whether the pass cannot move on (play stops): at its end, or waiting for the
        learner's prediction of the next node's gradient (the guess box gets the focus)."""
        if self.stepper is None or self.position >= len(self.stepper) - 1:
            self.pause()
            return True
        if self._needs_prediction():
            self.pause()
            self.guess.setFocus()
            return True
        return False

    def _tick(self):
        if self._held():
            return
        hit = self.stepper.find(self.position, nonfinite_values=self.break_nan.isChecked(),
                                threshold=self.breakpoint_threshold())
        if hit is not None and hit.step == self.position + 1:
            self.hit = hit
            self.pause()
        self.verdict = None
        self.go(self.position + 1)
        if self.hit is not None:
            self.scene.set_highlight(self.scene.document.visible_id(self.hit.vertex)
                                     if self.hit.vertex is not None and self.scene.document else None)

    # -- predict, then reveal ----------------------------------------------------------------
    def _next_event(self):
        if self.stepper is None or self.position + 1 >= len(self.stepper):
            return None
        return self.stepper.events[self.position + 1]

    def _needs_prediction(self) -> bool:
        event = self._next_event()
        return (self.predict.isChecked() and event is not None and event["kind"] == "node_start"
                and event.get("grad") is not None)

    def _on_predict_toggled(self, on: bool):
        self._update_prompt()

    def _update_prompt(self):
        asking = self._needs_prediction()
        self.guess_row.setVisible(asking)
        self.prompt.setVisible(asking)
        if asking:
            event = self._next_event()
            self.prompt.setText(f"Predict: which gradient does <b>{html.escape(self.stepper.name(event['node']))}"
                                f"</b> receive? (shape {stepping.shape_text(event['grad']['shape'])})")

    def reveal(self):
        """Check the typed prediction against the next node's incoming gradient, then step."""
        event = self._next_event()
        if event is None or event["kind"] != "node_start":
            return
        self.verdict = stepping.check_prediction(self.guess.text(), event.get("grad"))
        if self.verdict.message.startswith("Could not read"):
            self.text.setHtml(self._verdict_html() + self.describe())
            return
        self.guess.clear()
        verdict = self.verdict
        self.go(self.position + 1)
        self.verdict = verdict
        self.text.setHtml(self.describe())

    def _verdict_html(self) -> str:
        if self.verdict is None:
            return ""
        colors = theme.colors(self.palette())
        mark, color = ("✓", colors["ok"]) if self.verdict.ok else ("✗", colors["bad"])
        return (f"<p style='color:{color}'><b>{mark} Your prediction:</b> "
                f"{html.escape(self.verdict.message)}</p>")

    # -- retain_graph ------------------------------------------------------------------------
    def rerun_with_retain_graph(self) -> bool:
        """Run the cells from the graph's to the failed call's again with retain_graph."""
        if self.record is None or self.runner is None or self.model is None:
            return False
        earlier = [r.data for r in self.model.calls.call_list() if r.index < self.record.index]
        span = stepping.rerun_cells(earlier, self.record.data)
        if span is None:
            self.text.setHtml("<p>The cell of this call is not known, so it cannot be re-run. "
                              "Add <code>retain_graph=True</code> to the earlier backward() call "
                              "and run both cells again.</p>")
            return False
        first, last = span
        cells = []
        for cell in self.model.script.cells():
            if cell.index is not None and first <= cell.index <= last:
                source, _ = stepping.with_retain_graph(cell.source)
                cells.append(type(cell)(cell.index, source, cell.first_line, cell.title, cell.kind))
        if not cells:
            return False
        self.runner.run_cells(cells)
        self.rerunRequested.emit(first, last)
        return True

    # -- Jacobian / export ---------------------------------------------------------------------
    def open_jacobian(self):
        from .jacobian_view import JacobianDialog
        if self.record is None or self.runner is None:
            return None
        dialog = JacobianDialog(self.record, self.runner, self)
        dialog.setModal(False)
        dialog.show()
        return dialog

    def export(self, directory: str | None = None):
        from .. import dialogs
        from ..graph.step_export import export_steps
        if self.stepper is None:
            return None
        if directory is None:
            directory = dialogs.ask_directory(self, "Export the step-through to a folder")
            if not directory:
                return None
        here = self.position
        try:
            return export_steps(self, directory)
        finally:
            self.go(here)

    # -- the text ----------------------------------------------------------------------------
    def describe(self) -> str:
        """The side panel's HTML for the current step."""
        s, state = self.stepper, self.state
        if s is None or state is None:
            return ""
        colors = theme.colors(self.palette())
        esc = html.escape
        parts = [self._verdict_html()]
        if self.hit is not None and self.hit.step == state.step:
            parts.append(f"<p style='color:{colors['bad']}'><b>Breakpoint:</b> {esc(self.hit.reason)}"
                         + (f" — the forward op is highlighted" if self.hit.vertex is not None else "")
                         + "</p>")
        parts.append(f"<p>{esc(s.explain(state))}</p>")
        if state.error is not None:
            hint = (self.record.data.hint if self.record is not None else None) or ""
            parts.append(f"<p style='color:{colors['error']}'><b>{esc(state.error.get('error_type') or 'Error')}"
                         f"</b> at <b>{esc(s.name(state.error['node']))}</b>: "
                         f"{esc(state.error.get('message') or '')}</p>")
            if hint:
                parts.append(f"<p style='color:{colors['hint']}'>{esc(hint)}</p>")
            parts.append(f"<p>{esc(s.saved_note(state.error['node']))}</p>")
        vjp = s.vjp(state)
        if vjp is not None:
            parts.append(self._vjp_html(vjp))
        parts.append(self._queue_html(state))
        fan = [(n, terms, total) for n, (terms, total) in state.buffers.items() if len(terms) > 1]
        for node, terms, total in fan:
            parts.append(f"<p><b>Fan-out at {esc(s.name(node))}</b>: "
                         + " + ".join(esc(stepping.value_text(t)) for t in terms)
                         + (f" = {esc(stepping.value_text(total))}</p>" if total is not None
                            else " — the input buffer adds them at the next step</p>"))
        for node, event in state.leaves.items():
            before = event.get("previous")
            parts.append(f"<p><b>{esc(self._leaf_name(node))}.grad</b>: before "
                         f"{esc(stepping.value_text(before)) if before is not None else 'None'} + this call "
                         f"{esc(stepping.value_text(event.get('grad')))} = after "
                         f"{esc(stepping.value_text(event.get('total')))}</p>")
            parts.append(self._formula_html(node))
        held, freed = s.held(state), s.freed(state)
        if held or freed:
            parts.append("<p><b>Saved tensors</b> — held by: " + (_counted(s, held) or "none")
                         + "; freed: " + (_counted(s, freed) or "none") + "</p>")
        elif s.nodes:
            parts.append(f"<p style='color:{colors['muted']}'>No node of this graph saves tensors: a "
                         f"second backward() through it does not need retain_graph.</p>")
        return "".join(parts)

    def _formula_html(self, node: int) -> str:
        """The leaf's gradient as the symbolic side derived it (Compare's chain form and
        simplified form), when the call's check has arrived."""
        vertex = self.stepper.vertex(node)
        check = self.record.leaf_check(vertex) if self.record is not None and vertex is not None else None
        if not check or not (check.formula or check.simplified):
            return ""
        esc = html.escape
        chain, simple = check.formula, check.simplified
        text = f"<p><b>Symbolic</b>: ∂/∂{esc(self._leaf_name(node))} = <code>{esc(str(chain or simple))}</code>"
        if simple and chain and str(simple) != str(chain):
            text += f" = <code>{esc(str(simple))}</code>"
        return text + "</p>"

    def _leaf_name(self, node: int) -> str:
        vertex = self.stepper.vertex(node)
        if self.record is not None and vertex is not None:
            data = self.record.node(vertex)
            if data is not None and data.name:
                return data.name
        return "leaf"

    def _vjp_html(self, vjp: dict) -> str:
        s, esc = self.stepper, html.escape
        vertex = s.vertex(vjp["node"])
        node = self.record.node(vertex) if self.record is not None and vertex is not None else None
        if vjp["name"] == "AccumulateGrad":
            return (f"<p><b>AccumulateGrad</b> of {esc(self._leaf_name(vjp['node']))} — receives "
                    f"<code>{esc(stepping.value_text(vjp['incoming']))}</code></p>")
        title = esc(vjp["name"])
        if node is not None and node.op_label and node.kind == "op":
            title += f" <span>(forward: {esc(node.op_label)})</span>"
        local = self.locals.get(vertex) if vertex is not None else None
        rows = [f"<p><b>{title}</b> — vector-Jacobian product</p>"]
        if node is not None and node.doc:
            rows.append(f"<p><small>{esc(node.doc)}</small></p>")
        rows.append(self._local_intro(local, vertex))
        rows.append("<table cellspacing='2'>")
        rows.append(f"<tr><td>incoming g = ∂L/∂out</td><td><code>{esc(stepping.value_text(vjp['incoming']))}"
                    f"</code></td></tr>")
        # the local derivative is known before the node sends anything; the engine's
        # number for an input appears once its edge has been sent
        items = {i.slot: i for i in local.inputs} if local is not None else {}
        edges = {e["slot"]: e for e in vjp["outgoing"]}
        for slot in sorted(set(items) | set(edges)):
            edge, item = edges.get(slot), items.get(slot)
            target = f", to {esc(s.name(edge['next_node']))}" if edge is not None else ""
            head = f"→ input {slot}"
            if item is None:
                formula = "(∂out/∂input)ᵀ · g, summed to the input's shape"
                rows.append(f"<tr><td>{head}{target}<br><small>{formula}</small></td><td><code>"
                            f"{esc(stepping.value_text(edge.get('grad')))}</code></td></tr>")
                continue
            rows.append(self._local_rows(head, target, item, edge))
        rows.append("</table>")
        return "".join(rows)

    def _local_intro(self, local, vertex) -> str:
        """What the symbols of the local derivative stand for, or why there is none."""
        esc = html.escape
        colors = theme.colors(self.palette())
        if local is None:
            if self.runner is None or vertex is None:
                return ""
            if self._locals_error:
                return f"<p style='color:{colors['muted']}'>Local derivative: {esc(self._locals_error)}</p>"
            if self._locals_for is not None and vertex in self._pending:
                return f"<p style='color:{colors['muted']}'>Deriving the local derivative in the kernel…</p>"
            return ""
        if local.form == "none":
            return (f"<p style='color:{colors['muted']}'>No symbolic local derivative: "
                    f"{esc(local.note or 'this op has no symbolic form')}.</p>")
        how = {"elementwise": "from the op's elementwise forward, by sympy",
               "matrix": "in matrix form, from the op's matrix forward",
               "per_element": "per element, from the op's symbolic forward"}.get(local.form, local.form)
        where = ", ".join(f"<b>{esc(symbol)}</b> = {esc(meaning)}" for symbol, meaning in local.symbols)
        return f"<p>Local derivative ({esc(how)}), where {where}:</p>"

    def _local_rows(self, head: str, target: str, item, edge) -> str:
        """One input's local derivative, the product with g, and the numbers against the engine's."""
        esc = html.escape
        colors = theme.colors(self.palette())
        symbol = esc(item.symbol)
        text = [f"<tr><td colspan='2'>{head} = <b>{symbol}</b>{target}</td></tr>"]
        if item.derivative:
            line = f"∂out/∂{symbol} = <code>{esc(item.derivative)}</code>"
            value = item.derivative_value
            if value is not None and value.size > 1 and not _constant(value):
                line += f"<br><small>= <code>{esc(_array_text(value))}</code></small>"
            text.append(f"<tr><td colspan='2'>&nbsp;&nbsp;{line}</td></tr>")
        product = f"(∂out/∂{symbol})ᵀ g = <code>{esc(item.vjp)}</code>"
        sent = edge.get("grad") if edge is not None else None
        numbers = (_array_text(item.value) if item.value is not None
                   else stepping.value_text(sent) if sent is not None else "(too large to show)")
        if edge is None:
            mark = f"<span style='color:{colors['muted']}'>(not sent yet)</span>"
        elif item.agree is True:
            mark = f"<span style='color:{colors['ok']}'>✓ the engine sent the same</span>"
        elif item.agree is False:
            mark = (f"<span style='color:{colors['bad']}'>✗ the engine sent "
                    f"{esc(stepping.value_text(sent))}</span>")
        else:
            mark = ""
        text.append(f"<tr><td>&nbsp;&nbsp;{product}</td><td><code>{esc(numbers)}</code> {mark}</td></tr>")
        return "".join(text)

    def _queue_html(self, state) -> str:
        s, esc = self.stepper, html.escape
        ready = ", ".join(esc(s.name(n)) for n in state.ready) or "empty"
        waiting = [(n, left) for n, left in state.remaining.items()
                   if left and n not in state.started and n in state.buffers]
        text = f"<p><b>Ready queue</b> (runs in this order): {ready}</p>"
        if waiting:
            text += ("<p><b>Waiting</b> (edges still to come): "
                     + ", ".join(f"{esc(s.name(n))} {left}" for n, left in waiting) + "</p>")
        return text


def _constant(value) -> bool:
    """All elements equal (a local derivative like b = 3 needs no array of 3s)."""
    flat = np.asarray(value).reshape(-1)
    return flat.size == 0 or bool(np.all(flat == flat[0]))


def _array_text(value) -> str:
    return np.array2string(np.asarray(value), precision=4, separator=", ", threshold=24, edgeitems=3)


def _counted(stepper, nodes: list) -> str:
    """"MulBackward0 ×7, ExpBackward0": node names with how many of each."""
    counts: dict = {}
    for node in nodes:
        name = stepper.name(node)
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(html.escape(name) + (f" ×{n}" if n > 1 else "") for name, n in counts.items())
