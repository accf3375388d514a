"""Building blocks for the rows' ``sample`` fields (inputs for the table-driven tests).

A row's ``sample(rng)`` returns ``(args, params)``: numpy float64 arrays (the
differentiable inputs), integer/bool arrays or Python numbers, drawn inside the
op's domain and away from its kinks, so central differences are meaningful.
A row without a sample fails ``tests/core/test_op_table.py``.
"""
from __future__ import annotations

import numpy as np


def uniform(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


def away_from_zero(rng, shape, low=0.2, high=2.0):
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def distinct(rng, shape):
    """Values with no ties (max/min/sort are differentiable there)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 + rng.uniform(0, 0.1, size=n) - n * 0.18).reshape(shape)


def off_integers(rng, shape):
    """Values away from integers and half-integers (floor, round)."""
    base = rng.integers(-3, 3, size=shape).astype(np.float64)
    fraction = rng.uniform(0.1, 0.4, size=shape) + rng.choice([0.0, 0.5], size=shape)
    return base + fraction


S = (3, 4)


def unary(low=-2.0, high=2.0):
    return lambda rng: ([uniform(rng, S, low, high)], {})


def binary(shape_b=(4,)):
    return lambda rng: ([uniform(rng, S), uniform(rng, shape_b)], {})


def untied_pair(rng, params=None):
    a = uniform(rng, S)
    b = a + away_from_zero(rng, S, 0.1, 1.0)
    return [a, b], (params or {})


def away_from(rng, shape, points):
    x = uniform(rng, shape)
    for p in points:
        close = np.abs(x - p) < 0.05
        x[close] += 0.1
    return x


def with_indices(x, dim, arg):
    return [x], {"dim": dim, "keepdim": False, "indices": arg(x, axis=dim)}
