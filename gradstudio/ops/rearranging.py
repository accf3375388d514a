"""``roll``, ``tile``, ``repeat_interleave`` and ``masked_select``: elements moved,
repeated or picked out.

``roll`` is a row (RollBackward0: the gradient rolls back). So is ``masked_select``
(MaskedSelectBackward0): the mask is a parameter of the row, as an index array is of
IndexBackward0's (torch does not differentiate it), so the result's length follows from
the input's shape and the row's params; the two are broadcast inside the node, as in
torch, and the gradient is the result's gradient put back where the mask is true. ``tile`` and
``repeat_interleave`` are compositions, built from the ops torch builds them from, so
their nodes are torch's: ``tile`` is ``repeat`` with the repeats padded with ones in
front (RepeatBackward0); ``repeat_interleave`` by a number is unsqueeze, expand, clone
and view (ViewBackward0 ← CloneBackward0 ← ExpandBackward0 …), by a tensor of counts it
is ``index_select`` (IndexSelectBackward0)."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Input, SavedArg, as_tensor
from ..tensor import Tensor, _wrap_dim
from . import samples
from .table import SAVES_INDICES, SAVES_INPUTS, Op, Param, apply

_make = Tensor._make


def _roll(x, *, shifts, dims):
    return np.roll(x, shifts, axis=dims if dims else None)


ROLL = Op(
    id="rearranging.ROLL",
    saved={"shifts": Arg("shifts"), "dims": Arg("dims")},
    name="RollBackward0",
    forward=_roll,
    vjp=(lambda g, r, x, *, shifts, dims: apply(ROLL, (g,), {"shifts": tuple(-s for s in shifts),
                                                              "dims": dims}),),
    sympy=lambda x, *, shifts, dims: _roll(x, shifts=shifts, dims=dims),
    kind="shape",
    label="roll",
    doc="elements shifted along dims, wrapping around",
    category="shape",
    params=(Param("shifts", "int[]"), Param("dims", "int[]")),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"shifts": (1, -2), "dims": (0, 1)}),
    torch=lambda torch, x, shifts, dims: torch.roll(x, shifts, dims),
)


def _ints(values) -> tuple:
    return (int(values),) if isinstance(values, (int, np.integer)) else tuple(int(v) for v in values)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Elements shifted by ``shifts`` along ``dims`` (none: the flattened tensor), wrapping."""
    shifts = _ints(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return apply(ROLL, (input,), {"shifts": shifts, "dims": ()})  # the flattened elements
    dims = _ints(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    dims = tuple(_wrap_dim(d, input._data.ndim) for d in dims)
    return apply(ROLL, (input,), {"shifts": shifts, "dims": dims})


def _broadcast_mask(x, mask):
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return np.broadcast_to(x, shape), np.broadcast_to(mask, shape)


def _masked_select(x, *, mask):
    x, mask = _broadcast_mask(x, mask)
    return x[mask]


def _masked_select_vjp(g, r, x, *, mask):
    from .indexing import INDEX_PUT_ZEROS
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return apply(INDEX_PUT_ZEROS, (g,), {"shape": shape, "key": (np.broadcast_to(mask, shape),)})


MASKED_SELECT = Op(
    id="rearranging.MASKED_SELECT",
    saved={"mask": SavedArg("mask", as_tensor), "self": Input(0)},
    name="MaskedSelectBackward0",
    forward=_masked_select,
    vjp=(_masked_select_vjp,),
    saves=SAVES_INPUTS | SAVES_INDICES,
    sympy=lambda x, *, mask: _masked_select(np.asarray(x, dtype=object), mask=mask),
    kind="shape",
    label="masked_select",
    doc="the elements where a mask (broadcast with the input) is true, in order",
    category="indexing",
    params=(Param("mask", "Tensor"),),
    sample=lambda rng: ([samples.uniform(rng, (3, 4))], {"mask": np.array([True, False, True, True])}),
    torch=lambda torch, x, mask: torch.masked_select(x, torch.from_numpy(mask)),
)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast with it) is true, in order."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    from .linalg import _broadcast
    _broadcast(mask._data.shape, input._data.shape)  # torch names the mask a, the input b
    return apply(MASKED_SELECT, (input,), {"mask": mask._data})


def tile(input: Tensor, *dims) -> Tensor:
    """``input.repeat(*dims)`` with ``dims`` (a tuple, or the numbers themselves) padded
    with ones in front to the input's dims."""
    dims = _ints(dims[0] if len(dims) == 1 else dims)
    return input.repeat(*((1,) * (input._data.ndim - len(dims)) + dims))


def repeat_interleave(input: Tensor, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place; without
    ``input``'s values (``repeat_interleave(counts)``), the indices 0, 0, 1, … themselves."""
    if repeats is None:  # repeat_interleave(counts)
        counts = input._data
        return _make(np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts))
    if isinstance(repeats, Tensor) and repeats._data.ndim > 0:
        source = input.flatten() if dim is None else input
        d = 0 if dim is None else _wrap_dim(dim, input._data.ndim)
        counts = repeats._data
        if counts.shape[0] not in (1, source._data.shape[d]):
            raise RuntimeError("repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.shape[0]} and input.size({d}) = "
                               f"{source._data.shape[d]}")
        if counts.shape[0] == 1:
            counts = np.full(source._data.shape[d], counts[0])
        index = np.repeat(np.arange(source._data.shape[d], dtype=np.int64), counts)
        return source.index_select(d, _make(index))
    times = int(repeats.item() if isinstance(repeats, Tensor) else repeats)
    if times < 0:
        raise RuntimeError("Repeats must be non-negative")
    source = input.flatten() if dim is None else input
    d = 0 if dim is None else _wrap_dim(dim, input._data.ndim)
    shape = list(source.shape)
    expanded = source.unsqueeze(d + 1).expand(*shape[:d + 1], times, *shape[d + 1:]).clone()
    shape[d] *= times
    return expanded.view(*shape)
