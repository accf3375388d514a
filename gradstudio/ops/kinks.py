"""Kink tests for op rows: ``kink(*input_arrays, **params) -> bool``.

A row's ``kink`` says whether its inputs put some element exactly where the op
is not differentiable. torch picks a one-sided (or averaged) value there, so
central finite differences disagree with the engine and with torch; the
explorer's comparison explains such a mismatch instead of calling it wrong.
"""
from __future__ import annotations

import numpy as np


def at_zero(x, *rest, **params) -> bool:
    """relu, abs, sign, leaky relu: the corner at 0."""
    return bool(np.any(np.asarray(x) == 0))


def at_bounds(x, *, min=None, max=None, **params) -> bool:
    """clamp, clamp_min, clamp_max: an element equal to a bound."""
    x = np.asarray(x)
    return bool((min is not None and np.any(x == min)) or (max is not None and np.any(x == max)))


def tie(a, b, *rest, **params) -> bool:
    """maximum, minimum, l1 loss: two operands equal at some element."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    return bool(np.any(a == b))


def repeated_value(x, *rest, **params) -> bool:
    """max, min, amax, amin: a value that occurs twice may be the one picked."""
    flat = np.asarray(x).reshape(-1)
    return flat.size != np.unique(flat).size


def norm(x, *, p=2.0, **params) -> bool:
    """vector norm: every element 0 (the cone's tip), or p in (1, ±inf) (corners)."""
    return bool(np.all(np.asarray(x) == 0)) or p in (1.0, float("inf"), float("-inf"))
