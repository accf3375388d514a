"""Reductions that give two results from one call: ``aminmax``
(``torch.return_types.aminmax``: min and max), ``var_mean`` and ``std_mean`` (a tuple).

torch records one node with two outputs (AminmaxBackward0, VarMeanBackward0,
StdMeanBackward0). GradStudio's nodes have one output each, so, as split's pieces, each
result gets a node of its own of that name, saving what torch's saves: the gradients
of the two add up at the input as torch's one node adds them. The rules are amin/amax's
(ties share the gradient), var/std's and mean's.

The rows keep ``dim`` and ``correction`` as they were given — None when left out, as
torch's node saves them (``_saved_correction`` reads None for the default of 1). The other
result a node saves (aminmax's max on the min's node, std_mean's std on the mean's) is
computed from the input when read: its values are torch's, but it has no grad_fn, where
torch's is that output itself."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Computed, Input, Result
from ..tensor import Tensor, _wrap_dim
from . import _sympy as sf
from . import kinks, samples
from .reduction import _amax_vjp, _restore_dims, _std_vjp, _var_forward, _var_vjp, normalize_dims, return_type
from .table import Op, Param, SAVES_INPUTS, SAVES_RESULT, apply


# --------------------------------------------------------------------------- aminmax
def _axes(x_ndim: int, dim):
    return None if dim is None or x_ndim == 0 else dim


def _extreme(reduce):
    def forward(x, *, dim, keepdim):
        return np.asarray(reduce(x, axis=_axes(x.ndim, dim), keepdims=keepdim and x.ndim > 0))
    return forward


_amin, _amax = _extreme(np.amin), _extreme(np.amax)


def _aminmax_vjp(g, r, x, *, dim, keepdim):
    return _amax_vjp(g, r, x, dim=normalize_dims(_axes(len(x.shape), dim), len(x.shape)), keepdim=keepdim)


def _aminmax_row(id: str, part: str, forward, other) -> Op:
    return Op(
        id=id,
        saved={"dim": Arg("dim"), "keepdim": Arg("keepdim"), part: Result(),
               ("max" if part == "min" else "min"): Computed(other), "self": Input(0)},
        name="AminmaxBackward0",
        forward=forward,
        vjp=(_aminmax_vjp,),
        saves=SAVES_INPUTS | SAVES_RESULT,
        sympy=lambda x, *, dim, keepdim: (sf.amin if part == "min" else sf.amax)(
            x, dim=normalize_dims(_axes(x.ndim, dim), x.ndim), keepdim=keepdim),
        kind="reduction",
        label=f"aminmax ({part})",
        doc=f"the {part}imum of aminmax (ties share the gradient)",
        category="reduction",
        params=(Param("dim", "int?", None), Param("keepdim", "bool", False)),
        kink=kinks.repeated_value,
        sample=lambda rng: ([samples.distinct(rng, samples.S)], {"dim": 1, "keepdim": False}),
        torch=lambda torch, x, dim, keepdim: getattr(torch.aminmax(x, dim=dim, keepdim=keepdim), part),
    )


AMINMAX_MIN = _aminmax_row("two_results.AMINMAX_MIN", "min", _amin, _amax)
AMINMAX_MAX = _aminmax_row("two_results.AMINMAX_MAX", "max", _amax, _amin)
aminmax_type = return_type("aminmax", ("min", "max"))


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False):
    """``(min, max)`` of all elements, or along ``dim``."""
    x = input._data
    if dim is not None:
        dim = _wrap_dim(dim, x.ndim)
    if x.size == 0 if dim is None else (x.ndim and x.shape[dim] == 0):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation "
                           "has no identity.")
    params = {"dim": dim, "keepdim": keepdim}
    return aminmax_type(apply(AMINMAX_MIN, (input,), params), apply(AMINMAX_MAX, (input,), params))


# --------------------------------------------------------------------------- var_mean, std_mean
def _moment_params(x_ndim: int, dim, correction) -> dict:
    """The params var's and std's rules read, from the ones the row keeps."""
    return {"dim": normalize_dims(dim, x_ndim), "correction": 1 if correction is None else correction}


def _var(x, *, dim, correction, keepdim):
    return _var_forward(x, keepdim=keepdim, **_moment_params(x.ndim, dim, correction))


def _mean(x, *, dim, correction, keepdim):
    axes = normalize_dims(dim, x.ndim)
    return np.asarray(np.mean(x, axis=axes, keepdims=keepdim, dtype=x.dtype))


def _mean_vjp(g, r, x, *, dim, correction, keepdim):
    axes = normalize_dims(dim, len(x.shape))
    return _restore_dims(g, axes, keepdim).expand(*x.shape) / math.prod(x.shape[d] for d in axes)


def _moment_sympy(function):
    def sympy(x, *, dim, correction, keepdim):
        return function(x, keepdim=keepdim, **_moment_params(x.ndim, dim, correction))
    return sympy


def _mean_sympy(x, *, dim, correction, keepdim):
    return sf.mean_dims(x, dim=normalize_dims(dim, x.ndim), keepdim=keepdim)


def _moment_row(id: str, name: str, part: str, forward, vjp, saves: int, sympy, saved: dict, torch) -> Op:
    return Op(
        id=id,
        saved={"correction": Arg("correction"), "dim": Arg("dim"), "keepdim": Arg("keepdim"),
               "self": Input(0), **saved},
        name=name,
        forward=forward,
        vjp=(vjp,),
        saves=saves,
        sympy=sympy,
        kind="reduction",
        label=f"{name[:3].lower()}_mean ({part})",
        doc=f"the {part} of {name[:3].lower()}_mean",
        category="reduction",
        params=(Param("dim", "int[]", None), Param("correction", "int?", None), Param("keepdim", "bool", False)),
        sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": (1,), "correction": 1, "keepdim": False}),
        torch=torch,
    )


def _by_moments(vjp):
    def rule(g, r, x, *, dim, correction, keepdim):
        return vjp(g, r, x, keepdim=keepdim, **_moment_params(len(x.shape), dim, correction))
    return rule


def _std(x, **params):
    return np.sqrt(_var(x, **params))


def _replay(function: str, index: int):
    def replay(torch, x, dim, correction, keepdim):
        return getattr(torch, function)(x, dim, correction=correction, keepdim=keepdim)[index]
    return replay


VAR_MEAN_VAR = _moment_row("two_results.VAR_MEAN_VAR", "VarMeanBackward0", "variance", _var, _by_moments(_var_vjp),
                           SAVES_INPUTS, _moment_sympy(sf.var), {}, _replay("var_mean", 0))
VAR_MEAN_MEAN = _moment_row("two_results.VAR_MEAN_MEAN", "VarMeanBackward0", "mean", _mean, _mean_vjp,
                            SAVES_INPUTS, _mean_sympy, {}, _replay("var_mean", 1))
STD_MEAN_STD = _moment_row("two_results.STD_MEAN_STD", "StdMeanBackward0", "standard deviation", _std,
                           _by_moments(_std_vjp), SAVES_INPUTS | SAVES_RESULT, _moment_sympy(sf.std),
                           {"result0": Result()}, _replay("std_mean", 0))
STD_MEAN_MEAN = _moment_row("two_results.STD_MEAN_MEAN", "StdMeanBackward0", "mean", _mean, _mean_vjp,
                            SAVES_INPUTS, _mean_sympy, {"result0": Computed(_std)}, _replay("std_mean", 1))


_NO_DIM = type("NoDim", (), {"__repr__": lambda self: "None"})()  # dim left out, not dim=None


def _moments(name: str, parts: tuple, input: Tensor, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name} only support floating point and complex dtypes")
    if correction is None and (unbiased is not None or dim is not _NO_DIM):
        # torch's overload with dim (or unbiased) has unbiased=True: it saves correction 1
        correction = 1 if unbiased is None or unbiased else 0
    dim = None if dim is _NO_DIM else dim
    ndim = input._data.ndim
    if dim is not None:
        dim = tuple(_wrap_dim(d, ndim) for d in ((dim,) if isinstance(dim, int) else dim)) if ndim else None
    params = {"dim": dim, "correction": correction, "keepdim": keepdim}
    return tuple(apply(op, (input,), params) for op in parts)


def var_mean(input: Tensor, dim=_NO_DIM, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim`` (every dim when None)."""
    return _moments("var_mean", (VAR_MEAN_VAR, VAR_MEAN_MEAN), input, dim, unbiased, keepdim, correction)


def std_mean(input: Tensor, dim=_NO_DIM, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim`` (every dim when None)."""
    return _moments("std_mean", (STD_MEAN_STD, STD_MEAN_MEAN), input, dim, unbiased, keepdim, correction)

