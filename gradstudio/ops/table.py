"""The op table's row type, and :func:`apply`, which runs a row forward and
records it in the graph.

One :class:`Op` is one differentiable operation, declared as data with
keywords — everything GradStudio knows about the op lives in its row:

* ``id`` — stable and unique (``"elementwise.POW"``); written in the row, never
  derived from a variable name. Rows travel between processes as their id.
* ``name`` — the torch grad_fn name it produces (``"PowBackward0"``).
* ``forward`` — numpy: ``forward(*arrays, **params) -> array``.
* ``vjp`` — one rule per input, ``rule(grad, result, *inputs, **params) -> Tensor``
  (``None`` for an input torch does not differentiate), written with tensor
  operations so that ``create_graph=True`` records the backward pass too. Rules
  return the gradient in the shape of the broadcast result; the engine sums it
  back to each input's shape (broadcasting is undone in one place). Variadic
  rows (``arity=-1``: cat, stack) give one rule ``rule(i, grad, result, *inputs,
  **params)`` for every input ``i``.
* ``saves`` — flags saying what the rules read from the forward pass:
  :data:`SAVES_INPUTS`, :data:`SAVES_RESULT`, :data:`SAVES_INDICES` (index arrays
  in the params), or'ed together; 0 when the rules need only shapes.
* ``params`` — typed keyword parameters, :class:`Param` (what the palette offers and
  the editor checks), ``overload`` — when torch picks this row rather than a
  sibling with the same function name (``pow``: tensor ** number is PowBackward0).
* ``shape`` — ``shape(*input_shapes, **params) -> output shape``, raising
  :class:`~gradstudio.ops.shape_rules.ShapeError` with both shapes in the message;
  by default broadcasting for elementwise rows and the forward run on zero-stride
  arrays for the rest (see :mod:`gradstudio.ops.shape_rules`).
* ``sympy`` — the forward for sympy (never read by the numeric engine):
  kind "elementwise": ``sympy(*scalar_exprs, **params) -> scalar expr``;
  other kinds: ``sympy(*object_ndarrays_of_exprs, **params) -> object ndarray``.
* ``element`` — for the generic-element form, the op on one element of each input
  when its kind is not "elementwise": the identity for clone, alias and casts; one
  element of the loss, before its reduction, for an elementwise loss (mse, l1, bce).
* ``matrix`` — the op in the studio's matrix-expression language, for the
  matrix-calculus form: ``matrix(M, *operand_exprs, **params) -> expr`` where
  ``M`` is that language's namespace, passed in by the studio (the engine never
  imports it). ``None``: no matrix form.
* ``kink`` — ``kink(*input_arrays, **params) -> bool``: whether some element sits
  where the op is not differentiable (relu at 0, a tie in max), where torch picks
  a one-sided value and finite differences disagree. ``None``: smooth everywhere.
* ``domain`` — a :class:`~gradstudio.ops.samples.Domain`: the inputs the op is
  defined and well-conditioned on (log: positive), read by the table-driven tests
  and by the random programs the differential test runs against torch.
* ``sample`` — ``sample(rng) -> (args, params)``: inputs inside the op's domain and
  away from its kinks, for the table-driven tests (see :mod:`gradstudio.ops.samples`);
  a one-input row with a ``domain`` and no ``sample`` is sampled from its domain.
* ``torch`` — how PyTorch runs it, ``torch(torch_module, *inputs, **params)``, for
  the oracle; ``internal=True`` for rows torch only builds inside double-backward
  graphs (no forward in its API).
* ``api`` — the public names of a one-input row without params (``("asin",
  "arcsin")``): :mod:`gradstudio.ops` makes ``torch.asin`` and ``Tensor.asin`` from the
  row (:func:`function_for`), converting an integer input to the default float
  dtype first when ``floating`` (torch computes exp, sin … in floating point).
  Rows chosen by a hand-written wrapper (``pow`` picks one of three) are exported
  through that wrapper instead, and their ``overload`` says when each is picked.
* ``casts`` — the op only converts the dtype (``.to(dtype)``): a graph re-run at
  full precision passes the value through instead of rounding it.
* ``saved`` — torch's ``grad_fn._saved_<name>`` attributes of the row's node, each
  mapped to what our node holds (:mod:`gradstudio.autograd.saved`: ``Input(i)``,
  ``Result()``, ``Sizes(i)``, ``Arg("dim")``, ``Const(1)``…); left out, it is
  :func:`~gradstudio.autograd.saved.derived` (``self``/``other`` when the row saves its
  inputs, ``result``, each param). tests/core/oracle/test_saved_attributes_torch.py
  holds every row to torch's names and values.
* display: ``label``, ``doc``, ``category`` (palette), ``kind``, ``arity``.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from ..autograd.grad_mode import state as _grad_state
from ..autograd.graph import _hooks as _saved_tensors_hooks, pack_saved as _pack_saved
from ..autograd import saved as _saved
from ..autograd.node import new_node, tensor_meta
from ..tensor import Tensor, make
from . import samples, shape_rules

SAVES_INPUTS = 1    # the rules read the inputs' values
SAVES_RESULT = 2    # the rules read the result
SAVES_INDICES = 4   # the rules read index arrays kept in the params (max along a dim)

REQUIRED = type("Required", (), {"__repr__": lambda self: "REQUIRED", "__reduce__": lambda self: "REQUIRED"})()


class Param:
    """One keyword parameter of a row, typed as derivatives.yaml's signature line
    types it: ``"float"``, ``"float?"`` (may be None), ``"int"``, ``"int?"``, ``"int[]"`` (one int
    or a tuple of ints: dims, a shape), ``"bool"``, ``"str"``, ``"dtype"``,
    ``"Tensor"`` (an integer or bool array), ``"index"`` (a subscript)."""

    __slots__ = ("name", "type", "default", "doc")

    def __init__(self, name: str, type: str, default: Any = REQUIRED, doc: str = ""):
        self.name, self.type, self.default, self.doc = name, type, default, doc

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def __eq__(self, other):
        return isinstance(other, Param) and (self.name, self.type, self.default, self.doc) == (
            other.name, other.type, other.default, other.doc)

    def __hash__(self):
        return hash((self.name, self.type))

    def __repr__(self):
        default = "" if self.required else f", {self.default!r}"
        return f"Param({self.name!r}, {self.type!r}{default})"


class NotImplementedRule:
    """A ``vjp`` entry for an input torch has a formula line for that only raises
    (derivatives.yaml's ``not_implemented("zeta")``): a backward pass that reaches the
    input raises torch's NotImplementedError; tests and the symbolic side skip it."""

    __slots__ = ("function",)
    differentiable = False  # what the studio reads (it imports no engine module)

    def __init__(self, function: str):
        self.function = function

    def __call__(self, *_, **__):
        raise NotImplementedError(f"the derivative for '{self.function}' is not implemented.")

    def __repr__(self):
        return f"NotImplementedRule({self.function!r})"


def has_derivative(rule) -> bool:
    """Whether a ``vjp`` entry gives a gradient (not None, not a NotImplementedRule)."""
    return rule is not None and getattr(rule, "differentiable", True)


BY_ID: dict = {}
_ON_REGISTER: list = []   # callbacks for rows made after gradstudio.ops bound the table

_FIELDS = ("id", "name", "forward", "vjp", "saves", "params", "overload", "shape", "sympy", "matrix",
           "element", "kink", "sample", "domain", "torch", "internal", "api", "floating", "casts",
           "kind", "label", "doc", "category", "arity", "vjp_all", "vjp_arrays", "qualified_name",
           "saved")


class Op:
    """One row of the op table (see the module docstring for every field), built
    with keywords only and read-only once built. A plain class rather than a
    dataclass: 106 rows are built at import, and a dataclass's generated
    ``__init__`` is compiled on every import."""

    # vjp_node: the whole node's array rule (see array_rules), set after the row is built;
    # node_class: the class of its nodes, set on its first node (autograd.node.node_class)
    # kept_after_release: what a backward without retain_graph keeps of each input (its
    # layout, when the node's saved sizes outlive its tensors; autograd.saved.kept_after_release)
    __slots__ = _FIELDS + ("saves_inputs", "saves_result", "kept_after_release", "vjp_node", "node_class")

    def __init__(self, *, id: str = "", name: str, forward: Callable | None, vjp,
                 saves: int = 0, params: tuple = (), overload: str = "",
                 shape: Callable | None = None, sympy: Callable | None = None,
                 matrix: Callable | None = None, element: Callable | None = None,
                 kink: Callable | None = None, sample: Callable | None = None, domain=None,
                 torch: Callable | None = None, internal: bool = False, api: tuple = (),
                 floating: bool = False, casts: bool = False, kind: str = "elementwise",
                 label: str = "", doc: str = "", category: str = "arithmetic", arity: int = 1,
                 vjp_all: Callable | None = None, vjp_arrays: tuple | None = None,
                 qualified_name: str = "", saved: dict | None = None):
        if not isinstance(saves, int):
            raise TypeError(f"{id or name}: saves is SAVES_* flags, not {saves!r}")
        if sample is None and domain is not None and arity == 1:
            sample = _sample_from(domain)
        if shape is None:
            shape = (shape_rules.broadcast if kind == "elementwise" and forward is not None
                     else shape_rules.by_forward(forward))
        values = locals()
        put = object.__setattr__
        for name_ in _FIELDS:
            put(self, name_, values[name_])
        put(self, "saves_inputs", bool(saves & SAVES_INPUTS))
        put(self, "saves_result", bool(saves & SAVES_RESULT))
        if saved is None:
            put(self, "saved", _saved.derived(self))
        put(self, "kept_after_release", _saved.kept_after_release(self))
        put(self, "vjp_node", None)
        put(self, "node_class", None)
        if id:
            if id in BY_ID:
                raise ValueError(f"two op rows with the id {id!r}")
            BY_ID[id] = self
            for callback in _ON_REGISTER:
                callback(self)

    def __setattr__(self, name, value):
        raise AttributeError(f"op rows are read-only: cannot set {name!r} of {self!r}")

    def __delattr__(self, name):
        raise AttributeError(f"op rows are read-only: cannot delete {name!r} of {self!r}")

    @property
    def key(self) -> str:
        """The row's id (the name older code reads)."""
        return self.id

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.id}: no parameter {name!r}")

    def __repr__(self):
        return f"Op({self.name})"

    def __reduce__(self):
        # Rows hold lambdas; across processes a row travels as its id. An op
        # outside the table (a custom autograd.Function) travels as its name only.
        if not self.id:
            return (_stub_op, (self.name, self.label, self.kind))
        return (op_by_id, (self.id,))


def _sample_from(domain):
    return lambda rng: ([domain.draw(rng, samples.S)], {})


def array_rules(op: Op, *rules: Callable) -> None:
    """Give ``op`` array versions of its VJP rules, one per input: ``(g, r, *inputs,
    **params) -> array`` where ``g`` and ``r`` are ndarrays, and each input is an
    ndarray, a Python scalar, or (when the op does not save it) an object with the
    input's ``shape`` and ``dtype``. They must compute what the tensor rules compute
    (tests/core/test_op_table.py checks it for every row that has them); the engine
    uses them whenever the backward pass is not itself recorded."""
    if len(rules) != len(op.vjp):
        raise ValueError(f"{op.name}: {len(op.vjp)} tensor rules but {len(rules)} array rules")
    # rows are frozen once built; these are their one addition
    object.__setattr__(op, "vjp_arrays", rules)
    if op.vjp_node is None:
        from ..autograd.engine import edge_rules
        object.__setattr__(op, "vjp_node", edge_rules)


def node_rule(op: Op, rule: Callable) -> None:
    """Give ``op`` (which has array rules) one rule for a whole node: ``rule(g, node,
    inputs) -> gradients``, one per edge of ``node.next_functions`` (None where the edge
    leads nowhere), each already in its input's shape and dtype; ``inputs`` are the
    node's saved inputs, checked. The engine calls it once per node instead of one
    rule per input (:func:`gradstudio.autograd.engine.edge_rules`, the default), so a
    hot row computes all its gradients in one call and skips the fitting it never
    needs. It must give what the array rules give (the op-table tests compare it
    with the tensor rules, bit for bit)."""
    if op.vjp_arrays is None:
        raise ValueError(f"{op.name}: a node rule needs the array rules first")
    object.__setattr__(op, "vjp_node", rule)


def op_by_id(id: str) -> "Op":
    """The table row with this id."""
    return BY_ID[id]


op_by_key = op_by_id


def rows() -> tuple:
    """Every row of the table, in the order they were declared (rows a test module
    adds included)."""
    return tuple(BY_ID.values())


_FUNCTIONS: dict = {}


def function_for(op: Op) -> Callable:
    """The public function of a one-input row (``torch.exp``): the same object for
    every caller, so ``torch.exp``, ``Tensor.exp`` and ``ops.elementwise.exp`` agree."""
    function = _FUNCTIONS.get(op.id)
    if function is None:
        from .. import dtypes as _dt

        if op.floating:
            def function(input):
                if input._data.dtype.kind != "f":
                    input = input.to(_dt.get_default_dtype())
                return apply(op, (input,))
        else:
            def function(input):
                return apply(op, (input,))
        function.__name__ = function.__qualname__ = op.api[0] if op.api else op.id.rsplit(".", 1)[-1].lower()
        function.__doc__ = op.doc
        _FUNCTIONS[op.id] = function
    return function


def torch_function(name: str) -> Callable:
    """A ``torch`` field for a row that torch runs as ``torch.<name>(x)``."""
    def replay(torch, x):
        return getattr(torch, name)(x)
    replay.__name__ = f"torch_{name}"
    return replay


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
    if len(args) == 2:  # binary ops, a loss on (input, target): no list to build
        a, b = args
        datas = (a._data if isinstance(a, Tensor) else a, b._data if isinstance(b, Tensor) else b)
    else:
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
    if type(a) is Tensor or isinstance(a, Tensor):
        fn = a.grad_fn
        if fn is not None:
            return (fn, 0)
        if a._requires_grad:
            return (a._gradient_edge(), 0)
    return _NO_EDGE


def record(op: Op, args: tuple, params, out: np.ndarray) -> Tensor:
    """Wrap ``out`` in a tensor whose grad_fn is a new node for ``op`` on ``args``."""
    n = len(args)
    if n == 1:  # tanh, t, log_softmax, views: the input's edge and (unless saved) its meta
        a = args[0]
        if isinstance(a, Tensor):
            fn = a.grad_fn
            edges = ((fn if fn is not None else a._gradient_edge(), 0),)
            if op.saves_inputs:
                inputs = args
            else:
                data = a._data
                inputs = (tensor_meta(data.shape, data.dtype),)
        else:
            edges, inputs = (_NO_EDGE,), args
    else:
        if n == 2:
            a, b = args
            tb = type(b)
            # the hot cases inline: an op on a tensor that has a grad_fn (a chain of ops), by
            # a tensor with one or by a Python number (no edge)
            edges = ((a.grad_fn, 0) if type(a) is Tensor and a.grad_fn is not None else _edge(a),
                     (b.grad_fn, 0) if tb is Tensor and b.grad_fn is not None
                     else _NO_EDGE if tb is float or tb is int else _edge(b))
        elif n == 3:  # addmm (a linear layer: bias, input, weight.t())
            a, b, c = args
            edges = (_edge(a), (b.grad_fn, 0) if type(b) is Tensor and b.grad_fn is not None else _edge(b),
                     (c.grad_fn, 0) if type(c) is Tensor and c.grad_fn is not None else _edge(c))
        else:
            edges = tuple(map(_edge, args))
        inputs = args if op.saves_inputs else tuple(
            tensor_meta(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else a for a in args)
    node = new_node(op, edges, inputs, params)
    if _saved_tensors_hooks and op.saves_inputs:
        _pack_saved(node)  # torch.autograd.graph.saved_tensors_hooks (read only by ops that save)
    result = make(out, True, node)
    if op.saves_result:
        node._out_data = out
        node._out_ref = weakref.ref(result)
    if _grad_state.tracing:
        node.traced = (args, out)
    return result
