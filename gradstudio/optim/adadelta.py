"""Adadelta: steps of √(E[Δx²] + ε)/√(E[g²] + ε)·g, both averages decaying by ρ (torch's
_single_tensor_adadelta), on a whole group's flat arrays at once when it is laid out
flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from . import _arith as A
from . import _elementwise
from .optimizer import Optimizer, _check

_ROLES = ("square_avg", "acc_delta")


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check("epsilon value", eps)
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return _elementwise.step(self, closure, _ROLES, _options, _update, reads_step=False)


def _options(group) -> tuple:
    return group["lr"], group["rho"], group["eps"], group["weight_decay"], group["maximize"]


def _update(data, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with its running averages of squared gradients and squared steps."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = A.add(grad, data, weight_decay)
    eps = data.dtype.type(eps)
    A.addcmul_(A.mul_(square_avg, rho), grad, grad, 1 - rho)
    std = np.sqrt(square_avg + eps)
    delta = np.sqrt(acc_delta + eps)
    delta /= std
    delta *= grad
    A.addcmul_(A.mul_(acc_delta, rho), delta, delta, 1 - rho)
    A.add_(data, delta, -lr)
