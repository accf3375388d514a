"""Where values fall among boundaries: ``searchsorted``, ``bucketize`` and ``histc``.
None of them has a gradient (torch's results never require grad), so they are plain
functions, not rows.

The binary search is torch's, with its comparisons: the left side moves on while
``!(boundary >= value)``, the right side while ``!(boundary > value)``, so a NaN value
lands after every boundary, as in torch (numpy's searchsorted orders NaN otherwise).
histc counts into ``bins`` equal bins between min and max (the data's own when they are
equal, widened by 1 each way when those are equal too), the right edge in the last bin,
values outside left out, as torch's linear-interpolation histogram kernel does."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor

_make = Tensor._make


def _binary_search(boundaries: np.ndarray, values: np.ndarray, right: bool) -> np.ndarray:
    """Per row (last dim of ``boundaries``, one row per leading index of ``values``)."""
    n = boundaries.shape[-1]
    start = np.zeros(values.shape, np.int64)
    end = np.full(values.shape, n, np.int64)
    for _ in range(max(n, 1).bit_length() + 1):
        open_ = start < end
        middle = start + ((end - start) >> 1)
        at = np.take_along_axis(boundaries, np.minimum(middle, n - 1), axis=-1) if n else values
        on = ~(at > values) if right else ~(at >= values)
        start = np.where(open_ & on, middle + 1, start)
        end = np.where(open_ & ~on, middle, end)
    return start


def _as_values(input) -> np.ndarray:
    return input._data if isinstance(input, Tensor) else np.asarray(input)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each value, the index where it would go in ``sorted_sequence`` (its last dim)."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of "
                               "left while right was True")
        right = side == "right"
    boundaries = sorted_sequence._data
    if sorter is not None:
        boundaries = np.take_along_axis(boundaries, sorter._data, axis=-1)
    values = _as_values(input)
    if boundaries.ndim > 1 and (values.ndim != boundaries.ndim or values.shape[:-1] != boundaries.shape[:-1]):
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(boundaries.shape)} and input value tensor {list(values.shape)}")
    if boundaries.ndim <= 1:
        rows = np.broadcast_to(boundaries.reshape(1, -1), (max(values.size, 1), boundaries.size))
        found = _binary_search(rows, values.reshape(-1, 1), right).reshape(values.shape)
    else:
        found = _binary_search(boundaries, values, right)
    return _make(found.astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """For each value, the index of its bucket among the 1-d ``boundaries``."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts of the elements in ``bins`` equal bins between ``min`` and ``max``."""
    x = input._data
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_dt.scalar_type_name(x.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    low, high = float(min), float(max)
    if low == high and x.size:
        low, high = float(x.min()), float(x.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (np.isfinite(low) and np.isfinite(high)):
        raise RuntimeError(f"torch.histc: range of [{low}, {high}] is not finite")
    if high < low:
        raise RuntimeError("torch.histc: max must be larger than min")
    flat = x.reshape(-1)
    inside = flat[(flat >= low) & (flat <= high)]
    position = ((inside - low) / (high - low) * bins).astype(np.int64)
    position[position == bins] = bins - 1
    counts = np.bincount(position, minlength=bins).astype(x.dtype)
    return _make(counts)
