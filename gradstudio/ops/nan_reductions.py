"""Reductions that leave NaN out: ``nansum`` (a row, NansumBackward0: a NaN gets no
gradient) and ``nanmean``, which torch composes as nansum divided by the count of the
other elements (so its node is a DivBackward0 over the NansumBackward0, as here).

The row keeps ``dim`` as it was given: None for the whole tensor, which is what torch's
node saves (``_saved_dim`` reads None), and what numpy reads as "every axis"."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Input
from .. import dtypes as _dt
from ..tensor import Tensor
from . import _sympy as sf
from . import samples
from .reduction import _restore_dims, _sum_dtype, normalize_dims
from .table import Op, Param, SAVES_INPUTS, apply


def _given_dims(dim, ndim: int):
    """``dim`` as the row keeps it: None (every dim), or a tuple of non-negative dims."""
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):
        return None
    return normalize_dims(dim, ndim) if ndim else None


def _nansum_vjp(g, r, x, *, dim, keepdim):
    from .elementwise import where
    dims = normalize_dims(dim, len(x.shape))
    spread = _restore_dims(g, dims, keepdim).expand(*x.shape)
    return where(x.isnan(), 0.0, spread)


NANSUM = Op(
    id="nan_reductions.NANSUM",
    saved={"dim": Arg("dim"), "keepdim": Arg("keepdim"), "self": Input(0)},
    name="NansumBackward0",
    forward=lambda x, *, dim, keepdim: np.asarray(np.nansum(x, axis=dim, keepdims=keepdim), x.dtype),
    vjp=(_nansum_vjp,),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, dim, keepdim: sf._obj(np.sum(x, axis=dim, keepdims=keepdim)),
    kind="reduction",
    label="Σ (NaN as 0)",
    doc="sum with NaN counted as zero",
    category="reduction",
    params=(Param("dim", "int[]", None), Param("keepdim", "bool", False)),
    sample=lambda rng: ([samples.uniform(rng, (2, 3, 4))], {"dim": (0, 2), "keepdim": False}),
    torch=lambda torch, x, dim, keepdim: x.nansum(dim, keepdim=keepdim),
)


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum with NaN counted as zero (integers summed as int64)."""
    input = _sum_dtype(input, dtype)
    return apply(NANSUM, (input,), {"dim": _given_dims(dim, input._data.ndim), "keepdim": keepdim})


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the elements that are not NaN: ``nansum / count``, as torch builds it."""
    if input._data.dtype.kind != "f":
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_dt.scalar_type_name(input._data.dtype)}")
    if dtype is not None:
        input = input.to(dtype)
    dims = _given_dims(dim, input._data.ndim)
    count = np.sum(~np.isnan(input._data), axis=dims, keepdims=keepdim)
    return nansum(input, dim, keepdim) / Tensor._make(np.asarray(count, np.int64))
