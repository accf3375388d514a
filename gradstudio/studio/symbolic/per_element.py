"""The per-element form: every element of a small leaf is its own symbol
(``x_0_1``) and each gradient entry its own exact formula.

The whole recorded graph is rebuilt (by :func:`~gradstudio.studio.trace.interpret`)
as numpy object arrays of sympy expressions, op by op from the ops' symbolic forwards (numpy's own matmul,
sum, reshape … work on object arrays); the objective is Σ root·v with v the
``gradient=`` values as exact numbers, and sympy differentiates it once per
leaf element. This covers what the generic form cannot (matmul, softmax,
norms, indexing, reductions over a dim), for leaves up to 256 elements.
"""
from __future__ import annotations

import numpy as np

from gradstudio.studio.trace import Graph, interpret
from gradstudio.ops._sympy import sp
from gradstudio.studio.symbolic import render
from gradstudio.studio.symbolic.exact import exact, exact_array, exact_params, real_symbol, symbol_name

MAX_ELEMENTS = 256          # per-element formulas for leaves up to this size
MAX_SYMBOLIC_ELEMENTS = 512  # other leaves stay symbolic while the total is below this


class NoSymbolicRule(Exception):
    pass


def element_symbols(base: str, shape: tuple) -> np.ndarray:
    """``x_0_1``-style symbols in an array of ``shape``."""
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        suffix = "_".join(str(i) for i in index)
        out[index] = real_symbol(f"{base}_{suffix}" if suffix else base)
    return out


class _SymbolicBackend:
    """Object arrays of sympy expressions: op vertices through the rows' symbolic
    forwards; leaves and constants as :meth:`value` says."""

    def op(self, vertex, args):
        return apply_symbolic(vertex.op, vertex.params, args)

    def leaf(self, vertex):
        return self.value(vertex)

    def const(self, vertex):
        return self.value(vertex)


class _ElementSymbols(_SymbolicBackend):
    """Every element of the symbolic leaves (and of small named data) its own symbol;
    other values as exact numbers."""

    def __init__(self, graph: Graph, leaf_id: int):
        self.taken: set = set()
        leaves = [v for v in graph.nodes if v.kind == "leaf" and v.requires_grad]
        data = [v for v in graph.nodes if _named_data(v)]
        self.total = sum(int(np.prod(v.shape)) for v in leaves)
        self.with_data = self.total + sum(int(np.prod(v.shape)) for v in data)
        self.leaf_id = leaf_id
        self.symbolic: dict = {}

    def value(self, vertex):
        # Named data tensors (x, y…) read better as x_0_1 than as 9-digit rationals.
        if (vertex.kind == "leaf" and vertex.requires_grad and (
                vertex.id == self.leaf_id or self.total <= MAX_SYMBOLIC_ELEMENTS)) or (
                _named_data(vertex) and self.with_data <= MAX_SYMBOLIC_ELEMENTS):
            base = symbol_name(vertex.name or f"leaf{vertex.id}", self.taken)
            symbols = self.symbolic[vertex.id] = element_symbols(base, vertex.shape)
            return symbols
        value = vertex.value
        return exact_array(value) if isinstance(value, np.ndarray) else exact(value)


class _Floats(_SymbolicBackend):
    """Recorded values as Python floats in object arrays (only what depends on a
    swept symbol becomes an expression)."""

    def value(self, vertex):
        value = vertex.value
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return value.astype(np.float64).astype(object)
        return value


def build(graph: Graph, leaf_id: int):
    """Object arrays for every vertex; returns (arrays, {leaf id: symbol array})."""
    backend = _ElementSymbols(graph, leaf_id)
    arrays = interpret(graph, backend)
    return arrays, backend.symbolic


def _named_data(vertex) -> bool:
    """A named, non-uniform floating tensor that does not require grad (data, targets)."""
    value = vertex.value
    return (vertex.kind in ("leaf", "const") and not vertex.requires_grad and bool(vertex.name)
            and isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size > 1
            and not np.all(value == value.reshape(-1)[0]))


def apply_symbolic(op, params: dict, args: list) -> np.ndarray:
    """``op``'s symbolic forward on object arrays (or exact numbers), as an object array."""
    if op.sympy is None:
        raise NoSymbolicRule(f"no symbolic rule for {op.name}")
    params = exact_params(params)
    if op.kind == "elementwise":
        function = np.frompyfunc(lambda *a: op.sympy(*a, **params), len(args), 1)
        return np.asarray(function(*args), dtype=object)
    arrays = [a if isinstance(a, np.ndarray) else np.asarray(a, dtype=object) for a in args]
    return np.asarray(op.sympy(*arrays, **params), dtype=object)


def objective(graph: Graph, arrays: dict, gradient):
    S = sp()
    root = np.asarray(arrays[graph.root], dtype=object)
    if gradient is None:
        return S.Add(*root.reshape(-1))
    weights = exact_array(np.asarray(gradient))
    return S.Add(*np.asarray(root * weights, dtype=object).reshape(-1))


def derivative_along(graph: Graph, gradient, leaf_id: int, element: tuple):
    """∂f/∂a as a sympy expression in one symbol ``a`` standing for ``leaf[element]``,
    every other value held at its recorded number — what a sweep along that element
    needs, derived once. Numbers stay Python floats in the object arrays, so only the
    entries that depend on ``a`` become sympy expressions."""
    S = sp()
    a = real_symbol("a")
    swept = np.asarray(graph[leaf_id].value, dtype=np.float64).astype(object)
    swept[element] = a
    arrays = interpret(graph, _Floats(), {leaf_id: swept})
    root = np.asarray(arrays[graph.root], dtype=object)
    if gradient is not None:
        root = np.asarray(root * np.asarray(gradient, dtype=np.float64), dtype=object)
    f = S.Add(*[S.sympify(e) for e in root.reshape(-1)])
    return render.zero_step_derivatives(S.diff(f, a)), a


def derive(graph: Graph, gradient, leaf_id: int):
    """(gradient formulas as an object array shaped like the leaf, the symbols
    of every symbolic leaf element)."""
    S = sp()
    arrays, symbolic = build(graph, leaf_id)
    f = objective(graph, arrays, gradient)
    leaf_symbols = symbolic[leaf_id]
    grads = np.empty(leaf_symbols.shape, dtype=object)
    for index in np.ndindex(*leaf_symbols.shape):
        grads[index] = render.zero_step_derivatives(S.diff(f, leaf_symbols[index]))
    return grads, symbolic
