"""A recorded computation graph, captured as plain data.

When a session traces a script, every node keeps its inputs and output
(:attr:`Node.traced`). :func:`capture` turns the graph reachable from a
backward call's root into a :class:`Graph`: a list of :class:`GraphNode` in
topological order (inputs first) — leaves, constants and op applications,
each with its value — that outlives the engine's freeing of saved tensors.

:func:`interpret` is the one walk over a recorded graph: leaves and constants
first get a value from a backend, then every op its value from its inputs'.
The backends are the uses: numpy in float64 (:meth:`Graph.evaluate`, for
finite differences), the engine itself (sweeps), torch (the oracle) and sympy
(the per-element form). The symbolic side derives formulas from the graph and
the app draws it. Nothing here uses the VJP rules.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gradstudio.autograd.grad_mode import state as _grad_state
from gradstudio.autograd.node import AccumulateGrad
from gradstudio.tensor import Tensor


@contextlib.contextmanager
def tracing():
    """Record every node's inputs and output while the block runs, so that
    :func:`capture` can turn the graph into data."""
    previous = _grad_state.tracing
    _grad_state.tracing = True
    try:
        yield
    finally:
        _grad_state.tracing = previous


@dataclass
class GraphNode:
    """One vertex: a leaf tensor, a constant, or an op applied to other vertices."""

    id: int
    kind: str                          # "leaf" | "const" | "op"
    value: object                      # ndarray (or a Python number for scalar constants)
    name: str | None = None            # the script variable that refers to it, if any
    op: object = None                  # the op table row, for kind "op"
    params: dict = field(default_factory=dict)
    inputs: tuple = ()                 # ids of the argument vertices, in order
    requires_grad: bool = False
    tensor_id: int | None = None       # id() of the live tensor (leaf) or node, for lookups
    grad: np.ndarray | None = None     # gradient that reached it in the recorded backward call

    @property
    def label(self) -> str:
        if self.kind == "op":
            return self.op.name
        return self.name or ("const" if self.kind == "const" else "leaf")

    @property
    def shape(self) -> tuple:
        return tuple(np.shape(self.value))

    @property
    def is_scalar_constant(self) -> bool:
        return self.kind == "const" and not isinstance(self.value, np.ndarray)


@dataclass
class Graph:
    """The vertices reachable from ``root`` in topological order."""

    nodes: list
    root: int

    def __getitem__(self, node_id: int) -> GraphNode:
        return self.nodes[node_id]

    @property
    def leaves(self) -> list:
        return [n for n in self.nodes if n.kind == "leaf" and n.requires_grad]

    def consumers(self) -> dict:
        """For each vertex id, the ids of the vertices that use it."""
        users: dict = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                users[i].append(n.id)
        return users

    def evaluate(self, overrides: dict | None = None, dtype=np.float64, base: dict | None = None) -> dict:
        """Re-run the forward pass with numpy in ``dtype``; ``overrides`` maps a
        vertex id to a replacement value (a perturbed leaf). Returns id → value.

        With ``base`` (the result of an earlier evaluate without overrides), only
        the vertices downstream of the overridden ones are recomputed."""
        given = {i: np.asarray(v, dtype=dtype) for i, v in (overrides or {}).items()}
        return interpret(self, NumpyBackend(dtype), given, base=base)

    def objective(self, gradient=None):
        """f(overrides) = Σ root·gradient (Σ root without one), re-evaluated in float64:
        the function whose gradient a backward call computes."""
        weights = None if gradient is None else np.asarray(gradient, dtype=np.float64)
        base = self.evaluate()

        def f(overrides) -> float:
            root = np.asarray(self.evaluate(overrides, base=base)[self.root], dtype=np.float64)
            return float(np.sum(root * weights) if weights is not None else np.sum(root))
        return f

    def central_difference(self, vertex: int, gradient, direction: np.ndarray, f=None) -> float:
        """(f(x + h·u) − f(x − h·u)) / 2h for the leaf ``vertex`` along ``direction``
        (``f``: this graph's ``objective(gradient)`` if the caller has it already)."""
        f = f if f is not None else self.objective(gradient)
        x = np.asarray(self[vertex].value, dtype=np.float64)
        h = 1e-6 * max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
        return (f({vertex: x + h * direction}) - f({vertex: x - h * direction})) / (2 * h)


class Backend(Protocol):
    """What :func:`interpret` asks of a use of the graph."""

    def leaf(self, vertex: GraphNode):
        """The value of a leaf (a tensor the user made; it may require grad)."""

    def const(self, vertex: GraphNode):
        """The value of a constant (a tensor that needs no grad, or a Python number)."""

    def op(self, vertex: GraphNode, args: list):
        """The value of an op vertex, given its inputs' values in order."""


def interpret(graph: Graph, backend: Backend, given: dict | None = None, *,
              base: dict | None = None) -> dict:
    """Every vertex's value, in topological order: ``given`` (vertex id → value) is
    used as is, leaves and constants come from ``backend.leaf``/``backend.const``,
    op vertices from ``backend.op``. With ``base`` (an earlier result), vertices
    that do not depend on a ``given`` one keep their value from ``base``."""
    given = given or {}
    values: dict = {}
    changed = set(given)
    leaf, const, op = backend.leaf, backend.const, backend.op
    for vertex in graph.nodes:
        i = vertex.id
        if i in given:
            values[i] = given[i]
        elif base is not None and not changed.intersection(vertex.inputs):
            values[i] = base[i]
        elif vertex.kind == "op":
            values[i] = op(vertex, [values[j] for j in vertex.inputs])
            changed.add(i)
        else:
            values[i] = leaf(vertex) if vertex.kind == "leaf" else const(vertex)
    return values


class NumpyBackend:
    """The recorded graph re-run with the rows' numpy forwards, floats in ``dtype``."""

    def __init__(self, dtype=np.float64):
        self.dtype = dtype

    def leaf(self, vertex):
        value = vertex.value
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return value.astype(self.dtype)
        return value

    const = leaf

    def op(self, vertex, args):
        op = vertex.op
        if op.casts:  # a float→float cast is the identity at full precision
            return args[0]
        if op.forward is None:
            raise ValueError(f"{op.name} cannot be re-evaluated")
        params = vertex.params
        out = np.asarray(op.forward(*args, **params) if params else op.forward(*args))
        return out.astype(self.dtype, copy=False) if out.dtype.kind == "f" else out


def capture(root: Tensor, names: dict | None = None) -> Graph:
    """The traced graph behind ``root`` (which must come from a traced session).

    ``names`` maps ``id(tensor)`` to a variable name; op vertices are named
    after a tensor whose ``grad_fn`` is their node."""
    names = names or {}
    node_names = {}
    for tensor_id, (name, tensor) in names.items():
        if tensor.grad_fn is not None:
            node_names.setdefault(id(tensor.grad_fn), name)
    builder = _Builder(names, node_names)
    root_id = builder.vertex_for_tensor(root)
    return Graph(builder.nodes, root_id)


class _Builder:
    def __init__(self, names, node_names):
        self.names = names              # id(tensor) -> (name, tensor)
        self.node_names = node_names    # id(node) -> name
        self.nodes: list = []
        self.by_key: dict = {}

    def _add(self, key, **fields) -> int:
        vertex = GraphNode(id=len(self.nodes), **fields)
        self.nodes.append(vertex)
        if key is not None:
            self.by_key[key] = vertex.id
        return vertex.id

    def vertex_for_tensor(self, t: Tensor) -> int:
        if t.grad_fn is not None:
            return self.vertex_for_node(t.grad_fn)
        return self.vertex_for_leaf(t)

    def vertex_for_leaf(self, t: Tensor) -> int:
        key = ("tensor", id(t))
        if key in self.by_key:
            return self.by_key[key]
        name = self.names.get(id(t), (None,))[0]
        return self._add(key, kind="leaf" if t._requires_grad else "const",
                         value=t._data.copy(), name=name, requires_grad=t._requires_grad,
                         tensor_id=id(t))

    def vertex_for_input(self, value) -> int:
        if isinstance(value, Tensor):
            return self.vertex_for_tensor(value)
        return self._add(None, kind="const", value=value)

    def vertex_for_node(self, node) -> int:
        """Post-order without recursion: inputs get their ids before the op."""
        stack = [(node, False)]
        while stack:
            current, expanded = stack.pop()
            key = ("node", id(current))
            if key in self.by_key:
                continue
            if isinstance(current, AccumulateGrad):
                self.vertex_for_leaf(current.variable)
                continue
            if current.traced is None:
                raise ValueError(f"{current.name()} was not traced (run the script in a session)")
            inputs, out = current.traced
            if not expanded:
                stack.append((current, True))
                for value in reversed(inputs):
                    if isinstance(value, Tensor) and value.grad_fn is not None:
                        if ("node", id(value.grad_fn)) not in self.by_key:
                            stack.append((value.grad_fn, False))
                continue
            input_ids = tuple(self.vertex_for_input(v) for v in inputs)
            custom = current.op.vjp_all is not None  # its params hold the live ctx: not data
            self._add(key, kind="op", value=np.asarray(out).copy(), op=current.op,
                      params={} if custom else dict(current._params or {}), inputs=input_ids,
                      requires_grad=True, name=self.node_names.get(id(current)),
                      tensor_id=id(current))
        return self.by_key[("node", id(node))]
