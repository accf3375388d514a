"""Tensor creation: ``tensor``, ``ones``, ``arange``, ``eye``, ``*_like`` …

Dtype inference follows torch: Python floats give the default dtype
(float32), Python ints int64, bools bool; numpy arrays keep their dtype.
Random draws (``rand``, ``randn`` …) are in :mod:`gradstudio.ops.random`.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd import errors as _err
from ..tensor import Tensor

def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError(_err.ONLY_FLOAT_REQUIRES_GRAD)
    return Tensor._make(array, bool(requires_grad))


def _infer_array(data) -> np.ndarray:
    """Python data → numpy array with torch's dtype inference."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    if isinstance(data, bool):
        return np.asarray(data, dtype=np.bool_)
    if isinstance(data, numbers.Integral):
        return np.asarray(data, dtype=np.int64)
    if isinstance(data, numbers.Real):
        return np.asarray(data, dtype=_dt.get_default_dtype().np)
    if isinstance(data, (list, tuple)):
        _check_rectangular(data)
        kinds = set()
        _collect_kinds(data, kinds)
        # torch: each item's own type (Python float: the default dtype, int: int64; numpy
        # scalars and tensors: theirs), combined with promote_types
        dtype = None
        for d in kinds:
            if dtype is None or d._category > dtype._category:
                dtype = d
            elif d._category == dtype._category:
                dtype = _dt._promote_same_category(dtype, d)
        return np.array(_unwrap(data), dtype=(dtype or _dt.get_default_dtype()).np)
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _collect_kinds(data, kinds: set):
    for item in data:
        if isinstance(item, (list, tuple)):
            _collect_kinds(item, kinds)
        elif isinstance(item, Tensor):
            kinds.add(_dt.from_numpy_dtype(item._data.dtype))
            if item._requires_grad:
                from ..autograd.errors import GRAD_TENSOR_TO_SCALAR, warn_once
                warn_once(GRAD_TENSOR_TO_SCALAR)
        elif isinstance(item, np.generic):
            kinds.add(_dt.from_numpy_dtype(item.dtype))
        elif isinstance(item, bool):
            kinds.add(_dt.bool_)
        elif isinstance(item, numbers.Integral):
            kinds.add(_dt.int64)
        elif isinstance(item, numbers.Real):
            kinds.add(_dt.get_default_dtype())
        else:
            raise TypeError(f"new(): invalid data type '{type(item).__name__}'")


def _unwrap(data):
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    if isinstance(data, Tensor):
        if data._data.ndim:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data._data.item()
    return data


def _check_rectangular(data, depth=0):
    if not data or not isinstance(data[0], (list, tuple)):
        for item in data:
            if isinstance(item, (list, tuple)):
                raise ValueError(f"expected sequence of length {len(data[0]) if isinstance(data[0], (list, tuple)) else 0} at dim {depth} (got {len(item)})")
        return
    length = len(data[0])
    for item in data:
        if not isinstance(item, (list, tuple)):
            raise TypeError(f"not a sequence")
        if len(item) != length:
            raise ValueError(f"expected sequence of length {length} at dim {depth + 1} (got {len(item)})")
        _check_rectangular(item, depth + 1)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data``."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    if dtype is not None and not isinstance(data, (Tensor, np.ndarray, np.generic)):
        # Python numbers straight into the asked dtype: tensor(1.7, dtype=float64) is 1.7,
        # not 1.7 rounded through the default float32 first
        _infer_array(data)  # the same checks (rectangular, numbers only) and errors
        array = np.array(_unwrap(data) if isinstance(data, (list, tuple)) else data,
                         dtype=_dt.to_dtype(dtype).np)
    else:
        array = np.array(_infer_array(data), copy=True)
        if dtype is not None:
            array = array.astype(_dt.to_dtype(dtype).np, copy=False)
    return _finish(array, requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    array = _infer_array(data) if not isinstance(data, np.ndarray) else data
    if dtype is not None:
        array = array.astype(_dt.to_dtype(dtype).np, copy=False)
    _dt.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


asarray = as_tensor


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes show through both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dt.from_numpy_dtype(array.dtype)
    return Tensor._make(array)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = tuple(int(s) for s in size)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


def _dtype_np(dtype, default=None):
    if dtype is None:
        return (default or _dt.get_default_dtype()).np
    return _dt.to_dtype(dtype).np


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(np.zeros(_size(size), dtype=_dtype_np(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    array = np.empty(_size(size), dtype=_dtype_np(dtype))
    array.fill(1)  # twice as fast as np.ones for small shapes
    return _finish(array, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None):
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        inferred = _infer_array(fill_value)
        dtype = _dt.from_numpy_dtype(inferred.dtype)
    return _finish(np.full(_size((size,)), fill_value, dtype=_dtype_np(dtype)), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, n if m is None else m, dtype=_dtype_np(dtype)), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = values
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and start > end) or (step < 0 and start < end):
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    floating = any(isinstance(v, float) for v in values)
    if dtype is None:
        dtype = _dt.get_default_dtype() if floating else _dt.int64
    count = max(0, math.ceil((end - start) / step))
    array = (start + step * np.arange(count, dtype=np.float64 if floating else np.int64))
    return _finish(array.astype(_dtype_np(dtype)), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """torch's kernel: ``start + step·i`` for the lower half and ``end − step·(steps−1−i)``
    for the upper half, each one fused multiply-add in the output dtype (emulated in a
    wider float: exact for float32, nearly always for float64)."""
    np_dtype = _dtype_np(dtype)
    steps = int(steps)
    if np_dtype.kind != "f" or steps < 2:
        return _finish(np.linspace(start, end, steps).astype(np_dtype), requires_grad)
    s, e = np_dtype.type(start), np_dtype.type(end)
    step = (e - s) / np_dtype.type(steps - 1)
    wide = np.float64 if np_dtype.itemsize < 8 else np.longdouble
    i = np.arange(steps)
    half = steps // 2
    values = np.empty(steps, dtype=np_dtype)
    values[:half] = wide(s) + wide(step) * i[:half].astype(wide)
    values[half:] = wide(e) - wide(step) * (steps - 1 - i[half:]).astype(wide)
    return _finish(values, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    return _finish(np.logspace(start, end, int(steps), base=base).astype(_dtype_np(dtype)),
                   requires_grad)


def _like(maker):
    def like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, **kwargs):
        dt = dtype if dtype is not None else _dt.from_numpy_dtype(input._data.dtype)
        return maker(input._data.shape, dtype=dt, requires_grad=requires_grad, **kwargs)
    like.__name__ = maker.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    dt = dtype if dtype is not None else _dt.from_numpy_dtype(input._data.dtype)
    return full(input._data.shape, fill_value, dtype=dt, requires_grad=requires_grad)
