"""The torch-shaped public namespace of GradStudio, loaded on first use.

:mod:`gradstudio` (the package) makes its names — ``tensor``, ``Tensor``, ``nn``,
``float32``, ``no_grad`` … — from this module the first time one of them is read,
so that ``import gradstudio.studio.…`` in the app's window process loads no engine
module and leaves numpy's error state alone. Importing this module is what
``import gradstudio`` did before: the whole engine, and torch's silent floating-point
errors.
"""
from __future__ import annotations

import numbers as _numbers
import os as _os
import sys as _sys

import numpy as _np

# torch never warns about overflow, division by zero or invalid values: results
# are inf and nan silently. Match it (this sets numpy's state for this thread).
_np.seterr(all="ignore")

from . import dtypes as _dtypes
from .dtypes import (bool_ as bool, dtype, float16, float32, float64, int8, int16, int32,  # noqa: F401
                     int64, uint8, get_default_dtype, set_default_dtype, result_type as _result_type)
from .tensor import Size, Tensor, device  # noqa: F401
from . import ops as _ops  # binds the op table onto Tensor
from . import autograd, nn  # noqa: F401
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,  # noqa: F401
                                 set_grad_enabled)
from .ops.creation import (arange, as_tensor, asarray, empty, empty_like, eye, from_numpy,  # noqa: F401
                           full, full_like, linspace, logspace, ones, ones_like, tensor, zeros, zeros_like)
from .ops.random import (bernoulli, get_rng_state, initial_seed, manual_seed, multinomial,  # noqa: F401
                         normal, poisson, rand, rand_like, randint, randint_like, randn, randn_like,
                         randperm, seed, set_rng_state)
from .ops.elementwise import (add, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,  # noqa: F401
                              clamp, clamp_max, clamp_min, div, eq, floor_divide, ge, gt, isfinite,
                              isinf, isnan, le, logical_and, logical_not, logical_or, logical_xor, lt,
                              maximum, minimum, mul, ne, pow, rsub, square, sub, where)
from .ops.einsum import einsum  # noqa: F401
from .ops.indexing import (gather, index_select, masked_fill, narrow, nonzero, select, take,  # noqa: F401
                           take_along_dim)
from .ops.linalg import addmm, bmm, dot, ger, matmul, mm, mv, outer  # noqa: F401
from .ops.matrix_functions import det, diag, diagonal, inverse, logdet, slogdet, trace  # noqa: F401
from .ops.reduction import (all, amax, amin, any, argmax, argmin, count_nonzero, cumsum,  # noqa: F401
                            log_softmax, logsumexp, max, mean, min, norm, prod, softmax, std, sum,
                            var)
from .ops.shape import (broadcast_to, cat, clone, concat, concatenate, flatten, flip, meshgrid,  # noqa: F401
                        movedim, permute, reshape, squeeze, stack, swapaxes, t, transpose,
                        unflatten, unsqueeze)
from .printing import get_printoptions, printoptions, set_printoptions  # noqa: F401
from . import linalg, cuda, accelerator, return_types  # noqa: F401,E402
from . import special  # noqa: F401,E402
from . import serialization  # noqa: F401,E402
from .type_info import finfo, iinfo  # noqa: F401,E402
from .ops.sets import argwhere, bincount, isin, unique, unique_consecutive  # noqa: F401,E402
from .ops.triangular import tril, triu  # noqa: F401,E402
from .ops.splitting import (chunk, dsplit, hsplit, split, tensor_split, unbind, unsafe_chunk,  # noqa: F401,E402
                            unsafe_split, vsplit)
from .ops.sorting import argsort, msort, sort, topk  # noqa: F401,E402
from .ops.rearranging import masked_select, repeat_interleave, roll, tile  # noqa: F401,E402
from .ops.scattering import scatter, scatter_add  # noqa: F401,E402
from .ops.cumulative import cummax, cummin, cumprod, logcumsumexp  # noqa: F401,E402
from .ops.order_statistics import kthvalue, median, mode, nanmedian  # noqa: F401,E402
from .ops.nan_reductions import nanmean, nansum  # noqa: F401,E402
from .ops.two_results import aminmax, std_mean, var_mean  # noqa: F401,E402
from .ops.searching import bucketize, histc, searchsorted  # noqa: F401,E402
from .ops.compositions import broadcast_shapes, broadcast_tensors, cosine_similarity, diff  # noqa: F401,E402
from .ops.special import nan_to_num  # noqa: F401,E402
from .ops.pointwise_binary import (addcdiv, addcmul, arctan2, atan2, copysign, float_power, fmod,  # noqa: F401,E402
                                   heaviside, hypot, ldexp, lerp, logaddexp, logaddexp2, nextafter, remainder,
                                   xlogy)
from .ops.pointwise_unary import frexp, logit  # noqa: F401,E402
from .ops.dimension_padding import (atleast_1d, atleast_2d, atleast_3d, column_stack,  # noqa: F401,E402
                                    dstack, hstack, row_stack, vstack)
from .ops.matrix_products import addbmm, addmv, addr, baddbmm, chain_matmul, kron  # noqa: F401,E402
from .ops.special_functions import mvlgamma, polygamma  # noqa: F401,E402
from .ops.attention import _safe_softmax  # noqa: F401,E402
from .ops.rotation import fliplr, flipud, rot90  # noqa: F401,E402
from .ops.combinatorics import cartesian_prod, combinations  # noqa: F401,E402
from .ops.cross_product import cross  # noqa: F401,E402
from .ops.distances import cdist  # noqa: F401,E402
from .ops.block_diagonal import block_diag  # noqa: F401,E402
from .serialization import load, save  # noqa: F401,E402
from . import backends, optim, utils  # noqa: F401,E402

import math as _math  # noqa: E402
from .out_param import with_out as _with_out  # noqa: E402

# torch's out= on the hand-written public functions (the rows' own exports stay the
# same object as the Tensor method, so they are left as they are)
for _name in ("add", "sub", "mul", "div", "pow", "remainder", "maximum", "minimum", "clamp", "where",
              "matmul", "mm", "bmm", "mv", "dot", "addmm", "outer", "cat", "concat", "concatenate", "stack",
              "hstack", "vstack", "sum", "mean", "prod", "cumsum", "logsumexp", "softmax", "log_softmax",
              "arange", "linspace", "zeros", "ones", "full", "randn", "rand", "eye", "gather",
              "index_select", "take", "lerp", "addcmul", "addcdiv", "atan2", "arctan2", "logaddexp",
              "logaddexp2", "hypot", "xlogy", "copysign", "fmod", "ldexp", "nextafter",
              "heaviside", "logit"):
    globals()[_name] = _with_out(globals()[_name])
from .numpy_names import FUNCTIONS as _NUMPY_NAMED, accepting as _accepting  # noqa: E402

for _name in _NUMPY_NAMED:  # torch.sum(x, axis=0, keepdims=True), torch.cat(ts, axis=0)
    globals()[_name] = _accepting(globals()[_name])
del _name

pi, e, inf, nan = _math.pi, _math.e, _math.inf, _math.nan


def set_default_device(device) -> None:
    """Only the CPU exists: ``set_default_device("cpu")`` (or None) is accepted, any other
    device fails the way a CPU-only torch does once a tensor is made."""
    if device is not None:
        from .tensor import device as _device
        name = str(device).split(":")[0]
        if name == "cuda":
            raise AssertionError("Torch not compiled with CUDA enabled")
        _device(device)


_threads = [_os.cpu_count() or 1]


def set_num_threads(number: int) -> None:
    """Kept and given back by get_num_threads (numpy's BLAS threads are set where it starts)."""
    if not isinstance(number, _numbers.Integral) or type(number) is type(True) or number <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _threads[0] = number


def get_num_threads() -> int:
    return _threads[0]


def get_default_device():
    from .tensor import device as _device
    return _device("cpu")
from .generator import Generator, default_generator  # noqa: F401,E402


def _export(name, function):
    """torch.exp, torch.asin …: the rows' api names (see gradstudio.ops), here and in the
    package once it has copied this namespace."""
    for namespace in (globals(), vars(_sys.modules[__package__])):
        if function is None:
            namespace.pop(name, None)
        else:
            namespace[name] = function


_ops.on_export(_export)

float = float32  # noqa: A001 — torch's aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16

clip = clamp
subtract = sub
multiply = mul
divide = div
true_divide = div
greater, less = gt, lt
from .legacy_tensors import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,  # noqa: F401,E402
                             HalfTensor, IntTensor, LongTensor, ShortTensor)


from .autograd.errors import typename  # noqa: E402,F401


def is_tensor(obj) -> "bool":
    return isinstance(obj, Tensor)


def is_floating_point(input) -> "bool":
    return input.is_floating_point()


def numel(input) -> "int":
    return input.numel()


def result_type(tensor1, tensor2):
    return _result_type(tensor1, tensor2)


def promote_types(type1, type2):
    return _dtypes.result_type(Tensor._make(__import__("numpy").zeros(1, type1.np)),
                               Tensor._make(__import__("numpy").zeros(1, type2.np)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> "bool":
    import numpy as np
    return builtins_bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    import numpy as np
    return Tensor._make(np.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other) -> "bool":
    return input.shape == other.shape and builtins_bool((input._data == other._data).all())


for _function in (allclose, isclose, equal):  # x.allclose(y): the same functions as methods
    setattr(Tensor, _function.__name__, _function)


def detach(input):
    return input.detach()


import builtins as _builtins  # noqa: E402

builtins_bool = _builtins.bool
del _builtins


def load_ipython_extension(ipython):
    """``%load_ext gradstudio`` in IPython or Jupyter: every ``backward()`` is
    checked under its cell (:mod:`gradstudio.studio.kernel.extension`). The
    import happens only when IPython asks, so the engine stays free of the
    studio layer."""
    from .studio.kernel.extension import load_ipython_extension as load
    load(ipython)


def unload_ipython_extension(ipython):
    from .studio.kernel.extension import unload_ipython_extension as unload
    unload(ipython)

_READY = True  # the last line: the package copies this namespace only once it is complete
