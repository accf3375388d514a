"""The backward engine's step events, and a recorder that keeps them as plain data.

The engine (:func:`gradstudio.autograd.engine.run_backward`) takes an optional
``tracer`` and calls its methods in the order it does things — torch's order:

- ``seed(node, grad)`` — a root's gradient, before anything runs;
- ``node_start(node, grad)`` — a node taken from the ready queue to run, with the
  gradient in its input buffer (before its hooks);
- ``hook(node, kind, hook, argument, returned)`` — a hook that ran: ``kind`` is
  ``"tensor_hook"``, ``"retain_grad"``, ``"prehook"`` or ``"posthook"``;
- ``captured(node, grad)`` — ``autograd.grad`` took the gradient arriving at this
  node, which does not run (torch never runs ``AccumulateGrad`` there);
- ``released(node)`` — the node finished and its saved tensors were freed
  (no ``retain_graph``);
- ``edge(node, slot, next_node, input_nr, grad, remaining)`` — the gradient sent
  along ``node.next_functions[slot]``; ``remaining`` is how many edges
  ``next_node`` still waits for (0: it is ready; None: it never runs, as under
  ``autograd.grad`` a node that leads to no input);
- ``buffer_add(node, previous, added, total)`` — a gradient added to one already
  waiting in ``node``'s input buffer (a fan-out);
- ``accumulated(sink, before, grad, after)`` — ``AccumulateGrad`` into a leaf's
  ``.grad`` (``before`` is an array or None, ``after`` the new ``.grad``);
- ``error(node, grad, error)`` — the exception raised while ``node`` ran (its
  ``node_start`` may not have been reported yet).

Gradients arrive as tensors, or None. :class:`Tracer` does nothing for each;
:class:`Recorder` turns them into :class:`Event` records with small integer node
ids, grad_fn names and bounded copies of the arrays (:class:`Value`), which
:meth:`Recorder.to_json` writes as strict JSON. numpy only: this is the engine
layer.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np


class Tracer:
    """The engine's event interface; every method does nothing. Subclass what you need."""

    def seed(self, node, grad):
        pass

    def node_start(self, node, grad):
        pass

    def hook(self, node, kind, hook, argument, returned):
        pass

    def captured(self, node, grad):
        pass

    def released(self, node):
        pass

    def edge(self, node, slot, next_node, input_nr, grad, remaining):
        pass

    def buffer_add(self, node, previous, added, total):
        pass

    def accumulated(self, sink, before, grad, after):
        pass

    def error(self, node, grad, error):
        pass


def node_name(node) -> str:
    """The grad_fn name torch prints for ``node`` (``MulBackward0``, ``AccumulateGrad``)."""
    return "AccumulateGrad" if node.op is None else node.op.name


# --------------------------------------------------------------------------- records
_DTYPE_NAMES: dict = {}


@dataclass(slots=True)
class Value:
    """A gradient as the trace keeps it: shape, dtype, and the values themselves when
    there are at most ``Recorder.max_elements`` of them, else only a summary."""

    shape: tuple
    dtype: str
    values: np.ndarray | None = None     # a copy, when small
    summary: dict | None = None          # min, max, mean, norm, nonfinite: when large

    @classmethod
    def of(cls, array, max_elements: int) -> Value:
        if type(array) is not np.ndarray:
            array = np.asarray(array)
        dtype = _DTYPE_NAMES.get(array.dtype)
        if dtype is None:   # str(dtype) costs more than the copy of a small gradient
            dtype = _DTYPE_NAMES[array.dtype] = str(array.dtype)
        if array.size <= max_elements:
            return cls(array.shape, dtype, values=array.copy())
        if array.dtype.kind == "f" and np.isfinite(array.sum()):
            # all finite (a NaN or inf would make the sum one too): no mask, and the norm as
            # linalg.norm computes it for a flat float array, without its checks (a step
            # trace summarises every edge's gradient: this was most of recording one)
            flat = array.reshape(-1)
            return cls(array.shape, dtype, summary={
                "min": float(array.min()), "max": float(array.max()), "mean": float(array.mean()),
                "norm": float(np.sqrt(flat.dot(flat))), "nonfinite": 0})
        finite = np.isfinite(array)
        good = array[finite] if not finite.all() else array
        summary = {"min": float(good.min()) if good.size else None,
                   "max": float(good.max()) if good.size else None,
                   "mean": float(good.mean()) if good.size else None,
                   "norm": float(np.linalg.norm(good.ravel())) if good.size else None,
                   "nonfinite": int(array.size - good.size)}
        return cls(array.shape, dtype, summary=summary)

    def to_data(self) -> dict:
        data = {"shape": list(self.shape), "dtype": self.dtype}
        if self.values is not None:
            data["values"] = _json_numbers(self.values.tolist())
        if self.summary is not None:
            data["summary"] = {k: _json_number(v) for k, v in self.summary.items()}
        return data


@dataclass
class NodeInfo:
    """A node that appears in the trace: its id there, name, and (for a leaf's
    AccumulateGrad) the leaf's shape; ``vertex`` is its id in a recorded graph, if the
    recorder was told how to find it."""

    id: int
    name: str
    saves: bool
    leaf_shape: tuple | None = None
    vertex: int | None = None
    # What the node's rules read from the forward pass, as ("input 0", shape) /
    # ("result", shape) pairs (shape None once freed), and whether an earlier backward
    # call had already freed them when this one first reached the node — what a
    # second backward() runs into.
    saved: tuple = ()
    freed: bool = False


@dataclass(slots=True)
class Event:
    """One step. ``kind`` is the tracer method's name; ``node`` the trace id of the node
    it happened at. The other fields are set for the kinds that have them."""

    step: int
    kind: str
    node: int
    grad: Value | None = None          # seed, node_start, captured, edge, accumulated, hook
    slot: int | None = None            # edge: index in next_functions
    next_node: int | None = None       # edge: where the gradient goes
    input_nr: int | None = None        # edge: which input of next_node
    remaining: int | None = None       # edge: edges next_node still waits for
    previous: Value | None = None      # buffer_add: what was waiting; accumulated: .grad before
    total: Value | None = None         # buffer_add: the sum; accumulated: .grad after
    hook_kind: str | None = None       # hook: tensor_hook, retain_grad, prehook, posthook
    hook_name: str | None = None
    replaced: bool | None = None       # hook: it returned a new gradient
    returned: list | None = None       # hook: what it returned (Values), if it did
    error_type: str | None = None
    message: str | None = None

    def to_data(self, memo: dict | None = None) -> dict:
        """Plain data; ``memo`` (id → data) writes a Value shared by two events once."""
        data = {}
        for name in _EVENT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, Value):
                if memo is None:
                    value = value.to_data()
                else:
                    key = id(value)
                    written = memo.get(key)
                    if written is None:
                        written = memo[key] = value.to_data()
                    value = written
            elif name == "returned":
                value = [None if v is None else v.to_data() for v in value]
            data[name] = value
        return data


_EVENT_FIELDS = tuple(Event.__dataclass_fields__)


@dataclass
class Trace:
    """A backward call's events, in order, and the nodes they mention."""

    nodes: list = field(default_factory=list)
    events: list = field(default_factory=list)
    dropped: int = 0                   # events past the recorder's limit, not kept

    def to_data(self) -> dict:
        memo: dict = {}
        return {"nodes": [_node_data(n) for n in self.nodes],
                "events": [e.to_data(memo) for e in self.events],
                "dropped": self.dropped}

    def to_json(self, **options) -> str:
        """Strict JSON (no NaN or Infinity literals: those are the strings "nan", "inf")."""
        return json.dumps(self.to_data(), allow_nan=False, **options)

    def kinds(self) -> list:
        return [e.kind for e in self.events]

    def of_kind(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]

    def name(self, node_id: int) -> str:
        return self.nodes[node_id].name


class Recorder(Tracer):
    """Keeps the events of one backward pass as a :class:`Trace`, in bounded memory:
    arrays above ``max_elements`` are summarised, events past ``max_events`` counted
    but not kept. ``vertex_of(node)``, if given, names each node's vertex in a
    recorded graph."""

    def __init__(self, *, max_elements: int = 64, max_events: int = 20_000, vertex_of=None):
        self.trace = Trace()
        self.max_elements = max_elements
        self.max_events = max_events
        self.vertex_lookup = vertex_of
        self._ids: dict = {}
        self._keep = []            # the nodes themselves, so their ids stay unique
        self._started = None       # the node whose node_start came last
        # id(next node) -> (array, Value) of the gradient an edge just sent it: a node with
        # one incoming edge starts with that very array, and its Value is shared (not copied
        # twice); a fan-out's sum is a new array, so it gets its own
        self._sent: dict = {}

    # -- bookkeeping -------------------------------------------------------------
    def node_id(self, node) -> int:
        """The trace id of ``node`` (given on first sight, in order)."""
        key = id(node)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.trace.nodes)
            self._keep.append(node)
            op = node.op
            # only an AccumulateGrad (op None) has a variable; asking an OpNode for one
            # would build an AttributeError, once the trace's top cost
            leaf = node.variable if op is None else None
            saves = bool(op is not None and op.saves)
            info = NodeInfo(found, node_name(node), saves,
                            tuple(leaf._data.shape) if leaf is not None else None)
            if saves:
                # first sight comes before the node runs (a seed or an edge into it), so
                # _released is what earlier calls left
                info.saved, info.freed = _saved_of(node), bool(node._released)
            if self.vertex_lookup is not None:
                info.vertex = self.vertex_lookup(node)
            self.trace.nodes.append(info)
        return found

    def node(self, node_id: int):
        """The engine node with trace id ``node_id`` (held only while recording: the
        :class:`Trace` itself keeps no engine objects)."""
        return self._keep[node_id]

    def _value(self, grad):
        if grad is None:
            return None
        return Value.of(grad._data if hasattr(grad, "_data") else grad, self.max_elements)

    def _full(self) -> bool:
        """True (and the event counted as dropped) once ``max_events`` are kept."""
        trace = self.trace
        if len(trace.events) < self.max_events:
            return False
        trace.dropped += 1
        return True

    def _add(self, kind, node, **fields):
        trace = self.trace
        trace.events.append(Event(len(trace.events) + trace.dropped, kind, self.node_id(node),
                                  **fields))

    # -- the engine's events -------------------------------------------------------
    def seed(self, node, grad):
        if not self._full():
            self._add("seed", node, grad=self._value(grad))

    def node_start(self, node, grad):
        self._started = node
        if self._full():
            return
        value = None
        sent = self._sent.pop(id(node), None)
        # a hook may have changed the gradient in place since the edge: copy it again then
        if sent is not None and grad is not None and not node._has_hooks and sent[0] is grad._data:
            value = sent[1]
        self._add("node_start", node, grad=value if value is not None else self._value(grad))

    def hook(self, node, kind, hook, argument, returned):
        if self._full():
            return
        if kind == "posthook":  # argument and returned are the gradients for the inputs
            values = None if returned is None else [self._value(g) for g in returned]
            grad = None
        else:
            returned = returned[0] if kind == "prehook" and returned is not None else returned
            values = None if returned is None else [self._value(returned)]
            grad = self._value(argument)
        self._add("hook", node, grad=grad, hook_kind=kind,
                  hook_name=getattr(hook, "__qualname__", None) if hook is not None else None,
                  replaced=returned is not None, returned=values)

    def captured(self, node, grad):
        if not self._full():
            self._add("captured", node, grad=self._value(grad))

    def released(self, node):
        if not self._full():
            self._add("released", node)

    def edge(self, node, slot, next_node, input_nr, grad, remaining):
        if not self._full():
            value = self._value(grad)
            if value is not None and hasattr(grad, "_data"):
                self._sent[id(next_node)] = (grad._data, value)
            self._add("edge", node, grad=value, slot=slot,
                      next_node=self.node_id(next_node), input_nr=input_nr, remaining=remaining)

    def buffer_add(self, node, previous, added, total):
        if not self._full():
            self._add("buffer_add", node, previous=self._value(previous),
                      grad=self._value(added), total=self._value(total))

    def accumulated(self, sink, before, grad, after):
        if not self._full():
            self._add("accumulated", sink, previous=self._value(before), grad=self._value(grad),
                      total=self._value(after))

    def error(self, node, grad, error):
        if node is None:
            return
        if self._started is not node:
            self.node_start(node, grad)
        # kept even past the limit: the error is what a failed call is about
        self._add("error", node, error_type=type(error).__name__, message=str(error))


def _saved_of(node) -> tuple:
    """(what, shape) of each tensor ``node`` saved for its rules; shapes are None
    once freed (the engine drops the arrays themselves; a recorded graph still has
    the shapes)."""
    op, inputs = node.op, node._inputs
    saved = []
    if op.saves_inputs:
        for i, (next_node, _) in enumerate(node.next_functions):
            if inputs is None:
                # freed: the arrays are gone, and so is which inputs were numbers; the
                # inputs that carry a gradient were tensors for certain
                if next_node is not None:
                    saved.append((f"input {i}", None))
            elif i < len(inputs) and hasattr(inputs[i], "_data"):
                saved.append((f"input {i}", tuple(inputs[i]._data.shape)))
    if op.saves_result:
        data = node._out_data
        saved.append(("result", tuple(data.shape) if data is not None else None))
    return tuple(saved)


# --------------------------------------------------------------------------- JSON
def _node_data(info: NodeInfo) -> dict:
    data = {"id": info.id, "name": info.name, "saves": info.saves}
    if info.saves:
        data["saved"] = [{"what": what, "shape": None if shape is None else list(shape)}
                         for what, shape in info.saved]
        data["freed"] = info.freed
    if info.leaf_shape is not None:
        data["leaf_shape"] = list(info.leaf_shape)
    if info.vertex is not None:
        data["vertex"] = info.vertex
    return data


def _json_number(x):
    """A float JSON can carry: NaN and the infinities become strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    return x


def _json_numbers(values):
    if isinstance(values, list):
        return [_json_numbers(v) for v in values]
    if isinstance(values, complex):
        return [_json_number(values.real), _json_number(values.imag)]
    return _json_number(values)
