"""Input domains and sample inputs for the rows (the tests' inputs).

A row's ``domain`` (:class:`Domain`) says on which inputs the op is defined and
well-conditioned: the table-driven tests draw from it, and the random programs
of the differential test against torch keep to it. A row's ``sample(rng)``
returns ``(args, params)``: numpy float64 arrays (the differentiable inputs),
integer/bool arrays or Python numbers, drawn inside the op's domain and away
from its kinks, so central differences are meaningful; a one-input row with a
domain and no sample is sampled from its domain. A row without a sample fails
``tests/core/test_op_table.py``.
"""
from __future__ import annotations

import math

import numpy as np


class Domain:
    """Inputs strictly between ``low`` and ``high``, and farther than ``gap`` from
    each point in ``avoid`` (a pole, a branch point). A plain class: a dataclass
    would compile its methods on every import of the engine."""

    __slots__ = ("low", "high", "avoid", "gap")

    def __init__(self, low: float = -math.inf, high: float = math.inf, avoid: tuple = (),
                 gap: float = 0.2):
        self.low, self.high, self.avoid, self.gap = low, high, tuple(avoid), gap

    def __repr__(self):
        return f"Domain({self.low}, {self.high}, avoid={self.avoid}, gap={self.gap})"

    def contains(self, x) -> bool:
        x = np.asarray(x)
        if x.size == 0 or not np.all((x > self.low) & (x < self.high)):
            return False
        return all(bool(np.all(np.abs(x - p) > self.gap)) for p in self.avoid)

    def draw(self, rng, shape, window: float = 2.0) -> np.ndarray:
        """Uniform inside the domain (and inside ±window), pushed off the avoided points."""
        x = rng.uniform(max(self.low + 0.15, -window), min(self.high - 0.15, window), size=shape)
        for p in self.avoid:
            near = np.abs(x - p) < 2 * self.gap
            x[near] += np.where(x[near] >= p, 2 * self.gap, -2 * self.gap)
        return x


POSITIVE = Domain(low=0.05)                 # log, sqrt, rsqrt …
NONZERO = Domain(avoid=(0.0,))              # reciprocal: the pole at 0


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
