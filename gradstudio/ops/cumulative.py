"""Scans along a dim: ``cumprod`` (running products, CumprodBackward0, saving the input
and the result as torch's node does), ``cummax`` / ``cummin`` (running extrema with the
index each was taken from, ``torch.return_types.cummax``) and ``logcumsumexp``.

cummax and cummin keep their indices in the params and send each output's gradient
back to the place its value came from (torch's ``cummaxmin_backward``: a scatter-add).
As torch's kernel, a later equal value takes over the index (``>=``), and a NaN takes
over from anything, NaN included, so the values are NaN from the first NaN on.

logcumsumexp's gradient is torch's (after TensorFlow's): the positive and the negative
parts of the incoming gradient each through a reversed logcumsumexp, so it never
overflows; it is made of tensor ops, logcumsumexp itself among them, and is
differentiable again. Where the result is -inf, as torch, it is NaN.

Its gradient, for element i: Σ_{j ≥ i} g_j · Π_{k ≤ j, k ≠ i} x_k — written with
tensor ops on the input laid out once per i with x_i set to 1 (a cumprod of that, so a
zero anywhere is handled exactly, and ``create_graph`` records it), then summed over
j ≥ i. It costs n² elements for a dim of n."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Input, Result, SavedArg, as_tensor
from .. import dtypes as _dt
from ..tensor import Tensor, _wrap_dim
from ._sympy import _obj, sp
from . import kinks, samples
from .indexing import _gather_backward
from .reduction import return_type
from .table import Op, Param, SAVES_INDICES, SAVES_INPUTS, SAVES_RESULT, apply

_make = Tensor._make


def _cumprod_vjp(g, r, x, *, dim):
    n = x.shape[dim]
    if n == 0 or not x.shape:
        return g
    moved = x.movedim(dim, 0)                               # (n, rest…)
    rest = (1,) * (moved.dim() - 1)
    diagonal = _make(np.eye(n, dtype=bool).reshape(n, n, *rest))
    others = moved.unsqueeze(0).expand(n, *moved.shape).masked_fill(diagonal, 1.0)  # [i, k]
    products = apply(CUMPROD, (others,), {"dim": 1})     # [i, j] = Π_{k ≤ j, k ≠ i} x_k
    later = _make(np.triu(np.ones((n, n), dtype=bool)).reshape(n, n, *rest))  # j ≥ i
    terms = (products * g.movedim(dim, 0).unsqueeze(0)).masked_fill(~later, 0.0)
    return terms.sum(1).movedim(0, dim)


CUMPROD = Op(
    id="cumulative.CUMPROD",
    name="CumprodBackward0",
    forward=lambda x, *, dim: np.cumprod(x, axis=dim, dtype=x.dtype).reshape(x.shape),
    vjp=(_cumprod_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x, *, dim: _obj(np.cumprod(x, axis=dim)),
    kind="array",
    label="cumprod",
    doc="cumulative product along a dim",
    category="reduction",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1}),
    torch=lambda torch, x, dim: x.cumprod(dim),
)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    from .reduction import _sum_dtype
    input = _sum_dtype(input, dtype)
    return apply(CUMPROD, (input,), {"dim": _wrap_dim(dim, input._data.ndim)})


# --------------------------------------------------------------------------- cummax, cummin
def running_extremum_indices(x: np.ndarray, dim: int, takes_over) -> np.ndarray:
    """For every position along ``dim``, the index of the running extremum there:
    ``takes_over(value, current)`` says whether a new value replaces the current one."""
    if x.ndim == 0:
        return np.zeros((), np.int64)
    moved = np.moveaxis(x, dim, 0)
    indices = np.zeros(moved.shape, np.int64)
    current = moved[0].copy() if moved.shape[0] else None
    at = np.zeros(moved.shape[1:], np.int64)
    for i in range(moved.shape[0]):
        if i:
            new = takes_over(moved[i], current)
            current = np.where(new, moved[i], current)
            at = np.where(new, i, at)
        indices[i] = at
    return np.moveaxis(indices, 0, dim)


def _nan(value):
    return value != value


def _later_max(value, current):
    return _nan(value) | (value >= current)


def _later_min(value, current):
    return _nan(value) | (value <= current)


def _scan_row(id: str, name: str, label: str, doc: str, method: str) -> Op:
    return Op(
        id=id,
        saved={"dim": Arg("dim"), "indices": SavedArg("indices", as_tensor), "self": Input(0)},
        name=name,
        forward=lambda x, *, dim, indices: np.take_along_axis(x, indices, dim) if x.ndim else x.copy(),
        vjp=(lambda g, r, x, *, dim, indices:
             _gather_backward(g, x.shape, _make(indices), dim) if x.shape else g,),
        saves=SAVES_INPUTS | SAVES_INDICES,
        sympy=lambda x, *, dim, indices: np.take_along_axis(x, indices, dim) if x.ndim else x,
        kind="array",
        label=label,
        doc=doc,
        category="reduction",
        params=(Param("dim", "int"), Param("indices", "Tensor")),
        kink=kinks.repeated_value,
        sample=lambda rng: _scan_sample(rng, _later_max if method == "cummax" else _later_min),
        torch=lambda torch, x, dim, indices: getattr(x, method)(dim).values,
    )


def _scan_sample(rng, takes_over):
    x = samples.distinct(rng, samples.S)
    return [x], {"dim": 1, "indices": running_extremum_indices(x, 1, takes_over)}


CUMMAX = _scan_row("cumulative.CUMMAX", "CummaxBackward0", "cummax", "running maximum along a dim", "cummax")
CUMMIN = _scan_row("cumulative.CUMMIN", "CumminBackward0", "cummin", "running minimum along a dim", "cummin")


def _running(name: str, op: Op, takes_over, input: Tensor, dim: int):
    x = input._data
    d = _wrap_dim(dim, x.ndim) if x.ndim else _wrap_dim(dim, 0)
    indices = running_extremum_indices(x, d, takes_over)
    # the dim as given, which torch's node saves (-1 reads 2**64 - 1) and numpy takes as it is
    return return_type(name)(apply(op, (input,), {"dim": dim if x.ndim else d, "indices": indices}),
                             _make(indices))


def cummax(input: Tensor, dim: int):
    """``(values, indices)``: the running maximum along ``dim`` and where each was found."""
    return _running("cummax", CUMMAX, _later_max, input, dim)


def cummin(input: Tensor, dim: int):
    """``(values, indices)``: the running minimum along ``dim`` and where each was found."""
    return _running("cummin", CUMMIN, _later_min, input, dim)


# --------------------------------------------------------------------------- logcumsumexp
def _each(function, x):
    return _obj(np.vectorize(function, otypes=[object])(x))


def _reversed_logcumsumexp(x, dim):
    return apply(LOGCUMSUMEXP, (x.flip(dim),), {"dim": dim}).flip(dim)


def _logcumsumexp_vjp(g, r, x, *, dim):
    if not x.shape:
        return g
    from .elementwise import where
    lowest = float(np.finfo(g._data.dtype).min)
    log_abs = g.abs().log()
    positive = where(g > 0, log_abs, lowest)
    negative = where(g < 0, log_abs, lowest)
    return ((_reversed_logcumsumexp(positive - r, dim) + x).exp()
            - (_reversed_logcumsumexp(negative - r, dim) + x).exp())


LOGCUMSUMEXP = Op(
    id="cumulative.LOGCUMSUMEXP",
    saved={"dim": Arg("dim"), "result": Result(), "self": Input(0)},
    name="LogcumsumexpBackward0",
    forward=lambda x, *, dim: np.logaddexp.accumulate(x, axis=dim) if x.ndim else x.copy(),
    vjp=(_logcumsumexp_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x, *, dim: _each(sp().log, np.cumsum(_each(sp().exp, x), axis=dim)),
    kind="array",
    label="log Σ exp (running)",
    doc="running log-sum-exp along a dim",
    category="reduction",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1}),
    torch=lambda torch, x, dim: x.logcumsumexp(dim),
)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(Σ_{j ≤ i} exp(x_j)) along ``dim``, without overflow."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f'"logcumsumexp_out_cpu" not implemented for \'{_dt.scalar_type_name(input._data.dtype)}\'')
    return apply(LOGCUMSUMEXP, (input,), {"dim": _wrap_dim(dim, input._data.ndim)})
