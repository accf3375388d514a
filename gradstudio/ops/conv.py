"""The op-table rows of convolution and max pooling: ``ConvolutionBackward0``
(``F.conv1d``/``F.conv2d``, with or without a bias) and
``MaxPool2DWithIndicesBackward0`` (``F.max_pool2d``).

numpy does both with im2col: ``sliding_window_view`` over the padded input
gives every window as a view, strided by ``stride`` and thinned by
``dilation``; a batched matmul per group contracts the windows with the
kernel (matmul also runs on object arrays, so the symbolic forward is the same
code on sympy elements). The spatial dimensions are generic: one for conv1d,
two for conv2d.

Convolution is bilinear, so its gradients are three ops closed under
differentiation, each the adjoint of another: the input's gradient is a
transposed convolution of the incoming gradient with the kernel
(:data:`CONV_INPUT_GRAD`), the kernel's a convolution of the input with the
incoming gradient (:data:`CONV_WEIGHT_GRAD`); their own VJPs are convolutions
and these two again, so ``create_graph=True`` works to any order, as torch's
``ConvolutionBackwardBackward0`` does. Max pooling's gradient scatters into
each window's (first) maximum (:data:`MAX_POOL2D_BACKWARD`), whose gradient
gathers from the same positions (:data:`MAX_POOL2D_GATHER`).

Rows take their sizes as tuples, one entry per spatial dimension; the
functions in :mod:`gradstudio.nn.functional` turn torch's ints, tuples and
``'same'``/``'valid'`` into them.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd.saved import Arg, Computed, Const, Input, Sizes
from . import _sympy as sf
from . import samples
from .creation import zeros_like
from .table import Op, Param, SAVES_INPUTS, apply


# --------------------------------------------------------------------------- numpy: convolution
def _pad(x, padding, value=0):
    if not any(padding):
        return x
    widths = [(0, 0), (0, 0)] + [(p, p) for p in padding]
    if x.dtype == object:
        out = np.full(tuple(n + 2 * p for n, (p, _) in zip(x.shape, widths)), value, dtype=object)
        out[tuple(slice(p, p + n) for n, (p, _) in zip(x.shape, widths))] = x
        return out
    return np.pad(x, widths, constant_values=np.asarray(value).astype(x.dtype))


def _windows(xp, kernel, stride, dilation):
    """``(N, C, *L, *K)``: every window of the padded input, taps ``dilation`` apart,
    windows ``stride`` apart (a view)."""
    d = len(kernel)
    span = tuple((k - 1) * dl + 1 for k, dl in zip(kernel, dilation))
    view = sliding_window_view(xp, span, axis=tuple(range(2, 2 + d)))
    return view[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
                + tuple(slice(None, None, dl) for dl in dilation)]


def _cols(x, kernel, stride, padding, dilation, groups):
    """The windows as a matrix per group: ``(G, N·ΠL, C/G·ΠK)``, and ``L``."""
    d = len(kernel)
    win = _windows(_pad(x, padding), kernel, stride, dilation)
    n, c = x.shape[:2]
    out = win.shape[2:2 + d]
    win = win.reshape((n, groups, c // groups) + out + tuple(kernel))
    order = (1, 0) + tuple(range(3, 3 + d)) + (2,) + tuple(range(3 + d, 3 + 2 * d))
    return win.transpose(order).reshape(groups, n * math.prod(out), (c // groups) * math.prod(kernel)), out


def _mm(a, b):
    """Batched matmul; numbers go through BLAS only as contiguous arrays (a transposed
    operand takes numpy's slow loop: 10× on a conv layer's kernel gradient)."""
    if a.dtype != object and b.dtype != object:
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a @ b


def _conv(x, w, *, stride, padding, dilation, groups):
    d = w.ndim - 2
    n, o = x.shape[0], w.shape[0]
    a, out = _cols(x, w.shape[2:], stride, padding, dilation, groups)
    wm = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)
    y = _mm(a, wm).reshape((groups, n) + out + (o // groups,))
    order = (1, 0, 2 + d) + tuple(range(2, 2 + d))
    return y.transpose(order).reshape((n, o) + out)


def _grad_matrix(g, groups):
    """The incoming gradient ``(N, O, *L)`` as ``(G, N·ΠL, O/G)``."""
    n, o = g.shape[:2]
    d = g.ndim - 2
    gm = g.reshape((n, groups, o // groups) + g.shape[2:])
    return gm.transpose((1, 0) + tuple(range(3, 3 + d)) + (2,)).reshape(groups, -1, o // groups)


def _conv_weight_grad(g, x, *, weight_size, stride, padding, dilation, groups):
    a, _ = _cols(x, tuple(weight_size[2:]), stride, padding, dilation, groups)
    dw = _mm(_grad_matrix(g, groups).transpose(0, 2, 1), a)      # (G, O/G, C/G·ΠK)
    return dw.reshape(tuple(weight_size))


def _conv_input_grad(g, w, *, input_size, stride, padding, dilation, groups):
    d = w.ndim - 2
    kernel, out = w.shape[2:], g.shape[2:]
    n, c = g.shape[0], input_size[1]
    cols = _mm(_grad_matrix(g, groups), w.reshape(groups, w.shape[0] // groups, -1))   # (G, N·ΠL, C/G·ΠK)
    cols = cols.reshape((groups, n) + out + (c // groups,) + tuple(kernel))
    order = (1, 0, 2 + d) + tuple(range(2, 2 + d)) + tuple(range(3 + d, 3 + 2 * d))
    cols = cols.transpose(order).reshape((n, c) + out + tuple(kernel))
    size = tuple(s + 2 * p for s, p in zip(input_size[2:], padding))
    xp = np.zeros((n, c) + size, dtype=g.dtype)
    if xp.dtype == object:
        xp[...] = 0
    for tap in np.ndindex(*kernel):        # each kernel tap adds the gradient into a strided slice
        where = tuple(slice(k * dl, k * dl + s * (m - 1) + 1, s)
                      for k, dl, s, m in zip(tap, dilation, stride, out))
        xp[(slice(None), slice(None)) + where] += cols[(Ellipsis,) + tap]
    return xp[(slice(None), slice(None)) + tuple(slice(p, p + s) for p, s in zip(padding, input_size[2:]))]


def _bias_shape(b, d):
    return b.reshape((1, -1) + (1,) * d)


# --------------------------------------------------------------------------- rows: convolution
_CONV_PARAMS = (Param("stride", "int[]", (1,), "step between windows, per spatial dimension"),
                Param("padding", "int[]", (0,), "zeros added on both sides, per spatial dimension"),
                Param("dilation", "int[]", (1,), "step between kernel taps"),
                Param("groups", "int", 1, "channel groups convolved separately"))


def _conv_params(p):
    return {k: p[k] for k in ("stride", "padding", "dilation", "groups")}


def _grad_input(g, w, x_shape, p):
    return apply(CONV_INPUT_GRAD, (g, w), {"input_size": tuple(x_shape), **_conv_params(p)})


def _grad_weight(g, x, w_shape, p):
    return apply(CONV_WEIGHT_GRAD, (g, x), {"weight_size": tuple(w_shape), **_conv_params(p)})


def _conv_no_bias(x, w, **p):
    return apply(CONV_NO_BIAS, (x, w), _conv_params(p))


def _conv_sample(bias: bool):
    def sample(rng):
        x = samples.uniform(rng, (1, 2, 3, 4))
        w = samples.uniform(rng, (2, 1, 2, 2))
        args = [x, w] + ([samples.uniform(rng, (2,))] if bias else [])
        return args, {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}
    return sample


def _torch_conv(torch, x, w, b=None, *, stride, padding, dilation, groups):
    conv = torch.nn.functional.conv1d if x.ndim == 3 else torch.nn.functional.conv2d
    return conv(x, w, b, stride, padding, dilation, groups)


def _spatial(name):
    """A conv param as torch saves it: one entry per spatial dimension."""
    def read(x, w, *bias, **p):  # the inputs' shapes
        value = p[name] if name in p else (0,)
        value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        return value * (len(x) - 2) if len(value) == 1 else value
    return Computed(read, tensor=False)


_CONV_SAVED = {"input": Input(0), "weight": Input(1), "stride": _spatial("stride"), "padding": _spatial("padding"),
               "dilation": _spatial("dilation"), "groups": Arg("groups"), "transposed": Const(False),
               "output_padding": _spatial("output_padding")}

CONV = Op(
    id="nn.CONV",
    saved={**_CONV_SAVED, "bias_sym_sizes_opt": Sizes(2)},
    name="ConvolutionBackward0",
    overload="with a bias (conv1d, conv2d)",
    forward=lambda x, w, b, **p: _conv(x, w, **p) + _bias_shape(b, w.ndim - 2),
    vjp=(lambda g, r, x, w, b, **p: _grad_input(g, w, x.shape, p),
         lambda g, r, x, w, b, **p: _grad_weight(g, x, w.shape, p),
         lambda g, r, x, w, b, **p: g.sum(dim=(0,) + tuple(range(2, g.ndim)))),
    saves=SAVES_INPUTS,
    sympy=lambda x, w, b, **p: _conv(x, w, **p) + _bias_shape(b, w.ndim - 2),
    kind="array",
    label="conv",
    doc="convolution (cross-correlation) of (N, C, *S) with a kernel (O, C/groups, *K), plus a bias",
    category="linear algebra",
    arity=3,
    params=_CONV_PARAMS,
    sample=_conv_sample(True),
    torch=_torch_conv,
)

CONV_NO_BIAS = Op(
    id="nn.CONV_NO_BIAS",
    saved={**_CONV_SAVED, "bias_sym_sizes_opt": Const((0,))},
    name="ConvolutionBackward0",
    overload="without a bias (bias=None)",
    forward=_conv,
    vjp=(lambda g, r, x, w, **p: _grad_input(g, w, x.shape, p),
         lambda g, r, x, w, **p: _grad_weight(g, x, w.shape, p)),
    saves=SAVES_INPUTS,
    sympy=_conv,
    kind="array",
    label="conv",
    doc="convolution (cross-correlation) of (N, C, *S) with a kernel (O, C/groups, *K)",
    category="linear algebra",
    arity=2,
    params=_CONV_PARAMS,
    sample=_conv_sample(False),
    torch=_torch_conv,
)

CONV_INPUT_GRAD = Op(
    id="nn.CONV_INPUT_GRAD",
    name="ConvolutionBackwardBackward0",
    overload="the input's gradient: a transposed convolution of the gradient with the kernel",
    forward=_conv_input_grad,
    # adjoint pairs: <conv_input_grad(g, w), u> = <g, conv(u, w)> = … so both rules are the other two ops
    vjp=(lambda gg, _, g, w, *, input_size, **p: _conv_no_bias(gg, w, **p),
         lambda gg, _, g, w, *, input_size, **p: _grad_weight(g, gg, w.shape, p)),
    saves=SAVES_INPUTS,
    sympy=_conv_input_grad,
    kind="array",
    label="conv′ input",
    doc="gradient of a convolution with respect to its input",
    category="linear algebra",
    arity=2,
    params=(Param("input_size", "int[]"),) + _CONV_PARAMS,
    sample=lambda rng: ([samples.uniform(rng, (1, 2, 2, 2)), samples.uniform(rng, (2, 1, 2, 2))],
                        {"input_size": (1, 2, 3, 4), "stride": (2, 1), "padding": (1, 0),
                         "dilation": (1, 2), "groups": 2}),
    internal=True,
)

CONV_WEIGHT_GRAD = Op(
    id="nn.CONV_WEIGHT_GRAD",
    name="ConvolutionBackwardBackward0",
    overload="the kernel's gradient: the input's windows contracted with the gradient",
    forward=_conv_weight_grad,
    vjp=(lambda gw, _, g, x, *, weight_size, **p: _conv_no_bias(x, gw, **p),
         lambda gw, _, g, x, *, weight_size, **p: _grad_input(g, gw, x.shape, p)),
    saves=SAVES_INPUTS,
    sympy=_conv_weight_grad,
    kind="array",
    label="conv′ kernel",
    doc="gradient of a convolution with respect to its kernel",
    category="linear algebra",
    arity=2,
    params=(Param("weight_size", "int[]"),) + _CONV_PARAMS,
    sample=lambda rng: ([samples.uniform(rng, (1, 2, 2, 2)), samples.uniform(rng, (1, 2, 3, 4))],
                        {"weight_size": (2, 1, 2, 2), "stride": (2, 1), "padding": (1, 0),
                         "dilation": (1, 2), "groups": 2}),
    internal=True,
)


# --------------------------------------------------------------------------- max pooling
def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) -> int:
    """torch's pooling output length along one dimension (``pooling_output_shape``)."""
    span = dilation * (kernel - 1) + 1
    numerator = size + 2 * padding - span + ((stride - 1) if ceil_mode else 0)
    out = numerator // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1                 # the last window must start inside the input or its left padding
    return out


def _pool_windows(x, kernel_size, stride, padding, dilation, ceil_mode, fill):
    """``(padded input, windows (N, C, *L, *K), L)``; the input is padded with ``fill``,
    and on the right as far as ceil_mode's last window reaches."""
    out = tuple(pool_output_size(s, k, st, p, dl, ceil_mode)
                for s, k, st, p, dl in zip(x.shape[2:], kernel_size, stride, padding, dilation))
    need = tuple((m - 1) * st + dl * (k - 1) + 1
                 for m, st, dl, k in zip(out, stride, dilation, kernel_size))
    widths = [(0, 0), (0, 0)] + [(p, max(n - s - p, p)) for p, n, s in zip(padding, need, x.shape[2:])]
    if x.dtype == object:
        xp = np.full(tuple(n + a + b for n, (a, b) in zip(x.shape, widths)), fill, dtype=object)
        xp[tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, widths))] = x
    else:
        xp = np.pad(x, widths, constant_values=np.asarray(fill).astype(x.dtype))
    win = _windows(xp, kernel_size, stride, dilation)
    return xp, win[(slice(None), slice(None)) + tuple(slice(0, m) for m in out)], out


def _unbatched(function):
    """Pooling of a (C, H, W) input, as torch allows, runs on (1, C, H, W)."""
    def run(*arrays, **p):
        if arrays[-1].ndim == 3:
            return function(*(a[None] for a in arrays), **p)[0]
        return function(*arrays, **p)
    run.__name__ = function.__name__
    return run


def _pool_params(p):
    return {k: p[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}


def _argmax(x, p):
    """Flat positions, in the padded input's spatial layout, of each window's first
    maximum (torch takes the first in scan order; a NaN counts as the maximum)."""
    xp, win, out = _pool_windows(x, p["kernel_size"], p["stride"], p["padding"], p["dilation"],
                                 p["ceil_mode"], -np.inf)
    flat = win.reshape(win.shape[:2] + out + (-1,))
    tap = np.argmax(np.where(np.isnan(flat), np.inf, flat), axis=-1)
    k_idx = np.unravel_index(tap, p["kernel_size"])
    grids = np.meshgrid(*[np.arange(m) for m in out], indexing="ij")
    rows = [grid * s + k * dl for grid, k, s, dl in zip(grids, k_idx, p["stride"], p["dilation"])]
    return np.ravel_multi_index(rows, xp.shape[2:]), xp.shape[2:]


@_unbatched
def _max_pool_forward(x, **p):
    _, win, out = _pool_windows(x, p["kernel_size"], p["stride"], p["padding"], p["dilation"],
                                p["ceil_mode"], -np.inf)
    flat = win.reshape(win.shape[:2] + out + (-1,))
    with np.errstate(invalid="ignore"):
        values = flat.max(axis=-1)
    return values


@_unbatched
def _max_pool_sympy(x, **p):
    S = sf.sp()
    _, win, out = _pool_windows(np.asarray(x, dtype=object), p["kernel_size"], p["stride"], p["padding"],
                                p["dilation"], p["ceil_mode"], S.S.NegativeInfinity)
    flat = win.reshape(win.shape[:2] + out + (-1,))
    result = np.empty(flat.shape[:-1], dtype=object)
    for index in np.ndindex(*result.shape):
        result[index] = _max_of([e for e in flat[index] if e is not S.S.NegativeInfinity])
    return result


def _max_of(items: list):
    """max as a closed form, max(a, b) = (a + b + |a − b|)/2, pairwise: sympy derives
    |·| as sign(·) (which lambdify prints as np.sign), where its ``Max`` derives to
    Heaviside conditions that lambdify simplifies for minutes."""
    while len(items) > 1:
        pairs = [(items[i] + items[i + 1] + abs(items[i] - items[i + 1])) / 2 for i in range(0, len(items) - 1, 2)]
        items = pairs + items[len(items) - len(items) % 2:]
    return items[0]


@_unbatched
def max_pool_indices(x: np.ndarray, **p) -> np.ndarray:
    """``return_indices``: each maximum's flat position in its (unpadded) input plane."""
    flat, padded = _argmax(x, p)
    rows = np.unravel_index(flat, padded)
    rows = [r - pad for r, pad in zip(rows, p["padding"])]
    return np.ravel_multi_index(rows, x.shape[2:]).astype(np.int64)


@_unbatched
def _max_pool_backward(g, x, **p):
    flat, padded = _argmax(x, p)
    n, c = x.shape[:2]
    out = np.zeros((n * c, math.prod(padded)), dtype=g.dtype)
    np.add.at(out, (np.arange(n * c)[:, None], flat.reshape(n * c, -1)), g.reshape(n * c, -1))
    out = out.reshape((n, c) + tuple(padded))
    return out[(slice(None), slice(None)) + tuple(slice(pd, pd + s) for pd, s in zip(p["padding"], x.shape[2:]))]


@_unbatched
def _max_pool_gather(gg, x, **p):
    flat, padded = _argmax(x, p)
    n, c = x.shape[:2]
    gp = _pool_windows(gg, p["kernel_size"], p["stride"], p["padding"], p["dilation"], p["ceil_mode"], 0.0)[0]
    return np.take_along_axis(gp.reshape(n * c, -1), flat.reshape(n * c, -1), axis=1).reshape(flat.shape)


_POOL_PARAMS = (Param("kernel_size", "int[]", (2, 2), "window size"),
                Param("stride", "int[]", (2, 2), "step between windows (torch's default: the window size)"),
                Param("padding", "int[]", (0, 0), "-inf added on both sides"),
                Param("dilation", "int[]", (1, 1), "step between window taps"),
                Param("ceil_mode", "bool", False, "round the output size up"))


def _pool_sample(rng):
    # distinct values, far apart: no ties (where torch picks the first maximum and
    # finite differences split); small, as sympy's Max differentiates slowly
    x = rng.permutation(np.arange(12, dtype=np.float64)).reshape(1, 1, 3, 4) * 0.25 - 1.5
    return [x], {"kernel_size": (2, 2), "stride": (1, 2), "padding": (1, 0), "dilation": (1, 1), "ceil_mode": True}


def _pool_kink(x, **p):
    flat = _pool_windows(x, p["kernel_size"], p["stride"], p["padding"], p["dilation"], p["ceil_mode"], -np.inf)[1]
    flat = flat.reshape(flat.shape[:4] + (-1,))
    top = np.sort(flat, axis=-1)
    return bool(np.any(np.isfinite(top[..., -1]) & (top[..., -1] == top[..., -2]))) if top.shape[-1] > 1 else False


def _max_pool_indices(x, **p):
    """torch's saved ``result1`` of max_pool2d: where each window's maximum is, as a flat
    index into its input plane."""
    _, win, _ = _pool_windows(x, p["kernel_size"], p["stride"], p["padding"], p["dilation"], p["ceil_mode"], -np.inf)
    plane = np.arange(x.shape[-2] * x.shape[-1], dtype=np.float64).reshape(x.shape[-2:])
    where = _pool_windows(np.broadcast_to(plane, x.shape), p["kernel_size"], p["stride"], p["padding"],
                          p["dilation"], p["ceil_mode"], -1.0)[1]
    flat = win.reshape(win.shape[:-2] + (-1,))
    with np.errstate(invalid="ignore"):
        first = np.nanargmax(np.where(np.isnan(flat), -np.inf, flat), axis=-1)
    return np.take_along_axis(where.reshape(flat.shape), first[..., None], -1)[..., 0].astype(np.int64)


MAX_POOL2D_GATHER = Op(
    id="nn.MAX_POOL2D_GATHER",
    name="MaxPool2DWithIndicesBackwardBackward0",
    overload="the gradient of max pooling's gradient: a gather from each window's maximum",
    forward=_max_pool_gather,
    # the positions of the maxima do not move under a small change of x: zero, as torch's zeros_like
    vjp=(lambda ggg, _, gg, x, **p: apply(MAX_POOL2D_BACKWARD, (ggg, x), _pool_params(p)),
         lambda ggg, _, gg, x, **p: zeros_like(x)),
    saves=SAVES_INPUTS,
    kind="array",
    label="max pool″",
    doc="values of a gradient at each pooling window's maximum",
    category="selection",
    arity=2,
    params=_POOL_PARAMS,
    sample=lambda rng: ([samples.uniform(rng, (1, 1, 3, 4)), _pool_sample(rng)[0][0]], _pool_sample(rng)[1]),
    internal=True,
)

MAX_POOL2D_BACKWARD = Op(
    id="nn.MAX_POOL2D_BACKWARD",
    name="MaxPool2DWithIndicesBackwardBackward0",
    overload="max pooling's gradient: the incoming gradient scattered to each window's maximum",
    forward=_max_pool_backward,
    vjp=(lambda gg, _, g, x, **p: apply(MAX_POOL2D_GATHER, (gg, x), _pool_params(p)),
         lambda gg, _, g, x, **p: zeros_like(x)),
    saves=SAVES_INPUTS,
    kind="array",
    label="max pool′",
    doc="gradient of max pooling: each window's gradient goes to its maximum",
    category="selection",
    arity=2,
    params=_POOL_PARAMS,
    sample=lambda rng: ([samples.uniform(rng, (1, 1, 4, 2)), _pool_sample(rng)[0][0]], _pool_sample(rng)[1]),
    internal=True,
)

MAX_POOL2D = Op(
    id="nn.MAX_POOL2D",
    saved={"self": Input(0), "result1": Computed(_max_pool_indices),
           **{p.name: Arg(p.name) for p in _POOL_PARAMS}},
    name="MaxPool2DWithIndicesBackward0",
    forward=_max_pool_forward,
    vjp=(lambda g, r, x, **p: apply(MAX_POOL2D_BACKWARD, (g, x), _pool_params(p)),),
    saves=SAVES_INPUTS,
    sympy=_max_pool_sympy,
    kind="array",
    label="max pool",
    doc="the maximum of each window of the last two dimensions",
    category="selection",
    params=_POOL_PARAMS,
    kink=_pool_kink,
    sample=_pool_sample,
    torch=lambda torch, x, kernel_size, stride, padding, dilation, ceil_mode: torch.nn.functional.max_pool2d(
        x, kernel_size, stride, padding, dilation, ceil_mode),
)
