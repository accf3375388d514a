"""Order statistics: ``median``, ``nanmedian``, ``mode`` and ``kthvalue`` — an element
picked by its rank (or, for mode, by how often it occurs), with its index
(``torch.return_types.median`` …).

Over a whole tensor, median and nanmedian are MedianBackward0 / NanmedianBackward0:
the value only, and a gradient shared by every element equal to it (torch's
``evenly_distribute_backward``, as for max). The row keeps the flat index of the
element it picked, which is what the symbolic side differentiates. Along a dim
(MedianBackward1, NanmedianBackward1, ModeBackward0, KthvalueBackward0) the rows keep
the chosen indices, as max along a dim does, and the gradient goes to those places.

Which of several equal elements is picked is not documented by torch, so it is done
as torch's CPU kernels do it: median takes the element of its rank in the order by
value, then index; kthvalue finds the k-th smallest with a quickselect (median of
three, Hoare partition), and :func:`quickselect` runs that same algorithm, so the
indices come out as torch's, ties included. NaN is larger than any number; ``median`` is NaN (the first one) where a NaN
is present, ``nanmedian`` the median of the rest. The median of an even count is the
lower of the two middle values. ``mode`` is the smallest of the most frequent values,
at the index torch's ``std::sort`` leaves last among them (:func:`_std_sort` runs
libstdc++'s introsort, so NaNs, which compare false, land where they land in torch)."""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Input, Result, SavedArg, Sizes, as_tensor
from ..tensor import Tensor, _wrap_dim
from . import _sympy as sf
from . import kinks, samples
from .reduction import _evenly_distribute, _select_at_indices, _take, return_type
from .table import Op, Param, SAVES_INDICES, SAVES_INPUTS, SAVES_RESULT, apply

_make = Tensor._make


# --------------------------------------------------------------------------- selection
def _greater_or_nan(a, b) -> bool:
    return (a != a and b == b) or a > b


def quickselect(values: list, k: int) -> int:
    """The position in ``values`` of its ``k``-th smallest element (from 0), found as
    torch's CPU quickselect finds it (``quick_select_template``): which of equal
    elements is chosen depends on the algorithm, so it is the same algorithm."""
    order = list(range(len(values)))
    v = list(values)

    def swap(i, j):
        v[i], v[j] = v[j], v[i]
        order[i], order[j] = order[j], order[i]

    low, high = 0, len(v) - 1
    while True:
        if high <= low:
            return order[k]
        if high == low + 1:
            if _greater_or_nan(v[low], v[high]):
                swap(low, high)
            return order[k]
        middle = low + (high - low) // 2
        swap(middle, low + 1)
        if _greater_or_nan(v[low + 1], v[high]):
            swap(low + 1, high)
        if _greater_or_nan(v[low], v[high]):
            swap(low, high)
        if _greater_or_nan(v[low + 1], v[low]):
            swap(low + 1, low)
        i, j, pivot = low + 1, high, v[low]
        while True:
            i += 1
            while _greater_or_nan(pivot, v[i]):
                i += 1
            j -= 1
            while _greater_or_nan(v[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(low, j)
        if j <= k:
            low = i
        if j >= k:
            high = j - 1


def _median_position(values: list, ignore_nan: bool) -> int:
    """torch's median: the first NaN if there is one (unless ``ignore_nan``), else the
    element of rank (n - 1) / 2 (C's division: an all-NaN row gives rank 0) in the
    order by value, then by index, NaN last."""
    nans = sum(v != v for v in values)
    if nans and not ignore_nan:
        return next(i for i, v in enumerate(values) if v != v)
    ranked = sorted(range(len(values)), key=lambda i: (values[i] != values[i], values[i], i))
    return ranked[int((len(values) - nans - 1) / 2)]


def _std_sort(v: list) -> list:
    """The positions of ``v`` in the order libstdc++'s ``std::sort`` (an introsort) puts
    them, comparing with ``<`` only: torch's CPU mode sorts so, and equal values (and
    NaNs, which compare false) end up where that algorithm leaves them."""
    order = list(range(len(v)))

    def less(i, j):
        return v[order[i]] < v[order[j]]

    def swap(i, j):
        order[i], order[j] = order[j], order[i]

    def linear_insert(last):
        value, position = order[last], last
        while position > 0 and v[value] < v[order[position - 1]]:
            order[position] = order[position - 1]
            position -= 1
        order[position] = value

    def partition(first, last):
        middle = first + (last - first) // 2
        a, b, c = first + 1, middle, last - 1
        if less(a, b):
            swap(first, b if less(b, c) else c if less(a, c) else a)
        else:
            swap(first, a if less(a, c) else c if less(b, c) else b)
        low, high = first + 1, last
        while True:
            while less(low, first):
                low += 1
            high -= 1
            while less(first, high):
                high -= 1
            if not low < high:
                return low
            swap(low, high)
            low += 1

    def introsort(first, last, depth):
        while last - first > 16:
            if depth == 0:  # heapsort in libstdc++; not reached by inputs of this size
                order[first:last] = sorted(order[first:last], key=lambda i: v[i])
                return
            depth -= 1
            cut = partition(first, last)
            introsort(cut, last, depth)
            last = cut

    if len(v) > 1:
        introsort(0, len(v), 2 * (len(v).bit_length() - 1))
        for i in range(1, len(v)):  # the final insertion sort
            if less(i, 0):
                order.insert(0, order.pop(i))
            else:
                linear_insert(i)
    return order


def _most_frequent_position(values: list) -> int:
    """torch's mode: the value ending the first of the longest runs of equal values in
    the sorted order, at the index it came from."""
    order = _std_sort(values)
    best, best_count, count = 0, 0, 0
    for n, i in enumerate(order):
        count += 1
        if n == len(order) - 1 or values[i] != values[order[n + 1]]:
            if count > best_count:
                best, best_count = i, count
            count = 0
    return best


def _positions(x: np.ndarray, dim: int, keepdim: bool, pick) -> np.ndarray:
    """``pick(values of one slice along dim) -> index`` for every slice."""
    moved = np.moveaxis(x, dim, -1)
    rows = moved.reshape(-1, moved.shape[-1]).tolist()
    found = np.array([pick(row) for row in rows], dtype=np.int64).reshape(moved.shape[:-1])
    return np.expand_dims(found, dim) if keepdim else found


# --------------------------------------------------------------------------- rows
def _take_flat(x, *, index):
    return x.reshape(-1)[index].copy() if index is not None else np.full((), np.nan, x.dtype)


def _whole_row(id: str, name: str, label: str, doc: str, method: str) -> Op:
    return Op(
        id=id,
        saved={"self": Input(0), "result": Result()},
        name=name,
        forward=_take_flat,
        vjp=(lambda g, r, x, *, index: _evenly_distribute(g, r, x),),
        saves=SAVES_INPUTS | SAVES_RESULT,
        sympy=lambda x, *, index: sf._obj(x.reshape(-1)[index]),
        kind="reduction",
        label=label,
        doc=doc,
        category="reduction",
        params=(Param("index", "int", doc="the flat index of the element picked"),),
        kink=kinks.repeated_value,
        sample=lambda rng: _whole_sample(rng, method),
        torch=lambda torch, x, index: getattr(x, method)(),
        overload=f"{method}(Tensor self)",
    )


def _whole_sample(rng, method):
    x = samples.distinct(rng, samples.S)
    return [x], {"index": _median_position(x.reshape(-1).tolist(), method == "nanmedian")}


def _dim_row(id: str, name: str, label: str, doc: str, torch, pick, overload: str) -> Op:
    return Op(
        id=id,
        saved={"dim": Arg("dim"), "indices": SavedArg("indices", as_tensor), "keepdim": Arg("keepdim"),
               "self_sym_sizes": Sizes(0)},
        name=name,
        forward=lambda x, *, dim, keepdim, indices: _take(x, dim, keepdim, indices),
        vjp=(_select_at_indices,),
        saves=SAVES_INDICES,
        sympy=sf.take_indices,
        kind="reduction",
        label=label,
        doc=doc,
        category="reduction",
        params=(Param("dim", "int"), Param("keepdim", "bool", False), Param("indices", "Tensor")),
        kink=kinks.repeated_value,
        sample=lambda rng: _dim_sample(rng, pick),
        torch=torch,
        overload=overload,
    )


def _dim_sample(rng, pick):
    x = samples.distinct(rng, samples.S)
    return [x], {"dim": 1, "keepdim": False, "indices": _positions(x, 1, False, pick)}


MEDIAN = _whole_row("order_statistics.MEDIAN", "MedianBackward0", "median",
                    "the lower median of all elements (ties share the gradient)", "median")
NANMEDIAN = _whole_row("order_statistics.NANMEDIAN", "NanmedianBackward0", "nanmedian",
                       "the lower median of all elements that are not NaN", "nanmedian")
MEDIAN_DIM = _dim_row("order_statistics.MEDIAN_DIM", "MedianBackward1", "median", "the lower median along a dim",
                      lambda torch, x, dim, keepdim, indices: x.median(dim, keepdim).values,
                      lambda row: _median_position(row, False),
                      "median.dim(Tensor self, int dim, bool keepdim=False)")
NANMEDIAN_DIM = _dim_row("order_statistics.NANMEDIAN_DIM", "NanmedianBackward1", "nanmedian",
                         "the lower median along a dim, NaN left out",
                         lambda torch, x, dim, keepdim, indices: x.nanmedian(dim, keepdim).values,
                         lambda row: _median_position(row, True),
                         "nanmedian.dim(Tensor self, int dim, bool keepdim=False)")
MODE = _dim_row("order_statistics.MODE", "ModeBackward0", "mode", "the most frequent value along a dim",
                lambda torch, x, dim, keepdim, indices: x.mode(dim, keepdim).values,
                _most_frequent_position, "mode(Tensor self, int dim=-1, bool keepdim=False)")
KTHVALUE = _dim_row("order_statistics.KTHVALUE", "KthvalueBackward0", "kthvalue",
                    "the k-th smallest value along a dim",
                    lambda torch, x, dim, keepdim, indices: x.kthvalue(2, dim, keepdim).values,
                    lambda row: quickselect(row, 1),
                    "kthvalue(Tensor self, int k, int dim=-1, bool keepdim=False)")


# --------------------------------------------------------------------------- functions
def _along(name: str, op: Op, input: Tensor, dim: int, keepdim: bool, pick, empty_error: bool = True):
    x = input._data
    if x.ndim == 0:
        _wrap_dim(dim, 0)
        values = apply(op, (input,), {"dim": 0, "keepdim": keepdim, "indices": None})
        return return_type(name)(values, _make(np.zeros((), np.int64)))
    d = _wrap_dim(dim, x.ndim)
    if x.shape[d] == 0 and empty_error:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    if x.size == 0:
        indices = np.zeros(tuple(1 if keepdim and i == d else n for i, n in enumerate(x.shape)
                                 if keepdim or i != d), np.int64)
    else:
        indices = _positions(x, d, keepdim, pick)
    # the dim as given, which torch's node saves (-1 reads 2**64 - 1) and numpy takes as it is
    values = apply(op, (input,), {"dim": dim, "keepdim": keepdim, "indices": indices})
    return return_type(name)(values, _make(indices))


def _whole(op: Op, input: Tensor, ignore_nan: bool) -> Tensor:
    x = input._data
    index = _median_position(x.reshape(-1).tolist(), ignore_nan) if x.size else None
    return apply(op, (input,), {"index": index})


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median of all elements, or ``(values, indices)`` along ``dim``."""
    if dim is None:
        return _whole(MEDIAN, input, False)
    return _along("median", MEDIAN_DIM, input, dim, keepdim, lambda row: _median_position(row, False))


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` with NaN left out (NaN where there is nothing else)."""
    if dim is None:
        return _whole(NANMEDIAN, input, True)
    return _along("nanmedian", NANMEDIAN_DIM, input, dim, keepdim, lambda row: _median_position(row, True))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest of
    equally frequent ones) and its last index."""
    return _along("mode", MODE, input, dim, keepdim, _most_frequent_position)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the ``k``-th smallest value along ``dim`` (k from 1)."""
    x = input._data
    d = _wrap_dim(dim, x.ndim) if x.ndim else 0
    length = x.shape[d] if x.ndim else 1
    if not 1 <= k <= length:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    return _along("kthvalue", KTHVALUE, input, dim, keepdim, lambda row: quickselect(row, k - 1))

