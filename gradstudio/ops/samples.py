"""Example inputs for every row of the op table, for the table-driven tests.

``SAMPLES[key](rng)`` returns ``(args, params)``: numpy float64 arrays (the
differentiable inputs), integer/bool arrays or Python numbers, drawn away from
kinks and outside-the-domain points, so central differences are meaningful.
A row without a sample fails ``tests/core/test_op_table.py`` — adding an op
means adding its sample here, next to nothing else.
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


def _unary(low=-2.0, high=2.0):
    return lambda rng: ([uniform(rng, S, low, high)], {})


def _binary(shape_b=(4,)):
    return lambda rng: ([uniform(rng, S), uniform(rng, shape_b)], {})


def well_conditioned(rng, n=3):
    """A square matrix far from singular (det, inv, solve)."""
    return uniform(rng, (n, n), -0.5, 0.5) + 2.0 * np.eye(n)


SAMPLES = {
    "matrix_functions.TRACE": lambda rng: ([uniform(rng, (3, 3))], {}),
    "matrix_functions.DIAGONAL": lambda rng: ([uniform(rng, S)], {"offset": 1}),
    "matrix_functions.DIAGONAL_COPY": lambda rng: ([uniform(rng, S)], {"offset": 0}),
    "matrix_functions.DIAG_EMBED": lambda rng: ([uniform(rng, (3,))], {"offset": -1, "rows": 4, "cols": 4}),
    "matrix_functions.DET": lambda rng: ([well_conditioned(rng)], {}),
    "matrix_functions.INV": lambda rng: ([well_conditioned(rng)], {}),
    "matrix_functions.SLOGDET": lambda rng: ([well_conditioned(rng)], {}),
    "matrix_functions.SOLVE": lambda rng: ([well_conditioned(rng), uniform(rng, (3, 2))], {}),
    "elementwise.ADD": _binary(),
    "elementwise.ADD_ALPHA": lambda rng: ([uniform(rng, S), uniform(rng, (3, 1))], {"alpha": 2.5}),
    "elementwise.SUB": _binary((3, 1)),
    "elementwise.RSUB": lambda rng: ([uniform(rng, S), 1.5], {}),
    "elementwise.MUL": _binary(),
    "elementwise.DIV": lambda rng: ([uniform(rng, S), away_from_zero(rng, (4,), 0.5, 2.0)], {}),
    "elementwise.POW": lambda rng: ([uniform(rng, S, 0.3, 2.0)], {"exponent": 2.5}),
    "elementwise.POW_TENSOR": lambda rng: ([uniform(rng, S, 0.3, 2.0), uniform(rng, S, -1.5, 1.5)], {}),
    "elementwise.POW_SCALAR_BASE": lambda rng: ([uniform(rng, S)], {"base": 1.7}),
    "elementwise.MAXIMUM": lambda rng: _untied_pair(rng),
    "elementwise.MINIMUM": lambda rng: _untied_pair(rng),
    "elementwise.WHERE": lambda rng: ([rng.random(S) > 0.5, uniform(rng, S), uniform(rng, (4,))], {}),
    "elementwise.NEG": _unary(),
    "elementwise.ABS": lambda rng: ([away_from_zero(rng, S)], {}),
    "elementwise.EXP": _unary(),
    "elementwise.LOG": _unary(0.2, 3.0),
    "elementwise.SQRT": _unary(0.2, 3.0),
    "elementwise.SIN": _unary(),
    "elementwise.COS": _unary(),
    "elementwise.TAN": _unary(-1.2, 1.2),
    "elementwise.TANH": _unary(),
    "elementwise.SIGMOID": _unary(),
    "elementwise.RELU": lambda rng: ([away_from_zero(rng, S)], {}),
    "elementwise.RECIPROCAL": lambda rng: ([away_from_zero(rng, S, 0.4, 2.0)], {}),
    "elementwise.RSQRT": _unary(0.3, 3.0),
    "elementwise.LOG1P": _unary(-0.5, 3.0),
    "elementwise.EXPM1": _unary(),
    "elementwise.LOG2": _unary(0.2, 3.0),
    "elementwise.LOG10": _unary(0.2, 3.0),
    "elementwise.SINH": _unary(),
    "elementwise.COSH": _unary(),
    "elementwise.ASIN": _unary(-0.9, 0.9),
    "elementwise.ACOS": _unary(-0.9, 0.9),
    "elementwise.ATAN": _unary(),
    "elementwise.SIGN": lambda rng: ([away_from_zero(rng, S)], {}),
    "elementwise.FLOOR": lambda rng: ([off_integers(rng, S)], {}),
    "elementwise.CEIL": lambda rng: ([off_integers(rng, S)], {}),
    "elementwise.ROUND": lambda rng: ([off_integers(rng, S)], {}),
    "elementwise.SILU": _unary(),
    "elementwise.SOFTPLUS": _unary(),
    "elementwise.LEAKY_RELU": lambda rng: ([away_from_zero(rng, S)], {"negative_slope": 0.1}),
    "elementwise.CLAMP": lambda rng: ([_away_from(rng, S, (-0.5, 0.8))], {"min": -0.5, "max": 0.8}),
    "elementwise.CLAMP_MIN": lambda rng: ([_away_from(rng, S, (-0.5,))], {"min": -0.5, "max": None}),
    "elementwise.CLAMP_MAX": lambda rng: ([_away_from(rng, S, (0.8,))], {"min": None, "max": 0.8}),
    "elementwise.TANH_BACKWARD": lambda rng: ([uniform(rng, S), uniform(rng, S, -0.9, 0.9)], {}),
    "elementwise.SIGMOID_BACKWARD": lambda rng: ([uniform(rng, S), uniform(rng, S, 0.1, 0.9)], {}),
    "elementwise.RELU_BACKWARD": lambda rng: ([uniform(rng, S), away_from_zero(rng, S)], {}),
    "elementwise.LEAKY_RELU_BACKWARD": lambda rng: ([uniform(rng, S), away_from_zero(rng, S)],
                                                    {"negative_slope": 0.1}),
    "reduction.SUM": _unary(),
    "reduction.SUM_DIM": lambda rng: ([uniform(rng, (2, 3, 4))], {"dim": (0, 2), "keepdim": False}),
    "reduction.MEAN": _unary(),
    "reduction.MEAN_DIM": lambda rng: ([uniform(rng, (2, 3, 4))], {"dim": (1,), "keepdim": True}),
    "reduction.MAX": lambda rng: ([distinct(rng, S)], {}),
    "reduction.MIN": lambda rng: ([distinct(rng, S)], {}),
    "reduction.MAX_DIM": lambda rng: _with_indices(distinct(rng, S), 1, np.argmax),
    "reduction.MIN_DIM": lambda rng: _with_indices(distinct(rng, S), 0, np.argmin),
    "reduction.AMAX": lambda rng: ([distinct(rng, S)], {"dim": (1,), "keepdim": False}),
    "reduction.AMIN": lambda rng: ([distinct(rng, S)], {"dim": (0, 1), "keepdim": True}),
    "reduction.PROD": lambda rng: ([away_from_zero(rng, (2, 3), 0.5, 1.5)], {}),
    "reduction.PROD_DIM": lambda rng: ([away_from_zero(rng, S, 0.5, 1.5)], {"dim": 1, "keepdim": False}),
    "reduction.NORM": lambda rng: ([uniform(rng, S)], {"p": 2.0, "dim": (1,), "keepdim": False}),
    "reduction.SOFTMAX": lambda rng: ([uniform(rng, S)], {"dim": 1}),
    "reduction.LOG_SOFTMAX": lambda rng: ([uniform(rng, S)], {"dim": 0}),
    "reduction.LOGSUMEXP": lambda rng: ([uniform(rng, S)], {"dim": (1,), "keepdim": False}),
    "reduction.CUMSUM": lambda rng: ([uniform(rng, S)], {"dim": 1}),
    "reduction.VAR": lambda rng: ([uniform(rng, S)], {"dim": (1,), "correction": 1, "keepdim": False}),
    "reduction.STD": lambda rng: ([uniform(rng, S)], {"dim": (0,), "correction": 1, "keepdim": True}),
    "shape.VIEW": lambda rng: ([uniform(rng, S)], {"shape": (2, 6)}),
    "shape.UNSAFE_VIEW": lambda rng: ([uniform(rng, S)], {"shape": (12,)}),
    "shape.RESHAPE_ALIAS": lambda rng: ([uniform(rng, S)], {"shape": (2, 6)}),
    "shape.ALIAS": _unary(),
    "shape.TRANSPOSE": lambda rng: ([uniform(rng, (2, 3, 4))], {"dim0": 0, "dim1": 2}),
    "shape.T": _unary(),
    "shape.PERMUTE": lambda rng: ([uniform(rng, (2, 3, 4))], {"dims": (2, 0, 1)}),
    "shape.SQUEEZE": lambda rng: ([uniform(rng, (3, 1, 4))], {}),
    "shape.SQUEEZE_DIM": lambda rng: ([uniform(rng, (3, 1, 4))], {"dim": 1}),
    "shape.SQUEEZE_DIMS": lambda rng: ([uniform(rng, (1, 3, 1))], {"dims": (0, 2)}),
    "shape.UNSQUEEZE": lambda rng: ([uniform(rng, S)], {"dim": 1}),
    "shape.EXPAND": lambda rng: ([uniform(rng, (3, 1))], {"shape": (2, 3, 4)}),
    "shape.REPEAT": lambda rng: ([uniform(rng, (2, 3))], {"repeats": (2, 1, 2)}),
    "shape.FLIP": lambda rng: ([uniform(rng, S)], {"dims": (0, 1)}),
    "shape.CLONE": _unary(),
    "shape.TO_COPY": lambda rng: ([uniform(rng, S)], {"dtype": np.dtype(np.float64)}),
    "shape.SUM_TO": lambda rng: ([uniform(rng, (2, 3, 4))], {"size": (3, 1)}),
    "shape.CAT": lambda rng: ([uniform(rng, (2, 4)), uniform(rng, (3, 4))], {"dim": 0}),
    "shape.STACK": lambda rng: ([uniform(rng, S), uniform(rng, S)], {"dim": 1}),
    "indexing.SELECT": lambda rng: ([uniform(rng, S)], {"dim": 1, "index": 2}),
    "indexing.SLICE": lambda rng: ([uniform(rng, S)], {"dim": 1, "start": 0, "stop": 4, "step": 2}),
    "indexing.INDEX": lambda rng: ([uniform(rng, S)], {"key": (np.array([0, 2, 2]),)}),
    "indexing.SELECT_BACKWARD": lambda rng: ([uniform(rng, (4,))], {"shape": S, "key": (1,)}),
    "indexing.INDEX_PUT_ZEROS": lambda rng: ([uniform(rng, (3, 4))],
                                             {"shape": (5, 4), "key": (np.array([0, 4, 0]),)}),
    "indexing.COPY_SLICES": lambda rng: ([uniform(rng, S), uniform(rng, (4,))], {"key": (1,)}),
    "indexing.GATHER": lambda rng: ([uniform(rng, S), rng.integers(0, 4, size=(3, 2))], {"dim": 1}),
    "indexing.GATHER_BACKWARD": lambda rng: ([uniform(rng, (3, 2))],
                                             {"shape": S, "index": rng.integers(0, 4, size=(3, 2)),
                                              "dim": 1}),
    "indexing.MASKED_FILL": lambda rng: ([uniform(rng, S), rng.random((4,)) > 0.5], {"value": 0.25}),
    "linalg.DOT": lambda rng: ([uniform(rng, (4,)), uniform(rng, (4,))], {}),
    "linalg.MV": lambda rng: ([uniform(rng, S), uniform(rng, (4,))], {}),
    "linalg.MM": lambda rng: ([uniform(rng, S), uniform(rng, (4, 2))], {}),
    "linalg.BMM": lambda rng: ([uniform(rng, (2, 3, 4)), uniform(rng, (2, 4, 2))], {}),
    "linalg.ADDMM": lambda rng: ([uniform(rng, (2,)), uniform(rng, S), uniform(rng, (4, 2))],
                                 {"beta": 1, "alpha": 1}),
    "linalg.SQUEEZE_INPLACE": lambda rng: ([uniform(rng, (1, 4))], {"dim": 0}),
    "losses.MSE_LOSS": lambda rng: ([uniform(rng, S), uniform(rng, S)], {"reduction": "mean"}),
    "losses.L1_LOSS": lambda rng: _untied_pair(rng, {"reduction": "sum"}),
    "losses.NLL_LOSS": lambda rng: ([uniform(rng, S), np.array([0, 3, 1])],
                                    {"reduction": "mean", "ignore_index": -100}),
    "losses.BCE": lambda rng: ([uniform(rng, S, 0.1, 0.9), uniform(rng, S, 0.0, 1.0)],
                               {"reduction": "mean"}),
    "losses.BCE_LOGITS": lambda rng: ([uniform(rng, S), uniform(rng, S, 0.0, 1.0)],
                                      {"reduction": "sum"}),
}


def _untied_pair(rng, params=None):
    a = uniform(rng, S)
    b = a + away_from_zero(rng, S, 0.1, 1.0)
    return [a, b], (params or {})


def _away_from(rng, shape, points):
    x = uniform(rng, shape)
    for p in points:
        close = np.abs(x - p) < 0.05
        x[close] += 0.1
    return x


def _with_indices(x, dim, arg):
    return [x], {"dim": dim, "keepdim": False, "indices": arg(x, axis=dim)}
