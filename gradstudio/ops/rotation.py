"""``rot90`` (a row: Rot90Backward0, whose gradient turns back by −k) and ``fliplr`` /
``flipud``, which torch builds from ``flip`` (FlipBackward0 over dim 1, over dim 0).

The node saves ``k`` and ``dims`` as they were given (torch's ``_saved_k`` of ``k=5`` is
5, of ``dims=(-1, 0)`` the unsigned reading of −1); the forward turns ``k mod 4`` times,
from the first of the dims towards the second, into a new tensor (k = 0 too: a copy) laid out as torch lays it out."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg
from ..tensor import Tensor, _wrap_dim
from . import samples
from .shape import flip
from .table import Op, Param, apply


def _rot90(x, *, k, dims):
    """torch's layout too: an odd turn is a flipped copy transposed (not contiguous)."""
    first, second = dims
    k %= 4
    if k == 2:
        return np.flip(x, (first, second)).copy()
    if k == 0:
        return x.copy()
    return np.swapaxes(np.flip(x, second if k == 1 else first).copy(), first, second)


ROT90 = Op(
    id="rotation.ROT90",
    saved={"dims": Arg("dims"), "k": Arg("k")},
    name="Rot90Backward0",
    forward=_rot90,
    vjp=(lambda g, r, x, *, k, dims: apply(ROT90, (g,), {"k": -k, "dims": dims}),),
    sympy=lambda x, *, k, dims: np.rot90(x, k % 4, axes=tuple(dims)),
    kind="shape",
    label="rot90",
    doc="turned k quarter turns in the plane of two dims",
    category="shape",
    params=(Param("k", "int", 1), Param("dims", "int[]", (0, 1))),
    sample=lambda rng: ([samples.uniform(rng, (2, 3, 4))], {"k": 1, "dims": (2, -3)}),
    torch=lambda torch, x, k, dims: torch.rot90(x, k, dims),
)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """``input`` turned ``k`` quarter turns, from ``dims[0]`` towards ``dims[1]``."""
    dims = tuple(int(d) for d in dims)
    ndim = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {ndim}")
    if _wrap_dim(dims[0], ndim) == _wrap_dim(dims[1], ndim):
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and "
                           f"dim1 = {dims[1]}")
    return apply(ROT90, (input,), {"k": int(k), "dims": dims})


def fliplr(input: Tensor) -> Tensor:
    """``input`` reversed left to right: along dim 1."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """``input`` reversed upside down: along dim 0."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))
