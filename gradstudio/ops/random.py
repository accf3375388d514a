"""Random draws: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``,
``bernoulli``, ``multinomial``, ``poisson``, their ``*_like`` forms and the
in-place fills (``uniform_``, ``normal_``, ``bernoulli_``, ``random_``,
``exponential_``); ``manual_seed``, ``seed``, ``initial_seed`` and the default
generator's state.

Every draw takes ``generator=`` (a :class:`~gradstudio.generator.Generator`)
and otherwise draws from ``torch.default_generator``. The numbers are numpy's,
not torch's (see :mod:`gradstudio.generator`); shapes, dtypes, ranges and
errors are torch's. Draws are constants to autograd.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd import errors as _err
from ..autograd.grad_mode import state as _grad_state
from ..generator import Generator, default_generator, rng as _rng
from ..tensor import Tensor, shared_version_counter
from .creation import _dtype_np, _finish, _like, _size


# --------------------------------------------------------------------------- seeds
def manual_seed(seed: int) -> Generator:
    """Reseed the default generator (what rand, randn, randperm … draw from)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Reseed the default generator with a fresh random seed, and return it."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


# --------------------------------------------------------------------------- new tensors
def _keyword_size(size, kwargs):
    """``randn(size=(2, 3))``: torch accepts the size as a keyword too."""
    if "size" in kwargs:
        if size:
            raise TypeError("randn() received an invalid combination of arguments")
        size = (kwargs.pop("size"),)
    if kwargs:
        raise TypeError(f"randn() got an unexpected keyword argument '{next(iter(kwargs))}'")
    return size


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    size = _keyword_size(size, kwargs)
    return _finish(_rng(generator).random(_size(size)).astype(_dtype_np(dtype)), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    size = _keyword_size(size, kwargs)
    return _finish(_rng(generator).standard_normal(_size(size)).astype(_dtype_np(dtype)), requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    values = _rng(generator).integers(low, high, size=tuple(size))
    return _finish(values.astype(_dtype_np(dtype, _dt.int64)), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    return _finish(_rng(generator).permutation(int(n)).astype(_dtype_np(dtype, _dt.int64)), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        ref = mean if isinstance(mean, Tensor) else std
        return Tensor._make(_rng(generator).normal(m, s, size=np.broadcast(m, s).shape).astype(ref._data.dtype))
    return _finish(_rng(generator).normal(mean, std, size=tuple(size)).astype(_dtype_np(dtype)),
                   requires_grad)


rand_like = _like(rand)
randn_like = _like(randn)


def randint_like(input, low=0, high=None, *, dtype=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    dt = dtype if dtype is not None else _dt.from_numpy_dtype(input._data.dtype)
    return randint(low, high, input._data.shape, dtype=dt, requires_grad=requires_grad)


def _probabilities(p: np.ndarray) -> np.ndarray:
    if p.size and (np.any(p < 0) or np.any(p > 1) or np.any(np.isnan(p))):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
                           "message be improved?  If so, please report an enhancement request to PyTorch.)")
    return p


def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or ``p``) at each element, else 0; input's dtype."""
    data = input._data
    chance = _probabilities(data if p is None else np.full(data.shape, float(p)))
    return Tensor._make((_rng(generator).random(data.shape) < chance).astype(data.dtype))


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None):
    """Category indices drawn with the weights of each row of ``input`` (1-d or 2-d).
    Without replacement a row's draws are distinct, and categories of weight 0 come
    only after every other one, as torch's (exponential keys: the ``num_samples``
    largest ``w / E`` with ``E ~ Exp(1)``)."""
    w = input._data
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if w.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_dt.scalar_type_name(w.dtype)}")
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > w.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1]).astype(np.float64)
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = _rng(generator)
    if replacement:
        cumulative = np.cumsum(rows, axis=1)
        u = g.random((rows.shape[0], num_samples)) * cumulative[:, -1:]
        picks = np.stack([np.searchsorted(c, row_u, side="right") for c, row_u in zip(cumulative, u)])
    else:
        with np.errstate(divide="ignore"):
            keys = rows / g.exponential(size=rows.shape)
        picks = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    picks = np.minimum(picks, rows.shape[1] - 1).astype(np.int64)
    return Tensor._make(picks.reshape(w.shape[:-1] + (num_samples,)))


def poisson(input, generator=None):
    """A Poisson draw with each element of ``input`` as its rate; input's dtype."""
    return Tensor._make(_rng(generator).poisson(input._data).astype(input._data.dtype))


# --------------------------------------------------------------------------- in-place fills
def _write_random(self, values):
    if _grad_state.enabled and self._requires_grad and self.grad_fn is None:
        raise RuntimeError(_err.LEAF_INPLACE)
    self._data[...] = values
    shared_version_counter(self).bump()
    return self


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    return _write_random(self, _rng(generator).uniform(a, b, size=self._data.shape))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    return _write_random(self, _rng(generator).normal(mean, std, size=self._data.shape))


def bernoulli_(self, p=0.5, *, generator=None):
    chance = p._data if isinstance(p, Tensor) else float(p)
    return _write_random(self, _rng(generator).random(self._data.shape) < _probabilities(np.asarray(chance)))


def exponential_(self, lambd=1.0, *, generator=None):
    return _write_random(self, _rng(generator).exponential(1.0 / lambd, size=self._data.shape))


def random_(self, from_=0, to=None, *, generator=None):
    """Whole numbers in ``[from_, to)``; ``random_(to)`` is ``[0, to)``; with no bound,
    ``[0, 2**mantissa]`` for a float dtype and the dtype's whole range for an integer one."""
    dtype = self._data.dtype
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        if dtype == np.bool_:
            to = 2
        elif dtype.kind == "f":
            to = 2 ** (np.finfo(dtype).nmant + 1) + 1
        else:
            to = int(np.iinfo(dtype).max) + 1
    return _write_random(self, _rng(generator).integers(from_, to, size=self._data.shape))
