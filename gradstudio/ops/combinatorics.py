"""``cartesian_prod`` and ``combinations``: tuples of a vector's elements, composed as
torch composes them — a grid of the inputs (``meshgrid``: ViewBackward0 and
ExpandBackward0 per input), each grid flattened (cartesian_prod: CloneBackward0 and
UnsafeViewBackward0) or masked to the increasing index tuples (combinations:
MaskedSelectBackward0), the columns stacked (StackBackward0)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .creation import empty
from .rearranging import masked_select
from .shape import meshgrid, stack


def _vector(t: Tensor) -> None:
    if t._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every tuple with one element of each vector, in order, as the rows of a matrix (one
    vector: that vector itself)."""
    for t in tensors:
        _vector(t)
    if len(tensors) == 1:
        return tensors[0]
    return stack([grid.flatten() for grid in meshgrid(*tensors, indexing="ij")], 1)


def _increasing(n: int, r: int, with_replacement: bool) -> np.ndarray:
    """The (n,)*r mask of index tuples i < j < … (or i ≤ j ≤ …): torch's _triu_mask."""
    grids = np.meshgrid(*[np.arange(n)] * r, indexing="ij")
    mask = np.ones((n,) * r, dtype=bool)
    for a, b in zip(grids, grids[1:]):
        mask &= (a <= b) if with_replacement else (a < b)
    return mask


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a vector's elements (with repeats: with
    replacement), one per row, in lexicographic order of their positions."""
    _vector(input)
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return empty(0, dtype=input.dtype)
    mask = Tensor._make(_increasing(input._data.shape[0], r, with_replacement))
    return stack([masked_select(grid, mask) for grid in meshgrid(*[input] * r, indexing="ij")], 1)
