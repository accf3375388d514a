"""The autograd error messages, worded exactly as torch 2.13 words them.

Tutorials quote these messages, so they are kept in one place and tested
against the oracle.
"""
from __future__ import annotations

import re

from ..dtypes import scalar_type_name, type_meta_name

SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
IMPLICIT_GRAD_NON_SCALAR = "grad can be implicitly created only for scalar outputs"
LEAF_INPLACE = "a leaf Variable that requires grad is being used in an in-place operation."
NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead. See github.com/pytorch/pytorch/pull/30531 for more information."
)
ONLY_FLOAT_REQUIRES_GRAD = "Only Tensors of floating point and complex dtype can require gradients"
ANOMALY_HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its "
                "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def freed_saved_tensors_error() -> str:
    return SECOND_BACKWARD


def no_grad_fn_error(index: int) -> str:
    return f"element {index} of tensors does not require grad and does not have a grad_fn"


def legacy_type_name(tensor) -> str:
    """torch's legacy type name: ``torch.FloatTensor`` for float32, …"""
    return "torch." + _LEGACY.get(tensor._data.dtype.name, "Tensor")


def typename(obj) -> str:
    """``torch.typename``, what torch's messages name an object by: a tensor's legacy
    type, a builtin's bare name (``float``), anything else ``module.qualname``."""
    if hasattr(obj, "_data") and hasattr(obj, "grad_fn"):  # a Tensor (this module imports none)
        return legacy_type_name(obj)
    kind = obj if isinstance(obj, type) else type(obj)
    module = kind.__module__ or ""
    return kind.__qualname__ if module in ("", "builtins") else f"{module}.{kind.__qualname__}"


_LEGACY = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
           "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
           "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def inplace_version_error(tensor, expected: int, producer=None) -> str:
    shape = ", ".join(str(n) for n in tensor._data.shape)
    described = f"[{legacy_type_name(tensor)} [{shape}]]"
    if producer:
        name = producer.name()
        name = "torch::autograd::CopySlices" if name == "CopySlices" else re.sub(r"Backward[0-9]*$", "", name)
        described += f", which is output 0 of {name}"
    return ("one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: {described}, is at version {tensor._version}; expected version "
            f"{expected} instead. {ANOMALY_HINT}")




def grad_dtype_error(grad, tensor) -> str:
    """``x.grad = g`` with g of another dtype (torch names the two dtypes two ways)."""
    return (f"attempting to assign a gradient with dtype '{type_meta_name(grad._data.dtype)}' to a "
            f"tensor with grad_dtype '{scalar_type_name(tensor._data.dtype)}'. The gradient must match "
            "the tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's "
            "grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype "
            "with caution. Diverging the dtypes of a tensor and its gradient may break downstream "
            "systems that assume they match.")


def shape_mismatch_error(index: int, grad_shape, out_shape) -> str:
    return (f"Mismatch in shape: grad_output[{index}] has a shape of {grad_shape!r} and "
            f"output[{index}] has a shape of {out_shape!r}.")


CREATE_GRAPH_CYCLE = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter "
    "and its gradient which can cause a memory leak. We recommend using autograd.grad when creating "
    "the graph to avoid this. If you have to use this function, make sure to reset the .grad fields "
    "of your parameters to None after use to break the cycle and avoid the leak.")
GRAD_TENSOR_TO_SCALAR = ("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                         "behavior.\nConsider using tensor.detach() first.")

_warned: set = set()


def warn_once(message: str) -> None:
    """A UserWarning torch gives once per process (its TORCH_WARN_ONCE), attributed to
    the first frame outside gradstudio — the user's line."""
    if message in _warned:
        return
    _warned.add(message)
    import sys
    import warnings
    package = __name__.split(".")[0]
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == package:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)
