"""``nn.Parameter``: a Tensor subclass marking a module's learnable leaf.

Assigning one to a Module attribute registers it; it requires grad by
default and prints as ``Parameter containing:`` followed by the tensor. Ops on
a parameter return plain tensors, as in torch.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _init, shared_version_counter


class Parameter(Tensor):
    """A leaf tensor that shares ``data``'s values and requires grad by default."""

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            array = np.empty(0, dtype=np.float32)
        else:
            array = data._data
        self = object.__new__(cls)
        _init(self, array, bool(requires_grad), None)
        if data is not None:
            self._vc = shared_version_counter(data)  # shares data's storage, so its version too
        return self

    def __init__(self, data=None, requires_grad: bool = True):
        pass  # all set up in __new__; Tensor.__init__ is the legacy constructor

    def __repr__(self, *, tensor_contents=None):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        copy = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            copy._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = copy
        return copy


Parameter.__module__ = "torch.nn.parameter"  # type(p) prints as torch's; pickling goes by function


def _rebuild_parameter(data, requires_grad):
    return Parameter(Tensor._make(data), requires_grad)

