"""Pointwise ops of two or three tensors that the elementwise file lacks: ``lerp``
(LerpBackward0 for a number weight, LerpBackward1 for a tensor one), ``addcmul`` and
``addcdiv`` (s + value·t₁·t₂, s + value·t₁/t₂), ``atan2``, ``logaddexp`` and
``logaddexp2``, ``hypot``, ``xlogy`` (one row per overload: tensor–tensor, number–tensor,
tensor–number), ``copysign``, ``fmod`` and ``remainder`` (differentiable, with a number or
a tensor divisor), ``float_power`` (the pow rows in double precision), ``ldexp``,
``nextafter``, and ``heaviside``, which torch records without a derivative.

The wrappers below the rows do what torch's argument parser and TensorIterator do:
which arguments must be tensors, the promoted dtype, integers computed in the default
float dtype where torch's kernel is floating-only (atan2, xlogy) or refused with
torch's "not implemented for 'Long'" (hypot, logaddexp), and torch's errors.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.saved import Arg, Input, Result
from ..tensor import Tensor
from ._sympy import sp
from . import elementwise as _E
from . import samples
from .table import Op, Param, SAVES_INPUTS, SAVES_RESULT, apply

_LN2 = math.log(2.0)


def _fused_multiply_add(x, y, z):
    """x·y + z rounded once, as torch's CPU kernels (fmadd) compute it: below float64 the
    product and sum are exact or nearly so in float64, then rounded to the dtype; float64
    and integers are computed in their own dtype (no fused multiply-add in numpy)."""
    dtype = np.result_type(x, y, z)
    if dtype.kind != "f" or dtype.itemsize >= 8:
        return (x * y + z).astype(dtype, copy=False)
    return (np.asarray(x, np.float64) * y + z).astype(dtype)


def _lerp(start, end, weight):
    """torch's lerp: from the nearer end, w·(b − a) + a or b − (b − a)·(1 − w), so
    lerp(a, b, 1) is exactly b."""
    dtype = np.result_type(start, end)
    weight = np.asarray(weight, dtype=dtype)
    diff = end - start
    out = np.where(np.abs(weight) < 0.5, _fused_multiply_add(weight, diff, start),
                   _fused_multiply_add(-diff, 1 - weight, end))
    return out.astype(dtype, copy=False)


LERP = Op(
    id="pointwise_binary.LERP",
    saved={"weight": Arg("weight")},
    name="LerpBackward0",
    forward=lambda a, b, *, weight: _lerp(a, b, weight),
    vjp=(lambda g, r, a, b, *, weight: g * (1 - weight), lambda g, r, a, b, *, weight: g * weight),
    sympy=lambda a, b, *, weight: a + weight * (b - a),
    label="lerp",
    doc="linear interpolation a + w·(b − a), w a number",
    arity=2,
    params=(Param("weight", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4,))], {"weight": 0.3}),
    torch=lambda torch, a, b, weight: torch.lerp(a, b, weight),
    overload="lerp.Scalar(Tensor self, Tensor end, Scalar weight)",
)
LERP_TENSOR = Op(
    id="pointwise_binary.LERP_TENSOR",
    saved={"self": Input(0), "end": Input(1), "weight": Input(2)},
    name="LerpBackward1",
    forward=_lerp,
    vjp=(lambda g, r, a, b, w: g * (1 - w), lambda g, r, a, b, w: g * w, lambda g, r, a, b, w: g * (b - a)),
    saves=SAVES_INPUTS,
    sympy=lambda a, b, w: a + w * (b - a),
    label="lerp",
    doc="linear interpolation a + w·(b − a), w a tensor",
    arity=3,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4,)),
                         samples.uniform(rng, (3, 1), -0.5, 1.5)], {}),
    torch=lambda torch, a, b, w: torch.lerp(a, b, w),
    overload="lerp.Tensor(Tensor self, Tensor end, Tensor weight)",
)
ADDCMUL = Op(
    id="pointwise_binary.ADDCMUL",
    saved={"tensor1": Input(1), "tensor2": Input(2), "value": Arg("value")},
    name="AddcmulBackward0",
    forward=lambda s, t1, t2, *, value: _fused_multiply_add(value * t1, t2, s),
    vjp=(lambda g, r, s, t1, t2, *, value: g,
         lambda g, r, s, t1, t2, *, value: g * (t2 * value),
         lambda g, r, s, t1, t2, *, value: g * (t1 * value)),
    saves=SAVES_INPUTS,
    sympy=lambda s, t1, t2, *, value: s + value * t1 * t2,
    label="addcmul",
    doc="s + value·t₁·t₂",
    arity=3,
    params=(Param("value", "float", 1),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4,)), samples.uniform(rng, (3, 1))],
                        {"value": 0.5}),
    torch=lambda torch, s, t1, t2, value: torch.addcmul(s, t1, t2, value=value),
)
ADDCDIV = Op(
    id="pointwise_binary.ADDCDIV",
    saved={"tensor1": Input(1), "tensor2": Input(2), "value": Arg("value")},
    name="AddcdivBackward0",
    forward=lambda s, t1, t2, *, value: s + value * t1 / t2,
    vjp=(lambda g, r, s, t1, t2, *, value: g,
         lambda g, r, s, t1, t2, *, value: g * (value / t2),
         lambda g, r, s, t1, t2, *, value: -g * (value * t1 / (t2 * t2))),
    saves=SAVES_INPUTS,
    sympy=lambda s, t1, t2, *, value: s + value * t1 / t2,
    label="addcdiv",
    doc="s + value·t₁/t₂",
    arity=3,
    params=(Param("value", "float", 1),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4,)),
                         samples.away_from_zero(rng, (3, 1), 0.5, 2.0)], {"value": 0.5}),
    torch=lambda torch, s, t1, t2, value: torch.addcdiv(s, t1, t2, value=value),
)


def _atan2_rules():
    """(x, −y)·g/(x² + y²), with 1/(x² + y²) taken as 0 at the origin (torch's
    atan2_backward masks the infinite reciprocal)."""
    def reciprocal(y, x):
        r = (y * y + x * x).reciprocal()
        return _E.where(r.isinf(), 0.0, r)

    def of_y(g, r, y, x):
        return g * x * reciprocal(y, x)

    def of_x(g, r, y, x):
        return g * -y * reciprocal(y, x)
    return of_y, of_x


ATAN2 = Op(
    id="pointwise_binary.ATAN2",
    name="Atan2Backward0",
    forward=np.arctan2,
    vjp=_atan2_rules(),
    saves=SAVES_INPUTS,
    sympy=lambda y, x: sp().atan2(y, x),
    label="atan2",
    doc="the angle of the point (x, y): atan2(y, x)",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.away_from_zero(rng, (4,), 0.5, 2.0)], {}),
    torch=lambda torch, y, x: torch.atan2(y, x),
)
LOGADDEXP = Op(
    id="pointwise_binary.LOGADDEXP",
    name="LogaddexpBackward0",
    forward=np.logaddexp,
    vjp=(lambda g, r, a, b: g / (1 + (b - a).exp()), lambda g, r, a, b: g / (1 + (a - b).exp())),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: sp().log(sp().exp(a) + sp().exp(b)),
    label="logaddexp",
    doc="log(eᵃ + eᵇ), without overflow",
    arity=2,
    sample=samples.binary(),
    torch=lambda torch, a, b: torch.logaddexp(a, b),
)
LOGADDEXP2 = Op(
    id="pointwise_binary.LOGADDEXP2",
    name="Logaddexp2Backward0",
    forward=np.logaddexp2,
    vjp=(lambda g, r, a, b: g / (1 + _E.pow(2.0, b - a)), lambda g, r, a, b: g / (1 + _E.pow(2.0, a - b))),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: sp().log(2 ** a + 2 ** b, 2),
    label="logaddexp2",
    doc="log₂(2ᵃ + 2ᵇ), without overflow",
    arity=2,
    sample=samples.binary(),
    torch=lambda torch, a, b: torch.logaddexp2(a, b),
)
HYPOT = Op(
    id="pointwise_binary.HYPOT",
    name="HypotBackward0",
    forward=np.hypot,
    vjp=(lambda g, r, a, b: g * a / r, lambda g, r, a, b: g * b / r),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda a, b: sp().sqrt(a * a + b * b),
    label="hypot",
    doc="√(a² + b²), without overflow",
    arity=2,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S), samples.away_from_zero(rng, (4,))], {}),
    torch=lambda torch, a, b: torch.hypot(a, b),
)


def _xlogy(x, y):
    """x·log(y), 0 where x is 0 (unless y is NaN), as torch's kernel."""
    with np.errstate(all="ignore"):
        out = np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y))
    return out.astype(np.result_type(x, y), copy=False)


def _log_where_x(g, x, y):
    """xlogy(g, y), 0 where x is 0 and y ≤ 0 (torch's formula for xlogy's first input)."""
    return _E.where((x == 0) & (y <= 0), 0.0, xlogy(g, y))


XLOGY = Op(
    id="pointwise_binary.XLOGY",
    name="XlogyBackward0",
    forward=_xlogy,
    vjp=(lambda g, r, x, y: _log_where_x(g, x, y), lambda g, r, x, y: g * x / y),
    saves=SAVES_INPUTS,
    sympy=lambda x, y: x * sp().log(y),
    label="xlogy",
    doc="x·log(y), 0 where x is 0",
    arity=2,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S), samples.uniform(rng, (4,), 0.3, 2.0)], {}),
    torch=lambda torch, x, y: torch.xlogy(x, y),
    overload="xlogy.Tensor(Tensor self, Tensor other)",
)
XLOGY_SCALAR_SELF = Op(
    id="pointwise_binary.XLOGY_SCALAR_SELF",
    saved={"self": Arg("self"), "other": Input(0)},
    name="XlogyBackward1",
    forward=lambda y, *, self: _xlogy(np.asarray(self, dtype=y.dtype), y),
    vjp=(lambda g, r, y, *, self: g * self / y,),
    saves=SAVES_INPUTS,
    sympy=lambda y, *, self: self * sp().log(y),
    label="xlogy",
    doc="x·log(y) for a number x",
    params=(Param("self", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.3, 2.0)], {"self": 1.5}),
    torch=lambda torch, y, self: torch.xlogy(self, y),
    overload="xlogy.Scalar_Self(Scalar self, Tensor other)",
)
XLOGY_SCALAR_OTHER = Op(
    id="pointwise_binary.XLOGY_SCALAR_OTHER",
    saved={"self": Input(0), "other": Arg("other")},
    name="XlogyBackward2",
    forward=lambda x, *, other: _xlogy(x, np.asarray(other, dtype=x.dtype)),
    vjp=(lambda g, r, x, *, other: _log_where_x(g, x, other),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, other: x * sp().log(other),
    label="xlogy",
    doc="x·log(y) for a number y",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"other": 2.5}),
    torch=lambda torch, x, other: torch.xlogy(x, other),
    overload="xlogy.Scalar_Other(Tensor self, Scalar other)",
)


def _copysign_of_self(g, r, x):
    """g·result/x, 0 where x is 0 (torch's copysign_tensor_self_backward)."""
    return _E.where(x == 0, 0.0, g * r / x)


COPYSIGN = Op(
    id="pointwise_binary.COPYSIGN",
    saved={"self": Input(0), "result": Result()},
    name="CopysignBackward0",
    forward=np.copysign,
    vjp=(lambda g, r, x, s: _copysign_of_self(g, r, x), lambda g, r, x, s: g * 0),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x, s: sp().Abs(x) * sp().sign(s),
    label="copysign",
    doc="|a| with the sign of b",
    arity=2,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S), samples.away_from_zero(rng, (4,))], {}),
    torch=lambda torch, x, s: torch.copysign(x, s),
    overload="copysign.Tensor(Tensor self, Tensor other)",
)
COPYSIGN_SCALAR = Op(
    id="pointwise_binary.COPYSIGN_SCALAR",
    saved={"self": Input(0), "result": Result()},
    name="CopysignBackward1",
    forward=lambda x, *, other: np.copysign(x, np.asarray(other, dtype=x.dtype)),
    vjp=(lambda g, r, x, *, other: _copysign_of_self(g, r, x),),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda x, *, other: sp().Abs(x) * math.copysign(1.0, other),
    label="copysign",
    doc="|a| with the sign of a number",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {"other": -1.0}),
    torch=lambda torch, x, other: torch.copysign(x, other),
    overload="copysign.Scalar(Tensor self, Scalar other)",
)


def _floor_mod(a, b):
    """torch's remainder: fmod, moved by b where its sign differs from b's (so 3 mod −1
    is +0, where numpy's remainder gives −0)."""
    with np.errstate(all="ignore"):
        mod = np.fmod(a, b)
        return np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod).astype(mod.dtype, copy=False)


def _truncated(q):
    return sp().sign(q) * sp().floor(abs(q))


FMOD = Op(
    id="pointwise_binary.FMOD",
    saved={},
    name="FmodBackward0",
    forward=lambda a, *, other: np.fmod(a, np.asarray(other, dtype=a.dtype)),
    vjp=(lambda g, r, a, *, other: g,),
    sympy=lambda a, *, other: a - other * _truncated(a / other),
    label="fmod",
    doc="remainder of a / b rounded toward zero (sign of a), b a number",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.off_integers(rng, samples.S) * 1.5], {"other": 1.5}),
    torch=lambda torch, a, other: torch.fmod(a, other),
    overload="fmod.Scalar(Tensor self, Scalar other)",
)
FMOD_TENSOR = Op(
    id="pointwise_binary.FMOD_TENSOR",
    name="FmodBackward1",
    forward=np.fmod,
    vjp=(lambda g, r, a, b: g, lambda g, r, a, b: -g * (a / b).trunc()),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: a - b * _truncated(a / b),
    label="fmod",
    doc="remainder of a / b rounded toward zero (sign of a)",
    arity=2,
    sample=lambda rng: ([samples.off_integers(rng, samples.S) * 1.5, np.full((4,), 1.5)], {}),
    torch=lambda torch, a, b: torch.fmod(a, b),
    overload="fmod.Tensor(Tensor self, Tensor other)",
)
REMAINDER = Op(
    id="pointwise_binary.REMAINDER",
    saved={},
    name="RemainderBackward0",
    forward=lambda a, *, other: _floor_mod(a, np.asarray(other, dtype=a.dtype)),
    vjp=(lambda g, r, a, *, other: g,),
    sympy=lambda a, *, other: a - other * sp().floor(a / other),
    label="mod",
    doc="remainder of a / b rounded down (sign of b), b a number",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.off_integers(rng, samples.S) * 1.5], {"other": 1.5}),
    torch=lambda torch, a, other: torch.remainder(a, other),
    overload="remainder.Scalar(Tensor self, Scalar other)",
)
REMAINDER_TENSOR = Op(
    id="pointwise_binary.REMAINDER_TENSOR",
    name="RemainderBackward1",
    forward=_floor_mod,
    vjp=(lambda g, r, a, b: g, lambda g, r, a, b: -g * (a / b).floor()),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: a - b * sp().floor(a / b),
    label="mod",
    doc="remainder of a / b rounded down (sign of b)",
    arity=2,
    sample=lambda rng: ([samples.off_integers(rng, samples.S) * 1.5, np.full((4,), -1.5)], {}),
    torch=lambda torch, a, b: torch.remainder(a, b),
    overload="remainder.Tensor(Tensor self, Tensor other)",
)
LDEXP = Op(
    id="pointwise_binary.LDEXP",
    saved={"other": Input(1), "result": Result()},
    name="LdexpBackward0",
    forward=lambda a, e: a * np.power(2.0, e.astype(a.dtype, copy=False)),
    vjp=(lambda g, r, a, e: g * _E.pow(2.0, e), lambda g, r, a, e: g * r * _LN2),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda a, e: a * 2 ** e,
    label="ldexp",
    doc="a·2ᵉ",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4,))], {}),
    torch=lambda torch, a, e: torch.ldexp(a, e),
)
NEXTAFTER = Op(
    id="pointwise_binary.NEXTAFTER",
    name="NextafterBackward0",
    forward=np.nextafter,
    vjp=(lambda g, r, a, b: g, lambda g, r, a, b: g * 0),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: a,  # one ulp from a: its derivative, as torch's, is 1 in a and 0 in b
    label="nextafter",
    doc="the next representable number after a, toward b",
    arity=2,
    sample=samples.binary(),
    torch=lambda torch, a, b: torch.nextafter(a, b),
)


def _underivable(aten: str, forward, **display) -> Op:
    """An op torch records without a derivative formula: its node's class is
    ``NotImplemented``, and a backward pass through it raises torch's error. Not a row of
    the table (no id): the table's rows are differentiable, replayed and checked by
    finite differences."""
    def vjp_all(node, grad):
        raise RuntimeError(f"derivative for aten::{aten} is not implemented")
    return Op(name="NotImplemented", forward=forward, vjp=(None,) * display.get("arity", 1), vjp_all=vjp_all,
              saved={}, **display)


HEAVISIDE = _underivable(
    "heaviside", lambda x, values: np.where(x == 0, values, x > 0).astype(np.result_type(x, values), copy=False),
    label="heaviside", doc="step: 0 below 0, 1 above, `values` at 0 (not differentiable)", arity=2,
    category="selection")
REMAINDER_SCALAR_SELF = _underivable(
    "remainder", lambda b, *, self: _floor_mod(np.asarray(self, dtype=b.dtype), b),
    label="mod", doc="a number mod a tensor (not differentiable)", params=(Param("self", "float"),))


# --------------------------------------------------------------------------- wrappers
def _must_be_tensor(function: str, values: tuple, names=("input", "other")) -> None:
    """torch's TypeError for a number where its signature has only a Tensor."""
    for position, (name, value) in enumerate(zip(names, values), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"{function}(): argument '{name}' (position {position}) must be Tensor, "
                            f"not {type(value).__name__}")


def _invalid_combination(function: str, values: tuple, signatures: tuple) -> TypeError:
    got = ", ".join(type(v).__name__ for v in values)
    lines = "".join(f" * {s}\n" for s in signatures)
    return TypeError(f"{function}() received an invalid combination of arguments - got ({got}), "
                     f"but expected one of:\n{lines}")


_TENSOR_OR_NUMBER_OTHER = ("(Tensor input, Tensor other, *, Tensor out = None)",
                           "(Tensor input, Number other, *, Tensor out = None)")


def _in_dtype(operands, np_dtype):
    return tuple(_E._cast(o, np_dtype) if isinstance(o, Tensor) else o for o in operands)


def _refuse_integers(kernel: str, t: Tensor) -> None:
    if t._data.dtype.kind not in "fc":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_dt.scalar_type_name(t._data.dtype)}'")


def _pair(a, b, *, floating: bool = False, kernel: str = ""):
    """``a`` and ``b`` promoted as torch promotes them, broadcasting checked; with
    ``floating`` integers go to the default float dtype, with ``kernel`` they are
    refused as torch's CPU kernel refuses them."""
    a, b, dtype = _E._promote(a, b)
    _E._check_broadcast(a, b)
    if dtype.kind not in "fc":
        if kernel:
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_dt.scalar_type_name(dtype)}'")
        if floating:
            target = _dt.get_default_dtype().np
            a = _E._cast(a, target) if isinstance(a, Tensor) else float(a)
            b = _E._cast(b, target) if isinstance(b, Tensor) else float(b)
    return a, b


def lerp(input, end, weight):
    """input + weight·(end − input); ``weight`` a number or a tensor."""
    weight = _E._scalar(weight)
    if not isinstance(input, Tensor) or not isinstance(end, Tensor) or not isinstance(weight, (Tensor, int, float)):
        raise _invalid_combination("lerp", (input, end, weight), (
            "(Tensor input, Tensor end, Tensor weight, *, Tensor out = None)",
            "(Tensor input, Tensor end, Number weight, *, Tensor out = None)"))
    if end.dtype != input.dtype:
        raise RuntimeError(f"expected dtype {_dtype_word(input)} for `end` but got dtype {_dtype_word(end)}")
    if isinstance(weight, Tensor):
        if weight.dtype != input.dtype:
            if weight.dim():
                raise RuntimeError(f"expected dtype {_dtype_word(input)} for `weight` but got dtype "
                                   f"{_dtype_word(weight)}")
            # a 0-d weight joins the promotion: integer ends with a float weight give floats
            input, end, weight = _in_dtype((input, end, weight), _dt.result_type(input, end, weight).np)
        _refuse_integers("lerp_kernel_tensor", input)
        _E._check_broadcast(input, end)
        _E._check_broadcast(input, weight)
        return apply(LERP_TENSOR, (input, end, weight))
    _refuse_integers("lerp_kernel_scalar", input)
    _E._check_broadcast(input, end)
    return apply(LERP, (input, end), {"weight": _E._scalar(weight)})




def _dtype_word(t: Tensor) -> str:
    return _dt.type_meta_name(t._data.dtype)


def _three(function: str, input, tensor1, tensor2):
    """addcmul's and addcdiv's operands in their common dtype (and that dtype)."""
    _must_be_tensor(function, (input, tensor1, tensor2), ("input", "tensor1", "tensor2"))
    dtype = _dt.result_type(input, tensor1, tensor2).np
    s, t1, t2 = _in_dtype((input, tensor1, tensor2), dtype)
    for x, y in ((s, t1), (t1, t2), (s, t2)):
        _E._check_broadcast(x, y)
    return s, t1, t2, dtype


def _value_for(value, np_dtype):
    """``value`` as torch casts it to an integer tensor's dtype (truncated)."""
    value = _E._scalar(value)
    return int(value) if np_dtype.kind in "iub" else value


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value·tensor1·tensor2."""
    s, t1, t2, dtype = _three("addcmul", input, tensor1, tensor2)
    return apply(ADDCMUL, (s, t1, t2), {"value": _value_for(value, dtype)})


_INTEGER_ADDCDIV = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
    "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
    "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
    "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
    "implementation: (input + value * tensor1 / tensor2), for all dtypes.")


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value·tensor1/tensor2 (two integer tensors are refused, as torch refuses them)."""
    _must_be_tensor("addcdiv", (input, tensor1, tensor2), ("input", "tensor1", "tensor2"))
    if tensor1.dtype.np.kind in "iub" and tensor2.dtype.np.kind in "iub":
        raise RuntimeError(_INTEGER_ADDCDIV)
    s, t1, t2, dtype = _three("addcdiv", input, tensor1, tensor2)
    return apply(ADDCDIV, (s, t1, t2), {"value": _value_for(value, dtype)})


def atan2(input, other):
    """The angle of (other, input) in (−π, π]; integers in the default float dtype."""
    _must_be_tensor("atan2", (input, other))
    return apply(ATAN2, _pair(input, other, floating=True))


arctan2 = atan2


def logaddexp(input, other):
    _must_be_tensor("logaddexp", (input, other))
    return apply(LOGADDEXP, _pair(input, other, kernel="logaddexp_cpu"))


def logaddexp2(input, other):
    _must_be_tensor("logaddexp2", (input, other))
    return apply(LOGADDEXP2, _pair(input, other, kernel="logaddexp2_cpu"))


def hypot(input, other):
    _must_be_tensor("hypot", (input, other))
    return apply(HYPOT, _pair(input, other, kernel="hypot_cpu"))


def nextafter(input, other):
    _must_be_tensor("nextafter", (input, other))
    return apply(NEXTAFTER, _pair(input, other, kernel="nextafter_cpu"))


_XLOGY_SIGNATURES = ("(Tensor input, Tensor other, *, Tensor out = None)",
                     "(Number self, Tensor other, *, Tensor out = None)",
                     "(Tensor input, Number other, *, Tensor out = None)")


def xlogy(input, other):
    """input·log(other), 0 where input is 0; either side may be a number."""
    input, other = _E._scalar(input), _E._scalar(other)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise _invalid_combination("xlogy", (input, other), _XLOGY_SIGNATURES)
    a, b = _pair(input, other, floating=True)
    if not isinstance(a, Tensor):
        return apply(XLOGY_SCALAR_SELF, (b,), {"self": a})
    if not isinstance(b, Tensor):
        return apply(XLOGY_SCALAR_OTHER, (a,), {"other": b})
    return apply(XLOGY, (a, b))


def copysign(input, other):
    """|input| with the sign of other (a tensor or a number)."""
    other = _E._scalar(other)
    if not isinstance(input, Tensor) or not isinstance(other, (Tensor, int, float)):
        raise _invalid_combination("copysign", (input, other), _TENSOR_OR_NUMBER_OTHER)
    a, b = _pair(input, other, floating=True)
    if isinstance(b, Tensor):
        return apply(COPYSIGN, (a, b))
    return apply(COPYSIGN_SCALAR, (a,), {"other": b})


def _check_integer_divisor(a, b):
    if isinstance(a, Tensor) and a.dtype.np.kind in "iu":
        divisor = b._data if isinstance(b, Tensor) else b
        if np.any(np.asarray(divisor) == 0):
            raise RuntimeError("ZeroDivisionError")


def fmod(input, other):
    """The remainder of input / other with the sign of input (C's fmod)."""
    other = _E._scalar(other)
    if not isinstance(input, Tensor):
        raise _invalid_combination("fmod", (input, other), _TENSOR_OR_NUMBER_OTHER)
    a, b = _pair(input, other)
    _check_integer_divisor(a, b)
    if isinstance(b, Tensor):
        return apply(FMOD_TENSOR, (a, b))
    return apply(FMOD, (a,), {"other": b})


def remainder(input, other):
    """The remainder of input / other with the sign of other (Python's %)."""
    input, other = _E._scalar(input), _E._scalar(other)
    a, b = _pair(input, other)
    _check_integer_divisor(a, b)
    if not isinstance(a, Tensor):
        return apply(REMAINDER_SCALAR_SELF, (b,), {"self": a})
    if isinstance(b, Tensor):
        return apply(REMAINDER_TENSOR, (a, b))
    return apply(REMAINDER, (a,), {"other": b})


def float_power(input, exponent, *, out=None):
    """input ** exponent in double precision (the pow rows, on float64 operands); ``out``
    must be float64."""
    if out is not None:
        if isinstance(out, Tensor) and out.dtype is not _dt.float64:
            raise RuntimeError(f"the output given to float_power has dtype {_dt.scalar_type_name(out.dtype.np)} "
                               "but the operation's result requires dtype Double")
        from ..out_param import with_out
        return with_out(float_power)(input, exponent, out=out)

    def double(x):
        x = _E._scalar(x)
        return x.to(_dt.float64) if isinstance(x, Tensor) else float(x)
    return _E.pow(double(input), double(exponent))


def ldexp(input, other):
    """input·2^other; integers in the default float dtype."""
    _must_be_tensor("ldexp", (input, other))
    target = _E._promote(input, other if other.dtype.np.kind == "f" else other.to(_dt.get_default_dtype()))[2]
    if target.kind != "f":
        target = _dt.get_default_dtype().np
    _E._check_broadcast(input, other)
    return apply(LDEXP, (_E._cast(input, target), other))


def heaviside(input, values):
    """0 where input < 0, 1 where input > 0, ``values`` where it is 0; no derivative."""
    _must_be_tensor("heaviside", (input, values), ("input", "values"))
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    _E._check_broadcast(input, values)
    return apply(HEAVISIDE, (input, values))


def float_power_(self, exponent):
    """In place: only a float64 tensor can hold float_power's result."""
    if self.dtype is not _dt.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_dt.scalar_type_name(self.dtype.np)} but "
                           "the operation's result requires dtype Double")
    from .inplace import inplace
    return inplace(float_power)(self, exponent)
