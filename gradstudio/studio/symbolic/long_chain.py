"""The generic-element gradient of a chain too long or too branched to write out.

The chain form (:mod:`.elementwise`) writes every path from the leaf to the
root as a product of local derivatives. That text grows with the number of
paths, and sympy rebuilds (and re-evaluates, ``sin`` by ``sin``) the whole
nested expression at every step, so a 1,000-op chain took seconds and a
chain that fans out at each step (``y = sin(y/2) + tanh(y)/10``) doubles its
paths per step and never finished.

Past :data:`MAX_OPS` ops, or :data:`MAX_PATHS` paths, the same derivative is
accumulated in reverse instead, each vertex's element standing for its own
value (``u1``, ``u2``, …): sympy differentiates each op's *symbolic forward*
once per kind of op (a template in dummy symbols, cached), and the adjoints
are multiplied along the graph with numpy. The engine's VJP rules are still
never read, so agreement with the engine still means something, and the
work is linear in the number of ops: a constant number of sympy calls per
kind of op, plus one vectorised evaluation per vertex. The formula itself is
reported by its size (the sum of the local derivatives' operations), not
written out.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gradstudio.ops._sympy import NUMPY_FUNCTIONS, sp
from gradstudio.studio.symbolic import render
from gradstudio.studio.symbolic.exact import exact_params, symbol_name

MAX_OPS = 300      # ops on the leaf's path beyond which the chain form is not written out
MAX_PATHS = 64     # leaf-to-root paths beyond which neither is it (the chain form's MAX_TERMS)


def path_counts(graph, depends: set, leaf_id: int) -> tuple[int, int]:
    """(ops on the leaf's path to the root, number of distinct leaf-to-root paths),
    the paths counted with multiplicity (``x*x`` is two) and capped past MAX_PATHS."""
    paths = {leaf_id: 1}
    ops = 0
    for vertex in graph.nodes:
        if vertex.id == leaf_id or vertex.id not in depends:
            continue
        ops += 1
        paths[vertex.id] = min(sum(paths.get(i, 0) for i in vertex.inputs), MAX_PATHS + 1)
    return ops, paths.get(graph.root, 0)


def is_long(graph, depends: set, leaf_id: int) -> bool:
    ops, paths = path_counts(graph, depends, leaf_id)
    return ops > MAX_OPS or paths > MAX_PATHS


class _Template:
    """One op's symbolic forward in dummy inputs, its partial derivatives, and both
    as numpy functions (built once per op, parameters and kinds of input)."""

    def __init__(self, op, params, kinds):
        S = sp()
        self.inputs = [S.Dummy(f"a{i}") if kind == "b" else S.Dummy(f"a{i}", real=True)
                       for i, kind in enumerate(kinds)]
        if op.kind == "shape":      # clone, alias, a cast: the element passes through
            forward = op.element(self.inputs[0])
        elif op.category == "loss":  # an elementwise loss: one element; derive() divides by N
            forward = op.element(self.inputs[0], self.inputs[1])
        else:
            forward = op.sympy(*self.inputs, **exact_params(params))
        self.forward = forward
        self.partials = [render.zero_step_derivatives(S.diff(forward, a)) if kind != "b" else S.Integer(0)
                         for a, kind in zip(self.inputs, kinds)]
        self.operations = [int(S.count_ops(p)) for p in self.partials]
        modules = [NUMPY_FUNCTIONS, "numpy"]
        self.numeric = [S.lambdify(self.inputs, p, modules) if p != 0 else None for p in self.partials]
        self.text = render.formula_text(forward)

    def written(self, operands: list) -> str:
        """The forward with its inputs named (``sin(u3/2)``): the template's text with
        each dummy's name replaced, longest first (``_a10`` before ``_a1``)."""
        text = self.text
        for dummy, operand in sorted(zip(self.inputs, operands), key=lambda p: -len(str(p[0]))):
            text = text.replace(str(dummy), operand)
        return text


@lru_cache(maxsize=256)
def _template(op, params_key, kinds):
    return _Template(op, dict(params_key), kinds)


def _params_key(params: dict):
    return tuple(sorted((k, v if not isinstance(v, list) else tuple(v)) for k, v in (params or {}).items()))


def template_count() -> int:
    """How many op templates sympy has derived so far (constant in the chain's depth)."""
    return _template.cache_info().currsize


@dataclass
class LongChain:
    """The generic-element gradient of a long chain: values, not text."""

    values: np.ndarray      # leaf-shaped
    operations: int         # the local derivatives' operations, summed: the formula's size
    legend: list            # [(u1, "= sin(x/2)"), …]
    ops: int                # ops on the leaf's path
    paths: int              # leaf-to-root paths (MAX_PATHS + 1 means more than MAX_PATHS)


def derive(builder, gradient) -> LongChain:
    """``builder`` is :class:`.elementwise._Builder`, which has checked that every
    vertex on the leaf's path is elementwise, a full reduction, or a scalar op on
    reductions, and has built the off-path vertices' element expressions."""
    graph, leaf_id, depends = builder.graph, builder.leaf_id, builder.depends
    values = graph.evaluate()
    on_path = [v for v in graph.nodes if v.id in depends and v.id != leaf_id]
    names = {leaf_id: builder.leaf_symbol_name}
    taken = set(builder.taken)
    legend, templates = [], {}
    for vertex in on_path:  # forward: a name and a meaning for each intermediate element
        names[vertex.id] = symbol_name(f"u{len(legend) + 1}", taken)
        if _is_reduction(vertex):
            meaning = f"= {'mean' if 'MEAN' in vertex.op.id else 'sum'} of {names[vertex.inputs[0]]}"
        else:
            inputs = _inputs(vertex)
            kinds = tuple("b" if np.asarray(values[i]).dtype.kind == "b" else "f" for i in inputs)
            try:
                template = _template(vertex.op, _params_key(vertex.params), kinds)
            except TypeError:  # a parameter that cannot be a cache key (an array): derive it here
                template = _Template(vertex.op, dict(vertex.params or {}), kinds)
            templates[vertex.id] = template
            meaning = "= " + template.written([names[i] if i in names else _operand(builder, i)
                                               for i in inputs])
        legend.append((names[vertex.id], meaning))
    adjoint = {graph.root: _root_seed(graph, gradient)}
    operations = 0
    for vertex in reversed(on_path):  # reverse: adjoints times each op's own derivative
        g = adjoint.pop(vertex.id, None)
        if g is None:
            continue
        if _is_reduction(vertex):
            source = vertex.inputs[0]
            mean = "MEAN" in vertex.op.id
            _add(adjoint, source, g / int(np.prod(graph[source].shape)) if mean else g, graph[source].shape)
            operations += int(mean)
            continue
        inputs, template = _inputs(vertex), templates[vertex.id]
        if vertex.op.category == "loss" and vertex.params.get("reduction") == "mean":
            g = g / int(np.prod(graph[inputs[0]].shape))
        args = [_numeric(values[i]) for i in inputs]
        for i, (source, partial) in enumerate(zip(inputs, template.numeric)):
            if source in depends and partial is not None:
                _add(adjoint, source, g * np.asarray(partial(*args), dtype=np.float64), graph[source].shape)
                operations += template.operations[i] + 1
    grad = adjoint.get(leaf_id, np.zeros(graph[leaf_id].shape))
    _, paths = path_counts(graph, depends, leaf_id)
    return LongChain(np.broadcast_to(grad, graph[leaf_id].shape).astype(np.float64), operations,
                     legend, len(on_path), paths)


def _is_reduction(vertex) -> bool:
    return vertex.op.id in ("reduction.SUM", "reduction.MEAN", "reduction.SUM_DIM", "reduction.MEAN_DIM")


def _inputs(vertex):
    return vertex.inputs[:2] if vertex.op.category == "loss" else vertex.inputs


def _operand(builder, vertex_id) -> str:
    """An off-path operand as the chain form writes it (a number, a named element)."""
    expression = builder.exprs[vertex_id]
    text = render.formula_text(expression)
    return text if expression.is_Symbol or (expression.is_Integer and expression >= 0) else f"({text})"


def _numeric(value):
    value = np.asarray(value)
    return value if value.dtype.kind == "b" else value.astype(np.float64)


def _root_seed(graph, gradient):
    root = graph[graph.root]
    if gradient is None:
        return np.ones(root.shape)
    return np.broadcast_to(np.asarray(gradient, dtype=np.float64), root.shape)


def _add(adjoint: dict, vertex_id: int, g, shape):
    g = np.broadcast_to(g, shape)
    adjoint[vertex_id] = adjoint[vertex_id] + g if vertex_id in adjoint else np.array(g, dtype=np.float64)
