"""``split``, ``chunk`` and ``unbind``: a tensor cut along a dim into views (and
``unsafe_split`` / ``unsafe_chunk``, into copies); ``tensor_split`` and its ``hsplit`` /
``vsplit`` / ``dsplit``, which torch composes from ``slice`` (each piece its own
SliceBackward0, saving the start and end it was given).

torch records one node for the call (SplitBackward0 for ``split(int)`` and ``chunk``,
SplitWithSizesBackward0 for ``split(list)``, UnbindBackward0), each output one of its
outputs. GradStudio's nodes have one output each, so every piece gets a node of its own,
of that name, saving what torch's saves (``_saved_dim``, ``_saved_split_size``…); its
gradient is the piece's gradient in place in zeros of the input's shape, and the
pieces' gradients add up at the input as torch's one node adds them. The pieces are
views of the input (``piece._base is input``), as in torch."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Sizes
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap_dim
from . import samples
from .indexing import SLICE, _select_backward, _select_forward, _slice_backward, _slice_forward
from .shape import _as_view
from .table import Op, Param, apply


def _bounds(sizes, index):
    start = sum(sizes[:index])
    return start, start + sizes[index]


def _piece(x, *, dim, index, sizes):
    start, stop = _bounds(sizes, index)
    return _slice_forward(x, dim=dim, start=start, stop=stop, step=1)


def _piece_vjp(g, r, x, *, dim, index, sizes):
    start, stop = _bounds(sizes, index)
    return _slice_backward(g, x.shape, dim, start, stop, 1)


def _sizes(length: int, split_size: int) -> tuple:
    """The pieces' lengths of ``split(split_size)`` on a dim of ``length``."""
    if split_size == 0:
        return (0,)
    return tuple(min(split_size, length - start) for start in range(0, length, split_size)) or (0,)


def _split_piece(x, *, dim, index, split_size):
    return _piece(x, dim=dim, index=index, sizes=_sizes(x.shape[dim], split_size))


def _split_piece_vjp(g, r, x, *, dim, index, split_size):
    return _piece_vjp(g, r, x, dim=dim, index=index, sizes=_sizes(x.shape[dim], split_size))


def _split_row(name: str, *, unsafe: bool) -> Op:
    """split(split_size)'s row; ``unsafe``: unsafe_split's, whose pieces are copies, not views
    (the recurrent layers' gates are cut with it)."""
    prefix = "unsafe_" if unsafe else ""
    return Op(
        id=f"splitting.{prefix.upper()}SPLIT",
        saved={"dim": Arg("dim"), "self_sym_sizes": Sizes(0), "split_size": Arg("split_size")},
        name=name,
        forward=(lambda x, **k: _split_piece(x, **k).copy()) if unsafe else _split_piece,
        vjp=(_split_piece_vjp,),
        sympy=_split_piece,
        kind="shape",
        label=f"{prefix}split",
        doc=f"one piece of {prefix}split(split_size) along a dim",
        category="shape",
        params=(Param("dim", "int"), Param("index", "int"), Param("split_size", "int")),
        sample=lambda rng: ([samples.uniform(rng, (3, 5))], {"dim": 1, "index": 1, "split_size": 2}),
        torch=lambda torch, x, dim, index, split_size: getattr(x, f"{prefix}split")(split_size, dim)[index],
    )


SPLIT = _split_row("SplitBackward0", unsafe=False)
UNSAFE_SPLIT = _split_row("UnsafeSplitBackward0", unsafe=True)
SPLIT_WITH_SIZES = Op(
    id="splitting.SPLIT_WITH_SIZES",
    saved={"dim": Arg("dim"), "self_sym_sizes": Sizes(0), "split_sizes": Arg("split_sizes")},
    name="SplitWithSizesBackward0",
    forward=lambda x, *, dim, index, split_sizes: _piece(x, dim=dim, index=index, sizes=split_sizes),
    vjp=(lambda g, r, x, *, dim, index, split_sizes: _piece_vjp(g, r, x, dim=dim, index=index,
                                                                 sizes=split_sizes),),
    sympy=lambda x, *, dim, index, split_sizes: _piece(x, dim=dim, index=index, sizes=split_sizes),
    kind="shape",
    label="split",
    doc="one piece of split([sizes]) along a dim",
    category="shape",
    params=(Param("dim", "int"), Param("index", "int"), Param("split_sizes", "int[]")),
    sample=lambda rng: ([samples.uniform(rng, (3, 5))], {"dim": 1, "index": 1, "split_sizes": (1, 3, 1)}),
    torch=lambda torch, x, dim, index, split_sizes: x.split(list(split_sizes), dim)[index],
)
UNBIND = Op(
    id="splitting.UNBIND",
    saved={"dim": Arg("dim")},
    name="UnbindBackward0",
    forward=_select_forward,
    vjp=(lambda g, r, x, *, dim, index: _select_backward(g, x.shape, dim, index),),
    sympy=lambda x, *, dim, index: _select_forward(x, dim=dim, index=index),
    kind="shape",
    label="unbind",
    doc="one slice of unbind along a dim",
    category="shape",
    params=(Param("dim", "int"), Param("index", "int")),
    sample=lambda rng: ([samples.uniform(rng, (3, 4))], {"dim": 1, "index": 2}),
    torch=lambda torch, x, dim, index: x.unbind(dim)[index],
)


def _pieces(input: Tensor, op: Op, params: dict, count: int) -> tuple:
    return tuple(_as_view(apply(op, (input,), {**params, "index": i}), input) for i in range(count))


def _dim_of(input: Tensor, dim: int) -> int:
    if input._data.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _wrap_dim(dim, input._data.ndim)


def _split_size(length: int, split_size) -> int:
    split_size = int(split_size)
    if split_size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={split_size}")
    if split_size == 0 and length != 0:
        raise RuntimeError("split_size can only be 0 if dimension size is 0, but got dimension size "
                           f"of {length}")
    return split_size


def _chunks(chunks: int) -> int:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    return chunks


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last one shorter), or of the given sizes."""
    d = _dim_of(tensor, dim)
    length = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = tuple(int(s) for s in split_size_or_sections)
        if sum(sizes) != length or any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {length} (input "
                               f"tensor's size at dimension {d}), but got split_sizes={list(sizes)}")
        return _pieces(tensor, SPLIT_WITH_SIZES, {"dim": d, "split_sizes": sizes}, len(sizes))
    split_size = _split_size(length, split_size_or_sections)
    return _pieces(tensor, SPLIT, {"dim": d, "split_size": split_size}, len(_sizes(length, split_size)))


def unsafe_split(tensor: Tensor, split_size: int, dim: int = 0) -> tuple:
    """split(split_size) whose pieces are new tensors (UnsafeSplitBackward0), not views."""
    d = _dim_of(tensor, dim)
    pieces = len(_sizes(tensor._data.shape[d], _split_size(tensor._data.shape[d], split_size)))
    return tuple(apply(UNSAFE_SPLIT, (tensor,), {"dim": d, "split_size": int(split_size), "index": i})
                 for i in range(pieces))


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """chunk's pieces as unsafe_split cuts them."""
    d = _dim_of(input, dim)
    length = input._data.shape[d]
    if length == 0:  # torch: `chunks` empty pieces
        return tuple(apply(UNSAFE_SPLIT, (input,), {"dim": d, "split_size": 0, "index": 0})
                     for _ in range(_chunks(chunks)))
    return unsafe_split(input, math.ceil(length / _chunks(chunks)), d)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of ceil(size / chunks) along ``dim`` (torch's split)."""
    _chunks(chunks)
    d = _dim_of(input, dim)
    length = input._data.shape[d]
    if length == 0:  # torch: `chunks` empty pieces
        return _pieces(input, SPLIT_WITH_SIZES, {"dim": d, "split_sizes": (0,) * chunks}, chunks)
    return split(input, math.ceil(length / chunks), d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that dim removed."""
    d = _dim_of(input, dim)
    return _pieces(input, UNBIND, {"dim": d}, input._data.shape[d])


def _tensor_split_dim(input: Tensor, dim: int) -> int:
    if input._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor "
                           "with 0 dims")
    return _wrap_dim(dim, input._data.ndim)


def _slices(input: Tensor, dim: int, bounds) -> tuple:
    """``input.slice(dim, start, end)`` for each (start, end) as given (torch's slice wraps
    and clamps them; the node saves them unwrapped)."""
    return tuple(_as_view(apply(SLICE, (input,), {"dim": dim, "start": start, "stop": end, "step": 1}),
                          input) for start, end in bounds)


def _section_bounds(length: int, sections: int) -> list:
    if sections <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
    size, extra = divmod(length, sections)
    bounds, start = [], 0
    for index in range(sections):
        stop = start + size + (index < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def _index_bounds(length: int, indices) -> list:
    starts = [0, *indices]
    return list(zip(starts, [*indices, length]))


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """``sections`` pieces as even as can be (the first ones one longer), or the pieces
    between the given indices, along ``dim``; a tensor gives either (0-d: sections)."""
    d = _tensor_split_dim(input, dim)
    length = input._data.shape[d]
    if isinstance(indices_or_sections, Tensor):
        split = indices_or_sections._data
        if split.dtype != np.int64:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype of long, "
                               f"but got {scalar_type_name(split.dtype)}")
        if split.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional "
                               f"or one-dimensional tensor, but got a tensor with {split.ndim} dims")
        indices_or_sections = int(split) if split.ndim == 0 else [int(i) for i in split]
    if isinstance(indices_or_sections, (list, tuple)):
        return _slices(input, d, _index_bounds(length, [int(i) for i in indices_or_sections]))
    return _slices(input, d, _section_bounds(length, int(indices_or_sections)))


def _directional_split(name: str, dim: int, least: int):
    """hsplit / vsplit / dsplit: tensor_split along one dim (hsplit: 0 of a vector), a number
    of sections that must divide it, or indices."""
    def directional_split(input: Tensor, indices_or_sections) -> tuple:
        ndim = input._data.ndim
        if ndim < least:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {least} dimension, but got "
                               f"a tensor with {ndim} dimensions!")
        d = 0 if name == "hsplit" and ndim == 1 else dim
        if not isinstance(indices_or_sections, (list, tuple)):
            sections = int(indices_or_sections)
            if sections == 0 or input._data.shape[d] % sections:
                raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but the size of "
                                   f"the dimension {input._data.shape[d]} is not divisible by the "
                                   f"split_size {sections}!")
        return tensor_split(input, indices_or_sections, d)
    directional_split.__name__ = directional_split.__qualname__ = name
    return directional_split


hsplit = _directional_split("hsplit", 1, 1)
vsplit = _directional_split("vsplit", 0, 2)
dsplit = _directional_split("dsplit", 2, 3)
