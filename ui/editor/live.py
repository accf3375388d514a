"""Live evaluation: after each edit (debounced) the design is written as a script
and run in the kernel through the runner's one entry point, ``run_design``.

The run comes back like a script's backward call, so Compare, Plots and the
Inspector follow it (the call is selected); here its values and gradients go
onto the nodes (coloured by gradient magnitude, hover text). Errors stay on the
node that caused them: shape errors the design already holds, a NaN or an
infinity found from the forward values before sending (:func:`.results.diagnose`),
and an error the kernel reports at a line of the script, with the console's
hint. Edits made while a run is out are coalesced into one more run; a run that
an edit has made stale is not shown.

A run's call comes with its provisional check (engine against finite differences,
``Runner.run_design`` asks for ``numbers_first``): the nodes and Compare's first
columns are filled at once, the closed form and PyTorch's column follow in the
call's whole check. An edit supersedes the design's earlier calls
(``CallsModel.supersede``): what still comes for them is dropped, so Compare never
shows an older design's late derivation beside the newest numbers.

A design's live run is a view of the design, not a record to keep: each run is sent
with this evaluator's ``key`` (``Runner.run_design``), and its call replaces the
design's previous one in the calls model (``CallsModel.add_many(design=…)``), so
Compare, the Graph panel's call list, Plots and the Inspector show one current call
per open design, updated in place, whatever the number of edits; the replaced call
and its arrays are released. A script's calls (and a call opened as nodes from one)
are its cells' record and stay. Closing the design (:meth:`LiveEvaluator.close`)
removes its call.

An edit also cancels stale work: when it comes while the kernel is still
deriving the closed forms of the design's previous run (after that run's cell
finished, before its ``CallChecked`` and the request's end), the kernel is
interrupted — the same cancellation Compare's derivations have (the symbolic
worker is dropped, the call comes back marked cancelled) — and the newest design
is sent as soon as the kernel is idle again. Work that is not the design's own
(a script cell running or queued) is never interrupted.
"""
from __future__ import annotations

import itertools

from PySide6.QtCore import QObject, QTimer, Signal

from gradstudio.studio.design import DesignError
from gradstudio.studio.hints import hint_for

from . import results as results_module
from .scene import NodeResult

DELAY_MS = 250
_keys = itertools.count(1)       # one key per evaluator: which design a live call is of


class LiveEvaluator(QObject):
    """``statusChanged(str)``: what the design's last evaluation says (empty: fine)."""

    statusChanged = Signal(str)
    evaluated = Signal()            # a run's results are on the nodes

    def __init__(self, document, scene, runner=None, model=None, parent=None, *, delay_ms: int = DELAY_MS):
        super().__init__(parent)
        self.document, self.scene, self.runner, self.model = document, scene, runner, model
        self.key = f"design-{next(_keys)}"
        self.enabled = True
        self.status = ""
        self.generation = 0           # counts evaluations; a run answers for the one that sent it
        self._in_flight = None        # (generation, script) of the run out in the kernel
        self._again = False           # an edit came while a run was out
        self._finished_run = None
        self._deriving: set = set()   # our last run's calls whose closed forms the kernel still derives
        self._stale_calls: set = set()  # calls of our runs an edit made stale, superseded as they arrive
        self._sent_script = None      # the script of the run most recently sent
        self.cancelled = 0            # stale derivations this evaluator interrupted
        self.call_index = None        # the design's latest backward call in the model
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self.evaluate_now)
        document.edited.connect(self.schedule)
        # a kernel ran; when it stops after that, the window is closing
        self._kernel_seen = model is not None and model.kernel.kernel_state != "stopped"
        if model is not None:
            model.kernel.kernelStateChanged.connect(self._on_kernel_state)
            model.console.cellRunFinished.connect(self._on_run_finished)
            model.calls.callAdded.connect(self._on_call_added)
            model.calls.callChecked.connect(self._on_call_checked)

    def _on_kernel_state(self, state: str):
        if state in ("idle", "starting", "stopped") and self._deriving:
            self._deriving.clear()     # the request ended (or the kernel went): nothing is derived for us
            self._resume()
        if state != "stopped":
            self._kernel_seen = True
        elif self._kernel_seen:
            # the window shut its kernel down: a run sent now would start a new one
            self.enabled = False
            self.timer.stop()
            self._in_flight = None

    def busy(self) -> bool:
        return self.timer.isActive() or self._in_flight is not None or bool(self._deriving)

    def schedule(self):
        if self.enabled:
            self.timer.start()

    def evaluate_now(self):
        self.timer.stop()
        self.generation += 1
        self._supersede(self._deriving)
        design = self.document.design
        try:
            script, local = results_module.live_script(design)   # values as bytes: cheap to parse
        except DesignError as error:
            self._set_status(str(error))
            self.scene.show_results({})
            return
        self.scene.show_results({n: NodeResult(error=m) for n, m in local.items()})
        self._set_status(next(iter(local.values()), ""))
        if self.runner is None or not self.enabled:
            return
        if self._in_flight is not None:
            self._again = True
            return
        if self._deriving:
            self._again = True
            self._cancel_stale_derivation()
            return
        self._send(script)

    def _send(self, script: str):
        self._in_flight = (self.generation, script, results_module.line_nodes(script, self.document.design))
        self._sent_script = script
        self.runner.run_design(script, self.key)

    def close(self):
        """The design's tab closed: nothing more is sent, and its live call goes."""
        self.enabled = False
        self.timer.stop()
        if self.model is not None:
            self.model.calls.forget_design(self.key)

    def _cancel_stale_derivation(self):
        """Interrupt the kernel if what it is doing is the derivation of our previous run."""
        client = getattr(self.runner, "client", None)
        request = getattr(client, "current_request", None)
        ours = isinstance(request, dict) and request.get("type") == "run" and any(
            cell.get("index") is None and cell.get("source") == self._sent_script
            for cell in request.get("cells") or ())
        # interrupting drops the client's queue: never when something else waits in it
        # (a client that cannot say is never interrupted)
        if ours and getattr(client, "queued", None) == 0 and self.runner.interrupt():
            self.cancelled += 1
            self._set_status("An edit cancelled the previous design's derivation; deriving the new one…")

    def _supersede(self, indices):
        """The design changed: the calls of its earlier runs take no more checks."""
        if self.model is not None:
            for index in indices:
                self.model.calls.supersede(index)

    def _on_call_checked(self, index: int):
        record = self.model.calls.call(index)
        if record is not None and record.check is not None and record.check.provisional:
            return                      # the whole check is still to come
        if index in self._deriving:
            self._deriving.discard(index)
            if not self._deriving:
                self._resume()

    def _resume(self):
        """Our run's work is over: send the edit that waited, if any."""
        if self._again and self._in_flight is None:
            self._again = False
            QTimer.singleShot(0, self.evaluate_now)

    # -- the kernel's answer -------------------------------------------------------------------
    def _on_run_finished(self, run):
        if self._in_flight is None or self.model.console.last_design != self.key:
            return
        generation, script, lines = self._in_flight
        self._in_flight = None
        # the kernel now derives the run's calls (one CallChecked each) before it is idle again
        self._deriving = set(results_module.field(run, "backward_calls") or ())
        stale = generation != self.generation
        if stale:       # (its calls are added after this: superseded then)
            self._stale_calls.update(results_module.field(run, "backward_calls") or ())
        if not stale:
            if results_module.field(run, "error"):
                self._show_run_error(run, lines)
            self._finished_run = generation
        if stale:
            self._again = True
        if self._again and self._deriving:
            self._cancel_stale_derivation()      # its derivation is of no use any more
        elif self._again:
            self._again = False
            QTimer.singleShot(0, self.evaluate_now)

    def _show_run_error(self, run, lines: dict):
        error = results_module.field(run, "error") or ""
        error_type = results_module.field(run, "error_type")
        hint = results_module.field(run, "hint") or hint_for(error, error_type)
        text = f"{error_type + ': ' if error_type else ''}{error}" + (f" — {hint}" if hint else "")
        node = lines.get(results_module.field(run, "error_line"))
        if node is None:
            node = self.document.design.root
        current = dict(self.scene.results)
        current[node] = NodeResult(error=text)
        self.scene.show_results(current)
        self._set_status(text)

    def _on_call_added(self, index: int):
        record = self.model.calls.call(index)
        if record is None or record.design != self.key:
            return
        if index in self._stale_calls:  # an older design's call: shown in Compare as it came, no later
            self._stale_calls.discard(index)
            self._supersede([index])
            return
        if self._finished_run != self.generation:
            return                      # not the design's newest call
        design = self.document.design
        data = record.data
        found = results_module.node_results(design, data)
        shown = {n: NodeResult(value=r["value"], grad=r["grad"], grad_norm=r["grad_norm"])
                 for n, r in found.items()}
        for node_id, result in self.scene.results.items():
            if result.error:
                shown.setdefault(node_id, NodeResult()).error = result.error
        if results_module.field(data, "status") == "error":
            error = results_module.field(data, "error") or ""
            hint = results_module.field(data, "hint") or hint_for(error, results_module.field(data, "error_type"))
            message = error + (f" — {hint}" if hint else "")
            shown.setdefault(design.root, NodeResult()).error = message
            self._set_status(message)
        else:
            self._set_status("")
        self.scene.show_results(shown)
        self.call_index = index
        leaves = results_module.field(data, "leaves") or []
        vertex = results_module.field(leaves[0], "vertex") if leaves else None
        self.model.selection.select(call=index, node=vertex)
        self.evaluated.emit()

    def _set_status(self, text: str):
        if text != self.status:
            self.status = text
            self.statusChanged.emit(text)
