"""torch's legacy tensor types — ``torch.FloatTensor``, ``torch.LongTensor`` … — as
constructors and as ``isinstance`` checks, which is all tutorials of the Variable era
use them for.

``LongTensor([1.7, 2])`` is an int64 tensor ``[1, 2]``; ``FloatTensor(2, 3)`` a float32
tensor of that shape (zeros: torch leaves its memory uninitialised); ``LongTensor()``
an empty int64 tensor; ``isinstance(t, torch.LongTensor)`` holds for an int64 tensor.
What they make is a plain :class:`~gradstudio.tensor.Tensor`, as in torch.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor


class _LegacyTensorType(type):
    dtype: _dt.dtype

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np

    def __call__(cls, *args) -> Tensor:
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor):
                if data._data.dtype != cls.dtype.np:
                    raise TypeError(f"expected torch.{cls.dtype.name} (got torch.{data.dtype.name})")
                return data
            return Tensor._make(np.array(data, dtype=cls.dtype.np))
        shape = tuple(int(s) for s in args) if args else (0,)
        return Tensor._make(np.zeros(shape, dtype=cls.dtype.np))

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _legacy(name: str, dtype: _dt.dtype) -> type:
    return _LegacyTensorType(name, (), {"dtype": dtype, "__module__": "torch"})


FloatTensor = _legacy("FloatTensor", _dt.float32)
DoubleTensor = _legacy("DoubleTensor", _dt.float64)
HalfTensor = _legacy("HalfTensor", _dt.float16)
LongTensor = _legacy("LongTensor", _dt.int64)
IntTensor = _legacy("IntTensor", _dt.int32)
ShortTensor = _legacy("ShortTensor", _dt.int16)
CharTensor = _legacy("CharTensor", _dt.int8)
ByteTensor = _legacy("ByteTensor", _dt.uint8)
BoolTensor = _legacy("BoolTensor", _dt.bool_)


def as_dtype(dtype):
    """``Tensor.type(torch.LongTensor)``'s argument as a dtype (others unchanged)."""
    return dtype.dtype if isinstance(dtype, _LegacyTensorType) else dtype
