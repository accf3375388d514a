"""The window's side of GradStudio's IPython kernel, on the Qt event loop.

:class:`JupyterClient` is the window's kernel client (``start``,
``run_cells``, ``submit``, ``interrupt``, ``restart``, ``shutdown``, ``state``,
``busy``, ``pids``, ``ready``/``cellStarted``/``cellFinished``/… ``died``), on a
:class:`gradstudio.studio.kernel.jupyter.JupyterKernel` (ipykernel + the
GradStudio extension, started by jupyter_client, IPC sockets, signed JSON):

* the shell and IOPub sockets are watched with ``QSocketNotifier``\\ s on zmq's
  descriptors. zmq's descriptor is edge-triggered, so after every notification
  and after every send the sockets are drained while they hold a message, and
  a slow safety timer drains them too; the GUI thread never waits, and a
  message is read whole or not at all. Reading is done in turns of at most
  :data:`TURN_BUDGET_S` of the GUI thread's time (one message at a time, the
  two channels taking turns): past it, the rest waits for a timer, so the
  event loop repaints and runs its other timers between two turns — a
  2,000-node graph arriving in a burst of messages never stalls the window.
  A turn never starts inside another one (a slot that sends a request while a
  message is dispatched) nor while the next turn is already scheduled;
* each of the editor's cells is one ``execute_request`` (its cell index and
  first line in the request's metadata, see :mod:`gradstudio.studio.kernel.bridge`);
  the console's outputs are IOPub's streams, ``execute_result`` (``Out[n]``),
  ``display_data`` (a PNG figure) and IPython's traceback with GradStudio's
  hint; the backward calls, checks, sweeps and tensors arrive on the
  ``gradstudio.records`` comm as the typed messages of
  :mod:`gradstudio.studio.kernel.schema`, decoded by :mod:`gradstudio.studio.kernel.codec`
  (requests go the other way as plain dicts), and are dispatched to one signal
  per kind of record. A loop's calls come as one graph structure and their values
  (:mod:`gradstudio.studio.kernel.shared`): ``cellFinished`` carries them as
  :class:`~gradstudio.studio.kernel.shared.SharedCall` views, read like ``CallData``,
  whose graph records are built when a panel first asks for them. The client keeps the
  last cell's structures (each cell's metadata says ``reuse``): a re-run cell — a node
  editor's value edit — comes as values only, and a named tensor whose value a vertex
  of the cell's calls holds comes without it (filled in here, before ``cellFinished``).
  The console's outputs are :class:`~gradstudio.studio.kernel.schema.OutputData`
  records too (an ``Out[n]`` carries its ``execution_count``, a figure its ``png``).
  A message that is not valid (a bad signature, a comm payload that does not
  decode) is reported with :attr:`badMessage` and dropped — the window carries on;
* a request (a list of cells, a check, a sweep) is in flight at a time, the rest
  queued; cells after a failed one are not run, except past a failed
  ``backward()`` when asked (the tutorial shows those on purpose);
* interrupt is SIGINT; if the kernel has not finished within
  ``interrupt_grace_ms`` it is replaced; a kernel that dies (kill -9, the
  memory limit) is seen by the watchdog and replaced, with :attr:`died`.
"""
from __future__ import annotations

import base64
import re
import time
import uuid
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from gradstudio.studio.kernel import codec, schema, shared
from gradstudio.studio.kernel.bridge import COMM_TARGET, DATA_KEY
from gradstudio.studio.kernel.jupyter import JupyterKernel, ProtocolError
from gradstudio.studio.kernel.records import join_graph
from gradstudio.studio.kernel.schema import OutputData, RecordError

STARTING, IDLE, BUSY, INTERRUPTING, STOPPED = "starting", "idle", "busy", "interrupting", "stopped"
SAFETY_MS = 200                   # drain now and then even without a notification
TURN_BUDGET_S = 0.010             # GUI-thread seconds one turn of reading may take before it yields
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """``text`` without terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


def output_of(message: dict) -> OutputData | None:
    """The console's :class:`OutputData` for one IOPub message of a cell, or None if
    it shows nothing: a stream, ``Out[n]`` (``stream="result"`` with its
    ``execution_count``), a figure (``stream="image"``, ``png`` its bytes, None if
    they are not base64), IPython's traceback without its colour codes."""
    kind, content = message["msg_type"], message["content"]
    if kind == "stream":
        return OutputData("stderr" if content.get("name") == "stderr" else "stdout",
                          str(content.get("text", "")))
    if kind in ("execute_result", "display_data"):
        data = content.get("data") or {}
        text = data.get("text/plain")
        if kind == "display_data" and isinstance(data.get("image/png"), str):
            return OutputData("image", text if isinstance(text, str) else "",
                              png=png_array(data["image/png"]))
        if not isinstance(text, str):
            return None
        count = content.get("execution_count")
        if kind == "execute_result":
            return OutputData("result", text + "\n", execution_count=count if type(count) is int else None)
        return OutputData("stdout", text + "\n")
    if kind == "error":
        lines = content.get("traceback") or [f"{content.get('ename')}: {content.get('evalue')}"]
        return OutputData("error", plain("\n".join(str(line) for line in lines)).rstrip("\n") + "\n")
    return None


def png_array(text: str) -> np.ndarray | None:
    """The PNG of a display's base64 ``image/png`` as uint8 bytes, None if it is not base64."""
    try:
        data = base64.b64decode(text.replace("\n", ""), validate=True)
    except (ValueError, TypeError):
        return None
    return np.frombuffer(data, dtype=np.uint8)


def _text_or_none(value) -> str | None:
    return value if isinstance(value, str) else None


class _Run:
    """One run request being executed cell by cell."""

    def __init__(self, request: dict):
        self.request = request
        self.cells = deque(request["cells"])
        self.cell: dict | None = None
        self.msg_id: str | None = None
        self.outputs: list = []               # OutputData from IOPub
        self.finished: schema.CellFinished | None = None
        self.reply: dict | None = None        # its execute_reply content
        self.idle = False                     # its IOPub status went back to idle
        self.interrupted = False


class JupyterClient(QObject):
    """See the module docstring."""

    message = Signal(object)          # every comm message (a schema.Message), before the specific signal
    ready = Signal(object)            # schema.Ready
    cellStarted = Signal(object)      # schema.CellStarted
    cellFinished = Signal(object)     # schema.CellFinished, big graphs joined, IOPub's outputs first
    deriving = Signal(object)         # schema.Deriving
    callChecked = Signal(object)      # the schema.CheckData of a CallChecked message (or of a
                                      # CellFinished's checks, after cellFinished)
    tensorsReceived = Signal(object)  # [schema.TensorData]
    sweepReceived = Signal(object)    # schema.SweepData
    requestDone = Signal(object)      # schema.Done
    kernelError = Signal(str)
    badMessage = Signal(str)          # an invalid message arrived and was dropped: what it was
    died = Signal(str)
    restarted = Signal(str)
    stateChanged = Signal(str)
    busyChanged = Signal(bool)
    completed = Signal(str, object)   # (request token, complete_reply content)
    inspected = Signal(str, object)   # (request token, inspect_reply content)

    def __init__(self, parent=None, *, filename: str = "<script>",
                 interrupt_grace_ms: int = 2000, startup_timeout_ms: int = 60000):
        super().__init__(parent)
        self.filename = filename
        self.interrupt_grace_ms = interrupt_grace_ms
        self._kernel: JupyterKernel | None = None
        self._notifiers: list = []
        self._comm_id: str | None = None
        self._info_id: str | None = None
        self._iopub_seen = False
        self._symbolic_pid: int | None = None
        self._queue: deque = deque()
        self._in_flight: dict | None = None
        self._run: _Run | None = None
        self._ids = 0
        self._chunks: dict = {}
        self._structures: dict = {}       # a cell's shared graph structures, by id
        self._shared: dict = {}           # its shared calls (SharedCall views), by index
        self._dropped: set = set()        # its shared calls that came unreadable (and were said)
        self._kept = shared.Kept()        # the last cell's structures, for the next cell's calls
        self._forget: set = set()         # calls the window dropped: the next cell tells the kernel
        self._state = STOPPED
        self._busy = False
        self._grace = QTimer(self, singleShot=True, timeout=self._on_interrupt_ignored)
        self._startup = QTimer(self, singleShot=True, interval=startup_timeout_ms,
                               timeout=self._on_startup_timeout)
        self._watchdog = QTimer(self, interval=1000, timeout=self._check_alive)
        self._safety = QTimer(self, interval=SAFETY_MS, timeout=self._drain)
        # the next turn of reading: a timer, not a posted event (Qt delivers posted events
        # posted while it delivers them in the same pass, so chained turns would run back
        # to back with no repaint or other timer between them)
        self._next_turn = QTimer(self, singleShot=True, interval=0, timeout=self._drain)
        self._draining = False
        self._first_channel = 0           # which channel a turn reads first (they alternate)

    # -- properties --------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def pid(self) -> int | None:
        return self._kernel.pid if self._kernel is not None else None

    @property
    def symbolic_pid(self) -> int | None:
        return self._symbolic_pid if self._kernel is not None else None

    @property
    def current_request(self) -> dict | None:
        return self._in_flight

    @property
    def queued(self) -> int:
        """How many requests wait behind the one in flight (``interrupt`` drops them all)."""
        return len(self._queue)

    def pids(self) -> list:
        return [p for p in (self.pid, self.symbolic_pid) if p is not None]

    # -- lifecycle ---------------------------------------------------------------------
    def start(self):
        if self._kernel is not None:
            return
        self._set_state(STARTING)
        kernel = JupyterKernel()
        try:
            kernel.start(wait=False)
        except Exception as error:
            kernel.shutdown()
            self.died.emit(f"The kernel could not be started ({type(error).__name__}: {error}).")
            self._set_state(STOPPED)
            return
        self._kernel = kernel
        self._iopub_seen = False
        self._comm_id = None
        for channel in ("iopub", "shell"):
            notifier = QSocketNotifier(kernel.fileno(channel), QSocketNotifier.Type.Read, self)
            notifier.activated.connect(self._drain)
            self._notifiers.append(notifier)
        self._info_id = kernel.kernel_info()
        self._startup.start()
        self._watchdog.start()
        self._safety.start()
        self._drain()

    def shutdown(self):
        self._startup.stop()
        self._watchdog.stop()
        self._safety.stop()
        self._next_turn.stop()
        self._discard_kernel()
        self._set_state(STOPPED)
        self._update_busy()

    def restart(self, reason: str = "The kernel was restarted; variables were cleared."):
        self._discard_kernel()
        self.start()
        self._update_busy()
        self.restarted.emit(reason)

    def _discard_kernel(self):
        self._queue.clear()
        self._grace.stop()
        for notifier in self._notifiers:
            notifier.setEnabled(False)
            notifier.activated.disconnect(self._drain)
            notifier.deleteLater()
        self._notifiers.clear()
        kernel, self._kernel = self._kernel, None
        if kernel is not None:
            kernel.shutdown()
        self._in_flight = self._run = None
        self._symbolic_pid = None
        self._chunks.clear()
        self._structures.clear()
        self._shared.clear()
        self._dropped.clear()
        self._kept.clear()
        self._forget.clear()

    # -- requests ----------------------------------------------------------------------
    def submit(self, request: dict):
        self._queue.append(dict(request))
        if self._kernel is None:
            self.start()
        self._send_next()
        self._update_busy()

    def forget_calls(self, indices):
        """The window no longer shows these calls (a design's replaced live calls): the
        kernel drops them with the next cell it runs, with no request of their own (a
        queued request would stop an edit from interrupting the previous derivation)."""
        self._forget.update(indices)

    def run_cells(self, cells: list, **options):
        self.submit({"type": "run", "cells": list(cells), **options})

    def interrupt(self) -> bool:
        had_queue = bool(self._queue)
        self._queue.clear()
        if self._in_flight is None or self._kernel is None:
            self._update_busy()
            return had_queue
        if self._run is not None:
            self._run.cells.clear()
        self._kernel.interrupt()
        self._set_state(INTERRUPTING)
        self._grace.start(self.interrupt_grace_ms)
        return True

    def _send_next(self):
        if self._state != IDLE or self._in_flight is not None or not self._queue:
            return
        request = self._queue.popleft()
        self._ids += 1
        request["id"] = self._ids
        self._in_flight = request
        self._set_state(BUSY)
        if request["type"] == "run":
            self._run = _Run(request)
            self._execute_next_cell()
        else:
            text, buffers = codec.encode_request(request)
            self._kernel.comm_send(self._comm_id, {DATA_KEY: text}, buffers)
        self._drain()

    def _execute_next_cell(self) -> bool:
        run = self._run
        if not run.cells:
            return False
        cell = run.cell = run.cells.popleft()
        run.outputs, run.finished, run.reply, run.idle = [], None, None, False
        request = run.request
        meta = {"cell": cell.get("index"), "first_line": cell.get("first_line", 1),
                "derive": request.get("derive", True), "timeout": request.get("timeout", 10.0),
                "reuse": True, "kept": sorted(self._kept.structures), "tensors": self._kept.tensors_id,
                "numbers_first": request.get("numbers_first", False) is True,
                "generated": request.get("generated", False) is True}
        if self._forget:
            meta["forget"], self._forget = sorted(self._forget), set()
        run.msg_id = self._kernel.execute(cell["source"], metadata={DATA_KEY: meta})
        return True

    # -- the editor's questions (straight to the kernel, not queued behind cells) ------
    def complete(self, code: str, cursor_pos: int) -> str | None:
        """Ask for completions; the answer comes as :attr:`completed` with the returned token."""
        return self._ask(lambda kernel: kernel.complete(code, cursor_pos))

    def inspect(self, code: str, cursor_pos: int, detail_level: int = 0) -> str | None:
        """Ask for help on the name at ``cursor_pos``; the answer comes as :attr:`inspected`."""
        return self._ask(lambda kernel: kernel.inspect(code, cursor_pos, detail_level))

    def _ask(self, send) -> str | None:
        if self._kernel is None or self._state == STARTING:
            return None
        token = send(self._kernel)
        # read on the next turn, not now: an answer already there would be dispatched
        # before the caller has the token to match it with, and dropped as stale
        self._next_turn.start()
        return token

    # -- incoming ----------------------------------------------------------------------
    def _drain(self, *args):
        """Read the whole messages waiting on the shell and IOPub sockets, one turn's
        worth (see the module docstring): zmq's descriptor tells of new messages only
        once, so a turn reads until there are none, or schedules the next turn."""
        if self._draining or self._next_turn.isActive():
            return      # a turn is running (we are inside its dispatch) or the next one is due
        self._draining = True
        try:
            self._read_turn()
        finally:
            self._draining = False

    def _read_turn(self):
        cpu_deadline = time.thread_time() + TURN_BUDGET_S
        wall_deadline = time.monotonic() + TURN_BUDGET_S
        kernel = self._kernel
        channels = ("iopub", "shell")
        quiet = 0               # channels in a row found empty
        turn = self._first_channel
        while kernel is not None and kernel is self._kernel and quiet < len(channels):
            channel = channels[turn % len(channels)]
            turn += 1
            messages = kernel.read(channel, limit=1)
            if not messages:
                quiet += 1
                continue
            quiet = 0
            self._dispatch(channel, messages[0])
            if kernel is not self._kernel:
                return          # restarted or shut down by what the message did
            if time.thread_time() > cpu_deadline or time.monotonic() > wall_deadline:
                self._first_channel = turn % len(channels)   # neither channel waits behind the other
                self._next_turn.start()
                return

    def _dispatch(self, channel: str, message):
        if isinstance(message, ProtocolError):
            self.badMessage.emit(f"an invalid message on {message.channel}: {message.message}")
            return
        kind = message.get("msg_type")
        parent = (message.get("parent_header") or {}).get("msg_id")
        if channel == "iopub":
            self._iopub_seen = True
        if self._state == STARTING and self._comm_id is None:
            if channel == "shell" and kind == "kernel_info_reply":
                self._info_id = None
            if self._info_id is None and self._iopub_seen:
                self._comm_id = uuid.uuid4().hex
                self._kernel.comm_open(COMM_TARGET, self._comm_id)
        if channel == "shell" and kind in ("complete_reply", "inspect_reply"):
            signal = self.completed if kind == "complete_reply" else self.inspected
            signal.emit(parent or "", message.get("content") or {})
            return
        if kind == "comm_msg":
            if (message["content"] or {}).get("comm_id") == self._comm_id:
                self._on_comm(message)
            return
        run = self._run
        if run is None or parent != run.msg_id:
            return
        if channel == "shell" and kind == "execute_reply":
            run.reply = message["content"]
        elif kind == "execute_input":
            count = message["content"].get("execution_count")
            self.cellStarted.emit(schema.CellStarted(cell=run.cell.get("index"),
                                                     first_line=run.cell.get("first_line", 1),
                                                     execution_count=count if type(count) is int else None))
        elif kind == "status":
            run.idle = message["content"].get("execution_state") == "idle"
        else:
            output = output_of(message)
            if output is not None:
                run.outputs.append(output)
        if run.reply is not None and run.idle:
            self._cell_done(run)

    def _on_comm(self, message):
        content = message["content"]
        try:
            record = codec.decode((content.get("data") or {}).get(DATA_KEY), message.get("buffers") or [])
        except (codec.CodecError, AttributeError) as error:
            self.badMessage.emit(f"an unreadable GradStudio message on the comm: {error}")
            return
        self.message.emit(record)
        if isinstance(record, schema.Ready):
            self._startup.stop()
            self._symbolic_pid = record.symbolic_pid
            self._set_state(IDLE)
            self.ready.emit(record)
            self._send_next()
            self._update_busy()
        elif isinstance(record, schema.GraphChunk):
            self._chunks.setdefault(record.call, []).append(record.nodes)
        elif isinstance(record, schema.GraphStructure):
            self._structures[record.id] = record
        elif isinstance(record, schema.CallValues):
            self._take_shared(record)
        elif isinstance(record, schema.CellFinished):
            calls = self._cell_calls(record)
            try:
                tensors = shared.fill_tensor_values(self._kept.tensors_of(record), calls)
            except RecordError as error:
                self.badMessage.emit(f"{error}; the named tensors are not shown")
                tensors = None        # (the tensors shown so far stay)
            record = record.replace(calls=calls, tensors=tensors)
            run = self._run
            if run is not None:     # IOPub's outputs (streams, Out[n], figures) come first
                record = record.replace(run=record.run.replace(outputs=run.outputs + list(record.run.outputs)))
                run.finished = record
                run.outputs = []
            self.cellFinished.emit(record)
            for check in record.checks:     # (the window took them with the calls; said as ever)
                self.callChecked.emit(check)
        elif isinstance(record, schema.Deriving):
            self.deriving.emit(record)
        elif isinstance(record, schema.CallChecked):
            self.callChecked.emit(record.check)
        elif isinstance(record, schema.Tensors):
            self.tensorsReceived.emit(record.tensors)
        elif isinstance(record, schema.SweepResult):
            self.sweepReceived.emit(record.sweep)
        elif isinstance(record, schema.KernelError):
            self.kernelError.emit(record.message)
        elif isinstance(record, schema.Done):
            if self._in_flight is not None and record.id == self._in_flight.get("id"):
                self._request_done(record.replace(request=self._in_flight["type"]))

    def _take_shared(self, values: schema.CallValues):
        """A loop's calls (:mod:`gradstudio.studio.kernel.shared`), kept for their
        ``CellFinished`` as views that build a call's graph record when it is looked at;
        dropped, and said, when they name no structure that came or do not fit theirs."""
        structure = self._structures.get(values.structure) or self._kept.get(values.structure)
        try:
            if structure is None:
                raise RecordError(f"the values of backward calls {shared.span(values.calls)} name graph "
                                  f"structure {values.structure}, which never came")
            views = shared.SharedCalls(structure, values).views()
        except RecordError as error:
            self.badMessage.emit(f"{error}; those calls are not shown")
            self._dropped.update(values.calls)
            return
        self._shared.update((view.index, view) for view in views)

    def _cell_calls(self, finished: schema.CellFinished) -> list:
        """The cell's calls in order: those in the message (big graphs joined) and the
        shared ones that came before it; its structures are done with."""
        views, dropped, self._shared, self._dropped = self._shared, self._dropped, {}, set()
        self._structures.clear()
        calls = [self._joined(c) for c in finished.calls]
        missing = [index for index in finished.shared if index not in views and index not in dropped]
        if missing:
            self.badMessage.emit(f"backward calls {shared.span(missing)} of this cell did not arrive "
                                 f"and are not shown")
        calls += [views[index] for index in finished.shared if index in views]
        calls = sorted(calls, key=lambda call: call.index) if views else calls
        self._kept.cell_finished(calls)
        return calls

    def _joined(self, call: schema.CallData) -> schema.CallData:
        """``call`` with its graph's chunks put back; without its graph (and saying
        why) when pieces are missing."""
        try:
            return join_graph(call, self._chunks.pop(call.index, []))
        except RecordError as error:
            self.badMessage.emit(str(error))
            return call.replace(graph=None, graph_error=str(error))

    def _cell_done(self, run: _Run):
        reply = run.reply or {}
        if run.finished is None and run.outputs:
            # the extension sent no records (it is not loaded, or failed): the console still shows the cell
            count = reply.get("execution_count")
            self.cellFinished.emit(schema.CellFinished(run=schema.RunData(
                cell=run.cell.get("index"), first_line=run.cell.get("first_line"),
                execution_count=count if type(count) is int else None, outputs=list(run.outputs),
                ok=reply.get("status") == "ok", interrupted=reply.get("ename") == "KeyboardInterrupt",
                error=_text_or_none(reply.get("evalue")), error_type=_text_or_none(reply.get("ename")))))
        interrupted = reply.get("ename") == "KeyboardInterrupt" or self._state == INTERRUPTING
        run.interrupted = run.interrupted or interrupted
        go_on = reply.get("status") == "ok" or (
            run.request.get("continue_past_backward_errors") and run.finished is not None
            and any(c.status == "error" for c in run.finished.calls))
        if go_on and not interrupted and self._execute_next_cell():
            return
        self._request_done(schema.Done(id=run.request["id"], request="run", interrupted=run.interrupted))

    def _request_done(self, message: schema.Done):
        self._grace.stop()
        self._in_flight = self._run = None
        self._set_state(IDLE)
        self.requestDone.emit(message)
        self._send_next()
        self._update_busy()

    # -- failures ----------------------------------------------------------------------
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
        if self._state == STARTING and self._kernel is not None:
            self._on_died("it did not start in time")

    def _check_alive(self):
        kernel = self._kernel
        if kernel is None:
            return
        if not kernel.is_alive():
            status = kernel.exit_status()
            how = (f"the kernel was killed by {status[len('signal '):]}" if status.startswith("signal ")
                   else f"the kernel exited with code {status[len('exit code '):]}")
            self._on_died(how)
        elif self._state == STARTING and self._comm_id is None and self._info_id is None:
            self._info_id = kernel.kernel_info()   # IOPub was not subscribed yet: ask again for traffic

    # -- state -------------------------------------------------------------------------
    def _set_state(self, state: str):
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    def _update_busy(self):
        busy = self._in_flight is not None or bool(self._queue)
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
