"""RMSprop, plain, centered and with momentum (torch's _single_tensor_rmsprop), on a
whole group's flat arrays at once when it is laid out flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from . import _flat
from .optimizer import Optimizer, _check, bump


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
            options = (group["lr"], group["alpha"], group["eps"], group["weight_decay"],
                       group["momentum"], group["centered"], group["maximize"])
            momentum, centered = group["momentum"], group["centered"]
            roles = (("square_avg",) + (("momentum_buffer",) if momentum > 0 else ())
                     + (("grad_avg",) if centered else ()))
            flat = _flat.flat_group(self, group, roles)
            if flat is not None:
                for state in flat.states:
                    state["step"]._data += 1
                state = flat.state
                _update(flat.param, flat.grad, state["square_avg"], state.get("grad_avg"),
                        state.get("momentum_buffer"), *options)
                flat.stepped()
                continue
            for p, grad in self._grads(group):
                state = self.state[p]
                if not state:
                    state["step"] = make(np.array(0.0, dtype=np.float32))
                    state["square_avg"] = make(np.zeros_like(p._data))
                    if momentum > 0:
                        state["momentum_buffer"] = make(np.zeros_like(p._data))
                    if centered:
                        state["grad_avg"] = make(np.zeros_like(p._data))
                state["step"]._data += 1
                _update(p._data, grad, state["square_avg"]._data,
                        state["grad_avg"]._data if centered else None,
                        state["momentum_buffer"]._data if momentum > 0 else None, *options)
                bump(p)
        return loss


def _update(data, grad, square_avg, grad_avg, buf, lr, alpha, eps, weight_decay, momentum, centered,
            maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with its state arrays (``grad_avg`` None unless centered, ``buf`` without momentum)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = A.add(grad, data, weight_decay)
    A.addcmul_(A.mul_(square_avg, alpha), grad, grad, 1 - alpha)
    if centered:
        A.lerp_(grad_avg, grad, 1 - alpha)
        avg = np.sqrt(A.addcmul_(square_avg.copy(), grad_avg, grad_avg, -1))
    else:
        avg = np.sqrt(square_avg)
    avg += avg.dtype.type(eps)
    if momentum > 0:
        A.addcdiv_(A.mul_(buf, momentum), grad, avg)
        A.add_(data, buf, -lr)
    else:
        A.addcdiv_(data, grad, avg, -lr)
