"""``sort``, ``argsort``, ``msort`` and ``topk``: values taken along a dim in sorted
order, with their indices (``torch.return_types.sort`` / ``topk``).

The rows (SortBackward0; SortBackward1 for ``stable=True``, torch's other overload;
TopkBackward0) keep the chosen indices in their params, as max along a dim does, and
send each value's gradient back to the place it was taken from. Orders are stable:
equal values keep their order (torch's CPU sort does; its topk takes the first of equal
largest values, but among equal smallest ones not always the first: there the indices
may differ from torch's, the values never); NaN counts as the largest value, as in torch."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, SavedArg, Sizes, as_tensor
from ..tensor import Tensor, _wrap_dim
from . import samples
from .indexing import SELECT_BACKWARD
from .reduction import return_type
from .table import Op, Param, SAVES_INDICES, apply

_make = Tensor._make


def order(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable sorting indices of ``x`` along ``dim``; NaN last ascending, first descending."""
    if not descending:
        return np.argsort(x, axis=dim, kind="stable")
    backwards = np.flip(x, axis=dim)
    return x.shape[dim] - 1 - np.flip(np.argsort(backwards, axis=dim, kind="stable"), axis=dim)


def _taken(x, *, dim, indices):
    return np.take_along_axis(x, indices, axis=dim) if x.ndim else x.copy()


def _put_back(g, r, x, *, dim, indices):
    """The gradient of values taken at ``indices`` along ``dim``: each back in its place."""
    if not x.shape:
        return g
    key = list(np.indices(indices.shape, sparse=True))
    key[dim] = indices
    return apply(SELECT_BACKWARD, (g,), {"shape": tuple(x.shape), "key": tuple(key)})


def _sample(rng, take=None):
    x = samples.distinct(rng, samples.S)
    indices = order(x, 1, True)
    return [x], {"dim": 1, "indices": indices if take is None else indices[:, :take]}


def _row(id: str, name: str, label: str, doc: str, torch, sample, overload: str) -> Op:
    return Op(
        id=id,
        saved={"dim": Arg("dim"), "indices": SavedArg("indices", as_tensor), "self_sym_sizes": Sizes(0)},
        name=name,
        forward=_taken,
        vjp=(_put_back,),
        saves=SAVES_INDICES,
        sympy=lambda x, *, dim, indices: _taken(x, dim=dim, indices=indices),
        kind="shape",
        label=label,
        doc=doc,
        category="indexing",
        params=(Param("dim", "int"), Param("indices", "Tensor")),
        sample=sample,
        torch=torch,
        overload=overload,
    )


SORT = _row("sorting.SORT", "SortBackward0", "sort", "values sorted along a dim",
            lambda torch, x, dim, indices: x.sort(dim, descending=True).values, _sample,
            "sort(Tensor self, int dim=-1, bool descending=False)")
SORT_STABLE = _row("sorting.SORT_STABLE", "SortBackward1", "sort",
                   "values sorted along a dim (stable=True)",
                   lambda torch, x, dim, indices: x.sort(dim=dim, descending=True, stable=True).values, _sample,
                   "sort.stable(Tensor self, *, bool? stable, int dim=-1, bool descending=False)")
TOPK = _row("sorting.TOPK", "TopkBackward0", "topk", "the k largest (or smallest) values along a dim",
            lambda torch, x, dim, indices: x.topk(indices.shape[dim], dim).values,
            lambda rng: _sample(rng, take=2), "topk(Tensor self, int k, int dim=-1, bool largest=True)")

sort_type = return_type("sort")
topk_type = return_type("topk")


def _dim(input: Tensor, dim: int) -> int:
    return _wrap_dim(dim, input._data.ndim) if input._data.ndim else 0


def _values(op: Op, input: Tensor, dim: int, indices: np.ndarray) -> Tensor:
    """The row applied; its ``dim`` is the one given (torch saves it so: ``_saved_dim`` of
    ``topk(x, 2)`` is -1 read as unsigned), which numpy and the gradient take as it is."""
    return apply(op, (input,), {"dim": dim, "indices": indices})


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool | None = None):
    """``(values, indices)`` of ``input`` sorted along ``dim``."""
    d = _dim(input, dim)
    x = input._data
    indices = order(x, d, descending) if x.ndim else np.zeros((), np.int64)
    op = SORT if stable is None else SORT_STABLE
    return sort_type(_values(op, input, dim if x.ndim else d, indices), _make(indices.astype(np.int64)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    return sort(input, dim, descending).indices


def msort(input: Tensor) -> Tensor:
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) along ``dim``,
    in order (``sorted=False`` gives them in the same order here)."""
    d = _dim(input, dim)
    x = input._data
    length = x.shape[d] if x.ndim else 1
    if not 0 <= k <= length:
        raise RuntimeError("selected index k out of range")
    if x.ndim:
        indices = np.take(order(x, d, largest), np.arange(k), axis=d)
    else:
        indices = np.zeros((), np.int64)
    return topk_type(_values(TOPK, input, dim if x.ndim else d, indices), _make(indices.astype(np.int64)))
