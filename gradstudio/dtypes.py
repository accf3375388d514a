"""Torch-style dtypes over numpy dtypes, and torch's type-promotion rules.

A :class:`dtype` pairs a torch name (``torch.float32``) with the numpy dtype
that stores the values. :func:`result_type` reproduces torch's promotion:
the category (bool < integer < floating) decides first; within the winning
category, tensors with dimensions outrank 0-d tensors, which outrank Python
scalars; a Python float meeting an integer tensor gives the default float
dtype (float32), not float64 as numpy would.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "bool_", "from_numpy_dtype", "to_dtype", "result_type",
    "get_default_dtype", "set_default_dtype",
]


class dtype:
    """A tensor element type, printed as torch prints it (``torch.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self._category = category          # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2
        self.is_signed = category == 2 or self.np.kind == "i"
        self.itemsize = self.np.itemsize

    def __repr__(self):
        return f"torch.{self.name}"

    __str__ = __repr__

    def __reduce__(self):
        return (to_dtype, (self.name,))

    @property
    def is_complex(self):
        return False


float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
uint8 = dtype("uint8", np.uint8, 1)
bool_ = dtype("bool", np.bool_, 0)

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
_BY_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16,
                int=int32, long=int64)

_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    if d not in (float16, float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default_float = d
    _promotion_cache.clear()


def from_numpy_dtype(np_dtype) -> dtype:
    """The gradstudio dtype storing values of ``np_dtype``."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        np_dtype = np.dtype(np_dtype)
        if np_dtype in _BY_NP:
            return _BY_NP[np_dtype]
        raise TypeError(f"can't convert np.ndarray of type numpy.{np_dtype}. The only supported "
                        "types are: float64, float32, float16, int64, int32, int16, int8, uint8, "
                        "and bool.") from None


_SCALAR_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                      "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                      "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def scalar_type_name(np_dtype) -> str:
    """The name torch's messages give a dtype (c10's ScalarType): ``Long`` for int64."""
    name = np.dtype(np_dtype).name
    return _SCALAR_TYPE_NAMES.get(name, name)


_TYPE_META_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                    "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
                    "bool": "bool"}


def type_meta_name(np_dtype) -> str:
    """The C++ name other messages of torch's give a dtype (c10's TypeMeta): ``long int``."""
    name = np.dtype(np_dtype).name
    return _TYPE_META_NAMES.get(name, name)


def to_dtype(d) -> dtype:
    """Accept a gradstudio dtype, a torch-style name, a numpy dtype or a Python type."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, str):
        return _BY_NAME[d.removeprefix("torch.")]
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    return from_numpy_dtype(np.dtype(d))


def _promote_same_category(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a._category == 0:
        return b
    if b._category == 0:
        return a
    # uint8 with a signed int of the same width or wider: torch widens to the signed type.
    return _BY_NP[np.promote_types(a.np, b.np)]


_promotion_cache: dict = {}


def result_type(*operands) -> dtype:
    """torch.result_type for any mix of tensors (objects with ``.dtype`` and
    ``.ndim``) and Python scalars."""
    key = tuple((o.dtype, o.ndim > 0) if hasattr(o, "dtype") else type(o) for o in operands)
    cached = _promotion_cache.get(key)
    if cached is not None:
        return cached
    # priority 2: dimensioned tensors, 1: 0-d tensors, 0: Python scalars
    best_cat = -1
    groups: dict[int, list] = {0: [], 1: [], 2: []}
    for item in key:
        if isinstance(item, tuple):
            d, dimmed = item
            cat, prio = d._category, (2 if dimmed else 1)
        else:
            d = item
            cat, prio = (0 if d is bool else 1 if d is int else 2), 0
        best_cat = max(best_cat, cat)
        groups[prio].append((cat, d))
    result = None
    for prio in (2, 1, 0):
        members = [d for cat, d in groups[prio] if cat == best_cat]
        if not members:
            continue
        if prio == 0:
            result = bool_ if best_cat == 0 else int64 if best_cat == 1 else _default_float
        else:
            result = members[0]
            for d in members[1:]:
                result = _promote_same_category(result, d)
        break
    _promotion_cache[key] = result
    return result
