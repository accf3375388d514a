"""The op-table rows of average pooling: ``AvgPool2DBackward0`` (``F.avg_pool2d``,
fixed windows) and ``AdaptiveAvgPool2DBackward0`` (``F.adaptive_avg_pool2d``,
windows that tile the input into a given output size), each with its gradient
row for double backward.

An average over a rectangle of the last two dimensions is separable: with ``A``
the 0/1 matrix saying which rows of the input each output row's window covers,
and ``B`` the same for columns, the window sums are ``A @ x @ Bᵀ``, and each
output divides its sum by its window's count (:func:`_windows_1d` gives both,
per dimension, with torch's rules for padding, ``ceil_mode``,
``count_include_pad`` and ``divisor_override``). Pooling is linear, so its
gradient is the adjoint ``Aᵀ @ (g / count) @ B`` and that gradient's gradient is
pooling again: double backward works to any order, as torch's
``AvgPool2DBackwardBackward0`` does. matmul also runs on object arrays, so the
symbolic forward is the same code on sympy elements.

The 1-d functions (``avg_pool1d``, ``adaptive_avg_pool1d``) run these rows on an
unsqueezed input, as torch does (their grad_fn is ``SqueezeBackward1``).
"""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Input
from . import samples
from .conv import pool_output_size
from .creation import zeros_like
from .table import Op, Param, SAVES_INPUTS, apply


# --------------------------------------------------------------------------- windows
def _windows_1d(size, kernel, stride, padding, ceil_mode, count_include_pad):
    """``(A, count)`` along one dimension: ``A[o, i] = 1`` when output ``o``'s window
    covers input ``i``; ``count[o]`` what torch divides that window's sum by."""
    out = pool_output_size(size, kernel, stride, padding, 1, ceil_mode)
    cover = np.zeros((out, size))
    count = np.empty(out)
    for o in range(out):
        start = o * stride - padding
        end = min(start + kernel, size + padding)     # a window never reaches past the padding
        lo, hi = max(start, 0), min(end, size)
        cover[o, lo:hi] = 1.0
        count[o] = (end - start) if count_include_pad else (hi - lo)
    return cover, count


def _adaptive_1d(size, out):
    """``(A, count)`` of adaptive pooling: window ``o`` covers ``[⌊o·n/m⌋, ⌈(o+1)·n/m⌉)``."""
    cover = np.zeros((out, size))
    for o in range(out):
        cover[o, (o * size) // out: -((-(o + 1) * size) // out)] = 1.0
    return cover, cover.sum(axis=1)


def _fixed(shape, p):
    (a, ca), (b, cb) = (_windows_1d(n, k, s, pad, p["ceil_mode"], p["count_include_pad"])
                        for n, k, s, pad in zip(shape[-2:], p["kernel_size"], p["stride"], p["padding"]))
    divisor = (np.full((len(ca), len(cb)), float(p["divisor_override"])) if p["divisor_override"]
               else np.multiply.outer(ca, cb))
    return a, b, divisor


def _adaptive(shape, p):
    (a, ca), (b, cb) = (_adaptive_1d(n, m) for n, m in zip(shape[-2:], p["output_size"]))
    return a, b, np.multiply.outer(ca, cb)


def _typed(matrix, like):
    return matrix.astype(object) if like.dtype == object else matrix.astype(like.dtype)


def _pool(windows):
    def forward(x, **p):
        a, b, divisor = windows(x.shape, p)
        sums = _typed(a, x) @ x @ _typed(b.T, x)
        if x.dtype.kind in "iub":   # integers divide as C does: rounded toward zero (torch's kernel)
            d = divisor.astype(np.int64)
            return (np.sign(sums) * (np.abs(sums) // d)).astype(x.dtype)
        return sums / _typed(divisor, x)
    return forward


def _pool_adjoint(windows):
    """The gradient of pooling ``x``'s shape: ``Aᵀ @ (g / count) @ B`` (``x`` gives the shape)."""
    def backward(g, x, **p):
        a, b, divisor = windows(x.shape, p)
        return _typed(a.T, g) @ (g / _typed(divisor, g)) @ _typed(b, g)
    return backward


_FIXED_PARAMS = (Param("kernel_size", "int[]", (2, 2), "window size"),
                 Param("stride", "int[]", (2, 2), "step between windows (torch's default: the window size)"),
                 Param("padding", "int[]", (0, 0), "zeros added on both sides"),
                 Param("ceil_mode", "bool", False, "round the output size up"),
                 Param("count_include_pad", "bool", True, "count the padding in each window's divisor"),
                 Param("divisor_override", "int?", None, "divide every window's sum by this instead"))
_ADAPTIVE_PARAMS = (Param("output_size", "int[]", (2, 2), "the output's last two sizes"),)


def _fixed_sample(rng):
    return ([samples.uniform(rng, (1, 2, 5, 4))],
            {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0), "ceil_mode": True,
             "count_include_pad": False, "divisor_override": None})


def _adaptive_sample(rng):
    return [samples.uniform(rng, (1, 2, 5, 7))], {"output_size": (2, 3)}


def _rows(stem, name, windows, params, sample, torch, label, doc, saved=None):
    """The pooling row and its gradient's row, each the other's VJP; ``saved``: torch's
    saved attributes of the pooling row's node, when they are not its input and params."""
    BACKWARD = Op(
        id=f"nn.{stem}_BACKWARD",
        name=f"{name}BackwardBackward0",
        overload=f"the gradient of {label}: each output's gradient spread evenly over its window",
        forward=_pool_adjoint(windows),
        vjp=(lambda gg, _, g, x, **p: apply(FORWARD, (gg,), p),
             lambda gg, _, g, x, **p: zeros_like(x)),
        saves=SAVES_INPUTS,   # torch keeps _saved_self (for its shape)
        kind="array",
        label=f"{label}′",
        doc=f"gradient of {label}: each window's gradient shared evenly by its elements",
        category="reduction",
        arity=2,
        params=params,
        sample=lambda rng: _backward_sample(sample, windows, rng),
        internal=True,
    )
    FORWARD = Op(
        id=f"nn.{stem}",
        name=f"{name}Backward0",
        saved=saved,
        forward=_pool(windows),
        vjp=(lambda g, r, x, **p: apply(BACKWARD, (g, x), p),),
        saves=SAVES_INPUTS,   # torch keeps _saved_self (for its shape)
        sympy=_pool(windows),
        kind="array",
        label=label,
        doc=doc,
        category="reduction",
        params=params,
        sample=sample,
        torch=torch,
    )
    return FORWARD, BACKWARD


def _backward_sample(sample, windows, rng):
    (x,), p = sample(rng)
    a, b, _ = windows(x.shape, p)
    return [samples.uniform(rng, x.shape[:-2] + (a.shape[0], b.shape[0])), x], p


AVG_POOL2D, AVG_POOL2D_BACKWARD = _rows(
    "AVG_POOL2D", "AvgPool2D", _fixed, _FIXED_PARAMS, _fixed_sample,
    lambda torch, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override:
        torch.nn.functional.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                       divisor_override),
    "avg pool", "the mean of each window of the last two dimensions")

ADAPTIVE_AVG_POOL2D, ADAPTIVE_AVG_POOL2D_BACKWARD = _rows(
    "ADAPTIVE_AVG_POOL2D", "AdaptiveAvgPool2D", _adaptive, _ADAPTIVE_PARAMS, _adaptive_sample,
    lambda torch, x, output_size: torch.nn.functional.adaptive_avg_pool2d(x, output_size),
    "adaptive avg pool", "the mean of each cell of a grid laid over the last two dimensions",
    saved={"self": Input(0)})  # torch keeps no output_size


def output_size(shape, kernel_size, stride, padding, ceil_mode) -> tuple:
    """The pooled sizes of the last two dimensions (for the functions' checks)."""
    return tuple(pool_output_size(n, k, s, p, 1, ceil_mode)
                 for n, k, s, p in zip(shape[-2:], kernel_size, stride, padding))


