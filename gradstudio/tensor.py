"""The :class:`Tensor`: a numpy array plus what autograd needs.

A tensor holds its values (``_data``, a numpy array), ``requires_grad``,
``grad``, ``grad_fn`` (the :class:`~gradstudio.autograd.node.OpNode` that made
it, ``None`` for a leaf) and a version counter bumped by in-place ops. Its
arithmetic and methods come from the op table (``gradstudio.ops`` binds them
onto the class), so every method here is about autograd state, conversion or
printing — never about a particular op.
"""
from __future__ import annotations

import warnings
import weakref

import numpy as np

from . import dtypes as _dt
from .autograd import errors as _err
from .autograd.grad_mode import state as _grad_state
from .autograd import api as _autograd_api
from .autograd.node import HookList, VersionCounter, _HookHandle, new_accumulator

__all__ = ["Tensor", "Size"]


class Size(tuple):
    """torch.Size: a tuple that prints as ``torch.Size([2, 2])``."""

    __slots__ = ()

    def __repr__(self):
        return f"torch.Size({list(self)!r})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        result = tuple.__getitem__(self, item)
        return Size(result) if isinstance(item, slice) else result


class device:
    """Only the CPU exists here; kept so ``x.device`` and ``device=`` work."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if str(type).split(":")[0] != "cpu":
            raise RuntimeError(f"GradStudio runs on the CPU only; got device {type!r}")
        self.type = "cpu"
        self.index = index

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        return isinstance(other, device) or other == "cpu"

    def __hash__(self):
        return hash("cpu")


CPU = device()


class Tensor:
    """An n-dimensional array with PyTorch's autograd semantics."""

    __slots__ = ("_data", "_requires_grad", "grad_fn", "_base", "__weakref__", "__dict__")

    # Rarely set, so they live in the instance dict and default to these
    # class attributes: creating a tensor then sets only the three slots above.
    _grad = None            # .grad
    _vc = None              # VersionCounter (views use their base's); None: never changed in place
    _hooks = None           # tensor hooks of a leaf (non-leaf hooks live on grad_fn)
    _accumulator = None     # weakref to this leaf's AccumulateGrad
    _retains_grad = False

    # ------------------------------------------------------------------ creation
    def __init__(self, *args, **kwargs):
        """The legacy constructor: ``Tensor([1, 2])`` (float32 values) or
        ``Tensor(2, 3)`` (a float32 tensor of that shape, zero-filled)."""
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor):
                data = data._data
            array = np.array(data, dtype=_dt.get_default_dtype().np)
        else:
            shape = args[0] if len(args) == 1 and not isinstance(args[0], int) else args
            array = np.zeros(tuple(int(s) for s in shape), dtype=_dt.get_default_dtype().np)
        _init(self, array, False, None)

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool = False, grad_fn=None) -> "Tensor":
        return make(data, requires_grad, grad_fn)

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> device:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    def stride(self, dim=None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim)]

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    @property
    def _version(self) -> int:
        vc = peek_version_counter(self)
        return vc.value if vc is not None else 0

    # ------------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if self.grad_fn is not None:
            if value:
                return
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if value and self._data.dtype.kind != "f":
            # torch words this one differently from the creation-time error
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._data.dtype.kind != "f" and self.grad_fn is None:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        if self._grad is None and self.grad_fn is not None and not self._retains_grad:
            warnings.warn(_err.NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value._data.shape)}' "
                                   f"to a tensor of size '{list(self._data.shape)}'. Please ensure that "
                                   "the gradient and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(_err.grad_dtype_error(value, self))
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Populate ``.grad`` of this non-leaf tensor during backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        self.grad_fn._retain_grad_ref = weakref.ref(self)
        self.grad_fn._has_hooks = True

    def register_hook(self, hook):
        """``hook(grad)`` runs when the gradient for this tensor is computed; it may
        return a replacement gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._register_tensor_prehook(hook)
        if self._hooks is None:
            self._hooks = HookList()
        self._hooks.append(hook)
        accumulator = self._accumulator() if self._accumulator is not None else None
        if accumulator is not None:
            accumulator._has_hooks = True
        return _HookHandle(self._hooks, hook)

    def _gradient_edge(self):
        """Where a gradient for this tensor enters the graph: (node, output_nr)."""
        if self.grad_fn is not None:
            return self.grad_fn
        if not self._requires_grad:
            return None
        ref = self._accumulator
        acc = ref() if ref is not None else None
        return acc if acc is not None else new_accumulator(self)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. graph leaves (torch semantics)."""
        _autograd_api.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        t = make(self._data)
        t._vc = shared_version_counter(self)  # an alias of the same values
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor"):
        self._data = value._data

    # ------------------------------------------------------------------ conversion
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __float__(self):
        _warn_scalar_conversion(self)
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __int__(self):
        _warn_scalar_conversion(self)
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()))

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # identity hashing in C (a Python __hash__ would run for every optimizer state
    # lookup); __eq__ is elementwise, so it must be set explicitly
    __hash__ = object.__hash__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self, *, tensor_contents=None):
        from .printing import format_tensor
        grad_fn_name = self.grad_fn.op.name if self.grad_fn is not None else None
        return format_tensor(self._data, requires_grad=self._requires_grad and grad_fn_name is None,
                             grad_fn_name=grad_fn_name)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.  If you were attempting to "
                               "deepcopy a module, this may be because of a torch.nn.utils.weight_norm "
                               "usage, see https://github.com/pytorch/pytorch/pull/103001")
        t = make(self._data.copy(), self._requires_grad)
        if self._grad is not None:
            t._grad = make(self._grad._data.copy())
        memo[id(self)] = t
        return t


# ``type(x)`` prints ``<class 'torch.Tensor'>``, as tutorials show it. Nothing finds the
# class by this path: a tensor pickles through _rebuild, a module-level function.
Tensor.__module__ = "torch"


_new = object.__new__
_warned_scalar_conversion = []


def _warn_scalar_conversion(t: Tensor):
    """torch warns once per process when float()/int() drops a tensor's graph (not under
    no_grad, where there is no graph to drop)."""
    if t._requires_grad and _grad_state.enabled and not _warned_scalar_conversion:
        _warned_scalar_conversion.append(True)
        warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                      "behavior.\nConsider using tensor.detach() first.", UserWarning, stacklevel=3)


def make(data: np.ndarray, requires_grad: bool = False, grad_fn=None) -> Tensor:
    """A tensor around ``data`` (no copy) — the constructor every op uses."""
    t = _new(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._base = None
    return t


def _init(t: Tensor, data, requires_grad, grad_fn):
    t._data = data
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._base = None


def shared_version_counter(t: Tensor) -> VersionCounter:
    """The version counter ``t`` shares with its base and views (created on first need)."""
    owner = t._base if t._base is not None else t
    if owner._vc is None:
        owner._vc = VersionCounter()
    return owner._vc


def peek_version_counter(t: Tensor):
    """``t``'s version counter, or None if its values were never changed in place."""
    return (t._base if t._base is not None else t)._vc


def _rebuild(data, requires_grad):
    return make(data, requires_grad)


def _wrap_dim(dim: int, ndim: int) -> int:
    """Normalise a possibly negative dimension, with torch's error for one out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim
