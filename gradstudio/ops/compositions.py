"""Functions torch builds from other ops, built here from the same ones so their nodes
are torch's: ``diff`` (slices subtracted: SubBackward0 ← SliceBackward0 ×2),
``broadcast_tensors`` (ExpandBackward0 views; a tensor already of the shape is returned
as it is) and ``broadcast_shapes``, and ``nn.functional.cosine_similarity``
(Σ (x₁/‖x₁‖)·(x₂/‖x₂‖) along ``dim``: SumBackward1 ← MulBackward0 ← DivBackward0, each
norm clamped below at ``eps``; the nodes under the divisions are ours)."""
from __future__ import annotations

from ..tensor import Size, Tensor, _wrap_dim


def broadcast_shapes(*shapes) -> Size:
    """The shape the given shapes broadcast to, as a ``torch.Size``; torch's error names
    the first shape that does not fit the ones before it."""
    result: list = []
    for index, shape in enumerate(shapes):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) > len(result):
            result = [1] * (len(shape) - len(result)) + result
        for back in range(1, len(shape) + 1):
            size, have = shape[-back], result[-back]
            if size != have and size != 1 and have != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {size} at -{back}! "
                                   f"Mismatching argument at index {index} had {shape}; but expected "
                                   f"shape should be broadcastable to {result}")
            if have == 1:
                result[-back] = size
    return Size(tuple(result))


def broadcast_tensors(*tensors) -> tuple:
    """Each tensor expanded to the shape they broadcast to."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if tuple(t.shape) == tuple(shape) else t.expand(*shape) for t in tensors)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The n-th forward difference along ``dim`` (``x[1:] − x[:-1]``, n times), after
    ``prepend`` and ``append`` are joined on."""
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wrap_dim(dim, input.dim())
    if prepend is not None or append is not None:
        from .shape import cat
        parts = [p for p in (prepend, input, append) if p is not None]
        input = cat(parts, d)
    for _ in range(n):
        length = input.shape[d]
        input = input.narrow(d, 1, max(length - 1, 0)) - input.narrow(d, 0, max(length - 1, 0))
    return input


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcast first)."""
    x1, x2 = broadcast_tensors(x1, x2)
    d = _wrap_dim(dim, x1.dim())
    norm1 = x1.norm(dim=d, keepdim=True).clamp_min(eps)
    norm2 = x2.norm(dim=d, keepdim=True).clamp_min(eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(d)
