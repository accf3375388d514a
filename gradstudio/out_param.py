"""``out=`` on the public functions (``torch.matmul(a, b, out=o)``), as torch runs
it: the result is computed, then written into ``out`` (resized, with torch's
warning, when its shape differs and it is not empty) and ``out`` itself is
returned. ``out=`` is not differentiable: with grad mode on and an argument that
requires grad, torch's error; ``out`` may not narrow the result's dtype kind."""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .autograd.grad_mode import no_grad, state as _grad_state
from .dtypes import scalar_type_name
from .tensor import Tensor, shared_version_counter



def _requires_grad(values) -> bool:
    for value in values:
        if isinstance(value, Tensor) and value._requires_grad:
            return True
        if isinstance(value, (list, tuple)) and _requires_grad(value):
            return True
    return False


def write_out(name: str, result: Tensor, out: Tensor) -> Tensor:
    """Write ``result`` into ``out`` with torch's checks; returns ``out``."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    data = result._data
    if not np.can_cast(data.dtype, out._data.dtype, casting="same_kind"):
        raise RuntimeError(f"result type {scalar_type_name(data.dtype)} can't be cast "
                           f"to the desired output type {scalar_type_name(out._data.dtype)}")
    if out._data.shape != data.shape:
        if out._data.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out._data.shape)}, which does not match the required output shape "
                          f"{list(data.shape)}. This behavior is deprecated, and in a future PyTorch release "
                          "outputs will not be resized unless they have zero elements. You can explicitly "
                          "reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0).",
                          UserWarning, stacklevel=3)
        out._data = data.astype(out._data.dtype, copy=True)
    else:
        out._data[...] = data
    shared_version_counter(out).bump()
    return out


# reductions whose overload with ``out=`` has ``dim`` as a required argument: torch's
# parser refuses ``sum(x, out=o)`` (its dim-less overload has no ``out``)
_DIM_FOR_OUT = {"sum": "tuple of ints dim", "prod": "int dim"}


def _refuse_dimless(name: str, kwargs: dict) -> None:
    """torch's TypeError for ``out=`` on ``sum``/``prod`` given no ``dim`` (``kwargs``: the
    call's other keywords)."""
    if kwargs:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, out=Tensor), "
                    "but expected one of:\n"
                    " * (Tensor input, *, torch.dtype dtype = None)\n"
                    f" * (Tensor input, {_DIM_FOR_OUT[name]}, bool keepdim = False, *, torch.dtype dtype = None, "
                    "Tensor out = None)\n")


def with_out(function):
    """``function`` accepting ``out=``; the same function object when ``out`` is not given
    costs one extra call."""
    name = function.__name__
    dimless = name in _DIM_FOR_OUT

    @functools.wraps(function)
    def wrapped(*args, out=None, **kwargs):
        if out is None:
            return function(*args, **kwargs)
        if dimless and len(args) < 2 and "dim" not in kwargs:
            _refuse_dimless(name, kwargs)
        if _grad_state.enabled and (_requires_grad(args) or _requires_grad(kwargs.values())):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad.")
        with no_grad():
            result = function(*args, **kwargs)
        return write_out(name, result, out)
    return wrapped
