"""Shape ops: view/reshape, transpose/permute, squeeze/unsqueeze, expand,
repeat, flip, cat/stack, clone and dtype conversion.

Ops that are views in torch are numpy views here too: they share values
(and the version counter) with their base, so an in-place change shows
through both, as in torch.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Sizes
from .. import dtypes as _dt
from ..autograd.engine import broadcast_axes, sum_to_shape
from ..tensor import Tensor, _wrap_dim
from . import _sympy as sf
from ._sympy import sp
from . import samples
from .table import Op, Param, apply, array_rules, node_rule


def _as_view(result: Tensor, base: Tensor) -> Tensor:
    """Mark ``result`` as a view of ``base``: in-place changes through either bump
    the one version counter, which lives on the base."""
    result._base = base._base if base._base is not None else base
    return result


def _c_contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` in C order (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return a if a.flags.c_contiguous else a.copy()


def _reshape_back(g, r, x, **params):
    return g.reshape(*x.shape)


# Symbolic forwards of shape ops work on object arrays of sympy expressions.
def _np_sympy(fn):
    return lambda x, **params: fn(x, **params)


VIEW = Op(
    id="shape.VIEW",
    saved={"self_sym_sizes": Sizes(0)},
    name="ViewBackward0",
    forward=lambda x, *, shape: x.reshape(shape, copy=False),
    vjp=(_reshape_back,),
    sympy=_np_sympy(lambda x, *, shape: x.reshape(shape)),
    kind="shape",
    label="view",
    doc="same values, new shape",
    category="shape",
    params=(Param("shape", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"shape": (2, 6)}),
    torch=lambda torch, x, shape: x.reshape(shape),
    overload="view(Tensor self, SymInt[] size): a contiguous input",
)
UNSAFE_VIEW = Op(
    id="shape.UNSAFE_VIEW",
    name="UnsafeViewBackward0",
    forward=lambda x, *, shape: x.reshape(shape),
    vjp=(_reshape_back,),
    sympy=_np_sympy(lambda x, *, shape: x.reshape(shape)),
    kind="shape",
    label="view",
    doc="reshape of a copy",
    category="shape",
    params=(Param("shape", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"shape": (12,)}),
    torch=lambda torch, x, shape: x.reshape(shape),
    overload="_unsafe_view(Tensor self, SymInt[] size): reshape of an input that needs a copy",
)
# torch's reshape of a non-contiguous tensor that can still be viewed (a transpose, an expand)
RESHAPE_ALIAS = Op(
    id="shape.RESHAPE_ALIAS",
    name="ReshapeAliasBackward0",
    forward=lambda x, *, shape: x.reshape(shape, copy=False),
    vjp=(_reshape_back,),
    sympy=_np_sympy(lambda x, *, shape: x.reshape(shape)),
    kind="shape",
    label="view",
    doc="same values, new shape (strided view)",
    category="shape",
    params=(Param("shape", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"shape": (2, 6)}),
    torch=lambda torch, x, shape: x.reshape(shape),
    overload="_reshape_alias(Tensor self, SymInt[] size, SymInt[] stride): reshape of a strided input that can still be viewed",
)
ALIAS = Op(
    id="shape.ALIAS",
    name="AliasBackward0",
    forward=lambda x: x.view(),
    vjp=(lambda g, r, x: g,),
    sympy=_np_sympy(lambda x: x),
    element=sf.identity,
    kind="shape",
    label="alias",
    doc="the same tensor",
    category="shape",
    sample=samples.unary(),
    torch=lambda torch, x: x.view_as(x),
)
def _transpose_row(id: str, name: str, doc: str, torch) -> Op:
    return Op(
        id=id,
        name=name,
        forward=lambda x, *, dim0, dim1: np.swapaxes(x, dim0, dim1) if x.ndim else x.view(),
        vjp=(lambda g, r, x, *, dim0, dim1: g.transpose(dim0, dim1),),
        sympy=_np_sympy(lambda x, *, dim0, dim1: np.swapaxes(x, dim0, dim1)),
        matrix=lambda M, a, *, dim0, dim1: a if dim0 % 2 == dim1 % 2 else M.T(a),
        kind="shape",
        label="transpose",
        doc=doc,
        category="shape",
        params=(Param("dim0", "int"), Param("dim1", "int")),
        sample=lambda rng: ([samples.uniform(rng, (2, 3, 4))], {"dim0": 0, "dim1": 2}),
        torch=torch,
    )


TRANSPOSE = _transpose_row("shape.TRANSPOSE", "TransposeBackward0", "swap two dims",
                           lambda torch, x, dim0, dim1: x.transpose(dim0, dim1))
# transpose_ of a tensor nobody else holds (a recurrent layer's batch_first output, which
# torch turns round in place): the same swap, recorded under the in-place node's name
TRANSPOSE_ = _transpose_row("shape.TRANSPOSE_", "TransposeBackward1", "swap two dims in place",
                            lambda torch, x, dim0, dim1: x.clone().transpose_(dim0, dim1))
T = Op(
    id="shape.T",
    name="TBackward0",
    forward=lambda x: x.T,
    vjp=(lambda g, r, x: g.t(),),
    sympy=_np_sympy(lambda x: x.T),
    matrix=lambda M, a: M.T(a),
    kind="shape",
    label="ᵀ",
    doc="matrix transpose",
    category="shape",
    sample=samples.unary(),
    torch=lambda torch, x: x.t(),
)
PERMUTE = Op(
    id="shape.PERMUTE",
    name="PermuteBackward0",
    forward=lambda x, *, dims: np.transpose(x, dims),
    vjp=(lambda g, r, x, *, dims: g.permute(*np.argsort(dims).tolist()),),
    sympy=_np_sympy(lambda x, *, dims: np.transpose(x, dims)),
    matrix=lambda M, a, *, dims: a if tuple(dims) == (0, 1) else M.T(a),
    kind="shape",
    label="permute",
    doc="reorder dims",
    category="shape",
    params=(Param("dims", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, (2, 3, 4))], {"dims": (2, 0, 1)}),
    torch=lambda torch, x, dims: x.permute(dims),
)
SQUEEZE = Op(
    id="shape.SQUEEZE",
    saved={"self_sym_sizes": Sizes(0)},
    name="SqueezeBackward0",
    forward=lambda x: np.squeeze(x),
    vjp=(_reshape_back,),
    sympy=_np_sympy(lambda x: np.squeeze(x)),
    kind="shape",
    label="squeeze",
    doc="drop all size-1 dims",
    category="shape",
    sample=lambda rng: ([samples.uniform(rng, (3, 1, 4))], {}),
    torch=lambda torch, x: x.squeeze(),
    overload="squeeze(Tensor self)",
)
SQUEEZE_DIM = Op(
    id="shape.SQUEEZE_DIM",
    saved={"dim": Arg("dim"), "self_sym_sizes": Sizes(0)},
    name="SqueezeBackward1",
    forward=lambda x, *, dim: _squeeze_dims(x, (dim,)),
    vjp=(_reshape_back,),
    sympy=_np_sympy(lambda x, *, dim: _squeeze_dims(x, (dim,))),
    kind="shape",
    label="squeeze",
    doc="drop a size-1 dim",
    category="shape",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, (3, 1, 4))], {"dim": 1}),
    torch=lambda torch, x, dim: x.squeeze(dim),
    overload="squeeze.dim(Tensor self, int dim)",
)
SQUEEZE_DIMS = Op(
    id="shape.SQUEEZE_DIMS",
    saved={"dim": Arg("dims"), "self_sym_sizes": Sizes(0)},
    name="SqueezeBackward2",
    forward=lambda x, *, dims: _squeeze_dims(x, dims),
    vjp=(_reshape_back,),
    sympy=_np_sympy(lambda x, *, dims: _squeeze_dims(x, dims)),
    kind="shape",
    label="squeeze",
    doc="drop size-1 dims",
    category="shape",
    params=(Param("dims", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, (1, 3, 1))], {"dims": (0, 2)}),
    torch=lambda torch, x, dims: x.squeeze(dims),
    overload="squeeze.dims(Tensor self, int[] dim)",
)
UNSQUEEZE = Op(
    id="shape.UNSQUEEZE",
    name="UnsqueezeBackward0",
    forward=lambda x, *, dim: np.expand_dims(x, dim),
    vjp=(lambda g, r, x, *, dim: g.squeeze(dim),),
    sympy=_np_sympy(lambda x, *, dim: np.expand_dims(x, dim)),
    kind="shape",
    label="unsqueeze",
    doc="insert a size-1 dim",
    category="shape",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dim": 1}),
    torch=lambda torch, x, dim: x.unsqueeze(dim),
)
def _expand_forward(x, *, shape):
    """A read-only broadcast view. np.broadcast_to is slow on small arrays, so a
    C-contiguous source gets its strided view built directly."""
    if x.ndim == 0:  # a 0-d gradient spread over a shape: the backward of sum and mean
        strides = (0,) * len(shape)
    elif not x.flags.c_contiguous:
        return np.broadcast_to(x, shape)
    else:
        lead = len(shape) - x.ndim
        strides = (0,) * lead + tuple(0 if size == 1 and target != 1 else stride
                                      for size, target, stride in zip(x.shape, shape[lead:], x.strides))
    view = np.ndarray(shape, x.dtype, x, 0, strides)
    view.setflags(write=False)
    return view


EXPAND = Op(
    id="shape.EXPAND",
    saved={"self_sym_sizes": Sizes(0)},
    name="ExpandBackward0",
    forward=_expand_forward,
    vjp=(lambda g, r, x, *, shape: g.sum_to_size(*x.shape),),
    sympy=_np_sympy(lambda x, *, shape: np.broadcast_to(x, shape)),
    kind="shape",
    label="expand",
    doc="broadcast to a larger shape",
    category="shape",
    params=(Param("shape", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, (3, 1))], {"shape": (2, 3, 4)}),
    torch=lambda torch, x, shape: x.expand(shape),
)


def _repeat_vjp(g, r, x, *, repeats):
    shape = x.shape
    lead = len(repeats) - len(shape)
    padded = (1,) * lead + tuple(shape)
    split = []
    for rep, size in zip(repeats, padded):
        split += [rep, size]
    summed = g.reshape(*split).sum(tuple(range(0, 2 * len(repeats), 2)))
    return summed.reshape(*shape)


REPEAT = Op(
    id="shape.REPEAT",
    saved={"repeats": Arg("repeats"), "self_sym_sizes": Sizes(0)},
    name="RepeatBackward0",
    forward=lambda x, *, repeats: np.tile(x, repeats),
    vjp=(_repeat_vjp,),
    sympy=_np_sympy(lambda x, *, repeats: np.tile(x, repeats)),
    kind="shape",
    label="repeat",
    doc="tile copies",
    category="shape",
    params=(Param("repeats", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, (2, 3))], {"repeats": (2, 1, 2)}),
    torch=lambda torch, x, repeats: x.repeat(repeats),
)
FLIP = Op(
    id="shape.FLIP",
    name="FlipBackward0",
    forward=lambda x, *, dims: np.flip(x, dims),
    vjp=(lambda g, r, x, *, dims: g.flip(dims),),
    sympy=_np_sympy(lambda x, *, dims: np.flip(x, dims)),
    kind="shape",
    label="flip",
    doc="reverse along dims",
    category="shape",
    params=(Param("dims", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dims": (0, 1)}),
    torch=lambda torch, x, dims: x.flip(dims),
)
CLONE = Op(
    id="shape.CLONE",
    name="CloneBackward0",
    forward=lambda x: x.copy(),
    vjp=(lambda g, r, x: g,),
    sympy=_np_sympy(lambda x: x),
    element=sf.identity,
    kind="shape",
    label="clone",
    doc="a copy",
    category="shape",
    sample=samples.unary(),
    torch=lambda torch, x: x.clone(),
)
TO_COPY = Op(
    id="shape.TO_COPY",
    casts=True,
    name="ToCopyBackward0",
    forward=lambda x, *, dtype: x.astype(dtype),
    vjp=(lambda g, r, x, *, dtype: g,),
    kind="shape",
    label="to",
    sympy=_np_sympy(lambda x, *, dtype: x),
    element=sf.identity,
    doc="dtype conversion",
    category="shape",
    params=(Param("dtype", "dtype"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"dtype": np.dtype(np.float64)}),
    torch=lambda torch, x, dtype: x,
)


def _cat_vjp(i, g, r, *inputs, dim):
    start = sum(inp.shape[dim] for inp in inputs[:i])
    return g.narrow(dim, start, inputs[i].shape[dim])


# torch's cat/stack results are contiguous; numpy keeps the inputs' layout (a transpose)
CAT = Op(
    id="shape.CAT",
    name="CatBackward0",
    forward=lambda *xs, dim: _c_contiguous(np.concatenate(xs, axis=dim)),
    vjp=_cat_vjp,
    sympy=lambda *xs, dim: np.concatenate(xs, axis=dim),
    kind="shape",
    label="cat",
    doc="concatenate along a dim",
    category="shape",
    arity=-1,
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, (2, 4)), samples.uniform(rng, (3, 4))], {"dim": 0}),
    torch=lambda torch, *xs, dim: torch.cat(xs, dim),
)
STACK = Op(
    id="shape.STACK",
    name="StackBackward0",
    forward=lambda *xs, dim: _c_contiguous(np.stack(xs, axis=dim)),
    vjp=lambda i, g, r, *inputs, dim: g.select(dim, i),
    sympy=lambda *xs, dim: np.stack(xs, axis=dim),
    kind="shape",
    label="stack",
    doc="stack along a new dim",
    category="shape",
    arity=-1,
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S)], {"dim": 1}),
    torch=lambda torch, *xs, dim: torch.stack(xs, dim),
)


def _squeeze_dims(x, dims):
    dims = tuple(d for d in dims if x.ndim and x.shape[d] == 1)
    return np.squeeze(x, axis=dims) if dims else x.view()


# --------------------------------------------------------------------------- wrappers
def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, Tensor)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer_shape(shape: tuple, numel: int) -> tuple:
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        raise NotImplementedError("view(dtype) is not supported by GradStudio")
    shape = _infer_shape(_shape_arg(shape), input._data.size)
    try:
        input._data.reshape(shape, copy=False)
    except ValueError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.") from None
    return _as_view(apply(VIEW, (input,), {"shape": shape}), input)


def reshape(input, *shape):
    shape = _infer_shape(_shape_arg(shape), input._data.size)
    try:
        input._data.reshape(shape, copy=False)
    except ValueError:
        return apply(UNSAFE_VIEW, (clone(input),), {"shape": shape})
    row = VIEW if input._data.flags.c_contiguous else RESHAPE_ALIAS
    return _as_view(apply(row, (input,), {"shape": shape}), input)


def view_as(input, other):
    return view(input, other._data.shape)


def reshape_as(input, other):
    return reshape(input, other._data.shape)


def flatten(input, start_dim=0, end_dim=-1):
    ndim = input._data.ndim
    if ndim == 0:
        return reshape(input, 1)
    start, end = _wrap_dim(start_dim, ndim), _wrap_dim(end_dim, ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    shape = input._data.shape
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input, dim, sizes):
    dim = _wrap_dim(dim, input._data.ndim)
    shape = input._data.shape
    sizes = _infer_shape(tuple(sizes), shape[dim])
    return view(input, shape[:dim] + sizes + shape[dim + 1:])


def transpose(input, dim0, dim1):
    ndim = input._data.ndim
    d0, d1 = _wrap_dim(dim0, ndim), _wrap_dim(dim1, ndim)
    return _as_view(apply(TRANSPOSE, (input,), {"dim0": d0, "dim1": d1}), input)


swapaxes = transpose


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return _as_view(apply(T, (input,)), input)


def permute(input, *dims):
    dims = _shape_arg(dims)
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not "
                           "match the length of the desired ordering of dimensions i.e. input.dim() "
                           f"= {ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(_wrap_dim(d, ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return _as_view(apply(PERMUTE, (input,), {"dims": dims}), input)


def numpy_T(input):
    ndim = input._data.ndim
    if ndim != 2 and ndim != 0:
        import warnings
        warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse their shape "
                      "is deprecated and it will throw an error in a future release. Consider "
                      "`x.mT` to transpose batches of matrices or `x.permute(*torch.arange(x.ndim "
                      "- 1, -1, -1))` to reverse the dimensions of a tensor.", UserWarning,
                      stacklevel=3)
    return permute(input, *range(ndim - 1, -1, -1))


def matrix_T(input):
    if input._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {input._data.ndim}-D tensor.")
    return transpose(input, -2, -1)


def movedim(input, source, destination):
    return permute(input, *_moved_axes(input._data.ndim, source, destination))


def _moved_axes(ndim, source, destination):
    """The order of the old axes after moving ``source`` to ``destination`` (torch.movedim)."""
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    source = [_wrap_dim(d, ndim) for d in source]
    destination = [_wrap_dim(d, ndim) for d in destination]
    rest = [d for d in range(ndim) if d not in source]
    order = [None] * ndim
    for s, d in zip(source, destination):
        order[d] = s
    fill = iter(rest)
    return [o if o is not None else next(fill) for o in order]


def squeeze(input, dim=None):
    if dim is None:
        return _as_view(apply(SQUEEZE, (input,)), input)
    ndim = input._data.ndim
    if isinstance(dim, (tuple, list)):
        dims = tuple(_wrap_dim(d, ndim) for d in dim)
        return _as_view(apply(SQUEEZE_DIMS, (input,), {"dims": dims}), input)
    return _as_view(apply(SQUEEZE_DIM, (input,), {"dim": _wrap_dim(dim, ndim)}), input)


def unsqueeze(input, dim):
    return _as_view(apply(UNSQUEEZE, (input,), {"dim": _wrap_dim(dim, input._data.ndim + 1)}), input)


def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(shape)}}}, size={list(sizes)}): the "
                           "number of sizes provided ({}) must be greater or equal to the number of "
                           "dimensions in the tensor ({})".format(len(sizes), len(shape)))
    lead = len(sizes) - len(shape)
    target = []
    for i, s in reversed(list(enumerate(sizes))):  # torch checks from the last dim
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            target.insert(0, s)
            continue
        current = shape[i - lead]
        if s == -1:
            s = current
        elif current != 1 and s != current:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size "
                               f"({current}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(shape)}")
        target.insert(0, s)
    return _as_view(apply(EXPAND, (input,), {"shape": tuple(target)}), input)


def expand_to(input, shape: tuple):
    """``input.expand(*shape)`` without argument checking, for VJP rules."""
    return _as_view(apply(EXPAND, (input,), {"shape": tuple(shape)}), input)


def expand_as(input, other):
    return expand(input, *other._data.shape)


def broadcast_to(input, size):
    return expand(input, *size)


SUM_TO = Op(
    id="shape.SUM_TO",
    name="SumBackward1",
    forward=lambda x, *, size: sum_to_shape(x, size),
    vjp=(lambda g, r, x, *, size: expand_to(g, x.shape),),
    sympy=lambda x, *, size: sum_to_shape(np.asarray(x, dtype=object), size),
    kind="reduction",
    label="Σ→",
    doc="sum down to a shape (undo broadcasting)",
    category="reduction",
    params=(Param("size", "int[]"),),
    sample=lambda rng: ([samples.uniform(rng, (2, 3, 4))], {"size": (3, 1)}),
    torch=lambda torch, x, size: x.sum_to_size(size),
)


def sum_to_size(input, *size):
    """Sum ``input`` down to ``size`` (the inverse of broadcasting), one node."""
    size = _shape_arg(size)
    if not broadcast_axes(input._data.shape, size):
        return input if input._data.shape == size else reshape(input, *size)
    return apply(SUM_TO, (input,), {"size": size})


def repeat(input, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    return apply(REPEAT, (input,), {"repeats": sizes})


def flip(input, dims):
    if isinstance(dims, int):
        dims = (dims,)
    dims = tuple(_wrap_dim(d, input._data.ndim) for d in dims) if input._data.ndim else ()
    return apply(FLIP, (input,), {"dims": dims})


def clone(input, *, memory_format=None):
    return apply(CLONE, (input,))


def contiguous(input, memory_format=None):
    if input._data.flags.c_contiguous:
        return input
    return clone(input)


def to_dtype(input, dtype) -> Tensor:
    dtype = _dt.to_dtype(dtype)
    if input._data.dtype == dtype.np:
        return input
    if dtype.is_floating_point and input._data.dtype.kind == "f":
        return apply(TO_COPY, (input,), {"dtype": dtype.np})
    return Tensor._make(input._data.astype(dtype.np))


def cat(tensors, dim=0, *, out=None):
    tensors = [t for t in tensors]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    # torch skips legacy empty 1-d tensors
    nonempty = [t for t in tensors if not (t._data.ndim == 1 and t._data.size == 0)] or tensors[:1]
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ref = nonempty[0]._data
    d = _wrap_dim(dim, ref.ndim)
    for i, t in enumerate(nonempty):
        if t._data.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and "
                               f"{t._data.ndim}")
        for axis in range(ref.ndim):
            if axis != d and t._data.shape[axis] != ref.shape[axis]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                                   f"size {ref.shape[axis]} but got size {t._data.shape[axis]} for "
                                   f"tensor number {i} in the list.")
    target = _dt.result_type(*nonempty).np
    nonempty = [t if t._data.dtype == target else t.to(_dt.from_numpy_dtype(target)) for t in nonempty]
    return apply(CAT, tuple(nonempty), {"dim": d})


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ref)} at "
                               f"entry 0 and {list(t._data.shape)} at entry {i}")
    d = _wrap_dim(dim, len(ref) + 1)
    target = _dt.result_type(*tensors).np
    tensors = [t if t._data.dtype == target else t.to(_dt.from_numpy_dtype(target)) for t in tensors]
    return apply(STACK, tuple(tensors), {"dim": d})


# ----------------------------------------------------------------- array rules
# The rules above on ndarrays, for backward passes that are not recorded (see
# table.array_rules). The engine sums a gradient back to its input's shape and
# casts it to its dtype, so expand, clone and dtype casts pass it on unchanged.
def _reshape_back_array(g, r, x, **params):
    return g.reshape(x.shape)


def _unchanged(g, r, x, **params):
    return g


for _row in (VIEW, UNSAFE_VIEW, RESHAPE_ALIAS, SQUEEZE, SQUEEZE_DIM, SQUEEZE_DIMS, UNSQUEEZE):
    array_rules(_row, _reshape_back_array)
for _row in (EXPAND, CLONE, TO_COPY, ALIAS):
    array_rules(_row, _unchanged)
array_rules(T, lambda g, r, x: g.T)


def _t_node(g, node, inputs):
    """T's node rule: t() is of at most 2-d, so the transpose has the input's shape. When
    ``g`` is itself all of an array transposed (a linear layer's weight gradient, (gᵀx)ᵀ,
    see linalg._mat2_grad), that array is its transpose: handed on as it is, a leaf
    can take it without a copy."""
    base = g.base
    if (base is not None and type(base) is np.ndarray and base.ndim == 2
            and base.shape == g.shape[::-1] and base.strides == g.strides[::-1]):
        return (base,)
    return (g.T,)


node_rule(T, _t_node)
array_rules(TRANSPOSE, lambda g, r, x, *, dim0, dim1: np.swapaxes(g, dim0, dim1) if g.ndim else g)
array_rules(SUM_TO, lambda g, r, x, *, size: _expand_forward(g, shape=x.shape))


_MESHGRID_INDEXING = "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument."


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids of 0-d or 1-d tensors, as torch builds them: each input viewed
    with its length on its own axis (ViewBackward0) and expanded to the grid
    (ExpandBackward0). ``indexing="xy"`` swaps the first two axes (Cartesian: rows follow
    the second input); left out, it is "ij", with torch's once-per-process warning."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        from ..autograd.errors import warn_once
        warn_once(_MESHGRID_INDEXING)
        indexing = "ij"
    elif indexing not in ("xy", "ij"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                               f"{t.dim()}-d tensor of shape {list(t.shape)}")
    if len({t.dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
    grid = [1] * len(tensors)
    for axis, t in zip(axes, tensors):
        grid[axis] = t.numel()
    grids = []
    for axis, t in zip(axes, tensors):
        shape = [1] * len(tensors)
        shape[axis] = t.numel()
        grids.append(t.view(*shape).expand(*grid))
    return tuple(grids)
