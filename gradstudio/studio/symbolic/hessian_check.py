"""A leaf's Hessian two ways, for the window: the matrix form beside the engine's.

:func:`explain` puts ∇²f in matrix form (:func:`.matrix.hessian_report`, itself
checked against second differences of the recorded graph) next to the engine's
``autograd.functional.hessian`` of the same f — the recorded graph replayed on
GradStudio tensors in float64, with double backward through the VJP rules — and
says whether the two agree element by element. f is what the backward call
differentiates: the scalar root, or Σ root·v for ``backward(gradient=v)``.

Cost is bounded: the engine's Hessian takes one backward pass per leaf element
and has n² entries, so leaves over :data:`MAX_ELEMENTS` elements are refused
with a reason.
"""
from __future__ import annotations

import numpy as np

from gradstudio.studio import trace

MAX_ELEMENTS = 400     # n² = 160,000 entries and 400 double-backward passes at most
TOLERANCE = 1e-6       # relative to max(1, |H|), both sides in float64


def explain(graph, gradient, leaf_id: int) -> dict:
    """``{"leaf", "n", "formula", "latex", "values", "engine", "max_abs_error", "agree",
    "note", "error"}``: the matrix form's values and the engine's Hessian are n×n
    (n the leaf's element count, vec taking rows first, as torch flattens)."""
    from gradstudio.studio.symbolic.matrix import hessian_report
    leaf = graph[leaf_id]
    name = leaf.name or "the leaf"
    n = int(np.prod(leaf.shape)) if leaf.shape else 1
    answer = {"leaf": leaf.name or "", "n": n, "formula": None, "latex": None, "values": None,
              "engine": None, "max_abs_error": None, "agree": False, "note": None, "error": None}
    if len(leaf.shape) > 2:
        answer["error"] = f"{name} is a {len(leaf.shape)}-d tensor: a Hessian in matrix form needs a " \
                          "scalar, vector or matrix leaf"
        return answer
    if n > MAX_ELEMENTS:
        answer["error"] = f"{name} has {n} elements: its Hessian would have {n * n:,} entries " \
                          f"(the limit is {MAX_ELEMENTS} elements)"
        return answer
    report = hessian_report(graph, gradient, leaf_id)
    engine = engine_hessian(graph, gradient, leaf_id)
    answer.update(formula=report["formula"], latex=report["latex"], engine=engine)
    if report["values"] is None:
        answer["note"] = report["note"]
        return answer
    values = np.asarray(report["values"], dtype=np.float64)
    error = float(np.max(np.abs(values - engine))) if values.size else 0.0
    scale = max(1.0, float(np.max(np.abs(engine))) if engine.size else 1.0)
    answer.update(values=values, max_abs_error=error, agree=bool(error <= TOLERANCE * scale)
                  and bool(report["agree"]), note=report["note"])
    return answer


def engine_hessian(graph, gradient, leaf_id: int) -> np.ndarray:
    """``autograd.functional.hessian`` of the call's f in one leaf (others held at
    their recorded values), as an n×n matrix."""
    from gradstudio.autograd.functional import hessian
    from gradstudio.ops.creation import tensor
    from gradstudio.studio.jacobian import _Float64
    from gradstudio.studio.sweep import EngineBackend

    backend = _Float64(EngineBackend())
    weights = None if gradient is None else tensor(
        np.broadcast_to(np.asarray(gradient, dtype=np.float64), graph[graph.root].shape).copy())

    def f(x):
        root = trace.interpret(graph, backend, {leaf_id: x})[graph.root]
        return root.sum() if weights is None else (root * weights).sum()

    x = tensor(np.asarray(graph[leaf_id].value, dtype=np.float64))
    n = x.numel()
    return np.asarray(hessian(f, x).numpy(), dtype=np.float64).reshape(n, n)
