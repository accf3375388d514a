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



class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (a lazy module's, until its first call):
    it has no values and no shape until :meth:`materialize` turns it into a Parameter."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        from .. import dtypes as _dt
        self = Parameter.__new__(cls, None, requires_grad)
        self._data = np.empty(0, dtype=(dtype or _dt.get_default_dtype()).np)
        return self

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the parameter ``shape`` (uninitialised values) and make it a Parameter."""
        dtype = self._data.dtype if dtype is None else dtype.np
        self._data = np.empty(tuple(shape), dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This error usually "
                           "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
                           "initialized one. Call `forward` to initialize the parameters before accessing their "
                           "attributes.")

    def _uninitialized(self, method: str):
        raise ValueError(f"Attempted to use an uninitialized parameter in <method '{method}' of "
                         "'torch._C.TensorBase' objects>. This error happens when you are using a `LazyModule` or "
                         "explicitly manipulating `torch.nn.parameter.UninitializedParameter` objects. When using "
                         "LazyModules Call `forward` with a dummy batch to initialize the parameters before calling "
                         "torch functions")

    def numel(self):
        self._uninitialized("numel")

    def dim(self):
        self._uninitialized("dim")

    def __repr__(self, *, tensor_contents=None):
        return "<UninitializedParameter>"

    __str__ = __repr__

    def detach(self):
        """Another uninitialised parameter (torch's state_dict holds these for a lazy module)."""
        copy = UninitializedParameter(self._requires_grad)
        copy._data = self._data
        return copy

    def __deepcopy__(self, memo):
        memo[id(self)] = copy = self.detach()
        return copy


UninitializedParameter.__module__ = "torch.nn.parameter"
