"""What torch's ``grad_fn._saved_<name>`` attributes read, as a row declares them.

A row's ``saved`` maps each of torch's names for its node (``{"self": Input(0),
"mat2": Input(1), "mat2_sym_sizes": Sizes(1)}``) to where our node holds that value:

* :class:`Input` — a saved input: the Tensor itself (a Python scalar input as a 0-d
  tensor, as torch wraps it); after a backward without ``retain_graph`` it raises
  torch's "backward through the graph a second time" error;
* :class:`Result` — the saved output (freed likewise);
* :class:`Sizes`, :class:`Strides`, :class:`Numel` — an input's shape as a tuple, its
  strides, its element count (kept after backward: they are not tensors);
* :class:`Arg` — a parameter of the row, optionally converted (``reduction`` is
  torch's enum int); :class:`ScalarArg` for one torch takes as a Scalar (read back
  unwrapped); :class:`SavedArg` for an index array torch saves as a tensor
  (freed likewise); :class:`Const` — a value torch saves that our row fixes
  (``alpha=1`` of a plain add);
* :class:`Computed` — what torch's kernel keeps and our row does not (layer norm's
  mean and reciprocal std, nll's total weight), computed from the inputs on access.

Ints come back as torch 2.13 gives them: a negative int64 read as unsigned
(``offset=-1`` reads 18446744073709551615). Nothing is stored per node: the class of a
grad_fn name has one :class:`SavedAttribute` per name, which reads on access; a
backward without ``retain_graph`` keeps each input's layout (no values) only for rows
whose sizes or strides outlive their tensors (:func:`kept_after_release`).
"""
from __future__ import annotations

from operator import attrgetter

from .errors import freed_saved_tensors_error
from .node import EPOCH

_UINT64 = 2 ** 64


def as_torch_int(value):
    """``value`` as torch's saved-variable getters return it: negative ints (also inside
    tuples) wrapped to unsigned 64-bit, lists as tuples."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value + _UINT64 if value < 0 else value
    if isinstance(value, (tuple, list)):
        return tuple(as_torch_int(v) for v in value)
    return value


def _check_kept(node):
    if node._released:
        raise RuntimeError(freed_saved_tensors_error())
    if node._epoch != EPOCH[0]:
        node._check_unmodified()  # torch's error for a saved tensor changed in place


class Input:
    """The ``i``-th input, saved by the row."""

    __slots__ = ("index",)
    outlives = False  # read after a backward without retain_graph: no (torch's freed error)

    def __init__(self, index: int):
        self.index = index

    def read(self, node):
        from ..tensor import Tensor, make
        import numpy as np
        from .graph import unpack_one
        _check_kept(node)
        value = unpack_one(node, node._inputs[self.index])  # only this one through unpack_hook
        if isinstance(value, Tensor):
            return value
        return make(np.asarray(value))

    def __repr__(self):
        return f"Input({self.index})"


class Result:
    """The output the row saved."""

    __slots__ = ()
    outlives = False

    def read(self, node):
        from ..tensor import make
        _check_kept(node)
        result = node._out_ref() if node._out_ref is not None else None
        return result if result is not None else make(node._out_data)

    def __repr__(self):
        return "Result()"


class Sizes:
    """The ``i``-th input's shape (torch's ``<name>_sym_sizes``)."""

    __slots__ = ("index",)
    outlives = True   # a release keeps the inputs' layout for it (kept_after_release)

    def __init__(self, index: int = 0):
        self.index = index

    def read(self, node):
        return tuple(_layout(node, self.index)[0])

    def __repr__(self):
        return f"Sizes({self.index})"


class Numel(Sizes):
    """The ``i``-th input's element count (torch's ``self_sym_numel``)."""

    __slots__ = ()

    def read(self, node):
        count = 1
        for n in _layout(node, self.index)[0]:
            count *= n
        return count


class Strides(Sizes):
    """The ``i``-th input's strides in elements (torch's ``<name>_sym_strides``)."""

    __slots__ = ()

    def read(self, node):
        shape, strides, itemsize = _layout(node, self.index)
        if strides is not None and itemsize:
            return tuple(s // itemsize for s in strides)
        step, out = 1, []
        for n in reversed(shape):
            out.append(step)
            step *= max(n, 1)
        return tuple(reversed(out))


class Arg:
    """The row's parameter ``name`` (``convert`` maps ours to torch's value)."""

    __slots__ = ("name", "convert")
    outlives = False  # params are never released

    def __init__(self, name: str, convert=None):
        self.name, self.convert = name, convert

    def read(self, node):
        value = node._params[self.name]
        return as_torch_int(self.convert(value) if self.convert is not None else value)

    def __repr__(self):
        return f"Arg({self.name!r})"


class ScalarArg(Arg):
    """A parameter torch takes as a Scalar (a row's "float" param): read back as given, a
    negative int too (``threshold=-2`` reads -2; only int64 args read unsigned)."""

    __slots__ = ()

    def read(self, node):
        value = node._params[self.name]
        return self.convert(value) if self.convert is not None else value


class SavedArg(Arg):
    """A parameter holding an array torch saves as a tensor (max's indices, an index's
    arrays): freed by a backward without ``retain_graph``, as torch's."""

    __slots__ = ()

    def read(self, node):
        # an absent array (None: torch's undefined tensor) reads None, freed or not
        if node._released and node._params[self.name] is not None:
            raise RuntimeError(freed_saved_tensors_error())
        return Arg.read(self, node)


class Const:
    """A value torch saves that the row fixes."""

    __slots__ = ("value",)
    outlives = False

    def __init__(self, value):
        self.value = value

    def read(self, node):
        return as_torch_int(self.value)

    def __repr__(self):
        return f"Const({self.value!r})"


class Computed:
    """A value torch's kernel saves that our row does not keep, computed from the inputs
    on access: ``fn(*arrays, **params) -> ndarray`` (a Tensor, freed with the inputs) or,
    with ``tensor=False``, ``fn(*shapes, **params) -> value`` from the inputs' shapes (a
    size: kept after backward). ``optional_inputs``: some inputs may be None (a norm's
    weight and bias), whose shape reads None."""

    __slots__ = ("fn", "tensor", "optional_inputs")

    def __init__(self, fn, tensor: bool = True, optional_inputs: bool = False):
        self.fn, self.tensor, self.optional_inputs = fn, tensor, optional_inputs

    @property
    def outlives(self):
        return not self.tensor

    def read(self, node):
        params = node._params or {}
        if not self.tensor:
            layouts = [_layout(node, i) for i in range(len(node._inputs))]
            shapes = [None if layout is None else tuple(layout[0]) for layout in layouts]
            return as_torch_int(self.fn(*shapes, **params))
        from ..tensor import make
        import numpy as np
        _check_kept(node)
        arrays = [x._data if hasattr(x, "_data") else x for x in node.saved_inputs()]
        return make(np.asarray(self.fn(*arrays, **params)))

    def __repr__(self):
        return "Computed()"


# What a release keeps of each input of a row whose sizes outlive its tensors: read in C
# (operator.attrgetter: the backward pass makes no Python call for it), no values
_LAYOUT = attrgetter("_data.shape", "_data.strides", "_data.itemsize")  # a saved Tensor
_SHAPE = attrgetter("shape")                                          # a TensorMeta


def kept_after_release(op):
    """How a backward without retain_graph keeps ``op``'s node inputs, called on each:
    None (dropped) unless the row saves something and its ``saved`` reads a size or
    stride, which torch keeps after it frees the tensors."""
    if not op.saves or not any(source.outlives for source in op.saved.values()):
        return None
    if not op.saves_inputs:
        return _SHAPE
    if any(getattr(source, "optional_inputs", False) for source in op.saved.values()):
        return _layout_or_none
    return _LAYOUT


def _layout_or_none(x):
    return None if x is None else _LAYOUT(x)


def _layout(node, index):
    """``(shape, strides in bytes or None, itemsize)`` of the node's ``index``-th input,
    also once its tensors were released."""
    x = node._inputs[index]
    if node._released and node.op.kept_after_release is not None:
        return x if node.op.saves_inputs else (x, None, 0)
    if x is None:
        return None
    data = x._data
    return data.shape, getattr(data, "strides", None), getattr(data, "itemsize", 0)


def as_dims(dim):
    """A ``dim`` param as torch's reductions save it: a tuple (``dim=1`` reads ``(1,)``)."""
    return (dim,) if isinstance(dim, int) else tuple(dim)


def as_tensor(array):
    """An index array a row keeps in its params (max's indices) as the Tensor torch saves."""
    from ..tensor import make
    import numpy as np
    return make(np.asarray(array))


def index_tensors(key):
    """An indexing key as torch's IndexBackward0 saves it: a tuple with a Tensor for each
    index array and None for each full slice."""
    key = key if isinstance(key, tuple) else (key,)
    return tuple(None if isinstance(k, slice) and k == slice(None) else as_tensor(k) for k in key)


REDUCTION = {"none": 0, "mean": 1, "sum": 2}  # torch's at::Reduction enum


def reduction(name: str = "reduction") -> Arg:
    """A loss's ``reduction`` param as torch saves it: the enum's int."""
    return Arg(name, REDUCTION.__getitem__)


def derived(op) -> dict:
    """What a row saves when it does not say: its inputs as ``self`` and ``other`` if it
    saves them, ``result`` if it saves that, and each of its params by name."""
    saved = {}
    if op.saves_inputs and op.arity >= 1:
        saved["self"] = Input(0)
    if op.saves_inputs and op.arity >= 2:
        saved["other"] = Input(1)
    if op.saves_result:
        saved["result"] = Result()
    for p in op.params:
        saved[p.name] = ScalarArg(p.name) if p.type in ("float", "float?") else Arg(p.name)
    return saved


class SavedAttribute:
    """``grad_fn._saved_<key>`` on a node class: what the node's row declares under that
    key. A class shared by rows of one name has the attributes of all of them; a node
    whose own row lacks one raises torch's AttributeError."""

    __slots__ = ("key",)

    def __init__(self, key: str):
        self.key = key

    def __get__(self, node, owner=None):
        if node is None:
            return self
        source = node.op.saved.get(self.key)
        if source is None:
            raise AttributeError(f"'{type(node).__name__}' object has no attribute '_saved_{self.key}'")
        return source.read(node)
