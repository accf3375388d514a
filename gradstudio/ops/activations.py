"""The op-table rows of the activations torch records as one node each, beyond
relu, leaky relu, sigmoid, tanh, silu, softplus, gelu and elu:
``HardtanhBackward0`` (hardtanh and relu6), ``EluBackward0`` for selu (elu with
torch's fixed α and scale), ``CeluBackward0``, ``MishBackward0``,
``HardswishBackward0``, ``HardsigmoidBackward0``, ``LogSigmoidBackward0``,
``GluBackward0``, ``HardshrinkBackward0``, ``SoftshrinkBackward0``,
``ThresholdBackward0``, ``PreluKernelBackward0``, and the nodes of the in-place
forms that save their result (``EluBackward1`` for elu_ and selu_,
``CeluBackward1``) or have a name of their own (``ThresholdBackward1``).

Each gradient that torch computes with a backward kernel of its own is an
internal row named as torch names that kernel's node (``HardtanhBackwardBackward0``…),
so ``create_graph=True`` records torch's names; mish's gradient is torch's
composition of tensor ops, and hardsigmoid's backward kernel has no derivative in
torch: its node is ``NotImplemented`` and a second backward raises torch's error.
Softsign, tanhshrink and softmin are compositions (``nn.functional``). The
functions that check arguments and pick these rows live in
:mod:`gradstudio.nn.functional`.
"""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Computed, Const, Input, ScalarArg
from ..tensor import make
from . import _sympy as sf
from . import kinks, samples
from .elementwise import RELU_BACKWARD
from .nn_functions import ELU_BACKWARD, elu_coefficients
from .table import Op, Param, SAVES_INPUTS, SAVES_RESULT, apply

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _as(value, like: np.ndarray) -> np.ndarray:
    return np.asarray(value).astype(like.dtype, copy=False)


def _zeros_like(t):
    return make(np.zeros(t._data.shape, dtype=t._data.dtype))


def _piecewise(*pieces):
    return sf.sp().Piecewise(*pieces)


def _backward_row(id, name, forward, doc, params=(), sample_params=None, x_rule=None, kink=None, x_sample=None):
    """An internal row (g, x) -> g·f′(x) for a piecewise-linear f: linear in g (its rule for
    g is itself), and 0 for x unless ``x_rule`` says otherwise."""
    def rule_g(gg, _, g, x, **p):
        return apply(row, (gg, x), p)
    row = Op(id=id, name=name, forward=forward,
             vjp=(rule_g, x_rule or (lambda gg, _, g, x, **p: _zeros_like(gg))),
             saves=SAVES_INPUTS, label=doc.split(":")[0], doc=doc, category="activation", arity=2,
             params=params, kink=kink,
             sample=lambda rng: ([samples.uniform(rng, samples.S),
                                  (x_sample or samples.away_from_zero)(rng, samples.S)], dict(sample_params or {})),
             internal=True)
    return row


# -- hardtanh (relu6 is hardtanh(0, 6)) ------------------------------------------------------
def _inside(x, low, high):
    return (x > low) & (x < high)


HARDTANH_BACKWARD = _backward_row(
    "activations.HARDTANH_BACKWARD", "HardtanhBackwardBackward0",
    lambda g, x, *, min_val, max_val: np.where(_inside(x, min_val, max_val), g, 0).astype(g.dtype, copy=False),
    "hardtanh′: g strictly between the bounds, 0 on and beyond them",
    (Param("min_val", "float", -1.0), Param("max_val", "float", 1.0)), {"min_val": -1.0, "max_val": 1.0},
    kink=lambda g, x, *, min_val, max_val: kinks.at_bounds(x, min=min_val, max=max_val),
    x_sample=lambda rng, shape: samples.away_from(rng, shape, (-1.0, 1.0)))

HARDTANH = Op(
    id="activations.HARDTANH",
    name="HardtanhBackward0",
    forward=lambda x, *, min_val, max_val: _as(np.minimum(np.maximum(x, min_val), max_val), x),
    vjp=(lambda g, r, x, **bounds: apply(HARDTANH_BACKWARD, (g, x), bounds),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, min_val, max_val: _piecewise((min_val, x <= min_val), (max_val, x >= max_val), (x, True)),
    label="hardtanh",
    doc="x clamped to [min_val, max_val], gradient 0 at the bounds (relu6: [0, 6])",
    category="activation",
    params=(Param("min_val", "float", -1.0), Param("max_val", "float", 1.0)),
    kink=lambda x, *, min_val, max_val: kinks.at_bounds(x, min=min_val, max=max_val),
    sample=lambda rng: ([samples.away_from(rng, samples.S, (-1.0, 1.5))], {"min_val": -1.0, "max_val": 1.5}),
    torch=lambda torch, x, min_val, max_val: torch.nn.functional.hardtanh(x, min_val, max_val),
)


# -- selu and celu: elu with coefficients ------------------------------------------------------
def _elu(x, alpha, scale, input_scale):
    return _as(np.where(x > 0, x * scale, np.expm1(x * input_scale) * (alpha * scale)), x)


def _elu_sympy(x, alpha, scale, input_scale):
    S = sf.sp()
    return _piecewise((scale * x, x > 0), (scale * alpha * (S.exp(x * input_scale) - 1), True))


SELU = Op(
    id="activations.SELU",
    saved={"self": Input(0), "alpha": Const(SELU_ALPHA), "scale": Const(SELU_SCALE), "input_scale": Const(1)},
    name="EluBackward0",
    overload="selu: elu with α = 1.6733, scale = 1.0507",
    forward=lambda x: _elu(x, SELU_ALPHA, SELU_SCALE, 1),
    vjp=(lambda g, r, x: apply(ELU_BACKWARD, (g, x), elu_coefficients(SELU_ALPHA, SELU_SCALE)),),
    saves=SAVES_INPUTS,
    sympy=lambda x: _elu_sympy(x, SELU_ALPHA, SELU_SCALE, 1),
    label="selu",
    doc="scaled ELU: 1.0507·x above 0, 1.0507·1.6733·(eˣ − 1) below",
    category="activation",
    kink=kinks.at_zero,
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {}),
    torch=lambda torch, x: torch.nn.functional.selu(x),
)

CELU = Op(
    id="activations.CELU",
    name="CeluBackward0",
    forward=lambda x, *, alpha: _elu(x, alpha, 1, 1 / alpha),
    vjp=(lambda g, r, x, *, alpha: apply(ELU_BACKWARD, (g, x), elu_coefficients(alpha, 1, 1 / alpha)),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, alpha: _elu_sympy(x, alpha, 1, 1 / sf.sp().Float(alpha, 30)),
    label="celu",
    doc="continuously differentiable ELU: x above 0, α(e^(x/α) − 1) below",
    category="activation",
    params=(Param("alpha", "float", 1.0),),
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {"alpha": 0.7}),
    torch=lambda torch, x, alpha: torch.nn.functional.celu(x, alpha),
)


# the in-place forms save their result: elu's gradient from it (x ≤ 0 where the result is)
def _elu_of_result(g, r, x, *, alpha, scale, input_scale):
    return apply(ELU_BACKWARD, (g, r), {**elu_coefficients(alpha, scale, input_scale), "is_result": True})


ELU_RESULT = Op(
    id="activations.ELU_RESULT",
    name="EluBackward1",
    overload="elu_ and selu_ (in place): the gradient from the saved result",
    forward=lambda x, *, alpha, scale, input_scale: _elu(x, alpha, scale, input_scale),
    vjp=(_elu_of_result,),
    saves=SAVES_RESULT,
    sympy=lambda x, *, alpha, scale, input_scale: _elu_sympy(x, alpha, scale, input_scale),
    label="elu_",
    doc="ELU in place (scale·x above 0, scale·α(e^(x·input_scale) − 1) below)",
    category="activation",
    params=(Param("alpha", "float", 1.0), Param("scale", "float", 1), Param("input_scale", "float", 1)),
    kink=lambda x, **coefficients: kinks.at_zero(x),
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {"alpha": 0.7, "scale": 1.3, "input_scale": 1}),
    torch=lambda torch, x, alpha, scale, input_scale: torch.ops.aten.elu_(x.clone(), alpha, scale, input_scale),
)

CELU_RESULT = Op(
    id="activations.CELU_RESULT",
    name="CeluBackward1",
    overload="celu_ (in place): the gradient from the saved result",
    forward=lambda x, *, alpha: _elu(x, alpha, 1, 1 / alpha),
    vjp=(lambda g, r, x, *, alpha: _elu_of_result(g, r, x, alpha=alpha, scale=1, input_scale=1 / alpha),),
    saves=SAVES_RESULT,
    sympy=lambda x, *, alpha: _elu_sympy(x, alpha, 1, 1 / sf.sp().Float(alpha, 30)),
    label="celu_",
    doc="CELU in place",
    category="activation",
    params=(Param("alpha", "float", 1.0),),
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {"alpha": 0.7}),
    torch=lambda torch, x, alpha: torch.celu_(x.clone(), alpha),
)


# -- mish ---------------------------------------------------------------------------------------
def _mish_gradient(g, r, x):
    """torch's infinitely differentiable mish backward, op for op:
    g·(tanh(log1p(eˣ)) + x·σ(x)·(1 − tanh²(log1p(eˣ)))), the 1 a 0-d tensor."""
    t = x.exp().log1p().tanh()
    one = make(np.ones((), dtype=x._data.dtype))
    return g * (t + x * x.sigmoid() * (one - t * t))


def _mish_forward(x):
    return _as(x * np.tanh(np.logaddexp(0, x)), x)


MISH = Op(
    id="activations.MISH",
    name="MishBackward0",
    forward=_mish_forward,
    vjp=(_mish_gradient,),
    saves=SAVES_INPUTS,
    sympy=lambda x: x * sf.sp().tanh(sf.sp().log(1 + sf.sp().exp(x))),
    label="mish",
    doc="x·tanh(softplus(x))",
    category="activation",
    domain=samples.Domain(-15.0, 15.0),
    torch=lambda torch, x: torch.nn.functional.mish(x),
)


# -- hardswish and hardsigmoid ----------------------------------------------------------------------
def _hardswish_x(gg, _, g, x):
    return (gg * g / 3.0).masked_fill(~((x > -3.0) & (x < 3.0)), 0.0)


HARDSWISH_BACKWARD = _backward_row(
    "activations.HARDSWISH_BACKWARD", "HardswishBackwardBackward0",
    lambda g, x: _as(np.where(x <= -3, 0, np.where(x < 3, g * (x / 3 + 0.5), g)), g),
    "hardswish′: 0 up to −3, x/3 + ½ between, 1 from 3 (torch's choices at ±3)",
    x_rule=_hardswish_x, kink=lambda g, x: bool(np.any(np.abs(x) == 3)),
    x_sample=lambda rng, shape: samples.away_from(rng, shape, (-3.0, 3.0)) * 2)

HARDSWISH = Op(
    id="activations.HARDSWISH",
    name="HardswishBackward0",
    forward=lambda x: _as(x * np.minimum(np.maximum(x + 3, 0), 6) / 6, x),
    vjp=(lambda g, r, x: apply(HARDSWISH_BACKWARD, (g, x)),),
    saves=SAVES_INPUTS,
    sympy=lambda x: _piecewise((0, x <= -3), (x, x >= 3), (x * (x + 3) / 6, True)),
    label="hardswish",
    doc="x·relu6(x + 3)/6",
    category="activation",
    kink=lambda x: bool(np.any(np.abs(np.asarray(x)) == 3)),
    sample=lambda rng: ([samples.away_from(rng, samples.S, (-3.0, 3.0)) * 2], {}),
    torch=lambda torch, x: torch.nn.functional.hardswish(x),
)


def _no_derivative(*_, **__):
    raise RuntimeError("derivative for aten::hardsigmoid_backward is not implemented")


# not in the table: torch records this stand-in for a kernel with no derivative
HARDSIGMOID_BACKWARD = Op(
    name="NotImplemented",
    forward=lambda g, x: _as(np.where((x > -3) & (x < 3), g / 6, 0), g),
    vjp=(_no_derivative, _no_derivative),
    saves=SAVES_INPUTS,
    label="hardsigmoid′",
    doc="gradient of hardsigmoid (torch has no derivative for it)",
    category="activation",
    arity=2,
    internal=True,
)

HARDSIGMOID = Op(
    id="activations.HARDSIGMOID",
    name="HardsigmoidBackward0",
    forward=lambda x: _as(np.minimum(np.maximum(x + 3, 0), 6) / 6, x),
    vjp=(lambda g, r, x: apply(HARDSIGMOID_BACKWARD, (g, x)),),
    saves=SAVES_INPUTS,
    sympy=lambda x: _piecewise((0, x <= -3), (1, x >= 3), (x / 6 + sf.sp().Rational(1, 2), True)),
    label="hardsigmoid",
    doc="relu6(x + 3)/6 (torch cannot differentiate its gradient)",
    category="activation",
    kink=lambda x: bool(np.any(np.abs(np.asarray(x)) == 3)),
    sample=lambda rng: ([samples.away_from(rng, samples.S, (-3.0, 3.0)) * 2], {}),
    torch=lambda torch, x: torch.nn.functional.hardsigmoid(x),
)


# -- log sigmoid -----------------------------------------------------------------------------------
LOG_SIGMOID_BACKWARD = Op(
    id="activations.LOG_SIGMOID_BACKWARD",
    name="LogSigmoidBackwardBackward0",
    forward=lambda g, x: _as(g / (1 + np.exp(x)), g),  # g·σ(−x)
    vjp=(lambda gg, _, g, x: apply(LOG_SIGMOID_BACKWARD, (gg, x)),
         lambda gg, _, g, x: gg * g * (x.sigmoid() - 1) * x.sigmoid()),
    saves=SAVES_INPUTS,
    sympy=lambda g, x: g / (1 + sf.sp().exp(x)),
    label="logσ′",
    doc="gradient of log sigmoid: g·σ(−x)",
    category="activation",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S)], {}),
    internal=True,
)

LOG_SIGMOID = Op(
    id="activations.LOG_SIGMOID",
    # torch's CPU kernel keeps e^(−|x|) as its buffer
    saved={"self": Input(0), "buffer": Computed(lambda x: np.exp(-np.abs(x)))},
    name="LogSigmoidBackward0",
    forward=lambda x: _as(-np.logaddexp(0, -x), x),
    vjp=(lambda g, r, x: apply(LOG_SIGMOID_BACKWARD, (g, x)),),
    saves=SAVES_INPUTS,
    sympy=lambda x: -sf.sp().log(1 + sf.sp().exp(-x)),
    label="log σ",
    doc="log of the logistic sigmoid: −softplus(−x)",
    category="activation",
    domain=samples.Domain(-15.0, 15.0),
    torch=lambda torch, x: torch.nn.functional.logsigmoid(x),
)


# -- GLU --------------------------------------------------------------------------------------------
def _halves(x, dim):
    half = x.shape[dim] // 2
    if isinstance(x, np.ndarray):
        return np.split(x, 2, axis=dim)
    return x.narrow(dim, 0, half), x.narrow(dim, half, half)


def _glu_backward_forward(g, x, *, dim):
    a, b = _halves(x, dim)
    s = 1 / (1 + np.exp(-b))
    return _as(np.concatenate([g * s, g * a * s * (1 - s)], axis=dim), g)


def _glu_backward_g(gg, _, g, x, *, dim):
    gga, ggb = _halves(gg, dim)
    a, b = _halves(x, dim)
    s = b.sigmoid()
    return gga * s + ggb * a * s * (1 - s)


def _glu_backward_x(gg, _, g, x, *, dim):
    from .shape import cat
    gga, ggb = _halves(gg, dim)
    a, b = _halves(x, dim)
    s = b.sigmoid()
    ds = s * (1 - s)
    return cat([ggb * g * ds, gga * g * ds + ggb * g * a * ds * (1 - 2 * s)], dim)


def _glu_shape(x, *, dim):
    if x[dim] % 2:
        from .shape_rules import ShapeError
        raise ShapeError(f"glu halves dimension {dim} of {tuple(x)}: its size must be even")
    return x[:dim] + (x[dim] // 2,) + x[dim + 1:] if dim >= 0 else _glu_shape(x, dim=dim + len(x))


GLU_BACKWARD = Op(
    id="activations.GLU_BACKWARD",
    name="GluBackwardBackward0",
    forward=_glu_backward_forward,
    vjp=(_glu_backward_g, _glu_backward_x),
    saves=SAVES_INPUTS,
    shape=lambda g, x, *, dim: tuple(x),
    kind="array",
    label="glu′",
    doc="gradient of GLU: (g·σ(b), g·a·σ′(b)) along dim",
    category="activation",
    arity=2,
    params=(Param("dim", "int", -1),),
    sample=lambda rng: ([samples.uniform(rng, (3, 2)), samples.uniform(rng, (3, 4))], {"dim": 1}),
    internal=True,
)


def _glu_forward(a, b):
    return a / (1 + np.exp(-b))


def _glu_sympy(x, *, dim):
    a, b = np.split(x, 2, axis=dim)
    return a * np.vectorize(sf.sigmoid, otypes=[object])(b)


GLU = Op(
    id="activations.GLU",
    name="GluBackward0",
    forward=lambda x, *, dim: _as(_glu_forward(*np.split(x, 2, axis=dim)), x),
    vjp=(lambda g, r, x, *, dim: apply(GLU_BACKWARD, (g, x), {"dim": dim}),),
    saves=SAVES_INPUTS,
    sympy=_glu_sympy,
    shape=_glu_shape,
    kind="array",
    label="GLU",
    doc="gated linear unit: a·σ(b), a and b the halves of the input along dim",
    category="activation",
    params=(Param("dim", "int", -1, "the dimension halved"),),
    sample=lambda rng: ([samples.uniform(rng, (3, 4))], {"dim": -1}),
    torch=lambda torch, x, dim: torch.nn.functional.glu(x, dim),
)


# -- hardshrink and softshrink ------------------------------------------------------------------------
def _shrunk(x, lambd):
    return (x >= -lambd) & (x <= lambd)


def _at_lambda(*arrays, lambd):
    x = np.asarray(arrays[-1])
    return bool(np.any(np.abs(x) == lambd))


def _shrink_sample(rng, shape):
    return samples.away_from(rng, shape, (-0.5, 0.5))


def _shrink_backward(id, name, label):
    return _backward_row(
        id, name, lambda g, x, *, lambd: np.where(_shrunk(x, lambd), 0, g).astype(g.dtype, copy=False),
        f"{label}: g where |x| > λ, 0 elsewhere", (Param("lambd", "float", 0.5),), {"lambd": 0.5},
        kink=_at_lambda, x_sample=_shrink_sample)


HARDSHRINK_BACKWARD = _shrink_backward("activations.HARDSHRINK_BACKWARD", "HardshrinkBackwardBackward0",
                                       "hardshrink′")
SOFTSHRINK_BACKWARD = _shrink_backward("activations.SOFTSHRINK_BACKWARD", "SoftshrinkBackwardBackward0",
                                       "softshrink′")

HARDSHRINK = Op(
    id="activations.HARDSHRINK",
    name="HardshrinkBackward0",
    forward=lambda x, *, lambd: np.where(_shrunk(x, lambd), 0, x).astype(x.dtype, copy=False),
    vjp=(lambda g, r, x, *, lambd: apply(HARDSHRINK_BACKWARD, (g, x), {"lambd": lambd}),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, lambd: _piecewise((0, (x >= -lambd) & (x <= lambd)), (x, True)),
    label="hardshrink",
    doc="x where |x| > λ, 0 elsewhere",
    category="activation",
    params=(Param("lambd", "float", 0.5),),
    kink=_at_lambda,
    sample=lambda rng: ([_shrink_sample(rng, samples.S)], {"lambd": 0.5}),
    torch=lambda torch, x, lambd: torch.nn.functional.hardshrink(x, lambd),
)

SOFTSHRINK = Op(
    id="activations.SOFTSHRINK",
    name="SoftshrinkBackward0",
    forward=lambda x, *, lambd: _as(np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)), x),
    vjp=(lambda g, r, x, *, lambd: apply(SOFTSHRINK_BACKWARD, (g, x), {"lambd": lambd}),),
    saves=SAVES_INPUTS,
    sympy=lambda x, *, lambd: _piecewise((x - lambd, x > lambd), (x + lambd, x < -lambd), (0, True)),
    label="softshrink",
    doc="x − λ above λ, x + λ below −λ, 0 between",
    category="activation",
    params=(Param("lambd", "float", 0.5),),
    kink=_at_lambda,
    sample=lambda rng: ([_shrink_sample(rng, samples.S)], {"lambd": 0.5}),
    torch=lambda torch, x, lambd: torch.nn.functional.softshrink(x, lambd),
)


# -- threshold ----------------------------------------------------------------------------------------
def _threshold_row(id, name, overload, torch):
    return Op(
        id=id,
        saved={"self": Input(0), "threshold": ScalarArg("threshold")},
        name=name,
        overload=overload,
        forward=lambda x, *, threshold, value: np.where(x <= threshold, value, x).astype(x.dtype, copy=False),
        vjp=(lambda g, r, x, *, threshold, value: apply(RELU_BACKWARD, (g, x), {"threshold": threshold}),),
        saves=SAVES_INPUTS,
        sympy=lambda x, *, threshold, value: _piecewise((value, x <= threshold), (x, True)),
        label="threshold",
        doc="x above the threshold, value at and below it",
        category="activation",
        params=(Param("threshold", "float"), Param("value", "float")),
        kink=lambda x, *, threshold, value: bool(np.any(np.asarray(x) == threshold)),
        sample=lambda rng: ([samples.away_from(rng, samples.S, (0.5,))], {"threshold": 0.5, "value": -2.0}),
        torch=torch,
    )


THRESHOLD = _threshold_row("activations.THRESHOLD", "ThresholdBackward0", "threshold",
                           lambda torch, x, threshold, value: torch.nn.functional.threshold(x, threshold, value))
THRESHOLD_INPLACE = _threshold_row("activations.THRESHOLD_INPLACE", "ThresholdBackward1", "threshold_ (in place)",
                                   lambda torch, x, threshold, value: torch.threshold_(x.clone(), threshold, value))


# -- PReLU ---------------------------------------------------------------------------------------------
# torch's _prelu_kernel: elementwise and broadcasting (F.prelu views a per-channel weight as
# (1, C, 1, …) first), so the engine sums the weight's gradient back to its shape
def _negative_part(t, x):
    return t.masked_fill(x > 0, 0.0)


def _prelu_rows():
    """torch's prelu kernel backward is one node with two outputs; here it is two rows of
    that name, one per output, each on (g, x, weight)."""
    common = dict(saves=SAVES_INPUTS, category="activation", arity=3, internal=True,
                  kink=lambda g, x, w: kinks.at_zero(x),
                  sample=lambda rng: ([samples.uniform(rng, samples.S), samples.away_from_zero(rng, samples.S),
                                       samples.uniform(rng, (3, 1), 0.1, 0.5)], {}))
    d_input = Op(
        id="activations.PRELU_BACKWARD_INPUT",
        name="PreluKernelBackwardBackward0",
        forward=lambda g, x, w: _as(np.where(x > 0, g, g * w), g),
        vjp=(lambda gg, _, g, x, w: apply(d_input, (gg, x, w)),
             lambda gg, _, g, x, w: _zeros_like(gg),
             lambda gg, _, g, x, w: _negative_part(gg * g, x)),
        label="prelu′ₓ",
        doc="PReLU's input gradient: g above 0, g·weight below",
        **common)
    d_weight = Op(
        id="activations.PRELU_BACKWARD_WEIGHT",
        name="PreluKernelBackwardBackward0",
        forward=lambda g, x, w: _as(np.where(x > 0, 0, g * x), g),
        vjp=(lambda gg, _, g, x, w: _negative_part(gg * x, x),
             lambda gg, _, g, x, w: _negative_part(gg * g, x),
             lambda gg, _, g, x, w: _zeros_like(gg)),
        label="prelu′_w",
        doc="PReLU's weight gradient before it is summed to the weight's shape: g·x below 0",
        **common)
    return d_input, d_weight


PRELU_BACKWARD_INPUT, PRELU_BACKWARD_WEIGHT = _prelu_rows()

PRELU = Op(
    id="activations.PRELU",
    saved={"self": Input(0), "weight": Input(1)},
    name="PreluKernelBackward0",
    forward=lambda x, w: _as(np.where(x > 0, x, w * x), x),
    vjp=(lambda g, r, x, w: apply(PRELU_BACKWARD_INPUT, (g, x, w)),
         lambda g, r, x, w: apply(PRELU_BACKWARD_WEIGHT, (g, x, w))),
    saves=SAVES_INPUTS,
    sympy=lambda x, w: _piecewise((x, x > 0), (w * x, True)),
    label="PReLU",
    doc="x above 0, weight·x below (the weight broadcast: one learned slope, or one per channel)",
    category="activation",
    arity=2,
    kink=lambda x, w: kinks.at_zero(x),
    sample=lambda rng: ([samples.away_from_zero(rng, samples.S), samples.uniform(rng, (3, 1), 0.1, 0.5)], {}),
    torch=lambda torch, x, w: torch._prelu_kernel(x, w),
)
