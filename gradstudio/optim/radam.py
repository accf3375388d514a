"""RAdam: Adam whose adaptive step is rectified by the variance of its estimate, and is
plain momentum SGD while the approximated SMA length ρₜ is at most 5 (torch's
_single_tensor_radam), on a whole group's flat arrays at once when it is laid out flat
(see ``_flat``)."""
from __future__ import annotations

import numpy as np

from . import _arith as A
from . import _elementwise
from .optimizer import Optimizer, _check, _check_betas

_ROLES = ("exp_avg", "exp_avg_sq")


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check_betas(betas)
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return _elementwise.step(self, closure, _ROLES, _options, _update)


def _options(group) -> tuple:
    return (group["lr"], *group["betas"], group["eps"], group["weight_decay"],
            group["decoupled_weight_decay"], group["maximize"])


def _update(data, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled,
            maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with its moments, at ``step``: −lr·m̂ₜ, times √(1 − β₂ᵗ)/(√vₜ + ε) and the rectification
    rₜ once ρₜ > 5."""
    grad = A.decayed_gradient(data, grad, lr, weight_decay, decoupled, maximize)
    A.lerp_(exp_avg, grad, 1 - beta1)
    A.addcmul_(A.mul_(exp_avg_sq, beta2), grad, grad, 1 - beta2)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    scalar = data.dtype.type
    update = np.divide(exp_avg, scalar(bias_correction1))  # the bias-corrected first moment
    update *= scalar(lr)
    if rho_t > 5.0:
        sq = np.sqrt(exp_avg_sq)
        sq += scalar(eps)
        # (bias_correction2 ** 0.5) / sq: a Python number over a tensor is torch's
        # Tensor.__rtruediv__, the reciprocal times the number
        adaptive = np.reciprocal(sq)
        adaptive *= scalar(bias_correction2 ** 0.5)
        update *= adaptive
        update *= scalar(((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5)
    np.subtract(data, update, out=data)  # param.add_(update, alpha=-1): x + (−1)·u is x − u exactly
