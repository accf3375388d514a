"""The cross product of 3-vectors along a dim: ``linalg.cross`` (one row,
LinalgCrossBackward0, saving ``self``, ``other`` and ``dim`` as given) and ``torch.cross``,
which calls it (its dim left out: the first dim of length 3, with torch's once-per-process
deprecation warning). The inputs broadcast against each other; the gradients are
cross products again (derivatives.yaml: other × grad, grad × self)."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Input
from ..tensor import Tensor, _wrap_dim
from . import samples
from .table import SAVES_INPUTS, Op, Param, apply


def _cross(a, b, *, dim):
    return np.cross(a, b, axis=dim)


def _cross_sympy(a, b, *, dim):
    a, b = np.broadcast_arrays(np.moveaxis(np.asarray(a, dtype=object), dim, -1),
                               np.moveaxis(np.asarray(b, dtype=object), dim, -1))
    parts = [a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1], a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
             a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]]
    return np.moveaxis(np.stack(parts, -1), -1, dim)


LINALG_CROSS = Op(
    id="cross_product.LINALG_CROSS",
    saved={"dim": Arg("dim"), "other": Input(1), "self": Input(0)},
    name="LinalgCrossBackward0",
    forward=_cross,
    vjp=(lambda g, r, a, b, *, dim: apply(LINALG_CROSS, (b, g), {"dim": dim}),
         lambda g, r, a, b, *, dim: apply(LINALG_CROSS, (g, a), {"dim": dim})),
    saves=SAVES_INPUTS,
    sympy=_cross_sympy,
    kind="array",
    label="a×b",
    doc="cross product of 3-vectors along a dim",
    category="linear algebra",
    arity=2,
    params=(Param("dim", "int", -1),),
    sample=lambda rng: ([samples.uniform(rng, (2, 3)), samples.uniform(rng, (1, 3))], {"dim": -1}),
    torch=lambda torch, a, b, dim: torch.linalg.cross(a, b, dim=dim),
)


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """``input × other`` along ``dim`` (both of length 3 there), broadcast."""
    a, b = input._data, other._data
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = _wrap_dim(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[d]} and {b.shape[d]}")
    from .linalg import _broadcast
    _broadcast(a.shape, b.shape)
    if a.dtype != b.dtype:
        from ..dtypes import scalar_type_name
        raise RuntimeError(f"expected scalar type {scalar_type_name(a.dtype)} but found "
                           f"{scalar_type_name(b.dtype)}")
    return apply(LINALG_CROSS, (input, other), {"dim": int(dim)})


_DEFAULT_DIM = ("Using torch.cross without specifying the dim arg is deprecated.\n"
                "Please either pass the dim explicitly or simply use torch.linalg.cross.\n"
                "The default value of dim will change to agree with that of linalg.cross in a future "
                "release. (Triggered internally at /__w/pytorch/pytorch/aten/src/ATen/native/Cross.cpp:63.)")


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """linalg.cross along ``dim``; left out, along the input's first dim of length 3."""
    if dim is None:
        from ..autograd.errors import warn_once
        warn_once(_DEFAULT_DIM)
        dim = next((d for d, n in enumerate(input._data.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim)
