"""Symbolic work in a separate, killable process with a time limit.

sympy can run for minutes (``simplify``) or hold the GIL inside one big-integer
operation, and a thread cannot be stopped, so derivations run in a warm child
process (sympy already imported). Each job gets a deadline; on timeout the
child is killed and a fresh one started, and the caller gets a formula-less
result that says so — the numbers are still compared by finite differences.

Derivation and simplification are separate jobs: a simplification that times
out still leaves the chain form.

:meth:`SymbolicWorker.submit_derive` sends a derivation and returns at once, so
the caller can do other work (the kernel writes and sends a cell's records)
while the child derives; the answer is collected by the handle's ``result()``.
At most one job is out at a time: a request made while one nobody collected is
still out drops it (its answer, or the child, as an interrupt does).
"""
from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from multiprocessing.connection import Connection

from gradstudio.studio.symbolic import LeafFormula

MEMORY_LIMIT_BYTES = 4 * 1024 ** 3


def _serve(connection):
    """Child process main loop: answer ("derive" | "simplify", …) requests until
    told to stop or the parent goes away (end of the pipe)."""
    import resource
    import signal
    import sys
    # A Jupyter front end interrupts a kernel by signalling its process group,
    # which holds this worker too: the worker is cancelled by being killed,
    # never by SIGINT, so it stays warm across the user's interrupts.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ValueError, OSError):  # not permitted here: run without the cap
        pass
    sys.setrecursionlimit(20000)
    from gradstudio.studio import symbolic
    symbolic.sp()  # import sympy now, so the first job is fast
    _warm_up(symbolic)
    connection.send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        kind, payload = request
        try:
            if kind == "derive":
                graph, gradient, leaf_ids = payload
                answer = symbolic.derive_call(graph, gradient, leaf_ids, simplify=False)
            elif kind == "simplify":
                answer = symbolic.simplify_formula(payload)
            elif kind == "along":
                answer = symbolic.values_along(*payload)
            elif kind == "stop":
                return
            else:
                raise ValueError(f"unknown request {kind!r}")
            connection.send(("ok", answer))
        except MemoryError:
            connection.send(("error", "sympy ran out of memory"))
        except Exception as error:  # sent back: the caller shows it beside the numbers
            connection.send(("error", f"{type(error).__name__}: {error}"))


def _warm_up(symbolic) -> bool:
    """One small derivation before the worker says it is ready: the modules a job
    imports on first use and sympy's caches are then loaded (a 100-node design's
    first derivation took 4.5 s, the next ones 0.4–0.7 s, on a loaded machine; 0.7 s
    after this). True if it derived a formula."""
    try:
        from gradstudio.studio.session import Session
        session = Session()
        session.run_cell("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                         "(torch.sigmoid(x @ x) * 3 + x.tanh()).mean().backward()\n")
        (call,) = session.backward_calls
        formulas = symbolic.derive_call(call.graph, call.gradient, [leaf.vertex for leaf in call.leaves],
                                        simplify=False)
        for formula in formulas.values():
            symbolic.simplify_formula(formula)
        return any(formula.formula for formula in formulas.values())
    except Exception:  # a warm-up only: the first real job pays instead
        return False


class _Duplex:
    """One Connection-like object over two pipes (the child's stdin side and a result pipe)."""

    def __init__(self, reader: Connection, writer: Connection):
        self.reader, self.writer = reader, writer

    def send(self, obj):
        self.writer.send(obj)

    def recv(self):
        return self.reader.recv()

    def poll(self, timeout):
        return self.reader.poll(timeout)

    def close(self):
        self.reader.close()
        self.writer.close()


_live_workers: set = set()


@atexit.register
def _kill_all():
    for worker in list(_live_workers):
        worker.close()


class SymbolicWorker:
    """A warm child process for :mod:`gradstudio.studio.symbolic`; see the module docstring.

    The child is ``python -m gradstudio.studio.symbolic.worker`` talking over two pipes,
    so it works whatever the parent's ``__main__`` is (a REPL, the app, pytest)."""

    def __init__(self):
        self._process = None
        self._connection = None
        self._ready = False
        self.restarts = 0
        self._outstanding = None      # the PendingDerivation whose answer is still in the pipe

    # -- lifecycle ---------------------------------------------------------------
    def start(self):
        if self._process is not None and self._process.poll() is None:
            return
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gradstudio.studio.symbolic.worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, close_fds=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._connection = _Duplex(Connection(from_child_r, writable=False),
                                   Connection(to_child_w, readable=False))
        self._ready = False
        _live_workers.add(self)

    def _wait_ready(self, deadline: float) -> bool:
        if self._ready:
            return True
        if self._connection.poll(max(0.0, deadline - time.monotonic())):
            try:
                self._connection.recv()
            except EOFError:
                return False
            self._ready = True
        return self._ready

    def close(self):
        """Stop the child (no stray process is left behind)."""
        _live_workers.discard(self)
        if self._process is None:
            return
        try:
            if self._process.poll() is None and self._ready:
                self._connection.send(("stop", None))
                self._process.wait(0.5)
        except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
            pass
        self._kill()

    def _kill(self):
        self._outstanding = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(5)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    @property
    def pid(self):
        return self._process.pid if self._process is not None else None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- jobs ------------------------------------------------------------------------
    def _ask(self, request, deadline: float):
        """Send a request; the answer, or raise TimeoutError (child killed and restarted)."""
        self._send(request, deadline)
        return self._answer(deadline)

    def _send(self, request, deadline: float):
        self._settle()
        self.start()
        if not self._wait_ready(deadline):
            self._restart()
            raise TimeoutError("the symbolic worker did not start in time")
        self._connection.send(request)

    def _answer(self, deadline: float):
        """The answer to the request sent last, or raise TimeoutError (child killed and restarted)."""
        if not self._connection.poll(max(0.0, deadline - time.monotonic())):
            self._restart()
            raise TimeoutError
        try:
            status, answer = self._connection.recv()
        except (EOFError, OSError):  # the child died (memory limit, crash)
            self._restart()
            raise RuntimeError("the symbolic worker stopped unexpectedly") from None
        if status == "error":
            raise RuntimeError(answer)
        return answer

    def _settle(self):
        """A submitted job nobody collected (its check was interrupted): drop its answer if it
        is there, else stop the child as a cancelled derivation is stopped (a fresh one
        starts), so the next answer read is the next request's and nobody waits for sympy."""
        pending, self._outstanding = self._outstanding, None
        if pending is None:
            return
        try:
            if self._connection is not None and self._connection.poll(0):
                self._connection.recv()
                return
        except (EOFError, OSError):
            pass
        self._restart()

    def _restart(self):
        self._kill()
        self.restarts += 1
        self.start()

    def values_along(self, graph, gradient, leaf_id, element, xs, timeout: float):
        """∂f/∂leaf[element] at each of ``xs`` from one closed form (everything else
        held at its recorded value): (values, None) or (None, why not)."""
        try:
            return self._ask(("along", (graph, gradient, leaf_id, tuple(element), xs)),
                             time.monotonic() + timeout), None
        except TimeoutError:
            return None, f"the closed form along this element took more than {timeout:g} s"
        except RuntimeError as error:
            return None, f"no closed form along this element: {error}"

    def derive(self, graph, gradient, leaf_ids, timeout: float) -> dict:
        """Formulas for ``leaf_ids`` within ``timeout`` seconds (best effort after that)."""
        deadline = time.monotonic() + timeout
        leaf_ids = list(leaf_ids)
        try:
            formulas = self._ask(("derive", (_for_derivation(graph), gradient, leaf_ids)), deadline)
        except (TimeoutError, RuntimeError) as error:
            return _failed(error, leaf_ids, timeout)
        return self._simplified(formulas, deadline)

    def submit_derive(self, graph, gradient, leaf_ids, timeout: float) -> "PendingDerivation | None":
        """Send the derivation :meth:`derive` would make and return at once: its handle's
        ``result()`` is :meth:`derive`'s answer, the time limit counted from now. None
        (nothing sent) while the child is still starting: the caller derives as usual."""
        deadline = time.monotonic() + timeout
        self._settle()
        self.start()
        if not self._wait_ready(time.monotonic()):
            return None
        pending = PendingDerivation(self, graph, gradient, list(leaf_ids), timeout, deadline)
        self._connection.send(("derive", (_for_derivation(graph), gradient, pending.leaf_ids)))
        self._outstanding = pending
        return pending

    def _simplified(self, formulas: dict, deadline: float) -> dict:
        for leaf_id, formula in formulas.items():
            if formula.expression is None or formula.kind == "matrix":
                continue   # a matrix form is simplified as it is derived: no round trip to time out
            try:
                formulas[leaf_id] = self._ask(("simplify", formula), deadline)
            except TimeoutError:
                formula.note = ((formula.note + " ") if formula.note else "") + \
                    "Simplification timed out; the unsimplified form is shown."
            except RuntimeError as error:
                formula.note = f"simplification failed: {error}"
        return formulas


class PendingDerivation:
    """A derivation out in the worker (:meth:`SymbolicWorker.submit_derive`)."""

    def __init__(self, worker, graph, gradient, leaf_ids, timeout, deadline):
        self.worker, self.graph, self.gradient, self.leaf_ids = worker, graph, gradient, leaf_ids
        self.timeout, self.deadline = timeout, deadline

    def result(self) -> dict:
        """What :meth:`SymbolicWorker.derive` returns: the formulas, or notes saying why not."""
        worker = self.worker
        if worker._outstanding is not self:     # lost (the child was restarted): derive anew, in full
            return worker.derive(self.graph, self.gradient, self.leaf_ids, self.timeout)
        worker._outstanding = None
        try:
            formulas = worker._answer(self.deadline)
        except (TimeoutError, RuntimeError) as error:
            return _failed(error, self.leaf_ids, self.timeout)
        return worker._simplified(formulas, self.deadline)


def _for_derivation(graph):
    """The graph without the engine's gradients: a derivation never reads them (it must
    not: it is the independent side of the comparison), and they were half of what a
    100-node graph of 1,000-element tensors sent through the pipe."""
    import dataclasses
    from gradstudio.studio.trace import Graph
    if all(vertex.grad is None for vertex in graph.nodes):
        return graph
    return Graph([dataclasses.replace(vertex, grad=None) for vertex in graph.nodes], graph.root)


def _failed(error, leaf_ids, timeout: float) -> dict:
    if isinstance(error, TimeoutError):
        return {i: LeafFormula(note=f"symbolic derivation timed out after {timeout:g} s; the "
                                    "numbers are still compared by finite differences")
                for i in leaf_ids}
    return {i: LeafFormula(note=f"symbolic derivation failed: {error}") for i in leaf_ids}


def worker_pid_alive(pid: int) -> bool:
    """Whether a process id is still running (for tests that check for strays)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


if __name__ == "__main__":
    _serve(_Duplex(Connection(int(sys.argv[1]), writable=False),
                   Connection(int(sys.argv[2]), readable=False)))
