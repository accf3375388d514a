"""J = ∂root/∂leaf and the Hessian of a scalar root, as a textbook writes them.

For the Jacobian explorer: the matrix form of a recorded graph's Jacobian, derived
from the ops' matrix forwards (:mod:`gradstudio.studio.symbolic.matrix`), never
from the engine's VJP rules. Reverse mode gives ∂⟨v, y⟩/∂x = Jᵀv as an expression
linear in a fresh v; :func:`~gradstudio.studio.symbolic.matrix.hessians.linear_map`
reads off the matrix Jᵀ, and J is its transpose — the seed tutorial's loop gives
``1024·I``, ``exp(x)`` gives ``diag(exp(x))``, ``tanh(A x)`` gives
``diag(1 − tanh(A x)²) A``. :func:`hessian` is the matrix form of ∇²f for a scalar
root (f = Σ v ⊙ root with ``gradient=`` v), as ``gradstudio check --hessian``
derives it. Both are evaluated on the recorded values, in the flattened layout
``autograd.functional`` uses, so the caller compares them with the numeric ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_TEXT = 600        # longer forms are reported by size


@dataclass
class SymbolicMatrix:
    """A symbolic J or H: ``text`` (None with a ``note`` when there is none), its
    ``values`` evaluated (None when they could not be), in the flattened layout."""

    text: str | None
    values: np.ndarray | None = None
    note: str | None = None


def jacobian(graph, leaf_id: int) -> SymbolicMatrix:
    """J = ∂root/∂leaf in matrix form, evaluated as (root elements × leaf elements)."""
    from gradstudio.studio.symbolic import matrix
    from gradstudio.studio.symbolic.matrix import expr as M
    from gradstudio.studio.symbolic.matrix.build import Builder
    from gradstudio.studio.symbolic.matrix.evaluate import evaluate
    from gradstudio.studio.symbolic.matrix.hessians import linear_map
    from gradstudio.studio.symbolic.matrix.render import text
    try:
        builder = Builder(graph)
        root = builder.expression(graph.root)
        x = builder.exprs.get(leaf_id)
        if x is None or x.op != "var":
            return SymbolicMatrix(None, note="the leaf is not a tensor of the matrix expression")
        if root.is_scalar:        # J is the gradient laid out as a row
            gradient = matrix.simplify(matrix.gradients(root, [x])[x])
            J = matrix.simplify(M.T(gradient)) if x.shape and x.shape[-1] == 1 else gradient
        else:
            v = M.var("v_jacobian", root.shape)
            adjoint = matrix.simplify(matrix.gradients(M.total(M.mul(v, root)), [x])[x])
            J = matrix.simplify(M.T(linear_map(adjoint, v)))
        written = text(J, builder.names, keep_named=True)
    except (matrix.NoMatrixForm, matrix.NoMatrixRule, M.MatrixError, ValueError, KeyError) as why:
        return SymbolicMatrix(None, note=f"no matrix form: {why}")
    m = int(np.prod(graph[graph.root].shape, dtype=np.int64))
    n = int(np.prod(graph[leaf_id].shape, dtype=np.int64))
    values = _values(evaluate, J, builder.bindings, m, n)
    return SymbolicMatrix(_shown(written), values,
                          None if values is not None else "its values could not be laid out as m×n")


def hessian(graph, gradient, leaf_id: int) -> SymbolicMatrix:
    """∇²f of the call's scalar f in the leaf, in matrix form, evaluated (n × n)."""
    from gradstudio.studio.symbolic import matrix
    try:
        _, written, _, values = matrix.hessian(graph, gradient, leaf_id)
    except (matrix.NoMatrixForm, ValueError, KeyError) as why:
        return SymbolicMatrix(None, note=f"no Hessian in matrix form: {why}")
    return SymbolicMatrix(_shown(written), np.asarray(values, dtype=np.float64))


def _values(evaluate, e, bindings, m: int, n: int) -> np.ndarray | None:
    try:
        values = np.asarray(evaluate(e, bindings), dtype=np.float64)
    except (ValueError, TypeError, KeyError):
        return None
    if values.size == 1 and m * n != 1:
        values = np.eye(m, n) * float(values.reshape(-1)[0]) if m == n else None
        return values
    return values.reshape(m, n) if values.size == m * n else None


def _shown(written: str) -> str:
    """The matrix language's text as a textbook writes it."""
    shown = written.replace(".T", "ᵀ").replace("**2", "²").replace("**", "^").replace("*", "·")
    return shown if len(shown) <= MAX_TEXT else f"a formula of {len(shown):,} characters"
