"""``torch.nn.functional`` for GradStudio: activations, losses and the layer
functions the modules call, so that ``import torch.nn.functional as F`` code runs
unchanged. Ops with a row of their own come from the op table; the rest are
compositions of rows, in torch's order of operations."""
from __future__ import annotations

import math

import numpy as np

from ..ops.elementwise import (leaky_relu as _leaky_relu, relu as _relu, sigmoid, silu,  # noqa: F401
                               softplus as _softplus, tanh)
from ..ops.linalg import addmm as _addmm, matmul as _matmul
from ..ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                          cross_entropy, mse_loss, nll_loss)
from ..ops.losses import _broadcast_warning, _check_reduction, promoted
from ..ops.reduction import log_softmax, softmax  # noqa: F401
from ..ops.compositions import cosine_similarity  # noqa: F401
from ._activation_functions import (celu, celu_, elu_, glu, hardshrink, hardsigmoid, hardswish,  # noqa: F401
                                   hardtanh, hardtanh_, logsigmoid, mish, prelu, relu6, selu, selu_,
                                   softshrink, softsign, tanhshrink, threshold, threshold_)
from ..ops.loss_compositions import (cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss,  # noqa: F401
                                     kl_div, margin_ranking_loss, multilabel_soft_margin_loss,
                                     pairwise_distance, poisson_nll_loss, triplet_margin_loss)
from ..ops.loss_compositions import legacy_reduction as _legacy
from ._resampling_functions import (fold, interpolate, pixel_shuffle, pixel_unshuffle, unfold,  # noqa: F401
                                    upsample)
from ._resampling_functions import pad_by_copying as _pad_by_copying
from ._attention_functions import scaled_dot_product_attention  # noqa: F401
from ..ops import margin_losses as _margin
from ..ops import nn_functions as _rows
from ..autograd.grad_mode import state as _grad_state
from ..ops.linalg import ADDMM as _ADDMM
from ..ops.shape import T as _T
from ..ops.table import apply as _apply, record as _record
from ..tensor import Tensor, make as _make
from ..dtypes import scalar_type_name
from ..generator import rng as _rng


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` — one AddmmBackward0 node for 2-d input, as in torch;
    other contiguous input with a bias is flattened to 2-d first and viewed back
    (ViewBackward0 over AddmmBackward0), the rest is ``matmul`` plus the bias.

    With a bias, 2-d input and a 2-d weight (a layer called in a training loop) it is
    ``addmm(bias, input, weight.t())`` without its two wrappers: the same forward
    (``bias + input @ weight.T``) and, when it is recorded, the same two nodes —
    TBackward0 for ``weight.t()``, a view of the weight, and AddmmBackward0 on (bias,
    input, that view)."""
    x = input._data
    if bias is None or x.ndim != 2:
        if bias is not None and input.is_contiguous() and (x.ndim == 3 or bias._data.ndim == 1):
            # ATen's _flatten_nd_linear: input reshaped to 2-d, addmm, viewed back
            flat = linear(input.reshape(math.prod(x.shape[:-1]), x.shape[-1]), weight, bias)
            return flat.view(*x.shape[:-1], flat._data.shape[1])
        out = _matmul(input, weight.t())
        return out + bias if bias is not None else out
    w = weight._data
    if w.ndim != 2:
        return _addmm(bias, input, weight.t())
    if x.shape[1] != w.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({x.shape[0]}x{x.shape[1]} "
                           f"and {w.shape[1]}x{w.shape[0]})")
    w_t = w.T
    out = x @ w_t
    b = bias._data
    if b.dtype is out.dtype and b.shape == w.shape[:1]:
        # ADDMM's forward for beta = alpha = 1, bias + x @ w_t, into the product's array (a
        # bias of another dtype, or one with more dims, gives what ``+`` gives)
        np.add(b, out, out=out)
    else:
        out = b + out
    if not (_grad_state.enabled
            and (input._requires_grad or weight._requires_grad or bias._requires_grad)):
        return _make(out)
    if weight._requires_grad:
        mat2 = _record(_T, (weight,), None, w_t)
    else:
        mat2 = _make(w_t)
    mat2._base = weight._base if weight._base is not None else weight  # a view (shape._as_view)
    return _record(_ADDMM, (bias, input, mat2), _ADDMM_PARAMS, out)


# every recorded linear layer's params (never written to: a node only reads its params)
_ADDMM_PARAMS = {"beta": 1, "alpha": 1}


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
    reduction = _check_reduction(_legacy(size_average, reduce, reduction))
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
    return _apply(_rows.SOFTPLUS_BETA, (input,), {"beta": beta, "threshold": threshold})


def gelu(input, approximate: str = "none"):
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh.")
    return _apply(_rows.GELU, (_floating(input, "GeluKernelImpl"),), {"approximate": approximate})


def elu(input, alpha: float = 1.0, inplace: bool = False):
    if inplace:  # torch's elu_ saves its result: EluBackward1
        return elu_(input, alpha)
    return _apply(_rows.ELU, (input,), {"alpha": alpha})


def _floating(input, kernel):
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(input._data.dtype)}'")
    return input


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    if weight is not None:
        raise NotImplementedError("GradStudio's huber_loss does not support weight=")
    _broadcast_warning(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _apply(_rows.HUBER_LOSS, promoted(input, target), {"reduction": _check_reduction(reduction),
                                                              "delta": delta})


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
    _broadcast_warning(input, target)
    reduction = _legacy(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:  # torch runs it as l1_loss (no SmoothL1LossBackward0 node)
        return l1_loss(input, target, reduction=reduction)
    return _apply(_rows.SMOOTH_L1_LOSS, promoted(input, target), {"reduction": _check_reduction(reduction),
                                                          "beta": float(beta)})


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """log(1 + e^(−t·x)): one SoftMarginLossBackward0 node."""
    return _margin.soft_margin_loss(input, target, _check_reduction(_legacy(size_average, reduce, reduction)))


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                      reduce=None, reduction: str = "mean"):
    """Each wrong class's hinge against the target class: one MultiMarginLossBackward0 node."""
    reduction = _check_reduction(_legacy(size_average, reduce, reduction))
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    return _margin.multi_margin_loss(input, target, p, margin, weight, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Each non-target class's hinge against each target class: one
    MultilabelMarginLossBackward0 node."""
    return _margin.multilabel_margin_loss(input, target,
                                          _check_reduction(_legacy(size_average, reduce, reduction)))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    return softmax(-input, dim, dtype)


def _check_probability(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _bernoulli_keep(shape, p, dtype):
    """1 where an element (or a whole channel) is kept, with probability 1 − p; drawn with
    GradStudio's generator."""
    return (_rng(None).random(shape) >= p).astype(dtype)


def _multiply(input, noise, inplace):
    noise = Tensor._make(noise)
    return input.mul_(noise) if inplace else input * noise


def _dropout(input, p, training, inplace, feature: bool, alpha: bool, batched: bool = True):
    """torch's one dropout: a keep-mask over the elements, or with ``feature`` over the
    channels (axis 1, or axis 0 of an unbatched input) broadcast across the rest; kept
    values scaled by 1/(1 − p), or with ``alpha`` scaled and shifted so that a SELU's zero
    mean and unit variance survive (dropped values become −α′·a·(1 − p), α′ = SELU's α·λ)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    dtype = input._data.dtype
    if p == 1.0:
        return _multiply(input, np.zeros((), dtype=dtype), inplace)
    lead = 2 if batched else 1
    if feature and input.dim() < lead:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = input.shape[:lead] + (1,) * (input.dim() - lead) if feature else input.shape
    keep = _bernoulli_keep(shape, p, dtype)
    if not alpha:
        return _multiply(input, keep / dtype.type(1 - p), inplace)
    selu = 1.7580993408473766
    a = 1.0 / np.sqrt((selu * selu * p + 1) * (1 - p))
    shift = Tensor._make(((keep - 1) * (selu * a) + selu * a * p).astype(dtype))
    return _multiply(input, keep * dtype.type(a), inplace).add_(shift)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """``input · mask / (1 − p)`` with a Bernoulli(1 − p) mask: one MulBackward0, as torch."""
    _check_probability(p)
    return _dropout(input, p, training, inplace, feature=False, alpha=False)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Dropout for SELU networks: MulBackward0 then AddBackward0 (the shift), as torch."""
    _check_probability(p)
    return _dropout(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Alpha dropout of whole channels."""
    _check_probability(p)
    return _dropout(input, p, training, inplace, feature=True, alpha=True)


def _feature_dropout(input, p, training, inplace, batched: bool):
    """Channel dropout. An input without its batch axis gets one for the draw
    (UnsqueezeBackward0 … SqueezeBackward1, as torch); in place it is multiplied by its
    (C, 1, …) mask directly (torch unsqueezes and squeezes the tensor itself, GradStudio
    has no in-place unsqueeze)."""
    if batched or inplace:
        return _dropout(input, p, training, inplace, feature=True, alpha=False, batched=batched)
    return _dropout(input.unsqueeze(0), p, training, False, feature=True, alpha=False).squeeze(0)


def _deprecated_rank_warning(name: str, rank: int, spatial: str, ranks: str):
    import warnings
    warnings.warn(f"{name}: Received a {rank}-D input to {name}, which is deprecated and will result in an error "
                  "in a future release. To retain the behavior and silence this warning, please use dropout "
                  f"instead. Note that {name} exists to provide channel-wise dropout on inputs with {spatial} "
                  "spatial dimensions, a channel dimension, and an optional batch dimension "
                  f"(i.e. {ranks} inputs).", stacklevel=3)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Whole channels of (N, C, L) or (C, L) input zeroed with probability p, the rest
    scaled by 1/(1 − p)."""
    _check_probability(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, batched=input.dim() == 3)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Whole channels of (N, C, H, W) input zeroed with probability p. As torch (for now),
    a 3-d input is taken as (N, C, L), with a warning, not as one unbatched sample."""
    import warnings
    _check_probability(p)
    if input.dim() not in (3, 4):
        _deprecated_rank_warning("dropout2d", input.dim(), "2", "3D or 4D")
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, batched=True)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Whole channels of (N, C, D, H, W) or (C, D, H, W) input zeroed with probability p."""
    _check_probability(p)
    if input.dim() not in (4, 5):
        _deprecated_rank_warning("dropout3d", input.dim(), "3", "4D or 5D")
    return _feature_dropout(input, p, training, inplace, batched=input.dim() == 5)


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
    """Constant padding: ``pad`` lists (before, after) pairs from the last dimension back;
    one ConstantPadNdBackward0 node, as torch records it."""
    if mode in ("reflect", "replicate"):
        return _pad_by_copying(input, pad, mode)
    if mode != "constant":
        raise NotImplementedError(f"GradStudio's pad supports modes 'constant', 'reflect' and 'replicate', "
                                  f"not {mode!r}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {input.dim()}")
    return _apply(_rows.CONSTANT_PAD, (input,), {"pad": tuple(int(p) for p in pad),
                                                 "value": 0.0 if value is None else value})


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` picked by ``input``: one EmbeddingBackward0 node (the row at
    ``padding_idx`` gets no gradient)."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("GradStudio's embedding does not support max_norm, scale_grad_by_freq "
                                  "or sparse")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar "
                           f"types: Long, Int; but got torch.{input.dtype.__str__().split('.')[-1].capitalize()}"
                           "Tensor instead (while checking arguments for embedding)")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return _apply(_rows.EMBEDDING, (weight, input), {"padding_idx": -1 if padding_idx is None else padding_idx})


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """One NativeLayerNormBackward0 node over the last ``len(normalized_shape)`` dimensions."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.dim() - len(normalized_shape):]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, normalized_shape))}], but got input of size"
                           f"{list(input.shape)}")
    return _apply(_rows.LAYER_NORM, (input, weight, bias), {"normalized_shape": normalized_shape, "eps": eps})


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """One NativeBatchNormBackward0 node: each channel (axis 1) normalised over every
    other axis in training, by the running statistics otherwise; in training the
    running statistics are updated in place with the unbiased variance, as torch does."""
    dims = _rows._batch_dims(input.dim())          # every axis but the channels' (1)
    if training:
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{input.shape}")
        if running_mean is not None:
            data = input._data.astype(np.float64)
            batch_mean = data.mean(axis=dims)
            batch_var = data.var(axis=dims, ddof=1)
            rm, rv = running_mean._data, running_var._data
            rm[...] = (1 - momentum) * rm + momentum * batch_mean
            rv[...] = (1 - momentum) * rv + momentum * batch_var
    return _apply(_rows.BATCH_NORM, (input, weight, bias, None if training else running_mean,
                                     None if training else running_var), {"training": bool(training), "eps": eps})



def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Each (sample, channel) normalised over its spatial axes, as torch runs it: a batch
    norm of the input viewed as one sample of N·C channels (ViewBackward0 on each side of
    NativeBatchNormBackward0, the weight and bias repeated N times); the running
    statistics, repeated likewise, come back as their mean over the samples."""
    if use_input_stats:
        if input.numel() // (input.shape[0] * input.shape[1]) <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                             f"{input.shape}")
    elif running_mean is None or running_var is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    n, c = input.shape[0], input.shape[1]
    repeated = [None if t is None else t.repeat(n) for t in (weight, bias)]
    stats = [None if t is None else Tensor._make(np.tile(t._data, n)) for t in (running_mean, running_var)]
    out = batch_norm(input.reshape(1, n * c, *input.shape[2:]), stats[0], stats[1], *repeated,
                     use_input_stats, momentum, eps)
    for mine, theirs in zip((running_mean, running_var), stats):
        if mine is not None and use_input_stats:
            mine._data[...] = theirs._data.reshape(n, c).mean(axis=0)
    return out.view(input.shape)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """One NativeGroupNormBackward0 node: each sample normalised over each group of
    ``C / num_groups`` channels and the spatial axes, then each channel scaled and shifted."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    if input.shape[1] % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input "
                           f"of shape {list(input.shape)} and num_groups={num_groups}")
    if input.numel() // (input.shape[0] * num_groups) <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{[input.shape[0] * input.shape[1] // num_groups, num_groups, *input.shape[2:]]}")
    return _apply(_rows.GROUP_NORM, (input, weight, bias), {"num_groups": int(num_groups), "eps": eps})

# -- convolution and max pooling (rows in gradstudio/ops/conv.py) ------------------------------------
def _sizes(value, d: int):
    """One int, or one or ``d`` of them, as ``d`` ints; None for any other count."""
    if isinstance(value, int):
        return (value,) * d
    value = tuple(int(v) for v in value)
    return value * d if len(value) == 1 else value if len(value) == d else None


def _tuple(value, d: int, what: str) -> tuple:
    sizes = _sizes(value, d)
    if sizes is None:
        raise RuntimeError(f"expected {what} to be a single integer value or a list of {d} values to match "
                           f"the convolution dimensions, but got {what}={list(value)}")
    return sizes


def _convolution(d: int, name: str, input, weight, bias, stride, padding, dilation, groups):
    from ..ops import conv as _conv_rows
    if input.dim() not in (d + 1, d + 2):
        raise RuntimeError(f"Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to {name}, "
                           f"but got input of size: {list(input.shape)}")
    if input.dim() == d + 1:                      # unbatched, as torch: unsqueeze, convolve, squeeze
        return _convolution(d, name, input.unsqueeze(0), weight, bias, stride, padding, dilation,
                            groups).squeeze(0)
    stride, dilation = _tuple(stride, d, "stride"), _tuple(dilation, d, "dilation")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * d
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [dl * (k - 1) for dl, k in zip(dilation, kernel)]
            if any(t % 2 for t in total):         # the odd one out goes on the right, as torch pads
                extra = []
                for t in reversed(total):
                    extra += [0, t % 2]
                input = pad(input, extra)
            padding = tuple(t // 2 for t in total)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _tuple(padding, d, "padding")
    channels = input.shape[1]
    if weight.shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size [{list(weight.shape)}] instead")
    if weight.dim() != d + 2 or channels != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(input.shape)} to have {weight.shape[1] * groups} channels, "
                           f"but got {channels} channels instead")
    padded = [s + 2 * p for s, p in zip(input.shape[2:], padding)]
    span = [dl * (k - 1) + 1 for dl, k in zip(dilation, kernel)]
    if any(p < k for p, k in zip(padded, span)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                           f"Kernel size: ({' x '.join(map(str, span))}). "
                           "Kernel size can't be greater than actual input size")
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": int(groups)}
    if bias is None:
        return _apply(_conv_rows.CONV_NO_BIAS, (input, weight), params)
    return _apply(_conv_rows.CONV, (input, weight, bias), params)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution (cross-correlation): one ConvolutionBackward0 node, as torch."""
    return _convolution(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation): one ConvolutionBackward0 node, as torch."""
    return _convolution(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of every window: one MaxPool2DWithIndicesBackward0 node; with
    ``return_indices`` also each maximum's flat position in its input plane."""
    from ..ops import conv as _conv_rows
    if input.dim() not in (3, 4):
        raise RuntimeError(f"non-empty 3D or 4D (batch mode) tensor expected for input")
    kernel = _tuple(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _tuple(stride, 2, "stride")
    padding, dilation = _tuple(padding, 2, "padding"), _tuple(dilation, 2, "dilation")
    for p, k, dl in zip(padding, kernel, dilation):
        if p > (dl * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={dl}")
    params = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation,
              "ceil_mode": bool(ceil_mode)}
    out = _apply(_conv_rows.MAX_POOL2D, (input,), params)
    if return_indices:
        return out, Tensor._make(_conv_rows.max_pool_indices(input._data, **params))
    return out


def _pool_size(value, what: str, name: str, d: int = 2) -> tuple:
    """A pooling size as ``d`` ints, with torch's message for anything else."""
    sizes = _sizes(value, d)
    if sizes is None:
        raise RuntimeError(f"{name}: {what} must either be a single int, or a tuple of {'two' if d == 2 else d} ints")
    return sizes


def _pooled_sizes(input, kernel, stride, padding, ceil_mode) -> tuple:
    from ..ops.avg_pool import output_size
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation=1")
    if 0 in stride:
        raise RuntimeError("stride should not be zero")
    out = output_size(input.shape, kernel, stride, padding, ceil_mode)
    if min(out) < 1:
        planes = input.shape[-3] if input.dim() > 2 else 1
        raise RuntimeError(f"Given input size: ({planes}x{input.shape[-2]}x{input.shape[-1]}). Calculated output "
                           f"size: ({planes}x{out[0]}x{out[1]}). Output size is too small")
    return out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of every window of the last two dimensions: one AvgPool2DBackward0 node."""
    from ..ops import avg_pool as _pool_rows
    if input.dim() not in (3, 4):
        input.size(-3)       # torch's IndexError for a 2-d input; a 5-d one gets the message below
        raise RuntimeError(f"non-empty 3D or 4D (batch mode) tensor expected for input")
    kernel = _pool_size(kernel_size, "kernel_size", "avg_pool2d")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _pool_size(stride, "stride", "avg_pool2d")
    padding = _pool_size(padding, "padding", "avg_pool2d")
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    _pooled_sizes(input, kernel, stride, padding, ceil_mode)
    return _apply(_pool_rows.AVG_POOL2D, (input,),
                  {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": bool(ceil_mode),
                   "count_include_pad": bool(count_include_pad),
                   "divisor_override": None if divisor_override is None else int(divisor_override)})


def adaptive_avg_pool2d(input, output_size):
    """The mean of each cell of an ``output_size`` grid laid over the last two
    dimensions: AdaptiveAvgPool2DBackward0, or MeanBackward1 for a 1×1 grid (as torch)."""
    from ..ops import avg_pool as _pool_rows
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    if isinstance(output_size, int):
        size = (output_size, output_size)
    else:
        size = tuple(output_size)
        if len(size) == 1:
            size = size * 2
        if len(size) != 2:
            raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    size = tuple(n if s is None else int(s) for s, n in zip(size, input.shape[-2:]))
    if size == (1, 1) and 0 not in input.shape[-2:]:
        return input.mean((-1, -2), keepdim=True)
    return _apply(_pool_rows.ADAPTIVE_AVG_POOL2D, (input,), {"output_size": size})


def _one_d(pool2d, name: str, input, *args):
    """A 1-d pool as torch runs it: the 2-d pool of ``input.unsqueeze(-2)``, squeezed."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument "
                           f"#1 'self' (while checking arguments for {name})")
    return pool2d(input.unsqueeze(-2), *args).squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """The mean of every window of the last dimension."""
    kernel = (1,) + _pool_size(kernel_size, "kernel_size", "avg_pool1d", 1)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else (1,) + _pool_size(stride, "stride", "avg_pool1d", 1)
    padding = (0,) + _pool_size(padding, "padding", "avg_pool1d", 1)
    return _one_d(avg_pool2d, "avg_pool1d", input, kernel, stride, padding, ceil_mode, count_include_pad)


def adaptive_avg_pool1d(input, output_size):
    """The mean of each of ``output_size`` cells laid over the last dimension."""
    size = _pool_size(output_size, "output_size", "adaptive_avg_pool1d", 1)
    return _one_d(adaptive_avg_pool2d, "adaptive_avg_pool1d", input, (1,) + size)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of every window of the last dimension."""
    kernel = (1,) + _pool_size(kernel_size, "kernel_size", "max_pool1d", 1)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else (1,) + _pool_size(stride, "stride", "max_pool1d", 1)
    padding = (0,) + _pool_size(padding, "padding", "max_pool1d", 1)
    dilation = (1,) + _pool_size(dilation, "dilation", "max_pool1d", 1)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument "
                           f"#1 'self' (while checking arguments for max_pool1d)")
    out = max_pool2d(input.unsqueeze(-2), kernel, stride, padding, dilation, ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)
