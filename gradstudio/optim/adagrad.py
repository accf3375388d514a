"""Adagrad with learning-rate decay (torch's _single_tensor_adagrad, dense gradients), on
a whole group's flat arrays at once when it is laid out flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from . import _flat
from .optimizer import Optimizer, _check, bump, count_step

_SUM = ("sum",)


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check("learning rate", lr)
        _check("lr_decay value", lr_decay)
        _check("weight_decay value", weight_decay)
        _check("initial_accumulator_value value", initial_accumulator_value)
        _check("epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:  # torch fills the state at construction
            for p in group["params"]:
                state = self.state[p]
                state["step"] = make(np.array(0.0, dtype=np.float32))
                state["sum"] = make(np.full_like(p._data, group["initial_accumulator_value"]))

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            options = (group["lr"], group["lr_decay"], group["eps"], group["weight_decay"],
                       group["maximize"])
            flat = _flat.flat_group(self, group, _SUM)
            step = None if flat is None else _flat.next_step(flat)
            if step is not None:  # the group laid out flat, at one step
                _update(flat.param, flat.grad, flat.state["sum"], step, *options)
                flat.stepped()
                continue
            for p, grad in self._grads(group):
                state = self.state[p]
                _update(p._data, grad, state["sum"]._data, count_step(state["step"]), *options)
                bump(p)
        return loss


def _update(data, grad, state_sum, step, lr, lr_decay, eps, weight_decay, maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with its sum of squares, at ``step``."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = A.add(grad, data, weight_decay)
    clr = lr / (1 + (step - 1) * lr_decay)
    A.addcmul_(state_sum, grad, grad, 1)
    std = np.sqrt(state_sum)
    std += std.dtype.type(eps)
    A.addcdiv_(data, grad, std, -clr)
