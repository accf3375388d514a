"""The two nodes of scaled dot-product attention that no other op makes.

* ``_safe_softmax`` (SafeSoftmaxBackward0) — softmax whose row of only ``-inf`` gives
  zeros, not NaN: the softmax of ATen's math attention.
* ``_scaled_dot_product_flash_attention_for_cpu`` (ScaledDotProductFlashAttentionForCpuBackward0)
  — ATen's fused CPU kernel, one node over query, key and value: ``softmax(q kᵀ · scale
  + mask) v`` with the (float) mask and the causal flag as parameters, since torch never
  differentiates the mask there. Key and value may have fewer heads than the query
  (grouped-query attention): each serves ``Hq / Hkv`` consecutive query heads.

Which of the two paths torch takes, and the math path's composition, live in
:mod:`gradstudio.nn._attention_functions`.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Computed, Input, Result
from ..tensor import make
from . import samples
from ._sympy import softmax as _sympy_softmax
from .reduction import SOFTMAX
from .table import Op, Param, SAVES_INPUTS, SAVES_RESULT


# --------------------------------------------------------------------- safe softmax
def _safe_softmax_forward(x, *, dim):
    top = np.maximum.reduce(x, axis=dim, keepdims=True)
    masked = np.isneginf(top)
    e = np.exp(x - np.where(masked, 0, top))
    out = e / np.add.reduce(e, axis=dim, keepdims=True)
    return np.where(masked, 0, out).astype(x.dtype, copy=False)


SAFE_SOFTMAX = Op(
    id="attention.SAFE_SOFTMAX",
    name="SafeSoftmaxBackward0",
    forward=_safe_softmax_forward,
    vjp=SOFTMAX.vjp,   # a row of zeros is its own gradient's zero: softmax's rule holds
    saves=SAVES_RESULT,
    sympy=_sympy_softmax,
    kind="array",
    label="softmax",
    doc="softmax along a dim; a row of only -inf gives zeros",
    category="activation",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1}),
    torch=lambda torch, x, dim: torch._safe_softmax(x, dim),
)


def _safe_softmax(input, dim, dtype=None):
    """``torch._safe_softmax``: softmax along ``dim`` whose all ``-inf`` rows are zeros."""
    from .table import apply
    if dtype is not None:
        input = input.to(dtype)
    return apply(SAFE_SOFTMAX, (input,), {"dim": dim})


# ---------------------------------------------------------------- fused CPU kernel
def _scale_of(q_shape, scale):
    return 1.0 / math.sqrt(q_shape[-1]) if scale is None else float(scale)


def _groups(q, k):
    return q.shape[-3] // k.shape[-3]


def _repeat_heads(a, groups):
    """Key or value (an array or a Tensor) with each head repeated for its ``groups``
    query heads."""
    if groups == 1:
        return a
    if isinstance(a, np.ndarray):
        return np.repeat(a, groups, axis=-3)
    from .rearranging import repeat_interleave
    return repeat_interleave(a, groups, dim=-3)


def _mask_of(q_shape, k_shape, attn_mask, is_causal):
    """The additive mask (L, S) or broadcastable, or None. The kernel takes a mask and
    the causal flag together: both apply (the causal part top-left aligned)."""
    if not is_causal:
        return attn_mask
    L, S = q_shape[-2], k_shape[-2]
    causal = np.where(np.tril(np.ones((L, S), dtype=bool)), 0.0, -np.inf)
    return causal if attn_mask is None else attn_mask + causal


def _scores(q, k, attn_mask, is_causal, scale):
    s = np.matmul(q, np.swapaxes(_repeat_heads(k, _groups(q, k)), -1, -2)) * _scale_of(q.shape, scale)
    mask = _mask_of(q.shape, k.shape, attn_mask, is_causal)
    return s if mask is None else s + mask


def _flash_forward(q, k, v, *, attn_mask, dropout_p, is_causal, scale):
    p = _safe_softmax_forward(_scores(q, k, attn_mask, is_causal, scale), dim=-1)
    return np.matmul(p, _repeat_heads(v, _groups(q, v))).astype(q.dtype, copy=False)


def _logsumexp(q, k, v, *, attn_mask, dropout_p, is_causal, scale):
    s = _scores(q, k, attn_mask, is_causal, scale)
    top = np.max(s, axis=-1, keepdims=True)
    finite = np.where(np.isneginf(top), 0, top)
    with np.errstate(divide="ignore"):
        lse = (np.log(np.sum(np.exp(s - finite), axis=-1, keepdims=True)) + finite)[..., 0]
    return np.where(np.isneginf(lse), 0, lse)   # a row masked out entirely: torch keeps 0


def _probabilities(q, k, *, attn_mask, is_causal, scale):
    """softmax(q kᵀ · scale + mask) as a Tensor (the backward's recomputation), and kᵀ
    with its heads repeated."""
    from .reduction import softmax
    keys = _repeat_heads(k, _groups(q, k))
    s = q.matmul(keys.transpose(-2, -1)) * _scale_of(tuple(q.shape), scale)
    mask = _mask_of(tuple(q.shape), tuple(k.shape), attn_mask, is_causal)
    if mask is not None:
        s = s + make(np.asarray(mask, dtype=q._data.dtype))
    p = softmax(s, -1)
    rows_masked = np.isneginf(s._data).all(-1, keepdims=True)
    return p.masked_fill(make(rows_masked), 0) if rows_masked.any() else p, keys


def _summed_over_groups(grad, groups):
    """A repeated key's or value's gradient summed back over the query heads it served."""
    if groups == 1:
        return grad
    *lead, heads, length, dim = grad.shape
    return grad.reshape(*lead, heads // groups, groups, length, dim).sum(-3)


def _score_grad(g, q, k, v, params):
    """(dS, p, repeated keys): the gradient of the scaled scores."""
    p, keys = _probabilities(q, k, **params)
    values = _repeat_heads(v, _groups(q, v))
    dp = g.matmul(values.transpose(-2, -1))
    return p * (dp - (dp * p).sum(-1, keepdim=True)), p, keys


def _flash_q(g, r, q, k, v, *, attn_mask, dropout_p, is_causal, scale):
    params = dict(attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    ds, _, keys = _score_grad(g, q, k, v, params)
    return ds.matmul(keys) * _scale_of(tuple(q.shape), scale)


def _flash_k(g, r, q, k, v, *, attn_mask, dropout_p, is_causal, scale):
    params = dict(attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    ds, _, _ = _score_grad(g, q, k, v, params)
    return _summed_over_groups(ds.transpose(-2, -1).matmul(q) * _scale_of(tuple(q.shape), scale),
                               _groups(q, k))


def _flash_v(g, r, q, k, v, *, attn_mask, dropout_p, is_causal, scale):
    p, _ = _probabilities(q, k, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    return _summed_over_groups(p.transpose(-2, -1).matmul(g), _groups(q, v))


def _flash_sympy(q, k, v, *, attn_mask, dropout_p, is_causal, scale):
    s = np.matmul(q, np.swapaxes(_repeat_heads(k, _groups(q, k)), -1, -2)) * _scale_of(q.shape, scale)
    mask = _mask_of(q.shape, k.shape, attn_mask, is_causal)
    if mask is not None:
        s = s + mask
    return np.matmul(_sympy_softmax(s, dim=-1), _repeat_heads(v, _groups(q, v)))


def _saved_mask(mask):
    return None if mask is None else make(np.asarray(mask))


FLASH_ATTENTION_CPU = Op(
    id="attention.FLASH_ATTENTION_CPU",
    saved={"query": Input(0), "key": Input(1), "value": Input(2),
           "output": Result(), "logsumexp": Computed(_logsumexp),
           "attn_mask": Arg("attn_mask", _saved_mask), "dropout_p": Arg("dropout_p"),
           "is_causal": Arg("is_causal"), "scale": Arg("scale")},
    name="ScaledDotProductFlashAttentionForCpuBackward0",
    forward=_flash_forward,
    vjp=(_flash_q, _flash_k, _flash_v),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=_flash_sympy,
    kind="array",
    label="attention",
    doc="softmax(q kᵀ · scale + mask) v, in one fused node",
    category="linear algebra",
    arity=3,
    params=(Param("attn_mask", "Tensor", None), Param("dropout_p", "float", 0.0),
            Param("is_causal", "bool", False), Param("scale", "float?", None)),
    sample=lambda rng: ([samples.uniform(rng, (1, 2, 3, 2)), samples.uniform(rng, (1, 2, 4, 2)),
                         samples.uniform(rng, (1, 2, 4, 2))],
                        {"attn_mask": None, "dropout_p": 0.0, "is_causal": False, "scale": None}),
    torch=lambda torch, q, k, v, attn_mask, dropout_p, is_causal, scale:
        torch.nn.functional.scaled_dot_product_attention(
            q, k, v, None if attn_mask is None else torch.as_tensor(attn_mask), dropout_p, is_causal,
            scale=scale),
    overload="scaled_dot_product_attention on 4-d query, key and value with no dropout, a mask that "
             "needs no gradient, and equal batch sizes, heads (or enable_gqa) and head dims",
)
