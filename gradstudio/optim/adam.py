"""Adam and AdamW (torch's _single_tensor_adam; AdamW is Adam with decoupled weight decay),
on a whole group's flat arrays at once when it is laid out flat (see ``_flat``)."""
from __future__ import annotations

import numpy as np

from ..tensor import make
from . import _arith as A
from . import _flat
from .optimizer import Optimizer, _check, _check_betas, bump, count_step


_F32 = np.dtype(np.float32)
_F64 = np.float64
# the ufuncs, their outputs passed by position: _adam_float32 makes fifteen calls per parameter
_add, _subtract, _multiply, _divide, _sqrt = np.add, np.subtract, np.multiply, np.divide, np.sqrt


def _adam_float32(param, grad, exp_avg, exp_avg_sq, max_sq, work, constants, scalars):
    """One float32 parameter's update: the operations of ``A.lerp_`` (its weight below
    0.5), ``A.mul_``, ``A.addcmul_``, the denominator and ``A.addcdiv_``, in that order
    and rounded as they round, written into ``work`` (two float32 arrays and two float64
    ones of the parameter's shape) instead of seven new arrays, in one call. A float32
    operand of a float64 operation is first copied into a float64 array: the same values
    (the cast is exact), and cheaper than a mixed-dtype ufunc call, which casts through
    numpy's buffers (a step's kernel: 10–20% less). The scalars
    come converted as those kernels convert them: ``constants`` (float64(float32(1 − β₁)),
    float32 β₂, 1 − β₂ and eps) once per group, ``scalars`` (float32 √bias_correction2
    and −step_size) once per step."""
    q, r, wide, wide2 = work
    weight, beta2, one_minus_beta2, eps = constants
    bias_correction2_sqrt, minus_step_size = scalars
    # exp_avg.lerp_(grad, 1 - beta1): exp_avg + w·(grad − exp_avg), w·d exact in float64
    _subtract(grad, exp_avg, q)
    wide[...] = q
    _multiply(wide, weight, wide)
    wide2[...] = exp_avg
    _add(wide, wide2, wide)
    exp_avg[...] = wide
    # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2): ((1 − β₂)·g)·g fused
    _multiply(exp_avg_sq, beta2, exp_avg_sq)
    _multiply(grad, one_minus_beta2, q)
    wide[...] = q
    wide2[...] = grad
    _multiply(wide, wide2, wide)
    wide2[...] = exp_avg_sq
    _add(wide, wide2, wide)
    exp_avg_sq[...] = wide
    if max_sq is not None:
        np.maximum(max_sq, exp_avg_sq, out=max_sq)
        source = max_sq
    else:
        source = exp_avg_sq
    # denom = sqrt / bias_correction2_sqrt + eps; param.addcdiv_(exp_avg, denom, -step_size)
    _sqrt(source, q)
    _divide(q, bias_correction2_sqrt, q)
    _add(q, eps, q)
    _multiply(exp_avg, minus_step_size, r)
    _divide(r, q, r)
    _add(param, r, param)


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
        _check_betas(betas)
        _check("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        state_of = self.state
        # per shape: two float32 arrays and two float64 arrays the update works in (a step
        # would otherwise allocate seven arrays per parameter)
        scratch = self.__dict__.setdefault("_scratch", {})
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            amsgrad = group["amsgrad"]
            options = (lr, beta1, beta2, eps, group["weight_decay"], group["decoupled_weight_decay"],
                       group["maximize"])
            # the float32 update's scalars, as the kernels convert them (see _adam_float32)
            constants = (_F64(np.float32(1 - beta1)), np.float32(beta2), np.float32(1 - beta2),
                         np.float32(eps))
            flat = _flat.flat_group(self, group, _ROLES[bool(amsgrad)])
            step = None if flat is None else _flat.next_step(flat)
            if step is not None:  # the group laid out flat, at one step
                state = flat.state
                work = (_flat.scratch(flat, (flat.dtype, flat.dtype, _F64, _F64))
                        if _fast(beta1, flat.param, flat.grad) else None)
                _update(flat.param, flat.grad, state["exp_avg"], state["exp_avg_sq"],
                        state.get("max_exp_avg_sq"), options, constants,
                        _scalars(lr, beta1, beta2, step), work)
                flat.stepped()
                continue
            last_step = scalars = None
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                state = state_of[p]
                if not state:
                    state["step"] = make(np.array(0.0, dtype=np.float32))
                    state["exp_avg"] = make(np.zeros_like(p._data))
                    state["exp_avg_sq"] = make(np.zeros_like(p._data))
                    if amsgrad:
                        state["max_exp_avg_sq"] = make(np.zeros_like(p._data))
                step = count_step(state["step"])
                if step != last_step:  # the parameters of a group are mostly at one step
                    last_step = step
                    scalars = _scalars(lr, beta1, beta2, step)
                data, grad = p._data, grad._data
                work = None
                if _fast(beta1, data, grad):
                    work = scratch.get(data.shape)
                    if work is None:
                        work = scratch[data.shape] = (np.empty_like(data), np.empty_like(data),
                                                      np.empty(data.shape, dtype=np.float64),
                                                      np.empty(data.shape, dtype=np.float64))
                _update(data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                        state["max_exp_avg_sq"]._data if amsgrad else None, options, constants,
                        scalars, work)
                bump(p)  # graphs that saved p must notice
        return loss


# the state entries of a parameter's shape, without and with amsgrad
_ROLES = {False: ("exp_avg", "exp_avg_sq"), True: ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")}


def _scalars(lr, beta1, beta2, step) -> tuple:
    """A step's scalars: float32 √bias_correction2 and −step_size (for _adam_float32),
    and the same as Python floats (for the general update)."""
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    return (np.float32(bias_correction2_sqrt), np.float32(-step_size), bias_correction2_sqrt,
            step_size)


def _fast(beta1, data, grad) -> bool:
    """Whether the update takes the float32 kernel (_adam_float32: its lerp form holds for
    a weight 1 − β₁ below 0.5)."""
    return abs(1 - beta1) < 0.5 and data.dtype == _F32 and grad.dtype == _F32


def _update(data, grad, exp_avg, exp_avg_sq, max_sq, options, constants, scalars, work):
    """One update of ``data`` (a parameter's array, or a group's flat array) by ``grad``
    with its state arrays (``max_sq`` None without amsgrad); ``work``: four arrays of
    ``data``'s shape (two of its dtype, two float64) for the float32 kernel, None when
    :func:`_fast` says it does not apply."""
    lr, beta1, beta2, eps, weight_decay, decoupled, maximize = options
    grad = A.decayed_gradient(data, grad, lr, weight_decay, decoupled, maximize)
    if work is not None:
        _adam_float32(data, grad, exp_avg, exp_avg_sq, max_sq, work, constants, scalars[:2])
        return
    A.lerp_(exp_avg, grad, 1 - beta1)
    A.mul_(exp_avg_sq, beta2)
    A.addcmul_(exp_avg_sq, grad, grad, 1 - beta2)
    if max_sq is not None:
        np.maximum(max_sq, exp_avg_sq, out=max_sq)
        source = max_sq
    else:
        source = exp_avg_sq
    bias_correction2_sqrt, step_size = scalars[2:]
    denom = np.sqrt(source)
    denom /= source.dtype.type(bias_correction2_sqrt)  # in place: no second array
    denom += denom.dtype.type(eps)
    A.addcdiv_(data, exp_avg, denom, -step_size)


class AdamW(Adam):
    _decoupled_default = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 *, maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
