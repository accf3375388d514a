"""Custom differentiable functions: ``class MyReLU(torch.autograd.Function)``
with static ``forward(ctx, …)`` and ``backward(ctx, grad)``, as in torch.
The node is named ``<ClassName>Backward`` like torch names it."""
from __future__ import annotations

import weakref

import numpy as np

from . import errors as _err
from .grad_mode import no_grad, state as _grad_state


class FunctionCtx:
    """The ``ctx`` a custom Function's forward and backward share."""

    def __init__(self):
        self._saved = ()
        self._node_ref = None
        self.needs_input_grad = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self._saved = tensors

    def mark_non_differentiable(self, *tensors):
        pass

    def mark_dirty(self, *tensors):
        pass

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = value

    @property
    def saved_tensors(self):
        node = self._node_ref() if self._node_ref is not None else None
        if node is not None and node._released:
            raise RuntimeError(_err.SECOND_BACKWARD)
        return self._saved


class _FunctionMeta(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._op = None


class Function(metaclass=_FunctionMeta):
    """Subclass with ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``.apply``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def _row(cls):
        if cls._op is None:
            from ..ops.table import Op

            def vjp_all(node, grad):
                ctx = node._params["ctx"]
                with no_grad() if not _grad_state.enabled else _Nothing():
                    grads = cls.backward(ctx, grad)
                if not isinstance(grads, tuple):
                    grads = (grads,)
                expected = len(node.next_functions)
                if len(grads) < expected:
                    raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number "
                                       f"of gradients (expected {expected}, got {len(grads)})")
                return list(grads[:expected])

            def forward(*arrays):
                # re-running the user's forward on plain values (finite differences)
                from ..tensor import make
                with no_grad():
                    out = cls.forward(FunctionCtx(), *[make(a) if isinstance(a, np.ndarray) else a
                                                       for a in arrays])
                return out._data

            cls._op = Op(name=f"{cls.__name__}Backward", forward=forward, vjp=(), vjp_all=vjp_all,
                         kind="custom", label=cls.__name__, doc=cls.__doc__ or "custom Function",
                         category="custom")
        return cls._op

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..autograd.node import TensorMeta, new_node
        from ..tensor import Tensor
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with no_grad():
            output = cls.forward(ctx, *args, **kwargs)
        if isinstance(output, tuple):
            raise NotImplementedError("GradStudio supports custom Functions with one output tensor")
        if not (_grad_state.enabled and any(ctx.needs_input_grad)):
            return output
        next_functions = tuple((a._gradient_edge(), 0) if isinstance(a, Tensor) else (None, 0)
                               for a in args)
        metas = tuple(TensorMeta(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else a
                      for a in args)
        node = new_node(cls._row(), next_functions, metas, {"ctx": ctx})
        if _grad_state.tracing:
            node.traced = (args, output._data)
        ctx._node_ref = weakref.ref(node)
        result = Tensor._make(output._data, True, node)
        # a saved output is the output itself, with its grad_fn (torch): the backward then
        # stays differentiable through it (create_graph=True keeps the second-order graph)
        ctx._saved = tuple(result if t is output else t for t in ctx._saved)
        return result


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class once_differentiable:  # noqa: N801 — torch's name
    def __new__(cls, fn):
        return fn
