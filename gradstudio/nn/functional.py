"""``torch.nn.functional`` for GradStudio: activations, losses and the layer
functions the modules call, so that ``import torch.nn.functional as F`` code runs
unchanged. Ops with a row of their own come from the op table; the rest are
compositions of rows, in torch's order of operations."""
from __future__ import annotations

import numpy as np

from ..ops.elementwise import (leaky_relu as _leaky_relu, relu as _relu, sigmoid, silu,  # noqa: F401
                               softplus as _softplus, tanh)
from ..ops.linalg import addmm as _addmm, matmul as _matmul
from ..ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                          cross_entropy, mse_loss, nll_loss)
from ..ops.losses import _broadcast_warning, _check_reduction
from ..ops.reduction import log_softmax, softmax  # noqa: F401
from ..tensor import Tensor
from ..generator import rng as _rng


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` — one AddmmBackward0 node for 2-d input, as in torch."""
    if input.dim() == 2 and bias is not None:
        return _addmm(bias, input, weight.t())
    out = _matmul(input, weight.t())
    return out + bias if bias is not None else out


def bilinear(input1, input2, weight, bias=None):
    """``y[n, k] = Σ_ij x1[n, i] W[k, i, j] x2[n, j] + b[k]``."""
    out = (_matmul(input1, weight) * input2).sum(-1)    # (out, N)
    out = out.movedim(0, -1)
    return out + bias if bias is not None else out


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """torch 2.x composes it: ``|input − target|`` then mean or sum (AbsBackward0,
    MeanBackward0, SumBackward0 — there is no L1LossBackward0 any more)."""
    _broadcast_warning(input, target)
    loss = (input - target).abs()
    reduction = _check_reduction(reduction)
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def relu(input, inplace: bool = False):
    return input.relu_() if inplace else _relu(input)


def relu_(input):
    return input.relu_()


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    if inplace:
        from ..ops.inplace import commit_inplace
        return commit_inplace(input, _leaky_relu(input, negative_slope))
    return _leaky_relu(input, negative_slope)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    if beta == 1 and threshold == 20:
        return _softplus(input)
    # torch: x where beta·x > threshold, else log(1 + exp(beta·x)) / beta
    from ..ops.elementwise import where
    scaled = input * beta
    return where(scaled > threshold, input, _softplus(scaled) / beta)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-input, dim, dtype)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """``input · mask / (1 − p)`` with a Bernoulli(1 − p) mask: one MulBackward0, as torch."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    dtype = input._data.dtype
    if p == 1.0:
        noise = np.zeros(input._data.shape, dtype=dtype)
    else:
        noise = (_rng(None).random(input._data.shape) >= p).astype(dtype) / dtype.type(1 - p)
    noise = Tensor._make(noise)
    if inplace:
        return input.mul_(noise)
    return input * noise


def one_hot(tensor, num_classes: int = -1):
    if tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    values = tensor._data
    if num_classes == -1:
        num_classes = int(values.max()) + 1 if values.size else 0
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if values.max() >= num_classes
                           else "Class values must be non-negative.")
    out = np.zeros(values.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, values[..., None], 1, axis=-1)
    return Tensor._make(out)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """``input / max(‖input‖_p, eps)`` along ``dim`` (torch's clamp_min, then expand_as, then div)."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denom


def pad(input, pad, mode: str = "constant", value=None):
    """Constant padding: ``pad`` lists (before, after) pairs from the last dimension back."""
    if mode != "constant":
        raise NotImplementedError(f"GradStudio's pad supports mode='constant' only, not {mode!r}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {input.dim()}")
    from ..ops.shape import cat
    from ..ops.creation import full
    out = input
    fill = 0.0 if value is None else value
    for i in range(len(pad) // 2):
        dim = input.dim() - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        pieces = []
        for width in (before, after):
            shape = list(out.shape)
            shape[dim] = width
            pieces.append(full(shape, fill, dtype=out.dtype) if width > 0 else None)
        if before < 0:
            out = out.narrow(dim, -before, out.shape[dim] + before)
        if after < 0:
            out = out.narrow(dim, 0, out.shape[dim] + after)
        parts = [x for x in (pieces[0], out, pieces[1]) if x is not None]
        out = cat(parts, dim) if len(parts) > 1 else out
    return out


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    return weight[input]


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    dims = tuple(range(-len(normalized_shape), 0))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, unbiased=False, keepdim=True)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalise over the batch (and length) dimensions; in training, update the running
    statistics in place with the unbiased variance, as torch does."""
    dims = (0,) if input.dim() == 2 else (0, 2)
    shape = [1] * input.dim()
    shape[1] = input.shape[1]
    if training:
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{input.shape}")
        mean = input.mean(dims)
        var = input.var(dims, unbiased=False)
        if running_mean is not None:
            data = input._data.astype(np.float64)
            batch_mean = data.mean(axis=dims)
            batch_var = data.var(axis=dims, ddof=1)
            rm, rv = running_mean._data, running_var._data
            rm[...] = (1 - momentum) * rm + momentum * batch_mean
            rv[...] = (1 - momentum) * rv + momentum * batch_var
    else:
        mean, var = running_mean, running_var
    out = (input - mean.reshape(shape)) * (var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out

