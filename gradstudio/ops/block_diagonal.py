"""``block_diag``: matrices (a 0-d tensor a 1×1 block, a vector one row) along the
diagonal of one matrix, zeros elsewhere — one row, BlockDiagBackward0, whose gradient
of each input is its block of the incoming gradient (a vector's: that row, flat)."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import samples
from .creation import zeros
from .table import Op, apply


def _as_block(x):
    return x.reshape(1, -1) if x.ndim < 2 else x


def _block_shape(shape) -> tuple:
    return (1, int(np.prod(shape, dtype=np.int64))) if len(shape) < 2 else tuple(shape)


def _corners(xs, i):
    """Where input ``i``'s block starts, and its shape."""
    blocks = [_block_shape(tuple(x.shape)) for x in xs]
    return sum(b[0] for b in blocks[:i]), sum(b[1] for b in blocks[:i]), blocks[i]


def _block_diag(*xs):
    blocks = [_as_block(x) for x in xs]
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)), dtype=blocks[0].dtype)
    row = col = 0
    for b in blocks:
        out[row:row + b.shape[0], col:col + b.shape[1]] = b
        row, col = row + b.shape[0], col + b.shape[1]
    return out


def _block_vjp(i, g, r, *xs):
    row, col, (rows, cols) = _corners(xs, i)
    return g[row:row + rows, col:col + cols].reshape(xs[i].shape)


BLOCK_DIAG = Op(
    id="block_diagonal.BLOCK_DIAG",
    saved={},
    name="BlockDiagBackward0",
    forward=_block_diag,
    vjp=_block_vjp,
    sympy=_block_diag,
    kind="shape",
    label="block_diag",
    doc="matrices along the diagonal of one matrix",
    category="linear algebra",
    arity=-1,
    sample=lambda rng: ([samples.uniform(rng, (2, 2)), samples.uniform(rng, (3,)),
                         samples.uniform(rng, (1, 2))], {}),
    torch=lambda torch, *xs: torch.block_diag(*xs),
)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors as blocks along the diagonal, in order, of one matrix of their dtype."""
    if not tensors:
        return zeros(1, 0)
    for i, t in enumerate(tensors):
        if t._data.ndim > 2:
            raise RuntimeError("torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                               f"{i} has {t._data.ndim} dimensions")
    target = _dt.result_type(*tensors)
    tensors = tuple(t if t.dtype == target else t.to(target) for t in tensors)
    return apply(BLOCK_DIAG, tensors, {})
