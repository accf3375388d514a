"""Each op's matrix forward: ``rule(M, *operands, **params) -> expression``, ``M``
being :mod:`gradstudio.studio.symbolic.matrix.expr`.

The operands arrive in the language's shapes (a torch vector is a column), and
for elementwise ops already broadcast to the result's shape (the builder does
that, in one place); a rule may return a vector as a row or a column — the
builder orients it. These are the matrix-calculus side's own forwards, written
independently of the engine's VJP rules. A row's own ``matrix`` field (the
matrix_functions rows have one) takes precedence; the rules here are keyed by row
id for the rows that do not have the field yet.
"""
from __future__ import annotations

import math


def _sum_dims(M, a, dim, keepdim=False, mean=False):
    rows, cols = M.matrix_shape(a.shape)
    dims = tuple(sorted(d % 2 for d in (dim if isinstance(dim, (tuple, list)) else (dim,))))
    if dims == (0,):
        out, count = M.mm(M.T(M.ones((rows, 1))), a), rows
    elif dims == (1,):
        out, count = M.mm(a, M.ones((cols, 1))), cols
    else:
        out, count = M.total(a), rows * cols
    return M.scale(1.0 / count, out) if mean else out


def _softmax(M, a, dim, log=False):
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


def _reduce(M, loss, reduction, count):
    if reduction == "sum":
        return M.total(loss)
    if reduction == "mean":
        return M.scale(1.0 / count, M.total(loss))
    raise ValueError("reduction='none' is not a scalar loss")


def _count(M, a):
    return math.prod(M.matrix_shape(a.shape))


def _nll(M, x, target, *, reduction, ignore_index):
    # ``target`` is the one-hot expression the builder made of the class indices
    rows = M.matrix_shape(x.shape)[0] if x.shape[1:] != (1,) else 1
    picked = M.total(M.mul(target, x))
    if reduction == "sum" or rows == 1:
        return M.scale(-1.0, picked)
    return M.scale(-1.0 / rows, picked)


def _softplus(M, a):
    return M.fn("log", M.num(1.0) + M.fn("exp", a))


RULES = {
    "elementwise.ADD": lambda M, a, b: a + b,
    "elementwise.ADD_ALPHA": lambda M, a, b, *, alpha: a + M.scale(alpha, b),
    "elementwise.SUB": lambda M, a, b: a - b,
    "elementwise.RSUB": lambda M, a, b: b - a,
    "elementwise.MUL": lambda M, a, b: M.mul(a, b),
    "elementwise.DIV": lambda M, a, b: M.div(a, b),
    "elementwise.NEG": lambda M, a: -a,
    "elementwise.POW": lambda M, a, *, exponent: M.power(a, exponent),
    "elementwise.RECIPROCAL": lambda M, a: M.power(a, -1.0),
    "elementwise.RSQRT": lambda M, a: M.power(a, -0.5),
    "elementwise.SOFTPLUS": _softplus,
    "elementwise.LOG1P": lambda M, a: M.fn("log", M.num(1.0) + a),
    "elementwise.EXPM1": lambda M, a: M.fn("exp", a) - M.num(1.0),
    "linalg.MM": lambda M, a, b: M.mm(a, b),
    "linalg.MV": lambda M, a, b: M.mm(a, b),
    "linalg.DOT": lambda M, a, b: M.mm(M.T(a), b),
    "linalg.ADDMM": lambda M, c, a, b, *, beta, alpha: M.scale(beta, c) + M.scale(alpha, M.mm(a, b)),
    "shape.T": lambda M, a: M.T(a),
    "shape.TRANSPOSE": lambda M, a, *, dim0, dim1: a if dim0 % 2 == dim1 % 2 else M.T(a),
    "shape.PERMUTE": lambda M, a, *, dims: a if tuple(dims) == (0, 1) else M.T(a),
    "reduction.SUM": lambda M, a: M.total(a),
    "reduction.MEAN": lambda M, a: M.scale(1.0 / _count(M, a), M.total(a)),
    "reduction.SUM_DIM": lambda M, a, *, dim, keepdim, **_: _sum_dims(M, a, dim, keepdim),
    "reduction.MEAN_DIM": lambda M, a, *, dim, keepdim, **_: _sum_dims(M, a, dim, keepdim, mean=True),
    "reduction.SOFTMAX": lambda M, a, *, dim: _softmax(M, a, dim),
    "reduction.LOG_SOFTMAX": lambda M, a, *, dim: _softmax(M, a, dim, log=True),
    "losses.MSE_LOSS": lambda M, x, t, *, reduction: _reduce(M, M.power(x - t, 2.0), reduction, _count(M, x)),
    "losses.BCE_LOGITS": lambda M, x, t, *, reduction: _reduce(
        M, _softplus(M, x) - M.mul(t, x), reduction, _count(M, x)),
    "losses.BCE": lambda M, p, t, *, reduction: _reduce(
        M, -(M.mul(t, M.fn("log", p)) + M.mul(M.num(1.0) - t, M.fn("log", M.num(1.0) - p))),
        reduction, _count(M, p)),
    "losses.NLL_LOSS": _nll,
}
for _name in ("exp", "log", "tanh", "sigmoid", "sin", "cos", "relu", "abs", "sqrt", "sign"):
    RULES[f"elementwise.{_name.upper()}"] = (lambda name: lambda M, a: M.fn(name, a))(_name)


def _norm(M, a, *, p, dim, keepdim, **_):
    if p != 2 or dim not in (None, (), (0,), (0, 1)):
        raise ValueError("only the 2-norm of a whole vector or matrix")
    return M.power(M.total(M.power(a, 2.0)), 0.5)


RULES["reduction.NORM"] = _norm
