"""Rprop: each element's own step size, grown by η₊ while its gradient keeps its sign and
shrunk by η₋ when it flips (that step skipped), clamped to ``step_sizes``, and a step of
that size against the gradient's sign (torch's _single_tensor_rprop), on a whole
group's flat arrays at once when it is laid out flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from . import _arith as A
from . import _elementwise
from .optimizer import Optimizer, _check

_ROLES = ("prev", "step_size")


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False,
                 foreach=None, maximize=False, differentiable=False):
        _check("learning rate", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return _elementwise.step(self, closure, _ROLES, _options, _update, reads_step=False,
                                 initial={"step_size": lambda p, grad, group: np.full_like(grad, group["lr"])})


def _options(group) -> tuple:
    return (*group["etas"], *group["step_sizes"], group["maximize"])


def _update(data, grad, prev, step_size, etaminus, etaplus, step_size_min, step_size_max, maximize):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with the previous step's gradient and the step sizes."""
    if maximize:
        grad = -grad
    scalar = step_size.dtype.type
    # the factor by which each step size changes: η₊ where the gradient kept its sign,
    # η₋ where it flipped, 1 where either is zero (torch sets them in this order)
    factor = np.asarray(np.sign(np.multiply(grad, prev)))
    factor[factor > 0] = etaplus
    factor[factor < 0] = etaminus
    factor[factor == 0] = 1
    np.multiply(step_size, factor, out=step_size)
    np.clip(step_size, scalar(step_size_min), scalar(step_size_max), out=step_size)
    grad = np.array(grad, copy=True)
    grad[factor == scalar(etaminus)] = 0  # a flipped sign: no step, and no flip seen next time
    A.addcmul_(data, np.sign(grad), step_size, -1)
    prev[...] = grad
