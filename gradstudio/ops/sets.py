"""Counting and set functions, none of them differentiable: ``unique``,
``unique_consecutive``, ``bincount``, ``isin``, ``argwhere`` — torch's results, dtypes
(indices and counts int64) and errors, computed with numpy."""
from __future__ import annotations

import numpy as np

from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap_dim

_make = Tensor._make


def _as_array(value):
    return value._data if isinstance(value, Tensor) else np.asarray(value)


def _results(values, inverse, counts, return_inverse: bool, return_counts: bool):
    out = (_make(values),)
    if return_inverse:
        out += (_make(inverse.astype(np.int64)),)
    if return_counts:
        out += (_make(counts.astype(np.int64)),)
    return out[0] if len(out) == 1 else out


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values, sorted (torch sorts on the CPU even with ``sorted=False``); each
    NaN is distinct, as in torch. With ``dim``, the distinct slices along it."""
    x = input._data
    if dim is None:
        flat = x.reshape(-1)
        values, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True,
                                            equal_nan=False)
        return _results(values, inverse.reshape(x.shape), counts, return_inverse, return_counts)
    axis = _wrap_dim(dim, x.ndim)
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True, axis=axis)
    return _results(values, inverse.reshape(-1), counts, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """One value from each run of equal ones, in order (``[1, 1, 2, 1]`` → ``[1, 2, 1]``)."""
    x = input._data
    if dim is None:
        flat = x.reshape(-1)
        starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]]) if flat.size else np.zeros(0, np.int64)
        values = flat[starts]
        shape = x.shape
    else:
        axis = _wrap_dim(dim, x.ndim)
        moved = np.moveaxis(x, axis, 0)
        change = (moved[1:] != moved[:-1]).reshape(len(moved) - 1, -1).any(axis=1) if len(moved) else []
        starts = np.flatnonzero(np.r_[True, change]) if len(moved) else np.zeros(0, np.int64)
        values = np.moveaxis(moved[starts], 0, axis)
        shape = (x.shape[axis],)
    length = x.size if dim is None else x.shape[axis]
    counts = np.diff(np.r_[starts, length])
    inverse = np.repeat(np.arange(len(starts)), counts).reshape(shape)
    return _results(values, inverse, counts, return_inverse, return_counts)


def bincount(input, weights=None, minlength=0):
    """How often each of 0, 1, … occurs in a 1-d tensor of non-negative integers, or the
    sum of its ``weights`` (float32 weights stay float32; any others give float64)."""
    x = input._data
    if x.dtype.kind not in "iu":
        raise NotImplementedError(f'"bincount_cpu" not implemented for \'{scalar_type_name(x.dtype)}\'')
    if x.ndim != 1 or (x.size and x.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _make(np.bincount(x, minlength=minlength).astype(np.int64))
    w = _as_array(weights)
    if w.ndim != 1 or w.shape[0] != x.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dtype = np.float32 if w.dtype == np.float32 else np.float64
    return _make(np.bincount(x, weights=w.astype(np.float64), minlength=minlength).astype(dtype))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each of ``elements`` occurs in ``test_elements`` (either may be a number)."""
    return _make(np.asarray(np.isin(_as_array(elements), _as_array(test_elements),
                                    assume_unique=assume_unique, invert=invert)))


def argwhere(input):
    """The indices of the non-zero elements, one row each (``nonzero()``; a 0-d input gives
    a (1, 0) or (0, 0) result, as in torch)."""
    return _make(np.argwhere(input._data).astype(np.int64))
