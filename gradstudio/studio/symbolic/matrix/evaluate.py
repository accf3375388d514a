"""Evaluating a matrix expression with numpy on recorded values.

``bindings`` maps each ``var`` and ``onehot`` name to its array, in the
language's shapes (vectors as (n, 1) columns). Each node of the DAG is computed
once, operands first, without recursion.
"""
from __future__ import annotations

import numpy as np

from .expr import Expr, matrix_shape, postorder


def _softmax(a, axis):
    shifted = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _lse(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))


_FUNCTIONS = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "sin": np.sin, "cos": np.cos,
    "sigmoid": lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)),  # no overflow for large |a|
    "relu": lambda a: np.maximum(a, 0.0), "step": lambda a: (a > 0).astype(np.float64),
    "sign": np.sign, "abs": np.abs, "sqrt": np.sqrt,
}


def _scalar(value):
    value = np.asarray(value, dtype=np.float64)
    return value.reshape(()) if value.size == 1 else value


def _one(e: Expr, a: list, bindings: dict):
    op = e.op
    if op in ("var", "onehot"):
        return np.asarray(bindings[e.data], dtype=np.float64).reshape(e.shape)
    if op == "num":
        return np.float64(e.data)
    if op == "ones":
        return np.ones(e.shape)
    if op == "zero":
        return np.zeros(e.shape)
    if op == "eye":
        return np.eye(e.shape[0])
    if op == "T":
        return np.asarray(a[0]).T
    if op == "mm":
        return _scalar(np.matmul(a[0], a[1])) if e.is_scalar else np.matmul(a[0], a[1])
    if op == "add":
        out = a[0]
        for x in a[1:]:
            out = out + x
        return out
    if op == "scale":
        return e.data * a[0]
    if op == "mul":
        return a[0] * a[1]
    if op == "div":
        return a[0] / a[1]
    if op == "fn":
        return _FUNCTIONS[e.data](a[0])
    if op == "pow":
        return np.power(a[0], e.data)
    if op == "tr":
        return np.trace(np.reshape(a[0], matrix_shape(e.args[0].shape)))
    if op == "det":
        return np.linalg.det(np.reshape(a[0], matrix_shape(e.args[0].shape)))
    if op == "logdet":
        return np.linalg.slogdet(np.reshape(a[0], matrix_shape(e.args[0].shape)))[1]
    if op == "inv":
        return np.linalg.inv(np.reshape(a[0], matrix_shape(e.shape))).reshape(e.shape)
    if op == "diag":
        return np.diag(np.reshape(a[0], -1)).reshape(e.shape)
    if op == "diagonal":
        return np.diagonal(np.reshape(a[0], matrix_shape(e.args[0].shape))).reshape(e.shape)
    if op == "sum":
        return np.sum(a[0])
    if op in ("softmax", "lse"):
        axis = 1 if e.data == "rows" else 0
        x = np.reshape(a[0], matrix_shape(e.args[0].shape))
        out = _softmax(x, axis) if op == "softmax" else _lse(x, axis)
        return out.reshape(e.shape)
    if op == "kron":
        return np.kron(np.reshape(a[0], matrix_shape(e.args[0].shape)), np.reshape(a[1], matrix_shape(e.args[1].shape)))
    if op == "vec":
        return np.reshape(a[0], (-1, 1))
    if op == "commutation":
        return commutation_matrix(*e.data)
    raise ValueError(f"cannot evaluate {op}")


def commutation_matrix(rows: int, cols: int) -> np.ndarray:
    """K with K @ X.reshape(-1) == X.T.reshape(-1) for a rows×cols X."""
    k = np.zeros((rows * cols, rows * cols))
    i, j = np.divmod(np.arange(rows * cols), cols)
    k[j * rows + i, i * cols + j] = 1.0
    return k


def evaluate(root: Expr, bindings: dict) -> np.ndarray:
    """The value of ``root`` (an ndarray in the language's shape of ``root``)."""
    values: dict = {}
    for e in postorder(root):
        values[id(e)] = _one(e, [values[id(x)] for x in e.args], bindings)
    return np.asarray(values[id(root)], dtype=np.float64)
