"""Adam and AdamW (torch's _single_tensor_adam; AdamW is Adam with decoupled weight decay)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from .optimizer import Optimizer, _check, bump


class Adam(Optimizer):
    _decoupled_default = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=None, amsgrad=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=None):
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self._decoupled_default
        if weight_decay is None:
            weight_decay = 1e-2 if type(self)._decoupled_default else 0
        _check("learning rate", lr)
        _check("epsilon value", eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        state_of = self.state
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
            decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                state = state_of[p]
                if not state:
                    state["step"] = make(np.array(0.0, dtype=np.float32))
                    state["exp_avg"] = make(np.zeros_like(p._data))
                    state["exp_avg_sq"] = make(np.zeros_like(p._data))
                    if amsgrad:
                        state["max_exp_avg_sq"] = make(np.zeros_like(p._data))
                if maximize:
                    grad = -grad
                step_t = state["step"]._data
                # step_t += 1 (the sum is exact, and fill rounds it as the float32 add
                # would), without a ufunc call on a 0-d array
                step_t.fill(step_t.item() + 1.0)
                if weight_decay != 0:
                    if decoupled:
                        A.mul_(p._data, 1 - lr * weight_decay)
                    else:
                        grad = A.add(grad, p._data, weight_decay)
                exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
                A.lerp_(exp_avg, grad, 1 - beta1)
                np.multiply(exp_avg_sq, exp_avg_sq.dtype.type(beta2), out=exp_avg_sq)  # A.mul_
                A.addcmul_(exp_avg_sq, grad, grad, 1 - beta2)
                step = step_t.item()
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5
                if amsgrad:
                    max_sq = state["max_exp_avg_sq"]._data
                    np.maximum(max_sq, exp_avg_sq, out=max_sq)
                    source = max_sq
                else:
                    source = exp_avg_sq
                denom = np.sqrt(source)
                denom /= source.dtype.type(bias_correction2_sqrt)  # in place: no second array
                denom += denom.dtype.type(eps)
                A.addcdiv_(p._data, exp_avg, denom, -step_size)
                bump(p)  # graphs that saved p must notice
        return loss


class AdamW(Adam):
    _decoupled_default = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 *, maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
