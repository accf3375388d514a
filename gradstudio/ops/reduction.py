"""Reductions: sum, mean, max/min, amax/amin, prod, norms, softmax,
log_softmax, logsumexp, cumsum, var/std — and the argument-only ones
(argmax, all, any) that have no gradient.

A full reduction and a reduction over ``dim`` are different torch overloads
with different grad_fn names (``SumBackward0`` vs ``SumBackward1``), so they
are different rows.
"""
from __future__ import annotations

import collections
import math
import warnings

import numpy as np

from ..autograd.saved import Arg, Input, Numel, Result, SavedArg, Sizes, as_dims, as_tensor
from .. import dtypes as _dt
from ..autograd.engine import edge_rules
from ..tensor import Tensor, _wrap_dim
from . import _sympy as sf
from . import _matrix
from .shape import expand_to
from . import kinks, samples
from .table import Op, Param, SAVES_INDICES, SAVES_INPUTS, SAVES_RESULT, apply, array_rules, node_rule


# --------------------------------------------------------------------------- helpers
def normalize_dims(dim, ndim: int) -> tuple:
    """``dim`` (int, sequence or None) as a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and ndim:
        return (_wrap_dim(dim, ndim),)
    if isinstance(dim, int):
        dim = (dim,)
    dims = tuple(sorted({_wrap_dim(int(d), ndim) for d in dim}))
    if ndim == 0:  # dim 0 / -1 of a 0-d tensor is the tensor itself: nothing to reduce
        return ()
    return dims if dims else tuple(range(ndim))


def _restore_dims(g: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    """Put back the reduced dims of ``g`` as size-1 dims so it broadcasts against the input."""
    if keepdim:
        return g
    for d in dims:
        g = g.unsqueeze(d)
    return g


# --------------------------------------------------------------------------- rows
SUM = Op(
    id="reduction.SUM",
    saved={"self_sym_sizes": Sizes(0)},
    name="SumBackward0",
    forward=lambda x: np.add.reduce(x, axis=None),
    vjp=(lambda g, r, x: expand_to(g, x.shape),),
    sympy=sf.sum_all,
    matrix=lambda M, a: M.total(a),
    kind="reduction",
    label="Σ",
    doc="sum of all elements",
    category="reduction",
    sample=samples.unary(),
    torch=lambda torch, x: x.sum(),
    overload="sum(Tensor self)",
)
SUM_DIM = Op(
    id="reduction.SUM_DIM",
    saved={"dim": Arg("dim", as_dims), "keepdim": Arg("keepdim"), "self_sym_sizes": Sizes(0)},
    name="SumBackward1",
    forward=lambda x, *, dim, keepdim: np.add.reduce(x, axis=dim, keepdims=keepdim),
    vjp=(lambda g, r, x, *, dim, keepdim: _restore_dims(g, dim, keepdim).expand(*x.shape),),
    sympy=sf.sum_dims,
    matrix=_matrix.sum_dims,
    kind="reduction",
    label="Σ",
    doc="sum over dims",
    category="reduction",
    params=(Param("dim", "int[]"), Param("keepdim", "bool", False)),
    sample=lambda rng: ([samples.uniform(rng, (2, 3, 4))], {"dim": (0, 2), "keepdim": False}),
    torch=lambda torch, x, dim, keepdim: x.sum(dim, keepdim=keepdim),
    overload="sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False)",
)
def _mean_all(x):
    # np.mean is several times slower than a reduce and a divide on small arrays
    if x.dtype.kind != "f":
        return np.true_divide(np.add.reduce(x, axis=None), x.size)
    return np.add.reduce(x, axis=None) / x.dtype.type(x.size)


MEAN = Op(
    id="reduction.MEAN",
    saved={"self_sym_sizes": Sizes(0), "self_sym_numel": Numel(0)},
    name="MeanBackward0",
    forward=_mean_all,
    vjp=(lambda g, r, x: expand_to(g / math.prod(x.shape), x.shape),),
    sympy=sf.mean_all,
    matrix=lambda M, a: M.scale(1.0 / _matrix.count(M, a), M.total(a)),
    kind="reduction",
    label="mean",
    doc="mean of all elements",
    category="reduction",
    sample=samples.unary(),
    torch=lambda torch, x: x.mean(),
    overload="mean(Tensor self)",
)
MEAN_DIM = Op(
    id="reduction.MEAN_DIM",
    saved={"dim": Arg("dim", as_dims), "keepdim": Arg("keepdim"), "self_sym_sizes": Sizes(0),
           "self_sym_numel": Numel(0)},
    name="MeanBackward1",
    forward=lambda x, *, dim, keepdim: np.mean(x, axis=dim, keepdims=keepdim, dtype=x.dtype),
    vjp=(lambda g, r, x, *, dim, keepdim:
         _restore_dims(g, dim, keepdim).expand(*x.shape) / math.prod(x.shape[d] for d in dim),),
    sympy=sf.mean_dims,
    matrix=_matrix.mean_dims,
    kind="reduction",
    label="mean",
    doc="mean over dims",
    category="reduction",
    params=(Param("dim", "int[]"), Param("keepdim", "bool", False)),
    sample=lambda rng: ([samples.uniform(rng, (2, 3, 4))], {"dim": (1,), "keepdim": True}),
    torch=lambda torch, x, dim, keepdim: x.mean(dim, keepdim=keepdim),
    overload="mean.dim(Tensor self, int[1]? dim, bool keepdim=False)",
)


def _evenly_distribute(g, r, x):
    """Gradient of max/min over everything: split equally between tied elements."""
    mask = where(r != r, x != x, x == r) if r._data.dtype.kind == "f" else (x == r)
    return mask.to(g.dtype) * (g / mask.sum())


MAX = Op(
    id="reduction.MAX",
    name="MaxBackward1",
    forward=lambda x: np.max(x),
    vjp=(_evenly_distribute,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.max_all,
    kind="reduction",
    label="max",
    doc="largest element (ties share the gradient)",
    category="reduction",
    kink=kinks.repeated_value,
    sample=lambda rng: ([samples.distinct(rng, samples.S)], {}),
    torch=lambda torch, x: x.max(),
    overload="max(Tensor self)",
)
MIN = Op(
    id="reduction.MIN",
    name="MinBackward1",
    forward=lambda x: np.min(x),
    vjp=(_evenly_distribute,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.min_all,
    kind="reduction",
    label="min",
    doc="smallest element (ties share the gradient)",
    category="reduction",
    kink=kinks.repeated_value,
    sample=lambda rng: ([samples.distinct(rng, samples.S)], {}),
    torch=lambda torch, x: x.min(),
    overload="min(Tensor self)",
)


def _select_at_indices(g, r, x, *, dim, keepdim, indices):
    """Gradient of max/min along ``dim``: all of it to the selected index."""
    if not x.shape:
        return g
    shape = [1] * len(x.shape)
    shape[dim] = x.shape[dim]
    chosen = np.arange(x.shape[dim]).reshape(shape) == (indices if keepdim
                                                           else np.expand_dims(indices, dim))
    g = g if keepdim else g.unsqueeze(dim)
    return where(Tensor._make(chosen), g, 0.0)


MAX_DIM = Op(
    id="reduction.MAX_DIM",
    saved={"dim": Arg("dim"), "keepdim": Arg("keepdim"), "indices": SavedArg("indices", as_tensor),
           "self_sym_sizes": Sizes(0)},
    name="MaxBackward0",
    forward=lambda x, *, dim, keepdim, indices: _take(x, dim, keepdim, indices),
    vjp=(_select_at_indices,),
    saves=SAVES_INDICES,
    sympy=sf.take_indices,
    kind="reduction",
    label="max",
    doc="largest element along a dim",
    category="reduction",
    params=(Param("dim", "int"), Param("keepdim", "bool", False), Param("indices", "Tensor")),
    kink=kinks.repeated_value,
    sample=lambda rng: samples.with_indices(samples.distinct(rng, samples.S), 1, np.argmax),
    torch=lambda torch, x, dim, keepdim, indices: x.max(dim, keepdim=keepdim).values,
    overload="max.dim(Tensor self, int dim, bool keepdim=False)",
)
MIN_DIM = Op(
    id="reduction.MIN_DIM",
    saved={"dim": Arg("dim"), "keepdim": Arg("keepdim"), "indices": SavedArg("indices", as_tensor),
           "self_sym_sizes": Sizes(0)},
    name="MinBackward0",
    forward=lambda x, *, dim, keepdim, indices: _take(x, dim, keepdim, indices),
    vjp=(_select_at_indices,),
    saves=SAVES_INDICES,
    sympy=sf.take_indices,
    kind="reduction",
    label="min",
    doc="smallest element along a dim",
    category="reduction",
    params=(Param("dim", "int"), Param("keepdim", "bool", False), Param("indices", "Tensor")),
    kink=kinks.repeated_value,
    sample=lambda rng: samples.with_indices(samples.distinct(rng, samples.S), 0, np.argmin),
    torch=lambda torch, x, dim, keepdim, indices: x.min(dim, keepdim=keepdim).values,
    overload="min.dim(Tensor self, int dim, bool keepdim=False)",
)


def _take(x, dim, keepdim, indices):
    if x.ndim == 0:
        return x.copy()
    idx = indices if keepdim else np.expand_dims(indices, dim)
    out = np.take_along_axis(x, idx, axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


def _amax_vjp(g, r, x, *, dim, keepdim):
    r_kept = _restore_dims(r, dim, keepdim)
    mask = (x == r_kept).to(g.dtype)
    return mask * (_restore_dims(g, dim, keepdim) / mask.sum(dim, keepdim=True))


AMAX = Op(
    id="reduction.AMAX",
    name="AmaxBackward0",
    forward=lambda x, *, dim, keepdim: np.amax(x, axis=dim, keepdims=keepdim),
    vjp=(_amax_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.amax,
    kind="reduction",
    label="amax",
    doc="maximum over dims (ties share the gradient)",
    category="reduction",
    params=(Param("dim", "int[]"), Param("keepdim", "bool", False)),
    kink=kinks.repeated_value,
    sample=lambda rng: ([samples.distinct(rng, samples.S)], {"dim": (1,), "keepdim": False}),
    torch=lambda torch, x, dim, keepdim: torch.amax(x, dim, keepdim),
)
AMIN = Op(
    id="reduction.AMIN",
    name="AminBackward0",
    forward=lambda x, *, dim, keepdim: np.amin(x, axis=dim, keepdims=keepdim),
    vjp=(_amax_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.amin,
    kind="reduction",
    label="amin",
    doc="minimum over dims (ties share the gradient)",
    category="reduction",
    params=(Param("dim", "int[]"), Param("keepdim", "bool", False)),
    kink=kinks.repeated_value,
    sample=lambda rng: ([samples.distinct(rng, samples.S)], {"dim": (0, 1), "keepdim": True}),
    torch=lambda torch, x, dim, keepdim: torch.amin(x, dim, keepdim),
)


def _product_of_others(x: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the other elements along ``axis`` — exact
    with zeros, no division (prefix and suffix products)."""
    moved = np.moveaxis(x, axis, -1)
    ones = np.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
    prefix = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
    suffix = np.cumprod(np.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis(prefix * suffix, -1, axis)


def _prod_vjp(g, r, x):
    if not x.shape:  # torch: the gradient itself (no graph through the input)
        return g
    if not np.any(x._data == 0):
        return g * (r / x)
    others = _product_of_others(x._data.reshape(-1), 0).reshape(x._data.shape)
    return g * Tensor._make(others)


def _prod_dim_vjp(g, r, x, *, dim, keepdim):
    if not x.shape:
        return g
    g = _restore_dims(g, (dim,), keepdim)
    if not np.any(x._data == 0):
        return g * (_restore_dims(r, (dim,), keepdim) / x)
    return g * Tensor._make(_product_of_others(x._data, dim))


PROD = Op(
    id="reduction.PROD",
    name="ProdBackward0",
    forward=lambda x: np.prod(x),
    vjp=(_prod_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.prod_all,
    kind="reduction",
    label="Π",
    doc="product of all elements",
    category="reduction",
    sample=lambda rng: ([samples.away_from_zero(rng, (2, 3), 0.5, 1.5)], {}),
    torch=lambda torch, x: x.prod(),
    overload="prod(Tensor self)",
)
PROD_DIM = Op(
    id="reduction.PROD_DIM",
    name="ProdBackward1",
    forward=lambda x, *, dim, keepdim: np.prod(x, axis=dim, keepdims=keepdim),
    vjp=(_prod_dim_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.prod_dim,
    kind="reduction",
    label="Π",
    doc="product along a dim",
    category="reduction",
    params=(Param("dim", "int"), Param("keepdim", "bool", False)),
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S, 0.5, 1.5)], {"dim": 1, "keepdim": False}),
    torch=lambda torch, x, dim, keepdim: x.prod(dim, keepdim=keepdim),
    overload="prod.dim_int(Tensor self, int dim, bool keepdim=False)",
)


def _norm_forward(x, *, p, dim, keepdim):
    a = np.abs(x)
    if p == 2:
        out = np.sqrt(np.sum(a * a, axis=dim, keepdims=keepdim))
    elif p == 1:
        out = np.sum(a, axis=dim, keepdims=keepdim)
    elif p == math.inf:
        out = np.amax(a, axis=dim, keepdims=keepdim) if a.size else np.zeros(())
    elif p == -math.inf:
        out = np.amin(a, axis=dim, keepdims=keepdim)
    elif p == 0:
        out = np.sum(a != 0, axis=dim, keepdims=keepdim)
    else:
        out = np.sum(a ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)
    return np.asarray(out).astype(x.dtype, copy=False)


def _norm_vjp(g, r, x, *, p, dim, keepdim):
    g = _restore_dims(g, dim, keepdim)
    r = _restore_dims(r, dim, keepdim)
    if p == 0:
        return g * 0 * x
    if p == 1:
        return g * x.sign()
    # torch's norm_backward: the quotient masked to 0 where the norm is 0 (MaskedFillBackward0)
    if p == 2:
        return x * (g / r).masked_fill(r == 0, 0.0)
    if p in (math.inf, -math.inf):
        mask = (x.abs() == r).to(g.dtype)
        return x.sign() * mask * (g / mask.sum(dim, keepdim=True))
    scale = (g / r.pow(p - 1)).masked_fill(r == 0, 0.0)
    return x * x.abs().pow(p - 2) * scale


NORM = Op(
    id="reduction.NORM",
    saved={"self": Input(0), "result": Result(), "ord": Arg("p", float), "dim": Arg("dim", as_dims),
           "keepdim": Arg("keepdim")},
    name="LinalgVectorNormBackward0",
    forward=_norm_forward,
    vjp=(_norm_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.norm,
    matrix=_matrix.norm,
    kind="reduction",
    label="‖·‖",
    doc="vector p-norm",
    category="reduction",
    params=(Param("p", "float", 2.0), Param("dim", "int[]"), Param("keepdim", "bool", False)),
    kink=kinks.norm,
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"p": 2.0, "dim": (1,), "keepdim": False}),
    torch=lambda torch, x, p, dim, keepdim: torch.linalg.vector_norm(x, p, dim, keepdim),
)


# np.max and np.sum are these reductions behind a Python wrapper (same values)
def _softmax_forward(x, *, dim):
    shifted = x - np.maximum.reduce(x, axis=dim, keepdims=True)
    e = np.exp(shifted)
    return e / np.add.reduce(e, axis=dim, keepdims=True)


def _log_softmax_forward(x, *, dim):
    shifted = x - np.maximum.reduce(x, axis=dim, keepdims=True)
    total = np.add.reduce(np.exp(shifted), axis=dim, keepdims=True)
    if type(shifted) is np.ndarray and shifted.dtype == total.dtype:
        # both are fresh arrays of the result's dtype: the log and the difference in place
        return np.subtract(shifted, np.log(total, out=total), out=shifted)
    return shifted - np.log(total)


SOFTMAX = Op(
    id="reduction.SOFTMAX",
    name="SoftmaxBackward0",
    forward=_softmax_forward,
    vjp=(lambda g, r, x, *, dim: r * (g - (g * r).sum(dim, keepdim=True)),),
    saves=SAVES_RESULT,
    sympy=sf.softmax,
    matrix=_matrix.softmax,
    kind="array",
    label="softmax",
    doc="softmax along a dim",
    category="activation",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1}),
    torch=lambda torch, x, dim: x.softmax(dim),
)
LOG_SOFTMAX = Op(
    id="reduction.LOG_SOFTMAX",
    name="LogSoftmaxBackward0",
    forward=_log_softmax_forward,
    vjp=(lambda g, r, x, *, dim: g - r.exp() * g.sum(dim, keepdim=True),),
    saves=SAVES_RESULT,
    sympy=sf.log_softmax,
    matrix=_matrix.log_softmax,
    kind="array",
    label="log softmax",
    doc="log-softmax along a dim",
    category="activation",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 0}),
    torch=lambda torch, x, dim: x.log_softmax(dim),
)


# The tensor rule on arrays, the same numpy operations in the same order (a
# cross-entropy loss runs it once per training step).
array_rules(LOG_SOFTMAX, lambda g, r, x, *, dim: g - np.exp(r) * np.add.reduce(g, axis=dim, keepdims=True))


def _log_softmax_node(g, node, inputs):
    """LOG_SOFTMAX's node rule: its array rule for a gradient of the result's shape and
    dtype (the input's too), with no fitting to do."""
    r = node._out_data
    if g.shape != r.shape or g.dtype != r.dtype or not r.ndim:  # (0-d: numpy gives scalars)
        return edge_rules(g, node, inputs)
    return (g - np.exp(r) * np.add.reduce(g, axis=node._params["dim"], keepdims=True),)


node_rule(LOG_SOFTMAX, _log_softmax_node)


def _logsumexp_forward(x, *, dim, keepdim):
    m = np.max(x, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True)) + m
    return out if keepdim else np.squeeze(out, axis=dim)


LOGSUMEXP = Op(
    id="reduction.LOGSUMEXP",
    name="LogsumexpBackward0",
    forward=_logsumexp_forward,
    vjp=(lambda g, r, x, *, dim, keepdim:
         _restore_dims(g, dim, keepdim) * (x - _restore_dims(r, dim, keepdim)).exp(),),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.logsumexp,
    kind="reduction",
    label="logΣexp",
    doc="log of the sum of exponentials",
    category="reduction",
    params=(Param("dim", "int[]"), Param("keepdim", "bool", False)),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": (1,), "keepdim": False}),
    torch=lambda torch, x, dim, keepdim: x.logsumexp(dim, keepdim),
)
CUMSUM = Op(
    id="reduction.CUMSUM",
    name="CumsumBackward0",
    forward=lambda x, *, dim: np.cumsum(x, axis=dim, dtype=x.dtype).reshape(x.shape),
    vjp=(lambda g, r, x, *, dim: g.flip(dim).cumsum(dim).flip(dim),),
    sympy=sf.cumsum,
    kind="array",
    label="cumsum",
    doc="cumulative sum along a dim",
    category="reduction",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1}),
    torch=lambda torch, x, dim: x.cumsum(dim),
)


def _var_forward(x, *, dim, correction, keepdim):
    n = math.prod(x.shape[d] for d in dim)
    return np.asarray(np.var(x, axis=dim, ddof=correction, keepdims=keepdim) if n - correction > 0
                      else np.full(np.sum(x, axis=dim, keepdims=keepdim).shape, np.nan)
                      ).astype(x.dtype, copy=False)


def _var_vjp(g, r, x, *, dim, correction, keepdim):
    n = math.prod(x.shape[d] for d in dim)
    centred = x - x.mean(dim, keepdim=True)
    scale = 2.0 / (n - correction) if n != correction else math.inf  # torch: nan/inf, not an error
    return _restore_dims(g, dim, keepdim) * centred * scale


def _std_vjp(g, r, x, *, dim, correction, keepdim):
    n = math.prod(x.shape[d] for d in dim)
    centred = x - x.mean(dim, keepdim=True)
    scale = where(_restore_dims(r, dim, keepdim) == 0, 0.0,
                  _restore_dims(g, dim, keepdim) / (_restore_dims(r, dim, keepdim) * (n - correction)))
    return centred * scale


VAR = Op(
    id="reduction.VAR",
    name="VarBackward0",
    forward=_var_forward,
    vjp=(_var_vjp,),
    saves=SAVES_INPUTS,
    sympy=sf.var,
    kind="reduction",
    label="var",
    doc="variance",
    category="reduction",
    params=(Param("dim", "int[]"), Param("correction", "int", 1), Param("keepdim", "bool", False)),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": (1,), "correction": 1, "keepdim": False}),
    torch=lambda torch, x, dim, correction, keepdim: x.var(dim, correction=correction, keepdim=keepdim),
)
STD = Op(
    id="reduction.STD",
    name="StdBackward0",
    forward=lambda x, **kw: np.sqrt(_var_forward(x, **kw)),
    vjp=(_std_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.std,
    kind="reduction",
    label="std",
    doc="standard deviation",
    category="reduction",
    params=(Param("dim", "int[]"), Param("correction", "int", 1), Param("keepdim", "bool", False)),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": (0,), "correction": 1, "keepdim": True}),
    torch=lambda torch, x, dim, correction, keepdim: x.std(dim, correction=correction, keepdim=keepdim),
)


# --------------------------------------------------------------------------- wrappers
def _sum_dtype(x: Tensor, dtype):
    if dtype is not None:
        return x.to(dtype)
    if x._data.dtype.kind in "biu":
        return x.to(_dt.int64)
    return x


def sum(input, dim=None, keepdim=False, *, dtype=None):
    input = _sum_dtype(input, dtype)
    if dim is None:
        return apply(SUM, (input,))
    return apply(SUM_DIM, (input,), {"dim": normalize_dims(dim, input._data.ndim), "keepdim": keepdim})


def _check_float_for_mean(x: Tensor, dtype):
    if dtype is not None:
        return x.to(dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {_dt.scalar_type_name(x._data.dtype)}")
    return x


def mean(input, dim=None, keepdim=False, *, dtype=None):
    input = _check_float_for_mean(input, dtype)
    if dim is None:
        return apply(MEAN, (input,))
    return apply(MEAN_DIM, (input,), {"dim": normalize_dims(dim, input._data.ndim), "keepdim": keepdim})


_return_types: dict = {}


def return_type(name: str, fields=("values", "indices")):
    """torch.return_types.<name>: a named tuple that prints like torch's."""
    if name not in _return_types:
        base = collections.namedtuple(name, fields)

        def __repr__(self):
            body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
            return f"torch.return_types.{name}(\n{body})"

        _return_types[name] = type(name, (base,), {"__repr__": __repr__, "__str__": __repr__,
                                                   "__slots__": ()})
    return _return_types[name]


def _extremum(name, full_op, dim_op, arg, input, dim, keepdim, other):
    if isinstance(dim, Tensor) or other is not None:
        from .elementwise import maximum, minimum
        return (maximum if name == "max" else minimum)(input, dim if other is None else other)
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                               "== 0. Specify the reduction dim with the 'dim' argument.")
        return apply(full_op, (input,))
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        values = apply(dim_op, (input,), {"dim": 0, "keepdim": keepdim, "indices": None})
        return return_type(name)(values, Tensor._make(np.zeros((), dtype=np.int64)))
    data = input._data
    indices = arg(data, axis=d, keepdims=True)
    if data.dtype.kind == "f":  # torch picks the first NaN
        nan_mask = np.isnan(data)
        if nan_mask.any():
            first_nan = np.argmax(nan_mask, axis=d, keepdims=True)
            has_nan = np.take_along_axis(nan_mask, first_nan, axis=d)
            indices = np.where(has_nan, first_nan, indices)
    if not keepdim:
        indices = np.squeeze(indices, axis=d)
    values = apply(dim_op, (input,), {"dim": d, "keepdim": keepdim, "indices": indices})
    return return_type(name)(values, Tensor._make(np.asarray(indices, dtype=np.int64)))


def max(input, dim=None, keepdim=False, *, other=None):
    return _extremum("max", MAX, MAX_DIM, np.argmax, input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    return _extremum("min", MIN, MIN_DIM, np.argmin, input, dim, keepdim, other)


def amax(input, dim=(), keepdim=False):
    return apply(AMAX, (input,), {"dim": normalize_dims(dim if dim != () else None, input._data.ndim),
                                  "keepdim": keepdim})


def amin(input, dim=(), keepdim=False):
    return apply(AMIN, (input,), {"dim": normalize_dims(dim if dim != () else None, input._data.ndim),
                                  "keepdim": keepdim})


def argmax(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._make(np.asarray(np.argmax(input._data), dtype=np.int64))
    return Tensor._make(np.asarray(np.argmax(input._data, axis=_wrap_dim(dim, input._data.ndim),
                                             keepdims=keepdim), dtype=np.int64))


def argmin(input, dim=None, keepdim=False):
    if dim is None:
        return Tensor._make(np.asarray(np.argmin(input._data), dtype=np.int64))
    return Tensor._make(np.asarray(np.argmin(input._data, axis=_wrap_dim(dim, input._data.ndim),
                                             keepdims=keepdim), dtype=np.int64))


def prod(input, dim=None, keepdim=False, *, dtype=None):
    input = _sum_dtype(input, dtype)
    if dim is None:
        return apply(PROD, (input,))
    return apply(PROD_DIM, (input,), {"dim": _wrap_dim(dim, input._data.ndim), "keepdim": keepdim})


def vector_norm(input, ord=2, dim=None, keepdim=False, *, dtype=None):
    name = _dt.scalar_type_name
    if input._data.dtype.kind != "f":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {name(input._data.dtype)}")
    if dtype is not None:
        if not dtype.is_floating_point:
            raise RuntimeError(f"linalg.vector_norm: dtype should be floating point or complex, but got "
                               f"{name(dtype.np)}")
        if not np.can_cast(input._data.dtype, dtype.np, casting="safe"):
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({name(input._data.dtype)}) "
                               f"should be convertible without narrowing to the specified dtype "
                               f"({name(dtype.np)})")
        input = input.to(dtype)
    dims = normalize_dims(dim, input._data.ndim)
    return apply(NORM, (input,), {"p": float(ord), "dim": dims, "keepdim": keepdim})


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise NotImplementedError("GradStudio does not implement the nuclear norm")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def _softmax_dim(ndim, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                      "to include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    return _wrap_dim(dim, ndim)


def _floating(x, dtype):
    if dtype is not None:
        return x.to(dtype)
    return x if x._data.dtype.kind == "f" else x.to(_dt.get_default_dtype())


def softmax(input, dim=None, dtype=None, *, _stacklevel=3):
    input = _floating(input, dtype)
    return apply(SOFTMAX, (input,), {"dim": _softmax_dim(input._data.ndim, dim, "softmax")})


def log_softmax(input, dim=None, dtype=None, *, _stacklevel=3):
    input = _floating(input, dtype)
    return apply(LOG_SOFTMAX, (input,), {"dim": _softmax_dim(input._data.ndim, dim, "log_softmax")})


def logsumexp(input, dim, keepdim=False):
    input = _floating(input, None)
    return apply(LOGSUMEXP, (input,), {"dim": normalize_dims(dim, input._data.ndim), "keepdim": keepdim})


def cumsum(input, dim, *, dtype=None):
    input = _sum_dtype(input, dtype)
    return apply(CUMSUM, (input,), {"dim": _wrap_dim(dim, input._data.ndim)})


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return apply(VAR, (input,), {"dim": normalize_dims(dim, input._data.ndim),
                                 "correction": _correction(unbiased, correction), "keepdim": keepdim})


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return apply(STD, (input,), {"dim": normalize_dims(dim, input._data.ndim),
                                 "correction": _correction(unbiased, correction), "keepdim": keepdim})


def all(input, dim=None, keepdim=False):
    axis = None if dim is None else _wrap_dim(dim, input._data.ndim)
    return Tensor._make(np.asarray(np.all(input._data, axis=axis, keepdims=keepdim)))


def any(input, dim=None, keepdim=False):
    axis = None if dim is None else _wrap_dim(dim, input._data.ndim)
    return Tensor._make(np.asarray(np.any(input._data, axis=axis, keepdims=keepdim)))


def count_nonzero(input, dim=None):
    return Tensor._make(np.asarray(np.count_nonzero(input._data, axis=dim), dtype=np.int64))


def where(*args):
    from .elementwise import where as _where
    return _where(*args)
