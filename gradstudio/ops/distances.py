"""``cdist``: the p-norm distance between every row of ``x1`` and every row of ``x2``
(batched, the batch dims broadcast), on torch's two paths:

* direct (CdistBackward0, saving ``p``, ``x1``, ``x2`` and ``result``): any p ≥ 0 — p = 0
  counts the differing coordinates, p = ∞ takes the largest difference. Its gradient is
  torch's ``_cdist_backward``: 0 for p = 0, g·sign(d) for p = 1, g·d/‖d‖ for p = 2 and
  g·d|d|^(p−2)/‖d‖^(p−1) otherwise, 0 where the distance is 0; for p = ∞ g·sign(d) at every
  coordinate that reaches the maximum. Its own derivative is not implemented in torch
  (CdistBackwardBackward0 raises), nor here.
* matrix product (EuclideanDistBackward0 under a ViewBackward0), for p = 2 when
  ``compute_mode`` asks for it or, by default, when either input has more than 25 rows:
  ‖a‖² − 2a·b + ‖b‖² clamped at 0, its square root — rounded as torch rounds it. A batch
  of more than one is expanded, made contiguous (a copy where the expansion repeats) and
  viewed as three dims first (torch's nodes too).
"""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Input, Result
from ..dtypes import scalar_type_name
from ..tensor import Tensor
from . import samples
from ._sympy import sp
from .table import SAVES_INPUTS, SAVES_RESULT, NotImplementedRule, Op, Param, apply

_MODES = {"use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1,
          "donot_use_mm_for_euclid_dist": 2}


def _differences(x1, x2):
    return x1[..., :, None, :] - x2[..., None, :, :]


def _cdist(x1, x2, *, p):
    d = np.abs(_differences(x1, x2))
    if p == 0:
        return (d != 0).sum(-1).astype(x1.dtype)
    if p == 1:
        return d.sum(-1)
    if p == 2:
        return np.sqrt((d * d).sum(-1))
    if np.isinf(p):
        return d.max(-1) if d.shape[-1] else d.sum(-1)
    return (d ** p).sum(-1) ** (1 / p)


def _cdist_backward(g, x1, x2, dist, *, p):
    """torch's _cdist_backward: the gradient of x1 (batch dims broadcast)."""
    diff = _differences(x1, x2)
    g, dist = g[..., None], dist[..., None]
    with np.errstate(all="ignore"):
        if p == 0:
            each = np.zeros_like(diff)
        elif p == 1:
            each = g * np.sign(diff)
        elif p == 2:
            each = np.where(dist == 0, 0, g * diff / dist)
        elif np.isinf(p):
            each = g * np.sign(diff) * (np.abs(diff) == dist)
        elif p < 2:
            each = np.where(dist == 0, 0, np.sign(diff) * np.abs(diff) ** (p - 1) * g / dist ** (p - 1))
            if p < 1:
                each = np.where(diff == 0, 0, each)
        else:
            each = np.where(dist == 0, 0, diff * np.abs(diff) ** (p - 2) * g / dist ** (p - 1))
    return each.sum(-2).astype(x1.dtype)


def _not_implemented(count):
    return (NotImplementedRule("_cdist_backward"),) * count


CDIST_BACKWARD = Op(
    id="distances.CDIST_BACKWARD",
    name="CdistBackwardBackward0",
    forward=_cdist_backward,
    vjp=_not_implemented(4),
    kind="array",
    label="∂cdist",
    doc="gradient of cdist",
    category="distance",
    arity=4,
    params=(Param("p", "float"),),
    sample=lambda rng: ([samples.uniform(rng, (4, 5)), samples.uniform(rng, (4, 3)), samples.uniform(rng, (5, 3)),
                         samples.uniform(rng, (4, 5))], {"p": 2.0}),
    internal=True,
)


def _sample(rng):
    return [samples.uniform(rng, (2, 4, 3)), samples.uniform(rng, (5, 3))], {"p": 2.0}


def _cdist_sympy(x1, x2, *, p=2.0):
    """The distances written out: (Σₖ |x1ᵢₖ − x2ⱼₖ|ᵖ)^(1/p) for every pair of rows i, j
    (√Σ d² for p = 2, max |d| for p = ∞, the count of d ≠ 0 for p = 0)."""
    s = sp()
    d = x1[..., :, None, :] - x2[..., None, :, :]
    if p == 2:
        each = np.vectorize(s.sqrt, otypes=[object])
        return each((d * d).sum(-1))
    magnitude = np.vectorize(s.Abs, otypes=[object])(d)
    if p == 1:
        return magnitude.sum(-1)
    if p == np.inf:
        return np.apply_along_axis(lambda row: s.Max(*row), -1, magnitude)
    if p == 0:
        nonzero = np.vectorize(lambda e: s.Piecewise((0, s.Eq(e, 0)), (1, True)), otypes=[object])
        return nonzero(d).sum(-1)
    exponent = s.nsimplify(p)
    root = np.vectorize(lambda e: e ** (1 / exponent), otypes=[object])
    return root((magnitude ** exponent).sum(-1))


CDIST = Op(
    id="distances.CDIST",
    saved={"p": Arg("p"), "result": Result(), "x1": Input(0), "x2": Input(1)},
    name="CdistBackward0",
    forward=_cdist,
    vjp=(lambda g, r, x1, x2, *, p: apply(CDIST_BACKWARD, (g, x1, x2, r), {"p": p}),
         lambda g, r, x1, x2, *, p: apply(CDIST_BACKWARD, (g.mT, x2, x1, r.mT), {"p": p})),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=_cdist_sympy,
    kind="array",
    label="cdist",
    doc="p-norm distance between every pair of rows",
    category="distance",
    arity=2,
    params=(Param("p", "float", 2.0),),
    sample=_sample,
    torch=lambda torch, x1, x2, p: torch.cdist(x1, x2, p, compute_mode="donot_use_mm_for_euclid_dist"),
)


def _euclidean_dist(x1, x2):
    """torch's _euclidean_dist: one matrix product of padded rows, clamped, square-rooted."""
    n1, n2 = (x1 * x1).sum(-1, keepdims=True), (x2 * x2).sum(-1, keepdims=True)
    left = np.concatenate([x1 * -2, n1, np.ones_like(n1)], -1)
    right = np.concatenate([x2, np.ones_like(n2), n2], -1)
    return np.sqrt(np.maximum(left @ np.swapaxes(right, -1, -2), 0))


def _ratio(g, r):
    from .indexing import masked_fill
    return masked_fill(g / r, r == 0, 0)


EUCLIDEAN_DIST = Op(
    id="distances.EUCLIDEAN_DIST",
    saved={"result": Result(), "x1": Input(0), "x2": Input(1)},
    name="EuclideanDistBackward0",
    forward=lambda x1, x2: _euclidean_dist(x1, x2),
    vjp=(lambda g, r, x1, x2: x1 * _ratio(g, r).sum(-1, True) - _ratio(g, r).matmul(x2),
         lambda g, r, x1, x2: x2 * _ratio(g, r).sum(-2).unsqueeze(-1) - _ratio(g, r).mT.matmul(x1)),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=_cdist_sympy,
    kind="array",
    label="‖a−b‖",
    doc="Euclidean distance between every pair of rows, by a matrix product",
    category="distance",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, (4, 3)), samples.uniform(rng, (5, 3))], {}),
    torch=lambda torch, x1, x2: torch._euclidean_dist(x1, x2),
)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distances between the rows of ``x1`` and those of ``x2``, per batch."""
    if compute_mode not in _MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    a, b = x1._data, x2._data
    for name, t in (("X1", a), ("X2", b)):
        if t.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {scalar_type_name(t.dtype)}")
    for name, t in (("X1", a), ("X2", b)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}")
    p = float(p)
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    mode = _MODES[compute_mode]
    r1, r2, c = a.shape[-2], b.shape[-2], a.shape[-1]
    if p != 2 or not (mode == 1 or (mode == 0 and (r1 > 25 or r2 > 25))) or a.size == 0 or b.size == 0:
        return apply(CDIST, (x1, x2), {"p": p})
    from .linalg import _broadcast
    batch = _broadcast(a.shape[:-2], b.shape[:-2])
    count = int(np.prod(batch, dtype=np.int64))
    if count != 1:
        x1 = x1.expand(*batch, r1, c).contiguous().view(count, r1, c)
        x2 = x2.expand(*batch, r2, c).contiguous().view(count, r2, c)
    return apply(EUCLIDEAN_DIST, (x1, x2)).view(*batch, r1, r2)
