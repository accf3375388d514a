"""The matrix form, where sympy's matrix calculus can say it.

For a loss that is a sum (or mean) of squares of a matrix expression — least
squares ``((A @ W - Y) ** 2).sum()``, ``F.mse_loss(A @ W, Y)`` — built from
matrix products, sums, differences, scalar multiples and transposes, the
leaf's gradient comes out as a matrix expression: ``2*A.T*(A*W - Y)``.
Vectors are columns. sympy's matrix derivatives can be silently wrong, so
the caller always checks the result numerically before showing it.
"""
from __future__ import annotations

import numpy as np

from gradstudio.studio.trace import Graph
from gradstudio.ops._sympy import sp
from gradstudio.studio.symbolic.exact import exact, symbol_name

_MATRIX_OPS = {"linalg.MM", "linalg.MV", "elementwise.ADD", "elementwise.SUB", "elementwise.MUL",
               "elementwise.DIV", "elementwise.NEG", "shape.T", "shape.TRANSPOSE", "shape.PERMUTE",
               "shape.CLONE", "shape.ALIAS"}


class NoMatrixForm(Exception):
    pass


def _matrix_shape(shape: tuple) -> tuple:
    if len(shape) == 2:
        return shape
    if len(shape) == 1:
        return (shape[0], 1)
    raise NoMatrixForm("only vectors and matrices")


def derive(graph: Graph, gradient, leaf_id: int):
    """(matrix derivative expression, {symbol: value array}) or NoMatrixForm."""
    S = sp()
    if gradient is not None and np.ndim(gradient) != 0:
        raise NoMatrixForm("gradient= vector")
    root = graph[graph.root]
    if root.kind != "op":
        raise NoMatrixForm("no op")
    scale = S.Integer(1) if gradient is None else exact(np.asarray(gradient).item())
    key = root.op.key
    if key in ("reduction.SUM", "reduction.MEAN"):
        inner = graph[root.inputs[0]]
        if key == "reduction.MEAN":
            scale *= S.Rational(1, int(np.prod(inner.shape)))
        if not (inner.kind == "op" and inner.op.key == "elementwise.POW"
                and inner.params.get("exponent") == 2):
            raise NoMatrixForm("not a sum of squares")
        residual_id, target_id = inner.inputs[0], None
    elif key == "losses.MSE_LOSS" and root.params.get("reduction") in ("mean", "sum"):
        residual_id, target_id = root.inputs
        if graph[residual_id].shape != graph[target_id].shape:
            raise NoMatrixForm("broadcast")
        if root.params["reduction"] == "mean":
            scale *= S.Rational(1, int(np.prod(graph[residual_id].shape)))
    else:
        raise NoMatrixForm("not a squared loss")
    taken: set = set()
    values: dict = {}
    cache: dict = {}

    def expression(vertex_id):
        if vertex_id in cache:
            return cache[vertex_id]
        vertex = graph[vertex_id]
        if vertex.kind in ("leaf", "const"):
            if not isinstance(vertex.value, np.ndarray) or vertex.value.ndim == 0:
                result = exact(np.asarray(vertex.value).item())
            else:
                name = symbol_name(vertex.name or f"C{len(values)}", taken)
                result = S.MatrixSymbol(name, *_matrix_shape(vertex.shape))
                values[result] = np.asarray(vertex.value, dtype=np.float64).reshape(result.shape)
        elif vertex.op.key not in _MATRIX_OPS:
            raise NoMatrixForm(f"{vertex.op.name}")
        else:
            args = [expression(i) for i in vertex.inputs]
            result = _combine(vertex, args)
        cache[vertex_id] = result
        return result

    residual = expression(residual_id)
    if target_id is not None:
        residual = residual - expression(target_id)
    if not isinstance(residual, S.MatrixExpr):
        raise NoMatrixForm("scalar")
    if leaf_id not in cache or not isinstance(cache[leaf_id], S.MatrixSymbol):
        raise NoMatrixForm("leaf not a matrix in the expression")
    f = scale * S.Trace(residual.T * residual)
    return S.diff(f, cache[leaf_id]), values


def _combine(vertex, args):
    S = sp()
    key = vertex.op.key
    if key in ("linalg.MM", "linalg.MV"):
        return args[0] * args[1]
    if key == "elementwise.ADD":
        _same_kind(args)
        return args[0] + args[1]
    if key == "elementwise.SUB":
        _same_kind(args)
        return args[0] - args[1]
    if key == "elementwise.MUL":
        a, b = args
        if isinstance(a, S.MatrixExpr) and isinstance(b, S.MatrixExpr):
            raise NoMatrixForm("elementwise product of matrices")
        return a * b
    if key == "elementwise.DIV":
        a, b = args
        if isinstance(b, S.MatrixExpr):
            raise NoMatrixForm("division by a matrix")
        return a / b
    if key == "elementwise.NEG":
        return -args[0]
    if key in ("shape.T", "shape.TRANSPOSE", "shape.PERMUTE"):
        return args[0].T
    return args[0]


def _same_kind(args):
    S = sp()
    kinds = {isinstance(a, S.MatrixExpr) for a in args}
    if len(kinds) != 1:
        raise NoMatrixForm("matrix plus scalar")
    if kinds == {True} and args[0].shape != args[1].shape:
        raise NoMatrixForm("broadcasting between matrices")


def evaluate(expression, values: dict, leaf_shape: tuple) -> np.ndarray:
    """The matrix derivative's numbers, via lambdify (numpy matmul)."""
    S = sp()
    symbols = list(values)
    function = S.lambdify(symbols, expression, "numpy")
    return np.asarray(function(*[values[s] for s in symbols]), dtype=np.float64).reshape(leaf_shape)
