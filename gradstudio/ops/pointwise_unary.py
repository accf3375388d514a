"""One-tensor pointwise ops the elementwise file lacks: ``logit`` (LogitBackward0, with
torch's optional clamp ``eps``), ``sinc`` (sin πx / πx, 1 at 0), ``deg2rad`` and
``rad2deg`` (a constant factor), and ``frexp`` (mantissa and exponent; FrexpBackward0
saves the exponent and divides the gradient by 2^exponent)."""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.saved import Arg, Input, SavedArg, as_tensor
from ..tensor import Tensor
from . import _sympy as sf
from ._sympy import sp
from . import elementwise as _E
from . import samples
from .reduction import return_type
from .table import Op, Param, SAVES_INDICES, SAVES_INPUTS, apply, function_for, torch_function


def _logit(x, *, eps):
    z = x if eps is None else np.clip(x, eps, 1 - eps)
    with np.errstate(all="ignore"):
        return np.log(z / (1 - z)).astype(x.dtype, copy=False)


def _logit_vjp(g, r, x, *, eps):
    """g / (x(1 − x)) inside [eps, 1 − eps] (0 outside, the clamp's flat part); without
    eps NaN outside [0, 1], as torch's logit_backward."""
    inside = g / (x * (1 - x))
    if eps is None:
        return _E.where((x < 0) | (x > 1), math.nan, inside)
    return _E.where((x < eps) | (x > 1 - eps), 0.0, inside)


LOGIT = Op(
    id="pointwise_unary.LOGIT",
    saved={"self": Input(0), "eps": Arg("eps")},
    name="LogitBackward0",
    forward=_logit,
    vjp=(_logit_vjp,),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, eps: sp().log(x / (1 - x)) if eps is None else (
        lambda z: sp().log(z / (1 - z)))(sf.clamp(x, min=eps, max=1 - eps)),
    label="logit",
    doc="log(p / (1 − p)), p clamped to [eps, 1 − eps] when eps is given",
    category="elementwise",
    params=(Param("eps", "float?", None),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.1, 0.9)], {"eps": None}),
    torch=lambda torch, x, eps: torch.logit(x, eps),
)


def _sinc(x):
    with np.errstate(all="ignore"):
        y = np.pi * x
        return np.where(x == 0, 1, np.sin(y) / y).astype(x.dtype, copy=False)


def _sinc_vjp(g, r, x):
    """g·(πx cos πx − sin πx)/(πx²), 0 at x = 0 (torch's sinc_backward)."""
    y = math.pi * x
    return _E.where(x == 0, 0.0, g * ((y * y.cos() - y.sin()) / (y * x)))


SINC = Op(
    id="pointwise_unary.SINC",
    name="SincBackward0",
    forward=_sinc,
    vjp=(_sinc_vjp,),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().sin(sp().pi * x) / (sp().pi * x),
    label="sinc",
    doc="normalized sinc: sin(πx)/(πx), 1 at 0",
    category="elementwise",
    domain=samples.Domain(-3.0, 3.0, avoid=(0.0,)),
    torch=torch_function("sinc"),
    api=("sinc",),
    floating=True,
)
_RADIANS_PER_DEGREE = math.pi / 180
DEG2RAD = Op(
    id="pointwise_unary.DEG2RAD",
    name="Deg2RadBackward0",
    forward=lambda x: x * np.asarray(_RADIANS_PER_DEGREE, dtype=x.dtype),
    vjp=(lambda g, r, x: g * _RADIANS_PER_DEGREE,),
    sympy=lambda x: x * sp().pi / 180,
    label="deg→rad",
    doc="degrees to radians: x·π/180",
    category="elementwise",
    sample=samples.unary(-180.0, 180.0),
    torch=torch_function("deg2rad"),
    api=("deg2rad",),
    floating=True,
)
RAD2DEG = Op(
    id="pointwise_unary.RAD2DEG",
    name="Rad2DegBackward0",
    forward=lambda x: x * np.asarray(1 / _RADIANS_PER_DEGREE, dtype=x.dtype),
    vjp=(lambda g, r, x: g * (1 / _RADIANS_PER_DEGREE),),
    sympy=lambda x: x * 180 / sp().pi,
    label="rad→deg",
    doc="radians to degrees: x·180/π",
    category="elementwise",
    sample=samples.unary(),
    torch=torch_function("rad2deg"),
    api=("rad2deg",),
    floating=True,
)


def _frexp_sample(rng):
    x = samples.away_from_zero(rng, samples.S, 0.3, 6.0)
    return [x], {"exponent": np.frexp(x)[1].astype(np.int32)}


FREXP = Op(
    id="pointwise_unary.FREXP",
    saved={"exponent": SavedArg("exponent", as_tensor)},
    name="FrexpBackward0",
    forward=lambda x, *, exponent: np.frexp(x)[0],
    vjp=(lambda g, r, x, *, exponent: g / Tensor._make(np.ldexp(np.ones((), g._data.dtype), exponent)),),
    saves=SAVES_INDICES,
    label="mantissa",
    doc="the mantissa m of x = m·2ᵉ, ½ ≤ |m| < 1 (gradient 2⁻ᵉ)",
    category="elementwise",
    params=(Param("exponent", "Tensor"),),
    sample=_frexp_sample,
    torch=lambda torch, x, exponent: torch.frexp(x)[0],
)

frexp_type = return_type("frexp", ("mantissa", "exponent"))
sinc = function_for(SINC)
deg2rad = function_for(DEG2RAD)
rad2deg = function_for(RAD2DEG)


def logit(input, eps=None):
    """log(p / (1 − p)); integers in the default float dtype."""
    if input._data.dtype.kind != "f":
        input = input.to(_dt.get_default_dtype())
    return apply(LOGIT, (input,), {"eps": None if eps is None else float(eps)})


def frexp(input):
    """(mantissa, exponent) with input = mantissa·2^exponent, exponent int32."""
    if input._data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    exponent = np.frexp(input._data)[1].astype(np.int32)
    return frexp_type(apply(FREXP, (input,), {"exponent": exponent}), Tensor._make(exponent))
