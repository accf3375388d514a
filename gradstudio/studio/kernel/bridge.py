"""The window's line into an IPython kernel: a comm, GradStudio's records on it.

The window (``gradstudio.ui.jupyter_client``) opens a comm with target
:data:`COMM_TARGET`. From then on, in this kernel:

* an ``execute_request`` whose metadata carries ``{"gradstudio": {"cell",
  "first_line", "derive", "timeout"}}`` (and ``"reuse": true, "kept": [id…]`` from a window
  that keeps the last cell's graph structures: :mod:`gradstudio.studio.kernel.shared`, and
  ``"tensors": id``, the ``tensors_id`` of the named tensors it keeps from the last cell;
  ``"numbers_first": true`` from the node editor, whose edits want their engine and
  finite-difference numbers before the closed form; ``"generated": true`` from the node editor
  too: its code is codegen's plain Python, no IPython syntax to transform) is one of the editor's cells: its code
  is shifted down to the cell's first line in the file (so tracebacks, error
  lines and backward calls name the file's lines), and when it ends the comm
  carries ``CellFinished`` (the run, the new backward calls with their graphs,
  the named tensors, and the checks that cost no derivation: a re-run cell's; with
  ``numbers_first``, else the provisional ones), then
  ``Deriving``/``CallChecked`` per call still to check — the
  typed messages of :mod:`gradstudio.studio.kernel.schema`, made by
  :class:`~gradstudio.studio.kernel.service.KernelService`. The cell's own
  output (streams, ``Out[n]``, figures, IPython's traceback) travels on IOPub
  as in any front end.
* a comm message is a request (a dict: ``check``, ``sweep``, ``jacobian``,
  ``tensors`` …, their fields in :mod:`gradstudio.studio.kernel.service`) answered
  with its messages and ``Done``.

Every message is :func:`gradstudio.studio.kernel.codec.encode`'d (a request
:func:`~gradstudio.studio.kernel.codec.decode_request`'d): the comm's ``data`` is
``{"gradstudio": json_text}``, its ``buffers`` the arrays. A request that does not
decode is answered with a ``KernelError``; nothing is unpickled.
"""
from __future__ import annotations

import signal
import sys
import threading
import traceback

from gradstudio.studio.kernel import codec, schema

COMM_TARGET = "gradstudio.records"
DATA_KEY = "gradstudio"


class Bridge:
    """The comm of one window in one shell; see the module docstring."""

    def __init__(self, shell, service):
        self.shell = shell
        self.service = service
        self.comm = None
        service.send = self.send
        self._transform = None       # the shell's own transform_cell, while ours stands in
        self._transformed = None     # (request id, raw cell, transformed): the last window cell's
        self._own_transform = False  # whether the shell instance had a transform_cell of its own

    def register(self) -> bool:
        """Listen for the window's comm; False when the shell has no kernel (a terminal IPython)."""
        manager = getattr(getattr(self.shell, "kernel", None), "comm_manager", None)
        if manager is None:
            return False
        manager.register_target(COMM_TARGET, self._on_open)
        self.shell.input_transformers_post.append(self.shift_lines)
        self._transform = self.shell.transform_cell
        self._own_transform = "transform_cell" in self.shell.__dict__   # set on the instance already?
        self.shell.transform_cell = self.transform_cell
        return True

    def unregister(self):
        manager = getattr(getattr(self.shell, "kernel", None), "comm_manager", None)
        if manager is not None:
            manager.unregister_target(COMM_TARGET, self._on_open)
        if self.shift_lines in self.shell.input_transformers_post:
            self.shell.input_transformers_post.remove(self.shift_lines)
        if self._transform is not None:
            if self.shell.__dict__.get("transform_cell") == self.transform_cell:   # back to what it was
                if self._own_transform:
                    self.shell.transform_cell = self._transform
                else:
                    del self.shell.transform_cell
            self._transform, self._transformed = None, None

    @property
    def connected(self) -> bool:
        return self.comm is not None

    # -- the comm --------------------------------------------------------------------
    def _on_open(self, comm, open_message):
        self.comm = comm
        self.service.forget_structures()      # a new window has none of the last cell's
        # the window steps through backward calls: their records carry the engine's step trace
        self.service.session.step_trace = True
        comm.on_msg(self._on_message)
        comm.on_close(self._on_close)
        self.service.start_worker()
        self.send(self.service.ready())

    def _on_close(self, message):
        self.comm = None

    def send(self, message: schema.Message):
        if self.comm is None:
            return
        text, buffers = codec.encode(message)
        self.comm.send({DATA_KEY: text}, buffers=buffers)
        if isinstance(message, schema.CellFinished):
            self.flush()

    def flush(self, timeout: float = 1.0):
        """Wait (without the GIL) until ipykernel's IOPub thread has handed what was sent
        to zmq. A comm message only leaves when that thread gets the GIL, and the work
        that follows a cell's first reply (its step traces, its checks: pure Python)
        would hold it off for milliseconds at each of its turns."""
        thread = getattr(getattr(self.shell, "kernel", None), "iopub_thread", None)
        if thread is None or not hasattr(thread, "schedule"):
            return
        sent = threading.Event()
        thread.schedule(sent.set)
        sent.wait(timeout)

    def _on_message(self, message):
        content = message.get("content", {})
        request_id, request = None, None
        self.service.interrupt_pending = False
        # outside execute_request ipykernel ignores SIGINT; a sweep or check must be interruptible
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            request = codec.decode_request((content.get("data") or {}).get(DATA_KEY),
                                           message.get("buffers") or [])
            request_id = request.get("id") if type(request.get("id")) is int else None
            if not self.service.handle(request):
                raise ValueError(f"unknown request {request.get('type')!r}")
        except KeyboardInterrupt:
            self.service.interrupt_pending = True
        except Exception:  # a bad request or a bug of ours: report it, keep serving
            self.send(schema.KernelError(id=request_id, message=traceback.format_exc()))
        finally:
            signal.signal(signal.SIGINT, previous)
        self.send(schema.Done(id=request_id, request=request.get("type") if request else None,
                              interrupted=self.service.interrupt_pending))

    # -- cells from the editor -------------------------------------------------------
    def _request(self) -> dict:
        """The shell request being served (an ``execute_request``), or {}."""
        try:
            return self.shell.kernel.get_parent("shell") or {}
        except Exception:
            return {}

    def cell_metadata(self) -> dict | None:
        """The editor's description of the cell being executed, or None (not the window's)."""
        if self.comm is None:
            return None
        found = (self._request().get("metadata") or {}).get(DATA_KEY)
        return found if isinstance(found, dict) else None

    def transform_cell(self, raw_cell: str) -> str:
        """The shell's ``transform_cell``, made once per window cell: ipykernel (7) transforms
        a cell to see whether it must run asynchronously, then runs it with ``run_cell``, which
        transforms the same text again (~2.5 ms of tokenizing for a 100-node design's script).
        The second call, within the same request and for the same text, gets the first answer.
        A ``generated`` cell of several lines (the node editor's) only gets the transforms that
        follow IPython's own syntax ones (:attr:`input_transformers_post`: the line shift)."""
        request = self._request()
        request_id = (request.get("header") or {}).get("msg_id")
        meta = self.cell_metadata()
        if request_id is None or meta is None:
            return self._transform(raw_cell)
        last = self._transformed
        if last is not None and last[0] == request_id and last[1] == raw_cell:
            return last[2]
        if meta.get("generated") is True and raw_cell.count("\n") > 1:
            transformed = self._post_transforms(raw_cell)
        else:
            transformed = self._transform(raw_cell)
        self._transformed = (request_id, raw_cell, transformed)
        return transformed

    def _post_transforms(self, cell: str) -> str:
        """What IPython's ``transform_cell`` does to plain Python of several lines after its
        syntax transforms (which change none of it): a last newline, then the post transformers."""
        lines = (cell if cell.endswith("\n") else cell + "\n").splitlines(keepends=True)
        for transform in self.shell.input_transformers_post:
            lines = transform(lines)
        return "".join(lines)

    def shift_lines(self, lines: list) -> list:
        """An IPython input transformer: blank lines above the cell so that its
        line numbers are the file's (the cell starts at its ``first_line``)."""
        meta = self.cell_metadata()
        first_line = meta.get("first_line") if meta else None
        if isinstance(first_line, int) and 1 < first_line < 10_000_000:
            return ["\n"] * (first_line - 1) + list(lines)
        return lines

    def cell_finished(self, run, result, meta: dict):
        """The cell's records on the comm, then its checks (IPython already showed its output)."""
        from gradstudio.studio.hints import hint_for
        error = None
        if result is not None:
            error = result.error_before_exec or result.error_in_exec
        if error is not None:
            if isinstance(error, KeyboardInterrupt):
                run.error, run.error_type = "Interrupted", "KeyboardInterrupt"
            else:
                run.error = error.msg if isinstance(error, SyntaxError) else str(error)
                run.error_type = type(error).__name__
                run.hint = hint_for(run.error, run.error_type)
            run.error_line = self._error_line(error)
        for stream in (sys.stdout, sys.stderr):   # the cell's prints reach IOPub before its records
            _flush_ahead(stream)
        service = self.service
        service.interrupt_pending = run.error_type == "KeyboardInterrupt"
        timeout = float(meta.get("timeout", 10.0)) if meta.get("derive", True) else None
        # the checks a re-run cell's graph makes quickly go with it (derive off: after it, as before)
        kept = meta.get("kept")
        kept = {i for i in kept if type(i) is int} if isinstance(kept, list) else None
        kept_tensors = meta.get("tensors") if type(meta.get("tensors")) is int else None
        service.cell_finished(run, meta.get("first_line"), early_timeout=timeout, reuse=meta.get("reuse") is True,
                              kept=kept, kept_tensors=kept_tensors, numbers_first=meta.get("numbers_first") is True)
        service.check_new_calls(run, timeout)

    def _error_line(self, error) -> int | None:
        if isinstance(error, SyntaxError):
            return error.lineno
        line, tb = None, error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_globals is self.shell.user_global_ns:
                line = tb.tb_lineno
            tb = tb.tb_next
        return line


def _flush_ahead(stream):
    """Have ``stream``'s buffered output sent before anything sent after this call, without
    waiting for it. ipykernel's ``OutStream.flush()`` has its IOPub thread take the buffer and
    waits until it has (~5 ms of a loaded machine before a cell's first record); its ``_flush``,
    called here, takes the buffer at once and queues the stream message on that thread,
    ahead of the comm messages that follow (the thread sends in the order things are queued).
    Any other stream is flushed."""
    flush = getattr(stream, "_flush", None)
    try:
        if callable(getattr(getattr(stream, "pub_thread", None), "schedule", None)) and callable(flush):
            flush()
        else:
            stream.flush()
    except Exception:
        pass
