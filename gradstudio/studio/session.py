"""Running a torch-style script the way a notebook runs it, and recording it.

A :class:`Session` executes cells (``# %%`` separates them) in one fresh
namespace where ``import torch`` — and ``torch.nn``, ``torch.nn.functional``,
``torch.autograd`` — resolve to GradStudio, without touching a real ``torch``
that may be installed. Like Jupyter, it numbers executed cells (``In [n]``)
and shows the value of a cell's last expression.

While a cell runs, the session traces the graph and watches every
``backward()``: it records the root, the ``gradient=`` argument, the error if
the call raised, the graph as it was just before the call (see
:mod:`gradstudio.studio.trace`), the gradient that reached each node, and the
gradient the call *added* to each leaf. Leaves are named after the script
variable referring to them at the time of the call, or ``leaf0``, ``leaf1``…
With ``Session(step_trace=True)`` each call also keeps the engine's step trace
(:class:`gradstudio.autograd.events.Trace`, in torch's order) as ``call.steps``.

The session runs whatever the script says: it is the user's own code, run on
the user's request. The app runs sessions in a worker process that can be
interrupted; opening a file never runs it.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import linecache
import sys
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

from gradstudio.studio import modules as _modules
from gradstudio.studio import trace as _graph
# cells are split in their own light module (the window does it without the engine)
from gradstudio.studio.cells import CELL_MARKER, MARKDOWN_MARKER, Cell, split_cells  # noqa: F401
from gradstudio.autograd import api as _api
from gradstudio.autograd import events as _events
from gradstudio.autograd.grad_mode import state as _grad_state
from gradstudio.studio.hints import hint_for
from gradstudio.tensor import Tensor

# --------------------------------------------------------------------------- records
@dataclass
class LeafGradient:
    name: str
    vertex: int               # id in the call's graph
    shape: tuple
    grad: np.ndarray          # what this call added to .grad


@dataclass
class BackwardCall:
    index: int
    cell: int | None
    line: int
    root_name: str | None
    root_grad_fn: str | None
    root_shape: tuple
    gradient: np.ndarray | None
    status: str = "ok"                  # "ok" | "error"
    error: str | None = None
    error_type: str | None = None
    leaves: list = field(default_factory=list)
    graph: _graph.Graph | None = None
    graph_error: str | None = None
    steps: _events.Trace | None = None  # the engine's step trace, with Session(step_trace=True)
    groups: list = field(default_factory=list)  # ModuleGroup per module call in the graph


@dataclass
class Output:
    stream: str                         # "stdout" | "stderr" | "result" | "error"
    text: str


@dataclass
class CellRun:
    cell: int | None
    execution_count: int
    outputs: list = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    error_line: int | None = None
    hint: str | None = None
    backward_calls: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def text(self) -> str:
        return "".join(o.text for o in self.outputs)


# --------------------------------------------------------------------------- imports
_TORCH_MODULES = {
    "torch": "gradstudio",
    "torch.nn": "gradstudio.nn",
    "torch.nn.functional": "gradstudio.nn.functional",
    "torch.nn.init": "gradstudio.nn.init",
    "torch.nn.utils": "gradstudio.nn.utils",
    "torch.optim": "gradstudio.optim",
    "torch.optim.lr_scheduler": "gradstudio.optim.lr_scheduler",
    "torch.utils": "gradstudio.utils",
    "torch.utils.data": "gradstudio.utils.data",
    "torch.autograd": "gradstudio.autograd",
    "torch.backends": "gradstudio.backends",
    "torch.autograd.functional": "gradstudio.autograd.functional",
    "torch.autograd.graph": "gradstudio.autograd.graph",
    "torch.linalg": "gradstudio.linalg",
    "torch.cuda": "gradstudio.cuda",
}


def _torch_import(name, globals=None, locals=None, fromlist=(), level=0):
    """``__import__`` that resolves torch (and its submodules we have) to gradstudio."""
    if level == 0 and (name == "torch" or name.startswith("torch.")):
        target = _TORCH_MODULES.get(name)
        if target is None:
            raise ModuleNotFoundError(f"GradStudio does not provide {name!r} (it provides: "
                                      f"{', '.join(sorted(_TORCH_MODULES))})")
        module = builtins.__import__(target, globals, locals, ["_"], 0)
        if fromlist:
            return module
        return builtins.__import__("gradstudio", globals, locals, ["_"], 0)
    return builtins.__import__(name, globals, locals, fromlist, level)


def fresh_namespace(filename: str = "<script>") -> dict:
    namespace_builtins = dict(builtins.__dict__)
    namespace_builtins["__import__"] = _torch_import
    return {"__name__": "__main__", "__file__": filename, "__builtins__": namespace_builtins}


# --------------------------------------------------------------------------- session
class Session:
    """One namespace, cells run in order, every backward call recorded."""

    def __init__(self, filename: str = "<script>", *, trace: bool = True,
                 step_trace: bool = False):
        self.filename = filename
        self.namespace = fresh_namespace(filename)
        self.execution_count = 0
        self.backward_calls: list = []
        self.calls_made = 0             # the next call's index: calls dropped later keep theirs unique
        self.runs: list = []
        self.trace = trace              # record the graph of each backward call
        self.step_trace = step_trace    # and the engine's steps through it
        self._current: CellRun | None = None
        self._capture: _Capture | None = None
        self._cell_files: dict = {}     # compiled filename -> (cell index, line offset)
        self._module_calls = _modules.CallRecorder()  # which nodes each module call made

    # -- running ----------------------------------------------------------------
    def run_script(self, text: str, *, stop_on_error: bool = True) -> list:
        """Run every cell of ``text``; stops at the first error like "Run all"."""
        runs = []
        for cell in split_cells(text):
            if cell.kind == "markdown":
                continue
            run = self.run_cell(cell.source, cell=cell.index, first_line=cell.first_line)
            runs.append(run)
            if not run.ok and stop_on_error:
                break
        return runs

    def run_cell(self, source: str, *, cell: int | None = None, first_line: int = 1) -> CellRun:
        self.execution_count += 1
        run = CellRun(cell=cell, execution_count=self.execution_count)
        self.runs.append(run)
        filename = self.filename
        linecache.cache[filename] = (len(source), None, _pad(source, first_line), filename)
        try:
            tree = ast.parse(_pad(source, first_line), filename=filename)
        except SyntaxError as error:
            self._record_error(run, error, error.lineno)
            return run
        body, last = tree.body, None
        if body and isinstance(body[-1], ast.Expr):
            body, last = body[:-1], ast.Expression(body[-1].value)
        capture = _Capture(run)
        self._current, self._capture = run, capture
        previous_trace = _grad_state.tracing
        _grad_state.tracing = self.trace
        _api.observers.append(self)
        try:
            with capture, self._module_calls, contextlib.redirect_stdout(_Tee(capture, "stdout")), \
                    contextlib.redirect_stderr(_Tee(capture, "stderr")), \
                    warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = self._show_warning
                exec(compile(ast.Module(body, type_ignores=[]), filename, "exec"), self.namespace)
                if last is not None:
                    value = eval(compile(last, filename, "eval"), self.namespace)
                    if value is not None:
                        text = repr(value) + "\n"
                        capture.flush()
                        run.outputs.append(Output("result", text))
        except KeyboardInterrupt as error:
            run.error, run.error_type = "Interrupted", "KeyboardInterrupt"
            run.error_line = _user_line(error, filename)
            run.outputs.append(Output("error", f"KeyboardInterrupt: {_interrupted_at(run.error_line, source, first_line)}\n"))
        except BaseException as error:  # the user's script may raise anything, SystemExit too
            self._record_error(run, error, _user_line(error, filename))
        finally:
            _api.observers.remove(self)
            _grad_state.tracing = previous_trace
            self._current = self._capture = None
        return run

    def _show_warning(self, message, category, filename, lineno, file=None, line=None):
        text = warnings.formatwarning(message, category, filename, lineno, line)
        if self._current is not None:
            if self._capture is not None:  # what was printed before the warning comes first
                self._capture.flush()
            self._current.outputs.append(Output("stderr", text))

    def _record_error(self, run: CellRun, error: BaseException, line: int | None):
        run.error = str(error) if not isinstance(error, SyntaxError) else error.msg
        run.error_type = type(error).__name__
        run.error_line = line
        run.hint = hint_for(run.error, run.error_type)
        where = f" (line {line})" if line else ""
        text = f"{run.error_type}{where}: {run.error}\n"
        if run.hint:
            text += f"Hint: {run.hint}\n"
        run.outputs.append(Output("error", text))

    # -- names ------------------------------------------------------------------
    def named_tensors(self) -> dict:
        """``{id(tensor): (name, tensor)}`` for the script's top-level variables
        (also items of top-level lists, tuples and dicts, as ``W[0]``, ``p['w']``).
        A module's parameters and buffers are named by their qualified names first
        (``model.0.weight``): a loop variable that happens to hold one is not its name."""
        found: dict = _modules.parameter_names(self.namespace)
        for name, value in list(self.namespace.items()):
            if self._not_a_variable(name):
                continue
            if isinstance(value, Tensor):
                found.setdefault(id(value), (name, value))
            elif isinstance(value, (list, tuple)) and len(value) <= 64:
                for i, item in enumerate(value):
                    if isinstance(item, Tensor):
                        found.setdefault(id(item), (f"{name}[{i}]", item))
            elif isinstance(value, dict) and len(value) <= 64:
                for key, item in value.items():
                    if isinstance(item, Tensor):
                        found.setdefault(id(item), (f"{name}[{key!r}]", item))
        return found

    def _not_a_variable(self, name: str) -> bool:
        """Whether a namespace entry is not one of the user's variables (dunders)."""
        return name.startswith("__")

    def forget_calls(self, indices) -> int:
        """Drop the recorded calls with these indices (their graphs and arrays go with
        them); how many were dropped."""
        drop = set(indices)
        kept = [c for c in self.backward_calls if c.index not in drop]
        dropped = len(self.backward_calls) - len(kept)
        self.backward_calls[:] = kept
        return dropped

    # -- backward observation -------------------------------------------------------
    def observe_backward(self, run, tensors, gradient, retain_graph, create_graph, inputs):
        """Called by ``autograd.backward`` for every backward call in the script."""
        roots = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
        root = roots[0]
        names = self.named_tensors()
        cell, line = self._call_site()
        call = BackwardCall(
            index=self.calls_made, cell=cell, line=line,
            root_name=names.get(id(root), (None,))[0],
            root_grad_fn=root.grad_fn.op.name if root.grad_fn is not None else None,
            root_shape=tuple(root._data.shape),
            gradient=_gradient_array(gradient))
        self.calls_made += 1
        self.backward_calls.append(call)
        if self._current is not None:
            self._current.backward_calls.append(call)
        tracer = None
        if root._requires_grad:
            try:
                call.graph = _graph.capture(root, names)
                tracer = (_StepTracer if self.step_trace else _Tracer)(call.graph)
                call.groups = _modules.groups(call.graph, root, self._module_calls.calls,
                                              _modules.module_names(self.namespace))
            except ValueError as error:  # an untraced graph (built outside the session)
                call.graph_error = str(error)
        if tracer is None and self.step_trace:
            tracer = _events.Recorder()
        try:
            return run(tensors, gradient, retain_graph, create_graph, inputs, tracer=tracer)
        except BaseException as error:
            call.status, call.error, call.error_type = "error", str(error), type(error).__name__
            raise
        finally:
            if isinstance(tracer, _Tracer):
                call.leaves = tracer.leaf_gradients(names)
            if isinstance(tracer, _events.Recorder):
                call.steps = tracer.trace

    def _call_site(self):
        """(cell, line in the script) of the innermost frame running script code."""
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                cell = self._current.cell if self._current is not None else None
                return cell, frame.f_lineno
            frame = frame.f_back
        return (self._current.cell if self._current else None), 0


class _Tracer(_events.Tracer):
    """Collects, during one backward call, the gradient reaching each vertex."""

    def __init__(self, graph: _graph.Graph, **options):
        super().__init__(**options)
        self.graph = graph
        self.vertex_of = {}
        for vertex in graph.nodes:
            if vertex.tensor_id is not None:
                self.vertex_of[vertex.tensor_id] = vertex.id
        self.added: dict = {}   # vertex id -> (tensor, summed gradient)

    def vertex(self, node):
        """The graph vertex of an engine node (a leaf's, for its AccumulateGrad)."""
        return self.vertex_of.get(id(node.variable) if node.op is None else id(node))

    def node_start(self, node, grad):
        super().node_start(node, grad)
        vertex = self.vertex(node)
        if vertex is not None and grad is not None:
            self.graph[vertex].grad = np.array(grad._data, copy=True)

    def error(self, node, grad, error):
        # The gradient did reach the node that raised (its saved tensors were freed…):
        # the Graph panel shows how far the pass got.
        vertex = self.vertex(node) if node is not None else None
        if vertex is not None and grad is not None:
            self.graph[vertex].grad = np.array(grad._data, copy=True)
        super().error(node, grad, error)

    def accumulated(self, sink, before, grad, after):
        super().accumulated(sink, before, grad, after)
        leaf = sink.variable
        vertex = self.vertex_of.get(id(leaf))
        if vertex is None:
            return
        values = np.array(grad._data, dtype=leaf._data.dtype, copy=True)
        if vertex in self.added:
            values = self.added[vertex][1] + values
        self.added[vertex] = (leaf, values)

    def leaf_gradients(self, names) -> list:
        leaves, unnamed = [], 0
        for vertex in self.graph.nodes:
            if vertex.id not in self.added:
                continue
            leaf, values = self.added[vertex.id]
            name = names.get(id(leaf), (None,))[0]
            if name is None:
                name = f"leaf{unnamed}"
                unnamed += 1
                vertex.name = name
            leaves.append(LeafGradient(name, vertex.id, tuple(values.shape), values))
        return leaves


class _StepTracer(_Tracer, _events.Recorder):
    """A :class:`_Tracer` that also keeps the engine's step trace, nodes named by vertex."""

    def __init__(self, graph: _graph.Graph):
        super().__init__(graph, vertex_of=self.vertex)


# Printed output a cell keeps (characters, stdout and stderr together); the rest is
# counted and the console says how much was cut. A million short prints fit.
MAX_KEPT_OUTPUT = 2_000_000


class _Capture:
    """What one cell prints, in order, as the cell's outputs.

    Consecutive writes to one stream become one output. They are collected as
    chunks and joined once per stretch of one stream (at a stream switch, before
    anything else is added to the cell's outputs, and at the end), so capturing
    costs time linear in what is printed. At most ``limit`` characters are kept;
    the end of the cell's output says how many more were cut."""

    def __init__(self, run: CellRun, limit: int | None = None):
        self.run = run
        self.limit = MAX_KEPT_OUTPUT if limit is None else limit
        self.stream: str | None = None
        self.chunks: list = []
        self.kept = self.cut = 0
        self.cut_stream: str | None = None
        self.closed = False

    def write(self, stream: str, text: str):
        if stream is not self.stream:
            self.flush()
            self.stream = stream
        if self.kept + len(text) <= self.limit:
            self.chunks.append(text)
            self.kept += len(text)
        else:
            self._cut(stream, text)

    def _cut(self, stream: str, text: str):
        room = max(self.limit - self.kept, 0)
        if self.cut_stream is None:
            self.cut_stream = stream
        self.cut += len(text) - room
        if room:
            self.chunks.append(text[:room])
            self.kept += room

    def _write_late(self, stream: str, text: str):
        """A write through a stream kept past the end of its cell: added at once."""
        _Capture.write(self, stream, text)
        self.flush()
        self.stream = None  # so that _Tee's shortcut never skips this method

    def flush(self):
        """Move the collected chunks into the cell's outputs."""
        if self.chunks:
            self._add(self.stream, "".join(self.chunks))
            self.chunks = []

    def close(self):
        self.flush()
        if self.cut and not self.closed:
            outputs = self.run.outputs
            last = next((o.text for o in reversed(outputs) if o.stream == self.cut_stream), "")
            newline = "" if not last or last.endswith("\n") else "\n"
            self._add(self.cut_stream, f"{newline}… output cut: {self.cut} more characters\n")
        self.closed = True
        self.stream = None                # so that _Tee's shortcut never skips _write_late
        self.write = self._write_late     # nothing will flush this capture again

    def _add(self, stream: str, text: str):
        outputs = self.run.outputs
        if outputs and outputs[-1].stream == stream:
            outputs[-1] = Output(stream, outputs[-1].text + text)
        else:
            outputs.append(Output(stream, text))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Tee(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` while a cell runs: writes go to its :class:`_Capture`."""

    def __init__(self, capture: _Capture, stream: str):
        self.capture, self.stream = capture, stream

    def write(self, text):
        if type(text) is not str and not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        capture = self.capture
        # The common case inline (one call per print, not two): a cell that prints a
        # million lines spends most of its time here.
        if capture.stream is self.stream and capture.kept + len(text) <= capture.limit:
            capture.chunks.append(text)
            capture.kept += len(text)
        elif capture.cut and not capture.closed:  # already full: only count
            capture.cut += len(text)
        elif text:
            capture.write(self.stream, text)
        return len(text)

    def flush(self):
        pass


def _pad(source: str, first_line: int) -> str:
    """Source shifted down so line numbers are the script's line numbers."""
    return "\n" * (first_line - 1) + source


def _interrupted_at(line: int | None, source: str, first_line: int) -> str:
    """"interrupted at line 7 (`while True:`)": where the cell was when Interrupt came
    (``line`` counts in the script, the cell starting at ``first_line``)."""
    if line is None:
        return "interrupted"
    lines = source.splitlines()
    text = lines[line - first_line].strip() if 0 <= line - first_line < len(lines) else ""
    if len(text) > 60:
        text = text[:57] + "…"
    return f"interrupted at line {line}" + (f" (`{text}`)" if text else "")


def _user_line(error: BaseException, filename: str) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    return line


def _gradient_array(gradient):
    if gradient is None:
        return None
    if isinstance(gradient, Tensor):
        return np.array(gradient._data, copy=True)
    if isinstance(gradient, (list, tuple)) and gradient and isinstance(gradient[0], Tensor):
        return np.array(gradient[0]._data, copy=True)
    return np.asarray(gradient)
