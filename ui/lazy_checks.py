"""Checking a loop's backward calls when the user looks at them.

After a cell with many backward calls of one graph structure (a training loop)
the kernel checks only the last of them; the others arrive with
``check_deferred`` set (:mod:`gradstudio.studio.derive_plan`). :class:`LazyChecks`
asks the kernel for the whole check (derivation, finite differences, torch) and
the step trace of such a call when the user looks at it: the selection moves to
it (Compare, Plots' call picker, a node clicked) or the Graph panel's Calls list
shows it (:meth:`LazyChecks.want`).

Coalesced, not queued: one check request is in flight at a time, and while it
runs only the newest wanted call waits; clicking through twenty calls checks
the one in flight and the last one, not all twenty.
"""
from __future__ import annotations

from PySide6.QtCore import QObject


class LazyChecks(QObject):
    """See the module docstring. ``requested`` lists the calls asked for, in order (tests count them)."""

    def __init__(self, model, runner, parent=None):
        super().__init__(parent or runner)
        self.model = model
        self.runner = runner
        self.in_flight: int | None = None      # the call whose check request was sent
        self.wanted: int | None = None         # the newest call waiting to be asked for
        self.requested: list = []
        model.selection.selectionChanged.connect(self._on_selection_changed)
        model.calls.callsCleared.connect(self._on_calls_cleared)
        model.calls.callRemoved.connect(self._on_call_removed)
        runner.client.requestDone.connect(self._on_request_done)
        runner.client.busyChanged.connect(self._on_busy_changed)

    def want(self, index: int):
        """Check call ``index`` if its check was deferred (and it is not checked or asked for yet)."""
        if not self._needs_check(index):
            return
        self.wanted = index
        self.model.calls.set_deriving(index)      # Compare says so now; is_idle waits for it
        self._send()

    def _needs_check(self, index) -> bool:
        record = self.model.calls.call(index) if index is not None else None
        return (record is not None and record.check is None and record.data.check_deferred
                and not record.deriving)

    def _send(self):
        if self.in_flight is not None or self.wanted is None:
            return
        self.in_flight, self.wanted = self.wanted, None
        self.requested.append(self.in_flight)
        self.runner.recheck(self.in_flight, steps=True)    # its step trace too: its record came without

    def _on_selection_changed(self, selection):
        superseded = self.wanted
        if superseded is not None and superseded != selection.call:
            self.wanted = None                   # never sent: back to "checked when selected"
            self.model.calls.clear_deriving(superseded)
        if selection.call is not None:
            self.want(selection.call)

    def _on_request_done(self, done):
        if getattr(done, "request", None) == "check":
            self._finished()

    def _on_busy_changed(self, busy: bool):
        if not busy:          # an interrupt drops queued requests: none of them will answer
            self._finished()

    def _finished(self):
        if self.in_flight is None:
            return
        index, self.in_flight = self.in_flight, None
        self.model.calls.clear_deriving(index)    # no-op when its CallChecked came
        self._send()

    def _on_call_removed(self, index: int, replacement=None):
        if self.wanted == index:
            self.wanted = None                   # never sent, and no longer there to check

    def _on_calls_cleared(self):
        self.in_flight = self.wanted = None       # the kernel was replaced: its answers will not come
