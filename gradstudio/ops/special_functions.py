"""Rows of torch.special's own functions and of the gamma, Bessel and erfinv functions
torch also has at the top level: ``lgamma`` (LgammaBackward0), ``digamma``,
``polygamma`` (and PolygammaBackward1, the node of ``polygamma_``), ``mvlgamma``,
``erfinv``, ``i0``; ``special.i0e``, ``i1``, ``i1e``, ``erfcx``, ``ndtri``, ``log_ndtr``,
``entr``, ``xlog1py`` and ``zeta`` (with their number overloads, Backward1 / Backward2,
as torch picks them), and ``special.round``'s RoundBackward1. The gradients are
derivatives.yaml's formulas, written with tensor operations (so they have second
derivatives); zeta has none in its first argument, as torch. The numbers are
:mod:`gradstudio.ops._special_numbers`'."""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.saved import Arg, Input, Result, ScalarArg
from ..tensor import Tensor
from . import _special_numbers as N
from . import elementwise as _E
from . import samples
from . import _sympy as sf
from ._sympy import sp
from .pointwise_binary import _invalid_combination, _pair
from .table import NotImplementedRule, Op, Param, SAVES_INPUTS, SAVES_RESULT, apply, function_for, torch_function

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _special(name: str):
    """The ``torch`` field of a row torch runs as ``torch.special.<name>(x)``."""
    def replay(torch, x):
        return getattr(torch.special, name)(x)
    replay.__name__ = f"torch_special_{name}"
    return replay


# -- log-gamma and its derivatives ----------------------------------------------------
LGAMMA = Op(
    id="special_functions.LGAMMA",
    name="LgammaBackward0",
    forward=N.lgamma,
    vjp=(lambda g, r, x: g * digamma(x),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().loggamma(x),
    label="lgamma",
    doc="log |Γ(x)|",
    category="elementwise",
    domain=samples.Domain(0.2, 6.0),
    torch=torch_function("lgamma"),
    api=("lgamma",),
    floating=True,
)
DIGAMMA = Op(
    id="special_functions.DIGAMMA",
    name="DigammaBackward0",
    forward=N.digamma,
    vjp=(lambda g, r, x: g * polygamma(1, x),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().digamma(x),
    label="ψ",
    doc="digamma: Γ′(x)/Γ(x)",
    category="elementwise",
    domain=samples.Domain(0.2, 6.0),
    torch=torch_function("digamma"),
    api=("digamma",),
    floating=True,
)


def _polygamma_row(id: str, name: str, overload: str, torch) -> Op:
    """polygamma's row; torch's in-place ``polygamma_`` records the same derivative under
    another node name."""
    return Op(
        id=id,
        saved={"n": Arg("n"), "self": Input(0)},
        name=name,
        forward=lambda x, *, n: N.polygamma(n, x),
        vjp=(lambda g, r, x, *, n: g * polygamma(n + 1, x),),
        saves=SAVES_INPUTS,
        sympy=lambda x, *, n: sp().polygamma(n, x),
        label="ψ⁽ⁿ⁾",
        doc="polygamma: the n-th derivative of digamma",
        category="elementwise",
        params=(Param("n", "int"),),
        sample=lambda rng: ([samples.uniform(rng, samples.S, 0.4, 4.0)], {"n": 2}),
        torch=torch,
        overload=overload,
    )


POLYGAMMA = _polygamma_row("special_functions.POLYGAMMA", "PolygammaBackward0",
                           "polygamma(int n, Tensor self)", lambda torch, x, n: torch.polygamma(n, x))
POLYGAMMA_ = _polygamma_row("special_functions.POLYGAMMA_", "PolygammaBackward1",
                            "polygamma_(Tensor(a!) self, int n)", lambda torch, x, n: x.clone().polygamma_(n))


def _mvlgamma_offsets(p: int):
    return [-0.5 * j for j in range(p)]


MVLGAMMA = Op(
    id="special_functions.MVLGAMMA",
    saved={"p": Arg("p"), "self": Input(0)},
    name="MvlgammaBackward0",
    forward=lambda x, *, p: N.multigammaln(x, p),
    vjp=(lambda g, r, x, *, p: g * sum(digamma(x + c) for c in _mvlgamma_offsets(p)),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, p: sum(sp().loggamma(x + sp().Rational(-j, 2)) for j in range(p))
    + sp().Rational(p * (p - 1), 4) * sp().log(sp().pi),
    label="log Γₚ",
    doc="multivariate log-gamma: p(p−1)/4·log π + Σⱼ log Γ(x − j/2)",
    category="elementwise",
    params=(Param("p", "int"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 1.5, 4.0)], {"p": 3}),
    torch=lambda torch, x, p: torch.mvlgamma(x, p),
)

# -- inverses and relatives of the error function -------------------------------------
ERFINV = Op(
    id="special_functions.ERFINV",
    name="ErfinvBackward0",
    forward=N.erfinv,
    vjp=(lambda g, r, x: 0.5 * _SQRT_PI * (erfinv(x) ** 2).exp() * g,),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().erfinv(x),
    label="erf⁻¹",
    doc="inverse error function",
    category="elementwise",
    domain=samples.Domain(-0.9, 0.9),
    torch=torch_function("erfinv"),
    api=("erfinv",),
    floating=True,
)
ERFCX = Op(
    id="special_functions.ERFCX",
    name="SpecialErfcxBackward0",
    forward=N.erfcx,
    vjp=(lambda g, r, x: (2.0 * x * r - 2.0 / _SQRT_PI) * g,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x: sp().exp(x ** 2) * sp().erfc(x),
    label="erfcx",
    doc="scaled complementary error function: exp(x²)·erfc(x)",
    category="elementwise",
    domain=samples.Domain(-2.0, 3.0),
    torch=_special("erfcx"),
    floating=True,
)
NDTRI = Op(
    id="special_functions.NDTRI",
    saved={"result": Result()},
    name="SpecialNdtriBackward0",
    forward=N.ndtri,
    vjp=(lambda g, r, x: g * _SQRT_2PI * (r.square() / 2).exp(),),
    saves=SAVES_RESULT,
    sympy=lambda x: sp().sqrt(2) * sp().erfinv(2 * x - 1),
    label="Φ⁻¹",
    doc="the standard normal quantile",
    category="elementwise",
    domain=samples.Domain(0.05, 0.95),
    torch=_special("ndtri"),
    floating=True,
)
LOG_NDTR = Op(
    id="special_functions.LOG_NDTR",
    name="SpecialLogNdtrBackward0",
    forward=N.log_ndtr,
    vjp=(lambda g, r, x: g / _SQRT_2PI * (-(r + x ** 2 / 2)).exp(),),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x: sp().log(sp().erfc(-x / sp().sqrt(2)) / 2),
    label="log Φ",
    doc="log of the standard normal CDF",
    category="elementwise",
    domain=samples.Domain(-4.0, 3.0),
    torch=_special("log_ndtr"),
    floating=True,
)


def _entr(x):
    with np.errstate(all="ignore"):
        entropy = np.where(x > 0, -x * np.log(x), np.where(x == 0, 0, -np.inf))
    return np.where(np.isnan(x), x, entropy).astype(x.dtype, copy=False)


ENTR = Op(
    id="special_functions.ENTR",
    name="SpecialEntrBackward0",
    forward=_entr,
    vjp=(lambda g, r, x: g * (-(1 + x.log())),),
    saves=SAVES_INPUTS,
    sympy=lambda x: -x * sp().log(x),
    label="entr",
    doc="elementwise entropy −x·log x (0 at 0, −∞ below)",
    category="elementwise",
    domain=samples.Domain(0.1, 3.0),
    torch=_special("entr"),
    floating=True,
)

# -- modified Bessel functions --------------------------------------------------------
I0 = Op(
    id="special_functions.I0",
    name="I0Backward0",
    forward=N.i0,
    vjp=(lambda g, r, x: g * i1(x),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().besseli(0, x),
    label="I₀",
    doc="modified Bessel function of the first kind, order 0",
    category="elementwise",
    domain=samples.Domain(-3.0, 3.0),
    torch=torch_function("i0"),
    api=("i0",),
    floating=True,
)
I0E = Op(
    id="special_functions.I0E",
    name="SpecialI0EBackward0",
    forward=N.i0e,
    vjp=(lambda g, r, x: g * (i1e(x) - x.sign() * r),),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x: sp().exp(-abs(x)) * sp().besseli(0, x),
    label="I₀ₑ",
    doc="exponentially scaled I₀: e^(−|x|)·I₀(x)",
    category="elementwise",
    domain=samples.Domain(-3.0, 3.0, avoid=(0.0,)),
    torch=_special("i0e"),
    floating=True,
)


def _away_from_zero(x):
    """x where |x| > eps, eps elsewhere, and the mask (torch's i1_backward / i1e_backward:
    the formula's 0/0 at 0 replaced by the limit ½)."""
    eps = float(np.finfo(x._data.dtype).eps)
    not_tiny = x.abs() > eps
    return _E.where(not_tiny, x, eps), not_tiny


def _i1_vjp(g, r, x):
    safe, not_tiny = _away_from_zero(x)
    return g * _E.where(not_tiny, i0(safe) - r * safe.reciprocal(), 0.5)


def _i1e_vjp(g, r, x):
    safe, not_tiny = _away_from_zero(x)
    return g * _E.where(not_tiny, i0e(safe) - r * (safe.sign() + safe.reciprocal()), 0.5)


I1 = Op(
    id="special_functions.I1",
    name="SpecialI1Backward0",
    forward=N.i1,
    vjp=(_i1_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x: sp().besseli(1, x),
    label="I₁",
    doc="modified Bessel function of the first kind, order 1",
    category="elementwise",
    domain=samples.Domain(-3.0, 3.0),
    torch=_special("i1"),
    floating=True,
)
I1E = Op(
    id="special_functions.I1E",
    name="SpecialI1EBackward0",
    forward=N.i1e,
    vjp=(_i1e_vjp,),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x: sp().exp(-abs(x)) * sp().besseli(1, x),
    label="I₁ₑ",
    doc="exponentially scaled I₁: e^(−|x|)·I₁(x)",
    category="elementwise",
    domain=samples.Domain(-3.0, 3.0, avoid=(0.0,)),
    torch=_special("i1e"),
    floating=True,
)

# -- two-input functions --------------------------------------------------------------
def _xlog1py_array(x, y):
    with np.errstate(all="ignore"):
        value = np.where((x == 0) & ~np.isnan(y), 0, x * np.log1p(y))
    return value.astype(np.result_type(x, y), copy=False)


def _log1p_where_x(g, x, y):
    """g·log1p(y), 0 where x is 0 and y ≤ −1 (derivatives.yaml's masked xlog1py); y a
    tensor or a number."""
    if not isinstance(y, Tensor):
        return _E.where(x == 0, 0.0, xlog1py(g, y)) if y <= -1 else xlog1py(g, y)
    return _E.where((x == 0) & (y <= -1), 0.0, xlog1py(g, y))


XLOG1PY = Op(
    id="special_functions.XLOG1PY",
    name="SpecialXlog1PyBackward0",
    forward=_xlog1py_array,
    vjp=(lambda g, r, x, y: _log1p_where_x(g, x, y), lambda g, r, x, y: g * x / (y + 1)),
    saves=SAVES_INPUTS,
    sympy=lambda x, y: x * sp().log(1 + y),
    label="xlog1py",
    doc="x·log(1 + y), 0 where x is 0",
    arity=2,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S), samples.uniform(rng, (4,), -0.5, 2.0)], {}),
    torch=lambda torch, x, y: torch.special.xlog1py(x, y),
    overload="special_xlog1py(Tensor self, Tensor other)",
)
XLOG1PY_SCALAR_SELF = Op(
    id="special_functions.XLOG1PY_SCALAR_SELF",
    saved={"self": ScalarArg("self"), "other": Input(0)},
    name="SpecialXlog1PyBackward1",
    forward=lambda y, *, self: _xlog1py_array(np.asarray(self, dtype=y.dtype), y),
    vjp=(lambda g, r, y, *, self: g * self / (y + 1),),
    saves=SAVES_INPUTS,
    sympy=lambda y, *, self: self * sp().log(1 + y),
    label="xlog1py",
    doc="x·log(1 + y) for a number x",
    params=(Param("self", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, -0.5, 2.0)], {"self": 1.5}),
    torch=lambda torch, y, self: torch.special.xlog1py(self, y),
    overload="special_xlog1py.self_scalar(Scalar self, Tensor other)",
)
XLOG1PY_SCALAR_OTHER = Op(
    id="special_functions.XLOG1PY_SCALAR_OTHER",
    saved={"self": Input(0), "other": ScalarArg("other")},
    name="SpecialXlog1PyBackward2",
    forward=lambda x, *, other: _xlog1py_array(x, np.asarray(other, dtype=x.dtype)),
    vjp=(lambda g, r, x, *, other: _log1p_where_x(g, x, other),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, other: x * sp().log(1 + other),
    label="xlog1py",
    doc="x·log(1 + y) for a number y",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"other": 1.5}),
    torch=lambda torch, x, other: torch.special.xlog1py(x, other),
    overload="special_xlog1py.other_scalar(Tensor self, Scalar other)",
)


_zeta_x_vjp = NotImplementedRule("zeta")


def _zeta_q_vjp(g, x, q):
    return g * -x * zeta(x + 1.0, q)


_ZETA_X_RANGE = (2.5, 4.0)
ZETA = Op(
    id="special_functions.ZETA",
    name="SpecialZetaBackward0",
    forward=N.zeta,
    vjp=(_zeta_x_vjp, lambda g, r, x, q: _zeta_q_vjp(g, x, q)),
    saves=SAVES_INPUTS,
    sympy=lambda x, q: sp().zeta(x, q),
    label="ζ",
    doc="Hurwitz zeta function Σₖ (k + q)⁻ˣ (no derivative in x)",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S, *_ZETA_X_RANGE), samples.uniform(rng, (4,), 0.5, 2.0)], {}),
    torch=lambda torch, x, q: torch.special.zeta(x, q),
    overload="special_zeta(Tensor self, Tensor other)",
)
ZETA_SCALAR_SELF = Op(
    id="special_functions.ZETA_SCALAR_SELF",
    saved={"self": ScalarArg("self"), "other": Input(0)},
    name="SpecialZetaBackward1",
    forward=lambda q, *, self: N.zeta(np.asarray(self, dtype=q.dtype), q),
    vjp=(lambda g, r, q, *, self: _zeta_q_vjp(g, self, q),),
    saves=SAVES_INPUTS,
    sympy=lambda q, *, self: sp().zeta(self, q),
    label="ζ",
    doc="Hurwitz zeta function of a number x",
    params=(Param("self", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.5, 2.0)], {"self": 3.0}),
    torch=lambda torch, q, self: torch.special.zeta(self, q),
    overload="special_zeta.self_scalar(Scalar self, Tensor other)",
)
# no derivative at all: not a row of the table (whose rows are differentiable), as heaviside
ZETA_SCALAR_OTHER = Op(
    saved={},
    name="SpecialZetaBackward2",
    forward=lambda x, *, other: N.zeta(x, np.asarray(other, dtype=x.dtype)),
    vjp=(_zeta_x_vjp,),
    saves=0,
    sympy=lambda x, *, other: sp().zeta(x, other),
    label="ζ",
    doc="Hurwitz zeta function at a number q (no derivative in x)",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, *_ZETA_X_RANGE)], {"other": 1.5}),
    torch=lambda torch, x, other: torch.special.zeta(x, other),
    overload="special_zeta.other_scalar(Tensor self, Scalar other)",
)


def _round_decimals(x, *, decimals):
    if decimals >= 0:
        scale = np.asarray(10.0 ** decimals, dtype=x.dtype)
        return np.round(x * scale) / scale
    scale = np.asarray(10.0 ** -decimals, dtype=x.dtype)
    return np.round(x / scale) * scale


ROUND_DECIMALS = Op(
    id="special_functions.ROUND_DECIMALS",
    saved={},
    name="RoundBackward1",
    forward=_round_decimals,
    vjp=(lambda g, r, x, *, decimals: g * 0,),
    sympy=lambda x, *, decimals: sf.round_half_even(x * sp().Integer(10) ** decimals) / sp().Integer(10) ** decimals,
    label="round",
    doc="rounded half to even at `decimals` decimal places (gradient 0)",
    category="elementwise",
    params=(Param("decimals", "int", 0),),
    sample=lambda rng: ([samples.off_integers(rng, samples.S)], {"decimals": 0}),
    torch=lambda torch, x, decimals: torch.round(x, decimals=decimals),
    overload="round.decimals(Tensor self, *, int decimals)",
)

# -- the public functions -------------------------------------------------------------
lgamma = function_for(LGAMMA)
digamma = function_for(DIGAMMA)
erfinv = function_for(ERFINV)
i0 = function_for(I0)
i0e = function_for(I0E)
i1 = function_for(I1)
i1e = function_for(I1E)
erfcx = function_for(ERFCX)
ndtri = function_for(NDTRI)
log_ndtr = function_for(LOG_NDTR)
entr = function_for(ENTR)


def _floating(input: Tensor) -> Tensor:
    return input.to(_dt.get_default_dtype()) if input._data.dtype.kind != "f" else input


def _check_n(n) -> int:
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return int(n)


def polygamma(n: int, input: Tensor) -> Tensor:
    """ψ⁽ⁿ⁾(input), the n-th derivative of digamma."""
    return apply(POLYGAMMA, (_floating(input),), {"n": _check_n(n)})


def polygamma_method(self: Tensor, n: int) -> Tensor:
    """``x.polygamma(n)``: the tensor comes first."""
    return polygamma(n, self)


def _polygamma_in_place_node(self: Tensor, n: int) -> Tensor:
    """ψ⁽ⁿ⁾(self) under the node torch records for ``polygamma_`` (PolygammaBackward1)."""
    return apply(POLYGAMMA_, (self,), {"n": _check_n(n)})


def _polygamma_in_place(self: Tensor, n: int) -> Tensor:
    from .inplace import inplace
    return inplace(_polygamma_in_place_node)(self, n)


polygamma_ = _polygamma_in_place
polygamma_.__name__ = "polygamma_"


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension p."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    return apply(MVLGAMMA, (_floating(input),), {"p": int(p)})


_TWO_TENSOR_SIGNATURES = ("(Tensor input, Tensor other, *, Tensor out = None)",
                          "(Number self, Tensor other, *, Tensor out = None)",
                          "(Tensor input, Number other, *, Tensor out = None)")


def _two_inputs(name: str, rows: tuple, input, other) -> Tensor:
    """A tensor–tensor function with torch's number overloads: ``rows`` is (both tensors,
    a number first, a number second)."""
    input, other = _E._scalar(input), _E._scalar(other)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise _invalid_combination(name, (input, other), _TWO_TENSOR_SIGNATURES)
    a, b = _pair(input, other, floating=True)
    if not isinstance(a, Tensor):
        return apply(rows[1], (b,), {"self": float(a)})
    if not isinstance(b, Tensor):
        return apply(rows[2], (a,), {"other": float(b)})
    return apply(rows[0], (a, b))


def xlog1py(input, other) -> Tensor:
    """input·log(1 + other), 0 where input is 0; either side may be a number."""
    return _two_inputs("special_xlog1py", (XLOG1PY, XLOG1PY_SCALAR_SELF, XLOG1PY_SCALAR_OTHER), input, other)


def zeta(input, other) -> Tensor:
    """The Hurwitz zeta function ζ(input, other); either side may be a number."""
    return _two_inputs("special_zeta", (ZETA, ZETA_SCALAR_SELF, ZETA_SCALAR_OTHER), input, other)


def round_decimals(input: Tensor, *, decimals: int = 0) -> Tensor:
    """special.round: half to even at ``decimals`` places (RoundBackward1, even for 0)."""
    return apply(ROUND_DECIMALS, (input,), {"decimals": int(decimals)})
