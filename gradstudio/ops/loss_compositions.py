"""The losses and distances torch composes of other ops (in ATen's C++ or in
``torch.nn.functional``), built here of the same ops in the same order, so their graphs
end in torch's nodes: ``kl_div``, ``poisson_nll_loss``, ``gaussian_nll_loss``,
``margin_ranking_loss``, ``hinge_embedding_loss``, ``multilabel_soft_margin_loss``,
``cosine_embedding_loss``, ``triplet_margin_loss`` and ``pairwise_distance``.

A number added in C++ is a Scalar (AddBackward1, SubBackward1, at::norm's
NormBackward1: the rows in :mod:`gradstudio.ops.nn_functions`); one added in Python is
wrapped in a tensor (AddBackward0, DivBackward0), as Python's operators do here.
Arguments follow torch's signatures, with its checks and errors, and the legacy
``size_average``/``reduce`` pair with its warning (:func:`legacy_reduction`).
"""
from __future__ import annotations

import math
import warnings

from ..autograd.grad_mode import no_grad
from . import elementwise as E
from .creation import ones_like, zeros_like
from .losses import _check_reduction, legacy_reduction
from .activations import LOG_SIGMOID
from .nn_functions import ADD_SCALAR, MUL_SCALAR, NORM_SCALAR_DIM, SUB_SCALAR
from .pointwise_binary import xlogy
from .table import apply


def reduced(loss, reduction: str):
    """ATen's apply_loss_reduction: the loss itself, its mean or its sum."""
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def plus(x, number):
    """``x + number`` with the number a C++ Scalar (AddBackward1)."""
    return apply(ADD_SCALAR, (x,), {"other": number})


def times(x, number):
    """``x · number`` with the number a C++ Scalar (MulBackward1)."""
    return apply(MUL_SCALAR, (x,), {"other": number})


def minus(x, number):
    """``x − number`` with the number a C++ Scalar (SubBackward1)."""
    return apply(SUB_SCALAR, (x,), {"other": number})


def logsigmoid(input):
    """log σ(x): one LogSigmoidBackward0 node."""
    return apply(LOG_SIGMOID, (input,))


# -- divergences and likelihoods ---------------------------------------------------------------------
def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
    """Σ t (log t − x) (``input`` holds log-probabilities), ``target`` a log too with
    ``log_target``; "batchmean" is the sum over the batch size."""
    if size_average is not None or reduce is not None:
        kernel_reduction = legacy_reduction(size_average, reduce, reduction)
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                          "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                          "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                          UserWarning, stacklevel=2)
        kernel_reduction = "sum" if reduction == "batchmean" else _check_reduction(reduction)
    if input._data.dtype.kind not in "fc" or target._data.dtype.kind not in "fc":
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    loss = reduced(loss, kernel_reduction)
    if reduction == "batchmean" and input.dim() != 0:
        loss = loss / input.shape[0]
    return loss


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    """e^x − t·x for log-rates (``log_input``), x − t·log(x + eps) for rates; ``full`` adds
    Stirling's t log t − t + ½ log(2πt) where t > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * plus(input, eps).log()
    if full:
        stirling = target * target.log() - target + (target * (2 * math.pi)).log() * 0.5
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return reduced(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
    """½ (log v + (x − t)² / v) (+ ½ log 2π with ``full``), the variance clamped at ``eps``
    (without a gradient there); ``var`` the input's shape, one dimension short of it, or
    broadcastable with one dimension of size 1."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:          # homoscedastic, one variance per row
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim()
                  and sum(v for n, v in zip(input.shape, var.shape) if n != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = (var.log() + (input - target) ** 2 / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduced(loss, reduction)


# -- margins -----------------------------------------------------------------------------------------
def margin_ranking_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                        reduction: str = "mean"):
    """max(0, −t (x₁ − x₂) + margin): x₁ should rank above x₂ where t = 1, below where t = −1."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    return reduced(plus(-target * (input1 - input2), margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """x where t = 1, max(0, margin − x) where t = −1 (``input`` a distance)."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    zeros = zeros_like(input)
    margin_clamp = (margin - input).clamp_min(0)
    output_margin = E.where(target != 1, margin_clamp, zeros)
    output_self = E.where(target != -1, input, zeros)
    return reduced(output_margin + output_self, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    """−(t log σ(x) + (1 − t) log σ(−x)), averaged over the classes (the last dimension)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return reduced(loss, reduction)


_EPSILON = 1e-12  # ATen's, added to both squared magnitudes


def cosine_embedding_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                          reduction: str = "mean"):
    """1 − cos(x₁, x₂) where t = 1, max(0, cos(x₁, x₂) − margin) where t = −1."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    target_dim = target.dim()
    if target_dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if (input1.dim(), input2.dim()) != (target_dim + 1,) * 2:
        raise RuntimeError(f"{target_dim}D target tensor expects {target_dim + 1}D input tensors, but found inputs "
                           f"with sizes {list(input1.shape)} and {list(input2.shape)}.")
    prod_sum = (input1 * input2).sum(target_dim)
    mag_square1 = plus((input1 * input1).sum(target_dim), _EPSILON)
    mag_square2 = plus((input2 * input2).sum(target_dim), _EPSILON)
    cos = prod_sum / (mag_square1 * mag_square2).sqrt()
    zeros = zeros_like(cos)
    output_pos = E.where(target == 1, 1 - cos, zeros)
    output_neg = E.where(target == -1, minus(cos, margin).clamp_min(0), zeros)
    return reduced(output_pos + output_neg, reduction)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """‖x₁ − x₂ + eps‖_p along the last dimension (at::norm: NormBackward1)."""
    difference = plus(x1 - x2, eps)
    ndim = max(x1.dim(), x2.dim())
    dim = (ndim - 1,) if ndim else ()
    return apply(NORM_SCALAR_DIM, (difference,), {"p": float(p), "dim": dim, "keepdim": bool(keepdim)})


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
    """max(0, margin + d(a, p) − d(a, n)), d the pairwise distance; with ``swap`` d(a, n) is
    the smaller of d(a, n) and d(p, n)."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = (anchor.dim(), positive.dim(), negative.dim())
    if len(set(dims)) != 1:
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative {dims[2]}D inputs")
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = E.minimum(dist_neg, pairwise_distance(positive, negative, p, eps))
    return reduced((plus(dist_pos, margin) - dist_neg).clamp_min(0), reduction)
