"""In-place ops (``add_``, ``mul_``, ``zero_``, ``x[i] = v``, ``x -= …``) with
torch's rules.

An in-place op computes the out-of-place result, writes its values into the
target's array (so numpy views see the change, as torch views do), bumps the
version counter — so a node that saved the old values notices — and, when
grad is being recorded, makes the result's node the target's ``grad_fn``.
A leaf that requires grad may only be changed in place under ``no_grad``.
"""
from __future__ import annotations

import weakref

import numpy as np

from .. import dtypes as _dt
from ..autograd import errors as _err
from ..autograd.grad_mode import state as _grad_state
from ..autograd.node import EPOCH
from ..tensor import Tensor, make, shared_version_counter


def check_inplace(target: Tensor, *others) -> bool:
    """Whether this in-place op must be recorded; raises torch's errors."""
    if not _grad_state.enabled:
        return False
    recording = target._requires_grad or any(isinstance(o, Tensor) and o._requires_grad
                                             for o in others)
    if not recording:
        return False
    if target.grad_fn is None and target._requires_grad:
        raise RuntimeError(_err.LEAF_INPLACE)
    if target._base is not None and (target._base._requires_grad or target._requires_grad):
        raise RuntimeError("GradStudio does not record in-place changes to a view of a tensor that "
                           "requires grad (torch would rewrite the base's graph). Use an "
                           "out-of-place op instead, e.g. y = y.clone(); y[...] = ...")
    return True


def commit_inplace(target: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``target`` and let the target carry its graph."""
    if result._data.dtype != target._data.dtype and not np.can_cast(
            result._data.dtype, target._data.dtype, casting="same_kind"):
        raise RuntimeError(f"result type {_dt.scalar_type_name(result._data.dtype)} can't be cast to "
                           f"the desired output type {_dt.scalar_type_name(target._data.dtype)}")
    if result._data.shape != target._data.shape:
        raise RuntimeError(f"output with shape {list(target._data.shape)} doesn't match the "
                           f"broadcast shape {list(result._data.shape)}")
    previous = target.grad_fn
    if previous is not None and previous.traced is not None and previous.traced[1] is target._data:
        # keep the traced value the previous node produced, not what is written now
        previous.traced = (previous.traced[0], target._data.copy())
    target._data[...] = result._data
    shared_version_counter(target).bump()
    node = result.grad_fn
    if node is not None and _grad_state.enabled:
        target.grad_fn = node
        target._requires_grad = True
        node._epoch = EPOCH[0]  # the node was made before the write it belongs to
        if node._out_ref is not None:  # the node saved its result: that is now the target
            node._out_data = target._data
            node._out_ref = weakref.ref(target)
    return target


def inplace(function, ufunc=None):
    """Make ``name_`` from an out-of-place op ``name``. With ``ufunc`` (add, subtract,
    multiply, true_divide), the unrecorded case — an optimiser's ``w -= lr * w.grad``
    under no_grad — writes straight into the tensor's array."""
    def method(self, *args, **kwargs):
        if ufunc is not None and not kwargs and len(args) == 1 and _direct(self, args[0]):
            other = args[0]
            ufunc(self._data, other._data if isinstance(other, Tensor) else other, out=self._data)
            shared_version_counter(self).bump()
            return self
        recording = check_inplace(self, *args, *kwargs.values())
        source = self
        if recording:
            # The node must see the values from before the write, not the target
            # itself (which is about to change): give it a snapshot with the same graph edge.
            source = _snapshot(self)
            result = function(source, *args, **kwargs)
        else:
            from ..autograd.grad_mode import no_grad
            with no_grad():
                result = function(self, *args, **kwargs)
        return commit_inplace(self, result)
    method.__name__ = function.__name__ + "_"
    return method


def _direct(target: Tensor, other) -> bool:
    """Whether ``target op= other`` can be done by numpy in place with torch's result:
    nothing to record, a floating target, an operand that does not change the dtype
    or the shape."""
    if _grad_state.enabled and (target._requires_grad or (isinstance(other, Tensor) and other._requires_grad)):
        return False
    data = target._data
    if data.dtype.kind != "f" or not data.flags.writeable:
        return False
    if isinstance(other, Tensor):
        o = other._data
        return o.dtype == data.dtype and (o.shape == data.shape or o.ndim <= data.ndim and
                                          np.broadcast_shapes(o.shape, data.shape) == data.shape)
    return type(other) is float or type(other) is int


def _snapshot(t: Tensor) -> Tensor:
    s = make(t._data.copy(), t._requires_grad, t.grad_fn)
    s._accumulator = t._accumulator
    return s


def zero_(self):
    if check_inplace(self):
        from .overwrite import ZERO
        from .table import apply
        return commit_inplace(self, apply(ZERO, (self,)))
    return fill_(self, 0)


def fill_(self, value):
    if isinstance(value, Tensor):
        if value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        if check_inplace(self, value):
            from .overwrite import FILL_TENSOR
            from .table import apply
            return commit_inplace(self, apply(FILL_TENSOR, (self, value)))
        value = value.item()
    if check_inplace(self):
        from .overwrite import FILL
        from .table import apply
        return commit_inplace(self, apply(FILL, (self,), {"value": value}))
    self._data[...] = value
    shared_version_counter(self).bump()
    return self


def copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        src = make(np.asarray(src))
    if check_inplace(self, src):
        from .overwrite import COPY
        from .table import apply
        np.broadcast_shapes(src._data.shape, self._data.shape)  # torch's error for a source that does not fit
        return commit_inplace(self, apply(COPY, (self, src)))
    self._data[...] = np.broadcast_to(src._data, self._data.shape)
    shared_version_counter(self).bump()
    return self
