"""Graph nodes: the objects a tensor's ``grad_fn`` points to.

A :class:`Node` is one recorded application of an op from the op table. It
knows its op (whose ``name`` is the torch grad_fn name, e.g. ``MulBackward0``),
where gradients go next (``next_functions``, as in torch), and what the op's
VJP rules need from the forward pass. When a backward pass finishes without
``retain_graph`` those saved values are released; a later backward through a
node that needed them raises torch's "backward through the graph a second
time" error, exactly when torch does (nodes that saved nothing never raise).

:class:`AccumulateGrad` is the sink for a leaf tensor that requires grad.
"""
from __future__ import annotations

import itertools
import weakref

from .errors import freed_saved_tensors_error, inplace_version_error

_sequence = itertools.count()


class TensorMeta:
    """Shape and dtype of an input whose values the op's rules do not need."""

    __slots__ = ("shape", "dtype_np")

    def __init__(self, shape, dtype_np):
        self.shape = shape
        self.dtype_np = dtype_np

    @property
    def ndim(self):
        return len(self.shape)

    def dim(self):
        return len(self.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]


class _HookHandle:
    """What ``register_hook`` returns: ``.remove()`` takes the hook out again."""

    __slots__ = ("_hooks_ref", "_hook")

    def __init__(self, hooks: list, hook):
        self._hooks_ref = weakref.ref(hooks) if hasattr(hooks, "__weakref__") else (lambda: hooks)
        self._hook = hook

    def remove(self):
        hooks = self._hooks_ref()
        if hooks is not None and self._hook in hooks:
            hooks.remove(self._hook)


class HookList(list):
    """A list that handles can refer to weakly."""

    __slots__ = ("__weakref__",)


class Node:
    """One recorded op application (a tensor's ``grad_fn``)."""

    __slots__ = (
        "op", "next_functions", "_inputs", "_params", "_out_data", "_out_ref",
        "_versions", "_released", "_seq", "_hooks", "_prehooks",
        "_tensor_prehooks", "_retain_grad_ref", "metadata_", "__weakref__",
    )

    def __init__(self, op, next_functions, inputs, params, out_data=None, out_tensor=None,
                 versions=None):
        self.op = op
        self.next_functions = next_functions
        self._inputs = inputs            # Tensor (saved), TensorMeta, or a Python scalar
        self._params = params
        self._out_data = out_data        # ndarray when the rules need the result
        self._out_ref = out_tensor       # weakref to the result, for version checks
        self._versions = versions        # versions of saved tensors at save time
        self._released = False
        self._seq = next(_sequence)
        self._hooks = None
        self._prehooks = None
        self._tensor_prehooks = None
        self._retain_grad_ref = None
        self.metadata_ = None

    # -- torch's public Node API ------------------------------------------------
    def name(self) -> str:
        return self.op.name

    def __repr__(self):
        return f"<{self.op.name} object at {hex(id(self))}>"

    def metadata(self) -> dict:
        if self.metadata_ is None:
            self.metadata_ = {}
        return self.metadata_

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` runs after this node's rules."""
        if self._hooks is None:
            self._hooks = HookList()
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def register_prehook(self, hook):
        """``hook(grad_outputs)`` runs before this node's rules; may return new grads."""
        if self._prehooks is None:
            self._prehooks = HookList()
        self._prehooks.append(hook)
        return _HookHandle(self._prehooks, hook)

    def _register_tensor_prehook(self, hook):
        if self._tensor_prehooks is None:
            self._tensor_prehooks = HookList()
        self._tensor_prehooks.append(hook)
        return _HookHandle(self._tensor_prehooks, hook)

    @property
    def saved_tensors_released(self) -> bool:
        return self._released and bool(self.op.saves)

    # -- saved values -----------------------------------------------------------
    def saved_inputs(self):
        """The inputs as the rules see them; raises if they were freed or modified."""
        if self._released and self.op.saves:
            raise RuntimeError(freed_saved_tensors_error())
        if self._versions is not None:
            self._check_versions()
        return self._inputs

    def _check_versions(self):
        inputs = self._inputs
        for position, version in self._versions:
            if position >= 0:
                tensor = inputs[position]
                producer = tensor.grad_fn
            else:
                tensor = self._out_ref() if self._out_ref is not None else None
                producer = self
            if tensor is not None and tensor._version != version:
                raise RuntimeError(inplace_version_error(tensor, version, producer))

    def release(self):
        """Free saved values (what torch does at the end of a backward pass)."""
        if self._released:
            return
        self._released = True
        if self.op.saves:  # "inputs", "result", or tensors kept in params ("indices")
            self._inputs = tuple(_as_meta(x) for x in self._inputs)
            self._out_data = None
            self._versions = None


def _as_meta(x):
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return TensorMeta(x._data.shape, x._data.dtype)
    return x


class AccumulateGrad:
    """Gradient sink of a leaf tensor; ``variable`` is that leaf."""

    __slots__ = ("variable", "next_functions", "_seq", "_hooks", "_prehooks", "metadata_",
                 "__weakref__")

    op = None

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()
        self._seq = next(_sequence)
        self._hooks = None
        self._prehooks = None
        self.metadata_ = None

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def metadata(self) -> dict:
        if self.metadata_ is None:
            self.metadata_ = {}
        return self.metadata_

    register_hook = Node.register_hook
    register_prehook = Node.register_prehook
