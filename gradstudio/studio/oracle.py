"""PyTorch as a fourth opinion, when it is installed.

:func:`torch_gradients` replays a recorded :class:`~gradstudio.studio.trace.Graph`
with real torch ops in float64 and returns the gradient torch computes for
each leaf. ``TORCH_OPS`` maps every row of the op table to the torch call
that produces the same grad_fn; the table-driven oracle test checks that the
map covers the table. Importing torch is slow, so nothing here imports it
until it is asked for, and a missing torch just means no fourth column.
"""
from __future__ import annotations

import importlib.util

import numpy as np


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _torch():
    import torch
    return torch


def _index(key):
    torch = _torch()
    return tuple(torch.from_numpy(np.asarray(k)) if isinstance(k, np.ndarray) else k for k in key)


def _copy_slices(old, value, key):
    out = old.clone()
    out[_index(key)] = value
    return out


def _functional():
    return _torch().nn.functional


TORCH_OPS = {
    "elementwise.ADD": lambda a, b: a + b,
    "elementwise.ADD_ALPHA": lambda a, b, alpha: _torch().add(a, b, alpha=alpha),
    "elementwise.SUB": lambda a, b: a - b,
    "elementwise.RSUB": lambda a, b: b - a,
    "elementwise.MUL": lambda a, b: a * b,
    "elementwise.DIV": lambda a, b: a / b,
    "elementwise.POW": lambda x, exponent: x ** exponent,
    "elementwise.POW_TENSOR": lambda x, e: x ** e,
    "elementwise.POW_SCALAR_BASE": lambda e, base: base ** e,
    "elementwise.MAXIMUM": lambda a, b: _torch().maximum(a, b),
    "elementwise.MINIMUM": lambda a, b: _torch().minimum(a, b),
    "elementwise.WHERE": lambda c, a, b: _torch().where(c, a, b),
    "elementwise.LEAKY_RELU": lambda x, negative_slope: _functional().leaky_relu(x, negative_slope),
    "elementwise.CLAMP": lambda x, min, max: _torch().clamp(x, min, max),
    "elementwise.CLAMP_MIN": lambda x, min, max: _torch().clamp_min(x, min),
    "elementwise.CLAMP_MAX": lambda x, min, max: _torch().clamp_max(x, max),
    "elementwise.SILU": lambda x: _functional().silu(x),
    "elementwise.SOFTPLUS": lambda x: _functional().softplus(x),
    "reduction.SUM": lambda x: x.sum(),
    "reduction.SUM_DIM": lambda x, dim, keepdim: x.sum(dim, keepdim=keepdim),
    "reduction.MEAN": lambda x: x.mean(),
    "reduction.MEAN_DIM": lambda x, dim, keepdim: x.mean(dim, keepdim=keepdim),
    "reduction.MAX": lambda x: x.max(),
    "reduction.MIN": lambda x: x.min(),
    "reduction.MAX_DIM": lambda x, dim, keepdim, indices: x.max(dim, keepdim=keepdim).values,
    "reduction.MIN_DIM": lambda x, dim, keepdim, indices: x.min(dim, keepdim=keepdim).values,
    "reduction.AMAX": lambda x, dim, keepdim: _torch().amax(x, dim, keepdim),
    "reduction.AMIN": lambda x, dim, keepdim: _torch().amin(x, dim, keepdim),
    "reduction.PROD": lambda x: x.prod(),
    "reduction.PROD_DIM": lambda x, dim, keepdim: x.prod(dim, keepdim=keepdim),
    "reduction.NORM": lambda x, p, dim, keepdim: _torch().linalg.vector_norm(x, p, dim, keepdim),
    "reduction.SOFTMAX": lambda x, dim: x.softmax(dim),
    "reduction.LOG_SOFTMAX": lambda x, dim: x.log_softmax(dim),
    "reduction.LOGSUMEXP": lambda x, dim, keepdim: x.logsumexp(dim, keepdim),
    "reduction.CUMSUM": lambda x, dim: x.cumsum(dim),
    "reduction.VAR": lambda x, dim, correction, keepdim: x.var(dim, correction=correction, keepdim=keepdim),
    "reduction.STD": lambda x, dim, correction, keepdim: x.std(dim, correction=correction, keepdim=keepdim),
    "shape.VIEW": lambda x, shape: x.reshape(shape),
    "shape.UNSAFE_VIEW": lambda x, shape: x.reshape(shape),
    "shape.RESHAPE_ALIAS": lambda x, shape: x.reshape(shape),
    "shape.ALIAS": lambda x: x.view_as(x),
    "shape.TRANSPOSE": lambda x, dim0, dim1: x.transpose(dim0, dim1),
    "shape.T": lambda x: x.t(),
    "shape.PERMUTE": lambda x, dims: x.permute(dims),
    "shape.SQUEEZE": lambda x: x.squeeze(),
    "shape.SQUEEZE_DIM": lambda x, dim: x.squeeze(dim),
    "shape.SQUEEZE_DIMS": lambda x, dims: x.squeeze(dims),
    "shape.UNSQUEEZE": lambda x, dim: x.unsqueeze(dim),
    "shape.EXPAND": lambda x, shape: x.expand(shape),
    "shape.SUM_TO": lambda x, size: x.sum_to_size(size),
    "shape.REPEAT": lambda x, repeats: x.repeat(repeats),
    "shape.FLIP": lambda x, dims: x.flip(dims),
    "shape.CLONE": lambda x: x.clone(),
    "shape.TO_COPY": lambda x, dtype: x,
    "shape.CAT": lambda *xs, dim: _torch().cat(xs, dim),
    "shape.STACK": lambda *xs, dim: _torch().stack(xs, dim),
    "indexing.SELECT": lambda x, dim, index: x.select(dim, index),
    "indexing.SLICE": lambda x, dim, start, stop, step: x[(slice(None),) * dim + (slice(start, stop, step),)],
    "indexing.INDEX": lambda x, key: x[_index(key)],
    "indexing.COPY_SLICES": lambda old, value, key: _copy_slices(old, value, key),
    "indexing.GATHER": lambda x, index, dim: _torch().gather(x, dim, index),
    "indexing.MASKED_FILL": lambda x, mask, value: x.masked_fill(mask, value),
    "linalg.DOT": lambda a, b: _torch().dot(a, b),
    "linalg.MV": lambda a, v: _torch().mv(a, v),
    "linalg.MM": lambda a, b: _torch().mm(a, b),
    "linalg.BMM": lambda a, b: _torch().bmm(a, b),
    "linalg.ADDMM": lambda c, a, b, beta, alpha: _torch().addmm(c, a, b, beta=beta, alpha=alpha),
    "linalg.SQUEEZE_INPLACE": lambda x, dim: x.squeeze(dim),
    "matrix_functions.TRACE": lambda x: _torch().trace(x),
    "matrix_functions.DIAGONAL": lambda x, offset: x.diagonal(offset),
    "matrix_functions.DIAGONAL_COPY": lambda x, offset: _torch().diag(x, offset),
    "matrix_functions.DIAG_EMBED": lambda v, offset, rows, cols: _torch().diag(v, offset),
    "matrix_functions.DET": lambda x: _torch().linalg.det(x),
    "matrix_functions.INV": lambda x: _torch().linalg.inv(x),
    "matrix_functions.SLOGDET": lambda x: _torch().linalg.slogdet(x).logabsdet,
    "matrix_functions.SOLVE": lambda a, b: _torch().linalg.solve(a, b),
    "losses.MSE_LOSS": lambda x, t, reduction: _functional().mse_loss(x, t, reduction=reduction),
    "losses.L1_LOSS": lambda x, t, reduction: _functional().l1_loss(x, t, reduction=reduction),
    "losses.NLL_LOSS": lambda x, t, reduction, ignore_index: _functional().nll_loss(
        x, t, reduction=reduction, ignore_index=ignore_index),
    "losses.BCE": lambda x, t, reduction: _functional().binary_cross_entropy(x, t, reduction=reduction),
    "losses.BCE_LOGITS": lambda x, t, reduction: _functional().binary_cross_entropy_with_logits(
        x, t, reduction=reduction),
}
# Unary elementwise rows: torch has a function of the same name.
_UNARY = {"NEG": "neg", "ABS": "abs", "EXP": "exp", "LOG": "log", "SQRT": "sqrt", "SIN": "sin",
          "COS": "cos", "TAN": "tan", "TANH": "tanh", "SIGMOID": "sigmoid", "RELU": "relu",
          "RECIPROCAL": "reciprocal", "RSQRT": "rsqrt", "LOG1P": "log1p", "EXPM1": "expm1",
          "LOG2": "log2", "LOG10": "log10", "SINH": "sinh", "COSH": "cosh", "ASIN": "asin",
          "ACOS": "acos", "ATAN": "atan", "SIGN": "sign", "FLOOR": "floor", "CEIL": "ceil",
          "ROUND": "round"}
for _row, _name in _UNARY.items():
    TORCH_OPS[f"elementwise.{_row}"] = (lambda name: lambda x: getattr(_torch(), name)(x))(_name)
# Rows that exist only inside double-backward graphs have no forward in torch's API.
INTERNAL_OPS = {"indexing.SELECT_BACKWARD", "indexing.INDEX_PUT_ZEROS", "indexing.GATHER_BACKWARD",
                "elementwise.RELU_BACKWARD", "elementwise.LEAKY_RELU_BACKWARD",
                "elementwise.TANH_BACKWARD", "elementwise.SIGMOID_BACKWARD"}


def _as_torch(value, requires_grad=False):
    torch = _torch()
    if isinstance(value, np.ndarray):
        array = value.astype(np.float64) if value.dtype.kind == "f" else value
        return torch.tensor(array, requires_grad=requires_grad and array.dtype.kind == "f")
    return value


def torch_gradients(graph, gradient, leaf_ids) -> dict:
    """{leaf vertex: torch's gradient (float64 ndarray)}; {} when torch is missing
    or the graph has an op torch cannot replay."""
    if not available():
        return {}
    torch = _torch()
    values: dict = {}
    leaves = {}
    with torch.enable_grad():
        for vertex in graph.nodes:
            if vertex.kind != "op":
                tensor = _as_torch(vertex.value, vertex.id in leaf_ids)
                values[vertex.id] = tensor
                if vertex.id in leaf_ids:
                    leaves[vertex.id] = tensor
                continue
            replay = TORCH_OPS.get(vertex.op.key)
            if replay is None:
                return {}
            values[vertex.id] = replay(*[values[i] for i in vertex.inputs], **vertex.params)
        root = values[graph.root]
        weights = None if gradient is None else torch.tensor(np.asarray(gradient, dtype=np.float64))
        grads = torch.autograd.grad(root, [leaves[i] for i in leaf_ids], grad_outputs=weights,
                                    allow_unused=True)
    return {i: (g.numpy() if g is not None else np.zeros(graph[i].shape)) for i, g in zip(leaf_ids, grads)}
