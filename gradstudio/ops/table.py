"""The op table's row type, and :func:`apply`, which runs a row forward and
records it in the graph.

One :class:`Op` is one differentiable operation, declared as data: the torch
grad_fn name it produces, a numpy forward, one VJP rule per input, and a sympy
forward for the symbolic side. VJP rules take ``(grad, result, *inputs,
**params)`` and are written with tensor operations, so a backward pass run with
``create_graph=True`` is itself recorded and can be differentiated again.
Rules return the gradient in the shape of the broadcast result; the engine
sums it back to each input's shape (broadcasting is undone in one place).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..autograd.grad_mode import state as _grad_state
from ..autograd.node import Node, TensorMeta
from ..tensor import Tensor

REGISTRY: dict[str, "Op"] = {}


@dataclass(frozen=True, eq=False)
class Op:
    """One row of the op table."""

    name: str                      # torch's grad_fn name, e.g. "MulBackward0"
    forward: Callable              # numpy forward: (*arrays, **params) -> array
    vjp: tuple                     # one rule per input: (grad, result, *inputs, **params) -> Tensor
    saves: str = ""                # what the rules read: "" | "inputs" | "result" | "inputs,result"
    # Symbolic forward, used by gradstudio.symbolic (never by the numeric engine):
    #   kind "elementwise": sympy(*scalar_exprs, **params) -> scalar expr
    #   kind "array":       sympy(*object_ndarrays_of_exprs, **params) -> object ndarray
    sympy: Callable | None = None
    kind: str = "elementwise"      # "elementwise" | "reduction" | "shape" | "array"
    label: str = ""                # short label for the graph and the palette, e.g. "×"
    doc: str = ""                  # one-line description
    latex: str = ""                # LaTeX template, {0}, {1} are the operands
    category: str = "arithmetic"   # palette category
    arity: int = 1
    # Example inputs for table-driven tests: a callable (rng) -> (args, params)
    sample: Callable | None = field(default=None, repr=False)
    # Instead of per-input rules: one callable (node, grad) -> list of input grads
    # (custom autograd.Function subclasses use this).
    vjp_all: Callable | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.vjp_all is None:
            REGISTRY.setdefault(self.name, self)

    @property
    def saves_inputs(self) -> bool:
        return "inputs" in self.saves

    @property
    def saves_result(self) -> bool:
        return "result" in self.saves

    def __repr__(self):
        return f"Op({self.name})"


def apply(op: Op, args: tuple, params: dict | None = None, *, out_dtype=None) -> Tensor:
    """Run ``op`` forward on ``args`` (tensors and Python scalars) and, when grad
    mode is on and an input requires grad, record a :class:`Node`."""
    datas = [a._data if isinstance(a, Tensor) else a for a in args]
    if params:
        out = op.forward(*datas, **params)
    else:
        out = op.forward(*datas)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if out_dtype is not None and out.dtype != out_dtype:
        out = out.astype(out_dtype)
    if not _grad_state.enabled:
        return Tensor._make(out)
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            break
    else:
        return Tensor._make(out)
    return _record(op, args, params, out)


def _record(op: Op, args: tuple, params, out: np.ndarray) -> Tensor:
    next_functions = tuple((a._gradient_edge(), 0) if isinstance(a, Tensor) else (None, 0)
                           for a in args)
    if op.saves_inputs:
        inputs = args
        versions = tuple((i, a._vc[0]) for i, a in enumerate(args) if isinstance(a, Tensor))
    else:
        inputs = tuple(TensorMeta(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else a
                       for a in args)
        versions = None
    result = Tensor._make(out, True)
    if op.saves_result:
        node = Node(op, next_functions, inputs, params, out, weakref.ref(result),
                    (versions or ()) + ((-1, 0),))
    else:
        node = Node(op, next_functions, inputs, params, None, None, versions)
    result.grad_fn = node
    return result
