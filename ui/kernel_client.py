"""The app's side of the kernel process, on the Qt event loop.

:class:`KernelClient` starts a :class:`gradstudio.studio.kernel.worker.KernelProcess`,
watches its pipe with a ``QSocketNotifier`` (reads only when data is there,
so the GUI thread never blocks), turns every message into a signal, keeps a
queue of requests (one in flight at a time), and handles the kernel's life:

* **interrupt** — SIGINT; the queue is dropped; if the kernel has not finished
  the request within ``interrupt_grace_ms`` (stuck in C code), it is killed
  and a new one started, and :attr:`restarted` says so;
* **restart** — kill the process group (the kernel and its symbolic worker)
  and start a fresh kernel;
* **death** — a closed pipe means the kernel ended (a crash, ``os._exit``, the
  memory limit): :attr:`died` says how, and a new kernel is started.

Requests are the plain dicts documented in :mod:`gradstudio.studio.kernel.worker`;
messages are the typed records of :mod:`gradstudio.studio.kernel.schema`, decoded
from wire frames (nothing is unpickled here). A message that does not decode —
the user's code wrote on the pipe, or a bug — is reported by :attr:`badMessage`
and skipped; the next one is read as usual.
"""
from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.records import join_graph
from gradstudio.studio.kernel.schema import RecordError
from gradstudio.studio.kernel.worker import KernelDied, KernelProcess

STARTING, IDLE, BUSY, INTERRUPTING, STOPPED = "starting", "idle", "busy", "interrupting", "stopped"


class KernelClient(QObject):
    """See the module docstring."""

    message = Signal(object)          # every message (a schema.Message), before the specific signal
    ready = Signal(object)            # schema.Ready
    cellStarted = Signal(object)      # schema.CellStarted
    cellFinished = Signal(object)     # schema.CellFinished, big graphs joined again
    deriving = Signal(object)         # schema.Deriving
    callChecked = Signal(object)      # the schema.CheckData of a CallChecked message
    tensorsReceived = Signal(object)  # [schema.TensorData]
    sweepReceived = Signal(object)    # schema.SweepData
    requestDone = Signal(object)      # schema.Done
    kernelError = Signal(str)       # a bug in the kernel's own code (traceback text)
    badMessage = Signal(str)        # something on the pipe that is not a valid message: why
    died = Signal(str)              # the kernel ended unexpectedly: how
    restarted = Signal(str)         # a new kernel replaced the old one: why
    stateChanged = Signal(str)      # starting | idle | busy | interrupting | stopped
    busyChanged = Signal(bool)

    def __init__(self, parent=None, *, filename: str = "<script>",
                 interrupt_grace_ms: int = 2000, startup_timeout_ms: int = 60000):
        super().__init__(parent)
        self.filename = filename
        self.interrupt_grace_ms = interrupt_grace_ms
        self._process: KernelProcess | None = None
        self._notifier: QSocketNotifier | None = None
        self._queue: deque = deque()
        self._in_flight: int | None = None
        self._in_flight_request: dict | None = None
        self._chunks: dict = {}          # call index -> graph node chunks received so far
        self._state = STOPPED
        self._busy = False
        self._grace = QTimer(self, singleShot=True, timeout=self._on_interrupt_ignored)
        self._startup = QTimer(self, singleShot=True, interval=startup_timeout_ms,
                               timeout=self._on_startup_timeout)
        self._watchdog = QTimer(self, interval=1000, timeout=self._check_alive)

    # -- properties ------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        """True while a request is in flight or queued (or the kernel is starting with work queued)."""
        return self._busy

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def symbolic_pid(self) -> int | None:
        return self._process.symbolic_pid if self._process is not None else None

    @property
    def current_request(self) -> dict | None:
        return self._in_flight_request

    def pids(self) -> list:
        """The kernel's and its symbolic worker's process ids (for tests and diagnostics)."""
        return [p for p in (self.pid, self.symbolic_pid) if p is not None]

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        if self._process is not None:
            return
        self._process = KernelProcess(self.filename).start()
        self._notifier = QSocketNotifier(self._process.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_readable)
        self._startup.start()
        self._watchdog.start()
        self._set_state(STARTING)

    def shutdown(self):
        """Stop the kernel for good (the window is closing); reaps every process."""
        self._startup.stop()
        self._watchdog.stop()
        self._discard_kernel()
        self._set_state(STOPPED)
        self._update_busy()

    def restart(self, reason: str = "The kernel was restarted; variables were cleared."):
        """Kill the kernel (and its symbolic worker) and start a new one."""
        self._discard_kernel()
        self.start()
        self._update_busy()
        self.restarted.emit(reason)

    def _discard_kernel(self):
        """Kill the kernel process (it holds nothing worth flushing: this is instant) and
        forget everything about it: queued and in-flight requests, partial messages,
        the interrupt grace timer, the socket notifier."""
        self._queue.clear()
        self._grace.stop()
        self._drop_notifier()
        process, self._process = self._process, None
        if process is not None:
            process.kill()
        self._in_flight = self._in_flight_request = None
        self._chunks.clear()

    def _drop_notifier(self):
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.activated.disconnect(self._on_readable)
            self._notifier.deleteLater()
            self._notifier = None

    # -- requests ----------------------------------------------------------------------------
    def submit(self, request: dict):
        """Queue a request; it is sent when the kernel is ready and idle."""
        self._queue.append(dict(request))
        if self._process is None:
            self.start()
        self._send_next()
        self._update_busy()

    def run_cells(self, cells: list, **options):
        """Run ``cells`` ([{"index", "source", "first_line"}]) as one request."""
        self.submit({"type": "run", "cells": list(cells), **options})

    def interrupt(self) -> bool:
        """Interrupt the running request and drop queued ones. Returns whether
        there was anything to interrupt."""
        had_queue = bool(self._queue)
        self._queue.clear()
        if self._in_flight is None or self._process is None:
            self._update_busy()
            return had_queue
        self._process.interrupt()
        self._set_state(INTERRUPTING)
        self._grace.start(self.interrupt_grace_ms)
        return True

    def _send_next(self):
        if self._state != IDLE or self._in_flight is not None or not self._queue:
            return
        request = self._queue.popleft()
        try:
            self._in_flight = self._process.send(request)
        except KernelDied as error:
            self._on_died(str(error))
            return
        self._in_flight_request = request
        self._set_state(BUSY)

    # -- incoming ------------------------------------------------------------------------------
    def _on_readable(self, *args):
        """Read what has arrived — never waiting for the rest of a message — and dispatch it."""
        process = self._process
        if process is None:
            return
        try:
            items = process.take()
        except KernelDied as error:
            self._on_died(str(error))
            return
        for item in items:
            if process is not self._process:     # a message restarted the kernel: the rest is stale
                return
            if isinstance(item, RecordError):
                self.badMessage.emit(str(item))
            else:
                self._dispatch(item)

    def _dispatch(self, message: schema.Message):
        self.message.emit(message)
        if isinstance(message, schema.Ready):
            self._startup.stop()
            self._set_state(IDLE)
            self.ready.emit(message)
            self._send_next()
            self._update_busy()
        elif isinstance(message, schema.CellStarted):
            self.cellStarted.emit(message)
        elif isinstance(message, schema.GraphChunk):
            self._chunks.setdefault(message.call, []).append(message.nodes)
        elif isinstance(message, schema.CellFinished):
            self.cellFinished.emit(message.replace(calls=[self._joined(c) for c in message.calls]))
        elif isinstance(message, schema.Deriving):
            self.deriving.emit(message)
        elif isinstance(message, schema.CallChecked):
            self.callChecked.emit(message.check)
        elif isinstance(message, schema.Tensors):
            self.tensorsReceived.emit(message.tensors)
        elif isinstance(message, schema.SweepResult):
            self.sweepReceived.emit(message.sweep)
        elif isinstance(message, schema.KernelError):
            self.kernelError.emit(message.message)
        elif isinstance(message, schema.Done):
            if message.id == self._in_flight:
                self._grace.stop()
                self._in_flight = self._in_flight_request = None
                self._set_state(IDLE)
                self.requestDone.emit(message)
                self._send_next()
                self._update_busy()

    def _joined(self, call: schema.CallData) -> schema.CallData:
        """``call`` with its graph's chunks put back; without its graph (and saying
        why) when pieces are missing."""
        try:
            return join_graph(call, self._chunks.pop(call.index, []))
        except RecordError as error:
            self.badMessage.emit(str(error))
            return call.replace(graph=None, graph_error=str(error))

    # -- failures ------------------------------------------------------------------------------
    def _on_interrupt_ignored(self):
        if self._in_flight is None:
            return
        seconds = self.interrupt_grace_ms / 1000
        self.restart(f"The kernel did not respond to Interrupt within {seconds:g} s (busy in "
                     "compiled code?), so it was stopped and a new one started; variables were "
                     "cleared.")

    def _on_died(self, description: str):
        self._discard_kernel()
        self.died.emit(f"The kernel stopped unexpectedly ({description}).")
        self.start()
        self._update_busy()
        self.restarted.emit("A new kernel was started; variables were cleared.")

    def _on_startup_timeout(self):
        if self._state == STARTING and self._process is not None:
            self._on_died("it did not start in time")

    def _check_alive(self):
        if self._process is not None and not self._process.alive and self._notifier is not None:
            # the notifier reports the closed pipe; this catches a kernel that died silently
            self._on_readable()

    # -- state -----------------------------------------------------------------------------------
    def _set_state(self, state: str):
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    def _update_busy(self):
        busy = self._in_flight is not None or bool(self._queue)
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
