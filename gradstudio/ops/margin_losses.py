"""The margin losses torch computes in one kernel each, so one node each:
``SoftMarginLossBackward0`` (log(1 + e^(−t·x))), ``MultiMarginLossBackward0`` (the
hinge of every wrong class against the target class) and
``MultilabelMarginLossBackward0`` (the hinge of every non-target class against every
target class). Their gradients are recorded as torch's: SoftMarginLossBackwardBackward0
(differentiable again), and a NotImplemented node for the other two, whose backward
raises torch's error. torch's node has one edge, the input's: the target (and the class
weights) are no inputs of it, so the rows keep them in their params, as arrays, and
save them as tensors. The margin losses torch composes of other ops are in
:mod:`gradstudio.ops.loss_compositions`.
"""
from __future__ import annotations

import numpy as np

from ..autograd.saved import Arg, Computed, Input, SavedArg, as_tensor, reduction
from ..tensor import Tensor
from . import _sympy as sf
from .losses import _reduced, _scale, promoted
from .table import Op, Param, SAVES_INDICES, SAVES_INPUTS, apply


def not_differentiable(function: str, argument: str, tensor) -> None:
    """torch's error, at the call, for a tensor that requires grad where the kernel has no
    derivative (a loss's target)."""
    if tensor._requires_grad:
        from ..autograd.grad_mode import state
        if state.enabled:
            raise RuntimeError(f"The function '{function}' is not differentiable with respect to argument "
                               f"'{argument}'. This input cannot have requires_grad True.")


# -- soft margin -------------------------------------------------------------------------------------
def _soft_margin_forward(x, *, target, reduction):
    t = target
    with np.errstate(over="ignore"):
        loss = np.log1p(np.exp(-x * t))
    return _reduced(loss.astype(x.dtype, copy=False), reduction)


def _soft_margin_slope(x, t):
    """d/dx log(1 + e^(−t·x)) = −t·z / (1 + z), z = e^(−t·x) (tensors: differentiable again)."""
    z = (-t * x).exp()
    return -t * z / (z + 1)


def _soft_margin_vjp(g, r, x, *, target, reduction):
    return apply(SOFT_MARGIN_BACKWARD, (g, x), {"target": target, "reduction": reduction})


def _soft_margin_backward_forward(g, x, *, target, reduction):
    z = np.exp(-target * x)
    spread = np.broadcast_to(g, x.shape) / (x.size if reduction == "mean" else 1)
    return (spread * (-target * z / (1 + z))).astype(x.dtype, copy=False)


def _soft_margin_curvature(x, t):
    """d²/dx² log(1 + e^(−t·x)) = t²·z / (1 + z)²."""
    z = (-t * x).exp()
    return t * t * z / ((z + 1) * (z + 1))


# torch's own node for the gradient (create_graph=True), with rules for both its inputs
SOFT_MARGIN_BACKWARD = Op(
    id="margin.SOFT_MARGIN_BACKWARD",
    saved={"grad_output": Input(0), "self": Input(1), "target": SavedArg("target", as_tensor),
           "reduction": reduction()},
    name="SoftMarginLossBackwardBackward0",
    forward=_soft_margin_backward_forward,
    vjp=(lambda gg, r, g, x, *, target, reduction:
         _scale_down(gg * _soft_margin_slope(x, Tensor._make(target)), x, reduction),
         lambda gg, r, g, x, *, target, reduction:
         gg * _scale(g, x.shape, reduction) * _soft_margin_curvature(x, Tensor._make(target))),
    saves=SAVES_INPUTS | SAVES_INDICES,
    kind="array",
    label="soft margin′",
    doc="gradient of the soft margin loss",
    category="loss",
    arity=2,
    params=(Param("target", "Tensor"), Param("reduction", "str", "mean")),
    sample=lambda rng: ([np.asarray(0.7), rng.uniform(-2.0, 2.0, (3, 4))],
                        {"target": np.where(rng.random((3, 4)) < 0.5, -1.0, 1.0), "reduction": "mean"}),
    internal=True,
)


def _scale_down(gradient, x, reduction):
    """The gradient of a loss's reduced incoming gradient: summed over the elements (the
    engine sums it to the 0-d shape), over their count for "mean"."""
    return gradient / x.numel() if reduction == "mean" else gradient


def _gradient_node(op, x, array):
    """``array``, the gradient of a kernel torch has no double backward for, recorded (when
    create_graph asks for it) as torch records it: a NotImplemented node on the input
    that raises torch's error if a backward reaches it."""
    from ..autograd.grad_mode import state
    if state.enabled and x._requires_grad:
        return apply(op, (x,), {"gradient": array})
    return Tensor._make(array)


def _not_implemented_row(kernel: str) -> Op:
    """A row outside the table (no id: nothing to sample, replay or differentiate)."""
    return Op(
        name="NotImplemented",
        qualified_name="torch::autograd::NotImplemented",
        overload=f"the gradient of {kernel.removesuffix('_backward')} with create_graph=True",
        forward=lambda x, *, gradient: gradient,
        vjp=(None,),  # the engine raises torch's error, naming the kernel (the label)
        saves=SAVES_INDICES,
        saved={},
        kind="array",
        label=f"aten::{kernel}",
        doc=f"torch has no derivative for {kernel}",
        category="loss",
        params=(Param("gradient", "Tensor"),),
        internal=True,
    )


MULTI_MARGIN_BACKWARD = _not_implemented_row("multi_margin_loss_backward")
MULTILABEL_MARGIN_BACKWARD = _not_implemented_row("multilabel_margin_loss_backward")


SOFT_MARGIN_LOSS = Op(
    id="margin.SOFT_MARGIN_LOSS",
    saved={"self": Input(0), "target": SavedArg("target", as_tensor), "reduction": reduction()},
    name="SoftMarginLossBackward0",
    forward=_soft_margin_forward,
    vjp=(_soft_margin_vjp,),
    saves=SAVES_INPUTS | SAVES_INDICES,
    sympy=lambda x, *, target, reduction: sf._reduce(
        np.vectorize(lambda a, b: sf.sp().log(1 + sf.sp().exp(-a * b)), otypes=[object])(x, target), reduction),
    kind="reduction",
    label="soft margin",
    doc="log(1 + e^(−t·x)), t = ±1",
    category="loss",
    params=(Param("target", "Tensor", doc="±1 for each element (floating)"), Param("reduction", "str", "mean")),
    sample=lambda rng: ([rng.uniform(-2.0, 2.0, (3, 4))],
                        {"target": np.where(rng.random((3, 4)) < 0.5, -1.0, 1.0), "reduction": "mean"}),
    torch=lambda torch, x, target, reduction: torch.nn.functional.soft_margin_loss(
        x, torch.tensor(target, dtype=x.dtype), reduction=reduction),
)


def soft_margin_loss(input, target, reduction: str):
    not_differentiable("soft_margin_loss", "target", target)
    input, target = promoted(input, target)
    dtype = np.result_type(input._data, target._data)
    return apply(SOFT_MARGIN_LOSS, (input if input._data.dtype == dtype else input.to(target.dtype),),
                 {"target": target._data, "reduction": reduction})


# -- multi-class margin ------------------------------------------------------------------------------
def _frames(x: np.ndarray) -> np.ndarray:
    """The input as (frames, classes): a vector (or a number) is one frame."""
    return x.reshape(1, -1) if x.ndim < 2 else x


def _multi_margin_parts(x, target, margin):
    """(the hinge z = margin − x[y] + x[d] per frame and class, where it is active: z > 0
    and d is not the target class, the target's one-hot)"""
    x2 = _frames(x)
    t = target.reshape(-1)
    rows = np.arange(x2.shape[0])
    z = margin - x2[rows, t][:, None] + x2
    target_class = np.zeros(x2.shape, dtype=bool)
    target_class[rows, t] = True
    return z, (z > 0) & ~target_class, target_class


def _class_weights(x2, target, weight):
    if weight is None:
        return np.ones((x2.shape[0], 1), dtype=x2.dtype)
    return weight[target.reshape(-1)][:, None].astype(x2.dtype, copy=False)


def _multi_margin_forward(x, *, target, weight, p, margin, reduction):
    x2 = _frames(x)
    z, active, _ = _multi_margin_parts(x, target, margin)
    h = np.where(active, z if p == 1 else z * z, 0) * _class_weights(x2, target, weight)
    per_frame = (h.sum(axis=1) / x2.shape[1]).astype(x.dtype, copy=False)
    if reduction == "none" and target.ndim > 0:
        return per_frame
    total = per_frame.sum(dtype=x.dtype)
    return np.asarray(total / x2.shape[0] if reduction == "mean" else total, dtype=x.dtype)


def _multi_margin_vjp(g, r, x, *, target, weight, p, margin, reduction):
    data = x._data
    frames, classes = _frames(data).shape
    z, active, target_class = _multi_margin_parts(data, target, margin)
    coefficient = np.where(active, 1 if p == 1 else 2 * z, 0) * _class_weights(_frames(data), target, weight)
    # +c at each active class, −Σc at the target class
    per_class = coefficient - target_class * coefficient.sum(axis=1, keepdims=True)
    divisor = classes * frames if reduction == "mean" else classes
    g = g._data.reshape(frames, 1) if g.ndim else g._data
    gradient = (per_class * (g / divisor)).astype(data.dtype, copy=False).reshape(data.shape)
    return _gradient_node(MULTI_MARGIN_BACKWARD, x, gradient)


def _multi_margin_sympy(x, *, target, weight, p, margin, reduction):
    S = sf.sp()
    x2 = _frames(x)
    t = np.asarray(target).reshape(-1)
    losses = []
    for n in range(x2.shape[0]):
        w = 1 if weight is None else weight[t[n]]
        terms = [S.Max(0, margin - x2[n, t[n]] + x2[n, d]) ** p for d in range(x2.shape[1]) if d != t[n]]
        losses.append(w * S.Add(*terms) / x2.shape[1])
    losses = np.array(losses + [0], dtype=object)[:-1]
    if reduction == "none" and np.ndim(target) > 0:
        return losses
    total = S.Add(*losses)
    return np.array(total / len(losses) if reduction == "mean" else total, dtype=object)


MULTI_MARGIN_LOSS = Op(
    id="margin.MULTI_MARGIN_LOSS",
    saved={"self": Input(0), "target": SavedArg("target", as_tensor),
           "weight": SavedArg("weight", lambda w: None if w is None else as_tensor(w)), "p": Arg("p"),
           "margin": Arg("margin"), "reduction": reduction()},
    name="MultiMarginLossBackward0",
    forward=_multi_margin_forward,
    vjp=(_multi_margin_vjp,),
    saves=SAVES_INPUTS | SAVES_INDICES,
    sympy=_multi_margin_sympy,
    kind="reduction",
    label="multi margin",
    doc="Σ_{d≠y} max(0, margin − x_y + x_d)ᵖ / C: every wrong class's hinge",
    category="loss",
    params=(Param("target", "Tensor", doc="the class of each frame"),
            Param("weight", "Tensor?", None, doc="a weight for each class (floating)"),
            Param("p", "int", 1), Param("margin", "float", 1.0), Param("reduction", "str", "mean")),
    sample=lambda rng: ([np.array([[0.3, -1.2, 0.9, 0.1], [1.5, 0.2, -0.4, 0.8], [-0.7, 0.6, 0.35, -1.9]])],
                        {"target": np.array([2, 0, 1]), "weight": None, "p": 2, "margin": 1.0, "reduction": "mean"}),
    torch=lambda torch, x, target, weight, p, margin, reduction: torch.nn.functional.multi_margin_loss(
        x, torch.tensor(target), p, margin, None if weight is None else torch.tensor(weight, dtype=x.dtype),
        reduction=reduction),
)


def _frame_check(input) -> tuple:
    x = input._data
    if not ((x.ndim == 2 and x.shape[1]) or (x.ndim == 1 and x.shape[0]) or x.ndim == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(x.shape)}")
    return (1, 1 if x.ndim == 0 else x.shape[0]) if x.ndim < 2 else x.shape


def _long(target, expected: str = "Long"):
    from ..dtypes import scalar_type_name
    if target._data.dtype != np.int64:
        raise RuntimeError(f"expected scalar type {expected} but found {scalar_type_name(target._data.dtype)}")


def multi_margin_loss(input, target, p: int, margin: float, weight, reduction: str):
    frames, classes = _frame_check(input)
    t = target._data
    if t.ndim > 1 or t.size != frames:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{frames}], but got {list(t.shape)}. "
                           f"Input has shape {list(input._data.shape)}.")
    if weight is not None and (weight._data.ndim > 1 or weight._data.size != classes):
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {list(weight._data.shape)}")
    _long(target)
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise RuntimeError("target out of range")
    return apply(MULTI_MARGIN_LOSS, (input,), {"target": t, "weight": None if weight is None else weight._data,
                                               "p": int(p), "margin": float(margin), "reduction": reduction})


# -- multi-label margin ------------------------------------------------------------------------------
def _multilabel_parts(x, target):
    """(the hinges z = 1 − x[y_j] + x[d] for each frame, target slot j and class d, where
    they count: slot j holds a target (before the first −1), d is no target, z > 0;
    which classes are targets)"""
    x2, t = _frames(x), _frames(target)
    slots = np.cumprod(t >= 0, axis=1).astype(bool)          # targets end at the first −1
    classes = np.where(slots, t, 0)
    rows = np.arange(x2.shape[0])[:, None]
    is_target = np.zeros(x2.shape, dtype=bool)
    is_target[np.broadcast_to(rows, t.shape)[slots], t[slots]] = True
    z = 1 - x2[rows, classes][:, :, None] + x2[:, None, :]
    counted = slots[:, :, None] & ~is_target[:, None, :] & (z > 0)
    return z, counted, classes, is_target


def _multilabel_forward(x, *, target, reduction):
    x2 = _frames(x)
    z, counted, _, _ = _multilabel_parts(x, target)
    per_frame = (np.where(counted, z, 0).sum(axis=(1, 2)) / x2.shape[1]).astype(x.dtype, copy=False)
    if reduction == "none":
        return per_frame if x.ndim == 2 else per_frame.reshape(())
    total = per_frame.sum(dtype=x.dtype)
    return np.asarray(total / x2.shape[0] if reduction == "mean" else total, dtype=x.dtype)


def _multilabel_coefficients(x, target, reduction):
    """d loss / d x for every element (before the incoming gradient): +1 for each hinge
    a class is the wrong side of, −1 for each hinge its target class is in, over C (and
    the frames for "mean"). Constant: the loss is piecewise linear."""
    x2 = _frames(x)
    z, counted, classes, _ = _multilabel_parts(x, target)
    coefficient = counted.sum(axis=1).astype(x.dtype)
    rows = np.broadcast_to(np.arange(x2.shape[0])[:, None], classes.shape)
    np.subtract.at(coefficient, (rows, classes), counted.sum(axis=2))
    return coefficient / (x2.shape[1] * (x2.shape[0] if reduction == "mean" else 1))


def _multilabel_vjp(g, r, x, *, target, reduction):
    data = x._data
    g = g._data.reshape(-1, 1) if reduction == "none" and x.ndim == 2 else g._data
    gradient = (_multilabel_coefficients(data, target, reduction) * g).astype(data.dtype, copy=False)
    return _gradient_node(MULTILABEL_MARGIN_BACKWARD, x, gradient.reshape(data.shape))


def _multilabel_sympy(x, *, target, reduction):
    S = sf.sp()
    x2, t = _frames(x), _frames(np.asarray(target))
    losses = []
    for n in range(x2.shape[0]):
        targets = []
        for y in t[n]:
            if y < 0:
                break
            targets.append(int(y))
        terms = [S.Max(0, 1 - x2[n, y] + x2[n, d]) for y in targets for d in range(x2.shape[1]) if d not in targets]
        losses.append(S.Add(*terms) / x2.shape[1])
    losses = np.array(losses + [0], dtype=object)[:-1]
    if reduction == "none":
        return losses if np.ndim(x) == 2 else np.array(losses[0], dtype=object)
    total = S.Add(*losses)
    return np.array(total / len(losses) if reduction == "mean" else total, dtype=object)


MULTILABEL_MARGIN_LOSS = Op(
    id="margin.MULTILABEL_MARGIN_LOSS",
    saved={"self": Input(0), "target": SavedArg("target", as_tensor), "reduction": reduction(),
           "is_target": Computed(lambda x, *, target, reduction: _multilabel_parts(x, target)[3]
                                 .astype(x.dtype).reshape(x.shape))},
    name="MultilabelMarginLossBackward0",
    forward=_multilabel_forward,
    vjp=(_multilabel_vjp,),
    saves=SAVES_INPUTS | SAVES_INDICES,
    sympy=_multilabel_sympy,
    kind="reduction",
    label="multi-label margin",
    doc="Σ_j Σ_{d not a target} max(0, 1 − x_{y_j} + x_d) / C: each target class above each other",
    category="loss",
    params=(Param("target", "Tensor", doc="each frame's target classes, ended by −1"),
            Param("reduction", "str", "mean")),
    sample=lambda rng: ([np.array([[0.3, -1.2, 0.9, 0.1], [1.5, 0.2, -0.4, 0.8], [-0.7, 0.6, 0.35, -1.9]])],
                        {"target": np.array([[2, 0, -1, 1], [1, -1, 0, 0], [3, 1, 2, -1]]), "reduction": "sum"}),
    torch=lambda torch, x, target, reduction: torch.nn.functional.multilabel_margin_loss(
        x, torch.tensor(target), reduction=reduction),
)


def multilabel_margin_loss(input, target, reduction: str):
    frames, classes = _frame_check(input)
    t = target._data
    if (input._data.ndim < 2 and not (t.ndim <= 1 and t.size == classes)) or (
            input._data.ndim == 2 and t.shape != (frames, classes)):
        raise RuntimeError(f"inconsistent target size: {list(t.shape)} for input of size: "
                           f"{list(input._data.shape)}")
    if t.size and (t.min() < -1 or t.max() >= classes):
        raise RuntimeError("argument #2 'target' is out of range")
    _long(target)
    return apply(MULTILABEL_MARGIN_LOSS, (input,), {"target": t, "reduction": reduction})
