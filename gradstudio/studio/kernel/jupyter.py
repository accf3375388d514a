"""GradStudio's kernel over the Jupyter protocol, without Qt and without threads.

:class:`JupyterKernel` starts an IPython kernel (ipykernel, through
:mod:`gradstudio.studio.kernel.launch`: memory limit, parent watch, the
GradStudio extension loaded) with ``jupyter_client``'s ``KernelManager``, and
talks to it the way a front end does: ``execute``, ``complete``, ``inspect``
requests on the shell channel; streams, results, displays, errors and status
on IOPub; interrupt, restart, shutdown and death detection through the manager.

Local and private: IPC transport (Unix sockets) in a runtime folder only the
user can enter (0700), the connection file 0600 with its HMAC key; no TCP port
is opened. Messages are JSON, signed and verified by ``jupyter_client.Session``
— never pickles. Nothing here blocks: :meth:`fileno` gives each channel's
descriptor for a socket notifier (the window's event loop), and
:meth:`read` drains whole messages that are ready. A message that fails to
verify or decode becomes a :class:`ProtocolError` item in what :meth:`read`
returns: the caller shows it and carries on.
"""
from __future__ import annotations

import os
import queue
import shutil
import sys
import tempfile
from dataclasses import dataclass

CHANNELS = ("iopub", "shell", "stdin", "control")
KERNEL_NAME = "gradstudio"


@dataclass
class ProtocolError:
    """Something arrived on ``channel`` that is not a valid, signed Jupyter message."""

    channel: str
    message: str


def kernel_spec(memory_limit: int | None = None):
    """The kernel spec of GradStudio's kernel: this Python, through launch.py."""
    from jupyter_client.kernelspec import KernelSpec
    env = {"GRADSTUDIO_KERNEL_MEMORY": str(memory_limit)} if memory_limit else {}
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"   # plt.plot shows under the cell
    return KernelSpec(argv=[sys.executable, "-m", "gradstudio.studio.kernel.launch", "-f", "{connection_file}"],
                      display_name="GradStudio (Python)", language="python", env=env,
                      interrupt_mode="signal")


def _spec_manager(spec):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    class _OneSpec(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            if kernel_name != KERNEL_NAME:
                raise NoSuchKernel(kernel_name)
            return spec

    return _OneSpec()


class JupyterKernel:
    """One kernel process and a client connected to it; see the module docstring."""

    def __init__(self, *, memory_limit: int | None = None, cwd: str | None = None):
        self.memory_limit = memory_limit
        self.cwd = cwd
        self.runtime_dir: str | None = None
        self.manager = None
        self.client = None

    # -- life --------------------------------------------------------------------------
    def start(self, timeout: float = 60.0, *, wait: bool = True):
        """Start the kernel and wait until it answers (``kernel_info``). With
        ``wait=False`` only launch it and connect: the caller sends
        :meth:`kernel_info` and watches for its reply (the window never waits)."""
        from jupyter_client import KernelManager
        self.runtime_dir = tempfile.mkdtemp(prefix="gradstudio-kernel-")
        os.chmod(self.runtime_dir, 0o700)
        self.manager = KernelManager(
            kernel_name=KERNEL_NAME, kernel_spec_manager=_spec_manager(kernel_spec(self.memory_limit)),
            transport="ipc", ip=os.path.join(self.runtime_dir, "kernel"),
            connection_file=os.path.join(self.runtime_dir, "kernel.json"))
        self.manager.session.packer = self.manager.session.unpacker = "json"
        self.manager.start_kernel(cwd=self.cwd or os.getcwd())
        os.chmod(self.manager.connection_file, 0o600)
        self._connect(timeout, wait)

    def _connect(self, timeout: float, wait: bool = True):
        self.client = self.manager.client()
        self.client.session.packer = self.client.session.unpacker = "json"
        self.client.start_channels(hb=False)   # no heartbeat thread: death is seen by polling the process
        if wait:
            self.client.wait_for_ready(timeout=timeout)
            self._drain_startup()

    def _drain_startup(self):
        """Drop the status and kernel_info traffic of the start-up."""
        for channel in ("iopub", "shell"):
            self.read(channel)

    @property
    def pid(self) -> int | None:
        provisioner = getattr(self.manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return process.pid if process is not None else None

    def is_alive(self) -> bool:
        return self.manager is not None and self.manager.is_alive()

    def exit_status(self) -> str:
        """How the kernel ended, for the user: "exit code 3" or "signal SIGKILL"."""
        process = getattr(getattr(self.manager, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "still running"
        if code < 0:
            import signal
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def interrupt(self):
        """SIGINT to the kernel's process group: a running cell ends with KeyboardInterrupt."""
        self.manager.interrupt_kernel()

    def restart(self, timeout: float = 60.0, *, wait: bool = True):
        """A fresh kernel (the namespace is gone), same connection file and key."""
        if self.client is not None:
            self.client.stop_channels()
        self.manager.restart_kernel(now=True)
        self._connect(timeout, wait)

    def shutdown(self):
        """Stop the kernel and everything it started (see :mod:`.reaper`), then its
        channels and files; when it returns no process of the kernel is left."""
        from gradstudio.studio.kernel import reaper
        pid = self.pid
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if pid is not None and self.manager is not None and self.manager.is_alive():
            reaper.end_tree(pid)
        if self.manager is not None:
            if self.manager.has_kernel:
                self.manager.shutdown_kernel(now=True)
            self.manager.cleanup_resources()
            self.manager = None
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = None

    # -- requests ----------------------------------------------------------------------
    def execute(self, code: str, *, silent: bool = False, store_history: bool = True,
                metadata: dict | None = None) -> str:
        """Send an ``execute_request`` (``metadata`` rides in the message's metadata); its msg_id."""
        content = {"code": code, "silent": silent, "store_history": store_history,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": False}
        return self._send("execute_request", content, metadata=metadata)

    def kernel_info(self) -> str:
        return self.client.kernel_info()

    def comm_open(self, target: str, comm_id: str, data: dict | None = None) -> str:
        return self._send("comm_open", {"comm_id": comm_id, "target_name": target, "data": data or {}})

    def comm_send(self, comm_id: str, data: dict, buffers: list | None = None) -> str:
        return self._send("comm_msg", {"comm_id": comm_id, "data": data}, buffers=buffers)

    def _send(self, kind: str, content: dict, *, metadata: dict | None = None, buffers=None) -> str:
        session = self.client.session
        message = session.msg(kind, content, metadata=metadata or {})
        session.send(self.client.shell_channel.socket, message, buffers=buffers)
        return message["header"]["msg_id"]

    def complete(self, code: str, cursor_pos: int | None = None) -> str:
        return self.client.complete(code, cursor_pos)

    def inspect(self, code: str, cursor_pos: int | None = None, detail_level: int = 0) -> str:
        return self.client.inspect(code, cursor_pos, detail_level)

    # -- messages --------------------------------------------------------------------
    def fileno(self, channel: str) -> int:
        """The descriptor that becomes readable when ``channel`` may have messages
        (edge-triggered, as zmq's are: :meth:`read` until it returns nothing)."""
        import zmq
        return getattr(self.client, f"{channel}_channel").socket.getsockopt(zmq.FD)

    def read(self, channel: str, limit: int = 1000) -> list:
        """Up to ``limit`` whole messages ready on ``channel``, without waiting.
        Bad ones are :class:`ProtocolError` items."""
        found = []
        source = getattr(self.client, f"{channel}_channel")
        while len(found) < limit:
            try:
                if not source.msg_ready():
                    break
                found.append(source.get_msg(timeout=0))
            except queue.Empty:
                break
            except Exception as error:  # a frame that does not verify or parse: report, go on
                found.append(ProtocolError(channel, f"{type(error).__name__}: {error}"))
        return found

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
