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
from ..autograd.node import EPOCH as _EPOCH, Node, TensorMeta, _sequence
from ..tensor import Tensor, make

_new = object.__new__

REGISTRY: dict[str, "Op"] = {}


@dataclass(frozen=True, eq=False)
class Op:
    """One row of the op table."""

    name: str                      # torch's grad_fn name, e.g. "MulBackward0"
    forward: Callable              # numpy forward: (*arrays, **params) -> array
    vjp: tuple                     # one rule per input: (grad, result, *inputs, **params) -> Tensor
    saves: str = ""                # what the rules read: "" | "inputs" | "result" | "inputs,result"
    # Symbolic forward, used by gradstudio.studio.symbolic (never by the numeric engine):
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
    # The same rules on ndarrays, for backward passes that are not recorded
    # (create_graph=False): no tensor is built per step. Set with array_rules().
    vjp_arrays: tuple | None = field(default=None, repr=False)
    key: str = field(default="", repr=False)   # unique "module.NAME", set by gradstudio.ops
    qualified_name: str = ""       # what grad_fn.name() says, when not ``name`` (CopySlices)
    saves_inputs: bool = field(init=False, repr=False)
    saves_result: bool = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "saves_inputs", "inputs" in self.saves)
        object.__setattr__(self, "saves_result", "result" in self.saves)
        if self.vjp_all is None:
            REGISTRY.setdefault(self.name, self)


    def __repr__(self):
        return f"Op({self.name})"

    def __reduce__(self):
        # Rows hold lambdas; across processes a row travels as its key. An op
        # outside the table (a custom autograd.Function) travels as its name only.
        if not self.key:
            return (_stub_op, (self.name, self.label, self.kind))
        return (op_by_key, (self.key,))


def array_rules(op: Op, *rules: Callable) -> None:
    """Give ``op`` array versions of its VJP rules, one per input: ``(g, r, *inputs,
    **params) -> array`` where ``g`` and ``r`` are ndarrays, and each input is an
    ndarray, a Python scalar, or (when the op does not save it) an object with the
    input's ``shape`` and ``dtype``. They must compute what the tensor rules compute
    (tests/core/test_op_table.py checks it for every row that has them); the engine
    uses them whenever the backward pass is not itself recorded."""
    if len(rules) != len(op.vjp):
        raise ValueError(f"{op.name}: {len(op.vjp)} tensor rules but {len(rules)} array rules")
    object.__setattr__(op, "vjp_arrays", rules)  # rows are frozen once built; this is their one addition


BY_KEY: dict = {}


def op_by_key(key: str) -> "Op":
    """The table row registered under ``key`` (see gradstudio.ops)."""
    return BY_KEY[key]


def _stub_op(name: str, label: str, kind: str) -> "Op":
    """A stand-in for an op that is not in the table: a name, no rules, no forward."""
    return Op(name=name, forward=None, vjp=(), kind=kind, label=label,
              vjp_all=lambda node, grad: [])


def apply(op: Op, args: tuple, params: dict | None = None, *, out_dtype=None) -> Tensor:
    """Run ``op`` forward on ``args`` (tensors and Python scalars) and, when grad
    mode is on and an input requires grad, record a :class:`Node`."""
    if len(args) == 1 and type(args[0]) is Tensor:  # most ops: one tensor in (subclasses: below)
        a = args[0]
        out = op.forward(a._data, **params) if params else op.forward(a._data)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if out_dtype is not None and out.dtype != out_dtype:
            out = out.astype(out_dtype)
        if a._requires_grad and _grad_state.enabled:
            return record(op, args, params, out)
        return make(out)
    datas = [a._data if isinstance(a, Tensor) else a for a in args]
    out = op.forward(*datas, **params) if params else op.forward(*datas)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if out_dtype is not None and out.dtype != out_dtype:
        out = out.astype(out_dtype)
    if _grad_state.enabled:
        for a in args:
            if isinstance(a, Tensor) and a._requires_grad:
                return record(op, args, params, out)
    return make(out)


_NO_EDGE = (None, 0)


def _edge(a):
    if isinstance(a, Tensor):
        fn = a.grad_fn
        if fn is not None:
            return (fn, 0)
        if a._requires_grad:
            return (a._gradient_edge(), 0)
    return _NO_EDGE


def record(op: Op, args: tuple, params, out: np.ndarray) -> Tensor:
    """Wrap ``out`` in a tensor whose grad_fn is a new node for ``op`` on ``args``."""
    node = _new(Node)
    node.op = op
    if len(args) == 2:
        a, b = args
        node.next_functions = (_edge(a), _edge(b))
    else:
        node.next_functions = tuple(map(_edge, args))
    if op.saves_inputs:
        node._inputs = args
    else:
        node._inputs = tuple(TensorMeta(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else a
                             for a in args)
    node._params = params
    result = make(out, True, node)
    if op.saves_result:
        node._out_data = out
        node._out_ref = weakref.ref(result)
    else:
        node._out_data = node._out_ref = None
    node._epoch = _EPOCH[0]
    node._seq = next(_sequence)
    node._released = False
    if _grad_state.tracing:
        node.traced = (args, out)
    return result
