"""The few in-place tensor kernels torch's optimizers are written with, on numpy
arrays, rounding as torch's CPU kernels round.

``add_(b, alpha=a)`` is one fused multiply-add in torch's vectorised kernel. For
float32 the product of two float32 numbers is exact in float64, so computing
``x + a·b`` in float64 and rounding once to float32 gives the fused result
(double rounding differs only in rare ties). Scalars are cast to the tensor's
dtype first, as ATen does with its ``opmath`` scalars. ``addcmul_`` is fused the
same way (measured against torch 2.13: 0 of 1003 elements differ, 190 unfused);
``addcdiv_`` and ``lerp_`` round as written. One kernel cannot be matched: torch's
vectorised float32 ``sqrt`` (SLEEF, within 1 ulp) is not correctly rounded, numpy's
is, so Adam, RMSprop and Adagrad differ from torch in the last bits now and then.

The float32 kernels make one float64 temporary: ``b`` cast to float64, the product and
the sum computed in it, and one assignment rounds it back — the same operations as
``x.astype(f64) + a * b.astype(f64)`` without two more arrays (an optimizer step is a
dozen of these per parameter).
"""
from __future__ import annotations

import numpy as np

_F32 = np.dtype(np.float32)
_F64 = np.float64


def _fused_add_(x: np.ndarray, a, b: np.ndarray) -> np.ndarray:
    """x ← round32(x + a·b), with ``a·b`` exact and the sum rounded in float64 first."""
    if type(b) is np.ndarray and b.shape == x.shape:
        # b cast first, then float64 operations: the same values as the mixed-dtype
        # multiply below (the cast is exact), without numpy's buffered casting inside the
        # ufunc, which costs more than the cast (an SGD step: about 10% less per parameter)
        wide = b.astype(_F64)
        wide *= a
    else:  # a b to broadcast, or a scalar
        wide = np.multiply(a, b, dtype=_F64)
    wide += x  # in place for arrays; a 0-d product comes back as a numpy scalar
    x[...] = wide
    return x


_WIDE: dict = {}  # alpha -> float64(float32(alpha)): a step's alphas (-lr, 1 - beta) repeat


def _wide(alpha) -> np.float64:
    """``alpha`` rounded to float32 (ATen's opmath scalar), as a float64 for the fused sum."""
    if type(alpha) is not float or not alpha:  # (0.0 and -0.0 would share a key)
        return _F64(np.float32(alpha))
    wide = _WIDE.get(alpha)
    if wide is None:
        if len(_WIDE) >= 256:  # a schedule that changes the lr every step
            _WIDE.clear()
        wide = _WIDE[alpha] = _F64(np.float32(alpha))
    return wide


def add_(x: np.ndarray, b: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x ← x + alpha·b, fused."""
    if alpha == 1:
        return np.add(x, b, out=x)
    if x.dtype == _F32:
        return _fused_add_(x, _wide(alpha), b)
    x += x.dtype.type(alpha) * b
    return x


def add(x: np.ndarray, b: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x + alpha·b as a new array, fused."""
    return add_(x.copy(), b, alpha)


def mul_(x: np.ndarray, value: float) -> np.ndarray:
    return np.multiply(x, x.dtype.type(value), out=x)


def addcmul_(x: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float = 1.0) -> np.ndarray:
    """x ← x + (value·t1)·t2, the last multiply-add fused (what torch's compiled kernel does)."""
    p = t1 if value == 1 else x.dtype.type(value) * t1
    if x.dtype == _F32:
        return _fused_add_(x, p, t2)
    x += p * t2
    return x


def addcdiv_(x: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float = 1.0) -> np.ndarray:
    """x ← x + value·t1/t2 (ATen: ``self + value * t1 / t2``)."""
    if value == 1:
        quotient = np.divide(t1, t2)
    else:
        quotient = np.multiply(t1, x.dtype.type(value))
        quotient /= t2
    return np.add(x, quotient, out=x)


def lerp_(x: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """x ← x + weight·(end − x) for weight < 0.5, else end − (end − x)·(1 − weight) (ATen's lerp)."""
    w = x.dtype.type(weight)
    diff = np.subtract(end, x)
    if abs(weight) < 0.5:
        if x.dtype == _F32:
            return _fused_add_(x, _F64(w), diff)
        x += w * diff
    else:
        diff *= x.dtype.type(1) - w
        np.subtract(end, diff, out=x)
    return x


def decayed_gradient(data: np.ndarray, grad: np.ndarray, lr, weight_decay, decoupled: bool,
                     maximize: bool) -> np.ndarray:
    """The gradient an Adam-family step uses: negated to maximize, plus ``weight_decay·data``
    (L2), or, decoupled (AdamW's form), the parameter shrunk by ``1 − lr·weight_decay`` in
    place and the gradient left as it is."""
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled:
            mul_(data, 1 - lr * weight_decay)
        else:
            grad = add(grad, data, weight_decay)
    return grad
