"""``atleast_1d`` / ``atleast_2d`` / ``atleast_3d`` and the stacks built on them —
``hstack``, ``vstack`` / ``row_stack``, ``dstack``, ``column_stack`` — composed as ATen
composes them, so the nodes are torch's: a 0-d tensor is reshaped (ViewBackward0), a
vector unsqueezed (UnsqueezeBackward0, twice for 3-d), a tensor with dims enough is
returned as it is; the stacks are one CatBackward0 over those."""
from __future__ import annotations

from ..tensor import Tensor
from .shape import cat


def _each(pad, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return pad(tensors[0])
    if len(tensors) == 1:
        tensors = tuple(tensors[0])
    return tuple(pad(t) for t in tensors)


def _1d(t):
    return t.reshape(1) if t.dim() == 0 else t


def _2d(t):
    return {0: lambda: t.reshape(1, 1), 1: lambda: t.unsqueeze(0)}.get(t.dim(), lambda: t)()


def _3d(t):
    return {0: lambda: t.reshape(1, 1, 1), 1: lambda: t.unsqueeze(0).unsqueeze(-1),
            2: lambda: t.unsqueeze(-1)}.get(t.dim(), lambda: t)()


def atleast_1d(*tensors):
    return _each(_1d, tensors)


def atleast_2d(*tensors):
    return _each(_2d, tensors)


def atleast_3d(*tensors):
    return _each(_3d, tensors)


def _nonempty(name: str, tensors) -> list:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def hstack(tensors, *, out=None):
    tensors = [_1d(t) for t in _nonempty("hstack", tensors)]
    return cat(tensors, 0 if tensors[0].dim() == 1 else 1)


def vstack(tensors, *, out=None):
    return cat([_2d(t) for t in _nonempty("vstack", tensors)], 0)


row_stack = vstack


def dstack(tensors, *, out=None):
    return cat([_3d(t) for t in _nonempty("dstack", tensors)], 2)


def column_stack(tensors, *, out=None):
    tensors = _nonempty("column_stack", tensors)
    return hstack([t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in tensors])
