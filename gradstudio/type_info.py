"""``torch.finfo`` and ``torch.iinfo``: the limits of a floating or integer dtype
(``torch.finfo(torch.float32).eps``, ``torch.iinfo(torch.int64).max``), read off numpy's
own tables for the dtype's storage, printed as torch prints them (six significant
digits: ``finfo(resolution=1e-06, min=-3.40282e+38, …, dtype=float32)``)."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt


def _check(kind: str, dtype, category: int, other: str):
    if dtype is None and kind == "finfo":
        return _dt.get_default_dtype()
    if not isinstance(dtype, _dt.dtype):
        raise TypeError(f"{kind}(): argument 'type' (position 1) must be torch.dtype, "
                        f"not {type(dtype).__name__}")
    if dtype is _dt.bool_ and kind == "iinfo":
        raise TypeError("torch.bool is not supported by torch.iinfo")
    if dtype._category != category:
        kind_name = "a floating point" if kind == "finfo" else "an integer"
        raise TypeError(f"torch.{kind}() requires {kind_name} input type. Use torch.{other} "
                        f"to handle 'torch.{kind}'")
    return dtype


class _Info:
    """Read-only fields, compared by value, printed ``name(field=value, …, dtype=name)``."""

    __slots__ = ()
    _printed: tuple = ()

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'torch.{type(self).__name__}' objects is not writable")

    def _set(self, **fields):
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __eq__(self, other):
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __hash__(self):  # as torch's: comparable, not hashable
        raise TypeError(f"unhashable type: 'torch.{type(self).__name__}'")

    def __repr__(self):
        fields = ", ".join(f"{name}={getattr(self, name):g}" for name in self._printed)
        return f"{type(self).__name__}({fields}, dtype={self.dtype})"


class finfo(_Info):
    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")
    _printed = ("resolution", "min", "max", "eps", "smallest_normal", "tiny")

    def __init__(self, type=None):
        dtype = _check("finfo", type, 2, "iinfo")
        info = np.finfo(dtype.np)
        self._set(bits=info.bits, eps=float(info.eps), max=float(info.max), min=float(info.min),
                  tiny=float(info.tiny), smallest_normal=float(info.smallest_normal),
                  resolution=10.0 ** -info.precision, dtype=dtype.name)


class iinfo(_Info):
    __slots__ = ("bits", "max", "min", "dtype")
    _printed = ("min", "max")

    def __init__(self, type):
        dtype = _check("iinfo", type, 1, "finfo")
        info = np.iinfo(dtype.np)
        self._set(bits=info.bits, max=int(info.max), min=int(info.min), dtype=dtype.name)
