"""What ``backward(gradient=v)`` computes, made explicit: the Jacobian and Jᵀv.

For a backward call on a non-scalar root ``y`` with ``gradient=v``, a leaf
``x`` receives Jᵀv where J = ∂y/∂x. :func:`explain` computes J numerically by
replaying the recorded graph on the engine with
``autograd.functional.jacobian`` (other leaves held at their recorded values),
forms Jᵀv, and puts it beside what the call actually added to ``x.grad`` —
three numbers that must agree. It also names J's structure when it has one a
person would recognise (the seed tutorial's loop gives ``1024·I``, so ``x.grad
= 1024·v``): a multiple of the identity, diagonal, or dense. A one-hot ``v``
picks out one row of J, which is how the explorer walks J row by row.

Cost is bounded: J has m·n entries for m outputs and n inputs, and beyond
:data:`MAX_ENTRIES` it is not formed (the explanation says so and the VJP is
still compared through the engine).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradstudio.studio import trace
from gradstudio.studio.sweep import EngineBackend

MAX_ENTRIES = 250_000


@dataclass
class Explanation:
    leaf: str
    jacobian: np.ndarray | None       # (m, n): outputs × inputs, flattened; None when too large
    v: np.ndarray                     # (m,)
    jtv: np.ndarray | None            # (n,) = Jᵀv
    engine: np.ndarray                # (n,) what the call added to .grad
    agree: bool
    structure: str                    # "1024·I", "diagonal", "dense (3×3)", …
    note: str = ""


def _replayed(graph: trace.Graph, leaf_id: int) -> tuple:
    """``(f, x)``: the root as a function of the leaf (the recorded graph replayed on the
    engine in float64) and the leaf's value as a float64 tensor, for autograd.functional."""
    from gradstudio.ops.creation import tensor

    backend = _Float64(EngineBackend())

    def f(x):
        return trace.interpret(graph, backend, {leaf_id: x})[graph.root]

    return f, tensor(np.asarray(graph[leaf_id].value, dtype=np.float64))


def jacobian(graph: trace.Graph, leaf_id: int) -> np.ndarray:
    """∂root/∂leaf as a (root elements × leaf elements) matrix, in float64."""
    from gradstudio.autograd.functional import jacobian as functional_jacobian

    f, x = _replayed(graph, leaf_id)
    J = functional_jacobian(f, x).numpy()
    m = int(np.prod(graph[graph.root].shape, dtype=np.int64))
    return J.reshape(m, x.numel())


def explain(call, leaf_index: int = 0, v=None) -> Explanation:
    """J, Jᵀv and the engine's gradient for one leaf of a recorded call (``v``
    defaults to the call's ``gradient=``, or 1 for a scalar root)."""
    graph = call.graph
    leaf = call.leaves[leaf_index]
    root_shape = graph[graph.root].shape
    m = int(np.prod(root_shape, dtype=np.int64))
    n = int(np.prod(leaf.shape, dtype=np.int64))
    if v is None:
        v = call.gradient if call.gradient is not None else np.ones(root_shape)
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    engine = np.asarray(leaf.grad, dtype=np.float64).reshape(-1)
    if m * n > MAX_ENTRIES:
        return Explanation(leaf.name, None, v, None, engine, True, f"not formed ({m}×{n})",
                           note=f"J has {m * n:,} entries, over the {MAX_ENTRIES:,} shown")
    J = jacobian(graph, leaf.vertex)
    jtv = J.T @ v
    scale = max(1.0, float(np.max(np.abs(jtv))) if jtv.size else 1.0)
    tolerance = (2e-3 if np.asarray(leaf.grad).dtype != np.float64 else 1e-6) * scale
    agree = bool(np.all(np.abs(jtv - engine) <= tolerance))
    return Explanation(leaf.name, J, v, jtv, engine, agree, structure(J))


def engine_vjp(graph: trace.Graph, leaf_id: int, v) -> np.ndarray:
    """What ``backward(gradient=v)`` gives the leaf, the recorded graph replayed on the
    engine (its VJP rules, its dtypes): the engine's side of Jᵀv for any ``v``."""
    from gradstudio.ops.creation import tensor
    from gradstudio.autograd.grad_mode import state as grad_state

    backend = EngineBackend()
    leaf = graph[leaf_id]
    x = tensor(np.array(leaf.value, copy=True), requires_grad=True)
    previous = grad_state.enabled
    grad_state.enabled = True
    try:
        y = trace.interpret(graph, backend, {leaf_id: x})[graph.root]
        root = graph[graph.root]
        y.backward(tensor(np.asarray(v, dtype=np.asarray(root.value).dtype).reshape(root.shape)))
    finally:
        grad_state.enabled = previous
    return np.asarray(x.grad._data, dtype=np.float64).reshape(-1)


MAX_HESSIAN_ELEMENTS = 100     # the numeric Hessian costs one backward pass per leaf element


def hessian(graph: trace.Graph, leaf_id: int) -> np.ndarray:
    """∇²root in the leaf for a scalar root, as (leaf elements × leaf elements), float64
    (``autograd.functional.hessian`` over the recorded graph replayed on the engine)."""
    from gradstudio.autograd.functional import hessian as functional_hessian

    f, x = _replayed(graph, leaf_id)
    H = functional_hessian(f, x).numpy()
    return H.reshape(x.numel(), x.numel())


def symbolic_data(call, leaf_index: int, J, H, scalar: bool = False) -> dict:
    """The matrix forms beside the numbers (gradstudio.studio.symbolic.jacobians): J's
    for any call, the Hessian's for a scalar root — each with its values checked against
    the numeric J / H (``agree`` None without one): ``{"symbolic": {text, values, agree,
    note}, "hessian_symbolic": …}``."""
    from gradstudio.studio.symbolic import jacobians
    graph, leaf = call.graph, call.leaves[leaf_index]
    out = {"symbolic": _checked(jacobians.jacobian(graph, leaf.vertex), J)}
    if scalar:      # the matrix form costs the same whatever the size: also without numeric H
        out["hessian_symbolic"] = _checked(jacobians.hessian(graph, call.gradient, leaf.vertex), H)
    return out


def _checked(form, numeric) -> dict:
    values = form.values
    agree = None
    if values is not None and numeric is not None:
        agree = bool(values.shape == numeric.shape and np.allclose(
            values, numeric, rtol=1e-4, atol=1e-6 * max(1.0, float(np.max(np.abs(numeric))) if numeric.size else 1.0)))
    return {"text": form.text, "values": values, "agree": agree, "note": form.note}


def explain_data(call, leaf_index: int = 0, v=None) -> dict:
    """:func:`explain` as plain data for the app, with the engine's backward(gradient=v)
    for the chosen ``v`` (``engine``; ``call_engine`` is what the call itself added):
    ``leaf, leaves [names], m, n, root_shape, leaf_shape, jacobian (m×n|None), v, jtv,
    engine, call_engine, agree, structure, note``; the matrix forms of J and (for a
    scalar root) the Hessian, see :func:`symbolic_data`, and the numeric ``hessian``."""
    e = explain(call, leaf_index, v)
    graph, leaf = call.graph, call.leaves[leaf_index]
    engine = e.engine
    if v is not None:
        engine = engine_vjp(graph, leaf.vertex, e.v)
    agree = e.jtv is None or bool(np.allclose(e.jtv, engine, rtol=2e-3, atol=2e-3 * max(
        1.0, float(np.max(np.abs(e.jtv))) if e.jtv.size else 1.0)))
    H, hessian_note = None, None
    scalar = not graph[graph.root].shape
    if scalar:                                 # a scalar function: its Hessian too
        if engine.size <= MAX_HESSIAN_ELEMENTS:
            H = hessian(graph, leaf.vertex)
        else:
            hessian_note = (f"the Hessian is formed for leaves of up to {MAX_HESSIAN_ELEMENTS} elements "
                            f"(one backward pass per element)")
    forms = symbolic_data(call, leaf_index, e.jacobian, H, scalar)
    return {**forms, "hessian": H, "hessian_note": hessian_note,
            "leaf": e.leaf, "leaves": [lf.name for lf in call.leaves],
            "m": int(e.v.size), "n": int(engine.size),
            "root_shape": list(graph[graph.root].shape), "leaf_shape": list(leaf.shape),
            "jacobian": e.jacobian, "v": e.v, "jtv": e.jtv, "engine": engine,
            "call_engine": e.engine, "agree": agree, "structure": e.structure, "note": e.note}


def one_hot(size: int, index: int) -> np.ndarray:
    """The v that picks row ``index`` of J (Jᵀe_k is that row)."""
    v = np.zeros(size)
    v[index] = 1.0
    return v


def structure(J: np.ndarray) -> str:
    """A name for J's shape of non-zeros: ``c·I``, ``diagonal``, ``dense (m×n)``."""
    m, n = J.shape
    if m == n:
        off = J - np.diag(np.diag(J))
        if np.allclose(off, 0.0, atol=1e-12):
            d = np.diag(J)
            if np.allclose(d, d[0], rtol=1e-9, atol=1e-12):
                c = d[0]
                return "I" if np.isclose(c, 1.0) else f"{_number(c)}·I"
            return "diagonal"
    if not np.any(J):
        return "zero"
    return f"dense ({m}×{n})"


def _number(c: float) -> str:
    return f"{c:.0f}" if float(c).is_integer() else f"{c:.4g}"


class _Float64:
    """The engine backend with leaves and constants in float64 (J is compared with
    the float32 engine at float32 tolerance, and computed without its rounding)."""

    def __init__(self, inner):
        self.inner = inner

    def leaf(self, vertex):
        from gradstudio.ops.creation import tensor
        return tensor(np.asarray(vertex.value, dtype=np.float64))

    def const(self, vertex):
        from gradstudio.ops.creation import tensor
        value = vertex.value
        return tensor(np.asarray(value, dtype=np.float64)) if isinstance(value, np.ndarray) else value

    def op(self, vertex, args):
        return self.inner.op(vertex, args)
