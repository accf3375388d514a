"""``torch.special``: the special functions under their SciPy-style names.

As in torch, each is a function of its own (``torch.special.erf is not torch.erf``, its
name is ``special_erf``) that records the node the top-level function records
(``special.expit`` → SigmoidBackward0, ``special.gammaln`` → LgammaBackward0); the ones
torch has only here (``i0e``, ``erfcx``, ``ndtri``, ``xlog1py``, ``zeta`` …) are rows of
:mod:`gradstudio.ops.special_functions`, and ``ndtr`` is torch's composite
(1 + erf(x/√2))/2, so its graph is MulBackward1 ∘ AddBackward1 ∘ ErfBackward0 ∘ MulBackward1.
"""
from __future__ import annotations

import functools as _functools
import math as _math
import numbers as _numbers

from . import dtypes as _dt
from .ops import elementwise as _elementwise, pointwise_binary as _binary, pointwise_unary as _unary
from .ops import loss_compositions as _compose, reduction as _reduction, special as _special, special_functions as _functions
from .ops.table import function_for
from .tensor import Tensor  # noqa: F401  (torch.special.Tensor is torch.Tensor)

_MISSING = object()


def _own(function, name: str):
    """``function`` under torch.special's name ``special_<name>``: a function of its own."""
    @_functools.wraps(function)
    def special(*args, **kwargs):
        return function(*args, **kwargs)
    special.__name__ = special.__qualname__ = f"special_{name}"
    special.__module__ = __name__
    return special


def _required(function: str, argument: str):
    return TypeError(f'{function}() missing 1 required positional arguments: "{argument}"')


def _integer(function: str, argument: str, value, position: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, _numbers.Integral):
        where = f" (position {position})" if position else ""
        raise TypeError(f"{function}(): argument '{argument}'{where} must be int, not {type(value).__name__}")
    return int(value)


expit = _own(_elementwise.sigmoid, "expit")
logit = _own(_unary.logit, "logit")
erf = _own(function_for(_special.ERF), "erf")
erfc = _own(function_for(_special.ERFC), "erfc")
erfcx = _own(_functions.erfcx, "erfcx")
erfinv = _own(_functions.erfinv, "erfinv")
exp2 = _own(function_for(_special.EXP2), "exp2")
expm1 = _own(_elementwise.expm1, "expm1")
log1p = _own(_elementwise.log1p, "log1p")
xlogy = _own(_binary.xlogy, "xlogy")
xlog1py = _own(_functions.xlog1py, "xlog1py")
entr = _own(_functions.entr, "entr")
gammaln = _own(_functions.lgamma, "gammaln")
digamma = _own(_functions.digamma, "digamma")
psi = _own(_functions.digamma, "psi")
i0 = _own(_functions.i0, "i0")
i0e = _own(_functions.i0e, "i0e")
i1 = _own(_functions.i1, "i1")
i1e = _own(_functions.i1e, "i1e")
ndtri = _own(_functions.ndtri, "ndtri")
log_ndtr = _own(_functions.log_ndtr, "log_ndtr")
sinc = _own(_unary.sinc, "sinc")
zeta = _own(_functions.zeta, "zeta")

_SQRT1_2 = _math.sqrt(0.5)


def polygamma(n, input):
    """ψ⁽ⁿ⁾(input)."""
    return _functions.polygamma(_integer("special_polygamma", "n", n, "1"), input)


def multigammaln(input, p):
    """The multivariate log-gamma function of dimension p (torch.mvlgamma)."""
    return _functions.mvlgamma(input, _integer("special_multigammaln", "p", p, "2"))


def ndtr(input):
    """Φ(input), the standard normal CDF, as torch composes it: (1 + erf(x/√2))·½."""
    if input._data.dtype.kind != "f":
        input = input.to(_dt.get_default_dtype())
    return _compose.times(_compose.plus(function_for(_special.ERF)(_compose.times(input, _SQRT1_2)), 1), 0.5)


def round(input, *, decimals=0):  # noqa: A001 — torch's name
    """Half to even at ``decimals`` decimal places (RoundBackward1, as torch's special_round)."""
    decimals = _integer("special_round", "decimals", decimals)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"round_vml_cpu\" not implemented for "
                                  f"'{_dt.scalar_type_name(input._data.dtype)}'")
    return _functions.round_decimals(input, decimals=decimals)


def softmax(input, dim=_MISSING, *, dtype=None):
    if dim is _MISSING:
        raise _required("special_softmax", "dim")
    return _reduction.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=_MISSING, *, dtype=None):
    if dim is _MISSING:
        raise _required("special_log_softmax", "dim")
    return _reduction.log_softmax(input, dim, dtype=dtype)


def logsumexp(input, dim=_MISSING, keepdim=False):
    if dim is _MISSING:
        raise _required("special_logsumexp", "dim")
    return _reduction.logsumexp(input, dim, keepdim)


for _function in (polygamma, multigammaln, ndtr, round, softmax, log_softmax, logsumexp):
    _function.__name__ = _function.__qualname__ = "special_" + _function.__name__
del _function
