"""RMSprop, plain, centered and with momentum (torch's _single_tensor_rmsprop)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from .optimizer import Optimizer, _check


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        _check("alpha value", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p, grad in self._grads(group):
                state = self.state[p]
                if not state:
                    state["step"] = make(np.array(0.0, dtype=np.float32))
                    state["square_avg"] = make(np.zeros_like(p._data))
                    if momentum > 0:
                        state["momentum_buffer"] = make(np.zeros_like(p._data))
                    if centered:
                        state["grad_avg"] = make(np.zeros_like(p._data))
                if group["maximize"]:
                    grad = -grad
                state["step"]._data += 1
                if weight_decay != 0:
                    grad = A.add(grad, p._data, weight_decay)
                square_avg = state["square_avg"]._data
                A.addcmul_(A.mul_(square_avg, alpha), grad, grad, 1 - alpha)
                if centered:
                    grad_avg = state["grad_avg"]._data
                    A.lerp_(grad_avg, grad, 1 - alpha)
                    avg = np.sqrt(A.addcmul_(square_avg.copy(), grad_avg, grad_avg, -1))
                else:
                    avg = np.sqrt(square_avg)
                avg += avg.dtype.type(eps)
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    A.addcdiv_(A.mul_(buf, momentum), grad, avg)
                    A.add_(p._data, buf, -lr)
                else:
                    A.addcdiv_(p._data, grad, avg, -lr)
                self._bump(p)
        return loss
