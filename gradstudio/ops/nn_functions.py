"""The op-table rows of ``torch.nn.functional`` that torch records as one node
each: ``GeluBackward0``, ``EluBackward0``, ``SoftplusBackward0`` with beta and
threshold, ``HuberLossBackward0``, ``SmoothL1LossBackward0``,
``NativeLayerNormBackward0``, ``NativeBatchNormBackward0``, ``NativeGroupNormBackward0``,
``EmbeddingBackward0``, ``ConstantPadNdBackward0``, and
the arithmetic torch's C++ compositions record: ``DivBackward1``, ``AddBackward1``, ``MulBackward1``,
``SubBackward1`` (a tensor and a C++ number, as cross-entropy's mean over class
probabilities or pairwise_distance's ``+ eps`` do) and ``NormBackward1`` (at::norm).

Activations whose gradient needs a function the engine has no row for (erf)
get their backward as an internal row of its own (``GeluBackwardBackward0``,
``EluBackwardBackward0``, as torch names them), so ``create_graph=True`` keeps
a graph with torch's node names. The functions that pick among these rows and
check their arguments live in :mod:`gradstudio.nn.functional`.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Computed, Const, Input, Result, ScalarArg, as_dims, reduction
from .. import dtypes as _dt
from . import _sympy as sf
from . import kinks, samples
from .losses import _reduced, _scale
from .table import Op, Param, SAVES_INPUTS, SAVES_RESULT, apply

_erf = sf.erf_array
_SQRT_2_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _as(value: np.ndarray, like: np.ndarray) -> np.ndarray:
    return np.asarray(value).astype(like.dtype, copy=False)


# -- GELU ----------------------------------------------------------------------------
def _gelu_forward(x, *, approximate):
    x64 = x.astype(np.float64)
    if approximate == "tanh":
        out = 0.5 * x64 * (1.0 + np.tanh(_SQRT_2_PI * (x64 + _GELU_CUBIC * x64 ** 3)))
    else:
        out = 0.5 * x64 * (1.0 + _erf(x64 / math.sqrt(2.0)))
    return _as(out, x)


def _gelu_derivative(x64, approximate):
    """d gelu / dx on float64 values."""
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_PI * (x64 + _GELU_CUBIC * x64 ** 3))
        return 0.5 * (1 + t) + 0.5 * x64 * (1 - t * t) * _SQRT_2_PI * (1 + 3 * _GELU_CUBIC * x64 ** 2)
    cdf = 0.5 * (1.0 + _erf(x64 / math.sqrt(2.0)))
    return cdf + x64 * np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)


def _gelu_second(x, approximate):
    """d² gelu / dx², written with tensor ops (the third derivative stays recorded)."""
    if approximate == "tanh":
        u = (x + x ** 3 * _GELU_CUBIC) * _SQRT_2_PI
        t = u.tanh()
        du = (x * x * (3 * _GELU_CUBIC) + 1) * _SQRT_2_PI
        ddu = x * (6 * _GELU_CUBIC * _SQRT_2_PI)
        return (1 - t * t) * (du + x * 0.5 * (ddu - t * du * du * 2))
    return (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi)) * (2 - x * x)


def _gelu_sympy(x, *, approximate):
    S = sf.sp()
    if approximate == "tanh":
        cubic = S.Rational(44715, 10 ** 6)
        return x / 2 * (1 + S.tanh(S.sqrt(2 / S.pi) * (x + cubic * x ** 3)))
    return x / 2 * (1 + S.erf(x / S.sqrt(2)))


GELU_BACKWARD = Op(
    id="nn.GELU_BACKWARD",
    name="GeluBackwardBackward0",
    forward=lambda g, x, *, approximate: _as(g * _gelu_derivative(x.astype(np.float64), approximate), g),
    vjp=(lambda gg, _, g, x, *, approximate: apply(GELU_BACKWARD, (gg, x), {"approximate": approximate}),
         lambda gg, _, g, x, *, approximate: gg * g * _gelu_second(x, approximate)),
    saves=SAVES_INPUTS,
    label="gelu′",
    doc="gradient of GELU",
    category="activation",
    arity=2,
    params=(Param("approximate", "str", "none"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S, -3.0, 3.0)],
                        {"approximate": "none"}),
    internal=True,
)

GELU = Op(
    id="nn.GELU",
    name="GeluBackward0",
    forward=_gelu_forward,
    vjp=(lambda g, r, x, *, approximate: apply(GELU_BACKWARD, (g, x), {"approximate": approximate}),),
    saves=SAVES_INPUTS,
    sympy=_gelu_sympy,
    label="gelu",
    doc="Gaussian error linear unit: x·Φ(x) (or its tanh approximation)",
    category="activation",
    params=(Param("approximate", "str", "none", "'none' (erf) or 'tanh'"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, -3.0, 3.0)], {"approximate": "none"}),
    torch=lambda torch, x, approximate: torch.nn.functional.gelu(x, approximate=approximate),
)


# -- ELU -----------------------------------------------------------------------------
def _elu_forward(x, *, alpha):
    return _as(np.where(x > 0, x, alpha * np.expm1(x)), x)


def _elu_backward_forward(g, x, *, alpha, scale, input_scale, is_result=False):
    if is_result:  # x is the result: below 0 it is scale·α(e^(x·input_scale) − 1)
        return _as(np.where(x > 0, g * scale, g * input_scale * (x + alpha * scale)), g)
    return _as(np.where(x > 0, g * scale, g * (input_scale * alpha * scale) * np.exp(x * input_scale)), g)


def _elu_backward_x(gg, _, g, x, **coefficients):
    # torch's elu_double_backward: (ELU')' = input_scale·ELU' below 0 and 0 from 0 on (the
    # mask is x < 0, so at 0 it is 0 although ELU' there is its left branch); from the
    # result, d/dr of g·input_scale·(r + α·scale) is g·input_scale
    scale = coefficients["input_scale"]
    if coefficients.get("is_result"):
        return (gg * g * scale).masked_fill(x >= 0, 0.0)
    return apply(ELU_BACKWARD, (gg * g * scale, x), coefficients).masked_fill(x >= 0, 0.0)


# torch's elu_backward(g, alpha, scale, input_scale, is_result, x or result): the gradient
# of elu, selu and celu, and (is_result) of their in-place forms
ELU_BACKWARD = Op(
    id="nn.ELU_BACKWARD",
    name="EluBackwardBackward0",
    forward=_elu_backward_forward,
    vjp=(lambda gg, _, g, x, **coefficients: apply(ELU_BACKWARD, (gg, x), coefficients),
         _elu_backward_x),
    saves=SAVES_INPUTS,
    label="elu′",
    doc="gradient of ELU (also SELU's and CELU's: scale·x above 0, scale·α(e^(x·input_scale) − 1) below)",
    category="activation",
    arity=2,
    params=(Param("alpha", "float", 1.0), Param("scale", "float", 1.0), Param("input_scale", "float", 1.0),
            Param("is_result", "bool", False)),
    kink=lambda g, x, **coefficients: kinks.at_zero(x),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.away_from_zero(rng, samples.S)],
                        {"alpha": 0.7, "scale": 1.3, "input_scale": 0.6}),
    internal=True,
)


def elu_coefficients(alpha, scale=1, input_scale=1) -> dict:
    """The params of an ELU_BACKWARD node."""
    return {"alpha": alpha, "scale": scale, "input_scale": input_scale}

ELU = Op(
    id="nn.ELU",
    saved={"self": Input(0), "alpha": Arg("alpha"), "scale": Const(1), "input_scale": Const(1)},
    name="EluBackward0",
    forward=_elu_forward,
    vjp=(lambda g, r, x, *, alpha: apply(ELU_BACKWARD, (g, x), elu_coefficients(alpha)),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, alpha: sf.sp().Piecewise((x, x > 0), (alpha * (sf.sp().exp(x) - 1), True)),
    label="elu",
    doc="exponential linear unit: x above 0, α(eˣ − 1) below",
    category="activation",
    params=(Param("alpha", "float", 1.0),),
    kink=lambda x, *, alpha: alpha != 1 and kinks.at_zero(x),
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {"alpha": 0.7}),
    torch=lambda torch, x, alpha: torch.nn.functional.elu(x, alpha),
)


# -- softplus with beta and threshold --------------------------------------------------
def _softplus_forward(x, *, beta, threshold):
    scaled = x * beta
    with np.errstate(over="ignore"):
        soft = np.logaddexp(0, scaled) / beta
    return _as(np.where(scaled > threshold, x, soft), x)


SOFTPLUS_BETA = Op(
    id="nn.SOFTPLUS_BETA",
    name="SoftplusBackward0",
    overload="beta or threshold not the defaults (1, 20)",
    forward=_softplus_forward,
    # torch: g·sigmoid(βx) below the threshold, g above it
    vjp=(lambda g, r, x, *, beta, threshold:
         g * (x * beta).sigmoid().masked_fill(x * beta > threshold, 1.0),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, beta, threshold: sf.sp().Piecewise(
        (x, x * beta > threshold), (sf.sp().log(1 + sf.sp().exp(beta * x)) / beta, True)),
    label="softplus β",
    doc="log(1 + e^(βx)) / β, x itself where βx > threshold",
    category="activation",
    params=(Param("beta", "float", 1.0), Param("threshold", "float", 20.0)),
    sample=lambda rng: ([samples.uniform(rng, samples.S, -2.0, 2.0)], {"beta": 3.0, "threshold": 4.0}),
    torch=lambda torch, x, beta, threshold: torch.nn.functional.softplus(x, beta, threshold),
)


# -- Huber and smooth L1 -----------------------------------------------------------------
def _huber_forward(x, t, *, reduction, delta):
    d = np.abs(x - t)
    return _reduced(_as(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), x), reduction)


def _huber_vjp(sign):
    def rule(g, r, x, t, *, reduction, delta):
        if x.dtype != t.dtype:  # torch's backward kernel takes one dtype (its forward takes two)
            want, other = (x, t) if sign == 1 else (t, x)
            raise RuntimeError(f"Found dtype {_dt.scalar_type_name(other._data.dtype)} but expected "
                               f"{_dt.scalar_type_name(want._data.dtype)}")
        diff = x - t
        return _scale(g, diff.shape, reduction) * diff.clamp(-delta, delta) * sign
    return rule


def _huber_sympy(x, t, *, reduction, delta):
    S = sf.sp()
    element = np.frompyfunc(lambda a, b: S.Piecewise((S.Rational(1, 2) * (a - b) ** 2, abs(a - b) < delta),
                                                     (delta * (abs(a - b) - delta / S.Integer(2)), True)), 2, 1)
    return sf._reduce(element(x, t), reduction)


def _loss_sample(params):
    return lambda rng: ([samples.uniform(rng, samples.S, -2.0, 2.0), samples.uniform(rng, samples.S, -2.0, 2.0)],
                        params)


HUBER_LOSS = Op(
    id="nn.HUBER_LOSS",
    saved={"self": Input(0), "target": Input(1), "reduction": reduction(), "delta": Arg("delta")},
    name="HuberLossBackward0",
    forward=_huber_forward,
    vjp=(_huber_vjp(1), _huber_vjp(-1)),
    saves=SAVES_INPUTS,
    sympy=_huber_sympy,
    kind="reduction",
    label="Huber",
    doc="½d² where |d| < δ, δ(|d| − ½δ) beyond",
    category="loss",
    arity=2,
    params=(Param("reduction", "str", "mean"), Param("delta", "float", 1.0)),
    sample=_loss_sample({"reduction": "mean", "delta": 1.0}),
    torch=lambda torch, x, t, reduction, delta: torch.nn.functional.huber_loss(x, t, reduction=reduction,
                                                                               delta=delta),
)


def _smooth_l1_forward(x, t, *, reduction, beta):
    d = np.abs(x - t)  # in the promoted dtype, which is the result's (huber's is the input's)
    return _reduced(_as(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), d), reduction)


def _smooth_l1_vjp(sign):
    def rule(g, r, x, t, *, reduction, beta):
        diff = x - t
        return _scale(g, diff.shape, reduction) * (diff / beta).clamp(-1.0, 1.0) * sign
    return rule


def _smooth_l1_sympy(x, t, *, reduction, beta):
    S = sf.sp()
    element = np.frompyfunc(lambda a, b: S.Piecewise((S.Rational(1, 2) * (a - b) ** 2 / beta, abs(a - b) < beta),
                                                     (abs(a - b) - beta / S.Integer(2), True)), 2, 1)
    return sf._reduce(element(x, t), reduction)


SMOOTH_L1_LOSS = Op(
    id="nn.SMOOTH_L1_LOSS",
    saved={"self": Input(0), "target": Input(1), "reduction": reduction(), "beta": Arg("beta")},
    name="SmoothL1LossBackward0",
    forward=_smooth_l1_forward,
    vjp=(_smooth_l1_vjp(1), _smooth_l1_vjp(-1)),
    saves=SAVES_INPUTS,
    sympy=_smooth_l1_sympy,
    kind="reduction",
    label="smooth L1",
    doc="½d²/β where |d| < β, |d| − ½β beyond (β > 0: torch runs β = 0 as L1)",
    category="loss",
    arity=2,
    params=(Param("reduction", "str", "mean"), Param("beta", "float", 1.0)),
    sample=_loss_sample({"reduction": "sum", "beta": 0.5}),
    torch=lambda torch, x, t, reduction, beta: torch.nn.functional.smooth_l1_loss(x, t, reduction=reduction,
                                                                                  beta=beta),
)


# -- normalisation -------------------------------------------------------------------------
def _normalize(x, dims, eps):
    """numpy: x̂ = (x − mean) / √(var + eps) over ``dims`` (biased variance)."""
    mean = x.mean(axis=dims, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=dims, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def _rstd(x, dims, eps, keepdims):
    """numpy: 1 / √(var + eps) over ``dims`` (biased variance), as torch's norms save it."""
    return 1 / np.sqrt(x.var(axis=dims, keepdims=keepdims) + eps)


def _affine(out, weight, bias, shape):
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _normalize_vjp(g, x, weight, dims, eps, shape):
    """∂/∂x of the normalisation followed by the affine map, with tensor ops:
    rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂)), ĝ = g·w."""
    mean = x.mean(dims, keepdim=True)
    rstd = (x.var(dims, unbiased=False, keepdim=True) + eps).rsqrt()
    xhat = (x - mean) * rstd
    gw = g if weight is None else g * weight.reshape(shape)
    return rstd * (gw - gw.mean(dims, keepdim=True) - xhat * (gw * xhat).mean(dims, keepdim=True))


def _xhat(x, dims, eps):
    return (x - x.mean(dims, keepdim=True)) * (x.var(dims, unbiased=False, keepdim=True) + eps).rsqrt()


def _sympy_normalize(x, dims, eps):
    S = sf.sp()
    count = int(np.prod([x.shape[d] for d in dims]))
    mean = np.sum(x, axis=dims, keepdims=True) / count
    var = np.sum((x - mean) ** 2, axis=dims, keepdims=True) / count
    return (x - mean) * np.vectorize(lambda v: 1 / S.sqrt(v + eps), otypes=[object])(var)


def _layer_dims(x_ndim, normalized_shape):
    return tuple(range(x_ndim - len(normalized_shape), x_ndim))


def _layer_norm_forward(x, weight, bias, *, normalized_shape, eps):
    dims = _layer_dims(x.ndim, normalized_shape)
    out = _normalize(x.astype(np.float64), dims, eps)
    return _as(_affine(out, weight, bias, normalized_shape), x)


def _layer_norm_x(g, r, x, weight, bias, *, normalized_shape, eps):
    return _normalize_vjp(g, x, weight, _layer_dims(x.dim(), normalized_shape), eps, normalized_shape)


def _layer_norm_weight(g, r, x, weight, bias, *, normalized_shape, eps):
    dims = _layer_dims(x.dim(), normalized_shape)
    lead = tuple(range(x.dim() - len(normalized_shape)))
    product = g * _xhat(x, dims, eps)
    return product.sum(lead) if lead else product


def _layer_norm_bias(g, r, x, weight, bias, *, normalized_shape, eps):
    lead = tuple(range(x.dim() - len(normalized_shape)))
    return g.sum(lead) if lead else g


def _layer_norm_sympy(x, weight, bias, *, normalized_shape, eps):
    out = _sympy_normalize(x, _layer_dims(x.ndim, normalized_shape), eps)
    none = lambda a: a is None or (isinstance(a, np.ndarray) and a.shape == () and a.item() is None)  # noqa: E731
    return _affine(out, None if none(weight) else weight, None if none(bias) else bias, tuple(normalized_shape))


# torch's native_layer_norm saves the mean and 1/std of each normalized slice (result1, result2)
def _layer_norm_mean(x, weight, bias, *, normalized_shape, eps):
    return x.mean(axis=_layer_dims(x.ndim, normalized_shape), keepdims=True)


def _layer_norm_rstd(x, weight, bias, *, normalized_shape, eps):
    return _rstd(x, _layer_dims(x.ndim, normalized_shape), eps, True)


LAYER_NORM = Op(
    id="nn.LAYER_NORM",
    saved={"input": Input(0), "weight": Input(1), "bias": Input(2), "normalized_shape": Arg("normalized_shape"),
           "result1": Computed(_layer_norm_mean), "result2": Computed(_layer_norm_rstd)},
    name="NativeLayerNormBackward0",
    forward=_layer_norm_forward,
    vjp=(_layer_norm_x, _layer_norm_weight, _layer_norm_bias),
    saves=SAVES_INPUTS,
    sympy=_layer_norm_sympy,
    kind="array",
    label="LayerNorm",
    doc="normalise over the last dimensions, then scale by weight and shift by bias",
    category="normalization",
    arity=3,
    params=(Param("normalized_shape", "int[]"), Param("eps", "float", 1e-5)),
    sample=lambda rng: ([samples.uniform(rng, (3, 4)), samples.uniform(rng, (4,), 0.5, 1.5),
                         samples.uniform(rng, (4,))], {"normalized_shape": (4,), "eps": 1e-5}),
    torch=lambda torch, x, w, b, normalized_shape, eps: torch.nn.functional.layer_norm(
        x, normalized_shape, w, b, eps),
)


def _batch_dims(ndim):
    return (0,) if ndim == 2 else (0,) + tuple(range(2, ndim))


def _channel_shape(ndim, channels):
    return (1, channels) + (1,) * (ndim - 2)


def _batch_norm_forward(x, weight, bias, running_mean, running_var, *, training, eps):
    shape = _channel_shape(x.ndim, x.shape[1])
    x64 = x.astype(np.float64)
    if training:
        out = _normalize(x64, _batch_dims(x.ndim), eps)
    else:
        out = (x64 - running_mean.reshape(shape)) / np.sqrt(running_var.reshape(shape) + eps)
    return _as(_affine(out, weight, bias, shape), x)


def _batch_norm_x(g, r, x, weight, bias, running_mean, running_var, *, training, eps):
    shape = _channel_shape(x.dim(), x.shape[1])
    if training:
        return _normalize_vjp(g, x, weight, _batch_dims(x.dim()), eps, shape)
    scale = (running_var.reshape(shape) + eps).rsqrt()
    return g * scale if weight is None else g * scale * weight.reshape(shape)


def _batch_norm_weight(g, r, x, weight, bias, running_mean, running_var, *, training, eps):
    shape = _channel_shape(x.dim(), x.shape[1])
    if training:
        xhat = _xhat(x, _batch_dims(x.dim()), eps)
    else:
        xhat = (x - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    return (g * xhat).sum(_batch_dims(x.dim()))


def _batch_norm_bias(g, r, x, weight, bias, running_mean, running_var, *, training, eps):
    return g.sum(_batch_dims(x.dim()))


def _batch_norm_sympy(x, weight, bias, running_mean, running_var, *, training, eps):
    S = sf.sp()
    shape = _channel_shape(x.ndim, x.shape[1])
    if training:
        out = _sympy_normalize(x, _batch_dims(x.ndim), eps)
    else:
        rstd = np.vectorize(lambda v: 1 / S.sqrt(v + eps), otypes=[object])(running_var.reshape(shape))
        out = (x - running_mean.reshape(shape)) * rstd
    return _affine(out, weight, bias, shape)


# torch's native_batch_norm saves each channel's batch mean and 1/std (result1, result2) when training
def _batch_norm_mean(x, weight, bias, running_mean, running_var, *, training, eps):
    return x.mean(axis=_batch_dims(x.ndim)) if training else np.empty(0, x.dtype)


def _batch_norm_invstd(x, weight, bias, running_mean, running_var, *, training, eps):
    return _rstd(x, _batch_dims(x.ndim), eps, False) if training else np.empty(0, x.dtype)


BATCH_NORM = Op(
    id="nn.BATCH_NORM",
    saved={"input": Input(0), "weight": Input(1), "running_mean": Input(3), "running_var": Input(4),
           "result1": Computed(_batch_norm_mean), "result2": Computed(_batch_norm_invstd),
           "training": Arg("training"), "eps": Arg("eps")},
    name="NativeBatchNormBackward0",
    forward=_batch_norm_forward,
    vjp=(_batch_norm_x, _batch_norm_weight, _batch_norm_bias, None, None),
    saves=SAVES_INPUTS,
    sympy=_batch_norm_sympy,
    kind="array",
    label="BatchNorm",
    doc="normalise each channel over the batch (training) or by the running statistics, "
        "then scale and shift",
    category="normalization",
    arity=5,
    params=(Param("training", "bool", True), Param("eps", "float", 1e-5)),
    sample=lambda rng: ([samples.uniform(rng, (4, 3)), samples.uniform(rng, (3,), 0.5, 1.5),
                         samples.uniform(rng, (3,)), samples.uniform(rng, (3,)),
                         samples.uniform(rng, (3,), 0.5, 1.5)], {"training": True, "eps": 1e-5}),
    torch=lambda torch, x, w, b, rm, rv, training, eps: torch.nn.functional.batch_norm(
        x, rm.detach().clone(), rv.detach().clone(), w, b, training, 0.0, eps),
)


def _grouped(x, num_groups):
    """``x`` as (N, groups, channels-per-group × spatial): a group is one slice of the last axis."""
    return x.reshape(x.shape[0], num_groups, -1)


def _group_xhat(x, num_groups, eps):
    """Tensor ops: x normalised within each (sample, group), in x's shape."""
    return _xhat(_grouped(x, num_groups), (2,), eps).reshape(x.shape)


def _group_norm_forward(x, weight, bias, *, num_groups, eps):
    out = _normalize(_grouped(x.astype(np.float64), num_groups), (2,), eps).reshape(x.shape)
    return _as(_affine(out, weight, bias, _channel_shape(x.ndim, x.shape[1])), x)


def _group_norm_x(g, r, x, weight, bias, *, num_groups, eps):
    gw = g if weight is None else g * weight.reshape(_channel_shape(x.dim(), x.shape[1]))
    return _normalize_vjp(_grouped(gw, num_groups), _grouped(x, num_groups), None, (2,), eps,
                          None).reshape(x.shape)


def _group_norm_weight(g, r, x, weight, bias, *, num_groups, eps):
    return (g * _group_xhat(x, num_groups, eps)).sum(_batch_dims(x.dim()))


def _group_norm_bias(g, r, x, weight, bias, *, num_groups, eps):
    return g.sum(_batch_dims(x.dim()))


def _group_norm_sympy(x, weight, bias, *, num_groups, eps):
    out = _sympy_normalize(_grouped(x, num_groups), (2,), eps).reshape(x.shape)
    none = lambda a: a is None or (isinstance(a, np.ndarray) and a.shape == () and a.item() is None)  # noqa: E731
    return _affine(out, None if none(weight) else weight, None if none(bias) else bias,
                   _channel_shape(x.ndim, x.shape[1]))


# torch's native_group_norm saves each (sample, group)'s mean and 1/std, shaped (N, groups)
def _group_norm_mean(x, weight, bias, *, num_groups, eps):
    return _grouped(x, num_groups).mean(axis=2)


def _group_norm_rstd(x, weight, bias, *, num_groups, eps):
    return _rstd(_grouped(x, num_groups), (2,), eps, False)


GROUP_NORM = Op(
    id="nn.GROUP_NORM",
    saved={"input": Input(0), "weight": Input(1), "result1": Computed(_group_norm_mean),
           "result2": Computed(_group_norm_rstd),
           "N": Computed(lambda x, w, b, **p: x[0], tensor=False, optional_inputs=True),
           "C": Computed(lambda x, w, b, **p: x[1], tensor=False, optional_inputs=True),
           "HxW": Computed(lambda x, w, b, **p: int(np.prod(x[2:], dtype=np.int64)), tensor=False,
                           optional_inputs=True),
           "group": Arg("num_groups"), "eps": Arg("eps")},
    name="NativeGroupNormBackward0",
    forward=_group_norm_forward,
    vjp=(_group_norm_x, _group_norm_weight, _group_norm_bias),
    saves=SAVES_INPUTS,
    sympy=_group_norm_sympy,
    kind="array",
    label="GroupNorm",
    doc="normalise each sample over each group of channels (and the spatial dimensions), "
        "then scale and shift each channel",
    category="normalization",
    arity=3,
    params=(Param("num_groups", "int"), Param("eps", "float", 1e-5)),
    sample=lambda rng: ([samples.uniform(rng, (2, 4, 3)), samples.uniform(rng, (4,), 0.5, 1.5),
                         samples.uniform(rng, (4,))], {"num_groups": 2, "eps": 1e-5}),
    torch=lambda torch, x, w, b, num_groups, eps: torch.nn.functional.group_norm(x, num_groups, w, b, eps),
)


# -- embedding ----------------------------------------------------------------------------------
def _embedding_backward_forward(g, indices, *, num_weights, padding_idx):
    out = np.zeros((num_weights,) + g.shape[indices.ndim:], dtype=g.dtype)
    keep = indices != padding_idx
    np.add.at(out, indices[keep], g[keep])
    return out


EMBEDDING_BACKWARD = Op(
    id="nn.EMBEDDING_BACKWARD",
    name="EmbeddingDenseBackwardBackward0",
    forward=_embedding_backward_forward,
    # the scatter-add's own gradient is the lookup again, padding rows zeroed
    vjp=(lambda gg, _, g, indices, *, num_weights, padding_idx:
         apply(EMBEDDING, (gg, indices), {"padding_idx": padding_idx}).masked_fill(
             (indices == padding_idx).unsqueeze(-1), 0.0),
         None),
    saves=SAVES_INPUTS,
    shape=lambda g, indices, *, num_weights, padding_idx: (num_weights,) + tuple(g[len(indices):]),
    kind="array",
    label="embedding′",
    doc="gradient of an embedding lookup: rows of the incoming gradient added into the table",
    category="indexing",
    arity=2,
    params=(Param("num_weights", "int"), Param("padding_idx", "int", -1)),
    sample=lambda rng: ([samples.uniform(rng, (3, 2)), np.array([1, 0, 1])],
                        {"num_weights": 4, "padding_idx": -1}),
    internal=True,
)

EMBEDDING = Op(
    id="nn.EMBEDDING",
    saved={"indices": Input(1), "padding_idx": Arg("padding_idx"), "scale_grad_by_freq": Const(False),
           "sparse": Const(False), "weight_sym_argsize_0": Computed(lambda w, i, **p: w[0], tensor=False)},
    name="EmbeddingBackward0",
    forward=lambda weight, indices, *, padding_idx: weight[indices],
    vjp=(lambda g, r, weight, indices, *, padding_idx: apply(
        EMBEDDING_BACKWARD, (g, indices), {"num_weights": weight.shape[0], "padding_idx": padding_idx}),
         None),
    saves=SAVES_INPUTS,
    sympy=lambda weight, indices, *, padding_idx: weight[np.asarray(indices, dtype=np.int64)],
    shape=lambda weight, indices, *, padding_idx: tuple(indices) + tuple(weight[1:]),
    kind="array",
    label="embedding",
    doc="look up rows of a table by index",
    category="indexing",
    arity=2,
    params=(Param("padding_idx", "int", -1, "a row whose gradient stays 0 (-1: none)"),),
    # padding_idx zeroes a row's gradient on purpose (finite differences disagree there):
    # the oracle tests cover it; the sample leaves it off
    sample=lambda rng: ([samples.uniform(rng, (4, 2)), np.array([[1, 3], [1, 0]])], {"padding_idx": -1}),
    torch=lambda torch, weight, indices, padding_idx: torch.nn.functional.embedding(
        indices, weight, None if padding_idx < 0 else padding_idx),
)


# -- constant padding ------------------------------------------------------------------------------
def _pad_widths(ndim, pad):
    """numpy's (before, after) per dimension from torch's flat list, last dimension first."""
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return widths


def _pad_array(x, pad, value, pad_function):
    widths = _pad_widths(x.ndim, pad)
    crop = tuple(slice(max(-b, 0), x.shape[d] - max(-a, 0)) for d, (b, a) in enumerate(widths))
    return pad_function(x[crop], [(max(b, 0), max(a, 0)) for b, a in widths], value)


def _pad_forward(x, *, pad, value):
    return _pad_array(x, pad, value, lambda a, widths, v: np.pad(a, widths, constant_values=np.asarray(v).astype(a.dtype)))


def _pad_sympy(x, *, pad, value):
    def pad_objects(a, widths, v):
        out = np.full(tuple(n + b + e for n, (b, e) in zip(a.shape, widths)), v, dtype=object)
        out[tuple(slice(b, b + n) for n, (b, _) in zip(a.shape, widths))] = a
        return out
    return _pad_array(np.asarray(x, dtype=object), pad, value, pad_objects)


CONSTANT_PAD = Op(
    id="nn.CONSTANT_PAD",
    saved={"pad": Arg("pad")},
    name="ConstantPadNdBackward0",
    forward=_pad_forward,
    # the gradient of padding is the opposite padding of the gradient (crop what was added,
    # zeros where the input was cut)
    vjp=(lambda g, r, x, *, pad, value: apply(CONSTANT_PAD, (g,), {"pad": tuple(-p for p in pad), "value": 0.0}),),
    sympy=_pad_sympy,
    kind="shape",
    label="pad",
    doc="pad with a constant (negative widths cut)",
    category="shape",
    params=(Param("pad", "int[]"), Param("value", "float", 0.0)),
    sample=lambda rng: ([samples.uniform(rng, (2, 3))], {"pad": (1, 2, -1, 1), "value": 0.5}),
    torch=lambda torch, x, pad, value: torch.nn.functional.pad(x, pad, value=value),
)


# -- division by a number -------------------------------------------------------------------------------
DIV_SCALAR = Op(
    id="nn.DIV_SCALAR",
    name="DivBackward1",
    overload="a tensor divided by a number inside a composite op (torch's div(Tensor, Scalar))",
    forward=lambda x, *, other: _as(x / other, x),
    vjp=(lambda g, r, x, *, other: g / other,),
    sympy=lambda x, *, other: x / other,
    label="÷ n",
    doc="divide by a number",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"other": 3}),
    torch=lambda torch, x, other: torch.ops.aten.div.Scalar(x, other),
)


# -- arithmetic with a C++ number, and at::norm: what torch's ATen compositions record -----------------
# Python's ``x + 1`` wraps the 1 in a tensor (AddBackward0); the compositions written in
# C++ (pairwise_distance, triplet_margin_loss, cosine_embedding_loss) add a Scalar.
ADD_SCALAR = Op(
    id="nn.ADD_SCALAR",
    saved={},
    name="AddBackward1",
    overload="a number added inside a composite op (torch's add(Tensor, Scalar))",
    forward=lambda x, *, other: _as(x + other, x),
    vjp=(lambda g, r, x, *, other: g,),
    sympy=lambda x, *, other: x + other,
    label="+ n",
    doc="add a number",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"other": 0.5}),
    torch=lambda torch, x, other: torch.ops.aten.add.Scalar(x, other),
)
MUL_SCALAR = Op(
    id="nn.MUL_SCALAR",
    saved={"other": ScalarArg("other")},
    name="MulBackward1",
    overload="a tensor times a number inside a composite op (torch's mul(Tensor, Scalar))",
    forward=lambda x, *, other: _as(x * other, x),
    vjp=(lambda g, r, x, *, other: g * other,),
    sympy=lambda x, *, other: x * other,
    label="× n",
    doc="multiply by a number",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"other": 0.5}),
    torch=lambda torch, x, other: torch.ops.aten.mul.Scalar(x, other),
)
SUB_SCALAR = Op(
    id="nn.SUB_SCALAR",
    saved={},
    name="SubBackward1",
    overload="a number subtracted inside a composite op (torch's sub(Tensor, Scalar))",
    forward=lambda x, *, other: _as(x - other, x),
    vjp=(lambda g, r, x, *, other: g,),
    sympy=lambda x, *, other: x - other,
    label="− n",
    doc="subtract a number",
    params=(Param("other", "float"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"other": 0.5}),
    torch=lambda torch, x, other: torch.ops.aten.sub.Scalar(x, other),
)


def _at_norm():
    from .reduction import NORM
    return NORM


NORM_SCALAR_DIM = Op(
    id="nn.NORM_SCALAR_DIM",
    saved={"self": Input(0), "result": Result(), "p": Arg("p", float), "dim": Arg("dim", as_dims),
           "keepdim": Arg("keepdim")},
    name="NormBackward1",
    overload="at::norm(Tensor self, Scalar p, int[] dim, bool keepdim), which pairwise_distance calls",
    forward=lambda x, *, p, dim, keepdim: _at_norm().forward(x, p=p, dim=dim, keepdim=keepdim),
    vjp=(lambda g, r, x, *, p, dim, keepdim: _at_norm().vjp[0](g, r, x, p=p, dim=dim, keepdim=keepdim),),
    saves=SAVES_INPUTS | SAVES_RESULT,
    sympy=sf.norm,
    kind="reduction",
    label="‖·‖",
    doc="vector p-norm along dims (at::norm)",
    category="reduction",
    params=(Param("p", "float", 2.0), Param("dim", "int[]"), Param("keepdim", "bool", False)),
    kink=kinks.norm,
    sample=lambda rng: ([samples.uniform(rng, samples.S)], {"p": 2.0, "dim": (1,), "keepdim": False}),
    torch=lambda torch, x, p, dim, keepdim: torch.ops.aten.norm.ScalarOpt_dim(x, p, list(dim), keepdim),
)
