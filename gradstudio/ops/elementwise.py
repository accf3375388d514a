"""Elementwise ops: arithmetic, powers, unary math, activations, comparisons.

Each row is one torch overload (``PowBackward0`` is ``tensor ** scalar``,
``PowBackward1`` ``tensor ** tensor``, ``PowBackward2`` ``scalar ** tensor``).
The wrappers below the rows do torch's type promotion and accept Python
scalars on either side; broadcasting itself is numpy's.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Const, Input, Result
from .. import dtypes as _dt
from ..autograd.engine import edge_rules, fit_array
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor, make
from . import _sympy as sf
from . import _matrix
from ._sympy import sp
from . import kinks, samples
from .table import (Op, Param, SAVES_INPUTS, SAVES_RESULT, apply, array_rules, function_for, node_rule, record,
                    torch_function)


def _c_contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` in C order (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return a if a.flags.c_contiguous else a.copy()


# --------------------------------------------------------------------------- binary rows
ADD = Op(
    id="elementwise.ADD",
    saved={"alpha": Const(1)},
    name="AddBackward0",
    forward=np.add,
    vjp=(lambda g, r, a, b: g, lambda g, r, a, b: g),
    sympy=lambda a, b: a + b,
    matrix=lambda M, a, b: a + b,
    label="+",
    doc="sum a + b",
    arity=2,
    sample=samples.binary(),
    torch=lambda torch, a, b: a + b,
    overload="add.Tensor(Tensor self, Tensor|Scalar other)",
)
ADD_ALPHA = Op(
    id="elementwise.ADD_ALPHA",
    name="AddBackward0",
    forward=lambda a, b, *, alpha: a + alpha * b,
    vjp=(lambda g, r, a, b, *, alpha: g, lambda g, r, a, b, *, alpha: g * alpha),
    sympy=lambda a, b, *, alpha: a + alpha * b,
    matrix=lambda M, a, b, *, alpha: a + M.scale(alpha, b),
    label="+",
    doc="a + alpha·b",
    arity=2,
    params=(Param("alpha", "float", 1),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (3, 1))], {"alpha": 2.5}),
    torch=lambda torch, a, b, alpha: torch.add(a, b, alpha=alpha),
    overload="add.Tensor(Tensor self, Tensor|Scalar other, *, Scalar alpha) with alpha != 1",
)
SUB = Op(
    id="elementwise.SUB",
    saved={"alpha": Const(1)},
    name="SubBackward0",
    forward=np.subtract,
    vjp=(lambda g, r, a, b: g, lambda g, r, a, b: -g),
    sympy=lambda a, b: a - b,
    matrix=lambda M, a, b: a - b,
    label="−",
    doc="difference a − b",
    arity=2,
    sample=samples.binary((3, 1)),
    torch=lambda torch, a, b: a - b,
    overload="sub.Tensor(Tensor self, Tensor|Scalar other)",
)
RSUB = Op(
    id="elementwise.RSUB",
    saved={"alpha": Const(1)},
    name="RsubBackward1",
    forward=lambda a, b: b - a,
    vjp=(lambda g, r, a, b: -g, lambda g, r, a, b: g),
    sympy=lambda a, b: b - a,
    matrix=lambda M, a, b: b - a,
    label="−",
    doc="scalar minus tensor",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), 1.5], {}),
    torch=lambda torch, a, b: b - a,
    overload="rsub.Scalar(Tensor self, Scalar other): other - self, what 2 - x calls",
)
MUL = Op(
    id="elementwise.MUL",
    name="MulBackward0",
    forward=np.multiply,
    vjp=(lambda g, r, a, b: g * b, lambda g, r, a, b: g * a),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: a * b,
    matrix=lambda M, a, b: M.mul(a, b),
    label="×",
    doc="product a · b",
    arity=2,
    sample=samples.binary(),
    torch=lambda torch, a, b: a * b,
)
DIV = Op(
    id="elementwise.DIV",
    name="DivBackward0",
    forward=np.true_divide,
    vjp=(lambda g, r, a, b: g / b, lambda g, r, a, b: -g * a / (b * b)),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: a / b,
    matrix=lambda M, a, b: M.div(a, b),
    label="÷",
    doc="quotient a / b",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.away_from_zero(rng, (4,), 0.5, 2.0)], {}),
    torch=lambda torch, a, b: a / b,
)


def _pow_scalar_vjp(g, r, x, *, exponent):
    if exponent == 0:
        return g * 0
    return g * (exponent * x.pow(exponent - 1))


def _pow_tensor_base_vjp(g, r, x, e):
    return where(e == 0, 0.0, g * e * x.pow(e - 1))


def _pow_tensor_exponent_vjp(g, r, x, e):
    # torch: zero where the base is 0 and the exponent non-negative (avoids 0 * -inf)
    return where((x == 0) & (e >= 0), 0.0, g * r * x.log())


POW = Op(
    id="elementwise.POW",
    name="PowBackward0",
    forward=lambda x, *, exponent: np.power(x, exponent),
    vjp=(_pow_scalar_vjp,),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, exponent: sf.power(x, exponent),
    matrix=lambda M, a, *, exponent: M.power(a, exponent),
    label="xⁿ",
    doc="power with a scalar exponent",
    params=(Param("exponent", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.3, 2.0)], {"exponent": 2.5}),
    torch=lambda torch, x, exponent: x ** exponent,
    overload="pow.Tensor_Scalar(Tensor self, Scalar exponent)",
)
POW_TENSOR = Op(
    id="elementwise.POW_TENSOR",
    saved={"self": Input(0), "exponent": Input(1), "result": Result()},
    name="PowBackward1",
    forward=np.power,
    vjp=(_pow_tensor_base_vjp, _pow_tensor_exponent_vjp),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.power,
    label="xʸ",
    doc="power with a tensor exponent",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.3, 2.0), samples.uniform(rng, samples.S, -1.5, 1.5)], {}),
    torch=lambda torch, x, e: x ** e,
    overload="pow.Tensor_Tensor(Tensor self, Tensor exponent)",
)
POW_SCALAR_BASE = Op(
    id="elementwise.POW_SCALAR_BASE",
    saved={"self": Arg("base"), "exponent": Input(0), "result": Result()},
    name="PowBackward2",
    forward=lambda e, *, base: _c_contiguous(np.power(base, e)),
    vjp=(lambda g, r, e, *, base: (g * r * math.log(base)) if base != 0
         else where(e >= 0, 0.0, g * r * -math.inf),),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=lambda e, *, base: sf.power(base, e),
    label="aˣ",
    doc="scalar raised to a tensor",
    params=(Param("base", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"base": 1.7}),
    torch=lambda torch, e, base: base ** e,
    overload="pow.Scalar(Scalar self, Tensor exponent)",
)


def _maximum_vjp(g, r, a, b):
    return g * where(a == b, 0.5, (a > b).to(g.dtype))


def _minimum_vjp(g, r, a, b):
    return g * where(a == b, 0.5, (a < b).to(g.dtype))


MAXIMUM = Op(
    id="elementwise.MAXIMUM",
    name="MaximumBackward0",
    forward=np.maximum,
    vjp=(_maximum_vjp, lambda g, r, a, b: _maximum_vjp(g, r, b, a)),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: sp().Max(a, b),
    label="max",
    doc="elementwise maximum",
    arity=2,
    kink=kinks.tie,
    sample=lambda rng: samples.untied_pair(rng),
    torch=lambda torch, a, b: torch.maximum(a, b),
)
MINIMUM = Op(
    id="elementwise.MINIMUM",
    name="MinimumBackward0",
    forward=np.minimum,
    vjp=(_minimum_vjp, lambda g, r, a, b: _minimum_vjp(g, r, b, a)),
    saves=SAVES_INPUTS,
    sympy=lambda a, b: sp().Min(a, b),
    label="min",
    doc="elementwise minimum",
    arity=2,
    kink=kinks.tie,
    sample=lambda rng: samples.untied_pair(rng),
    torch=lambda torch, a, b: torch.minimum(a, b),
)
WHERE = Op(
    id="elementwise.WHERE",
    saved={"condition": Input(0)},
    name="WhereBackward0",
    forward=np.where,
    vjp=(lambda g, r, c, a, b: None,
         lambda g, r, c, a, b: where(c, g, 0.0),
         lambda g, r, c, a, b: where(c, 0.0, g)),
    saves=SAVES_INPUTS,
    sympy=sf.where,
    label="where",
    doc="select a where the condition holds, else b",
    arity=3,
    category="selection",
    sample=lambda rng: ([rng.random(samples.S) > 0.5, samples.uniform(rng, samples.S), samples.uniform(rng, (4,))], {}),
    torch=lambda torch, c, a, b: torch.where(c, a, b),
)

# --------------------------------------------------------------------------- unary rows
NEG = Op(
    id="elementwise.NEG",
    name="NegBackward0",
    forward=np.negative,
    vjp=(lambda g, r, x: -g,),
    sympy=lambda x: -x,
    matrix=lambda M, a: -a,
    label="−x",
    doc="negation",
    category="elementwise",
    sample=samples.unary(),
    torch=torch_function("neg"),
    api=("neg", "negative"),
)
ABS = Op(
    id="elementwise.ABS",
    name="AbsBackward0",
    forward=np.abs,
    vjp=(lambda g, r, x: g * x.sign(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().Abs(x),
    matrix=_matrix.fn("abs"),
    label="|x|",
    doc="absolute value (gradient 0 at 0, like torch)",
    category="elementwise",
    kink=kinks.at_zero,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {}),
    torch=torch_function("abs"),
    api=("abs", "absolute"),
)
EXP = Op(
    id="elementwise.EXP",
    name="ExpBackward0",
    forward=np.exp,
    vjp=(lambda g, r, x: g * r,),
    saves=SAVES_RESULT,
    sympy=lambda x: sp().exp(x),
    matrix=_matrix.fn("exp"),
    label="exp",
    doc="exponential",
    category="elementwise",
    domain=samples.Domain(-8.0, 8.0),
    torch=torch_function("exp"),
    api=("exp",),
    floating=True,
)
LOG = Op(
    id="elementwise.LOG",
    name="LogBackward0",
    forward=np.log,
    vjp=(lambda g, r, x: g / x,),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().log(x),
    matrix=_matrix.fn("log"),
    label="log",
    doc="natural logarithm",
    category="elementwise",
    domain=samples.POSITIVE,
    torch=torch_function("log"),
    api=("log",),
    floating=True,
)
SQRT = Op(
    id="elementwise.SQRT",
    name="SqrtBackward0",
    forward=np.sqrt,
    vjp=(lambda g, r, x: g / (2 * r),),
    saves=SAVES_RESULT,
    sympy=lambda x: sp().sqrt(x),
    matrix=_matrix.fn("sqrt"),
    label="√",
    doc="square root",
    category="elementwise",
    domain=samples.POSITIVE,
    torch=torch_function("sqrt"),
    api=("sqrt",),
    floating=True,
)
SIN = Op(
    id="elementwise.SIN",
    name="SinBackward0",
    forward=np.sin,
    vjp=(lambda g, r, x: g * x.cos(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().sin(x),
    matrix=_matrix.fn("sin"),
    label="sin",
    doc="sine",
    category="elementwise",
    sample=samples.unary(),
    torch=torch_function("sin"),
    api=("sin",),
    floating=True,
)
COS = Op(
    id="elementwise.COS",
    name="CosBackward0",
    forward=np.cos,
    vjp=(lambda g, r, x: g * -x.sin(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().cos(x),
    matrix=_matrix.fn("cos"),
    label="cos",
    doc="cosine",
    category="elementwise",
    sample=samples.unary(),
    torch=torch_function("cos"),
    api=("cos",),
    floating=True,
)
TAN = Op(
    id="elementwise.TAN",
    name="TanBackward0",
    forward=np.tan,
    vjp=(lambda g, r, x: g * (1 + r * r),),
    saves=SAVES_RESULT,
    sympy=lambda x: sp().tan(x),
    label="tan",
    doc="tangent",
    category="elementwise",
    domain=samples.Domain(-1.2, 1.2),
    torch=torch_function("tan"),
    api=("tan",),
    floating=True,
)
TANH = Op(
    id="elementwise.TANH",
    name="TanhBackward0",
    forward=np.tanh,
    vjp=(lambda g, r, x: apply(TANH_BACKWARD, (g, r)),),
    saves=SAVES_RESULT,
    sympy=lambda x: sp().tanh(x),
    matrix=_matrix.fn("tanh"),
    label="tanh",
    doc="hyperbolic tangent",
    category="activation",
    sample=samples.unary(),
    torch=torch_function("tanh"),
    api=("tanh",),
    floating=True,
)
SIGMOID = Op(
    id="elementwise.SIGMOID",
    name="SigmoidBackward0",
    forward=lambda x: _sigmoid(x),
    vjp=(lambda g, r, x: apply(SIGMOID_BACKWARD, (g, r)),),
    saves=SAVES_RESULT,
    sympy=sf.sigmoid,
    matrix=_matrix.fn("sigmoid"),
    label="σ",
    doc="logistic sigmoid",
    category="activation",
    sample=samples.unary(),
    torch=torch_function("sigmoid"),
    api=("sigmoid",),
    floating=True,
)
RELU = Op(
    id="elementwise.RELU",
    name="ReluBackward0",
    forward=lambda x: np.maximum(x, 0).astype(x.dtype, copy=False),
    vjp=(lambda g, r, x: apply(RELU_BACKWARD, (g, r)),),
    saves=SAVES_RESULT,
    sympy=sf.relu,
    matrix=_matrix.fn("relu"),
    label="relu",
    doc="rectified linear unit (gradient 0 at 0)",
    category="activation",
    kink=kinks.at_zero,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {}),
    torch=torch_function("relu"),
    api=("relu",),
)
RECIPROCAL = Op(
    id="elementwise.RECIPROCAL",
    name="ReciprocalBackward0",
    forward=np.reciprocal,
    vjp=(lambda g, r, x: -g * r * r,),
    saves=SAVES_RESULT,
    sympy=lambda x: 1 / x,
    matrix=lambda M, a: M.power(a, -1.0),
    label="1/x",
    doc="reciprocal",
    category="elementwise",
    domain=samples.NONZERO,
    torch=torch_function("reciprocal"),
    api=("reciprocal",),
    floating=True,
)
RSQRT = Op(
    id="elementwise.RSQRT",
    name="RsqrtBackward0",
    forward=lambda x: 1 / np.sqrt(x),
    vjp=(lambda g, r, x: -0.5 * g * r * r * r,),
    saves=SAVES_RESULT,
    sympy=lambda x: 1 / sp().sqrt(x),
    matrix=lambda M, a: M.power(a, -0.5),
    label="1/√",
    doc="reciprocal square root",
    category="elementwise",
    domain=samples.POSITIVE,
    torch=torch_function("rsqrt"),
    api=("rsqrt",),
    floating=True,
)
LOG1P = Op(
    id="elementwise.LOG1P",
    name="Log1PBackward0",
    forward=np.log1p,
    vjp=(lambda g, r, x: g / (x + 1),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().log(1 + x),
    matrix=lambda M, a: M.fn("log", M.num(1.0) + a),
    label="log1p",
    doc="log(1 + x)",
    category="elementwise",
    domain=samples.Domain(low=-0.95),
    torch=torch_function("log1p"),
    api=("log1p",),
    floating=True,
)
EXPM1 = Op(
    id="elementwise.EXPM1",
    name="Expm1Backward0",
    forward=np.expm1,
    vjp=(lambda g, r, x: g * (r + 1),),
    saves=SAVES_RESULT,
    sympy=lambda x: sp().exp(x) - 1,
    matrix=lambda M, a: M.fn("exp", a) - M.num(1.0),
    label="expm1",
    doc="exp(x) − 1",
    category="elementwise",
    domain=samples.Domain(-8.0, 8.0),
    torch=torch_function("expm1"),
    api=("expm1",),
    floating=True,
)
LOG2 = Op(
    id="elementwise.LOG2",
    name="Log2Backward0",
    forward=np.log2,
    vjp=(lambda g, r, x: g / (x * math.log(2)),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().log(x, 2),
    label="log₂",
    doc="base-2 logarithm",
    category="elementwise",
    domain=samples.POSITIVE,
    torch=torch_function("log2"),
    api=("log2",),
    floating=True,
)
LOG10 = Op(
    id="elementwise.LOG10",
    name="Log10Backward0",
    forward=np.log10,
    vjp=(lambda g, r, x: g / (x * math.log(10)),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().log(x, 10),
    label="log₁₀",
    doc="base-10 logarithm",
    category="elementwise",
    domain=samples.POSITIVE,
    torch=torch_function("log10"),
    api=("log10",),
    floating=True,
)
SINH = Op(
    id="elementwise.SINH",
    name="SinhBackward0",
    forward=np.sinh,
    vjp=(lambda g, r, x: g * x.cosh(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().sinh(x),
    label="sinh",
    doc="hyperbolic sine",
    category="elementwise",
    domain=samples.Domain(-5.0, 5.0),
    torch=torch_function("sinh"),
    api=("sinh",),
    floating=True,
)
COSH = Op(
    id="elementwise.COSH",
    name="CoshBackward0",
    forward=np.cosh,
    vjp=(lambda g, r, x: g * x.sinh(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().cosh(x),
    label="cosh",
    doc="hyperbolic cosine",
    category="elementwise",
    domain=samples.Domain(-5.0, 5.0),
    torch=torch_function("cosh"),
    api=("cosh",),
    floating=True,
)
ASIN = Op(
    id="elementwise.ASIN",
    name="AsinBackward0",
    forward=np.arcsin,
    vjp=(lambda g, r, x: g * (1 - x * x).rsqrt(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().asin(x),
    label="asin",
    doc="inverse sine",
    category="elementwise",
    domain=samples.Domain(-0.95, 0.95),
    torch=torch_function("asin"),
    api=("asin", "arcsin"),
    floating=True,
)
ACOS = Op(
    id="elementwise.ACOS",
    name="AcosBackward0",
    forward=np.arccos,
    vjp=(lambda g, r, x: -g * (1 - x * x).rsqrt(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().acos(x),
    label="acos",
    doc="inverse cosine",
    category="elementwise",
    domain=samples.Domain(-0.95, 0.95),
    torch=torch_function("acos"),
    api=("acos", "arccos"),
    floating=True,
)
ATAN = Op(
    id="elementwise.ATAN",
    name="AtanBackward0",
    forward=np.arctan,
    vjp=(lambda g, r, x: g / (1 + x * x),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().atan(x),
    label="atan",
    doc="inverse tangent",
    category="elementwise",
    sample=samples.unary(),
    torch=torch_function("atan"),
    api=("atan", "arctan"),
    floating=True,
)
SIGN = Op(
    id="elementwise.SIGN",
    name="SignBackward0",
    forward=np.sign,
    vjp=(lambda g, r, x: _zeros_like(g),),
    sympy=lambda x: sp().sign(x),
    matrix=_matrix.fn("sign"),
    label="sign",
    doc="sign (gradient 0)",
    category="elementwise",
    kink=kinks.at_zero,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {}),
    torch=torch_function("sign"),
    api=("sign",),
)
FLOOR = Op(
    id="elementwise.FLOOR",
    name="FloorBackward0",
    forward=np.floor,
    vjp=(lambda g, r, x: _zeros_like(g),),
    sympy=lambda x: sp().floor(x),
    label="⌊x⌋",
    doc="floor (gradient 0)",
    category="elementwise",
    sample=lambda rng: ([samples.off_integers(rng, samples.S)], {}),
    torch=torch_function("floor"),
    api=("floor",),
)
CEIL = Op(
    id="elementwise.CEIL",
    name="CeilBackward0",
    forward=np.ceil,
    vjp=(lambda g, r, x: _zeros_like(g),),
    sympy=lambda x: sp().ceiling(x),
    label="⌈x⌉",
    doc="ceiling (gradient 0)",
    category="elementwise",
    sample=lambda rng: ([samples.off_integers(rng, samples.S)], {}),
    torch=torch_function("ceil"),
    api=("ceil",),
)
ROUND = Op(
    id="elementwise.ROUND",
    name="RoundBackward0",
    forward=np.round,
    vjp=(lambda g, r, x: _zeros_like(g),),
    sympy=sf.round_half_even,
    label="round",
    doc="round half to even (gradient 0)",
    category="elementwise",
    sample=lambda rng: ([samples.off_integers(rng, samples.S)], {}),
    torch=torch_function("round"),
    api=("round",),
)
SILU = Op(
    id="elementwise.SILU",
    name="SiluBackward0",
    forward=lambda x: x * _sigmoid(x),
    vjp=(lambda g, r, x: g * (x.sigmoid() * (1 + x * (1 - x.sigmoid()))),),
    saves=SAVES_INPUTS,
    sympy=lambda x: x / (1 + sp().exp(-x)),
    label="silu",
    doc="x·σ(x)",
    category="activation",
    domain=samples.Domain(-15.0, 15.0),
    torch=lambda torch, x: torch.nn.functional.silu(x),
    floating=True,
)
SOFTPLUS = Op(
    id="elementwise.SOFTPLUS",
    saved={"self": Input(0), "beta": Const(1), "threshold": Const(20)},
    name="SoftplusBackward0",
    forward=lambda x: np.logaddexp(0, x).astype(x.dtype, copy=False),
    vjp=(lambda g, r, x: g * x.sigmoid(),),
    saves=SAVES_INPUTS,
    sympy=lambda x: sp().log(1 + sp().exp(x)),
    matrix=_matrix.softplus,
    label="softplus",
    doc="log(1 + eˣ)",
    category="activation",
    domain=samples.Domain(-15.0, 15.0),
    torch=lambda torch, x: torch.nn.functional.softplus(x),
    floating=True,
)


def _leaky_forward(x, *, negative_slope):
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


LEAKY_RELU = Op(
    id="elementwise.LEAKY_RELU",
    name="LeakyReluBackward0",
    forward=_leaky_forward,
    vjp=(lambda g, r, x, *, negative_slope:
         apply(LEAKY_RELU_BACKWARD, (g, x), {"negative_slope": negative_slope}),),
    saves=SAVES_INPUTS,
    sympy=sf.leaky_relu,
    label="leaky",
    doc="leaky ReLU",
    category="activation",
    params=(Param("negative_slope", "float", 0.01),),
    kink=kinks.at_zero,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {"negative_slope": 0.1}),
    torch=lambda torch, x, negative_slope: torch.nn.functional.leaky_relu(x, negative_slope),
)


# The gradients of relu and leaky relu as ops of their own (torch's threshold_backward and
# leaky_relu_backward): with create_graph they stay connected to the saved result / input,
# so x.grad requires grad (and its derivative is 0) as in torch.
def _zeros_like(t):
    return make(np.zeros(t._data.shape, dtype=t._data.dtype))


# torch's threshold_backward(g, x, threshold): relu's gradient (threshold 0, from the result)
# and F.threshold's (from the input)
RELU_BACKWARD = Op(
    id="elementwise.RELU_BACKWARD",
    name="ThresholdBackwardBackward0",
    forward=lambda g, r, *, threshold=0: np.where(r <= threshold, 0, g).astype(g.dtype, copy=False),
    vjp=(lambda gg, _, g, r, **threshold: apply(RELU_BACKWARD, (gg, r), threshold),
         lambda gg, _, g, r, **threshold: _zeros_like(gg)),
    saves=SAVES_INPUTS,
    label="relu′",
    doc="gradient of relu and threshold: g where the input (relu: the result) is > threshold",
    category="activation",
    arity=2,
    params=(Param("threshold", "float", 0),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.away_from_zero(rng, samples.S)], {}),
    internal=True,
)


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    # np.broadcast_shapes builds arrays to find out: several µs for the equal shapes of
    # nearly every call
    return a if a == b else np.broadcast_shapes(a, b)


def _tanh_backward(g, r):
    """g·(1 − r²) in one temporary (torch's fused tanh_backward); a 512×512 backward
    allocates one array here instead of three."""
    out = np.multiply(r, r, out=np.empty(_broadcast_shape(r.shape, g.shape), dtype=r.dtype))
    np.subtract(1, out, out=out)
    np.multiply(out, g, out=out)
    return out


def _sigmoid_backward(g, r):
    """g·r·(1 − r) in one temporary (torch's sigmoid_backward)."""
    out = np.subtract(1, r, out=np.empty(_broadcast_shape(r.shape, g.shape), dtype=r.dtype))
    np.multiply(out, r, out=out)
    np.multiply(out, g, out=out)
    return out


# The gradients of tanh and sigmoid from their result, as ops (torch's tanh_backward,
# sigmoid_backward): one fused numpy pass, and differentiable again with create_graph.
TANH_BACKWARD = Op(
    id="elementwise.TANH_BACKWARD",
    name="TanhBackwardBackward0",
    forward=_tanh_backward,
    vjp=(lambda gg, _, g, r: apply(TANH_BACKWARD, (gg, r)),
         lambda gg, _, g, r: gg * g * r * -2),
    saves=SAVES_INPUTS,
    sympy=lambda g, r: g * (1 - r * r),
    label="tanh′",
    doc="gradient of tanh: g·(1 − r²)",
    category="activation",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S, -0.9, 0.9)], {}),
    internal=True,
)
SIGMOID_BACKWARD = Op(
    id="elementwise.SIGMOID_BACKWARD",
    name="SigmoidBackwardBackward0",
    forward=_sigmoid_backward,
    vjp=(lambda gg, _, g, r: apply(SIGMOID_BACKWARD, (gg, r)),
         lambda gg, _, g, r: gg * g * (1 - 2 * r)),
    saves=SAVES_INPUTS,
    sympy=lambda g, r: g * r * (1 - r),
    label="σ′",
    doc="gradient of sigmoid: g·r·(1 − r)",
    category="activation",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S, 0.1, 0.9)], {}),
    internal=True,
)
LEAKY_RELU_BACKWARD = Op(
    id="elementwise.LEAKY_RELU_BACKWARD",
    name="LeakyReluBackwardBackward0",
    forward=lambda g, x, *, negative_slope: np.where(x > 0, g, g * negative_slope).astype(g.dtype, copy=False),
    vjp=(lambda gg, _, g, x, *, negative_slope:
         apply(LEAKY_RELU_BACKWARD, (gg, x), {"negative_slope": negative_slope}),
         lambda gg, _, g, x, *, negative_slope: _zeros_like(gg)),
    saves=SAVES_INPUTS,
    label="leaky′",
    doc="gradient of leaky relu",
    category="activation",
    arity=2,
    params=(Param("negative_slope", "float", 0.01),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.away_from_zero(rng, samples.S)],
                        {"negative_slope": 0.1}),
    internal=True,
)


def _clamp_forward(x, *, min, max):
    out = x
    if min is not None:
        out = np.maximum(out, min)
    if max is not None:
        out = np.minimum(out, max)
    return out.astype(x.dtype, copy=False)


def _clamp_vjp(g, r, x, *, min, max):
    mask = None
    if min is not None:
        mask = x >= min
    if max is not None:
        upper = x <= max
        mask = upper if mask is None else mask & upper
    return where(mask, g, 0.0)


CLAMP = Op(
    id="elementwise.CLAMP",
    name="ClampBackward1",
    forward=_clamp_forward,
    vjp=(_clamp_vjp,),
    saves=SAVES_INPUTS,
    sympy=sf.clamp,
    label="clamp",
    doc="clamp to [min, max] (gradient 1 at the bounds, like torch)",
    category="activation",
    params=(Param("min", "float?", None), Param("max", "float?", None)),
    kink=kinks.at_bounds,
    sample=lambda rng: ([samples.away_from(rng, samples.S, (-0.5, 0.8))], {"min": -0.5, "max": 0.8}),
    torch=lambda torch, x, min, max: torch.clamp(x, min, max),
    overload="clamp(Tensor self, Scalar? min, Scalar? max)",
)
# x.clamp_min(a) and x.clamp_max(b) are torch overloads of their own, with their own names.
CLAMP_MIN = Op(
    id="elementwise.CLAMP_MIN",
    saved={"self": Input(0), "min": Arg("min")},
    name="ClampMinBackward0",
    forward=_clamp_forward,
    vjp=(_clamp_vjp,),
    saves=SAVES_INPUTS,
    sympy=sf.clamp,
    label="clamp_min",
    doc="clamp from below (gradient 1 at the bound, like torch)",
    category="activation",
    params=(Param("min", "float"), Param("max", "float?", None)),
    kink=kinks.at_bounds,
    sample=lambda rng: ([samples.away_from(rng, samples.S, (-0.5,))], {"min": -0.5, "max": None}),
    torch=lambda torch, x, min, max: torch.clamp_min(x, min),
    overload="clamp_min(Tensor self, Scalar min)",
)
CLAMP_MAX = Op(
    id="elementwise.CLAMP_MAX",
    saved={"self": Input(0), "max": Arg("max")},
    name="ClampMaxBackward0",
    forward=_clamp_forward,
    vjp=(_clamp_vjp,),
    saves=SAVES_INPUTS,
    sympy=sf.clamp,
    label="clamp_max",
    doc="clamp from above (gradient 1 at the bound, like torch)",
    category="activation",
    params=(Param("min", "float?", None), Param("max", "float")),
    kink=kinks.at_bounds,
    sample=lambda rng: ([samples.away_from(rng, samples.S, (0.8,))], {"min": None, "max": 0.8}),
    torch=lambda torch, x, min, max: torch.clamp_max(x, max),
    overload="clamp_max(Tensor self, Scalar max)",
)

# Comparisons: no gradient; the rows exist so the graph can show them.
_COMPARISONS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                "gt": np.greater, "ge": np.greater_equal}


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- wrappers
def _is_scalar(x) -> bool:
    return isinstance(x, (int, float, bool))


def _scalar(x):
    """numpy scalars as Python numbers (torch treats both as scalars)."""
    return x.item() if isinstance(x, np.generic) else x


def _operand(x):
    """A Tensor or a Python number; numpy scalars become numbers, other data a tensor."""
    if isinstance(x, (Tensor, int, float, bool)):
        return x
    if isinstance(x, np.generic):
        return x.item()
    from .creation import tensor as _tensor
    return _tensor(x)


def _promote(a, b):
    """Operands converted to torch's result dtype; returns (a, b, numpy dtype)."""
    a, b = _operand(a), _operand(b)
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da == db:
                return a, b, da
            target = _dt.result_type(a, b).np
            return _cast(a, target), _cast(b, target), target
        da = a._data.dtype
        if da.kind == "f" or (da.kind in "iu" and type(b) is int) or (da.kind == "b" and type(b) is bool):
            return a, b, da
        target = _dt.result_type(a, b).np
        return _cast(a, target), b, target
    if not isinstance(b, Tensor):  # two Python numbers, e.g. where(c, 1.0, 0.1)
        return a, b, _dt.result_type(a, b).np
    b, a, dtype = _promote(b, a)
    return a, b, dtype


def _cast(t: Tensor, np_dtype) -> Tensor:
    if t._data.dtype == np_dtype:
        return t
    return t.to(_dt.from_numpy_dtype(np_dtype))


def _check_broadcast(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        sa, sb = a._data.shape, b._data.shape
        if sa != sb:
            for i, (x, y) in enumerate(zip(reversed(sa), reversed(sb))):
                if x != y and x != 1 and y != 1:
                    dim = max(len(sa), len(sb)) - 1 - i
                    raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                                       f"({y}) at non-singleton dimension {dim}")


_constants: dict = {}


def _constant(value, dtype):
    """A Python number as a 0-d array of ``dtype``: numpy multiplies an array by
    that about twice as fast as by the Python number (the values are identical:
    torch, like NEP 50 numpy, computes in the tensor's dtype)."""
    key = (value, dtype)
    array = _constants.get(key)
    if array is None:
        array = np.asarray(value, dtype=dtype)
        if value and value == value:  # never cache ±0.0 (equal keys) or NaN (never found)
            if len(_constants) > 4096:
                _constants.clear()
            _constants[key] = array
    return array


def _arith(op, a, b):
    """A binary op in general: torch's type promotion, its broadcasting error, then
    the op. (The ``* + - /`` operators first try the fast paths of :func:`_fast_binary`.)"""
    a, b, _ = _promote(a, b)
    _check_broadcast(a, b)
    return apply(op, (a, b))


def _fast_binary(op, general, integers: bool = True):
    """``general`` with the two hot cases inlined (tensor ∘ tensor of one dtype — a
    floating one unless ``integers``: integer division gives the default float dtype —,
    floating tensor ∘ Python number); these back the ``* + - /`` operators,
    where Python-call overhead dominates for the small tensors people explore."""
    forward = op.forward
    ndarray, asarray, state, constants = np.ndarray, np.asarray, _grad_state, _constants

    def operator(a, b):
        if type(a) is Tensor:
            ad = a._data
            tb = type(b)
            if tb is Tensor:
                bd = b._data
                if ad.dtype == bd.dtype and (integers or ad.dtype.kind == "f"):
                    try:
                        out = forward(ad, bd)
                    except (ValueError, TypeError):  # torch's broadcasting error, numpy's bool
                        return general(a, b)         # subtraction: the general path raises torch's
                    if type(out) is not ndarray:
                        out = asarray(out)
                    if state.enabled and (a._requires_grad or b._requires_grad):
                        return record(op, (a, b), None, out)
                    return make(out)
            elif (tb is float or tb is int) and ad.dtype.kind == "f":
                c = constants.get((b, ad.dtype))
                out = forward(ad, c if c is not None else _constant(b, ad.dtype))
                if type(out) is not ndarray:
                    out = asarray(out)
                if state.enabled and a._requires_grad:
                    return record(op, (a, b), None, out)
                return make(out)
        return general(a, b)
    operator.__name__ = general.__name__
    operator.__doc__ = general.__doc__
    return operator


def add(input, other, *, alpha=1, out=None):
    if not isinstance(input, Tensor):
        input, other = other, input
    if alpha != 1:
        input, other, _ = _promote(input, other)
        _check_broadcast(input, other)
        return apply(ADD_ALPHA, (input, other), {"alpha": alpha})
    return _arith(ADD, input, other)


_SUB_TWO_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. "
                  "Use the `^` or `logical_xor()` operator instead.")
_SUB_A_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. "
               "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def _check_no_bool_subtraction(a, b):
    """torch has no ``-`` for bool operands (a Python bool counts as one)."""
    a_bool, b_bool = (x.dtype is _dt.bool_ if isinstance(x, Tensor) else type(x) is bool for x in (a, b))
    if a_bool and b_bool:
        raise RuntimeError(_SUB_TWO_BOOLS)
    if a_bool or b_bool:
        raise RuntimeError(_SUB_A_BOOL)


def sub(input, other, *, alpha=1):
    _check_no_bool_subtraction(input, other)
    if alpha != 1:
        return add(input, -alpha * other if _is_scalar(other) else other * -alpha)
    if not isinstance(input, Tensor):
        return rsub(other, input)
    return _arith(SUB, input, other)


def rsub(input, other, *, alpha=1):
    """``other - input`` (what ``2 - x`` calls)."""
    _check_no_bool_subtraction(input, other)
    if isinstance(other, Tensor):
        return sub(other, input, alpha=alpha)
    return _arith(RSUB, input, other)


def mul(input, other):
    if not isinstance(input, Tensor):  # 2 * x is recorded as mul(x, 2), as in torch
        input, other = other, input
    return _arith(MUL, input, other)


def div(input, other, *, rounding_mode=None):
    if rounding_mode is not None:
        result = _arith(DIV, input, other)
        with _no_grad():
            values = np.floor(result._data) if rounding_mode == "floor" else np.trunc(result._data)
        a, b, dtype = _promote(input, other)
        return Tensor._make(values.astype(dtype if dtype.kind != "b" else np.int64))
    a, b, dtype = _promote(input, other)
    if dtype.kind != "f":
        target = _dt.get_default_dtype().np
        a = _cast(a, target) if isinstance(a, Tensor) else float(a)
        b = _cast(b, target) if isinstance(b, Tensor) else float(b)
    if not isinstance(a, Tensor):  # scalar / tensor: torch computes reciprocal(b) * a
        return mul(reciprocal(b), a)
    _check_broadcast(a, b)
    return apply(DIV, (a, b))


def rdiv(input, other):
    return div(other, input)


def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


def pow(input, exponent):
    if not isinstance(input, Tensor):
        base = _scalar(input)
        e = exponent
        if e._data.dtype.kind != "f" and isinstance(base, float):
            e = _cast(e, _dt.get_default_dtype().np)
        return apply(POW_SCALAR_BASE, (e,), {"base": base})
    if isinstance(exponent, Tensor):
        a, b, _ = _promote(input, exponent)
        _check_broadcast(a, b)
        return apply(POW_TENSOR, (a, b))
    exponent = _scalar(exponent)
    a, _, _ = _promote(input, exponent)
    return apply(POW, (a,), {"exponent": exponent})


def rpow(input, other):
    return pow(other, input)


def square(input):
    return pow(input, 2)


def maximum(input, other):
    return _arith(MAXIMUM, input, other)


def minimum(input, other):
    return _arith(MINIMUM, input, other)


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        from .creation import tensor as _tensor
        condition = _tensor(condition)
    if condition._data.dtype != np.bool_:
        condition = condition.to(_dt.bool_)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        from .creation import tensor as _tensor
        input = _tensor(input)  # torch: where(cond, scalar, scalar) takes the default dtype
    a, b, dtype = _promote(input, other)
    return apply(WHERE, (condition, a, b), out_dtype=dtype)


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return apply(CLAMP, (_float_if_int(input) if isinstance(min, float) or isinstance(max, float)
                         else input,), {"min": _scalar(min), "max": _scalar(max)})


def clamp_min(input, min):
    if isinstance(min, Tensor):
        return clamp(input, min=min)
    return apply(CLAMP_MIN, (_float_if_int(input) if isinstance(min, float) else input,),
                 {"min": _scalar(min), "max": None})


def clamp_max(input, max):
    if isinstance(max, Tensor):
        return clamp(input, max=max)
    return apply(CLAMP_MAX, (_float_if_int(input) if isinstance(max, float) else input,),
                 {"min": None, "max": _scalar(max)})


def _float_if_int(x: Tensor) -> Tensor:
    if x._data.dtype.kind != "f":
        return x.to(_dt.get_default_dtype())
    return x


# One-input rows: their public functions come from the rows (see table.function_for);
# torch.exp, Tensor.exp and these module names are the same objects.
neg = function_for(NEG)
abs = function_for(ABS)
exp = function_for(EXP)
log = function_for(LOG)
sqrt = function_for(SQRT)
sin = function_for(SIN)
cos = function_for(COS)
tan = function_for(TAN)
tanh = function_for(TANH)
sigmoid = function_for(SIGMOID)
relu = function_for(RELU)
reciprocal = function_for(RECIPROCAL)
rsqrt = function_for(RSQRT)
log1p = function_for(LOG1P)
expm1 = function_for(EXPM1)
log2 = function_for(LOG2)
log10 = function_for(LOG10)
sinh = function_for(SINH)
cosh = function_for(COSH)
asin = function_for(ASIN)
acos = function_for(ACOS)
atan = function_for(ATAN)
sign = function_for(SIGN)
floor = function_for(FLOOR)
ceil = function_for(CEIL)
round = function_for(ROUND)
silu = function_for(SILU)
softplus = function_for(SOFTPLUS)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return apply(LEAKY_RELU, (input,), {"negative_slope": negative_slope})


def _make_ungraded(name, ufunc, promote: bool):
    """A binary op with no gradient (comparisons, logical and bitwise ops): a plain
    tensor of the ufunc's result; comparisons first promote like arithmetic does."""
    def function(input, other):
        if promote:
            input, other, _ = _promote(input, other)
            _check_broadcast(input, other)
        da = input._data if isinstance(input, Tensor) else input
        db = other._data if isinstance(other, Tensor) else other
        return Tensor._make(np.asarray(ufunc(da, db)))
    function.__name__ = name
    return function


eq = _make_ungraded("eq", np.equal, True)
ne = _make_ungraded("ne", np.not_equal, True)
lt = _make_ungraded("lt", np.less, True)
le = _make_ungraded("le", np.less_equal, True)
gt = _make_ungraded("gt", np.greater, True)
ge = _make_ungraded("ge", np.greater_equal, True)
logical_and = _make_ungraded("logical_and", np.logical_and, False)
logical_or = _make_ungraded("logical_or", np.logical_or, False)
logical_xor = _make_ungraded("logical_xor", np.logical_xor, False)
bitwise_and = _make_ungraded("bitwise_and", np.bitwise_and, False)
bitwise_or = _make_ungraded("bitwise_or", np.bitwise_or, False)
bitwise_xor = _make_ungraded("bitwise_xor", np.bitwise_xor, False)


def logical_not(input):
    return Tensor._make(np.logical_not(input._data))


def bitwise_not(input):
    return Tensor._make(np.invert(input._data))


def isnan(input):
    return Tensor._make(np.isnan(input._data))


def isinf(input):
    return Tensor._make(np.isinf(input._data))


def isfinite(input):
    return Tensor._make(np.isfinite(input._data))


def _no_grad():
    from ..autograd.grad_mode import no_grad
    return no_grad()


# The operators (x * y, 2 * x, x + 1, …) and the functions with no options.
mul = _fast_binary(MUL, mul)
fast_add = _fast_binary(ADD, add)
fast_sub = _fast_binary(SUB, sub)
fast_div = _fast_binary(DIV, div, integers=False)


# ----------------------------------------------------------------- array rules
# The rules above on ndarrays, for backward passes that are not recorded (see
# table.array_rules), where a tensor op costs much more than its numpy work (the
# fused activation backwards, powers); a rule that is one cheap tensor op is left
# to the tensor path, which is as fast. Same operations, so the same values.
def _pow_scalar_array_vjp(g, r, x, *, exponent):
    if exponent == 0:
        return g * 0
    return g * (exponent * (x if exponent == 2 else np.power(x, exponent - 1)))  # x¹ is x


array_rules(POW, _pow_scalar_array_vjp)
array_rules(TANH, lambda g, r, x: _tanh_backward(g, r))


def _tanh_node(g, node, inputs):
    """TANH's node rule: _tanh_backward for a gradient of the result's own shape and
    dtype (then also the input's), without the broadcast of its output shape or its
    empty array."""
    r = node._out_data
    if g.shape != r.shape or g.dtype != r.dtype or not r.ndim:  # (0-d: numpy gives scalars)
        return edge_rules(g, node, inputs)
    out = np.multiply(r, r)
    np.subtract(1, out, out=out)
    np.multiply(out, g, out=out)
    return (out,)


node_rule(TANH, _tanh_node)


def _times_rule(of_first: bool):
    """MUL's array rule for its first input (g · b) or its second (g · a): the product in
    the gradient's dtype, as torch computes it — an int64 factor (or a float64 0-d one)
    is converted to that dtype rather than promoting the product; a Python number goes
    through the constants cache, as the ``*`` operator does it."""
    def rule(g, r, a, b):
        other = b if of_first else a
        kind = type(other)
        if kind is float or kind is int or kind is bool:
            c = _constants.get((other, g.dtype))
            return np.multiply(g, c if c is not None else _constant(other, g.dtype))
        if kind is np.ndarray and other.dtype == g.dtype:
            return np.multiply(g, other)
        return np.multiply(g, other, dtype=g.dtype)
    return rule


array_rules(MUL, _times_rule(True), _times_rule(False))


def _mul_node(g, node, inputs):
    """MUL's node rule: _times_rule for each input that has an edge, in one call (a chain
    of products runs one per op)."""
    grads = []
    for (edge, _), other, target in zip(node.next_functions, (inputs[1], inputs[0]), inputs):
        if edge is None:
            grads.append(None)
            continue
        if isinstance(other, Tensor):
            other = other._data
        kind = type(other)
        if kind is float or kind is int or kind is bool:
            c = _constants.get((other, g.dtype))
            out = np.multiply(g, c if c is not None else _constant(other, g.dtype))
        elif kind is np.ndarray and other.dtype == g.dtype:
            out = np.multiply(g, other)
        else:
            out = np.multiply(g, other, dtype=g.dtype)
        target = target._data
        if not (type(out) is np.ndarray and out.shape == target.shape and out.dtype == target.dtype):
            out = fit_array(out, target)
        grads.append(out)
    return grads


node_rule(MUL, _mul_node)
array_rules(SIGMOID, lambda g, r, x: _sigmoid_backward(g, r))
array_rules(RELU, lambda g, r, x: RELU_BACKWARD.forward(g, r))
