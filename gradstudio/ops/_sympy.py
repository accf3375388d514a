"""The op table's symbolic forwards that need more than one line.

An elementwise row's ``sympy`` maps scalar sympy expressions to one; every
other row's maps numpy object arrays of sympy expressions to an object array
(numpy's own reshape, matmul, sum … work on those). These are the
*forwards*: the symbolic side differentiates them with sympy, so nothing here
knows about gradients. Kinks follow torch's choices: relu and the clamp bounds
are written as Piecewise so their derivatives are torch's (0 at relu's 0, 1 at
a clamp bound); step functions get derivative 0 in :mod:`gradstudio.studio.symbolic`.

Importing sympy costs about half a second, so the engine never imports it;
:func:`sp` imports it on first use.
"""
from __future__ import annotations

import functools
import importlib
import math

import numpy as np


@functools.cache
def sp():
    """The sympy module (imported on first use)."""
    return importlib.import_module("sympy")


def _obj(value) -> np.ndarray:
    return np.asarray(value, dtype=object)


# -- elementwise (scalar expressions) ---------------------------------------------
MAX_EXPONENT = 1000
"""Largest exponent sympy is asked to work with exactly: (p/q)**(10**6) is a
number with millions of digits, and computing it would hang the derivation."""


def power(x, exponent):
    if getattr(exponent, "is_Number", False) or isinstance(exponent, (int, float)):
        if abs(float(exponent)) > MAX_EXPONENT:
            raise OverflowError(f"exponent {exponent} is beyond the symbolic limit of "
                                f"±{MAX_EXPONENT}")
    return x ** exponent


def relu(x):
    return sp().Piecewise((x, x > 0), (0, True))


def leaky_relu(x, *, negative_slope):
    return sp().Piecewise((x, x > 0), (negative_slope * x, True))


def clamp(x, *, min, max):
    Piecewise = sp().Piecewise
    if min is not None and max is not None:
        return Piecewise((min, x < min), (max, x > max), (x, True))
    if min is not None:
        return Piecewise((min, x < min), (x, True))
    return Piecewise((max, x > max), (x, True))


def sigmoid(x):
    return 1 / (1 + sp().exp(-x))


def where(c, a, b):
    if c is True or c is False or isinstance(c, (bool, np.bool_)):
        return a if c else b
    return sp().Piecewise((a, c), (b, True))


@functools.cache
def _roundeven_class():
    S = sp()

    class roundeven(S.Function):  # noqa: N801 — the name printed in formulas
        """Round half to even (torch.round); its derivative is 0, as in torch."""

        @classmethod
        def eval(cls, x):
            if x.is_Number:
                return S.Integer(int(np.round(float(x))))
            return None

        def fdiff(self, argindex=1):
            return S.Integer(0)

    return roundeven


def round_half_even(x):
    return _roundeven_class()(x)


@functools.cache
def _extremum_class(name: str, pick):
    S = sp()

    def fdiff(self, argindex=1):
        # torch's rule for max()/min()/amax(): the gradient is shared evenly by
        # every element equal to the extremum (sympy's Max would use Heaviside).
        chosen = lambda a: S.Piecewise((1, S.Eq(a, self)), (0, True))  # noqa: E731
        return chosen(self.args[argindex - 1]) / S.Add(*[chosen(a) for a in self.args])

    @classmethod
    def eval(cls, *args):
        if len(args) == 1:
            return args[0]
        if all(a.is_Number for a in args):
            return pick(args)
        return None

    return type(name, (S.Function,), {"fdiff": fdiff, "eval": eval,
                                      "__doc__": f"{name}: torch's {pick.__name__} of the arguments"})


def tmax(*args):
    return _extremum_class("tmax", max)(*args)


def tmin(*args):
    return _extremum_class("tmin", min)(*args)


def erf_array(x):
    """erf on an array (numpy has none; math.erf is exact to a double): GELU's forward,
    and what lambdify maps sympy's erf to."""
    return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)


def erfc_array(x):
    """1 − erf on an array, without the cancellation of 1 − erf(x) for large x."""
    return np.frompyfunc(math.erfc, 1, 1)(x).astype(np.float64)


def _special_numbers():
    from . import _special_numbers
    return _special_numbers


def _float_array(x):
    return np.asarray(x, dtype=np.float64)


def loggamma_array(x):
    """log Γ on an array (real arguments: log |Γ|)."""
    return _special_numbers().lgamma(_float_array(x))


def polygamma_array(n, x):
    return _special_numbers().polygamma(int(n), _float_array(x))


def erfinv_array(x):
    return _special_numbers().erfinv(_float_array(x))


def zeta_array(s, q):
    s, q = np.broadcast_arrays(_float_array(s), _float_array(q))
    return _special_numbers().zeta(np.array(s), np.array(q))


def besseli_array(n, x):
    """Iₙ(x) for a whole order n ≥ 0: I₀ and I₁, then I_{k+1} = I_{k−1} − (2k/x)·Iₖ
    (sympy's derivatives of I₀ and I₁ bring in I₂, I₃ …); Iₙ(0) = 0 for n ≥ 1."""
    numbers, x = _special_numbers(), _float_array(x)
    n = int(n)
    previous, current = numbers.i0(x), numbers.i1(x)
    if n == 0:
        return previous
    with np.errstate(all="ignore"):
        for k in range(1, n):
            previous, current = current, np.where(x == 0, 0.0, previous - (2 * k / x) * current)
    return current


# Functions of ours that lambdify must map to numpy.
NUMPY_FUNCTIONS = {"roundeven": np.round, "erf": erf_array, "erfc": erfc_array,
                   "loggamma": loggamma_array, "polygamma": polygamma_array, "erfinv": erfinv_array,
                   "zeta": zeta_array, "besseli": besseli_array,
                   "tmax": lambda *a: functools.reduce(np.maximum, a),
                   "tmin": lambda *a: functools.reduce(np.minimum, a)}


# -- reductions (object arrays) ---------------------------------------------------
def sum_all(x):
    return _obj(sp().Add(*x.reshape(-1)))


def sum_dims(x, *, dim, keepdim):
    return _obj(np.sum(x, axis=dim, keepdims=keepdim))


def mean_all(x):
    return _obj(sp().Add(*x.reshape(-1)) / x.size)


def mean_dims(x, *, dim, keepdim):
    count = math.prod(x.shape[d] for d in dim)
    return _obj(np.sum(x, axis=dim, keepdims=keepdim) / count)


def max_all(x):
    return _obj(tmax(*x.reshape(-1)))


def min_all(x):
    return _obj(tmin(*x.reshape(-1)))


def take_indices(x, *, dim, keepdim, indices):
    """max/min along a dim: the element torch selected (the gradient goes there)."""
    if x.ndim == 0:
        return x
    idx = indices if keepdim else np.expand_dims(indices, dim)
    out = np.take_along_axis(x, idx, axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


def _reduce_along(x, dims, keepdim, combine):
    moved = np.moveaxis(x, dims, tuple(range(x.ndim - len(dims), x.ndim)))
    lead = moved.shape[:x.ndim - len(dims)]
    flat = moved.reshape(lead + (-1,))
    out = np.empty(lead, dtype=object)
    for index in np.ndindex(*lead):
        out[index] = combine(*flat[index])
    if keepdim:
        out = np.expand_dims(out, dims)
    return out


def amax(x, *, dim, keepdim):
    return _reduce_along(x, dim, keepdim, tmax)


def amin(x, *, dim, keepdim):
    return _reduce_along(x, dim, keepdim, tmin)


def prod_all(x):
    return _obj(sp().Mul(*x.reshape(-1)))


def prod_dim(x, *, dim, keepdim):
    return _reduce_along(x, (dim,), keepdim, sp().Mul)


def norm(x, *, p, dim, keepdim):
    S = sp()
    if p == 2:
        return _obj(np.vectorize(S.sqrt, otypes=[object])(np.sum(x * x, axis=dim, keepdims=keepdim)))
    if p == 1:
        return _obj(np.sum(np.vectorize(S.Abs, otypes=[object])(x), axis=dim, keepdims=keepdim))
    if p == math.inf:
        return _reduce_along(np.vectorize(S.Abs, otypes=[object])(x), dim, keepdim, tmax)
    if p == -math.inf:
        return _reduce_along(np.vectorize(S.Abs, otypes=[object])(x), dim, keepdim, tmin)
    exponent = S.nsimplify(p)
    powered = np.vectorize(lambda e: S.Abs(e) ** exponent, otypes=[object])(x)
    return _obj(np.vectorize(lambda s: s ** (1 / exponent), otypes=[object])(
        np.sum(powered, axis=dim, keepdims=keepdim)))


def softmax(x, *, dim):
    e = np.vectorize(sp().exp, otypes=[object])(x)
    return _obj(e / np.sum(e, axis=dim, keepdims=True))


def log_softmax(x, *, dim):
    S = sp()
    total = np.sum(np.vectorize(S.exp, otypes=[object])(x), axis=dim, keepdims=True)
    return _obj(x - np.vectorize(S.log, otypes=[object])(total))


def logsumexp(x, *, dim, keepdim):
    S = sp()
    total = np.sum(np.vectorize(S.exp, otypes=[object])(x), axis=dim, keepdims=keepdim)
    return _obj(np.vectorize(S.log, otypes=[object])(total))


def cumsum(x, *, dim):
    return _obj(np.cumsum(x, axis=dim))


def var(x, *, dim, correction, keepdim):
    n = math.prod(x.shape[d] for d in dim)
    centred = x - np.sum(x, axis=dim, keepdims=True) / n
    return _obj(np.sum(centred * centred, axis=dim, keepdims=keepdim) / (n - correction))


def std(x, **params):
    return _obj(np.vectorize(sp().sqrt, otypes=[object])(var(x, **params)))


# -- linear algebra ----------------------------------------------------------------
def matmul(a, b):
    return _obj(np.matmul(a, b) if a.ndim and b.ndim else a * b)


def addmm(c, a, b, *, beta, alpha):
    return _obj(beta * c + alpha * np.matmul(a, b))


# -- losses -------------------------------------------------------------------------
def _reduce(loss, reduction):
    if reduction == "none":
        return _obj(loss)
    total = sp().Add(*np.asarray(loss, dtype=object).reshape(-1))
    return _obj(total / loss.size if reduction == "mean" else total)


def _each(element, x, t):
    return np.vectorize(element, otypes=[object])(x, t)


# One element of each elementwise loss, before its reduction (the rows' ``element``;
# the generic-element form reads these too).
def mse_element(x, t):
    return (x - t) ** 2


def l1_element(x, t):
    return sp().Abs(x - t)


def bce_element(p, y):
    S = sp()
    return -(y * S.log(p) + (1 - y) * S.log(1 - p))


def bce_logits_element(z, y):
    S = sp()
    return S.log(1 + S.exp(z)) - z * y


def identity(x, **params):
    """The element itself (clone, alias, a dtype cast)."""
    return x


def mse_loss(x, t, *, reduction):
    return _reduce(_each(mse_element, x, t), reduction)


def l1_loss(x, t, *, reduction):
    return _reduce(_each(l1_element, x, t), reduction)


def nll_loss(x, target, *, reduction, ignore_index):
    x2 = x if x.ndim == 2 else x.reshape(1, -1)
    targets = np.asarray(target).reshape(-1)
    picked = [-x2[i, int(t)] for i, t in enumerate(targets) if int(t) != ignore_index]
    if reduction == "none":
        values = [(-x2[i, int(t)] if int(t) != ignore_index else 0) for i, t in enumerate(targets)]
        return _obj(np.array(values, dtype=object).reshape(np.asarray(target).shape))
    total = sp().Add(*picked)
    return _obj(total / len(picked) if reduction == "mean" else total)


def binary_cross_entropy(x, t, *, reduction):
    return _reduce(_each(bce_element, x, t), reduction)


def binary_cross_entropy_with_logits(x, t, *, reduction):
    return _reduce(_each(bce_logits_element, x, t), reduction)


# -- indexing and shape -------------------------------------------------------------
def assign(old, value, *, key):
    out = np.array(old, dtype=object, copy=True)
    out[key] = value
    return out


def gather(x, index, *, dim):
    return _obj(np.take_along_axis(x, np.asarray(index, dtype=np.int64), axis=dim))


def masked_fill(x, mask, *, value):
    return _obj(np.where(np.asarray(mask, dtype=bool), value, x))


def scatter_into_zeros(g, *, shape, key):
    out = np.full(shape, sp().Integer(0), dtype=object)
    out[key] = g
    return out


def add_at_zeros(g, *, shape, key):
    out = np.full(shape, sp().Integer(0), dtype=object)
    np.add.at(out, key, g)
    return out
