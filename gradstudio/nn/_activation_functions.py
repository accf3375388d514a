"""The activations of ``torch.nn.functional`` beyond relu, leaky relu, gelu, elu,
softplus and silu (:mod:`gradstudio.nn.functional` re-exports them): torch's argument
checks and errors, then the row torch records (:mod:`gradstudio.ops.activations`) or
torch's composition of ops (softsign, tanhshrink). An ``inplace=True`` form writes
into its input as torch does, and records the node torch's in-place kernel records
(``EluBackward1`` saving the result for elu_ and selu_, ``HardtanhBackward0`` saving
the values from before the write for hardtanh_)."""
from __future__ import annotations

import numpy as np

from ..dtypes import scalar_type_name
from ..ops import activations as _rows
from ..ops.inplace import inplace as _in_place
from ..ops.table import apply as _apply


def _floating(input, kernel):
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(input._data.dtype)}'")
    return input


def _run(row, input, params=None, inplace=False):
    """``row`` on ``input``, or written into it (with torch's in-place rules)."""
    if inplace:
        return _in_place(lambda source: _apply(row, (source,), params))(input)
    return _apply(row, (input,), params)


def threshold(input, threshold, value, inplace: bool = False):
    row = _rows.THRESHOLD_INPLACE if inplace else _rows.THRESHOLD
    return _run(row, input, {"threshold": threshold, "value": value}, inplace)


def threshold_(input, threshold, value):
    return _run(_rows.THRESHOLD_INPLACE, input, {"threshold": threshold, "value": value}, True)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _run(_rows.HARDTANH, input, {"min_val": min_val, "max_val": max_val}, inplace)


def hardtanh_(input, min_val=-1, max_val=1):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace: bool = False):
    return _run(_rows.HARDTANH, input, {"min_val": 0, "max_val": 6}, inplace)


def elu_(input, alpha=1):  # torch's C++ default: saved as the int 1
    return _run(_rows.ELU_RESULT, input, {"alpha": alpha, "scale": 1, "input_scale": 1}, True)


def selu(input, inplace: bool = False):
    _floating(input, "elu_cpu")
    if inplace:
        return _run(_rows.ELU_RESULT, input, {"alpha": _rows.SELU_ALPHA, "scale": _rows.SELU_SCALE,
                                              "input_scale": 1}, True)
    return _apply(_rows.SELU, (input,))


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha: float = 1.0, inplace: bool = False):
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    _floating(input, "elu_cpu")
    return _run(_rows.CELU_RESULT if inplace else _rows.CELU, input, {"alpha": alpha}, inplace)


def celu_(input, alpha: float = 1.0):
    return celu(input, alpha, inplace=True)


def mish(input, inplace: bool = False):
    return _run(_rows.MISH, _floating(input, "mish_cpu"), None, inplace)


def hardswish(input, inplace: bool = False):
    return _run(_rows.HARDSWISH, _floating(input, "hardswish_cpu"), None, inplace)


def hardsigmoid(input, inplace: bool = False):
    return _run(_rows.HARDSIGMOID, _floating(input, "hardsigmoid_cpu"), None, inplace)


def logsigmoid(input):
    return _apply(_rows.LOG_SIGMOID, (_floating(input, "log_sigmoid_cpu"),))


def softsign(input):
    """``x / (|x| + 1)``, as torch composes it (DivBackward0 over AddBackward0 over AbsBackward0)."""
    return input / (input.abs() + 1)


def tanhshrink(input):
    """``x − tanh(x)``, as torch composes it (SubBackward0 over TanhBackward0)."""
    return input - input.tanh()


def glu(input, dim: int = -1):
    from ..tensor import _wrap_dim
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _floating(input, "glu_cpu")
    wrapped = _wrap_dim(dim, input.dim())
    if input.shape[wrapped] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {wrapped} is size "
                           f"{input.shape[wrapped]}")
    return _apply(_rows.GLU, (input,), {"dim": dim})  # torch saves dim as given (-1 too)


def hardshrink(input, lambd: float = 0.5):
    return _apply(_rows.HARDSHRINK, (_floating(input, "hardshrink_cpu"),), {"lambd": lambd})


def softshrink(input, lambd: float = 0.5):
    _floating(input, "softshrink_check")
    if lambd < 0:
        largest = float(np.finfo(input._data.dtype).max)
        raise RuntimeError(f"lambda must be in range [0, {largest:g}] for input dtype "
                           f"{scalar_type_name(input._data.dtype)}, but found {lambd:g}")
    return _apply(_rows.SOFTSHRINK, (input,), {"lambd": lambd})


def prelu(input, weight):
    _floating(input, "prelu_cpu")
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    if input.dim() != weight.dim():  # torch views the weight to broadcast along dimension 1
        shape = [1] * input.dim()
        if input.dim() >= 2:
            shape[1] = weight.numel()
        weight = weight.reshape(shape)
    return _apply(_rows.PRELU, (input, weight))
