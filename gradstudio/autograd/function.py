"""Custom differentiable functions: ``class MyReLU(torch.autograd.Function)``
with static ``forward(ctx, …)`` and ``backward(ctx, grad)``, as in torch.
Each Function has its own node class, ``F._backward_cls``, named
``<ClassName>Backward`` like torch names it; as in torch, its nodes answer for the
``ctx`` the call filled (``grad_fn.saved_tensors``, attributes forward set)."""
from __future__ import annotations

import weakref

import numpy as np

from . import errors as _err
from .grad_mode import no_grad, state as _grad_state
from .node import OpNode, bind_class


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


class BackwardFunction(OpNode):
    """The base of every Function's node class. torch's node of a custom Function is
    its ctx as well: what this node lacks it reads from the ctx of its call."""

    __slots__ = ()

    def __getattr__(self, attribute):
        # only reached for what a node lacks; never while the engine runs (every field it
        # reads is a slot or a class default)
        params = self._params if attribute != "_params" else None
        ctx = params.get("ctx") if isinstance(params, dict) else None
        if ctx is not None and not attribute.startswith("__"):
            try:
                return getattr(ctx, attribute)
            except AttributeError:
                pass
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{attribute}'")


class _FunctionMeta(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._op = None
        cls._joint_op = None
        cls._backward_cls = type(f"{name}Backward", (BackwardFunction,), {
            "__slots__": (), "__module__": __name__, "__qualname__": f"{name}Backward"})


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
                return cls._run_backward(node, (grad,))

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
            bind_class(cls._op, cls._backward_cls)
        return cls._op

    @classmethod
    def _run_backward(cls, node, grads_out):
        """The user's backward on the output gradients; one gradient per input."""
        ctx = node._params["ctx"]
        with no_grad() if not _grad_state.enabled else _Nothing():
            grads = cls.backward(ctx, *grads_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        expected = len(node.next_functions)
        if len(grads) < expected:
            raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number "
                               f"of gradients (expected {expected}, got {len(grads)})")
        return list(grads[:expected])

    @classmethod
    def _joint_row(cls):
        """The row of a Function with several outputs: one node for the call, whose output
        is the outputs' values laid end to end; each output is a slice of it (see
        :func:`_output_row`). Its params carry the slices, so backward gets one gradient
        per output, as torch gives it."""
        if cls._joint_op is None:
            from ..ops.table import Op

            def vjp_all(node, packed):
                grads = [packed.narrow(0, start, stop - start).reshape(shape) if differentiable else None
                         for start, stop, shape, differentiable in node._params["slices"]]
                return cls._run_backward(node, grads)

            def forward(*arrays):
                from ..tensor import make
                with no_grad():
                    outs = cls.forward(FunctionCtx(), *[make(a) if isinstance(a, np.ndarray) else a
                                                        for a in arrays])
                return _packed([o._data for o in outs if _differentiable(o)])

            cls._joint_op = Op(name=f"{cls.__name__}Backward", forward=forward, vjp=(), vjp_all=vjp_all,
                               kind="custom", label=cls.__name__, doc=cls.__doc__ or "custom Function",
                               category="custom")
            bind_class(cls._joint_op, cls._backward_cls)
        return cls._joint_op

    @classmethod
    def _apply_several(cls, ctx, args, outputs, next_functions, metas):
        from ..autograd.node import new_node, tensor_meta
        from ..tensor import Tensor
        slices, start = [], 0
        for out in outputs:
            differentiable = _differentiable(out)
            size = out._data.size if differentiable else 0
            slices.append((start, start + size, tuple(out._data.shape), differentiable))
            start += size
        packed = _packed([o._data for o in outputs if _differentiable(o)])
        joint = new_node(cls._joint_row(), next_functions, metas, {"ctx": ctx, "slices": slices})
        ctx._node_ref = weakref.ref(joint)
        joint_tensor = Tensor._make(packed, True, joint)
        if _grad_state.tracing:
            joint.traced = (args, packed)
        results = []
        for out, (begin, stop, shape, differentiable) in zip(outputs, slices):
            if not differentiable:
                results.append(out)
                continue
            node = new_node(_output_row(cls, begin, stop, shape, packed.size), ((joint, 0),),
                            (tensor_meta(packed.shape, packed.dtype),), {})
            if _grad_state.tracing:
                node.traced = ((joint_tensor,), out._data)
            results.append(Tensor._make(out._data, True, node))
        swap = {id(o): r for o, r in zip(outputs, results)}
        ctx._saved = tuple(swap.get(id(t), t) for t in ctx._saved)
        return tuple(results)

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..autograd.node import new_node, tensor_meta
        from ..tensor import Tensor
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with no_grad():
            output = cls.forward(ctx, *args, **kwargs)
        if not (_grad_state.enabled and any(ctx.needs_input_grad)):
            return output
        next_functions = tuple((a._gradient_edge(), 0) if isinstance(a, Tensor) else (None, 0)
                               for a in args)
        metas = tuple(tensor_meta(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else a
                      for a in args)
        if isinstance(output, tuple):
            return cls._apply_several(ctx, args, output, next_functions, metas)
        node = new_node(cls._row(), next_functions, metas, {"ctx": ctx})
        if _grad_state.tracing:
            node.traced = (args, output._data)
        ctx._node_ref = weakref.ref(node)
        result = Tensor._make(output._data, True, node)
        # a saved output is the output itself, with its grad_fn (torch): the backward then
        # stays differentiable through it (create_graph=True keeps the second-order graph)
        ctx._saved = tuple(result if t is output else t for t in ctx._saved)
        return result


def _differentiable(value) -> bool:
    from ..tensor import Tensor
    return isinstance(value, Tensor) and value._data.dtype.kind == "f"


def _packed(arrays: list) -> np.ndarray:
    if not arrays:
        return np.zeros(0)
    return np.concatenate([a.reshape(-1) for a in arrays]).astype(np.result_type(*arrays), copy=False)


_OUTPUT_ROWS: dict = {}


def _output_row(function, start, stop, shape, total):
    """The node behind one output of a several-output Function: of its class (named like
    torch's, ``<Name>Backward``), its gradient is the output's gradient placed in its
    slice of the joint node's (zeros elsewhere), built with tensor ops for create_graph."""
    name = function.__name__
    key = (function, start, stop, shape, total)
    row = _OUTPUT_ROWS.get(key)
    if row is None:
        from ..ops.table import Op

        def vjp_all(node, grad):
            from ..ops.creation import zeros
            from ..ops.shape import cat
            dtype = grad.dtype
            pieces = [zeros(start, dtype=dtype), grad.reshape(-1), zeros(total - stop, dtype=dtype)]
            return [cat(pieces)]

        row = Op(name=f"{name}Backward", forward=lambda packed: packed[start:stop].reshape(shape), vjp=(),
                 vjp_all=vjp_all, kind="custom", label=name, doc=f"output of {name}", category="custom")
        bind_class(row, function._backward_cls)
        _OUTPUT_ROWS[key] = row
    return row


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class once_differentiable:  # noqa: N801 — torch's name
    def __new__(cls, fn):
        return fn
