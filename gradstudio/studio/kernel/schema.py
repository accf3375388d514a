"""The typed records that travel from the kernel to the window, and their wire form.

One definition for the kernel (which builds them: :mod:`gradstudio.studio.kernel.records`),
the app's models (which keep and show them) and the tests (which build them by
hand). Each record is a slotted, frozen dataclass; its annotations *are* its
schema: :meth:`Record.to_wire` writes every field, tagged with the record's
``type``, as plain data for :mod:`gradstudio.studio.wire` (JSON plus one binary
buffer per numpy array), and :meth:`Record.from_wire` checks a received dict
against the annotations — an unknown tag, a missing, extra or mistyped field
raises :class:`RecordError`, and only that.

:func:`encode` / :func:`decode` are the one entry point for a whole message
(a :class:`Message` record): ``encode(message) -> (json_bytes, buffers)`` for a
Jupyter comm, :func:`encode_frame` / :func:`decode_frame` for a byte stream
(one self-delimiting frame per message). Nothing here is ever unpickled or ``eval``-ed.

This module imports numpy and the wire format only — never the engine — so the
window can read records without loading what computes them.

Field types an annotation may use: ``int``, ``float``, ``bool``, ``str``,
``Array`` (a numpy array), ``Shape`` (a tuple of non-negative ints), ``Plain``
(any wire value: JSON data and arrays), ``list[X]``, ``tuple[X, ...]``,
``dict[str, X]``, another record's class name, and ``X | None``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from gradstudio.studio import wire


class RecordError(ValueError):
    """A message that is not a valid record (unknown type, missing or mistyped field),
    or bytes that are not a valid message at all."""


Array = np.ndarray
Shape = tuple
Plain = object

_TYPES: dict = {}       # wire tag -> record class
_CLASSES: dict = {}     # class name -> record class (for annotations that name a record)


# --------------------------------------------------------------------------- field checkers
# A checker takes (value, where) and returns the value as the record keeps it, or
# raises RecordError; ``where`` names the field for the message. Encoding is the
# mirror image: records become tagged dicts, everything else is already wire data.

def _int(value, where):
    if type(value) is not int:
        raise RecordError(f"{where} must be an int, not {_kind(value)}")
    return value


def _float(value, where):
    if type(value) is int:
        return float(value)
    if type(value) is not float:
        raise RecordError(f"{where} must be a number, not {_kind(value)}")
    return value


def _bool(value, where):
    if type(value) is not bool:
        raise RecordError(f"{where} must be true or false, not {_kind(value)}")
    return value


def _str(value, where):
    if type(value) is not str:
        raise RecordError(f"{where} must be a str, not {_kind(value)}")
    return value


def _array(value, where):
    if not isinstance(value, np.ndarray):
        raise RecordError(f"{where} must be an array, not {_kind(value)}")
    return value


def _shape(value, where):
    if not isinstance(value, (list, tuple)) or not all(type(n) is int and n >= 0 for n in value):
        raise RecordError(f"{where} must be a shape (a list of non-negative ints), not {_preview(value)}")
    return tuple(value)


def _plain(value, where):
    return value        # the wire format has already checked it is data


def _optional(check):
    def optional(value, where):
        return None if value is None else check(value, where)
    return optional


def _list_of(check):
    def list_of(value, where):
        if not isinstance(value, list):
            raise RecordError(f"{where} must be a list, not {_kind(value)}")
        return [check(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return list_of


def _tuple_of(check):
    def tuple_of(value, where):
        if not isinstance(value, (list, tuple)):
            raise RecordError(f"{where} must be a list, not {_kind(value)}")
        return tuple(check(item, f"{where}[{i}]") for i, item in enumerate(value))
    return tuple_of


def _dict_of(check):
    def dict_of(value, where):
        if not isinstance(value, dict):
            raise RecordError(f"{where} must be an object, not {_kind(value)}")
        return {key: check(item, f"{where}[{key!r}]") for key, item in value.items()}
    return dict_of


def _record(name):
    def record(value, where):
        cls = _CLASSES[name]
        return cls.from_wire(value, where=where)
    return record


_SIMPLE = {"int": _int, "float": _float, "bool": _bool, "str": _str, "Array": _array,
           "Shape": _shape, "Plain": _plain}


def _checker(annotation: str):
    """The checker for one annotation string (``from __future__ import annotations``)."""
    parts = [p.strip() for p in _split_top(annotation, "|")]
    if "None" in parts:
        rest = [p for p in parts if p != "None"]
        if len(rest) != 1:
            raise TypeError(f"unsupported record annotation {annotation!r}")
        return _optional(_checker(rest[0]))
    if len(parts) != 1:
        raise TypeError(f"unsupported record annotation {annotation!r}")
    text = parts[0]
    if text in _SIMPLE:
        return _SIMPLE[text]
    if text.startswith("list[") and text.endswith("]"):
        return _list_of(_checker(text[5:-1]))
    if text.startswith("tuple[") and text.endswith(", ...]"):
        return _tuple_of(_checker(text[6:-6]))
    if text.startswith("dict[str, ") and text.endswith("]"):
        return _dict_of(_checker(text[10:-1]))
    if text.isidentifier():
        return _record(text)          # resolved when used: records may name later ones
    raise TypeError(f"unsupported record annotation {annotation!r}")


def _split_top(text: str, separator: str) -> list:
    """``text`` split at ``separator`` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "["
        depth -= char == "]"
        if char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__


def _preview(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


# --------------------------------------------------------------------------- the base class
class Record:
    """Base of every record: ``type`` (its wire tag), ``to_wire``, ``from_wire``,
    and equality that compares arrays by value (NaN equal to NaN, dtype and shape too)."""

    __slots__ = ()
    type: ClassVar[str] = ""
    _fields: ClassVar[tuple] = ()        # (name, checker) per field, in order

    def to_wire(self) -> dict:
        """``{"type": tag, field: value, …}``: every field, nested records as their own dicts."""
        data = {"type": self.type}
        for name, _check in self._fields:
            data[name] = _to_wire(getattr(self, name))
        return data

    @classmethod
    def from_wire(cls, data, *, where: str | None = None):
        """The record ``data`` describes; RecordError unless ``data`` is exactly a
        ``cls`` (its tag, every field and no other, each of its annotated type)."""
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise RecordError(f"{where} must be an object, not {_kind(data)}")
        tag = data.get("type")
        if tag != cls.type:
            raise RecordError(f"{where} must be a {cls.type!r} record, not {_preview(tag)}")
        names = [name for name, _check in cls._fields]
        missing = [name for name in names if name not in data]
        if missing:
            raise RecordError(f"{where} ({cls.type}) lacks {', '.join(missing)}")
        extra = sorted(set(data) - set(names) - {"type"})
        if extra:
            raise RecordError(f"{where} ({cls.type}) has unknown fields: {', '.join(extra)}")
        return cls(**{name: check(data[name], f"{where}.{name}") for name, check in cls._fields})

    def replace(self, **changes):
        """A copy with ``changes`` (records are frozen)."""
        return dataclasses.replace(self, **changes)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.equal_but(other)

    def equal_but(self, other, *names: str) -> bool:
        """Whether ``other`` is this record in all fields but ``names`` (without copying either)."""
        return type(other) is type(self) and all(
            name in names or _equal(getattr(self, name), getattr(other, name)) for name, _ in self._fields)

    __hash__ = None


def _to_wire(value):
    if isinstance(value, Record):
        return value.to_wire()
    if isinstance(value, (list, tuple)):
        return [_to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_wire(item) for key, item in value.items()}
    return value


def _equal(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return (a.shape == b.shape and a.dtype == b.dtype
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def record(tag: str):
    """Class decorator: a frozen, slotted dataclass registered under wire tag ``tag``."""
    def make(cls):
        cls = dataclass(frozen=True, slots=True, eq=False)(cls)
        if tag in _TYPES:
            raise TypeError(f"two records are tagged {tag!r}")
        cls.type = tag
        cls._fields = tuple((f.name, _checker(f.type)) for f in dataclasses.fields(cls))
        _TYPES[tag] = cls
        _CLASSES[cls.__name__] = cls
        return cls
    return make


# --------------------------------------------------------------------------- values
@record("summary")
class Summary(Record):
    """shape, dtype, size and the nan-safe min/max/mean/L2 norm of an array
    (None where there is nothing finite to describe)."""

    shape: Shape
    dtype: str
    size: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    norm: float | None = None


@record("heatmap_sample")
class HeatmapSample(Record):
    """Every k-th row and column of a big array's 2-d layout: ``step`` is
    (rows, columns), ``shape`` the full layout's."""

    array: Array
    step: tuple[int, ...]
    shape: Shape


# --------------------------------------------------------------------------- graphs
@record("node")
class NodeData(Record):
    """One vertex of a recorded graph. ``kind`` is 'leaf' | 'const' | 'op'; ``inputs``
    are vertex ids in argument order; ``value``/``grad`` are None when too large to
    send (their summaries still are); ``grad_sample`` is set when grad is too large."""

    id: int
    kind: str
    label: str
    name: str | None = None
    grad_fn: str | None = None
    op_label: str | None = None
    category: str | None = None
    doc: str | None = None
    op_key: str | None = None
    shape: Shape = ()
    dtype: str = "float32"
    value: Array | None = None
    value_summary: Summary | None = None
    grad: Array | None = None
    grad_summary: Summary | None = None
    grad_sample: HeatmapSample | None = None
    grad_norm: float | None = None
    inputs: list[int] = field(default_factory=list)
    params: dict[str, Plain] = field(default_factory=dict)
    requires_grad: bool = False
    is_root: bool = False


@record("graph")
class GraphData(Record):
    """A recorded graph, inputs first. While a big graph travels in pieces ``nodes``
    is None and ``chunks`` says how many :class:`GraphChunk` messages carry them."""

    root: int
    nodes: list[NodeData] | None = field(default_factory=list)
    chunks: int | None = None


# --------------------------------------------------------------------------- backward calls
@record("root")
class RootData(Record):
    """What ``backward()`` was called on."""

    name: str | None = None
    grad_fn: str | None = None
    shape: Shape = ()


@record("leaf")
class LeafData(Record):
    """A leaf a backward call reached: ``numeric`` is what the call added to its .grad."""

    name: str | None
    vertex: int
    shape: Shape = ()
    numeric: Array | None = None


@record("module_group")
class ModuleGroupData(Record):
    """One ``nn.Module`` call in a backward call's graph (``gradstudio.studio.modules``):
    ``label`` as a person reads it (``Linear(3→1)``), ``name`` its qualified name in the
    script (``model.0``) when it has one, ``ops`` the op vertices its forward made,
    ``params`` its parameters' leaf vertices, ``depth`` 0 for a call the script made,
    1 for one made inside another module's call …"""

    label: str
    name: str | None = None
    ops: list[int] = field(default_factory=list)
    params: list[int] = field(default_factory=list)
    depth: int = 0


@record("call")
class CallData(Record):
    """A backward call as recorded (before any derivation). ``status`` is 'ok' | 'error';
    ``pending_check`` is True while its formulas are being derived; ``check_deferred``
    is True when the kernel checks it only when asked (one of a loop's calls that share
    a graph structure: the last is checked, the others when the window selects them,
    :mod:`gradstudio.studio.derive_plan`; such a call comes without its ``steps``,
    which follow in a ``CallSteps`` message with its check); ``steps`` is the
    engine's step trace as plain data (``gradstudio.autograd.events.Trace.to_data()``),
    when the session records it; ``steps_on_request``: the kernel keeps the call's step
    trace and sends it (``CallSteps``) when the window asks (a ``steps`` request: the
    node editor's edits leave it there until the step-through shows the call). ``structure`` (only for a window that keeps structures:
    :mod:`gradstudio.studio.kernel.shared`) is the id under which the window keeps this
    call's graph structure until the next cell ends: a call of the next cell alike in
    all but its values comes as :class:`CallValues` naming it."""

    index: int
    root: RootData = field(default_factory=RootData)
    cell: int | None = None
    line: int | None = None
    gradient: Array | None = None
    status: str = "ok"
    error: str | None = None
    error_type: str | None = None
    hint: str | None = None
    graph: GraphData | None = None
    graph_error: str | None = None
    leaves: list[LeafData] = field(default_factory=list)
    pending_check: bool = False
    check_deferred: bool = False
    steps: dict[str, Plain] | None = None
    steps_on_request: bool = False
    groups: list[ModuleGroupData] = field(default_factory=list)   # module calls, outermost first
    structure: int | None = None

    @property
    def nodes(self) -> list:
        """The graph's nodes (empty without a graph)."""
        return (self.graph.nodes or []) if self.graph is not None else []


@record("leaf_check")
class LeafCheckData(Record):
    """The three-way check of one leaf: engine (``numeric``), ``symbolic``,
    ``finite_difference`` (NaN where not sampled; ``unsampled`` marks those), PyTorch's
    value (``torch``, when installed), per-element ``mismatch`` and errors, and the
    formula in its forms (``formula_kind`` 'elementwise' | 'per_element' | 'matrix' |
    'none'; ``pretty``/``chain_pretty`` are sympy's unicode forms for what LaTeX
    cannot draw; ``alternative`` is the form one click away, see :class:`FormulaForm`).
    ``direction_check`` is (engine·u, fd·u) for a big leaf."""

    name: str | None
    vertex: int
    shape: Shape = ()
    numeric: Array | None = None
    symbolic: Array | None = None
    finite_difference: Array | None = None
    unsampled: Array | None = None
    mismatch: Array | None = None
    max_abs_error: float | None = None
    agree: bool = False
    note: str | None = None
    direction_check: tuple[float, ...] | None = None
    formula_kind: str = "none"
    formula: str | None = None
    simplified: str | None = None
    latex: str | None = None
    chain_latex: str | None = None
    element_symbol: str | None = None
    symbols: list[tuple[str, ...]] = field(default_factory=list)
    formula_size: int | None = None
    formula_note: str | None = None
    derive_seconds: float | None = None
    pretty: str | None = None
    chain_pretty: str | None = None
    numpy_code: str | None = None
    alternative: FormulaForm | None = None
    torch: Array | None = None
    abs_error: Array | None = None
    rel_error: Array | None = None

    def form(self) -> FormulaForm:
        """The form this check shows, as a FormulaForm (its alternative left out)."""
        return FormulaForm(**{name: getattr(self, name) for name in FORM_FIELDS})

    def swapped(self) -> LeafCheckData:
        """This check showing its alternative form (the numbers stay), or itself if it has none."""
        other = self.alternative
        if other is None:
            return self
        return self.replace(**{name: getattr(other, name) for name in FORM_FIELDS}, alternative=self.form())


@record("form")
class FormulaForm(Record):
    """One closed form of a leaf's gradient, with the same field names as the formula
    fields of :class:`LeafCheckData`: what Compare's form switch puts in their place
    (the per-element form beside a matrix form, the matrix form beside a generic-element
    one). ``numpy_code`` is the matrix form's ``fAndG`` computing f and the gradient."""

    formula_kind: str = "none"
    formula: str | None = None
    simplified: str | None = None
    latex: str | None = None
    chain_latex: str | None = None
    element_symbol: str | None = None
    symbols: list[tuple[str, ...]] = field(default_factory=list)
    formula_size: int | None = None
    formula_note: str | None = None
    derive_seconds: float | None = None
    pretty: str | None = None
    chain_pretty: str | None = None
    numpy_code: str | None = None
    alternative: FormulaForm | None = None


# The fields a leaf's check shares with FormulaForm (all of them but ``alternative``).
FORM_FIELDS = tuple(name for name, _check in FormulaForm._fields if name != "alternative")


@record("check")
class CheckData(Record):
    """A backward call derived and compared: ``json`` (only when a ``check`` request
    asked for it with ``json: true``) is exactly one entry of ``gradstudio check
    --json``'s backward_calls. A ``provisional`` check is the engine against finite
    differences only, sent with the call (a cell run with ``numbers_first``): its full
    check, closed form and PyTorch's column with it, follows in a ``CallChecked``."""

    index: int
    agree: bool = False
    cancelled: bool = False
    provisional: bool = False
    symbolic_error: str | None = None
    leaves: list[LeafCheckData] = field(default_factory=list)
    json: dict[str, Plain] | None = None

    def leaf(self, vertex: int) -> LeafCheckData | None:
        return next((leaf for leaf in self.leaves if leaf.vertex == vertex), None)


# --------------------------------------------------------------------------- cells, tensors, sweeps
@record("output")
class OutputData(Record):
    """One piece of a cell's output: ``stream`` is 'stdout' | 'stderr' | 'result' |
    'error' | 'image'. A 'result' from IPython is the cell's value, shown after
    ``Out[execution_count]:``; an 'image' is a figure, ``png`` its PNG file's bytes
    (a uint8 array; ``text`` is its plain-text alternative)."""

    stream: str
    text: str
    execution_count: int | None = None
    png: Array | None = None


@record("run")
class RunData(Record):
    """One executed cell. ``backward_calls`` are the indices of the calls it made;
    ``internal_error`` is the kernel's own traceback when describing the cell failed."""

    cell: int | None
    execution_count: int | None = None
    first_line: int | None = None
    outputs: list[OutputData] = field(default_factory=list)
    ok: bool = True
    interrupted: bool = False
    error: str | None = None
    error_type: str | None = None
    error_line: int | None = None
    hint: str | None = None
    backward_calls: list[int] = field(default_factory=list)
    internal_error: str | None = None


@record("tensor")
class TensorData(Record):
    """A named tensor for the inspector: ``value_text``/``grad_text`` are torch's repr —
    or, with ``text_deferred``, not computed (a message writes out the reprs of a
    bounded number of elements: see :func:`gradstudio.studio.kernel.records.tensors_data`);
    a ``tensor_text`` request asks the kernel for them (:class:`TensorText`).
    ``value_from`` (call index, vertex id): ``value`` and ``value_summary`` are None on
    the wire because the value is that vertex's value in one of the same
    ``CellFinished``'s calls, sent once there
    (:func:`gradstudio.studio.kernel.shared.fill_tensor_values` puts both back)."""

    name: str
    shape: Shape = ()
    dtype: str = "torch.float32"
    requires_grad: bool = False
    is_leaf: bool = True
    grad_fn: str | None = None
    value: Array | None = None
    value_summary: Summary | None = None
    value_text: str | None = None
    grad: Array | None = None
    grad_summary: Summary | None = None
    grad_sample: HeatmapSample | None = None
    grad_text: str | None = None
    text_deferred: bool = False
    value_from: tuple[int, ...] | None = None


@record("sweep")
class SweepData(Record):
    """f and ∂f/∂element along one element of a leaf (:mod:`gradstudio.studio.sweep`):
    ``x``, ``f``, ``engine``, ``symbolic``, ``finite_difference`` (engine/symbolic None
    with a ``note`` when unavailable), ``at`` (the recorded value) — or ``error``."""

    call: int
    vertex: int | None = None
    element: list[int] | None = None
    error: str | None = None
    x: Array | None = None
    f: Array | None = None
    engine: Array | None = None
    symbolic: Array | None = None
    finite_difference: Array | None = None
    at: float | None = None
    note: str | None = None


# --------------------------------------------------------------------------- messages
class Message(Record):
    """A record that is a whole message from the kernel (what :func:`encode` takes)."""

    __slots__ = ()


@record("ready")
class Ready(Message):
    pid: int
    symbolic_pid: int | None = None


@record("cell_started")
class CellStarted(Message):
    cell: int | None
    first_line: int | None = None
    execution_count: int | None = None


@record("graph_chunk")
class GraphChunk(Message):
    """Some nodes of a big graph, sent before the ``cell_finished`` of its call."""

    call: int
    nodes: list[NodeData]


@record("graph_structure")
class GraphStructure(Message):
    """What a loop's backward calls share (:mod:`gradstudio.studio.kernel.shared`), sent
    once per cell before the :class:`CallValues` that name it by ``id`` (unique in the
    kernel's session): the graph's ``root`` and ``nodes`` without their values (``value``,
    ``grad``, their summaries, ``grad_sample`` and ``grad_norm`` are None), and the
    calls' root, leaves (``numeric`` None) and module groups."""

    id: int
    root: int
    nodes: list[NodeData] = field(default_factory=list)
    call_root: RootData = field(default_factory=RootData)
    leaves: list[LeafData] = field(default_factory=list)
    groups: list[ModuleGroupData] = field(default_factory=list)


@record("call_values")
class CallValues(Message):
    """Backward calls of the :class:`GraphStructure` ``structure``, each with only what
    differs between them. Row ``k`` of every array is call ``calls[k]``: ``values[j]``
    stacks vertex j's values (``(len(calls), *shape)``), ``grads[j]`` its grads (None: no
    call gave it one), ``leaf_grads[i]`` what the call added to leaf i's .grad,
    ``gradients`` the ``gradient=`` arguments (None: no call had one); ``steps`` are the
    step traces (None for a deferred call's: with its check); ``steps_on_request``: the
    calls' traces are not in ``steps`` but kept in the kernel for a ``steps`` request (see
    ``CallData.steps_on_request``). Sent before the cell's ``CellFinished``, whose
    ``shared`` lists these calls."""

    structure: int
    calls: list[int] = field(default_factory=list)
    cells: list[int | None] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    pending_check: list[bool] = field(default_factory=list)
    check_deferred: list[bool] = field(default_factory=list)
    steps: list[dict[str, Plain] | None] = field(default_factory=list)
    steps_on_request: bool = False
    gradients: Array | None = None
    values: list[Array] = field(default_factory=list)
    grads: list[Array | None] = field(default_factory=list)
    leaf_grads: list[Array | None] = field(default_factory=list)


@record("cell_finished")
class CellFinished(Message):
    """A cell ended: its run, its new backward calls, the named tensors (None when the
    kernel could not describe them: the window keeps what it shows), and the checks of
    those calls that were quick to make (a re-run cell's graph, derived before): they
    come with their calls rather than in ``CallChecked`` messages after them. ``shared``
    are the indices of its calls that came before it in :class:`CallValues` messages
    (a loop's: one graph structure, values per call), not in ``calls``. For a window that
    keeps the last cell's records (:mod:`gradstudio.studio.kernel.shared`): ``tensors_id``
    is the id it keeps these named tensors under, and ``kept_tensors`` the named tensors
    whose record is the kept one of that name but for its ``value_from`` (the new one, ``[]``
    for None), left out of ``tensors``."""

    run: RunData
    calls: list[CallData] = field(default_factory=list)
    tensors: list[TensorData] | None = None
    checks: list[CheckData] = field(default_factory=list)
    shared: list[int] = field(default_factory=list)
    tensors_id: int | None = None
    kept_tensors: dict[str, tuple[int, ...]] = field(default_factory=dict)


@record("deriving")
class Deriving(Message):
    call: int
    leaves: list[str] = field(default_factory=list)


@record("call_checked")
class CallChecked(Message):
    check: CheckData


@record("call_steps")
class CallSteps(Message):
    """The step trace of a call whose ``CallData`` came without it: a deferred call's,
    sent with its check when the window asks for it; a call of a cell run with
    ``numbers_first`` (the node editor's: ``steps_on_request``), when the window asks for
    it with a ``steps`` request (``steps`` None: the kernel no longer has it)."""

    call: int
    steps: dict[str, Plain] | None = None


@record("tensors")
class Tensors(Message):
    tensors: list[TensorData]


@record("tensor_text")
class TensorText(Message):
    """The reprs of one named tensor whose text was deferred (a ``tensor_text``
    request); ``error`` when the kernel has no tensor of that name any more."""

    name: str
    value_text: str | None = None
    grad_text: str | None = None
    error: str | None = None


@record("sweep_result")
class SweepResult(Message):
    sweep: SweepData


@record("matrix_form")
class MatrixFormData(Record):
    """A Jacobian or Hessian in matrix form (``1024·I``, ``Aᵀ + A``) from the symbolic
    side, its values in the numeric one's layout, whether they ``agree`` with it, or
    the ``note`` saying why there is none."""

    text: str | None = None
    values: Array | None = None
    agree: bool | None = None
    note: str | None = None


@record("jacobian")
class JacobianResult(Message):
    """J, Jᵀv and the engine's backward(gradient=v) for one leaf of a call
    (:func:`gradstudio.studio.jacobian.explain_data`), or ``error``: ``m``×``n`` is J's
    size (root elements × leaf elements); ``jacobian`` is None when J is too big to form;
    ``call_engine`` is what the call itself added to the leaf's .grad; ``symbolic`` is J's
    matrix form; for a scalar root ``hessian`` (numeric) and ``hessian_symbolic``."""

    call: int
    error: str | None = None
    leaf: str | None = None
    leaves: list[str] = field(default_factory=list)
    m: int = 0
    n: int = 0
    root_shape: Shape = ()
    leaf_shape: Shape = ()
    jacobian: Array | None = None
    v: Array | None = None
    jtv: Array | None = None
    engine: Array | None = None
    call_engine: Array | None = None
    agree: bool = False
    structure: str | None = None
    note: str | None = None
    symbolic: MatrixFormData | None = None          # J from the symbolic side
    hessian: Array | None = None                    # a scalar root's Hessian, numeric (n×n)
    hessian_symbolic: MatrixFormData | None = None
    hessian_note: str | None = None


@record("local_input")
class LocalInputData(Record):
    """The VJP of a step-through node towards one input (:mod:`gradstudio.studio.symbolic.local`):
    ``derivative`` ∂out/∂``symbol`` as a formula (None when only the product reads, a
    matmul's), ``vjp`` its product with g as a formula, ``value`` that evaluated, ``engine``
    what the engine sent along the edge and whether they ``agree`` (arrays None when big)."""

    slot: int
    symbol: str
    derivative: str | None = None
    derivative_value: Array | None = None
    vjp: str = ""
    value: Array | None = None
    engine: Array | None = None
    agree: bool | None = None


@record("local_derivative")
class LocalDerivativeData(Record):
    """One op node's local derivative, derived from its row's symbolic forward: ``form``
    'elementwise' | 'matrix' | 'per_element' | 'none' (``note`` says why); ``symbols``
    are (symbol, what it stands for) pairs."""

    vertex: int
    op: str
    form: str = "none"
    inputs: list[LocalInputData] = field(default_factory=list)
    symbols: list[tuple[str, ...]] = field(default_factory=list)
    note: str | None = None


@record("local_derivatives")
class LocalDerivatives(Message):
    """The step-through's local derivatives of a call's nodes (the ``local_derivatives``
    request), or ``error``."""

    call: int
    derivatives: list[LocalDerivativeData] = field(default_factory=list)
    error: str | None = None


@record("hessian")
class HessianResult(Message):
    """A leaf's Hessian two ways (:func:`gradstudio.studio.symbolic.hessian_check.explain`):
    the matrix form (``formula``, ``latex``; its ``values`` evaluated) beside the engine's
    ``autograd.functional.hessian`` (``engine``), both n×n with vec taking rows first, and
    whether they agree; or ``error`` (no such call, a leaf too big…). ``note`` says why
    there is no matrix form, or how it was checked against second differences."""

    call: int
    vertex: int
    error: str | None = None
    leaf: str | None = None
    n: int = 0
    formula: str | None = None
    latex: str | None = None
    values: Array | None = None
    engine: Array | None = None
    max_abs_error: float | None = None
    agree: bool = False
    note: str | None = None


@record("kernel_error")
class KernelError(Message):
    """A bug in the kernel's own code: ``message`` is the traceback."""

    message: str
    id: int | None = None


@record("done")
class Done(Message):
    """The request ``id`` is finished (``interrupted`` if an interrupt cut it short)."""

    id: int | None
    request: str | None = None
    interrupted: bool = False


# --------------------------------------------------------------------------- whole messages
def decode_value(data, *, where: str = "the message"):
    """A record from its wire dict, whatever its type (the tag says which)."""
    if not isinstance(data, dict):
        raise RecordError(f"{where} must be an object, not {_kind(data)}")
    tag = data.get("type")
    cls = _TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise RecordError(f"{where} has an unknown record type {_preview(tag)}")
    return cls.from_wire(data, where=where)


def encode(message: Message) -> tuple:
    """``(json_bytes, [buffer, …])`` for one message (a :class:`Message` record)."""
    if not isinstance(message, Message):
        raise RecordError(f"only a Message record can be sent, not {_kind(message)}")
    try:
        return wire.pack(message.to_wire())
    except wire.WireError as error:
        raise RecordError(f"cannot send this {message.type}: {error}") from None


def decode(json_text, buffers) -> Message:
    """The message :func:`encode` made ``(json_text, buffers)`` from; RecordError if
    the bytes are malformed or are not exactly one known message record."""
    try:
        data = wire.unpack(json_text, buffers)
    except wire.WireError as error:
        raise RecordError(f"an unreadable message: {error}") from None
    return _message(data)


def encode_frame(message: Message) -> bytes:
    """One wire frame holding ``message`` (for a byte stream such as a pipe)."""
    if not isinstance(message, Message):
        raise RecordError(f"only a Message record can be sent, not {_kind(message)}")
    try:
        return wire.encode_frame(message.to_wire())
    except wire.WireError as error:
        raise RecordError(f"cannot send this {message.type}: {error}") from None


def decode_frame(frame) -> Message:
    """The message in one whole wire frame; RecordError if it is anything else."""
    try:
        data = wire.decode_frame(frame)
    except wire.WireError as error:
        raise RecordError(f"an unreadable message: {error}") from None
    return _message(data)


def _message(data) -> Message:
    message = decode_value(data)
    if not isinstance(message, Message):
        raise RecordError(f"a {message.type} record is not a message")
    return message
