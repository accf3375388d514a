"""SGD with momentum, dampening, Nesterov and weight decay (torch's _single_tensor_sgd),
on a whole group's flat arrays at once when it is laid out flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from . import _flat
from .optimizer import Optimizer, _check, bump

_MOMENTUM = ("momentum_buffer",)


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
            options = (group["lr"], group["momentum"], group["dampening"], group["weight_decay"],
                       group["nesterov"], group["maximize"])
            momentum = options[1]
            flat = _flat.flat_group(self, group, _MOMENTUM if momentum != 0 else ())
            if flat is not None:
                _update(flat.param, flat.grad,
                        flat.state["momentum_buffer"] if momentum != 0 else None, *options)
                flat.stepped()
                continue
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if momentum != 0:
                    state = state_of[p]
                    buf = state.get("momentum_buffer")
                    buf = _update(p._data, grad._data, None if buf is None else buf._data, *options)
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = make(buf)
                else:
                    _update(p._data, grad._data, None, *options)
                bump(p)
        return loss


def _update(data, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``,
    with its momentum buffer ``buf`` (None on the first step: then a copy of the
    gradient, returned to be kept)."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = A.add(grad, data, weight_decay)
    if momentum != 0:
        if buf is None:
            buf = np.array(grad, copy=True)
        else:
            # buf.mul_(momentum).add_(grad, alpha=1 - dampening), A.mul_ inline and A.add_
            # too without dampening; a Python float is rounded to the array's dtype first
            # (NEP 50), as data.dtype.type(momentum) is
            np.multiply(buf, momentum if type(momentum) is float else buf.dtype.type(momentum),
                        out=buf)
            if dampening == 0:
                np.add(buf, grad, out=buf)
            else:
                A.add_(buf, grad, 1 - dampening)
        grad = A.add(grad, buf, momentum) if nesterov else buf
    A.add_(data, grad, -lr)
    return buf
