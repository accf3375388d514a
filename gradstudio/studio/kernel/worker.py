"""The kernel: a worker process that runs the user's script for the app.

One kernel process owns one :class:`~gradstudio.studio.session.Session` (the script's
namespace) and one warm :class:`~gradstudio.studio.symbolic.worker.SymbolicWorker`.
The app talks to it over two pipes, one wire frame per message
(:mod:`gradstudio.studio.wire`: JSON plus binary buffers, never a pickle): requests
are plain dicts, and what comes back are the typed message records of
:mod:`gradstudio.studio.kernel.schema` (:func:`~gradstudio.studio.kernel.schema.decode_frame`
checks every one). A slow cell, an infinite loop, a huge tensor or a hanging
``simplify`` happen in here, never in the window.

Requests (``{"type": …, "id": n, …}``), each answered by messages and finally
``Done(id=n)``:

* ``run`` — ``cells: [{"index", "source", "first_line"}]``, ``derive`` (bool),
  ``timeout`` (seconds per backward call's derivation), ``continue_past_backward_errors``
  (keep going after a cell whose error is a failed ``backward()``, as
  ``gradstudio check`` does). Per cell: ``CellStarted``, then
  ``CellFinished`` (the run, the new backward calls with their graphs, the
  named tensors; graphs past 50 nodes in all come first as ``GraphChunk``
  messages, see :func:`gradstudio.studio.kernel.records.split_graphs`), then — after the console has its output — one
  ``CallChecked`` per new backward call (derivation + three-way comparison).
* ``check`` — ``calls: [index…]``, ``timeout``: derive and compare again.
* ``sweep`` — ``call``, ``vertex`` (a leaf), ``element`` (index), optional ``lo``,
  ``hi``, ``points``, ``timeout``: one ``SweepResult`` message with f and ∂f/∂element
  (engine, symbolic, finite differences) over the range (:mod:`gradstudio.studio.sweep`).
* ``jacobian`` — ``call``, ``leaf`` (index in the call's leaves), optional ``v``: one
  ``JacobianResult`` message with J, Jᵀv and backward(gradient=v) (:mod:`gradstudio.studio.jacobian`).
* ``local_derivatives`` — ``call``, optional ``vertices``: one ``LocalDerivatives`` message,
  each node's VJP written out from its op's symbolic forward (:mod:`gradstudio.studio.symbolic.local`).
* ``tensors`` — send the named tensors.
* ``shutdown`` — stop.

Interrupt is SIGINT to the kernel process: a running cell ends with
KeyboardInterrupt ("Interrupted", the namespace is kept), a running
derivation is cancelled, and the rest of the request is skipped. A kernel
that does not answer (stuck in C code) is killed by the client, which then
starts a new one. The kernel leads its own process group, so killing the
group leaves no symbolic worker behind; it also kills its group when the app
that started it goes away.

Start it with :class:`KernelProcess` (parent side, used by the app and the
tests), which runs ``python -m gradstudio.studio.kernel.worker`` — spawn-safe whatever the
parent's ``__main__`` is.
"""
from __future__ import annotations

import itertools
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

from gradstudio.studio import wire
from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.launch import memory_limit, watch_parent
from gradstudio.studio.kernel.schema import RecordError
from gradstudio.studio.kernel.service import DEFAULT_DERIVE_TIMEOUT, KernelService

_PIECE = struct.Struct("!i")        # Connection.send_bytes: a piece's length, then the piece
_BIG_PIECE = struct.Struct("!Q")

STARTUP_TIMEOUT = 30.0
# The most one message may be: wire's own limits (JSON, all buffers) plus its header
# and lengths. Connection.recv_bytes refuses a longer piece before allocating it.
MAX_MESSAGE_BYTES = (wire.DEFAULT_LIMITS.json_bytes + wire.DEFAULT_LIMITS.buffer_bytes
                     + wire.HEADER_SIZE + 8 * wire.DEFAULT_LIMITS.buffers)


class KernelDied(RuntimeError):
    """The kernel process ended (its pipe closed)."""


# =========================================================================== child side
class Kernel:
    """The loop inside the kernel process: requests from the pipe, served by a
    :class:`~gradstudio.studio.kernel.service.KernelService`; see the module docstring."""

    def __init__(self, reader: Connection, writer: Connection, filename: str = "<script>"):
        from gradstudio.studio.session import Session
        self.reader, self.writer = reader, writer
        # step tracing on: each call's record carries its trace for the Graph panel's
        # step-through (benchmarks/stepping.py measures what it costs)
        self.session = Session(filename, step_trace=True)
        self.service = KernelService(self.session, self.send)

    # -- plumbing ----------------------------------------------------------------------
    def send(self, message: schema.Message):
        self.writer.send_bytes(schema.encode_frame(message))

    def _on_sigint(self, signum, frame):
        self.service.interrupt_pending = True
        if self.service.interruptible:
            self.service.interruptible = False
            raise KeyboardInterrupt

    def serve(self):
        service = self.service
        signal.signal(signal.SIGINT, self._on_sigint)
        service.start_worker()
        self.send(service.ready())
        try:
            while True:
                try:
                    request = self.reader.recv_bytes()
                except EOFError:
                    return
                service.interrupt_pending = False
                try:
                    request = wire.decode_frame(request)
                    if not isinstance(request, dict):
                        raise ValueError(f"a request must be an object, not {type(request).__name__}")
                except ValueError:   # WireError is one: not a request of the app's
                    self.send(schema.KernelError(message=traceback.format_exc()))
                    self.send(schema.Done(id=None))
                    continue
                kind = request.get("type")
                request_id = request.get("id")
                request_id = request_id if type(request_id) is int else None
                try:
                    if kind == "run":
                        self.handle_run(request)
                    elif kind != "shutdown" and not service.handle(request):
                        raise ValueError(f"unknown request {kind!r}")
                except Exception:  # a bug of ours: report it, keep serving
                    self.send(schema.KernelError(id=request_id, message=traceback.format_exc()))
                self.send(schema.Done(id=request_id, request=kind if isinstance(kind, str) else None,
                                      interrupted=service.interrupt_pending))
                if kind == "shutdown":
                    return
        finally:
            service.close()

    # -- requests ------------------------------------------------------------------------
    def handle_run(self, request):
        service = self.service
        derive = request.get("derive", True)
        timeout = float(request.get("timeout", DEFAULT_DERIVE_TIMEOUT))
        keep_going = request.get("continue_past_backward_errors", False)
        for cell in request["cells"]:
            if service.interrupt_pending:
                break
            index, first_line = cell.get("index"), cell.get("first_line", 1)
            self.send(schema.CellStarted(cell=index, first_line=first_line,
                                         execution_count=self.session.execution_count + 1))
            run = self._run_cell(cell["source"], index, first_line)
            service.cell_finished(run, first_line)
            if run.error_type == "KeyboardInterrupt":
                service.interrupt_pending = True
            service.check_new_calls(run, timeout if derive else None)
            if not run.ok:
                failed_backward = any(c.status == "error" for c in run.backward_calls)
                if not (keep_going and failed_backward):
                    break

    # -- work ------------------------------------------------------------------------------
    def _run_cell(self, source: str, index, first_line: int):
        session = self.session
        before = session.execution_count
        signal.signal(signal.SIGINT, self._on_sigint)   # the previous cell may have replaced it
        self.service.interruptible = True
        try:
            return session.run_cell(source, cell=index, first_line=first_line)
        except KeyboardInterrupt:
            # the signal landed outside the cell's own handler (just before or after it)
            from gradstudio.studio.session import CellRun, Output
            if session.execution_count > before:
                run = session.runs[-1]
            else:
                session.execution_count += 1
                run = CellRun(cell=index, execution_count=session.execution_count)
                session.runs.append(run)
            if run.error is None:
                run.error, run.error_type = "Interrupted", "KeyboardInterrupt"
                run.outputs.append(Output("error", "KeyboardInterrupt: interrupted\n"))
            return run
        finally:
            self.service.interruptible = False


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    read_fd, write_fd, parent = int(argv[0]), int(argv[1]), int(argv[2])
    filename = argv[3] if len(argv) > 3 else "<script>"
    try:
        import resource
        limit = memory_limit()
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    threading.Thread(target=watch_parent, args=(parent,), daemon=True).start()
    kernel = Kernel(Connection(read_fd, writable=False), Connection(write_fd, readable=False),
                    filename)
    kernel.serve()


# =========================================================================== parent side
class KernelProcess:
    """Start, talk to and stop a kernel process (no Qt: the app wraps this).

    ``send`` returns the request id; ``fileno()`` is the pipe to watch for
    readability. The kernel's messages are typed records, checked as they are
    decoded: :meth:`take` returns those that have arrived whole without ever
    waiting (what the app calls when the pipe is readable), with a
    :class:`~gradstudio.studio.kernel.schema.RecordError` in place of each piece
    that is not a message (the next one is still read: every message is its own
    length-prefixed piece, as ``Connection.send_bytes`` writes it). ``recv`` and
    ``poll`` block, for scripts and tests. The pipe is read here, not by
    ``Connection.recv_bytes``, because the user's code can write on it too: half a
    message must not stop the window until the rest arrives."""

    def __init__(self, filename: str = "<script>"):
        self.filename = filename
        self.process: subprocess.Popen | None = None
        self._fd: int | None = None             # the pipe from the kernel (non-blocking)
        self._buffer = bytearray()               # bytes read that do not make a whole piece yet
        self._eof = False
        self._writer: Connection | None = None
        self._ids = itertools.count(1)
        self.symbolic_pid: int | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gradstudio.studio.kernel.worker", str(to_child_r), str(from_child_w),
                 str(os.getpid()), self.filename],
                pass_fds=(to_child_r, from_child_w), start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=_child_env())
        except BaseException:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            raise
        os.close(to_child_r)
        os.close(from_child_w)
        os.set_blocking(from_child_r, False)
        self._fd, self._buffer, self._eof = from_child_r, bytearray(), False
        self._writer = Connection(to_child_w, readable=False)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def fileno(self) -> int:
        return self._fd

    def kill(self):
        """Kill the kernel and everything it started (its process group), and reap it."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                from gradstudio.studio.kernel import reaper
                reaper.end_tree(process.pid)    # its group, and what left the group
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.kill()
            except ProcessLookupError:
                pass
            process.wait()
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = self._writer = None

    def shutdown(self, timeout: float = 1.0):
        """Ask the kernel to stop, then make sure its whole group is gone."""
        if self.alive:
            try:
                self.send({"type": "shutdown"})
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired, KernelDied):
                pass
        self.kill()

    # -- messages --------------------------------------------------------------------------
    def send(self, message: dict) -> int:
        request_id = next(self._ids)
        try:
            self._writer.send_bytes(wire.encode_frame({**message, "id": request_id}))
        except (OSError, AttributeError) as error:
            raise KernelDied(f"the kernel is not running ({error})") from None
        return request_id

    def take(self) -> list:
        """What can be read now without waiting: messages, and a RecordError for each
        piece that was not one. KernelDied when the pipe has ended (after what came
        before the end was taken) or holds something that is not a piece at all."""
        self._read_available()
        items = []
        while self._whole_piece():
            try:
                items.append(self._decode(self._pop_piece()))
            except RecordError as error:
                items.append(error)
        if not items and self._eof:
            raise KernelDied(self.exit_description())
        return items

    def poll(self, timeout: float = 0.0) -> bool:
        """Whether a whole message (or the end of the pipe) is there within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not (self._eof or self._whole_piece()):
            remaining = deadline - time.monotonic()
            if self._fd is None or remaining < 0:
                return self._fd is None
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if not ready:
                return False
            self._read_available()
        return True

    def recv(self) -> schema.Message:
        """The next message (blocking); KernelDied if the pipe ended, RecordError if the
        next piece is not a valid message (the one after it can still be read)."""
        while not self._whole_piece():
            if self._eof or self._fd is None:
                raise KernelDied(self.exit_description())
            select.select([self._fd], [], [])
            self._read_available()
        return self._decode(self._pop_piece())

    def _decode(self, piece: bytes) -> schema.Message:
        message = schema.decode_frame(piece)
        if isinstance(message, schema.Ready):
            self.symbolic_pid = message.symbolic_pid
        return message

    def _read_available(self):
        """Append what the pipe holds now to the buffer (never waits)."""
        if self._fd is None or self._eof:
            return
        try:
            while True:
                data = os.read(self._fd, 1 << 20)
                if not data:
                    self._eof = True
                    return
                self._buffer += data
                if len(data) < 1 << 20:
                    return
        except BlockingIOError:
            return
        except OSError:
            self._eof = True

    def _piece_bounds(self) -> tuple | None:
        """(header size, body size) of the piece at the start of the buffer, once its
        header is there; KernelDied if the header cannot be one of the kernel's."""
        buffer = self._buffer
        if len(buffer) < _PIECE.size:
            return None
        (size,) = _PIECE.unpack_from(buffer)
        head = _PIECE.size
        if size == -1:                       # how Connection.send_bytes announces a piece over 2 GiB
            if len(buffer) < _PIECE.size + _BIG_PIECE.size:
                return None
            (size,) = _BIG_PIECE.unpack_from(buffer, _PIECE.size)
            head += _BIG_PIECE.size
        if not 0 <= size <= MAX_MESSAGE_BYTES:
            self._eof = True
            self._buffer.clear()
            raise KernelDied(f"something on the kernel's pipe was not a message (it announced "
                             f"{size} bytes); the kernel was stopped")
        return head, size

    def _whole_piece(self) -> bool:
        bounds = self._piece_bounds()
        return bounds is not None and len(self._buffer) >= sum(bounds)

    def _pop_piece(self) -> bytes:
        head, size = self._piece_bounds()
        piece = bytes(self._buffer[head:head + size])
        del self._buffer[:head + size]
        return piece

    def interrupt(self):
        """SIGINT to the kernel process only (its symbolic worker is cancelled by the kernel)."""
        if self.alive:
            try:
                os.kill(self.process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def exit_description(self) -> str:
        process = self.process
        if process is None:
            return "the kernel was stopped"
        code = process.poll()
        if code is None:
            try:
                code = process.wait(0.5)
            except subprocess.TimeoutExpired:
                return "the kernel closed its pipe"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the kernel was killed by {name}"
        return f"the kernel exited with code {code}"

    # -- convenience for scripts and tests (the app never blocks like this) ----------------
    def wait_for(self, kind: str, timeout: float) -> list:
        """Messages up to and including the first whose ``type`` is ``kind`` (blocking)."""
        deadline = time.monotonic() + timeout
        messages = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.poll(remaining):
                raise TimeoutError(f"no {kind!r} from the kernel within {timeout:g} s "
                                   f"(got {[m.type for m in messages]})")
            message = self.recv()
            messages.append(message)
            if message.type == kind:
                return messages


def _child_env() -> dict:
    """The environment for the kernel: this GradStudio importable, no Qt platform bits."""
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = env.get("PYTHONPATH", "")
    if package_root not in path.split(os.pathsep):
        env["PYTHONPATH"] = package_root + (os.pathsep + path if path else "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


if __name__ == "__main__":
    main()
