"""Elementwise ops: arithmetic, powers, unary math, activations, comparisons.

Each row is one torch overload (``PowBackward0`` is ``tensor ** scalar``,
``PowBackward1`` ``tensor ** tensor``, ``PowBackward2`` ``scalar ** tensor``).
The wrappers below the rows do torch's type promotion and accept Python
scalars on either side; broadcasting itself is numpy's.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor, make
from . import _sympy as sf
from ._sympy import sp
from .table import Op, apply, array_rules, record


def _c_contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` in C order (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return a if a.flags.c_contiguous else a.copy()


def _unary(name, forward, vjp, saves, sympy, label, doc, latex, category="elementwise"):
    return Op(name=name, forward=forward, vjp=(vjp,), saves=saves, sympy=sympy, label=label,
              doc=doc, latex=latex, category=category, arity=1)


# --------------------------------------------------------------------------- binary rows
ADD = Op("AddBackward0", np.add,
         (lambda g, r, a, b: g, lambda g, r, a, b: g),
         sympy=lambda a, b: a + b, label="+", doc="sum a + b", latex="{0} + {1}", arity=2)
ADD_ALPHA = Op("AddBackward0", lambda a, b, *, alpha: a + alpha * b,
               (lambda g, r, a, b, *, alpha: g, lambda g, r, a, b, *, alpha: g * alpha),
               sympy=lambda a, b, *, alpha: a + alpha * b, label="+", doc="a + alpha·b",
               latex="{0} + \\alpha {1}", arity=2)
SUB = Op("SubBackward0", np.subtract,
         (lambda g, r, a, b: g, lambda g, r, a, b: -g),
         sympy=lambda a, b: a - b, label="−", doc="difference a − b", latex="{0} - {1}", arity=2)
RSUB = Op("RsubBackward1", lambda a, b: b - a,
          (lambda g, r, a, b: -g, lambda g, r, a, b: g),
          sympy=lambda a, b: b - a, label="−", doc="scalar minus tensor", latex="{1} - {0}", arity=2)
MUL = Op("MulBackward0", np.multiply,
         (lambda g, r, a, b: g * b, lambda g, r, a, b: g * a), saves="inputs",
         sympy=lambda a, b: a * b, label="×", doc="product a · b", latex="{0} \\cdot {1}", arity=2)
DIV = Op("DivBackward0", np.true_divide,
         (lambda g, r, a, b: g / b, lambda g, r, a, b: -g * a / (b * b)), saves="inputs",
         sympy=lambda a, b: a / b, label="÷", doc="quotient a / b", latex="\\frac{{{0}}}{{{1}}}",
         arity=2)


def _pow_scalar_vjp(g, r, x, *, exponent):
    if exponent == 0:
        return g * 0
    return g * (exponent * x.pow(exponent - 1))


def _pow_tensor_base_vjp(g, r, x, e):
    return where(e == 0, 0.0, g * e * x.pow(e - 1))


def _pow_tensor_exponent_vjp(g, r, x, e):
    # torch: zero where the base is 0 and the exponent non-negative (avoids 0 * -inf)
    return where((x == 0) & (e >= 0), 0.0, g * r * x.log())


POW = Op("PowBackward0", lambda x, *, exponent: np.power(x, exponent),
         (_pow_scalar_vjp,), saves="inputs",
         sympy=lambda x, *, exponent: sf.power(x, exponent), label="xⁿ", doc="power with a scalar exponent",
         latex="{{{0}}}^{{n}}")
POW_TENSOR = Op("PowBackward1", np.power, (_pow_tensor_base_vjp, _pow_tensor_exponent_vjp),
                saves="inputs,result", sympy=sf.power, label="xʸ",
                doc="power with a tensor exponent", latex="{{{0}}}^{{{1}}}", arity=2)
POW_SCALAR_BASE = Op(
    "PowBackward2", lambda e, *, base: _c_contiguous(np.power(base, e)),  # torch's is contiguous
    (lambda g, r, e, *, base: (g * r * math.log(base)) if base != 0
     else where(e >= 0, 0.0, g * r * -math.inf),),
    saves="inputs,result", sympy=lambda e, *, base: sf.power(base, e), label="aˣ",
    doc="scalar raised to a tensor", latex="a^{{{0}}}")


def _maximum_vjp(g, r, a, b):
    return g * where(a == b, 0.5, (a > b).to(g.dtype))


def _minimum_vjp(g, r, a, b):
    return g * where(a == b, 0.5, (a < b).to(g.dtype))


MAXIMUM = Op("MaximumBackward0", np.maximum,
             (_maximum_vjp, lambda g, r, a, b: _maximum_vjp(g, r, b, a)), saves="inputs",
             sympy=lambda a, b: sp().Max(a, b), label="max", doc="elementwise maximum",
             latex="\\max({0}, {1})", arity=2)
MINIMUM = Op("MinimumBackward0", np.minimum,
             (_minimum_vjp, lambda g, r, a, b: _minimum_vjp(g, r, b, a)), saves="inputs",
             sympy=lambda a, b: sp().Min(a, b), label="min", doc="elementwise minimum",
             latex="\\min({0}, {1})", arity=2)
WHERE = Op("WhereBackward0", np.where,
           (lambda g, r, c, a, b: None,
            lambda g, r, c, a, b: where(c, g, 0.0),
            lambda g, r, c, a, b: where(c, 0.0, g)), saves="inputs",
           sympy=sf.where, label="where",
           doc="select a where the condition holds, else b", latex="{1} \\text{ if } {0} \\text{ else } {2}",
           arity=3, category="selection")

# --------------------------------------------------------------------------- unary rows
NEG = _unary("NegBackward0", np.negative, lambda g, r, x: -g, "",
             lambda x: -x, "−x", "negation", "-{0}")
ABS = _unary("AbsBackward0", np.abs, lambda g, r, x: g * x.sign(), "inputs",
             lambda x: sp().Abs(x), "|x|", "absolute value (gradient 0 at 0, like torch)",
             "\\left|{0}\\right|")
EXP = _unary("ExpBackward0", np.exp, lambda g, r, x: g * r, "result",
             lambda x: sp().exp(x), "exp", "exponential", "e^{{{0}}}")
LOG = _unary("LogBackward0", np.log, lambda g, r, x: g / x, "inputs",
             lambda x: sp().log(x), "log", "natural logarithm", "\\log {0}")
SQRT = _unary("SqrtBackward0", np.sqrt, lambda g, r, x: g / (2 * r), "result",
              lambda x: sp().sqrt(x), "√", "square root", "\\sqrt{{{0}}}")
SIN = _unary("SinBackward0", np.sin, lambda g, r, x: g * x.cos(), "inputs",
             lambda x: sp().sin(x), "sin", "sine", "\\sin {0}")
COS = _unary("CosBackward0", np.cos, lambda g, r, x: g * -x.sin(), "inputs",
             lambda x: sp().cos(x), "cos", "cosine", "\\cos {0}")
TAN = _unary("TanBackward0", np.tan, lambda g, r, x: g * (1 + r * r), "result",
             lambda x: sp().tan(x), "tan", "tangent", "\\tan {0}")
TANH = _unary("TanhBackward0", np.tanh, lambda g, r, x: apply(TANH_BACKWARD, (g, r)), "result",
              lambda x: sp().tanh(x), "tanh", "hyperbolic tangent", "\\tanh {0}", "activation")
SIGMOID = _unary("SigmoidBackward0", lambda x: _sigmoid(x), lambda g, r, x: apply(SIGMOID_BACKWARD, (g, r)),
                 "result", sf.sigmoid, "σ", "logistic sigmoid",
                 "\\sigma({0})", "activation")
RELU = _unary("ReluBackward0", lambda x: np.maximum(x, 0).astype(x.dtype, copy=False),
              lambda g, r, x: apply(RELU_BACKWARD, (g, r)), "result",
              sf.relu, "relu", "rectified linear unit (gradient 0 at 0)",
              "\\operatorname{{relu}}({0})", "activation")
RECIPROCAL = _unary("ReciprocalBackward0", np.reciprocal, lambda g, r, x: -g * r * r, "result",
                    lambda x: 1 / x, "1/x", "reciprocal", "\\frac{{1}}{{{0}}}")
RSQRT = _unary("RsqrtBackward0", lambda x: 1 / np.sqrt(x), lambda g, r, x: -0.5 * g * r * r * r,
               "result", lambda x: 1 / sp().sqrt(x), "1/√", "reciprocal square root",
               "\\frac{{1}}{{\\sqrt{{{0}}}}}")
LOG1P = _unary("Log1PBackward0", np.log1p, lambda g, r, x: g / (x + 1), "inputs",
               lambda x: sp().log(1 + x), "log1p", "log(1 + x)", "\\log(1 + {0})")
EXPM1 = _unary("Expm1Backward0", np.expm1, lambda g, r, x: g * (r + 1), "result",
               lambda x: sp().exp(x) - 1, "expm1", "exp(x) − 1", "e^{{{0}}} - 1")
LOG2 = _unary("Log2Backward0", np.log2, lambda g, r, x: g / (x * math.log(2)), "inputs",
              lambda x: sp().log(x, 2), "log₂", "base-2 logarithm", "\\log_2 {0}")
LOG10 = _unary("Log10Backward0", np.log10, lambda g, r, x: g / (x * math.log(10)), "inputs",
               lambda x: sp().log(x, 10), "log₁₀", "base-10 logarithm", "\\log_{{10}} {0}")
SINH = _unary("SinhBackward0", np.sinh, lambda g, r, x: g * x.cosh(), "inputs",
              lambda x: sp().sinh(x), "sinh", "hyperbolic sine", "\\sinh {0}")
COSH = _unary("CoshBackward0", np.cosh, lambda g, r, x: g * x.sinh(), "inputs",
              lambda x: sp().cosh(x), "cosh", "hyperbolic cosine", "\\cosh {0}")
ASIN = _unary("AsinBackward0", np.arcsin, lambda g, r, x: g * (1 - x * x).rsqrt(), "inputs",
              lambda x: sp().asin(x), "asin", "inverse sine", "\\arcsin {0}")
ACOS = _unary("AcosBackward0", np.arccos, lambda g, r, x: -g * (1 - x * x).rsqrt(), "inputs",
              lambda x: sp().acos(x), "acos", "inverse cosine", "\\arccos {0}")
ATAN = _unary("AtanBackward0", np.arctan, lambda g, r, x: g / (1 + x * x), "inputs",
              lambda x: sp().atan(x), "atan", "inverse tangent", "\\arctan {0}")
SIGN = _unary("SignBackward0", np.sign, lambda g, r, x: _zeros_like(g), "",
              lambda x: sp().sign(x), "sign", "sign (gradient 0)", "\\operatorname{{sign}} {0}")
FLOOR = _unary("FloorBackward0", np.floor, lambda g, r, x: _zeros_like(g), "",
               lambda x: sp().floor(x), "⌊x⌋", "floor (gradient 0)", "\\lfloor {0} \\rfloor")
CEIL = _unary("CeilBackward0", np.ceil, lambda g, r, x: _zeros_like(g), "",
              lambda x: sp().ceiling(x), "⌈x⌉", "ceiling (gradient 0)", "\\lceil {0} \\rceil")
ROUND = _unary("RoundBackward0", np.round, lambda g, r, x: _zeros_like(g), "",
               sf.round_half_even, "round", "round half to even (gradient 0)",
               "\\operatorname{{round}} {0}")
SILU = _unary("SiluBackward0", lambda x: x * _sigmoid(x),
              lambda g, r, x: g * (x.sigmoid() * (1 + x * (1 - x.sigmoid()))), "inputs",
              lambda x: x / (1 + sp().exp(-x)), "silu", "x·σ(x)", "{0}\\,\\sigma({0})",
              "activation")
SOFTPLUS = _unary("SoftplusBackward0", lambda x: np.logaddexp(0, x).astype(x.dtype, copy=False),
                  lambda g, r, x: g * x.sigmoid(), "inputs",
                  lambda x: sp().log(1 + sp().exp(x)), "softplus", "log(1 + eˣ)",
                  "\\log(1 + e^{{{0}}})", "activation")


def _leaky_forward(x, *, negative_slope):
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


LEAKY_RELU = Op("LeakyReluBackward0", _leaky_forward,
                (lambda g, r, x, *, negative_slope:
                 apply(LEAKY_RELU_BACKWARD, (g, x), {"negative_slope": negative_slope}),),
                saves="inputs", sympy=sf.leaky_relu,
                label="leaky", doc="leaky ReLU", latex="\\operatorname{{leaky}}({0})",
                category="activation")


# The gradients of relu and leaky relu as ops of their own (torch's threshold_backward and
# leaky_relu_backward): with create_graph they stay connected to the saved result / input,
# so x.grad requires grad (and its derivative is 0) as in torch.
def _zeros_like(t):
    return make(np.zeros(t._data.shape, dtype=t._data.dtype))


RELU_BACKWARD = Op("ThresholdBackwardBackward0",
                   lambda g, r: np.where(r <= 0, 0, g).astype(g.dtype, copy=False),
                   (lambda gg, _, g, r: apply(RELU_BACKWARD, (gg, r)),
                    lambda gg, _, g, r: _zeros_like(gg)),
                   saves="inputs", label="relu′", doc="gradient of relu: g where the result is > 0",
                   category="activation", arity=2)


def _tanh_backward(g, r):
    """g·(1 − r²) in one temporary (torch's fused tanh_backward); a 512×512 backward
    allocates one array here instead of three."""
    out = np.multiply(r, r, out=np.empty(np.broadcast_shapes(r.shape, g.shape), dtype=r.dtype))
    np.subtract(1, out, out=out)
    np.multiply(out, g, out=out)
    return out


def _sigmoid_backward(g, r):
    """g·r·(1 − r) in one temporary (torch's sigmoid_backward)."""
    out = np.subtract(1, r, out=np.empty(np.broadcast_shapes(r.shape, g.shape), dtype=r.dtype))
    np.multiply(out, r, out=out)
    np.multiply(out, g, out=out)
    return out


# The gradients of tanh and sigmoid from their result, as ops (torch's tanh_backward,
# sigmoid_backward): one fused numpy pass, and differentiable again with create_graph.
TANH_BACKWARD = Op("TanhBackwardBackward0", _tanh_backward,
                   (lambda gg, _, g, r: apply(TANH_BACKWARD, (gg, r)),
                    lambda gg, _, g, r: gg * g * r * -2),
                   saves="inputs", sympy=lambda g, r: g * (1 - r * r), label="tanh′",
                   doc="gradient of tanh: g·(1 − r²)", category="activation", arity=2)
SIGMOID_BACKWARD = Op("SigmoidBackwardBackward0", _sigmoid_backward,
                      (lambda gg, _, g, r: apply(SIGMOID_BACKWARD, (gg, r)),
                       lambda gg, _, g, r: gg * g * (1 - 2 * r)),
                      saves="inputs", sympy=lambda g, r: g * r * (1 - r), label="σ′",
                      doc="gradient of sigmoid: g·r·(1 − r)", category="activation", arity=2)
LEAKY_RELU_BACKWARD = Op(
    "LeakyReluBackwardBackward0",
    lambda g, x, *, negative_slope: np.where(x > 0, g, g * negative_slope).astype(g.dtype, copy=False),
    (lambda gg, _, g, x, *, negative_slope:
     apply(LEAKY_RELU_BACKWARD, (gg, x), {"negative_slope": negative_slope}),
     lambda gg, _, g, x, *, negative_slope: _zeros_like(gg)),
    saves="inputs", label="leaky′", doc="gradient of leaky relu", category="activation", arity=2)


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


CLAMP = Op("ClampBackward1", _clamp_forward, (_clamp_vjp,), saves="inputs", sympy=sf.clamp,
           label="clamp", doc="clamp to [min, max] (gradient 1 at the bounds, like torch)",
           latex="\\operatorname{{clamp}}({0})", category="activation")
# x.clamp_min(a) and x.clamp_max(b) are torch overloads of their own, with their own names.
CLAMP_MIN = Op("ClampMinBackward0", _clamp_forward, (_clamp_vjp,), saves="inputs", sympy=sf.clamp,
               label="clamp_min", doc="clamp from below (gradient 1 at the bound, like torch)",
               latex="\\max({0}, a)", category="activation")
CLAMP_MAX = Op("ClampMaxBackward0", _clamp_forward, (_clamp_vjp,), saves="inputs", sympy=sf.clamp,
               label="clamp_max", doc="clamp from above (gradient 1 at the bound, like torch)",
               latex="\\min({0}, b)", category="activation")

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


def _fast_binary(op, general):
    """``general`` with the two hot cases inlined (tensor ∘ tensor of one dtype,
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
                if ad.dtype == bd.dtype:
                    try:
                        out = forward(ad, bd)
                    except ValueError:
                        return general(a, b)  # raises torch's broadcasting error
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


def sub(input, other, *, alpha=1):
    if alpha != 1:
        return add(input, -alpha * other if _is_scalar(other) else other * -alpha)
    if not isinstance(input, Tensor):
        return rsub(other, input)
    return _arith(SUB, input, other)


def rsub(input, other, *, alpha=1):
    """``other - input`` (what ``2 - x`` calls)."""
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


def remainder(input, other):
    a, b, dtype = _promote(input, other)
    da = a._data if isinstance(a, Tensor) else a
    db = b._data if isinstance(b, Tensor) else b
    return Tensor._make(np.asarray(np.remainder(da, db)).astype(dtype, copy=False))


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


def _make_unary(op, floating=True):
    def function(input):
        if floating and input._data.dtype.kind != "f":
            input = input.to(_dt.get_default_dtype())
        return apply(op, (input,))
    function.__name__ = op.name.split("Backward")[0].lower()
    function.__doc__ = op.doc
    return function


neg = _make_unary(NEG, floating=False)
abs = _make_unary(ABS, floating=False)
exp = _make_unary(EXP)
log = _make_unary(LOG)
sqrt = _make_unary(SQRT)
sin = _make_unary(SIN)
cos = _make_unary(COS)
tan = _make_unary(TAN)
tanh = _make_unary(TANH)
sigmoid = _make_unary(SIGMOID)
relu = _make_unary(RELU, floating=False)
reciprocal = _make_unary(RECIPROCAL)
rsqrt = _make_unary(RSQRT)
log1p = _make_unary(LOG1P)
expm1 = _make_unary(EXPM1)
log2 = _make_unary(LOG2)
log10 = _make_unary(LOG10)
sinh = _make_unary(SINH)
cosh = _make_unary(COSH)
asin = _make_unary(ASIN)
acos = _make_unary(ACOS)
atan = _make_unary(ATAN)
sign = _make_unary(SIGN, floating=False)
floor = _make_unary(FLOOR, floating=False)
ceil = _make_unary(CEIL, floating=False)
round = _make_unary(ROUND, floating=False)
silu = _make_unary(SILU)
softplus = _make_unary(SOFTPLUS)


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
fast_div = _fast_binary(DIV, div)


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
array_rules(SIGMOID, lambda g, r, x: _sigmoid_backward(g, r))
array_rules(RELU, lambda g, r, x: RELU_BACKWARD.forward(g, r))
