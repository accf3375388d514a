"""Rows of torch's error function and of the rounding ops the elementwise file lacks:
``erf``, ``erfc`` (ErfBackward0, ErfcBackward0: written into custom GELUs and normal
CDFs), ``exp2``, ``trunc`` (and its alias ``fix``) and ``frac`` (the fractional part,
whose gradient passes through unchanged), and ``nan_to_num`` (NanToNumBackward0: the
replaced elements get no gradient)."""
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
