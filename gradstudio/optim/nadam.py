"""NAdam: Adam with Nesterov momentum, its momentum schedule μₜ = β₁(1 − ½·0.96^(t·ψ))
and their running product kept as ``mu_product`` (torch's _single_tensor_nadam), on a
whole group's flat arrays at once when it is laid out flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from . import _flat
from .optimizer import Optimizer, _check, _check_betas, bump, count_step

_ROLES = ("exp_avg", "exp_avg_sq")


class NAdam(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check_betas(betas)
        _check("weight_decay value", weight_decay)
        _check("momentum_decay value", momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            options = (lr, beta1, beta2, group["eps"], group["weight_decay"], group["decoupled_weight_decay"],
                       group["maximize"])
            flat = _flat.flat_group(self, group, _ROLES)
            mu_product = None if flat is None else _flat.common(flat, "mu_product")
            step = None if mu_product is None else _flat.next_step(flat)
            if step is not None:  # the group laid out flat, at one step and one μ product
                mu_product, values = _scalars(lr, beta1, group["momentum_decay"], step, mu_product)
                _flat.fill(flat, "mu_product", mu_product)
                _update(flat.param, flat.grad, flat.state["exp_avg"], flat.state["exp_avg_sq"], step,
                        values, *options)
                flat.stepped()
                continue
            for p, grad in self._grads(group):
                state = self.state[p]
                if not state:
                    state["step"] = make(np.array(0.0, dtype=np.float32))
                    state["mu_product"] = make(np.array(1.0, dtype=np.float32))
                    state["exp_avg"] = make(np.zeros_like(p._data))
                    state["exp_avg_sq"] = make(np.zeros_like(p._data))
                step = count_step(state["step"])
                product = state["mu_product"]._data
                mu_product, values = _scalars(lr, beta1, group["momentum_decay"], step, product.item())
                product.fill(mu_product)
                _update(p._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data, step, values,
                        *options)
                bump(p)
        return loss


def _scalars(lr, beta1, momentum_decay, step, mu_product):
    """The new ``mu_product`` (μ₁⋯μₜ, multiplied in float32 as the state holds it) and the
    two addcdiv values: −lr(1 − μₜ)/(1 − μ₁⋯μₜ) for the gradient, −lr·μₜ₊₁/(1 − μ₁⋯μₜ₊₁)
    for the first moment."""
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product = float(np.float32(mu_product) * np.float32(mu))  # mu_product *= mu
    mu_product_next = mu_product * mu_next
    return mu_product, (-lr * (1.0 - mu) / (1.0 - mu_product), (-lr * mu_next) / (1.0 - mu_product_next))


def _update(data, grad, exp_avg, exp_avg_sq, step, values, lr, beta1, beta2, eps, weight_decay,
            decoupled, maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with its moments, at ``step``, with :func:`_scalars`' ``values``."""
    grad = A.decayed_gradient(data, grad, lr, weight_decay, decoupled, maximize)
    A.lerp_(exp_avg, grad, 1 - beta1)
    A.addcmul_(A.mul_(exp_avg_sq, beta2), grad, grad, 1 - beta2)
    denom = np.sqrt(np.divide(exp_avg_sq, exp_avg_sq.dtype.type(1 - beta2 ** step)))
    denom += denom.dtype.type(eps)
    grad_value, avg_value = values
    A.addcdiv_(data, grad, denom, grad_value)
    A.addcdiv_(data, exp_avg, denom, avg_value)
