"""PyTorch's replay (:mod:`gradstudio.studio.oracle`) in a warm process of its own.

Importing torch costs 2–3 s of CPU (torch 2.13), and in the kernel's own process
that import — even in a thread — holds the GIL against the user's first cell
(measured: the 200-step loop's first run waited seconds for it). Here it runs on
another core while the kernel starts and the user reads: the kernel's
:class:`~gradstudio.studio.kernel.service.KernelService` starts an
:class:`OracleWorker` in its ``warm_up``, and a check sends the call's recorded
graph (values, no engine gradients: torch computes its own) and gets torch's
gradients back, the same :func:`~gradstudio.studio.oracle.torch_gradients` answer
the kernel computed itself before. The kernel never imports torch.

The child ignores SIGINT (an interrupt is for the user's cell, and the worker stays
warm), ends when the kernel's end of the pipe closes, and is killed and started afresh
when a replay misses its deadline. An interrupted wait leaves its answer in the
pipe: the next request drops it first. What crosses the pipe is the kernel's own
recorded data (the trusted side of GradStudio, as for the symbolic worker).
"""
from __future__ import annotations

import sys
import time
from multiprocessing.connection import Connection

from gradstudio.studio.symbolic.worker import WorkerProcess, _Duplex, _for_derivation

REPLAY_SECONDS = 60.0     # torch's import (on a loaded machine) and one replay


def _serve(connection):
    """Child main loop: import torch, say ready, answer ``("torch", (graph, gradient,
    leaf ids))`` with {leaf id: gradient} until told to stop or the pipe closes."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from gradstudio.studio import oracle
    try:
        oracle._torch()
        from gradstudio.studio import trace  # noqa: F401  (the replay's interpreter, and the engine)
    except Exception:  # a broken torch: each replay says so
        pass
    connection.send(("ready", None))
    while True:
        try:
            kind, payload = connection.recv()
        except EOFError:
            return
        try:
            if kind == "torch":
                connection.send(("ok", oracle.torch_gradients(*payload)))
            elif kind == "stop":
                return
            else:
                raise ValueError(f"unknown request {kind!r}")
        except Exception as error:  # sent back: the check has no torch column
            connection.send(("error", f"{type(error).__name__}: {error}"))


class OracleWorker(WorkerProcess):
    """See the module docstring."""

    MODULE = "gradstudio.studio.oracle_worker"

    def __init__(self):
        super().__init__()
        self._owed = False          # a request whose answer was not read (an interrupted wait)

    def torch_gradients(self, graph, gradient, leaf_ids, timeout: float = REPLAY_SECONDS) -> dict:
        """{leaf vertex: torch's gradient} as :func:`oracle.torch_gradients` gives it;
        raises RuntimeError (torch refused the replay) or TimeoutError (the child was
        restarted)."""
        deadline = time.monotonic() + timeout
        self._drop_owed(deadline)
        self._owed = True
        try:
            answer = self._ask(("torch", (_for_derivation(graph), gradient, list(leaf_ids))), deadline)
        except Exception:       # an error answer was read, or the child was started afresh: nothing owed
            self._owed = False
            raise
        self._owed = False      # (a KeyboardInterrupt while waiting leaves it owed)
        return answer

    def _drop_owed(self, deadline: float):
        if not self._owed:
            return
        self._owed = False
        try:
            if self._connection is not None and self._connection.poll(max(0.0, deadline - time.monotonic())):
                self._connection.recv()
                return
        except (EOFError, OSError):
            pass
        self._restart()


if __name__ == "__main__":
    _serve(_Duplex(Connection(int(sys.argv[1]), writable=False),
                   Connection(int(sys.argv[2]), readable=False)))
