"""The kernel: a worker process that runs the user's script for the app.

One kernel process owns one :class:`~gradstudio.studio.session.Session` (the script's
namespace) and one warm :class:`~gradstudio.studio.symbolic.worker.SymbolicWorker`.
The app talks to it over two pipes with pickled dicts, and gets back plain
data only (:mod:`gradstudio.studio.kernel.records`): a slow cell, an infinite loop, a
huge tensor or a hanging ``simplify`` happen in here, never in the window.

Requests (``{"type": …, "id": n, …}``), each answered by messages and finally
``{"type": "done", "id": n}``:

* ``run`` — ``cells: [{"index", "source", "first_line"}]``, ``derive`` (bool),
  ``timeout`` (seconds per backward call's derivation), ``continue_past_backward_errors``
  (keep going after a cell whose error is a failed ``backward()``, as
  ``gradstudio check`` does). Per cell: ``cell_started``, then
  ``cell_finished`` (the run, the new backward calls with their graphs, the
  named tensors; a graph over 200 nodes comes first as ``graph_chunk``
  messages, see :func:`gradstudio.studio.kernel.records.split_graph`), then — after the console has its output — one
  ``call_checked`` per new backward call (derivation + three-way comparison).
* ``check`` — ``calls: [index…]``, ``timeout``: derive and compare again.
* ``sweep`` — ``call``, ``vertex`` (a leaf), ``element`` (index), optional ``lo``,
  ``hi``, ``points``, ``timeout``: one ``sweep`` message with f and ∂f/∂element
  (engine, symbolic, finite differences) over the range (:mod:`gradstudio.studio.sweep`).
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
import signal
import subprocess
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

from gradstudio.studio.kernel.launch import memory_limit, watch_parent
from gradstudio.studio.kernel.service import DEFAULT_DERIVE_TIMEOUT, KernelService
STARTUP_TIMEOUT = 30.0


class KernelDied(RuntimeError):
    """The kernel process ended (its pipe closed)."""


# =========================================================================== child side
class Kernel:
    """The loop inside the kernel process: requests from the pipe, served by a
    :class:`~gradstudio.studio.kernel.service.KernelService`; see the module docstring."""

    def __init__(self, reader: Connection, writer: Connection, filename: str = "<script>"):
        from gradstudio.studio.session import Session
        self.reader, self.writer = reader, writer
        self.session = Session(filename)
        self.service = KernelService(self.session, self.send)

    # -- plumbing ----------------------------------------------------------------------
    def send(self, message: dict):
        self.writer.send(message)

    def _on_sigint(self, signum, frame):
        self.service.interrupt_pending = True
        if self.service.interruptible:
            self.service.interruptible = False
            raise KeyboardInterrupt

    def serve(self):
        signal.signal(signal.SIGINT, self._on_sigint)
        self.service.start_worker()
        self.send({"type": "ready", "pid": os.getpid(), "symbolic_pid": self.service.symbolic_pid})
        try:
            while True:
                try:
                    request = self.reader.recv()
                except EOFError:
                    return
                kind = request.get("type")
                self.service.interrupt_pending = False
                try:
                    if kind == "run":
                        self.handle_run(request)
                    elif kind != "shutdown" and not self.service.handle(request):
                        raise ValueError(f"unknown request {kind!r}")
                except Exception:  # a bug of ours: report it, keep serving
                    self.send({"type": "kernel_error", "id": request.get("id"),
                               "message": traceback.format_exc()})
                self.send({"type": "done", "id": request.get("id"), "request": kind,
                           "interrupted": self.service.interrupt_pending})
                if kind == "shutdown":
                    return
        finally:
            self.service.close()

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
            self.send({"type": "cell_started", "cell": index, "first_line": first_line,
                       "execution_count": self.session.execution_count + 1})
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

    ``send`` returns the request id; ``recv``/``poll`` read the kernel's
    messages; ``fileno()`` is the pipe to watch for readability."""

    def __init__(self, filename: str = "<script>"):
        self.filename = filename
        self.process: subprocess.Popen | None = None
        self._reader: Connection | None = None
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
        self._reader = Connection(from_child_r, writable=False)
        self._writer = Connection(to_child_w, readable=False)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def fileno(self) -> int:
        return self._reader.fileno()

    def kill(self):
        """Kill the kernel and everything it started (its process group), and reap it."""
        process, self.process = self.process, None
        if process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.kill()
            except ProcessLookupError:
                pass
            process.wait()
        for connection in (self._reader, self._writer):
            if connection is not None:
                try:
                    connection.close()
                except OSError:
                    pass
        self._reader = self._writer = None

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
            self._writer.send({**message, "id": request_id})
        except (OSError, AttributeError) as error:
            raise KernelDied(f"the kernel is not running ({error})") from None
        return request_id

    def poll(self, timeout: float = 0.0) -> bool:
        try:
            return self._reader is not None and self._reader.poll(timeout)
        except OSError:
            return True    # recv will report the closed pipe

    def recv(self) -> dict:
        try:
            message = self._reader.recv()
        except (EOFError, OSError, AttributeError):
            raise KernelDied(self.exit_description()) from None
        if message.get("type") == "ready":
            self.symbolic_pid = message.get("symbolic_pid")
        return message

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
        """Messages up to and including the first of type ``kind`` (blocking)."""
        deadline = time.monotonic() + timeout
        messages = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.poll(remaining):
                raise TimeoutError(f"no {kind!r} from the kernel within {timeout:g} s "
                                   f"(got {[m.get('type') for m in messages]})")
            message = self.recv()
            messages.append(message)
            if message.get("type") == kind:
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
