"""``cumprod``: running products along a dim (CumprodBackward0, saving the input and the
result as torch's node does).

Its gradient, for element i: Σ_{j ≥ i} g_j · Π_{k ≤ j, k ≠ i} x_k — written with
tensor ops on the input laid out once per i with x_i set to 1 (a cumprod of that, so a
zero anywhere is handled exactly, and ``create_graph`` records it), then summed over
j ≥ i. It costs n² elements for a dim of n."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _wrap_dim
from ._sympy import _obj
from . import samples
from .table import Op, Param, SAVES_INPUTS, SAVES_RESULT, apply

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
