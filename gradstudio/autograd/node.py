"""Graph nodes: the objects a tensor's ``grad_fn`` points to.

:class:`Node` is what every grad_fn is (torch's ``torch.autograd.graph.Node``).
An :class:`OpNode` is one recorded application of an op from the op table, an
instance of the class of its grad_fn name (``MulBackward0``, made once by
:func:`node_class`, as torch has one class per name). It knows its op, where
gradients go next (``next_functions``, as in torch), and what the op's
VJP rules need from the forward pass. When a backward pass finishes without
``retain_graph`` those saved values are released; a later backward through a
node that needed them raises torch's "backward through the graph a second
time" error, exactly when torch does (nodes that saved nothing never raise).

In-place changes are detected without storing versions per saved tensor:
every in-place change advances a global epoch and stamps the tensor's
:class:`VersionCounter`; a node whose saved tensors were stamped after the
node was created raises torch's "modified by an inplace operation" error.

:class:`AccumulateGrad` is the sink for a leaf tensor that requires grad.
"""
from __future__ import annotations

import itertools
import weakref

from .errors import freed_saved_tensors_error, inplace_version_error

_sequence = itertools.count()
EPOCH = [0]  # number of in-place changes so far, process-wide


class VersionCounter:
    """How often a tensor (and the views sharing its storage) changed in place."""

    __slots__ = ("value", "last_epoch", "history")

    def __init__(self):
        self.value = 0
        self.last_epoch = -1
        self.history = []  # (epoch, version) of the recent changes

    def bump(self):
        EPOCH[0] += 1
        self.value += 1
        self.last_epoch = EPOCH[0]
        self.history.append((EPOCH[0], self.value))
        if len(self.history) > 64:
            del self.history[:32]

    def version_at(self, epoch: int) -> int:
        """The version this counter had at ``epoch`` (best effort for old epochs)."""
        version = self.value - len(self.history)
        for stamp, value in self.history:
            if stamp > epoch:
                break
            version = value
        return max(version, 0)


class TensorMeta:
    """Shape and dtype of an input whose values the op's rules do not need.

    ``meta._data`` is the meta itself, so ``x._data.shape`` reads the same for
    a saved tensor and for a meta. Made by :func:`tensor_meta`."""

    __slots__ = ("shape", "dtype")

    @property
    def _data(self):
        return self

    @property
    def ndim(self):
        return len(self.shape)

    def dim(self):
        return len(self.shape)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]


def tensor_meta(shape, dtype) -> TensorMeta:
    """A :class:`TensorMeta`. A function, not ``__init__``: record makes one for every
    input it does not save, and a class's ``__init__`` runs in a frame of its own."""
    meta = TensorMeta()
    meta.shape = shape
    meta.dtype = dtype
    return meta


class _HookHandle:
    """What ``register_hook`` returns: ``.remove()`` takes the hook out again."""

    __slots__ = ("_hooks_ref", "_hook")

    def __init__(self, hooks: list, hook):
        self._hooks_ref = weakref.ref(hooks)
        self._hook = hook

    def remove(self):
        hooks = self._hooks_ref()
        if hooks is not None and self._hook in hooks:
            hooks.remove(self._hook)


class HookList(list):
    """A list that handles can refer to weakly."""

    __slots__ = ("__weakref__",)


class Node:
    """What every ``grad_fn`` is, torch's ``torch.autograd.graph.Node``: a recorded op
    (:class:`OpNode`, one subclass per grad_fn name) or a leaf's :class:`AccumulateGrad`.
    It holds the hook registration and metadata both share."""

    __slots__ = ()

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` runs after this node's rules."""
        self._has_hooks = True
        if self._hooks is None:
            self._hooks = HookList()
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def register_prehook(self, hook):
        """``hook(grad_outputs)`` runs before this node's rules; may return new grads."""
        self._has_hooks = True
        if self._prehooks is None:
            self._prehooks = HookList()
        self._prehooks.append(hook)
        return _HookHandle(self._prehooks, hook)

    def metadata(self) -> dict:
        if self.metadata_ is None:
            self.metadata_ = {}
        return self.metadata_


class OpNode(Node):
    """One recorded application of an op-table row; made by :func:`new_node`.

    Each grad_fn name has its own subclass (:func:`node_class`), named as torch names
    it, so ``type(y.grad_fn).__name__`` is ``MulBackward0``; what torch's
    ``grad_fn._saved_<name>`` gives is a class attribute of it
    (:class:`~gradstudio.autograd.saved.SavedAttribute`), declared by the row
    (``op.saved``). No class defines ``__getattr__`` (CPython 3.11 specializes no
    attribute read on a class with one); a read site that sees nodes of many ops still
    misses its inline cache now and then, which is why :func:`new_node`, where every
    node passes, writes the fields before it sets the class."""

    __slots__ = ("op", "next_functions", "_inputs", "_params", "_out_data", "_out_ref",
                 "_epoch", "_seq", "_released", "__dict__", "__weakref__")

    # Rarely set; kept out of the slots so creating a node stays cheap.
    _has_hooks = False   # any hook, tensor hook or retain_grad: the engine checks only this
    _hooks = None
    _prehooks = None
    _tensor_prehooks = None
    _retain_grad_ref = None
    metadata_ = None
    traced = None        # (inputs, output array) while a session is tracing
    _unpack_hook = None  # set when saved_tensors_hooks packed the saved inputs

    def name(self) -> str:
        return self.op.qualified_name or self.op.name

    def __repr__(self):
        return f"<{self.op.name} object at {hex(id(self))}>"

    def _register_tensor_prehook(self, hook):
        self._has_hooks = True
        if self._tensor_prehooks is None:
            self._tensor_prehooks = HookList()
        self._tensor_prehooks.append(hook)
        return _HookHandle(self._tensor_prehooks, hook)

    def saved_inputs(self):
        """The inputs as the rules see them; raises if they were freed or changed in place."""
        if self._released and self.op.saves:
            raise RuntimeError(freed_saved_tensors_error())
        if self._epoch != EPOCH[0] and self.op.saves:
            self._check_unmodified()
        if self._unpack_hook is not None:
            from .graph import unpack_saved
            return unpack_saved(self)
        return self._inputs

    def _check_unmodified(self):
        from ..tensor import Tensor, peek_version_counter
        candidates = [(t, t.grad_fn) for t in self._inputs if isinstance(t, Tensor)]
        if self._out_ref is not None:
            candidates.append((self._out_ref(), self))
        for tensor, producer in candidates:
            vc = peek_version_counter(tensor) if tensor is not None else None
            if vc is not None and vc.last_epoch > self._epoch:
                raise RuntimeError(inplace_version_error(tensor, vc.version_at(self._epoch), producer))


_CLASSES: dict = {}  # grad_fn name -> the OpNode subclass of the table's rows of that name


def node_class(op) -> type:
    """The class of ``op``'s nodes: one per grad_fn name, named as torch names it and,
    as torch's are, in ``builtins`` (``<class 'MulBackward0'>``). Made on the first node
    of the first row with that name; each row adds its saved attributes on its own first
    node and keeps the class (``op.node_class``), so later nodes skip this function."""
    cls = _CLASSES.get(op.name)
    if cls is None:
        cls = _CLASSES[op.name] = type(op.name, (OpNode,), {
            "__slots__": (), "__module__": "builtins", "__qualname__": op.name,
            "__doc__": f"A node of {op.name}: {op.label or op.name} recorded for backward."})
    from .saved import SavedAttribute
    for key in op.saved:
        if "_saved_" + key not in cls.__dict__:
            setattr(cls, "_saved_" + key, SavedAttribute(key))
    bind_class(op, cls)
    return cls


def bind_class(op, cls) -> None:
    """Make ``cls`` the class of ``op``'s nodes (rows are frozen; this is the one field
    set after a row is built besides its array rules)."""
    object.__setattr__(op, "node_class", cls)


_new = object.__new__


def new_node(op, next_functions, inputs, params) -> OpNode:
    """The one place an :class:`OpNode` is built (ops.table.record, custom Functions);
    a plain function rather than ``__init__``, which would add a frame to every
    recorded op. The fields are written while the node is a plain OpNode, then it takes
    its row's class: every node passes here, and a write to a node of one class after
    one of another misses CPython's inline cache (9 writes: 790 ns a node against 430
    with the class set last). ``OpNode()`` (no ``__init__``) allocates faster than
    ``object.__new__(OpNode)``, which checks its argument first."""
    node = OpNode()
    node.op = op
    node.next_functions = next_functions
    node._inputs = inputs            # Tensor (saved), TensorMeta, or a Python scalar
    node._params = params
    node._out_data = None            # ndarray when the rules need the result (set by record)
    node._out_ref = None             # weakref to the result, for in-place checks
    node._epoch = EPOCH[0]
    node._seq = next(_sequence)
    node._released = False
    cls = op.node_class
    node.__class__ = cls if cls is not None else node_class(op)
    return node


class AccumulateGrad(Node):
    """Gradient sink of a leaf tensor; ``variable`` is that leaf.

    A leaf's sink lives only as long as a graph refers to it (the tensor keeps a weak
    reference, as torch's ``grad_accumulator_``), so a training loop makes a new one
    for every parameter on every step: :func:`new_accumulator` builds it with two
    attribute writes, and the fields a hook or metadata sets are class defaults."""

    __slots__ = ("variable", "_seq", "__dict__", "__weakref__")
    __module__ = "builtins"  # torch's: <class 'AccumulateGrad'>

    op = None
    next_functions = ()
    _hooks = None
    _prehooks = None
    metadata_ = None
    _has_hooks = False

    def __init__(self, variable):
        self.variable = variable
        self._seq = next(_sequence)
        if variable._hooks:
            # A leaf's tensor hooks run in its AccumulateGrad: flag it if the leaf has some.
            self._has_hooks = True

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


def new_accumulator(variable) -> AccumulateGrad:
    """``AccumulateGrad(variable)`` without the type call and ``__init__`` frame, and
    the leaf's weak reference to it (see ``Tensor._gradient_edge``)."""
    sink = _new(AccumulateGrad)
    sink.variable = variable
    sink._seq = next(_sequence)
    if variable._hooks:
        sink._has_hooks = True
    variable._accumulator = weakref.ref(sink)
    return sink
