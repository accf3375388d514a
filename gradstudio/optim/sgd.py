"""SGD with momentum, dampening, Nesterov and weight decay (torch's _single_tensor_sgd)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from .optimizer import Optimizer, _check, bump


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        state_of = self.state
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                grad = grad._data
                if maximize:
                    grad = -grad
                if weight_decay != 0:
                    grad = A.add(grad, p._data, weight_decay)
                if momentum != 0:
                    state = state_of[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = make(np.array(grad, copy=True))
                        state["momentum_buffer"] = buf
                    else:
                        # buf.mul_(momentum).add_(grad, alpha=1 - dampening), A.mul_ inline
                        # and A.add_ too without dampening (a step makes these per parameter)
                        data = buf._data
                        # a Python float is rounded to the array's dtype first (NEP 50), as
                        # data.dtype.type(momentum) is
                        np.multiply(data, momentum if type(momentum) is float else data.dtype.type(momentum),
                                    out=data)
                        if dampening == 0:
                            np.add(data, grad, out=data)
                        else:
                            A.add_(data, grad, 1 - dampening)
                    grad = A.add(grad, buf._data, momentum) if nesterov else buf._data
                A.add_(p._data, grad, -lr)
                bump(p)  # graphs that saved p must notice
        return loss
