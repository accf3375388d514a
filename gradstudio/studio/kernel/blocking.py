"""GradStudio's kernel driven by a script that may wait: the window's protocol without its event loop.

:class:`KernelSession` starts a :class:`~gradstudio.studio.kernel.jupyter.JupyterKernel`,
opens the ``gradstudio.records`` comm the way the window does
(:mod:`gradstudio.studio.kernel.bridge`), and then blocks on each exchange until
it is over: :meth:`~KernelSession.run` executes one of the editor's cells (its
index and first line in the request's metadata) and returns when the kernel is
idle again, with the cell's IOPub messages and the GradStudio records that came
on the comm (``CellFinished``, ``GraphChunk``, ``GraphStructure`` and ``CallValues``
— a loop's calls: :func:`gradstudio.studio.kernel.shared.calls_of` reads every call
of them —, ``Deriving``, ``CallChecked``);
:meth:`~KernelSession.request` sends one request dict on the comm (``check``,
``sweep``, ``jacobian``, ``tensors`` …, see :mod:`gradstudio.studio.kernel.service`)
and returns its records, ``Done`` last.

For benchmarks, tests and scripts. The window never waits like this: it reads
the same messages on its event loop (``gradstudio.ui.jupyter_client``), where
the cells of a run, the queue and the failure handling live.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from gradstudio.studio.kernel import codec, schema
from gradstudio.studio.kernel.bridge import COMM_TARGET, DATA_KEY
from gradstudio.studio.kernel.jupyter import JupyterKernel, ProtocolError

POLL_S = 0.01


@dataclass
class Exchange:
    """What one request brought back, in order of arrival: its IOPub ``messages``, the
    GradStudio ``records`` decoded from the comm among them, the ``errors``
    (:class:`ProtocolError`\\ s and undecodable comm payloads, as text) and, for a cell,
    its ``execute_reply`` content."""

    messages: list = field(default_factory=list)
    records: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    reply: dict | None = None

    def of_type(self, kind: str) -> list:
        """The records whose ``type`` is ``kind`` (``"cell_finished"``, ``"call_checked"`` …)."""
        return [r for r in self.records if r.type == kind]

    def iopub(self, kind: str) -> list:
        """The IOPub messages whose ``msg_type`` is ``kind``."""
        return [m for m in self.messages if m["msg_type"] == kind]


class KernelSession:
    """One kernel with the window's comm open; see the module docstring."""

    def __init__(self, **kernel_options):
        self.kernel = JupyterKernel(**kernel_options)
        self.comm_id = uuid.uuid4().hex
        self.ready: schema.Ready | None = None
        self._ids = 0

    # -- life --------------------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> "KernelSession":
        """Start the kernel, open the comm and wait for the extension's ``Ready``."""
        self.kernel.start(timeout=timeout)
        opened = self.kernel.comm_open(COMM_TARGET, self.comm_id)
        found = self._collect(opened, time.monotonic() + timeout)
        ready = [r for r in found.records if isinstance(r, schema.Ready)]
        if not ready:
            raise TimeoutError(f"no ready on the comm (got {found.records}, {found.errors})")
        self.ready = ready[0]
        return self

    def shutdown(self):
        """Stop the kernel and everything it started."""
        self.kernel.shutdown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.shutdown()

    @property
    def pid(self) -> int | None:
        return self.kernel.pid

    @property
    def symbolic_pid(self) -> int | None:
        return self.ready.symbolic_pid if self.ready is not None else None

    def interrupt(self):
        self.kernel.interrupt()

    # -- exchanges -------------------------------------------------------------------
    def send_cell(self, source: str, *, cell=1, first_line: int = 1, derive: bool = True,
                  timeout: float = 10.0) -> str:
        """Send one of the editor's cells (``timeout``: seconds per call's derivation); its msg_id."""
        meta = {"cell": cell, "first_line": first_line, "derive": derive, "timeout": timeout}
        return self.kernel.execute(source, metadata={DATA_KEY: meta})

    def run(self, source: str, *, wait: float = 120.0, **cell) -> Exchange:
        """Run one cell (see :meth:`send_cell`) and wait until the kernel is idle after it
        and its ``execute_reply`` is there."""
        return self.wait(self.send_cell(source, **cell), wait, reply=True)

    def request(self, request: dict, wait: float = 120.0) -> Exchange:
        """Send ``request`` on the comm (an ``id`` is added) and wait until it is done."""
        self._ids += 1
        text, buffers = codec.encode_request({**request, "id": self._ids})
        return self.wait(self.kernel.comm_send(self.comm_id, {DATA_KEY: text}, buffers), wait)

    def wait(self, msg_id: str, timeout: float = 120.0, *, reply: bool = False) -> Exchange:
        """What the request ``msg_id`` brings until the kernel is idle after it (and, with
        ``reply``, until its shell reply has come; other shell messages are dropped).
        TimeoutError if that takes longer than ``timeout`` s; EOFError if the kernel dies."""
        deadline = time.monotonic() + timeout
        found = self._collect(msg_id, deadline)
        while reply and found.reply is None:
            for message in self.kernel.read("shell"):
                if isinstance(message, ProtocolError):
                    found.errors.append(f"{message.channel}: {message.message}")
                elif message["parent_header"].get("msg_id") == msg_id:
                    found.reply = message["content"]
            if found.reply is None:
                self._pause(msg_id, deadline)
        return found

    def _collect(self, msg_id: str, deadline: float) -> Exchange:
        found = Exchange()
        while True:
            for message in self.kernel.read("iopub"):
                if isinstance(message, ProtocolError):
                    found.errors.append(f"{message.channel}: {message.message}")
                    continue
                if message["parent_header"].get("msg_id") != msg_id:
                    continue
                found.messages.append(message)
                kind = message["msg_type"]
                if kind == "comm_msg" and message["content"].get("comm_id") == self.comm_id:
                    try:
                        found.records.append(codec.decode(message["content"]["data"].get(DATA_KEY),
                                                          message.get("buffers") or []))
                    except (codec.CodecError, AttributeError) as error:
                        found.errors.append(f"comm: {error}")
                elif kind == "status" and message["content"].get("execution_state") == "idle":
                    return found
            self._pause(msg_id, deadline, found)

    def _pause(self, msg_id: str, deadline: float, found: Exchange | None = None):
        if not self.kernel.is_alive():
            raise EOFError(f"the kernel ended ({self.kernel.exit_status()})")
        if time.monotonic() > deadline:
            got = [m["msg_type"] for m in found.messages] if found is not None else "no reply"
            raise TimeoutError(f"the kernel did not finish {msg_id} in time (got {got})")
        time.sleep(POLL_S)
