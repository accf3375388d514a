"""Adamax: Adam with the infinity norm, uₜ = max(β₂uₜ₋₁, |gₜ| + ε), in place of the
second moment (torch's _single_tensor_adamax), on a whole group's flat arrays at once
when it is laid out flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from . import _arith as A
from . import _elementwise
from .optimizer import Optimizer, _check, _check_betas

_ROLES = ("exp_avg", "exp_inf")


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check_betas(betas)
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return _elementwise.step(self, closure, _ROLES, _options, _update)


def _options(group) -> tuple:
    return group["lr"], *group["betas"], group["eps"], group["weight_decay"], group["maximize"]


def _update(data, grad, exp_avg, exp_inf, step, lr, beta1, beta2, eps, weight_decay, maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with its first moment and infinity norm, at ``step``."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = A.add(grad, data, weight_decay)
    A.lerp_(exp_avg, grad, 1 - beta1)
    norm = np.abs(grad)
    norm += norm.dtype.type(eps)
    np.maximum(A.mul_(exp_inf, beta2), norm, out=exp_inf)
    A.addcdiv_(data, exp_avg, exp_inf, -(lr / (1 - beta1 ** step)))
