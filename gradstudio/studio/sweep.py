"""A sweep along one element of a leaf: f and ∂f/∂element over a range, three ways.

For a recorded backward call with root r and ``gradient=`` v (1 for a scalar),
f = Σ r·v. Moving one element ``a`` of one leaf over a range of values and
holding everything else at its recorded value gives the curves the Plots
panel draws:

* ``f`` — the recorded graph re-evaluated in float64 (:meth:`Graph.evaluate`);
* ``engine`` — ∂f/∂a from GradStudio's own backward pass, with the recorded
  ops replayed on tensors at each point (the VJP rules, in the leaf's dtype);
* ``symbolic`` — ∂f/∂a from the closed form sympy derives at each point (in
  the kernel's symbolic worker, within a time limit);
* ``finite_difference`` — central differences of f, in float64.

The sweep follows the recorded trace: data-dependent control flow is not
re-run, so far from the recorded point the curves describe the recorded
sequence of ops (which is what the gradient at the recorded point is about).
"""
from __future__ import annotations

import time

import numpy as np

from gradstudio.studio.figures.plot_choice import DEFAULT_POINTS, MAX_POINTS, default_range  # noqa: F401
from gradstudio.studio.trace import Graph, interpret


def f_values(graph: Graph, vertex: int, element: tuple, xs, gradient) -> np.ndarray:
    base = np.asarray(graph[vertex].value, dtype=np.float64)
    objective = graph.objective(gradient)
    out = []
    for x in xs:
        value = base.copy()
        value[element] = x
        out.append(objective({vertex: value}))
    return np.asarray(out, dtype=np.float64)


def finite_difference_values(graph: Graph, vertex: int, element: tuple, xs, gradient) -> np.ndarray:
    base = np.asarray(graph[vertex].value, dtype=np.float64)
    objective = graph.objective(gradient)
    out = []
    for x in xs:
        h = 1e-6 * max(1.0, abs(x))
        plus, minus = base.copy(), base.copy()
        plus[element], minus[element] = x + h, x - h
        out.append((objective({vertex: plus}) - objective({vertex: minus})) / (2 * h))
    return np.asarray(out, dtype=np.float64)


class EngineBackend:
    """The recorded graph replayed on GradStudio tensors with the rows' ``apply``
    (so a backward pass through it runs the VJP rules, in the recorded dtypes)."""

    def leaf(self, vertex):
        return _tensor(vertex.value, requires_grad=True)

    def const(self, vertex):
        value = vertex.value
        return _tensor(value) if isinstance(value, np.ndarray) else value

    def op(self, vertex, args):
        from gradstudio.ops.table import apply
        if vertex.op.forward is None:
            raise ValueError(f"{vertex.op.name} cannot be replayed")
        return apply(vertex.op, tuple(args), dict(vertex.params) if vertex.params else None)


def engine_values(graph: Graph, vertex: int, element: tuple, xs, gradient) -> np.ndarray:
    """∂f/∂a from the engine's backward pass, the recorded ops replayed at each point."""
    from gradstudio.tensor import Tensor
    from gradstudio.autograd.grad_mode import state as grad_state

    leaf_value = np.asarray(graph[vertex].value)
    backend = EngineBackend()
    out = []
    for x in xs:
        data = leaf_value.copy()
        data[element] = x
        swept = _tensor(data, requires_grad=True)
        previous = grad_state.enabled
        grad_state.enabled = True
        try:
            root = interpret(graph, backend, {vertex: swept})[graph.root]
            if not isinstance(root, Tensor):
                raise ValueError("the root is not a tensor")
            total = (root * _tensor(np.asarray(gradient, dtype=root._data.dtype))).sum() \
                if gradient is not None else root.sum()
            total.backward()
        finally:
            grad_state.enabled = previous
        grad = swept.grad
        out.append(float(np.asarray(grad._data)[element]) if grad is not None else 0.0)
    return np.asarray(out, dtype=np.float64)


def _tensor(data, requires_grad=False):
    from gradstudio.tensor import make
    t = make(np.array(data, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t


def symbolic_values(worker, graph: Graph, vertex: int, element: tuple, xs, gradient,
                    deadline: float) -> tuple:
    """(values or None, note): ∂f/∂a at each point from one closed form in the swept
    element ``a`` (everything else at its recorded value), derived by the symbolic
    worker before ``deadline`` (time.monotonic())."""
    return worker.values_along(graph, gradient, vertex, element, np.asarray(xs, dtype=np.float64),
                               max(0.5, deadline - time.monotonic()))


def sweep(graph: Graph, vertex: int, element, gradient, *, lo=None, hi=None,
          points: int = DEFAULT_POINTS, worker=None, timeout: float = 10.0) -> dict:
    """The sweep as plain data: ``x, f, engine, symbolic, finite_difference``
    (arrays; engine/symbolic None with a note when unavailable), ``at`` (the
    recorded value of the element), ``note``."""
    leaf = graph[vertex]
    if leaf.kind != "leaf":
        raise ValueError("a sweep moves an element of a leaf")
    shape = np.shape(leaf.value)
    element = tuple(int(i) for i in (element if isinstance(element, (list, tuple)) else [element]))
    if len(element) != len(shape) or any(not 0 <= i < n for i, n in zip(element, shape)):
        raise ValueError(f"element {list(element)} is not inside shape {list(shape)}")
    at = float(np.asarray(leaf.value)[element])
    if lo is None or hi is None:
        lo, hi = default_range(at)
    points = max(3, min(int(points), MAX_POINTS))
    xs = np.linspace(float(lo), float(hi), points)
    notes = []
    result = {"x": xs, "at": at, "element": list(element), "vertex": vertex,
              "f": f_values(graph, vertex, element, xs, gradient),
              "finite_difference": finite_difference_values(graph, vertex, element, xs, gradient)}
    try:
        result["engine"] = engine_values(graph, vertex, element, xs, gradient)
    except Exception as error:   # an op the replay cannot run: the other curves still stand
        result["engine"] = None
        notes.append(f"engine curve unavailable: {error}")
    if worker is not None:
        values, note = symbolic_values(worker, graph, vertex, element, xs, gradient,
                                       time.monotonic() + timeout)
        result["symbolic"] = values
        if note:
            notes.append(note)
    else:
        result["symbolic"] = None
    result["note"] = " ".join(notes) or None
    return result
