"""``torch.autograd.graph``: the Node type (for isinstance checks and hooks) and
``saved_tensors_hooks``: while one is active, every tensor an op saves for its
backward goes through ``pack_hook`` when the op runs, and ``unpack_hook`` turns
what was packed back into a tensor when the backward (or ``grad_fn._saved_*``)
reads it — torch's way to offload or compress saved activations."""
from __future__ import annotations

from .node import AccumulateGrad, Node  # noqa: F401  (Node: every grad_fn's base, as torch's)

_hooks: list = []   # (pack, unpack) of the active saved_tensors_hooks, innermost last


class _Packed:
    """What ``pack_hook`` returned for one saved tensor, and the tensor's layout as
    ``_data`` (shape, strides, itemsize: no values), which grad_fn's saved sizes read
    without unpacking, as torch's do."""

    __slots__ = ("value", "_data")

    def __init__(self, value, tensor):
        self.value = value
        self._data = _Layout(tensor._data)


class _Layout:
    __slots__ = ("shape", "strides", "itemsize")

    def __init__(self, array):
        self.shape, self.strides, self.itemsize = array.shape, array.strides, array.itemsize


class saved_tensors_hooks:  # noqa: N801 — torch's name
    """``with saved_tensors_hooks(pack_hook, unpack_hook): …`` (nests; the innermost wins)."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        _hooks.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        _hooks.pop()
        return False


class save_on_cpu(saved_tensors_hooks):  # noqa: N801
    """Saved tensors kept on the CPU — where GradStudio keeps everything already."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        super().__init__(lambda tensor: tensor, lambda tensor: tensor)


def pack_saved(node) -> None:
    """Pass the tensors ``node`` saved through the innermost active pack hook, last input
    first: torch saves in the order its derivative formulas first name them, and the
    rule for a binary op's first input names the second one first (mul, div, mm)."""
    from ..tensor import Tensor
    pack, unpack = _hooks[-1]
    packed = [_Packed(pack(a), a) if isinstance(a, Tensor) else a for a in reversed(node._inputs)]
    node._inputs = tuple(reversed(packed))
    node._unpack_hook = unpack


def unpack_one(node, value):
    return node._unpack_hook(value.value) if isinstance(value, _Packed) else value


def unpack_saved(node) -> tuple:
    """The saved inputs of a node packed by :func:`pack_saved`, unpacked again (in the
    order they were packed)."""
    return tuple(reversed([unpack_one(node, a) for a in reversed(node._inputs)]))
