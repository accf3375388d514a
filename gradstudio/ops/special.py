"""Rows of torch's error function and of the rounding ops the elementwise file lacks:
``erf``, ``erfc`` (ErfBackward0, ErfcBackward0: written into custom GELUs and normal
CDFs), ``exp2``, ``trunc`` (and its alias ``fix``) and ``frac`` (the fractional part,
whose gradient passes through unchanged), and ``nan_to_num`` (NanToNumBackward0: the
replaced elements get no gradient), and ``xlogy`` (XlogyBackward0: x log y, 0 where x is 0)."""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Input
from ._sympy import erf_array, erfc_array, sp
from . import samples
from .table import Op, Param, SAVES_INPUTS, SAVES_RESULT, apply, torch_function

_TWO_OVER_ROOT_PI = 2.0 / math.sqrt(math.pi)


def _in_dtype_of(function):
    """``function`` (float64 out) giving its result in the input's dtype."""
    def forward(x):
        return function(x).astype(x.dtype, copy=False)
    forward.__name__ = function.__name__
    return forward


ERF = Op(
    id="special.ERF",
    name="ErfBackward0",
    forward=_in_dtype_of(erf_array),
    vjp=(lambda g, r, x: g * (_TWO_OVER_ROOT_PI * (-(x * x)).exp()),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().erf(x),
    label="erf",
    doc="error function: 2/√π ∫₀ˣ e^(−t²) dt",
    category="elementwise",
    domain=samples.Domain(-3.0, 3.0),
    torch=torch_function("erf"),
    api=("erf",),
    floating=True,
)
ERFC = Op(
    id="special.ERFC",
    name="ErfcBackward0",
    forward=_in_dtype_of(erfc_array),
    vjp=(lambda g, r, x: g * (-_TWO_OVER_ROOT_PI * (-(x * x)).exp()),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().erfc(x),
    label="erfc",
    doc="complementary error function: 1 − erf(x)",
    category="elementwise",
    domain=samples.Domain(-3.0, 3.0),
    torch=torch_function("erfc"),
    api=("erfc",),
    floating=True,
)
EXP2 = Op(
    id="special.EXP2",
    name="Exp2Backward0",
    forward=np.exp2,
    vjp=(lambda g, r, x: g * (r * math.log(2)),),
    saves=SAVES_RESULT,
    sympy=lambda x: 2 ** x,
    label="2ˣ",
    doc="2 to the power x",
    category="elementwise",
    domain=samples.Domain(-6.0, 6.0),
    torch=torch_function("exp2"),
    api=("exp2",),
    floating=True,
)
TRUNC = Op(
    id="special.TRUNC",
    name="TruncBackward0",
    forward=np.trunc,
    vjp=(lambda g, r, x: g * 0,),
    sympy=lambda x: sp().sign(x) * sp().floor(abs(x)),
    label="trunc",
    doc="rounded toward zero (gradient 0)",
    category="elementwise",
    sample=lambda rng: ([samples.off_integers(rng, samples.S)], {}),
    torch=torch_function("trunc"),
    api=("trunc", "fix"),
)
FRAC = Op(
    id="special.FRAC",
    name="FracBackward0",
    forward=lambda x: x - np.trunc(x),
    vjp=(lambda g, r, x: g,),
    sympy=lambda x: x - sp().sign(x) * sp().floor(abs(x)),
    label="frac",
    doc="fractional part, x − trunc(x) (gradient 1)",
    category="elementwise",
    sample=lambda rng: ([samples.off_integers(rng, samples.S)], {}),
    torch=torch_function("frac"),
    api=("frac",),
)


def _nan_to_num(x, *, nan, posinf, neginf):
    if x.dtype.kind != "f":
        return x.copy()
    info = np.finfo(x.dtype)
    return np.nan_to_num(x, nan=nan, posinf=info.max if posinf is None else posinf,
                         neginf=info.min if neginf is None else neginf)


NAN_TO_NUM = Op(
    id="special.NAN_TO_NUM",
    saved={"self": Input(0)},
    name="NanToNumBackward0",
    forward=_nan_to_num,
    vjp=(lambda g, r, x, *, nan, posinf, neginf: g * x.isfinite(),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, nan, posinf, neginf: x,
    label="nan_to_num",
    doc="NaN, +∞ and −∞ replaced by numbers (their gradient 0)",
    category="elementwise",
    params=(Param("nan", "float", 0.0), Param("posinf", "float?", None), Param("neginf", "float?", None)),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"nan": 0.0, "posinf": None, "neginf": None}),
    torch=lambda torch, x, nan, posinf, neginf: torch.nan_to_num(x, nan, posinf, neginf),
)


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None):
    """NaN → ``nan``; ±∞ → ``posinf``/``neginf`` (default: the dtype's largest and smallest)."""
    return apply(NAN_TO_NUM, (input,), {"nan": float(nan), "posinf": posinf, "neginf": neginf})


def _xlogy_forward(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x == 0, 0, x * np.log(y))
    return np.where(np.isnan(y), y, out).astype(np.result_type(x, y), copy=False)


XLOGY = Op(
    id="special.XLOGY",
    saved={"self": Input(0), "other": Input(1)},
    name="XlogyBackward0",
    forward=_xlogy_forward,
    # torch: ∂/∂x = xlogy(x ≠ 0, y) (0 where x is 0), ∂/∂y = x / y
    vjp=(lambda g, r, x, y: g * xlogy((x != 0).to(x.dtype), y), lambda g, r, x, y: g * x / y),
    saves=SAVES_INPUTS,
    sympy=lambda x, y: x * sp().log(y),
    label="x log y",
    doc="x · log y, 0 where x is 0 (KL divergence's t log t)",
    category="elementwise",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.2, 2.0), samples.uniform(rng, samples.S, 0.2, 2.0)], {}),
    torch=lambda torch, x, y: torch.xlogy(x, y),
)


# torch's overloads with a number on one side: one edge, the number saved as it was given
XLOGY_SCALAR_OTHER = Op(
    id="special.XLOGY_SCALAR_OTHER",
    saved={"self": Input(0), "other": Arg("other")},
    name="XlogyBackward2",
    overload="xlogy.Scalar_Other(Tensor self, Scalar other)",
    forward=lambda x, *, other: _xlogy_forward(x, np.asarray(other, dtype=x.dtype)),
    vjp=(lambda g, r, x, *, other: g * xlogy((x != 0).to(x.dtype), other),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, other: x * sp().log(other),
    label="x log c",
    doc="x · log c for a number c, 0 where x is 0",
    category="elementwise",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.2, 2.0)], {"other": 2.5}),
    torch=lambda torch, x, other: torch.xlogy(x, other),
)
XLOGY_SCALAR_SELF = Op(
    id="special.XLOGY_SCALAR_SELF",
    saved={"self": Arg("self"), "other": Input(0)},
    name="XlogyBackward1",
    overload="xlogy.Scalar_Self(Scalar self, Tensor other)",
    forward=lambda y, *, self: _xlogy_forward(np.asarray(self, dtype=y.dtype), y),
    vjp=(lambda g, r, y, *, self: g * self / y,),
    saves=SAVES_INPUTS,
    sympy=lambda y, *, self: self * sp().log(y),
    label="c log y",
    doc="c · log y for a number c (0 when c is 0)",
    category="elementwise",
    params=(Param("self", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.2, 2.0)], {"self": 1.5}),
    torch=lambda torch, y, self: torch.xlogy(self, y),
)


def xlogy(input, other):
    """``input · log(other)``, 0 where ``input`` is 0 (torch.xlogy; integers computed in
    the default float dtype, as torch does); a number on either side picks torch's
    overload for it (XlogyBackward2, XlogyBackward1)."""
    from .elementwise import _check_broadcast, _float_if_int
    from ..tensor import Tensor
    if not isinstance(other, Tensor):
        return apply(XLOGY_SCALAR_OTHER, (_float_if_int(input),), {"other": other})
    if not isinstance(input, Tensor):
        return apply(XLOGY_SCALAR_SELF, (_float_if_int(other),), {"self": input})
    a, b = _float_if_int(input), _float_if_int(other)
    if a._data.dtype != b._data.dtype:
        from .elementwise import _promote
        a, b, _ = _promote(a, b)
    _check_broadcast(a, b)
    return apply(XLOGY, (a, b))
