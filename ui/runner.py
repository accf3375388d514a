"""Running the document's cells: the link between the kernel client and the model.

:class:`Runner` turns user commands (run this cell, run all, interrupt,
restart) into kernel requests, and the kernel's messages into model updates
and status text. Panels and menus call the runner; they never touch the
kernel client.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.service import DEFAULT_DERIVE_TIMEOUT
from .jupyter_client import JupyterClient
from .model import AppModel


def has_code(source: str) -> bool:
    """Whether a cell has anything to run (not only comments and blank lines)."""
    return any(line.strip() and not line.lstrip().startswith("#") for line in source.splitlines())


class Runner(QObject):
    internalError = Signal(str, str)    # (summary, details): a bug to show in the error panel
    jacobianReceived = Signal(object)   # the kernel's JacobianResult (request_jacobian)
    localDerivativesReceived = Signal(object)   # the kernel's LocalDerivatives (request_local_derivatives)
    hessianReceived = Signal(object)    # the kernel's HessianResult (request_hessian)
    # A cell's records are all in the model (its run, calls, tensors and the selection that
    # follows them): a view that waits for a burst of changes to end can draw now.
    cellApplied = Signal()

    def __init__(self, model: AppModel, client=None, parent=None, *,
                 derive_timeout: float = DEFAULT_DERIVE_TIMEOUT):
        super().__init__(parent)
        self.model = model
        self.client = client or JupyterClient(self)
        self.derive_timeout = derive_timeout
        self._auto_selection = None
        self._kernel_used = False         # has the current kernel run anything?
        # Cells sent and not finished yet: the Plots panel draws after a run's last one.
        # Back to 0 when the kernel is idle (a failed cell ends a run early).
        self.cells_to_finish = 0
        c = self.client
        c.cellStarted.connect(self._on_cell_started)
        c.cellFinished.connect(self._on_cell_finished)
        c.deriving.connect(self._on_deriving)
        c.callChecked.connect(model.calls.set_check)
        # a call the window dropped (a design's replaced live call) is dropped in the kernel too
        model.calls.callRemoved.connect(lambda index, replacement: c.forget_calls([index]))
        c.tensorsReceived.connect(model.tensors.set_tensors)
        c.sweepReceived.connect(model.sweeps.set_sweep)
        c.requestDone.connect(self._on_request_done)
        c.busyChanged.connect(self._on_busy_changed)     # before the model hears it
        c.busyChanged.connect(model.kernel.set_busy)
        c.stateChanged.connect(self._on_state_changed)
        c.died.connect(lambda text: model.console.add_notice("error", text))
        c.restarted.connect(self._on_restarted)
        c.kernelError.connect(self._on_kernel_error)
        c.badMessage.connect(self._on_bad_message)
        c.message.connect(self._on_message)
        from .lazy_checks import LazyChecks
        self.lazy_checks = LazyChecks(model, self)     # a loop's other calls: checked when selected

    # -- commands --------------------------------------------------------------------------------
    def start(self):
        self.client.start()

    def shutdown(self):
        self.client.shutdown()

    def run_cells(self, cells: list):
        cells = [c for c in cells if has_code(c.source)]
        if not cells:
            self.model.kernel.set_status("")
            return
        self.cells_to_finish += len(cells)
        self.client.run_cells(
            [{"index": c.index, "source": c.source, "first_line": c.first_line} for c in cells],
            timeout=self.derive_timeout, continue_past_backward_errors=True)
        if self.model.kernel.status == "" or not self.client.busy:
            self.model.kernel.set_status("Waiting for the kernel…")

    def run_cell(self, index: int) -> bool:
        cell = next((c for c in self.model.script.cells() if c.index == index), None)
        if cell is None:
            return False
        self.run_cells([cell])
        return True

    def run_cell_at_line(self, line: int):
        """Run the cell containing ``line``; returns it (None if the script is empty)."""
        cell = self.model.script.cell_at_line(line)
        if cell is not None:
            self.run_cells([cell])
        return cell

    def run_all(self):
        """Every cell in order; goes on past a failed backward() (the tutorial shows
        those on purpose) and stops at any other error."""
        self.run_cells(self.model.script.cells())

    def run_design(self, source: str, design=None):
        """Run the node editor's script (``codegen.design_to_script``) as one cell outside the
        document's numbering (cell None); its backward call arrives like a script's, with its
        provisional check (engine and finite differences: ``numbers_first``), the closed form
        after it; ``generated``: the script is codegen's plain Python, which the kernel need not
        put through IPython's syntax transforms. The editor's one entry point into the kernel.
        ``design``: the design's key, kept on the request (not sent): its calls replace the
        design's previous ones in the model (``AppModel.finish_cell``)."""
        self.client.run_cells([{"index": None, "source": source, "first_line": 1}],
                              timeout=self.derive_timeout, continue_past_backward_errors=True,
                              numbers_first=True, generated=True, design=design)

    def interrupt(self) -> bool:
        interrupted = self.client.interrupt()
        if interrupted:
            self.model.kernel.set_status("Interrupting…")
        return interrupted

    def restart(self, reason: str = "Kernel restarted: variables were cleared."):
        self.client.restart(reason)

    def new_session(self):
        """A new document: fresh kernel (unless the current one never ran anything),
        empty console, no calls."""
        if self._kernel_used or self.client.busy:
            self.client.restart("")
        self.model.console.clear_console()

    def recheck(self, call_index: int, timeout: float | None = None, *, steps: bool = False):
        """Derive a backward call again (e.g. with a longer time limit); ``steps``: and send
        its step trace (a deferred call's record came without it)."""
        request = {"type": "check", "calls": [call_index], "timeout": timeout or self.derive_timeout}
        if steps:
            request["steps"] = True
        self.client.submit(request)

    def request_sweep(self, call: int, vertex: int, element, *, lo: float | None = None,
                      hi: float | None = None, points: int = 41, timeout: float | None = None):
        """Ask for f and ∂f/∂element along one element of a leaf; the answer arrives
        as ``model.sweeps.sweepReady`` (see gradstudio.studio.sweep for the keys)."""
        request = {"type": "sweep", "call": call, "vertex": vertex, "element": list(element)
                   if isinstance(element, (list, tuple)) else [element], "points": points,
                   "timeout": timeout or self.derive_timeout}
        if lo is not None and hi is not None:
            request.update(lo=float(lo), hi=float(hi))
        self.client.submit(request)

    def request_jacobian(self, call: int, leaf: int = 0, v=None):
        """Ask for J, Jᵀv and backward(gradient=v) of one leaf of a call; the answer is
        the kernel's ``jacobian`` message, emitted as ``jacobianReceived``."""
        request = {"type": "jacobian", "call": call, "leaf": leaf}
        if v is not None:
            request["v"] = [float(x) for x in v]
        self.client.submit(request)

    def request_steps(self, call: int):
        """Ask for a call's step trace (its record came with ``steps_on_request``: a node-editor
        edit's); it arrives as ``model.calls.callStepsArrived``."""
        self.client.submit({"type": "steps", "calls": [call]})

    def request_local_derivatives(self, call: int, vertices=None):
        """Ask for the step-through's VJP of each node of a call written out (local
        derivatives from the ops' symbolic forwards), emitted as ``localDerivativesReceived``."""
        request = {"type": "local_derivatives", "call": call}
        if vertices is not None:
            request["vertices"] = [int(v) for v in vertices]
        self.client.submit(request)

    def request_hessian(self, call: int, vertex: int):
        """Ask for one leaf's Hessian, matrix form beside autograd.functional.hessian;
        the answer is the kernel's ``hessian`` message, emitted as ``hessianReceived``."""
        self.client.submit({"type": "hessian", "call": call, "vertex": vertex})

    def request_tensor_text(self, name: str):
        """Ask for the reprs of a named tensor whose record deferred them; the answer
        fills ``model.tensors`` (``textArrived``)."""
        self.client.submit({"type": "tensor_text", "name": name})

    def is_idle(self) -> bool:
        """Nothing running or queued, the kernel ready, every derivation back."""
        return (not self.client.busy and self.client.state == "idle"
                and not self.model.calls.pending_checks())

    # -- kernel → model ----------------------------------------------------------------------------
    def _on_message(self, message):
        if isinstance(message, schema.JacobianResult):
            self.jacobianReceived.emit(message)
        elif isinstance(message, schema.LocalDerivatives):
            self.localDerivativesReceived.emit(message)
        elif isinstance(message, schema.HessianResult):
            self.hessianReceived.emit(message)
        elif isinstance(message, schema.TensorText):
            self.model.tensors.set_text(message)
        elif isinstance(message, schema.CallSteps):
            self.model.calls.set_steps(message.call, message.steps)

    def _on_cell_started(self, message: dict):
        self._kernel_used = True
        self.model.console.begin_cell(message)
        self.model.kernel.set_status(f"Running In [{message.execution_count}]…")

    def _on_cell_finished(self, message: dict):
        if message.run.cell is not None:          # (the editor's runs are not counted)
            self.cells_to_finish = max(0, self.cells_to_finish - 1)
        request = self.client.current_request or {}      # (the request this cell belongs to)
        design = request.get("design") if message.run.cell is None else None
        self.model.finish_cell(message.run, message.calls, message.tensors, message.checks, design=design)
        self._auto_select(message.calls)
        self.cellApplied.emit()

    def _auto_select(self, calls: list):
        """Until the user selects something, follow the newest backward call (its
        first leaf), so the panels show something useful right away."""
        selection = self.model.selection.current
        untouched = selection.call is None and selection.tensor is None
        if not (untouched or selection == self._auto_selection):
            return
        for call in reversed(calls):
            if call.status == "ok" and call.leaves and self.model.calls.call(call.index) is not None:
                self.model.selection.select(call=call.index, node=call.leaves[0].vertex)
                self._auto_selection = self.model.selection.current
                return

    def _on_busy_changed(self, busy: bool):
        if not busy:
            self.cells_to_finish = 0

    def _on_deriving(self, message: dict):
        self.model.calls.set_deriving(message.call)
        leaves = ", ".join(message.leaves)
        self.model.kernel.set_status(f"Deriving the gradients of backward #{message.call}"
                              f"{' (' + leaves + ')' if leaves else ''}…")

    def _on_kernel_error(self, text: str):
        last = next((line for line in reversed(text.strip().splitlines()) if line.strip()), "")
        self.model.console.abandon_cell(f"Internal error in the kernel: {last}" if last
                                else "Internal error in the kernel")
        self.internalError.emit("Internal error in the kernel", text)

    def _on_bad_message(self, reason: str):
        """Something from the kernel that is not a valid message (the user's code wrote
        on its sockets or its comm, or a bug): skipped, and said in the console; the
        window carries on."""
        self.model.console.add_notice("error", f"A message from the kernel could not be read and was "
                                      f"skipped: {reason}")

    def _on_request_done(self, message: dict):
        self.model.console.abandon_cell("The kernel ended the request before this cell finished.")
        if not self.client.busy:
            self.model.kernel.set_status("")

    def _on_state_changed(self, state: str):
        self.model.kernel.set_kernel_state(state)
        if state == "starting":
            self.model.kernel.set_status("Starting the kernel…")
        elif state == "idle" and not self.client.busy:
            self.model.kernel.set_status("")

    def _on_restarted(self, reason: str):
        self._kernel_used = False
        self.model.reset_kernel_state()
        if reason:
            self.model.console.add_notice("warning", reason)
