"""The matrix forwards of the rows' ``matrix`` fields that do not fit a lambda.

Each is ``forward(M, *operands, **params) -> expression``, ``M`` being the
studio's matrix-expression language (``gradstudio.studio.symbolic.matrix.expr``),
passed in by the studio — the engine never imports it. The operands arrive in
the language's shapes (a torch vector is a column) and, for elementwise rows,
already broadcast to the result's shape; a forward may return a vector as a row
or a column (the studio orients it). These forwards are the matrix-calculus
side's own, written independently of the rows' VJP rules.
"""
from __future__ import annotations

import math


def fn(name: str):
    """An elementwise function of the language applied to the operand."""
    return lambda M, a: M.fn(name, a)


def count(M, a) -> int:
    return math.prod(M.matrix_shape(a.shape))


def sum_dims(M, a, *, dim, keepdim=False, mean=False, **_):
    rows, cols = M.matrix_shape(a.shape)
    dims = tuple(sorted(d % 2 for d in (dim if isinstance(dim, (tuple, list)) else (dim,))))
    if dims == (0,):
        out, n = M.mm(M.T(M.ones((rows, 1))), a), rows
    elif dims == (1,):
        out, n = M.mm(a, M.ones((cols, 1))), cols
    else:
        out, n = M.total(a), rows * cols
    return M.scale(1.0 / n, out) if mean else out


def mean_dims(M, a, *, dim, keepdim=False, **_):
    return sum_dims(M, a, dim=dim, keepdim=keepdim, mean=True)


def softmax(M, a, *, dim, log=False):
    rows, cols = M.matrix_shape(a.shape)
    along_rows = dim % 2 == 1 and cols > 1
    x = a if along_rows or cols == 1 else M.T(a)     # dim 0 of a matrix: softmax of its columns
    rowwise = along_rows or cols != 1
    if log:
        out = x - (M.mm(M.lse(x, rows=True), M.ones((1, M.matrix_shape(x.shape)[1]))) if rowwise
                   else M.lse(x))
    else:
        out = M.softmax(x, rows=rowwise)
    return out if x is a else M.T(out)


def log_softmax(M, a, *, dim):
    return softmax(M, a, dim=dim, log=True)


def reduce(M, loss, reduction, n):
    if reduction == "sum":
        return M.total(loss)
    if reduction == "mean":
        return M.scale(1.0 / n, M.total(loss))
    raise ValueError("reduction='none' is not a scalar loss")


def softplus(M, a):
    return M.fn("log", M.num(1.0) + M.fn("exp", a))


def mse_loss(M, x, t, *, reduction):
    return reduce(M, M.power(x - t, 2.0), reduction, count(M, x))


def bce_with_logits(M, x, t, *, reduction):
    return reduce(M, softplus(M, x) - M.mul(t, x), reduction, count(M, x))


def bce(M, p, t, *, reduction):
    one = M.num(1.0)
    loss = -(M.mul(t, M.fn("log", p)) + M.mul(one - t, M.fn("log", one - p)))
    return reduce(M, loss, reduction, count(M, p))


def nll_loss(M, x, target, *, reduction, ignore_index):
    """``target`` is the one-hot expression the studio made of the class indices."""
    rows = M.matrix_shape(x.shape)[0] if x.shape[1:] != (1,) else 1
    picked = M.total(M.mul(target, x))
    if reduction == "sum" or rows == 1:
        return M.scale(-1.0, picked)
    return M.scale(-1.0 / rows, picked)


def norm(M, a, *, p, dim, keepdim, **_):
    if p != 2 or dim not in (None, (), (0,), (0, 1)):
        raise ValueError("only the 2-norm of a whole vector or matrix")
    return M.power(M.total(M.power(a, 2.0)), 0.5)
