"""The objective with one element of a leaf changed, computed on that element alone
where the graph allows it: what finite differences of single elements re-run.

``Graph.objective(gradient)({leaf: x'})`` re-runs every op downstream of the leaf
on whole arrays, although ``x'`` differs from ``x`` in one element only. Through
an elementwise op whose changed inputs all have the op's own shape, a change at
flat position ``i`` stays a change at ``i`` alone: there the op is run on the
changed elements only (its other inputs read at the same positions, broadcast as
the op would), and the vertex is kept as "its base value, except these
elements". The first other op (a reduction, a matmul, a shape op) gets whole
arrays again — the base value with the changed elements written in — and from
there the evaluation is the ordinary one. A 100-op chain of elementwise ops on
1,000 elements then costs 100 one-element calls instead of 100 whole-array ones.
Finite differences change many elements, each in its own copy of the leaf; those
changes are independent, so they travel through the elementwise ops side by side
(one call per op for all of them, :func:`element_objective`'s ``g.many``), and
only the whole-array steps after them run once per change.

It computes the same numbers as the whole-array evaluation (float64 both; an
elementwise forward is the same function element by element), and
:func:`compare.finite_differences` still checks the first element both ways and
falls back to whole arrays if they ever differ.
"""
from __future__ import annotations

import numpy as np

from gradstudio.studio.trace import Graph, NumpyBackend, interpret


def element_objective(graph: Graph, gradient=None):
    """``(f, g)``: ``f`` is ``graph.objective(gradient)``; ``g(vertex, index, value)``
    is ``f({vertex: x})`` for ``x`` the leaf's float64 value with its flat element
    ``index`` set to ``value``. ``g.many(vertex, indices, values)`` is ``g`` for each
    pair at once (an array of objectives): the elementwise part of the graph runs once
    on all the changed elements together, since each is changed in its own copy."""
    weights = None if gradient is None else np.asarray(gradient, dtype=np.float64)
    backend = NumpyBackend(np.float64)
    base = interpret(graph, backend)
    plans: dict = {}

    def total(root) -> float:
        root = np.asarray(root, dtype=np.float64)
        return float(np.sum(root * weights) if weights is not None else np.sum(root))

    def f(overrides) -> float:
        given = {i: np.asarray(v, dtype=np.float64) for i, v in overrides.items()}
        return total(interpret(graph, backend, given, base=base)[graph.root])

    def many(vertex: int, indices, values) -> np.ndarray:
        plan = plans.get(vertex)
        if plan is None:
            plan = plans[vertex] = _plan(graph, base, vertex)
        positions = np.asarray(indices, dtype=np.intp).reshape(-1)
        changed = np.asarray(values, dtype=np.float64).reshape(-1)
        return np.array([total(root) for root in _run(plan, backend, base, vertex, positions, changed,
                                                       graph.root)], dtype=np.float64)

    def g(vertex: int, index: int, value: float) -> float:
        return float(many(vertex, [int(index)], [float(value)])[0])
    g.many = many
    return f, g


# a step's argument: (SAME, i) the changed elements of vertex i; (AT, flat array) another
# input read at the changed position; (VALUE, v) v itself; (WHOLE, i) vertex i's whole value
SAME, AT, VALUE, WHOLE = range(4)


def _plan(graph: Graph, base: dict, vertex: int) -> list:
    """The ops downstream of ``vertex`` in order, each ``(node, on_elements, arguments)``."""
    shapes = {i: np.shape(v) for i, v in base.items()}
    sparse, full = {vertex}, set()
    plan = []
    for node in graph.nodes:
        if node.kind != "op" or node.id == vertex:
            continue
        changed = [j for j in node.inputs if j in sparse or j in full]
        if not changed:
            continue
        shape = shapes[node.id]
        op = node.op
        if (op.kind == "elementwise" and op.forward is not None and op.vjp_all is None
                and all(j in sparse and shapes[j] == shape for j in changed)):
            arguments = []
            for j in node.inputs:
                a = base[j]
                if j in sparse:
                    arguments.append((SAME, j))
                elif not isinstance(a, np.ndarray) or a.ndim == 0:
                    arguments.append((VALUE, a))          # the same for every element
                else:                                     # broadcast as the op would, read flat
                    arguments.append((AT, np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)))
            sparse.add(node.id)
            plan.append((node, True, arguments))
        else:
            full.add(node.id)
            plan.append((node, False, [(WHOLE, j) if j in sparse or j in full else (VALUE, base[j])
                                       for j in node.inputs]))
    return plan


def _run(plan: list, backend: NumpyBackend, base: dict, vertex: int, positions: np.ndarray,
         values: np.ndarray, root: int) -> list:
    """The root's value for each change ``p``: ``vertex``'s flat element ``positions[p]``
    set to ``values[p]``, every change on its own. The elementwise steps carry one
    element per change (the changes are independent, so they travel side by side in
    one array); the other steps run once per change, on whole arrays."""
    elements = {vertex: values}     # per vertex on elements: its changed element under each change
    for node, on_elements, arguments in plan:
        if on_elements:
            args = [elements[a] if kind == SAME else a[positions] if kind == AT else a
                    for kind, a in arguments]
            out = backend.op(node, args)
            elements[node.id] = out if np.ndim(out) else np.full(len(positions), out)
    whole_steps = [(node, arguments) for node, on_elements, arguments in plan if not on_elements]
    if not whole_steps and root not in elements:
        return [base[root]] * len(positions)
    roots = []
    for change, position in enumerate(positions):
        whole: dict = {}

        def whole_value(i):
            found = whole.get(i)
            if found is None:
                found = whole[i] = np.array(base[i], copy=True, order="C")   # C order: reshape is a view
                found.reshape(-1)[position] = elements[i][change]
            return found
        for node, arguments in whole_steps:
            whole[node.id] = backend.op(node, [whole_value(a) if kind == WHOLE else a for kind, a in arguments])
        roots.append(whole_value(root) if root in whole or root in elements else base[root])
    return roots
