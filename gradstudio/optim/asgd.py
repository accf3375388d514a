"""ASGD: SGD with the decaying rate ηₜ = lr/(1 + λ·lr·t)^α, a weight decay λη, and the
running average ``ax`` of the iterates, which starts averaging after t₀ steps (torch's
_single_tensor_asgd), on a whole group's flat arrays at once when it is laid out flat
(see ``_flat``)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from . import _flat
from .optimizer import Optimizer, _check, bump, count_step

_AX = ("ax",)


class ASGD(Optimizer):
    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _check("learning rate", lr)
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
            options = (lambd, group["weight_decay"], group["maximize"])
            flat = _flat.flat_group(self, group, _AX)
            eta = mu = step = None
            if flat is not None:
                eta, mu = _flat.common(flat, "eta"), _flat.common(flat, "mu")
                if eta is not None and mu is not None:
                    step = _flat.next_step(flat)
            if step is not None:  # the group laid out flat, at one step, η and μ
                _update(flat.param, flat.grad, flat.state["ax"], eta, mu, *options)
                eta, mu = _schedule(lr, lambd, alpha, t0, step)
                _flat.fill(flat, "eta", eta)
                _flat.fill(flat, "mu", mu)
                flat.stepped()
                continue
            for p, grad in self._grads(group):
                state = self.state[p]
                if not state:
                    state["step"] = make(np.array(0.0, dtype=np.float32))
                    state["eta"] = make(np.array(lr, dtype=np.float32))
                    state["mu"] = make(np.array(1.0, dtype=np.float32))
                    state["ax"] = make(np.zeros_like(p._data))
                step = count_step(state["step"])
                eta, mu = state["eta"]._data, state["mu"]._data
                _update(p._data, grad, state["ax"]._data, eta.item(), mu.item(), *options)
                new_eta, new_mu = _schedule(lr, lambd, alpha, t0, step)
                eta.fill(new_eta)
                mu.fill(new_mu)
                bump(p)
        return loss


def _schedule(lr, lambd, alpha, t0, step) -> tuple:
    """The next step's η and μ (the averaging weight: 1 until t₀, then 1/(t − t₀))."""
    return lr / ((1 + lambd * lr * step) ** alpha), 1 / max(1, step - t0)


def _update(data, grad, ax, eta, mu, lambd, weight_decay, maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    at rate ``eta``, and of its average ``ax`` with weight ``mu``."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = A.add(grad, data, weight_decay)
    A.mul_(data, 1 - lambd * eta)  # the decay
    A.add_(data, grad, -eta)
    if mu != 1:
        diff = np.subtract(data, ax)
        diff *= data.dtype.type(mu)
        np.add(ax, diff, out=ax)
    else:
        ax[...] = data
