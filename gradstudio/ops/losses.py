"""Loss functions as single ops, as torch records them: ``MseLossBackward0``,
``NllLossBackward0``, ``BinaryCrossEntropyBackward0``,
``BinaryCrossEntropyWithLogitsBackward0``. ``cross_entropy`` is
``nll_loss(log_softmax(x))``, two nodes, as in torch.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.saved import Arg, Computed, Const, Input, reduction
from ..autograd.engine import fit_array, no_derivative
from ..tensor import Tensor, make
from . import _sympy as sf
from . import _matrix
from . import kinks, samples, shape_rules
from .table import Op, Param, SAVES_INPUTS, apply, array_rules, node_rule, record

_REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


def _reduced(loss: np.ndarray, reduction: str) -> np.ndarray:
    return np.asarray(_REDUCE[reduction](loss)).astype(loss.dtype, copy=False)


def _scale(g, shape, reduction):
    """The incoming gradient spread over the unreduced loss."""
    if reduction == "none":
        return g
    g = g.expand(*shape)
    return g / int(np.prod(shape)) if reduction == "mean" else g


def _mse_vjp(sign):
    def rule(g, r, x, t, *, reduction):
        diff = x - t
        return _scale(g, diff.shape, reduction) * diff * (2.0 * sign)
    return rule


MSE_LOSS = Op(
    id="losses.MSE_LOSS",
    saved={"self": Input(0), "target": Input(1), "reduction": reduction()},
    name="MseLossBackward0",
    forward=lambda x, t, *, reduction: _reduced((x - t) ** 2, reduction),
    vjp=(_mse_vjp(1), _mse_vjp(-1)),
    saves=SAVES_INPUTS,
    sympy=sf.mse_loss,
    matrix=_matrix.mse_loss,
    element=sf.mse_element,
    kind="reduction",
    label="MSE",
    doc="mean squared error",
    category="loss",
    arity=2,
    params=(Param("reduction", "str", "mean"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S)], {"reduction": "mean"}),
    torch=lambda torch, x, t, reduction: torch.nn.functional.mse_loss(x, t, reduction=reduction),
)


def _l1_vjp(sign):
    def rule(g, r, x, t, *, reduction):
        diff = x - t
        return _scale(g, diff.shape, reduction) * diff.sign() * sign
    return rule


L1_LOSS = Op(
    id="losses.L1_LOSS",
    name="L1LossBackward0",
    forward=lambda x, t, *, reduction: _reduced(np.abs(x - t), reduction),
    vjp=(_l1_vjp(1), _l1_vjp(-1)),
    saves=SAVES_INPUTS,
    sympy=sf.l1_loss,
    element=sf.l1_element,
    kind="reduction",
    label="L1",
    doc="mean absolute error",
    category="loss",
    arity=2,
    params=(Param("reduction", "str", "mean"),),
    kink=kinks.tie,
    sample=lambda rng: samples.untied_pair(rng, {"reduction": "sum"}),
    torch=lambda torch, x, t, reduction: torch.nn.functional.l1_loss(x, t, reduction=reduction),
)


def _nll_parts(x_shape, target, ignore_index):
    target = target.reshape(-1) if len(x_shape) == 2 else target.reshape(1)
    keep = target != ignore_index
    n = target.shape[0]
    kept = np.count_nonzero(keep)
    if kept == n:  # nothing ignored (the usual case): no boolean indexing
        # the count stays a numpy int64, as keep.sum() gives: float32 / int64 divides in float64
        return np.arange(n), target, np.int64(n)
    rows = np.arange(n)[keep]
    return rows, target[keep], keep.sum()


_I64 = np.dtype(np.int64)
_U64 = np.dtype(np.uint64)
_ROWS: dict = {}


def _rows(n: int) -> np.ndarray:
    """``np.arange(n)``, read-only and kept for the batch sizes a training loop repeats."""
    rows = _ROWS.get(n)
    if rows is None:
        rows = np.arange(n)
        rows.flags.writeable = False
        if len(_ROWS) < 64:
            _ROWS[n] = rows
    return rows


def _nll_columns(x, target, ignore_index):
    """The common case's column indices, or None: a non-empty batch (2-d input), an int64
    target with one entry per row and an ``ignore_index`` that is no class, so no row is
    ignored once every target is a class. The target is viewed as uint64: a negative one
    is then larger than every class, so one range check refuses both (see
    :func:`_nll_picked`)."""
    if (x.ndim == 2 and x.shape[0] and target.dtype == _I64 and target.shape == x.shape[:1]
            and not 0 <= ignore_index < x.shape[1]):
        return target.view(_U64)
    return None


def _nll_picked(x, target, reduction):
    """The common case's loss (``target`` as :func:`_nll_columns` accepts it: int64, one
    per row); None when a target is no class (the general path then says what torch
    says). The range check reads the target as uint64, where a negative one is larger
    than every class; the pick indexes with the int64 array itself, which numpy uses as
    it is (uint64 indices it converts to intp first: a pass more, and a negative target
    would wrap)."""
    if not np.maximum.reduce(target.view(_U64)) < x.shape[1]:
        return None
    n = x.shape[0]
    rows = _ROWS.get(n)
    picked = x[rows if rows is not None else _rows(n), target]
    if reduction == "none":
        return np.negative(picked, out=picked)
    # −Σx = Σ(−x) exactly (rounding is symmetric), in the same order
    total = -np.add.reduce(picked, dtype=x.dtype)
    if reduction != "mean":
        return np.asarray(total, dtype=x.dtype)
    if x.dtype.itemsize <= 8:
        # total / int64(n) divides in float64, then rounds to x's dtype: float(total) / n is
        # that same IEEE division (n < 2**53) without numpy's scalar type promotion
        return np.asarray(float(total) / n, dtype=x.dtype)
    return np.asarray(total / _I64.type(n), dtype=x.dtype)


def _nll_forward(x, target, *, reduction, ignore_index):
    if _nll_columns(x, target, ignore_index) is not None:
        out = _nll_picked(x, target, reduction)
        if out is not None:
            return out
    x2 = x if x.ndim == 2 else x.reshape(1, -1)
    rows, cols, count = _nll_parts(x.shape, target, ignore_index)
    picked = np.zeros(x2.shape[0], dtype=x.dtype)
    picked[rows] = -x2[rows, cols]
    if reduction == "none":
        return picked if x.ndim == 2 else picked.reshape(())
    total = picked.sum(dtype=x.dtype)
    return np.asarray(total / count if reduction == "mean" else total, dtype=x.dtype)


def _nll_vjp(g, r, x, target, *, reduction, ignore_index):
    weights = Tensor._make(_nll_mask(g._data.dtype, x.shape, target._data, reduction, ignore_index))
    if reduction == "none":
        gg = g.unsqueeze(1) if len(x.shape) == 2 else g
        return weights * gg
    return weights * g


def _nll_mask(g_dtype, x_shape, target, reduction, ignore_index):
    """The gradient of the loss for each input element: −1 (divided by the count for
    "mean") where the target picks it, 0 elsewhere."""
    shape2 = x_shape if len(x_shape) == 2 else (1, x_shape[0])
    mask = np.zeros(shape2, dtype=g_dtype)
    columns = _nll_columns(mask, target, ignore_index)
    if columns is not None:
        try:
            # −1/n written once, not −1 then a pass dividing every element (the zeros stay
            # +0 either way, and the quotient rounds to the mask's dtype the same)
            mask[_rows(shape2[0]), columns] = -1.0 / shape2[0] if reduction == "mean" else -1.0
        except IndexError:  # some elements may be written by then
            mask = np.zeros(shape2, dtype=g_dtype)
        else:
            return mask
    rows, cols, count = _nll_parts(x_shape, target, ignore_index)
    mask[rows, cols] = -1.0
    if reduction == "mean":
        mask /= count
    return mask.reshape(x_shape)


def _total_weight(x, target, *, reduction, ignore_index):
    """torch's saved ``total_weight`` of nll_loss (no class weights): the targets not ignored."""
    return np.asarray((np.asarray(target) != ignore_index).sum(), dtype=x.dtype)


NLL_LOSS = Op(
    id="losses.NLL_LOSS",
    saved={"self": Input(0), "target": Input(1), "weight": Const(None), "reduction": reduction(),
           "ignore_index": Arg("ignore_index"), "total_weight": Computed(_total_weight)},
    shape=shape_rules.loss,
    name="NllLossBackward0",
    forward=_nll_forward,
    vjp=(_nll_vjp, None),
    saves=SAVES_INPUTS,
    sympy=sf.nll_loss,
    matrix=_matrix.nll_loss,
    kind="reduction",
    label="NLL",
    doc="negative log-likelihood",
    category="loss",
    arity=2,
    params=(Param("reduction", "str", "mean"), Param("ignore_index", "int", -100)),
    sample=lambda rng: ([samples.uniform(rng, samples.S), np.array([0, 3, 1])],
                        {"reduction": "mean", "ignore_index": -100}),
    torch=lambda torch, x, t, reduction, ignore_index: torch.nn.functional.nll_loss(
                                                                                    x, t, reduction=reduction, ignore_index=ignore_index),
)


def _nll_array_vjp(g, r, x, target, *, reduction, ignore_index):
    """:func:`_nll_vjp` on arrays (backward passes that are not recorded)."""
    weights = _nll_mask(g.dtype, x.shape, target, reduction, ignore_index)
    if reduction == "none":
        return weights * (g[:, None] if len(x.shape) == 2 else g)
    return weights * g


array_rules(NLL_LOSS, _nll_array_vjp, None)


def _nll_node(g, node, inputs):
    """NLL_LOSS's node rule: _nll_array_vjp without its keyword call (torch has no
    derivative for the target)."""
    (edge, _), (target_edge, _) = node.next_functions
    if target_edge is not None:
        raise RuntimeError(no_derivative(node.op, 1))
    if edge is None:
        return None, None
    x, target = inputs
    x, target = x._data, target._data
    params = node._params
    reduction = params["reduction"]
    weights = _nll_mask(g.dtype, x.shape, target, reduction, params["ignore_index"])
    if reduction == "none":
        out = weights * (g[:, None] if len(x.shape) == 2 else g)
    elif g.ndim == 0 and g.dtype == weights.dtype and g.item() == 1:
        out = weights  # the loss as the root: weights · 1 is the weights, bit for bit
    else:
        out = weights * g
    if not (type(out) is np.ndarray and out.shape == x.shape and out.dtype == x.dtype):
        out = fit_array(out, x)
    return out, None


node_rule(NLL_LOSS, _nll_node)

_EPS = 1e-12


def _bce_forward(x, t, *, reduction):
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100)
        log_1mx = np.maximum(np.log1p(-x), -100)
    return _reduced(-(t * log_x + (1 - t) * log_1mx), reduction)


def _bce_vjp(g, r, x, t, *, reduction):
    denominator = ((1 - x) * x).clamp(min=_EPS)
    return _scale(g, x.shape, reduction) * (x - t) / denominator


def _bce_target_vjp(g, r, x, t, *, reduction):
    # ∂/∂t of -(t·log x + (1-t)·log(1-x)), with the forward's log clamp at -100
    return _scale(g, x.shape, reduction) * ((-x).log1p().clamp(min=-100) - x.log().clamp(min=-100))


BCE = Op(
    id="losses.BCE",
    saved={"self": Input(0), "target": Input(1), "weight": Const(None), "reduction": reduction()},
    name="BinaryCrossEntropyBackward0",
    forward=_bce_forward,
    vjp=(_bce_vjp, _bce_target_vjp),
    saves=SAVES_INPUTS,
    sympy=sf.binary_cross_entropy,
    matrix=_matrix.bce,
    element=sf.bce_element,
    kind="reduction",
    label="BCE",
    doc="binary cross-entropy of probabilities",
    category="loss",
    arity=2,
    params=(Param("reduction", "str", "mean"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S, 0.1, 0.9), samples.uniform(rng, samples.S, 0.0, 1.0)],
                        {"reduction": "mean"}),
    torch=lambda torch, x, t, reduction: torch.nn.functional.binary_cross_entropy(x, t, reduction=reduction),
)


def _bce_logits_forward(x, t, *, reduction):
    loss = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    return _reduced(loss.astype(x.dtype, copy=False), reduction)


BCE_LOGITS = Op(
    id="losses.BCE_LOGITS",
    saved={"self": Input(0), "target": Input(1), "weight": Const(None), "pos_weight": Const(None),
           "reduction": reduction()},
    name="BinaryCrossEntropyWithLogitsBackward0",
    forward=_bce_logits_forward,
    vjp=(lambda g, r, x, t, *, reduction: _scale(g, x.shape, reduction) * (x.sigmoid() - t),
         lambda g, r, x, t, *, reduction: _scale(g, x.shape, reduction) * -x),
    saves=SAVES_INPUTS,
    sympy=sf.binary_cross_entropy_with_logits,
    matrix=_matrix.bce_with_logits,
    element=sf.bce_logits_element,
    kind="reduction",
    label="BCE",
    doc="binary cross-entropy of logits",
    category="loss",
    arity=2,
    params=(Param("reduction", "str", "mean"),),
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, samples.S, 0.0, 1.0)],
                        {"reduction": "sum"}),
    torch=lambda torch, x, t, reduction: torch.nn.functional.binary_cross_entropy_with_logits(
                                                                                              x, t, reduction=reduction),
)


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """The reduction a call asks for: ``reduction``, or, when the legacy pair is given,
    what it means, with torch's deprecation warning."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                  "instead.", UserWarning, stacklevel=3)
    return reduction


def _check_reduction(reduction):
    if reduction not in _REDUCE:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _broadcast_warning(input, target):
    if input._data.shape != target._data.shape:
        import warnings
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)


def promoted(input, target) -> tuple:
    """``(input, target)`` for an elementwise loss, an integer or bool operand
    converted to the other's floating dtype as torch promotes them: numpy would
    compute float32 against an int64 target in float64, torch in float32. (Two
    floating dtypes already promote alike; integers never require grad.)"""
    a, b = input._data, target._data
    if (a.dtype.kind == "f") == (b.dtype.kind == "f"):
        return input, target
    if a.dtype.kind == "f":
        return input, Tensor._make(b.astype(a.dtype))
    return Tensor._make(a.astype(b.dtype)), target


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _broadcast_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    return apply(MSE_LOSS, promoted(input, target), {"reduction": _check_reduction(reduction)})


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _broadcast_warning(input, target)
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    return apply(L1_LOSS, promoted(input, target), {"reduction": _check_reduction(reduction)})


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    if weight is not None:
        raise NotImplementedError("GradStudio's nll_loss does not support class weights")
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    if input._data.ndim not in (1, 2):
        raise ValueError(f"Expected 1D or 2D input (got {input._data.ndim}D input)")
    if target._data.dtype.kind not in "iu":
        raise RuntimeError("expected scalar type Long but found Float")
    if input._data.ndim == 2 and target._data.shape[0] != input._data.shape[0]:
        raise ValueError(f"Expected input batch_size ({input._data.shape[0]}) to match target "
                         f"batch_size ({target._data.shape[0]}).")
    n_classes = input._data.shape[-1]
    t = target._data
    if t.size and not (0 <= t.min() and t.max() < n_classes):  # out of range unless ignored
        valid = t[t != ignore_index]
        if valid.size and (valid.max() >= n_classes or valid.min() < 0):
            raise IndexError(f"Target {int(valid.max() if valid.max() >= n_classes else valid.min())} "
                             "is out of bounds.")
    return apply(NLL_LOSS, (input, target), {"reduction": _check_reduction(reduction),
                                             "ignore_index": ignore_index})


_reduction = None


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """torch's composition: ``nll_loss(log_softmax(x))`` for class indices, ``-(log p · t)``
    summed (and divided by the batch size for "mean") for class probabilities; with
    label smoothing, ``(1 − ε)·loss + ε/C · (−Σ log p)`` in that order."""
    global _reduction
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    if _reduction is None:  # imported on first use (losses' rows are declared before reduction's)
        from . import reduction as _reduction
    data, t = input._data, target._data
    if (weight is None and label_smoothing == 0.0 and data.ndim == 2 and data.dtype.kind == "f"
            and t.dtype == _I64 and t.shape == data.shape[:1] and data.shape[0]
            and reduction in _REDUCE and not 0 <= ignore_index < data.shape[1]):
        # the training loop's case: float logits, one class index per row, no ignore_index
        # that is a class; the same two nodes as below, without their wrappers' checks
        log_p = apply(_reduction.LOG_SOFTMAX, (input,), {"dim": 1})
        out = _nll_picked(log_p._data, t, reduction)
        if out is None:  # a target that is no class: nll_loss raises torch's error (or ignores it)
            return nll_loss(log_p, target, ignore_index=ignore_index, reduction=reduction)
        params = {"reduction": reduction, "ignore_index": ignore_index}
        return record(NLL_LOSS, (log_p, target), params, out) if log_p._requires_grad else make(out)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input._data.ndim == 1 else 1
    n_classes = input._data.shape[class_dim]
    log_p = _reduction.log_softmax(input, class_dim)
    if target._data.dtype.kind == "f":  # class probabilities
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        if reduction == "mean":  # torch divides by a C++ number: DivBackward1
            from .nn_functions import DIV_SCALAR
            return apply(DIV_SCALAR, (-(log_p * target).sum(),), {"other": input._data.size // n_classes})
        if reduction == "sum":
            return -(log_p * target).sum()
        return -(log_p * target).sum(class_dim)
    loss = nll_loss(log_p, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return loss
    smooth = -log_p.sum(class_dim)
    keep = target != ignore_index
    smooth = smooth.masked_fill(~keep, 0.0)
    if reduction == "mean":
        smooth = smooth.sum() / keep.sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / n_classes)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    if input._data.shape != target._data.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    return apply(BCE, (input, target), {"reduction": _check_reduction(reduction)})


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    if input._data.shape != target._data.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    return apply(BCE_LOGITS, (input, target), {"reduction": _check_reduction(reduction)})
