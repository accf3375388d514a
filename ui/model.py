"""The app model: everything the panels show, and nothing about widgets.

One :class:`AppModel` per window. Panels receive it (through
:class:`gradstudio.ui.panels.PanelContext`), read its state, and connect to
its signals in ``__init__``; they never talk to each other. Data from the
kernel arrives as the plain dicts built by :mod:`gradstudio.studio.kernel.records`
(numpy arrays, str, numbers) and is kept as received.

API for panel authors
=====================

Document
    ``document`` — the script's ``QTextDocument`` (the Script panel edits it);
    ``script_text()``, ``path`` (None for an unsaved document), ``display_name()``,
    ``is_dirty()``, ``cells()`` → ``[gradstudio.studio.session.Cell]``, ``cell_at_line(line)``.
    Signals ``pathChanged(str)``, ``dirtyChanged(bool)``, ``documentReplaced()``
    (another file or New; views drop what they kept of the previous one).

Cell runs (the console)
    ``runs`` — the run dicts in order: ``cell, first_line, execution_count,
    outputs [{stream: 'stdout'|'stderr'|'result'|'error', text}], ok, interrupted,
    error, error_type, error_line, hint, backward_calls [indices]``;
    ``execution_counts`` {cell index → last In [n]}; ``running_cell``;
    ``abandon_cell(reason)`` ends a running cell whose request ended without it.
    Signals ``cellRunStarted(dict)`` (``cell, first_line, execution_count``),
    ``cellRunFinished(dict)`` (a run dict), ``notice(str kind, str text)`` (kind
    'info'|'warning'|'error': kernel restarted, interrupted, died), ``consoleCleared()``.

Backward calls (Graph, Compare, Plots)
    ``calls`` {index → :class:`CallRecord`}, ``call(index)``, ``call_list()``.
    A record holds ``data`` (the call as recorded: ``root {name, grad_fn, shape},
    status, error, hint, gradient, graph {root, nodes}, leaves [{name, vertex,
    shape, numeric}]``) and, once derived, ``check`` (per leaf: ``numeric,
    symbolic, finite_difference, torch (PyTorch's value, when installed), mismatch,
    formula, simplified, latex, chain_latex, pretty, chain_pretty (sympy's
    unicode pretty form, for what mathtext cannot draw), element_symbol, symbols,
    max_abs_error, agree, note`` …; see
    ``gradstudio.studio.kernel.records.leaf_check_data``). Graph nodes are dicts with ``id,
    kind ('leaf'|'const'|'op'), label, grad_fn, op_label, category, doc, name,
    shape, dtype, value, grad, grad_norm, inputs, requires_grad, is_root``.
    Signals ``callAdded(int)``, ``callDeriving(int)``, ``callChecked(int)``,
    ``callsCleared()`` (kernel restarted / new document).

Sweeps (Plots)
    ``runner.request_sweep(call, vertex, element, lo=…, hi=…, points=…)`` asks the
    kernel for f and ∂f/∂element along one element of a leaf; the answer is
    ``sweep`` and signal ``sweepReady(dict)``: ``call, vertex, element, x, f,
    engine, symbolic, finite_difference`` (arrays; engine/symbolic may be None),
    ``at`` (the recorded value), ``note``, ``error`` (a message, or None).

Tensors (Inspector, Plots)
    ``tensors`` {name → dict: ``name, shape, dtype, requires_grad, is_leaf,
    grad_fn, value, value_text, grad, grad_text, value_summary, grad_summary``}.
    Signal ``tensorsChanged()``.

Selection — "selecting a node selects it everywhere"
    ``selection`` is a :class:`Selection` (``call``, ``node``, ``tensor``).
    Call ``select(call=…, node=…)`` for a graph node or ``select(tensor=name)``
    for a variable; the model fills in the rest (a named node selects its
    tensor; a tensor selects its node in the latest call that has it) and
    emits ``selectionChanged(Selection)`` once. ``selected_node()`` and
    ``selected_tensor()`` return the dicts.

Kernel state
    ``busy``, ``kernel_state``, ``status`` (one line for the status bar);
    signals ``busyChanged(bool)``, ``kernelStateChanged(str)``, ``statusChanged(str)``.

Signals carry the model's own dicts (``Signal(object)``: no copy; a
``Signal(dict)`` would deep-copy a 2,000-node graph on every emit). Treat
them as read-only.

Mutators (``begin_cell``, ``finish_cell``, ``set_check``, …) are called by
:class:`gradstudio.ui.runner.Runner`, which feeds the model from the kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextDocument

from gradstudio.studio.cells import split_cells
from .widgets import plain_text

MAX_RUNS_KEPT = 2000


@dataclass(frozen=True)
class Selection:
    """What is selected, shared by every panel. Any field may be None."""

    call: int | None = None     # backward call index
    node: int | None = None     # vertex id in that call's graph
    tensor: str | None = None   # variable name


@dataclass
class CallRecord:
    """One backward call: as recorded (``data``), then as checked (``check``)."""

    index: int
    data: dict
    check: dict | None = None
    deriving: bool = False
    generation: int = 0          # which kernel made it (calls are cleared on restart)
    execution_count: int | None = None     # the In [n] of the cell run that made it

    def where(self) -> str:
        """Where the call was made, in the numbering the gutter and the console show:
        "In [3], line 10" (cells are named by their In [n] everywhere in the app)."""
        line = self.data.get("line")
        place = f"line {line}" if line is not None else ""
        if self.execution_count is None:
            return place
        return f"In [{self.execution_count}], {place}" if place else f"In [{self.execution_count}]"

    @property
    def graph(self) -> dict | None:
        return self.data.get("graph")

    @property
    def nodes(self) -> list:
        graph = self.graph
        return graph["nodes"] if graph else []

    @property
    def status(self) -> str:
        return self.data.get("status", "ok")

    @property
    def pending(self) -> bool:
        """Waiting for its derivation and comparison."""
        return self.check is None and bool(self.data.get("pending_check"))

    def node(self, node_id: int) -> dict | None:
        nodes = self.nodes
        return nodes[node_id] if node_id is not None and 0 <= node_id < len(nodes) else None

    def node_named(self, name: str) -> dict | None:
        """The last vertex carrying this variable name (the value the name refers to)."""
        for node in reversed(self.nodes):
            if node.get("name") == name:
                return node
        return None

    def leaf_check(self, vertex: int) -> dict | None:
        if self.check is None:
            return None
        for leaf in self.check["leaves"]:
            if leaf["vertex"] == vertex:
                return leaf
        return None

    def title(self) -> str:
        root = self.data["root"]
        name = root.get("name") or "(expression)"
        gradient = "gradient=…" if self.data.get("gradient") is not None else ""
        return f"{name}.backward({gradient})"


class AppModel(QObject):
    """See the module docstring."""

    pathChanged = Signal(str)
    dirtyChanged = Signal(bool)
    cellRunStarted = Signal(object)
    cellRunFinished = Signal(object)
    notice = Signal(str, str)
    consoleCleared = Signal()
    callAdded = Signal(int)
    callDeriving = Signal(int)
    callChecked = Signal(int)
    callsCleared = Signal()
    documentReplaced = Signal()       # set_script: another file, or New (before its view state is restored)
    tensorsChanged = Signal()
    sweepReady = Signal(object)
    selectionChanged = Signal(object)
    busyChanged = Signal(bool)
    kernelStateChanged = Signal(str)
    statusChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.document = QTextDocument(self)
        self._stand_in: str | None = None        # what holds U+2029 in the document
        self.document.modificationChanged.connect(self._on_modification_changed)
        self.path: str | None = None
        self.untitled_name = "untitled.gradstudio"
        self.view_state: dict = {}
        self._view_dirty = False
        self.runs: list = []
        self.execution_counts: dict = {}
        self.running_cell: int | None = None
        self._running_message: dict | None = None     # the cell_started of running_cell
        self.calls: dict = {}
        self.tensors: dict = {}
        self.sweep: dict | None = None
        self.selection = Selection()
        self.busy = False
        self.kernel_state = "stopped"
        self.status = ""
        self.generation = 0

    # -- document ----------------------------------------------------------------------------
    def script_text(self) -> str:
        """The text exactly as typed or opened (U+00A0, U+2028, U+2029 kept: see plain_text)."""
        return plain_text.text_of(self.document, self._stand_in)

    def set_script(self, text: str, path: str | None, *, untitled_name: str | None = None):
        """Replace the document (a file was opened, or New). Clean afterwards."""
        self._stand_in = plain_text.set_text(self.document, text)
        self.document.clearUndoRedoStacks()
        self.untitled_name = untitled_name or "untitled.gradstudio"
        self.set_path(path)
        self.mark_clean()
        self.documentReplaced.emit()

    def set_path(self, path: str | None):
        self.path = path
        self.pathChanged.emit(path or "")

    def display_name(self) -> str:
        import os
        return os.path.basename(self.path) if self.path else self.untitled_name

    def is_dirty(self) -> bool:
        return self.document.isModified() or self._view_dirty

    def mark_clean(self):
        was = self.is_dirty()
        self._view_dirty = False
        self.document.setModified(False)
        if was:
            self.dirtyChanged.emit(False)

    def mark_dirty(self):
        """Something saved with the document changed (not the text: that marks itself)."""
        if not self.is_dirty():
            self._view_dirty = True
            self.dirtyChanged.emit(True)

    def _on_modification_changed(self, modified: bool):
        self.dirtyChanged.emit(self.is_dirty())

    def cells(self) -> list:
        return split_cells(self.script_text())

    def cell_at_line(self, line: int):
        """The cell containing ``line`` (1-based), or the nearest one before it."""
        found = None
        for cell in self.cells():
            if cell.first_line <= line:
                found = cell
            else:
                break
        return found

    # -- runs ----------------------------------------------------------------------------------
    def begin_cell(self, message: dict):
        self.running_cell = message.get("cell")
        self._running_message = message
        self.cellRunStarted.emit(message)

    def finish_cell(self, run: dict, calls: list, tensors: list | None):
        """A cell ended; ``tensors`` None keeps the tensors shown so far (the kernel
        could not describe them)."""
        self.running_cell = None
        self._running_message = None
        self.runs.append(run)
        del self.runs[:-MAX_RUNS_KEPT]
        if run.get("cell") is not None:
            self.execution_counts[run["cell"]] = run["execution_count"]
        self.cellRunFinished.emit(run)
        for data in calls:
            record = CallRecord(data["index"], data, generation=self.generation,
                                execution_count=run.get("execution_count"))
            self.calls[record.index] = record
            self.callAdded.emit(record.index)
        if tensors is not None:
            self.set_tensors(tensors)

    def abandon_cell(self, reason: str):
        """End the running cell, if any, as failed with ``reason``: the kernel's request
        ended (an internal error in the kernel) without the cell's ``cell_finished``.
        Its ``[*]`` goes and the console shows why, instead of the cell running forever."""
        if self.running_cell is None:
            return
        started = self._running_message or {}
        self.finish_cell({
            "cell": self.running_cell, "first_line": started.get("first_line"),
            "execution_count": started.get("execution_count"),
            "outputs": [{"stream": "error", "text": reason.rstrip("\n") + "\n"}],
            "ok": False, "interrupted": False, "error": reason, "error_type": "InternalError",
            "error_line": None, "hint": None, "backward_calls": []}, [], None)

    def add_notice(self, kind: str, text: str):
        self.notice.emit(kind, text)

    def clear_console(self):
        self.runs.clear()
        self.consoleCleared.emit()

    # -- calls -----------------------------------------------------------------------------------
    def call(self, index: int) -> CallRecord | None:
        return self.calls.get(index)

    def call_list(self) -> list:
        return [self.calls[i] for i in sorted(self.calls)]

    def set_deriving(self, index: int):
        record = self.calls.get(index)
        if record is not None:
            record.deriving = True
            self.callDeriving.emit(index)

    def set_check(self, check: dict):
        record = self.calls.get(check["index"])
        if record is None:
            return
        record.check = check
        record.deriving = False
        self.callChecked.emit(record.index)

    def pending_checks(self) -> list:
        return [r.index for r in self.calls.values() if r.pending]

    def reset_kernel_state(self):
        """The kernel was replaced: its calls, tensors and counts are gone."""
        self.generation += 1
        self.calls.clear()
        self.tensors.clear()
        self.sweep = None
        self.execution_counts.clear()
        self.running_cell = None
        self.callsCleared.emit()
        self.tensorsChanged.emit()
        self.select()

    def set_sweep(self, sweep: dict):
        self.sweep = sweep
        self.sweepReady.emit(sweep)

    # -- tensors ---------------------------------------------------------------------------------
    def set_tensors(self, tensors: list):
        self.tensors = {t["name"]: t for t in tensors}
        self.tensorsChanged.emit()

    def tensor(self, name: str | None) -> dict | None:
        return self.tensors.get(name) if name else None

    def latest_call_with(self, name: str) -> tuple:
        """(call index, node id) of the newest call whose graph has a vertex named ``name``."""
        for record in reversed(self.call_list()):
            node = record.node_named(name)
            if node is not None:
                return record.index, node["id"]
        return None, None

    # -- selection -------------------------------------------------------------------------------
    def select(self, *, call: int | None = None, node: int | None = None, tensor: str | None = None):
        """Select a graph node (``call`` + ``node``) or a variable (``tensor``);
        the other fields are filled in. ``select()`` clears the selection."""
        if call is not None and node is not None and tensor is None:
            record = self.calls.get(call)
            found = record.node(node) if record is not None else None
            tensor = found.get("name") if found else None
        elif tensor is not None and call is None:
            call, node = self.latest_call_with(tensor)
        selection = Selection(call, node, tensor)
        if selection != self.selection:
            self.selection = selection
            self.selectionChanged.emit(selection)

    def selected_node(self) -> dict | None:
        record = self.calls.get(self.selection.call) if self.selection.call is not None else None
        return record.node(self.selection.node) if record is not None else None

    def selected_tensor(self) -> dict | None:
        return self.tensor(self.selection.tensor)

    # -- kernel state ------------------------------------------------------------------------------
    def set_busy(self, busy: bool):
        if busy != self.busy:
            self.busy = busy
            self.busyChanged.emit(busy)

    def set_kernel_state(self, state: str):
        if state != self.kernel_state:
            self.kernel_state = state
            self.kernelStateChanged.emit(state)

    def set_status(self, text: str):
        if text != self.status:
            self.status = text
            self.statusChanged.emit(text)
