"""Rows for ops that overwrite a tensor's values, as torch records them:
``x.zero_()`` (``ZeroBackward0``), ``x.fill_(number)`` (``FillBackward2``),
``x.fill_(0-d tensor)`` (``FillBackward3``: the value gets the sum of the gradient) and
``x.copy_(src)`` (``torch::autograd::CopyBackwards``, also the node behind a
leaf's ``.grad`` after ``backward(create_graph=True)``). The old values get no
gradient; ``copy_``'s source gets the incoming gradient."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from . import samples, shape_rules
from .table import Op, Param, apply


def _zeros_like(g):
    from ..tensor import make
    return make(np.zeros(g._data.shape, dtype=g._data.dtype))


def _as_source(g, src):
    """The gradient in the source's dtype (copy_ converts the values on the way in)."""
    if src.dtype != g._data.dtype and np.dtype(src.dtype).kind == "f":
        return g.to(_dt.from_numpy_dtype(np.dtype(src.dtype)))
    return g


ZERO = Op(
    id="overwrite.ZERO",
    name="ZeroBackward0",
    forward=lambda x: np.zeros_like(x),
    vjp=(lambda g, r, x: _zeros_like(g),),
    sympy=lambda x: x * 0,   # a sympy zero, not the int 0
    label="zero_",
    doc="every element set to 0",
    category="elementwise",
    domain=samples.Domain(-2.0, 2.0),
    torch=lambda torch, x: x.clone().zero_(),
)

FILL = Op(
    id="overwrite.FILL",
    saved={},
    name="FillBackward2",
    forward=lambda x, *, value: np.full_like(x, value),
    vjp=(lambda g, r, x, *, value: _zeros_like(g),),
    sympy=lambda x, *, value: x * 0 + value,
    label="fill_",
    doc="every element set to a number",
    category="elementwise",
    params=(Param("value", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"value": 1.5}),
    torch=lambda torch, x, value: x.clone().fill_(value),
)

FILL_TENSOR = Op(
    id="overwrite.FILL_TENSOR",
    name="FillBackward3",
    overload="the value is a 0-d tensor (its gradient is the sum of the incoming one)",
    forward=lambda x, value: np.full_like(x, value),
    vjp=(lambda g, r, x, value: _zeros_like(g), lambda g, r, x, value: _as_source(g.sum(), value)),
    sympy=lambda x, value: x * 0 + value,
    label="fill_ (tensor)",
    doc="every element set to a 0-d tensor's value",
    category="elementwise",
    arity=2,
    shape=lambda x, value: tuple(x),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, ())], {}),
    torch=lambda torch, x, value: x.clone().fill_(value),
)

COPY = Op(
    id="overwrite.COPY",
    name="CopyBackwards",
    qualified_name="torch::autograd::CopyBackwards",
    forward=lambda x, src: np.broadcast_to(src, x.shape).astype(x.dtype),
    vjp=(lambda g, r, x, src: _zeros_like(g), lambda g, r, x, src: _as_source(g, src)),
    sympy=lambda x, src: src,
    label="copy_",
    doc="values copied in from another tensor",
    category="elementwise",
    arity=2,
    shape=shape_rules.into_first,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S)], {}),
    torch=lambda torch, x, src: x.clone().copy_(src),
)


def copy_of(grad):
    """A new tensor with ``grad``'s values, recorded as CopyBackwards (what a leaf's
    ``.grad`` is after ``backward(create_graph=True)``)."""
    from ..tensor import make
    return apply(COPY, (make(np.empty(grad._data.shape, dtype=grad._data.dtype)), grad))
