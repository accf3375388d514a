"""``scatter``, ``scatter_add`` and their in-place forms: values written (or added) into a
copy of ``input`` at the positions an index tensor gives along a dim — a one-hot matrix
is ``zeros(n, C).scatter_(1, y.unsqueeze(1), 1)``.

Rows: ScatterBackward0 (``src`` a tensor), ScatterBackward1 (a number), ScatterAddBackward0;
the index is a parameter, not an input, so a node's edges are ``input``'s and ``src``'s
only, as torch's. Gradients: ``input`` gets the incoming one with the written positions
zeroed (all of it for scatter_add), ``src`` the incoming one gathered at the index."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, SavedArg, as_tensor
from ..tensor import Tensor, _wrap_dim
from . import samples
from .indexing import GATHER
from .inplace import inplace
from .table import Op, Param, SAVES_INDICES, apply

_make = Tensor._make


def _positions(index: np.ndarray, dim: int) -> tuple:
    """``index`` along ``dim`` and each other dim's own position: numpy's key for it."""
    key = list(np.indices(index.shape, sparse=True))
    key[dim] = index
    return tuple(key)


def _written(x, src, *, dim, index):
    out = x.copy()
    out[_positions(index, dim)] = src[tuple(slice(0, n) for n in index.shape)]
    return out


def _filled(x, *, dim, index, value):
    out = x.copy()
    out[_positions(index, dim)] = value
    return out


def _added(x, src, *, dim, index):
    out = x.copy()
    np.add.at(out, _positions(index, dim), src[tuple(slice(0, n) for n in index.shape)])
    return out


def _src_grad(g, src, dim, index, node: str = "ScatterBackward0"):
    """``g`` gathered at the index. It has the index's shape: when ``src`` is larger,
    torch's backward fails there, and so does this one, with torch's message."""
    if tuple(src.shape) != index.shape:
        raise RuntimeError(f"Function {node} returned an invalid gradient at index 1 - got "
                           f"{list(index.shape)} but expected shape compatible with {list(src.shape)}")
    return apply(GATHER, (g, _make(index)), {"dim": dim})


def _sample(rng, with_src=True):
    x = samples.uniform(rng, (3, 4))
    index = np.array([[1, 2], [3, 0], [0, 1]])
    args = [x, samples.uniform(rng, (3, 2))] if with_src else [x]
    return args, {"dim": 1, "index": index}


_SAVED = {"dim": Arg("dim"), "index": SavedArg("index", as_tensor)}

SCATTER = Op(
    id="scattering.SCATTER",
    saved=_SAVED,
    shape=lambda x, src, *, dim, index: tuple(x),
    name="ScatterBackward0",
    forward=_written,
    vjp=(lambda g, r, x, src, *, dim, index: apply(SCATTER_VALUE, (g,), {"dim": dim, "index": index,
                                                                          "value": 0.0}),
         lambda g, r, x, src, *, dim, index: _src_grad(g, src, dim, index)),
    saves=SAVES_INDICES,  # the index, kept in the params
    sympy=_written,
    kind="shape",
    label="scatter",
    doc="src's values written at an index along a dim",
    category="indexing",
    arity=2,
    params=(Param("dim", "int"), Param("index", "Tensor")),
    sample=_sample,
    torch=lambda torch, x, src, dim, index: x.scatter(dim, torch.tensor(index), src),
    overload="scatter.src(Tensor self, int dim, Tensor index, Tensor src)",
)
SCATTER_VALUE = Op(
    id="scattering.SCATTER_VALUE",
    saved=_SAVED,
    name="ScatterBackward1",
    forward=_filled,
    vjp=(lambda g, r, x, *, dim, index, value: apply(SCATTER_VALUE, (g,), {"dim": dim, "index": index,
                                                                            "value": 0.0}),),
    saves=SAVES_INDICES,
    sympy=_filled,
    kind="shape",
    label="scatter",
    doc="a number written at an index along a dim",
    category="indexing",
    params=(Param("dim", "int"), Param("index", "Tensor"), Param("value", "float")),
    sample=lambda rng: (_sample(rng, False)[0], {**_sample(rng, False)[1], "value": 2.5}),
    torch=lambda torch, x, dim, index, value: x.scatter(dim, torch.tensor(index), value),
    overload="scatter.value(Tensor self, int dim, Tensor index, Scalar value)",
)
SCATTER_ADD = Op(
    id="scattering.SCATTER_ADD",
    saved=_SAVED,
    shape=lambda x, src, *, dim, index: tuple(x),
    name="ScatterAddBackward0",
    forward=_added,
    vjp=(lambda g, r, x, src, *, dim, index: g,
         lambda g, r, x, src, *, dim, index: _src_grad(g, src, dim, index, "ScatterAddBackward0")),
    saves=SAVES_INDICES,
    sympy=_added,
    kind="shape",
    label="scatter_add",
    doc="src's values added at an index along a dim",
    category="indexing",
    arity=2,
    params=(Param("dim", "int"), Param("index", "Tensor")),
    sample=_sample,
    torch=lambda torch, x, src, dim, index: x.scatter_add(dim, torch.tensor(index), src),
)


def _checked(input: Tensor, dim: int, index: Tensor, name: str = "scatter") -> tuple:
    data = index._data
    if data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    d = _wrap_dim(dim, input._data.ndim)
    if data.size:
        size = input._data.shape[d]
        bad = data[(data < 0) | (data >= size)]
        if bad.size:
            raise RuntimeError(f"index {int(bad.reshape(-1)[0])} is out of bounds for dimension {d} "
                               f"with size {size}")
    return d, data.astype(np.int64)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or a number) written at ``index``."""
    d, positions = _checked(input, dim, index)
    if src is None:
        src = value
    if isinstance(src, Tensor):
        return apply(SCATTER, (input, src), {"dim": d, "index": positions})
    return apply(SCATTER_VALUE, (input,), {"dim": d, "index": positions, "value": src})


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` (repeated positions add up)."""
    d, positions = _checked(input, dim, index, "scatter_add")
    return apply(SCATTER_ADD, (input, src), {"dim": d, "index": positions})


scatter_ = inplace(scatter)
scatter_add_ = inplace(scatter_add)
