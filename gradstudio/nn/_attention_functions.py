"""``torch.nn.functional.scaled_dot_product_attention`` as torch 2.13 runs it on CPU
(:mod:`gradstudio.nn.functional` re-exports it): torch's input checks and errors, the
choice between the fused CPU kernel (one ScaledDotProductFlashAttentionForCpuBackward0
node, :mod:`gradstudio.ops.attention`) and ATen's ``_scaled_dot_product_attention_math``
composed node for node, and torch's answer for empty inputs.

The fused kernel is taken when ATen's CPU gates all hold: no dropout, 4-d query, key and
value with one batch size, the same head count (or, with ``enable_gqa``, key and value
heads alike and dividing the query's), one head dim, a 2-d or 4-d mask that needs no
gradient and broadcasts without expanding the sequence dims' own sizes, non-empty
sequences, a contiguous last dim and a floating dtype. Otherwise the math path.
"""
from __future__ import annotations

import math

import numpy as np

from ..dtypes import type_meta_name
from ..ops import attention as _rows
from ..ops.nn_functions import MUL_SCALAR
from ..ops.table import apply
from ..tensor import make

_FUSED_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _check_inputs(query, key, value, attn_mask):
    """validate_sdpa_input, in its order."""
    q, k, v = (type_meta_name(t._data.dtype) for t in (query, key, value))
    if not (q == k == v):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{q} key.dtype: {k} and value.dtype: {v} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    mask = None if attn_mask is None else attn_mask._data.dtype.name
    if mask is not None and mask not in ("bool", "float32", query._data.dtype.name):
        raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {type_meta_name(mask)} and  query.dtype: {q} instead.")


def _check_gqa_heads(query, key, value):
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hq % hk or hq % hv:
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")


def _mask_fits_kernel(mask, query, key):
    """check_attn_mask_shape: (L or 1, S or 1) last dims; 2-d, or 4-d with batch and heads
    1 or the query's. A mask that needs a gradient goes to the math path."""
    if mask is None:
        return True
    if mask.requires_grad:
        return False
    if mask.dim() < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
    if mask.shape[-2] not in (query.shape[2], 1) or mask.shape[-1] not in (key.shape[2], 1):
        return False
    if mask.dim() == 2:
        return True
    return mask.dim() == 4 and mask.shape[0] in (1, query.shape[0]) and mask.shape[1] in (1, query.shape[1])


def _takes_fused_kernel(query, key, value, attn_mask, dropout_p, enable_gqa) -> bool:
    """use_flash_attention_cpp's gates, in its order."""
    if dropout_p > 0.0:
        return False
    if not (query.dim() == key.dim() == value.dim() == 4):
        return False
    if not (query.shape[0] == key.shape[0] == value.shape[0]):
        return False
    hq, hk, hv = query.shape[1], key.shape[1], value.shape[1]
    if enable_gqa:
        _check_gqa_heads(query, key, value)
        if hk != hv:
            return False
    elif not (hq == hk == hv):
        return False
    if not _mask_fits_kernel(attn_mask, query, key):
        return False
    if not (query.shape[-1] == key.shape[-1] == value.shape[-1]):
        return False
    if 0 in (query.shape[2], key.shape[2]):
        return False
    if any(t.shape[-1] > 1 and t.stride()[-1] != 1 for t in (query, key, value)):
        return False
    return query._data.dtype.name in _FUSED_DTYPES


def _additive(mask, dtype):
    """convert_boolean_attn_mask: a bool mask (True = attend) as 0 / -inf in the query's
    dtype; a float mask as it is."""
    if mask is None or mask._data.dtype != np.bool_:
        return mask
    return make(np.where(mask._data, 0.0, -np.inf).astype(dtype, copy=False))


def _math(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    """ATen's _scaled_dot_product_attention_math: q and k each scaled by √scale (a
    negative scale's sign on q), ``matmul``, the mask added, safe softmax, dropout,
    ``matmul`` with v."""
    from . import functional as F
    negative = scale is not None and scale < 0
    root = math.sqrt(_rows._scale_of(query.shape, abs(scale) if negative else scale))
    q = apply(MUL_SCALAR, (query,), {"other": 0.0 - root if negative else root})
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                               "is_causal=True")
        L, S = q.shape[-2], key.shape[-2]
        attn_mask = make(np.where(np.tril(np.ones((L, S), dtype=bool)), 0.0, -np.inf)
                         .astype(query._data.dtype, copy=False))
    if enable_gqa:
        _check_gqa_heads(query, key, value)
        hq = query.shape[-3]
        if not (hq == key.shape[-3] == value.shape[-3]):
            key = key.repeat_interleave(hq // key.shape[-3], -3)
            value = value.repeat_interleave(hq // value.shape[-3], -3)
    attn = q.matmul(apply(MUL_SCALAR, (key.transpose(-2, -1),), {"other": root}))
    if attn_mask is not None:
        attn = attn + attn_mask
    attn = _rows._safe_softmax(attn, -1)
    if dropout_p > 0.0:
        attn = F.dropout(attn, dropout_p, True)
    return attn.matmul(value)


def _empty(query, key, value):
    """What torch returns when any of query, key and value has no elements: zeros of the
    output's shape, tied to the inputs by ``(q.sum() + k.sum() + v.sum()) · 0``."""
    from ..ops.creation import zeros
    tie = apply(MUL_SCALAR, ((query.sum() + key.sum()) + value.sum(),), {"other": 0})
    return zeros(*query.shape[:-1], value.shape[-1], dtype=query.dtype) + tie


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, enable_gqa: bool = False):
    """``softmax(q kᵀ · scale + mask) v`` (scale defaults to 1/√E), with dropout on the
    attention weights; torch's path on CPU (see the module docstring)."""
    _check_inputs(query, key, value, attn_mask)
    if 0 in (query.numel(), key.numel(), value.numel()):
        return _empty(query, key, value)
    fused = _takes_fused_kernel(query, key, value, attn_mask, dropout_p, enable_gqa)
    attn_mask = _additive(attn_mask, query._data.dtype)
    if not fused:
        return _math(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    if dropout_p != 0.0:
        raise RuntimeError("scaled_dot_product_attention_flash_attention: Currently do not support dropout > 0")
    mask = None if attn_mask is None else attn_mask._data
    return apply(_rows.FLASH_ATTENTION_CPU, (query, key, value),
                 {"attn_mask": mask, "dropout_p": 0.0, "is_causal": bool(is_causal), "scale": scale})
