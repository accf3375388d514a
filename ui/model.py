"""The app model: everything the panels show, and nothing about widgets.

One :class:`AppModel` per window, made of sub-models that each own one concern
and its signals (napari's ViewerModel is the pattern): a later feature adds its
own sub-model instead of growing this one. Panels receive the AppModel
(through :class:`gradstudio.ui.panels.PanelContext`), read the sub-models they
show and connect to their signals in ``__init__``; they never talk to each
other. Data from the kernel arrives as the typed records of
:mod:`gradstudio.studio.kernel.schema` (frozen dataclasses of numpy arrays,
str and numbers; their fields are documented there) and is kept as received.

API for panel authors
=====================

``model.script`` — :class:`ScriptModel`, the document
    ``document`` (the script's ``QTextDocument``; the Script panel edits it),
    ``script_text()``, ``path`` (None for an unsaved document), ``display_name()``,
    ``is_dirty()``, ``cells()`` → ``[Cell]``, ``cell_at_line(line)``, ``view_state``.
    Signals ``pathChanged(str)``, ``dirtyChanged(bool)``, ``documentReplaced()``
    (another file or New; views drop what they kept of the previous one).

``model.console`` — :class:`ConsoleModel`, cell runs
    ``runs`` (:class:`RunData` in order), ``execution_counts`` {cell index → last
    In [n]}, ``running_cell``, ``last_design`` (the design key of the run just finished); ``abandon_cell(reason)`` ends a running cell whose
    request ended without it. Signals ``cellRunStarted(CellStarted)``,
    ``cellRunFinished(RunData)``, ``notice(str kind, str text)`` (kind
    'info'|'warning'|'error': kernel restarted, interrupted, died, an unreadable
    message), ``consoleCleared()``.

``model.calls`` — :class:`CallsModel`, backward calls and their checks (Graph, Compare, Plots)
    ``call(index)`` → :class:`CallRecord` (``data``: the :class:`CallData` as
    recorded — for one of a loop's calls a :class:`~gradstudio.studio.kernel.shared.SharedCall`
    view, which reads like one and builds its graph record when first asked;
    ``check``: its :class:`CheckData` once derived — first, for a node editor's edit, a
    provisional one, engine and finite differences, until the whole check replaces it),
    ``supersede(index)`` (a node editor's call a later edit made stale: it takes no more
    checks, so a late derivation of it never reaches a panel), ``call_list()``,
    ``pending_checks()``, ``latest_call_with(name)``; ``set_deriving`` / ``clear_deriving``
    (a check the window asked for, :mod:`gradstudio.ui.lazy_checks`). A call whose
    ``data.check_deferred`` is set is checked only when selected (``record.deferred``).
    A node editor design's live run replaces that design's previous calls
    (``add_many(records, design=key)``: ``record.design``, ``record.replaces``), so every
    view shows one current call per open design; ``design_calls(key)``, ``forget_design(key)``.
    Signals ``callAdded(int)``, ``callsAdded(list)`` (after ``add_many``, one cell's
    calls: see :meth:`CallsModel.add_many`), ``callRemoved(int, replacement)`` (a design's
    replaced call, after its replacement's ``callAdded``), ``callDeriving(int)`` (its derivation
    state changed), ``callChecked(int)``, ``callStepsArrived(int)`` (``set_steps``: a
    deferred call's step trace, which came with its check), ``callsCleared()`` (kernel
    restarted / new document).

``model.tensors`` — :class:`TensorsModel`, the named tensors (Inspector, Plots)
    ``tensor(name)`` → :class:`TensorData`, ``by_name`` {name → TensorData}.
    Signal ``tensorsChanged()``.

``model.sweeps`` — :class:`SweepModel` (Plots)
    ``runner.request_sweep(call, vertex, element, lo=…, hi=…, points=…)`` asks the
    kernel for f and ∂f/∂element along one element of a leaf; the answer is
    ``sweep`` (a :class:`SweepData`) and signal ``sweepReady(SweepData)``.

``model.selection`` — :class:`SelectionModel`: "selecting a node selects it everywhere"
    ``current`` is a :class:`Selection` (``call``, ``node``, ``tensor``). Call
    ``select(call=…, node=…)`` for a graph node or ``select(tensor=name)`` for a
    variable; it fills in the rest (a named node selects its tensor; a tensor
    selects its node in the latest call that has it) and emits
    ``selectionChanged(Selection)`` once. ``selected_node()`` → :class:`NodeData`,
    ``selected_tensor()`` → :class:`TensorData`.

``model.kernel`` — :class:`KernelStateModel`
    ``busy``, ``kernel_state``, ``status`` (one line for the status bar); signals
    ``busyChanged(bool)``, ``kernelStateChanged(str)``, ``statusChanged(str)``.

Signals carry the records themselves (``Signal(object)``: no copy). Records are
frozen; the lists inside them are to be treated as read-only.

The AppModel itself only does what spans sub-models — :meth:`AppModel.finish_cell`
(a run, its calls and the tensors arrive together) and
:meth:`AppModel.reset_kernel_state` — and is fed by
:class:`gradstudio.ui.runner.Runner`, which turns the kernel's messages into calls
of the sub-models' mutators.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextDocument

from gradstudio.studio.kernel.schema import (CallData, CellStarted, CheckData, LeafCheckData,
                                             NodeData, OutputData, RunData, SweepData, TensorData)
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
    """One backward call: as recorded (``data``), then as checked (``check``); the
    window's own state about it (``deriving``, which kernel made it, its In [n])."""

    index: int
    data: CallData
    check: CheckData | None = None
    deriving: bool = False
    generation: int = 0          # which kernel made it (calls are cleared on restart)
    superseded: bool = False     # a later edit of its design made it stale: no more checks
    execution_count: int | None = None     # the In [n] of the cell run that made it
    design: object = None        # the node editor design whose live run made it (None: a script's)
    replaces: int | None = None  # the design's previous live call, which it took the place of

    def where(self) -> str:
        """Where the call was made, in the numbering the gutter and the console show:
        "In [3], line 10" (cells are named by their In [n] everywhere in the app)."""
        line = self.data.line
        place = f"line {line}" if line is not None else ""
        if self.execution_count is None:
            return place
        return f"In [{self.execution_count}], {place}" if place else f"In [{self.execution_count}]"

    @property
    def graph(self):
        return self.data.graph

    @property
    def nodes(self) -> list:
        return self.data.nodes

    @property
    def status(self) -> str:
        return self.data.status

    @property
    def pending(self) -> bool:
        """Waiting for its derivation and comparison (the kernel's own, or one the
        window asked for: see :mod:`gradstudio.ui.lazy_checks`); a provisional check
        waits for the whole one, unless a later edit superseded the call."""
        waiting = self.check is None or (self.check.provisional and not self.superseded)
        return waiting and (self.data.pending_check or self.deriving)

    @property
    def deferred(self) -> bool:
        """Not checked, and checked only when the window asks (``CallData.check_deferred``)."""
        return self.check is None and self.data.check_deferred and not self.deriving

    def node(self, node_id: int) -> NodeData | None:
        nodes = self.nodes
        return nodes[node_id] if node_id is not None and 0 <= node_id < len(nodes) else None

    def node_named(self, name: str) -> NodeData | None:
        """The last vertex carrying this variable name (the value the name refers to)."""
        for node in reversed(self.nodes):
            if node.name == name:
                return node
        return None

    def leaf_check(self, vertex: int) -> LeafCheckData | None:
        return self.check.leaf(vertex) if self.check is not None else None

    def title(self) -> str:
        name = self.data.root.name or "(expression)"
        gradient = "gradient=…" if self.data.gradient is not None else ""
        return f"{name}.backward({gradient})"


class ScriptModel(QObject):
    """The script's document: its text, file, dirty state and cells."""

    pathChanged = Signal(str)
    dirtyChanged = Signal(bool)
    documentReplaced = Signal()       # set_script: another file, or New (before its view state is restored)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.document = QTextDocument(self)
        self._stand_in: str | None = None        # what holds U+2029 in the document
        self.document.modificationChanged.connect(self._on_modification_changed)
        self.path: str | None = None
        self.untitled_name = "untitled.gradstudio"
        self.view_state: dict = {}
        self._view_dirty = False
        self._parts_modified: set = set()       # other parts of the project with unsaved edits

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

    def is_dirty(self, *, parts: bool = True) -> bool:
        """Unsaved changes: the text's, the view state's and (``parts``) the other parts'."""
        return self.document.isModified() or self._view_dirty or (parts and bool(self._parts_modified))

    def set_part_modified(self, part: str, modified: bool):
        """Another part saved with the document (the node editor's designs) has unsaved
        edits, or is back at its saved state; saving (``mark_clean``) clears them all."""
        was = self.is_dirty()
        (self._parts_modified.add if modified else self._parts_modified.discard)(part)
        if self.is_dirty() != was:
            self.dirtyChanged.emit(not was)

    def mark_clean(self):
        was = self.is_dirty()
        self._view_dirty = False
        self._parts_modified.clear()
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


class ConsoleModel(QObject):
    """Cell runs as the console shows them, and notices."""

    cellRunStarted = Signal(object)
    cellRunFinished = Signal(object)
    notice = Signal(str, str)
    consoleCleared = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs: list = []
        self.execution_counts: dict = {}
        self.running_cell: int | None = None
        self._running_message: CellStarted | None = None     # the CellStarted of running_cell
        self.last_design = None          # the design of the run finished last (see finish_run)

    def begin_cell(self, message: CellStarted):
        self.running_cell = message.cell
        self._running_message = message
        self.cellRunStarted.emit(message)

    def finish_run(self, run: RunData, design=None):
        """``design``: the key of the node editor design whose live run this was
        (``last_design`` while ``cellRunFinished`` is emitted; None for a script's cell)."""
        self.last_design = design
        self.running_cell = None
        self._running_message = None
        self.runs.append(run)
        del self.runs[:-MAX_RUNS_KEPT]
        if run.cell is not None:
            self.execution_counts[run.cell] = run.execution_count
        self.cellRunFinished.emit(run)

    def abandon_cell(self, reason: str):
        """End the running cell, if any, as failed with ``reason``: the kernel's request
        ended (an internal error in the kernel) without the cell's ``CellFinished``.
        Its ``[*]`` goes and the console shows why, instead of the cell running forever."""
        if self.running_cell is None:
            return
        started = self._running_message
        self.finish_run(RunData(
            cell=self.running_cell, first_line=started.first_line if started else None,
            execution_count=started.execution_count if started else None,
            outputs=[OutputData("error", reason.rstrip("\n") + "\n")],
            ok=False, error=reason, error_type="InternalError"))

    def add_notice(self, kind: str, text: str):
        self.notice.emit(kind, text)

    def clear_console(self):
        self.runs.clear()
        self.consoleCleared.emit()

    def reset(self):
        """The kernel was replaced: its In [n] counts are gone (the console text stays)."""
        self.execution_counts.clear()
        self.running_cell = None


class CallsModel(QObject):
    """The backward calls the kernel recorded, and their checks."""

    callAdded = Signal(int)
    callsAdded = Signal(list)        # after add_many: the indices it added, in order
    callDeriving = Signal(int)
    callChecked = Signal(int)
    callStepsArrived = Signal(int)   # a call's step trace came after its record (record.data.steps)
    # (index, the index of the call that took its place, or None): a design's live call
    # gone, after its replacement's callAdded — see add_many's ``design``
    callRemoved = Signal(int, object)
    callsCleared = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.records: dict = {}          # index -> CallRecord
        self._design_calls: dict = {}    # design key -> the indices of its current live run's calls
        self._closed_designs: set = set()
        self.adding = False              # inside add_many: a view may wait for callsAdded
        # the calls that may be pending (``is_idle`` asks often; a loop leaves hundreds of
        # calls that are not): added when a call comes pending or starts deriving
        self._maybe_pending: set = set()

    def call(self, index: int) -> CallRecord | None:
        return self.records.get(index)

    def call_list(self) -> list:
        return [self.records[i] for i in sorted(self.records)]

    def add(self, record: CallRecord):
        self.records[record.index] = record
        if record.pending:
            self._maybe_pending.add(record.index)
        self.callAdded.emit(record.index)

    def add_many(self, records: list, *, design=None):
        """One cell's calls: ``callAdded`` for each, then ``callsAdded`` once. A view
        whose work per call grows with the calls it shows (a tree's layout, a combo
        box filled afresh) skips ``callAdded`` while :attr:`adding` and does the
        batch on ``callsAdded`` — 200 calls of a training loop are one update.

        ``design``: the calls are a node editor design's live run (its key). A design's
        live run is a view of the design, not a record to keep: its calls replace the
        design's previous ones (the first new call takes the place of the first old,
        ``replaces``), which are then removed, ``callRemoved`` each — one current call
        per open design, however many edits. A script's calls are never replaced."""
        if design in self._closed_designs:
            return                       # a closed design's run that was still out
        previous = self._design_calls.pop(design, []) if design is not None else []
        for record in records:
            record.design = design
        if records and previous:
            records[0].replaces = previous[0]
        self.adding = True
        try:
            for record in records:
                self.add(record)
        finally:
            self.adding = False
        if records:
            self.callsAdded.emit([record.index for record in records])
        if design is not None:
            self._design_calls[design] = [record.index for record in records]
        replacement = records[0].index if records else None
        for index in previous:
            self.remove(index, replacement)

    def design_calls(self, design) -> list:
        """The indices of ``design``'s current live calls."""
        return list(self._design_calls.get(design, ()))

    def forget_design(self, design):
        """The design was closed: its live calls go, and so will a run of it still out."""
        self._closed_designs.add(design)
        for index in self._design_calls.pop(design, []):
            self.remove(index, None)

    def remove(self, index: int, replacement: int | None = None):
        """Drop a call (its arrays go with the record); views drop what they show of it."""
        if self.records.pop(index, None) is None:
            return
        self._maybe_pending.discard(index)
        self.callRemoved.emit(index, replacement)

    def set_deriving(self, index: int):
        record = self.records.get(index)
        if record is not None and not record.superseded:
            record.deriving = True
            self._maybe_pending.add(index)
            self.callDeriving.emit(index)

    def clear_deriving(self, index: int):
        """A derivation the window asked for ended without a check (superseded, the
        request failed or was dropped): the call is back to its previous state."""
        record = self.records.get(index)
        if record is not None and record.deriving and record.check is None:
            record.deriving = False
            self.callDeriving.emit(index)

    def supersede(self, index: int):
        """A later edit of the node editor's design made this call stale: the checks that
        still come for it (its derivation, PyTorch's column, a cancellation) are dropped,
        and it waits for none (``callDeriving``: its state changed)."""
        record = self.records.get(index)
        if record is not None and not record.superseded:
            record.superseded = True
            record.deriving = False
            self.callDeriving.emit(index)

    def set_steps(self, index: int, steps: dict | None):
        """A call's step trace that came after its record (``CallSteps``: a deferred call's with
        its check, a ``steps_on_request`` call's when asked for); None for an on-request call:
        the kernel had none to give, and the call says so from now on."""
        record = self.records.get(index)
        if record is None or record.data.steps is not None:
            return
        if steps is not None:
            record.data = record.data.replace(steps=steps)
        elif getattr(record.data, "steps_on_request", False):
            record.data = record.data.replace(steps_on_request=False)
        else:
            return
        self.callStepsArrived.emit(index)

    def set_check(self, check: CheckData):
        record = self.records.get(check.index)
        if record is None or record.superseded:
            return
        record.check = check
        record.deriving = False
        self.callChecked.emit(record.index)

    def pending_checks(self) -> list:
        records = self.records
        done = {i for i in self._maybe_pending if i not in records or not records[i].pending}
        self._maybe_pending -= done
        return sorted(self._maybe_pending)

    def latest_call_with(self, name: str) -> tuple:
        """(call index, node id) of the newest call whose graph has a vertex named ``name``."""
        for record in reversed(self.call_list()):
            node = record.node_named(name)
            if node is not None:
                return record.index, node.id
        return None, None

    def clear(self):
        self.records.clear()
        self._maybe_pending.clear()
        self._design_calls.clear()
        self.callsCleared.emit()


class TensorsModel(QObject):
    """The script's named tensors, as the kernel last described them."""

    tensorsChanged = Signal()
    textArrived = Signal(str)           # a deferred tensor's reprs came (its name)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.by_name: dict = {}          # name -> TensorData

    def set_tensors(self, tensors: list):
        self.by_name = {t.name: t for t in tensors}
        self.tensorsChanged.emit()

    def set_text(self, message):
        """A ``TensorText`` answer: the reprs of a tensor whose record had them deferred
        (an answer for a tensor no longer shown, or an error, changes nothing)."""
        t = self.by_name.get(message.name)
        if t is None or not t.text_deferred or message.error is not None:
            return
        self.by_name[message.name] = t.replace(value_text=message.value_text, grad_text=message.grad_text,
                                               text_deferred=False)
        self.textArrived.emit(message.name)

    def tensor(self, name: str | None) -> TensorData | None:
        return self.by_name.get(name) if name else None

    def clear(self):
        self.by_name = {}
        self.tensorsChanged.emit()


class SweepModel(QObject):
    """The latest sweep the kernel answered."""

    sweepReady = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sweep: SweepData | None = None

    def set_sweep(self, sweep: SweepData):
        self.sweep = sweep
        self.sweepReady.emit(sweep)

    def clear(self):
        self.sweep = None


class SelectionModel(QObject):
    """What is selected, shared by every panel (it reads calls and tensors to fill
    in the rest of a selection)."""

    selectionChanged = Signal(object)

    def __init__(self, calls: CallsModel, tensors: TensorsModel, parent=None):
        super().__init__(parent)
        self._calls, self._tensors = calls, tensors
        self.current = Selection()
        calls.callRemoved.connect(self._on_call_removed)

    def _on_call_removed(self, index: int, replacement):
        """The selected call was replaced by its design's newer run: the same node in it
        (a design's runs number their vertices alike), or nothing when it just went."""
        if self.current.call != index:
            return
        record = self._calls.call(replacement) if replacement is not None else None
        node = self.current.node if record is not None and record.node(self.current.node) is not None else None
        if record is not None and node is None and record.data.leaves:
            node = record.data.leaves[0].vertex
        if record is None:
            self.select()
        else:
            self.select(call=replacement, node=node)

    def select(self, *, call: int | None = None, node: int | None = None, tensor: str | None = None):
        """Select a graph node (``call`` + ``node``) or a variable (``tensor``);
        the other fields are filled in. ``select()`` clears the selection."""
        if call is not None and node is not None and tensor is None:
            record = self._calls.call(call)
            found = record.node(node) if record is not None else None
            tensor = found.name if found else None
        elif tensor is not None and call is None:
            call, node = self._calls.latest_call_with(tensor)
        selection = Selection(call, node, tensor)
        if selection != self.current:
            self.current = selection
            self.selectionChanged.emit(selection)

    def selected_node(self) -> NodeData | None:
        record = self._calls.call(self.current.call) if self.current.call is not None else None
        return record.node(self.current.node) if record is not None else None

    def selected_tensor(self) -> TensorData | None:
        return self._tensors.tensor(self.current.tensor)


class KernelStateModel(QObject):
    """The kernel's state as the status bar shows it."""

    busyChanged = Signal(bool)
    kernelStateChanged = Signal(str)
    statusChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.busy = False
        self.kernel_state = "stopped"
        self.status = ""

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


class AppModel(QObject):
    """See the module docstring: the sub-models, and what spans them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.script = ScriptModel(self)
        self.console = ConsoleModel(self)
        self.calls = CallsModel(self)
        self.tensors = TensorsModel(self)
        self.sweeps = SweepModel(self)
        self.selection = SelectionModel(self.calls, self.tensors, self)
        self.kernel = KernelStateModel(self)
        self.generation = 0              # which kernel made the calls (they are cleared on restart)

    def finish_cell(self, run: RunData, calls: list, tensors: list | None, checks=(), *, design=None):
        """A cell ended: its run for the console, its backward calls, and the named
        tensors (None keeps the tensors shown so far: the kernel could not describe them).
        ``checks`` that came with the calls are theirs from the start, so a panel builds
        a re-run call's rows once (its ``callChecked`` follows, from the kernel client).
        ``design``: the run was a node editor design's live run (its key): its calls
        replace the design's previous ones (:meth:`CallsModel.add_many`)."""
        self.console.finish_run(run, design)
        checked = {check.index: check for check in checks}
        self.calls.add_many([CallRecord(data.index, data, check=checked.get(data.index), generation=self.generation,
                                        execution_count=run.execution_count) for data in calls], design=design)
        if tensors is not None:
            self.tensors.set_tensors(tensors)

    def reset_kernel_state(self):
        """The kernel was replaced: its calls, tensors and counts are gone."""
        self.generation += 1
        self.console.reset()
        self.sweeps.clear()
        self.calls.clear()
        self.tensors.clear()
        self.selection.select()
