"""Shape rules for op rows: ``rule(*input_shapes, **params) -> output shape``.

The node editor checks every link with a row's rule before anything runs, so a
rule raises :class:`ShapeError` with a message naming the shapes involved
(``(3, 2) @ (3, 2): inner sizes 2 and 3 differ``). An input that is a Python
number has shape ``()``. Rows whose output shape follows numpy's own checks
(reductions over ``dim``, reshapes, indexing) use :func:`by_forward`, which
runs the row's numpy forward on zero-stride arrays (no memory per element) and
reports numpy's complaint together with the shapes.
"""
from __future__ import annotations

import numpy as np


class ShapeError(ValueError):
    """Input shapes an op cannot take; the message names them."""


def _text(shape) -> str:
    return str(tuple(shape))


def same(x, **params) -> tuple:
    """Elementwise with one input: the output has the input's shape."""
    return tuple(x)


def broadcast(*shapes, **params) -> tuple:
    """numpy/torch broadcasting of every input shape."""
    out: list = []
    for shape in shapes:
        shape = tuple(shape)
        width = max(len(out), len(shape))
        a = [1] * (width - len(out)) + out
        b = (1,) * (width - len(shape)) + shape
        merged = []
        for dim, (x, y) in enumerate(zip(a, b)):
            if x != y and x != 1 and y != 1:
                raise ShapeError(f"{_text(a)} and {_text(shape)} do not broadcast: "
                                 f"sizes {x} and {y} differ at dimension {dim}")
            merged.append(y if x == 1 else x)
        out = merged
    return tuple(out)


def into_first(x, src, **params) -> tuple:
    """``x.copy_(src)``: the output is ``x``'s shape, and ``src`` must broadcast to it."""
    if broadcast(x, src) != tuple(x):
        raise ShapeError(f"{_text(src)} cannot be copied into {_text(x)}: it does not broadcast to it")
    return tuple(x)


def _inner(a, b, left: int, right: int):
    if a[left] != b[right]:
        raise ShapeError(f"{_text(a)} @ {_text(b)}: inner sizes {a[left]} and {b[right]} differ")


def _ndim(shape, n: int, what: str):
    if len(shape) != n:
        raise ShapeError(f"{what} needs a {n}-d input, got {_text(shape)}")


def dot(a, b) -> tuple:
    _ndim(a, 1, "dot")
    _ndim(b, 1, "dot")
    _inner(a, b, 0, 0)
    return ()


def mv(a, v) -> tuple:
    _ndim(a, 2, "mv (matrix)")
    _ndim(v, 1, "mv (vector)")
    _inner(a, v, 1, 0)
    return (a[0],)


def mm(a, b) -> tuple:
    _ndim(a, 2, "mm")
    _ndim(b, 2, "mm")
    _inner(a, b, 1, 0)
    return (a[0], b[1])


def bmm(a, b) -> tuple:
    _ndim(a, 3, "bmm")
    _ndim(b, 3, "bmm")
    if a[0] != b[0]:
        raise ShapeError(f"{_text(a)} @ {_text(b)}: batch sizes {a[0]} and {b[0]} differ")
    _inner(a, b, 2, 1)
    return (a[0], a[1], b[2])


def addmm(c, a, b, **params) -> tuple:
    out = mm(a, b)
    broadcast(c, out)
    if broadcast(c, out) != out:
        raise ShapeError(f"{_text(c)} + {_text(a)} @ {_text(b)}: the bias does not broadcast to {_text(out)}")
    return out


def gather(x, index, *, dim) -> tuple:
    """The result has the index's shape; both have as many dims."""
    if len(x) != len(index):
        raise ShapeError(f"gather of {_text(x)} by {_text(index)}: index needs {len(x)} dims")
    return tuple(index)


def loss(x, target, *, reduction="mean", **params) -> tuple:
    """A loss: one value, or one per element (per sample for nll) without reduction."""
    if reduction == "none":
        return tuple(target) if len(target) < len(x) else broadcast(x, target)
    if len(target) == len(x):
        broadcast(x, target)
    return ()


def by_forward(forward):
    """A rule for ``forward`` (the row's numpy forward): run it on zero-stride arrays."""
    def run(arrays, params):
        with np.errstate(all="ignore"):
            return forward(*arrays, **params)

    def rule(*shapes, **params):
        shapes = [tuple(s) for s in shapes]
        try:
            out = run([np.broadcast_to(np.zeros((), np.float64), s) for s in shapes], params)
        except Exception as error:  # noqa: BLE001 — numpy says why; the editor shows it
            # a view that cannot be taken of a zero-stride array (reshape without copy)
            # needs real memory: retry with small zero arrays, else report numpy's reason
            if sum(int(np.prod(s)) for s in shapes) > _REAL_LIMIT:
                raise ShapeError(f"{', '.join(map(_text, shapes))}: {error}") from None
            try:
                out = run([np.zeros(s) for s in shapes], params)
            except Exception as error:  # noqa: BLE001
                raise ShapeError(f"{', '.join(map(_text, shapes))}: {error}") from None
        return tuple(np.shape(out))
    return rule


_REAL_LIMIT = 1 << 20  # elements; above it a shape check never allocates
