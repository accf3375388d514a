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


# ------------------------------------------------------------------ einsum
# An operand is (expression, (row index, column index)); a torch vector is a
# column (i, None), a scalar (None, None).
def _indexed(M, e, s: str):
    if len(s) == 2 and s[0] == s[1]:
        return M.diagonal(e), (s[0], None)
    return e, (tuple(s) + (None, None))[:2]


def _transpose(M, operand):
    e, (r, c) = operand
    return (M.T(e), (c, r)) if (r, c) != (None, None) else operand


def _sum_out(M, operand, index):
    e, (r, c) = operand
    rows, cols = M.matrix_shape(e.shape)
    if r == index:
        return M.mm(M.T(M.ones((rows, 1))), e), (None, c)
    return M.mm(e, M.ones((cols, 1))), (r, None)


def _keep_only(M, operand, wanted: set):
    for index in operand[1]:
        if index is not None and index not in wanted:
            operand = _sum_out(M, operand, index)
    return operand


def einsum(M, *operands, equation):
    """The equation as products, transposes, traces and sums: ``ij,jk->ik`` is AB,
    ``ij,j->i`` Av, ``i,i->`` aᵀb, ``ii->`` tr A, ``i,j->ij`` abᵀ, ``ij,ij->`` 𝟙ᵀ(A ⊙ B)𝟙."""
    left, out = equation.split("->")
    inputs = left.split(",")
    if any(len(s) > 2 for s in inputs + [out]):
        raise ValueError("an einsum of 3-d tensors has no matrix form")
    if len(inputs) == 1 and inputs[0] in ("ii",) and out == "":
        return M.tr(operands[0])
    parts = [_indexed(M, e, s) for e, s in zip(operands, inputs)]
    everyone = [set(i for i in p[1] if i) for p in parts]
    if len(parts) == 2:
        shared = everyone[0] & everyone[1]
        # an index only one operand has and the output lacks is summed first
        parts = [_keep_only(M, p, set(out) | shared) for p in parts]
        (a, ia), (b, ib) = parts
        contracted = shared - set(out)
        if set(ia) - {None} == set(ib) - {None}:             # the same indices: Hadamard, then sums
            if ia != ib:
                b, ib = _transpose(M, (b, ib))
            result = (M.mul(a, b), ia)
        elif len(contracted) == 1:
            k = contracted.pop()
            left_op = _transpose(M, parts[0]) if ia[0] == k else parts[0]
            right_op = _transpose(M, parts[1]) if ib[1] == k else parts[1]
            result = (M.mm(left_op[0], right_op[0]), (left_op[1][0], right_op[1][1]))
        elif ia[1] is None and ib[1] is None:                # two vectors: the outer product
            result = (M.mm(a, M.T(b)), (ia[0], ib[0]))
        else:
            raise ValueError(f"{equation}: a product with broadcasting")
    else:
        result = parts[0]
    result = _keep_only(M, result, set(out))
    e, (r, c) = result
    have = "".join(i for i in (r, c) if i)
    if have == out or len(out) < 2:
        return e          # a vector's orientation is the builder's to fix
    if have[::-1] == out:
        return M.T(e)
    raise ValueError(f"{equation} has no matrix form")
