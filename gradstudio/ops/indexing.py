"""Indexing: ``x[...]`` reading and writing, select/narrow, gather,
index_select, masked_fill, and the scatter-shaped ops their VJPs use.

``x[i, 1:, None, mask]`` is taken apart the way torch takes it apart: basic
indices become a chain of ``select`` (SelectBackward0), ``slice``
(SliceBackward0) and ``unsqueeze`` views, and the advanced ones (integer or
boolean tensors, lists) one ``IndexBackward0`` at the end — so the graph shows
the same nodes torch would.
"""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Const, Input, SavedArg, Sizes, as_tensor, index_tensors
from .. import dtypes as _dt
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor, _wrap_dim, shared_version_counter
from .shape import _as_view
from . import _sympy as sf
from . import samples, shape_rules
from .table import Op, Param, SAVES_INDICES, SAVES_INPUTS, apply


def _c_contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` in C order (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return a if a.flags.c_contiguous else a.copy()


def _select_forward(x, *, dim, index):
    return x[(slice(None),) * dim + (index,)]


def _slice_forward(x, *, dim, start, stop, step):
    return x[(slice(None),) * dim + (slice(start, stop, step),)]


def _scatter_into_zeros(g, *, shape, key):
    out = np.zeros(shape, dtype=g.dtype)
    out[key] = g
    return out


def _add_at_zeros(g, *, shape, key):
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, key, g)
    return out


def _torch_index(torch, key):
    """A recorded subscript for torch: index arrays as torch tensors."""
    return tuple(torch.from_numpy(np.asarray(k)) if isinstance(k, np.ndarray) else k for k in key)


def _torch_copy_slices(torch, old, value, key):
    out = old.clone()
    out[_torch_index(torch, key)] = value
    return out


SELECT = Op(
    id="indexing.SELECT",
    saved={"dim": Arg("dim"), "index": Arg("index"), "self_sym_sizes": Sizes(0)},
    name="SelectBackward0",
    forward=_select_forward,
    vjp=(lambda g, r, x, *, dim, index: _select_backward(g, x.shape, dim, index),),
    sympy=lambda x, *, dim, index: _select_forward(x, dim=dim, index=index),
    kind="shape",
    label="[i]",
    doc="select one index along a dim",
    category="indexing",
    params=(Param("dim", "int"), Param("index", "int")),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1, "index": 2}),
    torch=lambda torch, x, dim, index: x.select(dim, index),
)
SLICE = Op(
    id="indexing.SLICE",
    saved={"dim": Arg("dim"), "start": Arg("start"), "end": Arg("stop"), "step": Arg("step"),
           "self_sym_sizes": Sizes(0)},
    name="SliceBackward0",
    forward=_slice_forward,
    vjp=(lambda g, r, x, *, dim, start, stop, step:
         _slice_backward(g, x.shape, dim, start, stop, step),),
    sympy=lambda x, **p: _slice_forward(x, **p),
    kind="shape",
    label="[a:b]",
    doc="a range along a dim",
    category="indexing",
    params=(Param("dim", "int"), Param("start", "int"), Param("stop", "int"), Param("step", "int")),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1, "start": 0, "stop": 4, "step": 2}),
    torch=lambda torch, x, dim, start, stop, step: x[(slice(None),) * dim + (slice(start, stop, step),)],
)
INDEX = Op(
    id="indexing.INDEX",
    saved={"indices": SavedArg("key", index_tensors), "self_sym_sizes": Sizes(0)},
    name="IndexBackward0",
    forward=lambda x, *, key: _c_contiguous(x[key]),
    vjp=(lambda g, r, x, *, key: apply(INDEX_PUT_ZEROS, (g,), {"shape": x.shape, "key": key}),),
    saves=SAVES_INDICES,
    sympy=lambda x, *, key: x[key],
    kind="shape",
    label="[idx]",
    doc="advanced indexing (index tensors, masks)",
    category="indexing",
    params=(Param("key", "index"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"key": (np.array([0, 2, 2]),)}),
    torch=lambda torch, x, key: x[_torch_index(torch, key)],
)
INDEX_SELECT = Op(
    id="indexing.INDEX_SELECT",
    saved={"dim": Arg("dim"), "index": SavedArg("index", as_tensor), "self_sym_sizes": Sizes(0)},
    name="IndexSelectBackward0",
    forward=lambda x, *, dim, index: np.take(x, index, axis=dim),
    vjp=(lambda g, r, x, *, dim, index: apply(INDEX_PUT_ZEROS, (g,), {
        "shape": x.shape, "key": (slice(None),) * dim + (index,)}),),
    saves=SAVES_INDICES,
    sympy=lambda x, *, dim, index: np.take(x, index, axis=dim),
    kind="shape",
    label="index_select",
    doc="the slices at an index tensor's positions along a dim",
    category="indexing",
    params=(Param("dim", "int"), Param("index", "Tensor")),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1, "index": np.array([0, 2, 2])}),
    torch=lambda torch, x, dim, index: x.index_select(dim, torch.tensor(index)),
)
# The VJPs of the indexing ops, as ops of their own so double backward works.
def _into_zeros_row(id, name, what, sample_key):
    """The gradient of select or slice: g written into zeros of the input's shape (two
    rows: torch names the nodes apart)."""
    return Op(
        id=id,
        name=name,
        forward=_scatter_into_zeros,
        vjp=(lambda g, r, x, *, shape, key: g[key],),
        sympy=sf.scatter_into_zeros,
        kind="shape",
        label="scatter",
        doc=f"gradient of {what}",
        category="indexing",
        params=(Param("shape", "int[]"), Param("key", "int[]")),
        sample=lambda rng: ([samples.uniform(rng, (4,) if sample_key == (1,) else (3, 2))],
                            {"shape": samples.S, "key": sample_key}),
        internal=True,
    )


SELECT_BACKWARD = _into_zeros_row("indexing.SELECT_BACKWARD", "SelectBackwardBackward0", "select", (1,))
SLICE_BACKWARD = _into_zeros_row("indexing.SLICE_BACKWARD", "SliceBackwardBackward0", "slice",
                                 (slice(None), slice(0, 4, 2)))
INDEX_PUT_ZEROS = Op(
    id="indexing.INDEX_PUT_ZEROS",
    name="IndexPutBackward0",
    forward=_add_at_zeros,
    vjp=(lambda g, r, x, *, shape, key: apply(INDEX, (g,), {"key": key}),),
    sympy=sf.add_at_zeros,
    kind="shape",
    label="index_put",
    doc="gradient of indexing",
    category="indexing",
    params=(Param("shape", "int[]"), Param("key", "index")),
    sample=lambda rng: ([samples.uniform(rng, (3, 4))],
                        {"shape": (5, 4), "key": (np.array([0, 4, 0]),)}),
    internal=True,
)


def _select_backward(g, shape, dim, index):
    return apply(SELECT_BACKWARD, (g,), {"shape": tuple(shape),
                                         "key": (slice(None),) * dim + (index,)})


def _slice_backward(g, shape, dim, start, stop, step):
    return apply(SLICE_BACKWARD, (g,), {"shape": tuple(shape),
                                         "key": (slice(None),) * dim + (slice(start, stop, step),)})


def _copy_slices_old_vjp(g, r, old, value, *, key):
    mask = np.ones(old.shape, dtype=bool)
    mask[key] = False
    return where_mask(mask, g)


def where_mask(mask: np.ndarray, g: Tensor) -> Tensor:
    from .elementwise import where
    return where(Tensor._make(mask), g, 0.0)


COPY_SLICES = Op(
    id="indexing.COPY_SLICES",
    saved={},
    name="CopySlices",
    forward=lambda old, value, *, key: _assign(old, value, key),
    vjp=(_copy_slices_old_vjp, lambda g, r, old, value, *, key: g[key]),
    sympy=sf.assign,
    kind="shape",
    label="x[i] =",
    doc="assignment into part of a tensor",
    category="indexing",
    arity=2,
    qualified_name="torch::autograd::CopySlices",
    params=(Param("key", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4,))], {"key": (1,)}),
    torch=lambda torch, old, value, key: _torch_copy_slices(torch, old, value, key),
)


def _assign(old, value, key):
    out = old.copy()
    out[key] = value
    return out


def _gather_forward(x, index, dim):
    """torch's gather: the result has the index's shape, which may be shorter than the
    input's outside ``dim`` (numpy's take_along_axis would broadcast it instead)."""
    if x.ndim:
        x = x[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))]
    return np.take_along_axis(x, index, axis=dim)


GATHER = Op(
    id="indexing.GATHER",
    saved={"self": Input(0), "dim": Arg("dim"), "index": Input(1), "sparse_grad": Const(False)},
    shape=shape_rules.gather,
    name="GatherBackward0",
    forward=lambda x, index, *, dim: _gather_forward(x, index, dim),
    vjp=(lambda g, r, x, index, *, dim: _gather_backward(g, x.shape, index, dim), None),
    saves=SAVES_INPUTS,
    sympy=sf.gather,
    kind="shape",
    label="gather",
    doc="gather values along a dim",
    category="indexing",
    arity=2,
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), rng.integers(0, 4, size=(3, 2))], {"dim": 1}),
    torch=lambda torch, x, index, dim: torch.gather(x, dim, index),
)
GATHER_BACKWARD = Op(
    id="indexing.GATHER_BACKWARD",
    name="ScatterAddBackward0",
    forward=lambda g, *, shape, index, dim: _scatter_add(g, shape, index, dim),
    vjp=(lambda g, r, x, *, shape, index, dim:
         apply(GATHER, (g, Tensor._make(index)), {"dim": dim}),),
    kind="shape",
    label="scatter_add",
    doc="gradient of gather",
    category="indexing",
    params=(Param("shape", "int[]"), Param("index", "Tensor"), Param("dim", "int")),
    sample=lambda rng: ([samples.uniform(rng, (3, 2))],
                        {"shape": samples.S, "index": rng.integers(0, 4, size=(3, 2)),
                         "dim": 1}),
    internal=True,
)


def _scatter_add(g, shape, index, dim):
    out = np.zeros(shape, dtype=g.dtype)
    grids = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    np.add.at(out, tuple(grids), g)
    return out


def _gather_backward(g, shape, index, dim):
    return apply(GATHER_BACKWARD, (g,), {"shape": tuple(shape), "index": index._data, "dim": dim})


def _masked_fill_forward(x, mask, *, value):
    # torch fills a contiguous clone; numpy's where would keep x's layout
    return _c_contiguous(np.where(mask, np.asarray(value, dtype=x.dtype), x))


MASKED_FILL = Op(
    id="indexing.MASKED_FILL",
    saved={"mask": Input(1)},
    name="MaskedFillBackward0",
    forward=_masked_fill_forward,
    vjp=(lambda g, r, x, mask, *, value: where_mask(~np.broadcast_to(mask._data, g.shape), g),
         None),
    saves=SAVES_INPUTS,
    sympy=sf.masked_fill,
    kind="shape",
    label="masked_fill",
    doc="fill where a mask is true",
    category="indexing",
    arity=2,
    params=(Param("value", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), rng.random((4,)) > 0.5], {"value": 0.25}),
    torch=lambda torch, x, mask, value: x.masked_fill(mask, value),
)


# --------------------------------------------------------------------------- wrappers
def select(input, dim, index):
    ndim = input._data.ndim
    if ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, ndim)
    size = input._data.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension {d} with size {size}")
    if index < 0:
        index += size
    return _as_view(apply(SELECT, (input,), {"dim": d, "index": index}), input)


def _slice(input, dim, start, stop, step):
    if step is not None and step <= 0:
        raise ValueError("step must be greater than zero")
    start, stop, step = slice(start, stop, step).indices(input._data.shape[dim])
    stop = max(stop, start)
    return _as_view(apply(SLICE, (input,), {"dim": dim, "start": start, "stop": stop,
                                            "step": step}), input)


def narrow(input, dim, start, length):
    d = _wrap_dim(dim, input._data.ndim)
    start = int(start)
    if start < 0:
        start += input._data.shape[d]
    if start + length > input._data.shape[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({input._data.shape[d]}).")
    return _slice(input, d, start, start + length, 1)


def _as_advanced(item):
    """A list / tensor index as a numpy array (int64 or bool), or None for basic indices."""
    if isinstance(item, Tensor):
        if item._data.dtype.kind == "b":
            return item._data
        if item._data.dtype.kind not in "iu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return item._data.astype(np.int64, copy=False)
    if isinstance(item, (list, np.ndarray)):
        array = np.asarray(item)
        if array.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return array
    return None


def _ranges_as_arrays(index):
    """A Python ``range`` indexes as the list of its numbers (torch: an advanced index)."""
    if isinstance(index, range):
        return np.arange(index.start, index.stop, index.step, dtype=np.int64)
    if isinstance(index, tuple) and any(isinstance(i, range) for i in index):
        return tuple(_ranges_as_arrays(i) if isinstance(i, range) else i for i in index)
    return index


def getitem(input, index):
    index = _ranges_as_arrays(index)
    items = index if isinstance(index, tuple) else (index,)
    # A 0-d integer tensor indexes like an int (torch gives SelectBackward0).
    items = tuple(int(i.item()) if isinstance(i, Tensor) and i._data.ndim == 0
                  and i._data.dtype.kind in "iu" else i for i in items)
    ndim = input._data.ndim
    consumed = 0
    for item in items:
        if item is None or item is Ellipsis:
            continue
        advanced = _as_advanced(item)
        consumed += advanced.ndim if advanced is not None and advanced.dtype == bool else 1
    if consumed > ndim:
        if ndim == 0 and isinstance(items[0], (int, np.integer)) and not isinstance(items[0], bool):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        if ndim == 0 and isinstance(items[0], slice):
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    lone_slice = not isinstance(index, tuple) and isinstance(index, slice)

    result, dim = input, 0
    advanced_at: list = []          # (dim in result, numpy index)
    for item in items:
        if item is None:
            result = _as_view(apply(_unsqueeze_row(), (result,), {"dim": dim}), result)
            dim += 1
        elif item is Ellipsis:
            dim += ndim - consumed
        elif isinstance(item, (bool, np.bool_)):
            raise NotImplementedError("indexing with a Python bool is not supported by GradStudio")
        elif isinstance(item, (int, np.integer)):
            size = result._data.shape[dim]
            if not -size <= item < size:
                raise IndexError(f"index {int(item)} is out of bounds for dimension {dim} with size {size}")
            result = select(result, dim, int(item))
        elif isinstance(item, slice):
            if item.step is not None and item.step <= 0:
                raise ValueError("step must be greater than zero")
            # torch skips a slice only when it is literally the whole dim: start 0 (not -n), step 1
            full = (item.start is None or item.start == 0) and (item.step is None or item.step == 1) \
                and (item.stop is None or item.stop >= result._data.shape[dim])
            if not full or lone_slice:
                result = _slice(result, dim, item.start, item.stop, item.step)
            dim += 1
        else:
            advanced = _as_advanced(item)
            if advanced is None:
                raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                                 "byte Variables are valid indices (got "
                                 f"{type(item).__name__})")
            span = advanced.ndim if advanced.dtype == bool else 1
            if advanced.dtype != bool:
                size = result._data.shape[dim]
                if advanced.size and (advanced.max() >= size or advanced.min() < -size):
                    bad = int(advanced.max() if advanced.max() >= size else advanced.min())
                    raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
            else:
                expected = result._data.shape[dim:dim + span]
                if advanced.shape != expected:
                    raise IndexError(f"The shape of the mask {list(advanced.shape)} at index {dim} "
                                     f"does not match the shape of the indexed tensor "
                                     f"{list(result._data.shape)} at index {dim}")
            advanced_at.append((dim, advanced))
            dim += span
    if advanced_at:
        key = []
        position = 0
        for at, array in advanced_at:
            key += [slice(None)] * (at - position) + [array]
            position = at + (array.ndim if array.dtype == bool else 1)
        result = apply(INDEX, (result,), {"key": tuple(key)})
    if result is input:
        result = _as_view(apply(_alias_row(), (input,)), input)
    return result


def _unsqueeze_row():
    from .shape import UNSQUEEZE
    return UNSQUEEZE


def _alias_row():
    from .shape import ALIAS
    return ALIAS


def setitem(target, index, value):
    """``target[index] = value`` — in place, recorded as torch's CopySlices."""
    from .inplace import check_inplace, commit_inplace
    index = _ranges_as_arrays(index)
    if target._requires_grad and target.grad_fn is None and _grad_state.enabled and _is_view_key(index):
        # torch writes through a view (x[0] is one): its own wording for a leaf
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    key = _numpy_key(target, index)
    if not isinstance(value, Tensor):
        value = Tensor._make(np.asarray(value, dtype=target._data.dtype))
    elif value._data.dtype != target._data.dtype:
        value = value.to(_dt.from_numpy_dtype(target._data.dtype))
    recording = check_inplace(target, value)
    if recording:
        result = apply(COPY_SLICES, (target, value), {"key": key})
        commit_inplace(target, result)
    else:
        target._data[key] = value._data
        shared_version_counter(target).bump()


def _is_view_key(index) -> bool:
    """Whether ``x[index]`` is a view: basic indices only, at least one int or slice."""
    items = index if isinstance(index, tuple) else (index,)
    return (all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))
                for item in items)
            and any(isinstance(item, (int, np.integer, slice)) and not isinstance(item, bool)
                    for item in items))


def _numpy_key(target, index):
    items = index if isinstance(index, tuple) else (index,)
    key = []
    for item in items:
        if isinstance(item, Tensor):
            key.append(item._data if item._data.ndim else item._data.item())
        else:
            key.append(item)
    return tuple(key)


def _check_gather_index(input, dim, index) -> None:
    """torch's checks of gather's index: integer, as many dims as the input, no longer than
    it apart from ``dim``, and in range along ``dim``."""
    x, i = input._data, index._data
    if i.dtype not in (np.int64, np.int32):
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    if max(x.ndim, 1) != max(i.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if x.ndim and i.ndim:
        for d, (n, m) in enumerate(zip(i.shape, x.shape)):
            if d != dim and n > m:
                raise RuntimeError(f"Size does not match at dimension {d} expected index {list(i.shape)} "
                                   f"to be no larger than self {list(x.shape)} apart from dimension {dim}")
    size = x.shape[dim] if x.ndim else 1
    bad = i[(i < 0) | (i >= size)]
    if bad.size:
        raise RuntimeError(f"index {int(bad.flat[0])} is out of bounds for dimension {dim} with size {size}")


def gather(input, dim, index):
    d = _wrap_dim(dim, input._data.ndim)
    _check_gather_index(input, d, index)
    return apply(GATHER, (input, index), {"dim": d})


def take_along_dim(input, indices, dim=None):
    """The values at ``indices`` along ``dim``, the two broadcast against each other except
    along ``dim`` (torch: ``expand`` of both, then ``gather``); without ``dim``, of the
    flattened input (``view(-1)``, then ``gather``)."""
    if dim is None:
        return gather(input.view(-1), 0, indices.view(-1))
    if input._data.ndim != indices._data.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input._data.ndim} dimensions for input, and "
                           f"{indices._data.ndim} dimensions for indices")
    if indices._data.dtype != np.int64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_dt.scalar_type_name(indices._data.dtype)}")
    from .linalg import _broadcast
    d = _wrap_dim(dim, input._data.ndim)
    sizes, index_sizes = list(input._data.shape), list(indices._data.shape)
    sizes[d], index_sizes[d] = index_sizes[d], sizes[d]
    indices = indices.expand(*_broadcast(tuple(sizes), indices._data.shape))
    return gather(input.expand(*_broadcast(tuple(index_sizes), input._data.shape)), d, indices)


def index_select(input, dim, index):
    d = _wrap_dim(dim, input._data.ndim)
    return apply(INDEX_SELECT, (input,), {"dim": d, "index": index._data.astype(np.int64).reshape(-1)})


def masked_fill(input, mask, value):
    if isinstance(value, Tensor):
        value = value.item()
    return apply(MASKED_FILL, (input, mask), {"value": value})


def nonzero(input, *, as_tuple=False):
    idx = np.nonzero(input._data)
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in idx)
    return Tensor._make(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))


def take(input, index):
    return getitem(input.reshape(-1), index)
