"""The op table, and the binding of its functions onto :class:`Tensor`.

``OPS`` lists every row (one torch grad_fn name each); tests, the node palette
and the symbolic side read it. A row with ``api`` names is bound here from the
row itself: ``torch.<name>`` (through :func:`exported`) and ``Tensor.<name>``,
also for a row made later (a test module's). ``METHODS`` says which function
every other Tensor method and operator calls — the place where ``x * y`` meets
``mul``, and where wrappers that pick among several rows (``pow``) are bound.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import creation, einsum, elementwise, indexing, inplace, linalg, losses, matrix_functions, random, reduction, sets, shape
from . import nn_functions, overwrite  # noqa: F401  (rows of their own files: nn.functional, zero_/fill_/copy_)
from . import activations  # noqa: F401  (hardtanh, selu, celu, mish, glu, prelu … of nn.functional)
from . import avg_pool, conv  # noqa: F401  (convolution, max and average pooling)
from . import resampling  # noqa: F401  (upsampling, reflection/replication padding, pixel shuffle, im2col)
from . import special  # erf, erfc, exp2, trunc, frac, nan_to_num
from . import special_functions  # lgamma, digamma, polygamma, mvlgamma, erfinv, i0 and torch.special's own
from . import compositions, cumulative, rearranging, scattering, sorting, splitting, triangular
from . import nan_reductions, order_statistics, searching, two_results
from . import recurrent  # noqa: F401  (the oneDNN LSTM layer nn.LSTM runs on float32)
from . import pointwise_binary, pointwise_unary  # lerp, addcmul, atan2, xlogy, fmod …; logit, sinc, frexp
from . import loss_compositions, margin_losses  # noqa: F401  (nn.functional's losses and distances)
from . import matrix_products  # addmv, addr, baddbmm, addbmm; multi_dot, chain_matmul, kron
from . import attention  # noqa: F401  (safe softmax, the fused CPU attention kernel)
from . import rotation  # rot90, fliplr, flipud
from . import cross_product  # linalg.cross, cross
from . import distances  # noqa: F401  (cdist)
from . import block_diagonal  # noqa: F401  (block_diag)
from .table import _ON_REGISTER, BY_ID, Op, apply, function_for, op_by_id, op_by_key, rows  # noqa: F401

# Every row declared in the modules above, in declaration order (each row
# registers itself under its id when it is built).
OPS: tuple = rows()

_EXPORTED: dict = {}      # public name -> function, from the rows' api
_EXPORT_HOOKS: list = []  # where exports also go (gradstudio's namespace)


def _bind(op: Op) -> None:
    if not op.api:
        return
    function = function_for(op)
    for name in op.api:
        _EXPORTED[name] = function
        setattr(Tensor, name, function)
        for hook in _EXPORT_HOOKS:
            hook(name, function)


def remove(op: Op) -> None:
    """Take a row out of the table again, with its exports (a row a test module made)."""
    if BY_ID.get(op.id) is not op:
        raise KeyError(f"{op.id!r} is not in the table")
    del BY_ID[op.id]
    function = function_for(op)
    for name in op.api:
        if _EXPORTED.get(name) is function:
            del _EXPORTED[name]
            if Tensor.__dict__.get(name) is function:
                delattr(Tensor, name)
            for hook in _EXPORT_HOOKS:
                hook(name, None)


def exported() -> dict:
    """{public name: function} for every row with ``api`` names."""
    return dict(_EXPORTED)


def on_export(hook) -> None:
    """Call ``hook(name, function)`` for every row export, now and for rows made later
    (``function`` None: the name was removed)."""
    _EXPORT_HOOKS.append(hook)
    for name, function in _EXPORTED.items():
        hook(name, function)


for _op in OPS:
    _bind(_op)
_ON_REGISTER.append(_bind)


def _swap(function):
    """``other ∘ self`` for the reflected operators (``2 * x`` → ``mul(2, x)``)."""
    def reflected(self, other):
        return function(other, self)
    reflected.__name__ = "r" + function.__name__
    return reflected


def _to(self, *args, **kwargs):
    """``x.to(dtype)``, ``x.to(device)``, ``x.to(other)``, ``x.to(device, dtype)``."""
    dtype = kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, _dt.dtype):
            dtype = arg
        elif isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) or arg.__class__.__name__ == "device":
            from ..tensor import device
            device(arg)  # validates: only the CPU
    if "device" in kwargs and kwargs["device"] is not None:
        from ..tensor import device
        device(kwargs["device"])
    if dtype is None:
        return self
    result = shape.to_dtype(self, dtype)
    if kwargs.get("copy") and result is self:
        return shape.clone(self)
    return result


_LEGACY_TYPE = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
                "float16": "torch.HalfTensor", "int64": "torch.LongTensor", "int32": "torch.IntTensor",
                "int16": "torch.ShortTensor", "int8": "torch.CharTensor", "uint8": "torch.ByteTensor",
                "bool": "torch.BoolTensor"}


def _type(self, dtype=None, non_blocking=False):
    if dtype is None:
        return _LEGACY_TYPE[self._data.dtype.name]
    from ..legacy_tensors import as_dtype
    dtype = as_dtype(dtype)
    if isinstance(dtype, str) and dtype in _LEGACY_TYPE.values():
        dtype = {v: k for k, v in _LEGACY_TYPE.items()}[dtype]
    return shape.to_dtype(self, dtype)


def _converter(dtype):
    def convert(self, memory_format=None):
        return shape.to_dtype(self, dtype)
    return convert


def _new(maker):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        return maker(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)
    return new


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return creation.tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return creation.full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _iop(function, ufunc=None):
    """``x += y``: the in-place op, returning the tensor itself."""
    in_place = inplace.inplace(function, ufunc)

    def method(self, other):
        return in_place(self, other)
    return method


def _max(self, dim=None, keepdim=False):
    return reduction.max(self, dim, keepdim)


def _min(self, dim=None, keepdim=False):
    return reduction.min(self, dim, keepdim)


E, PB, PU = elementwise, pointwise_binary, pointwise_unary
METHODS = {
    # operators
    "__add__": E.fast_add, "__radd__": E.fast_add, "__sub__": E.fast_sub, "__rsub__": E.rsub,
    "__mul__": E.mul, "__rmul__": E.mul, "__truediv__": E.fast_div, "__rtruediv__": E.rdiv,
    "__floordiv__": E.floor_divide, "__rfloordiv__": _swap(E.floor_divide),
    "__mod__": PB.remainder, "__rmod__": _swap(PB.remainder),
    "__pow__": E.pow, "__rpow__": E.rpow, "__neg__": E.neg, "__pos__": lambda self: self,
    "__abs__": E.abs, "__matmul__": linalg.matmul, "__rmatmul__": linalg.rmatmul,
    "__eq__": E.eq, "__ne__": E.ne, "__lt__": E.lt, "__le__": E.le, "__gt__": E.gt, "__ge__": E.ge,
    "__and__": E.bitwise_and, "__or__": E.bitwise_or, "__xor__": E.bitwise_xor,
    "__rand__": _swap(E.bitwise_and), "__ror__": _swap(E.bitwise_or),
    "__invert__": E.bitwise_not,
    "__getitem__": indexing.getitem, "__setitem__": indexing.setitem,
    "__iadd__": _iop(E.add, np.add), "__isub__": _iop(E.sub, np.subtract),
    "__imul__": _iop(E.mul, np.multiply), "__itruediv__": _iop(E.div, np.true_divide),
    "__ipow__": _iop(E.pow),
    # arithmetic
    "add": E.add, "sub": E.sub, "subtract": E.sub, "mul": E.mul, "multiply": E.mul,
    "div": E.div, "divide": E.div, "true_divide": E.div, "pow": E.pow, "square": E.square,
    "floor_divide": E.floor_divide, "remainder": PB.remainder, "fmod": PB.fmod,
    "maximum": E.maximum, "minimum": E.minimum, "clamp": E.clamp, "clip": E.clamp,
    "clamp_min": E.clamp_min, "clamp_max": E.clamp_max,
    "where": lambda self, condition, other: elementwise.where(condition, self, other),
    "lerp": PB.lerp, "addcmul": PB.addcmul, "addcdiv": PB.addcdiv, "atan2": PB.atan2, "arctan2": PB.atan2,
    "logaddexp": PB.logaddexp, "logaddexp2": PB.logaddexp2, "hypot": PB.hypot, "xlogy": PB.xlogy,
    "copysign": PB.copysign, "float_power": PB.float_power, "ldexp": PB.ldexp, "nextafter": PB.nextafter,
    "heaviside": PB.heaviside, "logit": PU.logit, "frexp": PU.frexp,
    # unary math: bound from the rows' api (see _bind)
    # comparisons and logic
    "eq": E.eq, "ne": E.ne, "lt": E.lt, "le": E.le, "gt": E.gt, "ge": E.ge,
    "greater": E.gt, "less": E.lt, "logical_and": E.logical_and, "logical_or": E.logical_or,
    "logical_xor": E.logical_xor, "logical_not": E.logical_not, "isnan": E.isnan,
    "isinf": E.isinf, "isfinite": E.isfinite,
    # reductions
    "sum": reduction.sum, "mean": reduction.mean, "max": _max, "min": _min,
    "amax": reduction.amax, "amin": reduction.amin, "argmax": reduction.argmax,
    "argmin": reduction.argmin, "prod": reduction.prod, "norm": reduction.norm,
    "softmax": reduction.softmax, "log_softmax": reduction.log_softmax,
    "logsumexp": reduction.logsumexp, "cumsum": reduction.cumsum, "var": reduction.var,
    "std": reduction.std, "all": reduction.all, "any": reduction.any,
    "count_nonzero": reduction.count_nonzero,
    # linear algebra
    "matmul": linalg.matmul, "mm": linalg.mm, "mv": linalg.mv, "dot": linalg.dot,
    "bmm": linalg.bmm, "outer": linalg.outer, "addmm": linalg.addmm,
    "addmv": matrix_products.addmv, "addr": matrix_products.addr, "baddbmm": matrix_products.baddbmm,
    "addbmm": matrix_products.addbmm, "kron": matrix_products.kron,
    "trace": matrix_functions.trace, "diag": matrix_functions.diag,
    "diagonal": matrix_functions.diagonal, "det": matrix_functions.det,
    "inverse": matrix_functions.inverse, "logdet": matrix_functions.logdet,
    "slogdet": matrix_functions.slogdet,
    # shape
    "t": shape.t, "transpose": shape.transpose, "swapaxes": shape.transpose,
    "permute": shape.permute, "reshape": shape.reshape, "view": shape.view,
    "view_as": shape.view_as, "reshape_as": shape.reshape_as, "flatten": shape.flatten,
    "unflatten": shape.unflatten, "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze,
    "expand": shape.expand, "expand_as": shape.expand_as, "broadcast_to": shape.broadcast_to,
    "repeat": shape.repeat, "flip": shape.flip, "clone": shape.clone,
    "cumprod": cumulative.cumprod, "diff": compositions.diff,
    "nan_to_num": special.nan_to_num, "nan_to_num_": inplace.inplace(special.nan_to_num),
    "scatter": scattering.scatter, "scatter_": scattering.scatter_,
    "scatter_add": scattering.scatter_add, "scatter_add_": scattering.scatter_add_,
    "roll": rearranging.roll, "tile": rearranging.tile, "masked_select": rearranging.masked_select,
    "repeat_interleave": rearranging.repeat_interleave,
    "median": order_statistics.median, "nanmedian": order_statistics.nanmedian,
    "mode": order_statistics.mode, "kthvalue": order_statistics.kthvalue,
    "cummax": cumulative.cummax, "cummin": cumulative.cummin, "logcumsumexp": cumulative.logcumsumexp,
    "aminmax": two_results.aminmax, "nansum": nan_reductions.nansum, "nanmean": nan_reductions.nanmean,
    "histc": searching.histc,
    "polygamma": special_functions.polygamma_method, "polygamma_": special_functions.polygamma_,
    "mvlgamma": special_functions.mvlgamma, "mvlgamma_": inplace.inplace(special_functions.mvlgamma),
    "sort": sorting.sort, "argsort": sorting.argsort, "msort": sorting.msort, "topk": sorting.topk,
    "split": splitting.split, "chunk": splitting.chunk, "unbind": splitting.unbind,
    "unsafe_split": splitting.unsafe_split, "unsafe_chunk": splitting.unsafe_chunk,
    "tensor_split": splitting.tensor_split, "hsplit": splitting.hsplit, "vsplit": splitting.vsplit,
    "dsplit": splitting.dsplit,
    "cross": cross_product.cross,
    "rot90": rotation.rot90, "fliplr": rotation.fliplr, "flipud": rotation.flipud,
    "tril": triangular.tril, "triu": triangular.triu, "tril_": triangular.tril_, "triu_": triangular.triu_,
    "contiguous": shape.contiguous, "sum_to_size": shape.sum_to_size, "movedim": shape.movedim,
    "T": property(shape.numpy_T), "mT": property(shape.matrix_T),
    # indexing
    "select": indexing.select, "narrow": indexing.narrow, "gather": indexing.gather,
    "index_select": indexing.index_select, "masked_fill": indexing.masked_fill,
    "nonzero": indexing.nonzero, "take": indexing.take,
    "take_along_dim": indexing.take_along_dim,
    # counting and sets
    "unique": sets.unique, "unique_consecutive": sets.unique_consecutive,
    "bincount": sets.bincount, "argwhere": sets.argwhere,
    # conversion
    "to": _to, "type": _type, "float": _converter(_dt.float32), "double": _converter(_dt.float64),
    "half": _converter(_dt.float16), "long": _converter(_dt.int64), "int": _converter(_dt.int32),
    "bool": _converter(_dt.bool_), "byte": _converter(_dt.uint8), "char": _converter(_dt.int8),
    "short": _converter(_dt.int16), "cpu": lambda self, *a, **k: self,
    "type_as": lambda self, other: shape.to_dtype(self, other.dtype),
    "new_tensor": _new_tensor, "new_zeros": _new(creation.zeros), "new_ones": _new(creation.ones),
    "new_empty": _new(creation.empty), "new_full": _new_full,
    # in place
    "add_": inplace.inplace(E.add, np.add), "sub_": inplace.inplace(E.sub, np.subtract),
    "mul_": inplace.inplace(E.mul, np.multiply), "div_": inplace.inplace(E.div, np.true_divide),
    "pow_": inplace.inplace(E.pow),
    "clamp_": inplace.inplace(E.clamp), "clip_": inplace.inplace(E.clamp),
    "clamp_min_": inplace.inplace(E.clamp_min), "clamp_max_": inplace.inplace(E.clamp_max),
    "exp_": inplace.inplace(E.exp), "log_": inplace.inplace(E.log), "neg_": inplace.inplace(E.neg),
    "abs_": inplace.inplace(E.abs), "sqrt_": inplace.inplace(E.sqrt),
    "relu_": inplace.inplace(E.relu), "sigmoid_": inplace.inplace(E.sigmoid),
    "tanh_": inplace.inplace(E.tanh), "masked_fill_": inplace.inplace(indexing.masked_fill),
    **{name + "_": inplace.inplace(function) for name, function in (
        ("lerp", PB.lerp), ("addcmul", PB.addcmul), ("addcdiv", PB.addcdiv), ("atan2", PB.atan2),
        ("arctan2", PB.atan2), ("hypot", PB.hypot), ("xlogy", PB.xlogy), ("copysign", PB.copysign),
        ("fmod", PB.fmod), ("remainder", PB.remainder), ("ldexp", PB.ldexp), ("nextafter", PB.nextafter),
        ("heaviside", PB.heaviside), ("logit", PU.logit), ("sinc", PU.sinc), ("deg2rad", PU.deg2rad),
        ("rad2deg", PU.rad2deg), ("lgamma", special_functions.lgamma),
        ("digamma", special_functions.digamma), ("erfinv", special_functions.erfinv),
        ("i0", special_functions.i0))},
    "float_power_": PB.float_power_,
    "zero_": inplace.zero_, "fill_": inplace.fill_, "copy_": inplace.copy_,
    # random
    "uniform_": random.uniform_, "normal_": random.normal_, "bernoulli_": random.bernoulli_,
    "random_": random.random_, "exponential_": random.exponential_, "bernoulli": random.bernoulli,
    "multinomial": random.multinomial,
}
del E, PB, PU

from ..numpy_names import METHODS as _NUMPY_NAMED, accepting as _accepting  # noqa: E402

for _name, _function in METHODS.items():
    setattr(Tensor, _name, _accepting(_function) if _name in _NUMPY_NAMED else _function)
Tensor.__array_priority__ = 1000  # numpy defers to our reflected operators
