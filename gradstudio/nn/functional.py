"""``torch.nn.functional`` for GradStudio: activations and losses, so that
``import torch.nn.functional as F`` code runs unchanged."""
from __future__ import annotations

from ..ops.elementwise import (leaky_relu, relu, sigmoid, silu, softplus, tanh)  # noqa: F401
from ..ops.linalg import addmm as _addmm, matmul as _matmul
from ..ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                          cross_entropy, l1_loss, mse_loss, nll_loss)
from ..ops.reduction import log_softmax, softmax  # noqa: F401


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` — one AddmmBackward0 node for 2-d input, as in torch."""
    if input.dim() == 2 and bias is not None:
        return _addmm(bias, input, weight.t())
    out = _matmul(input, weight.t())
    return out + bias if bias is not None else out


def relu_(input):
    return input.relu_()
