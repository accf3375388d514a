"""The forward half of a training step (``loss_fn(model(x), y)``): its shortcuts give
what the plain numpy formulas give, bit for bit (the bias added in place, the log and
difference of log_softmax in place, the mean NLL divided as a Python float), a leaf's
AccumulateGrad built without ``__init__`` still carries hooks and metadata, and the
Python calls the forward makes stay within budget (counted, never timed)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import gradstudio as gs
import gradstudio.nn.functional as F
from gradstudio.autograd.node import AccumulateGrad
from gradstudio.ops.losses import NLL_LOSS
from gradstudio.ops.reduction import LOG_SOFTMAX
from test_hot_path import _python_calls


def _model_and_batch(seed=0):
    rng = np.random.default_rng(seed)
    nn = gs.nn
    model = nn.Sequential(nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    x = gs.tensor(rng.standard_normal((32, 128)).astype(np.float32))
    y = gs.tensor(rng.integers(0, 10, 32))
    return model, x, y


def _numpy_forward(model, x, y):
    """The same forward written out in numpy, in the engine's order of operations."""
    h = x._data
    for layer in model:
        if isinstance(layer, gs.nn.Linear):
            h = layer.bias._data + h @ layer.weight._data.T
        else:
            h = np.tanh(h)
    shifted = h - np.maximum.reduce(h, axis=1, keepdims=True)
    log_p = shifted - np.log(np.add.reduce(np.exp(shifted), axis=1, keepdims=True))
    picked = log_p[np.arange(len(y._data)), y._data]
    return log_p, np.asarray(-np.add.reduce(picked, dtype=h.dtype) / np.int64(len(picked)), dtype=h.dtype)


def test_the_training_forward_is_the_numpy_formula_bit_for_bit():
    model, x, y = _model_and_batch()
    loss = gs.nn.CrossEntropyLoss()(model(x), y)
    log_p, expected = _numpy_forward(model, x, y)
    assert loss._data.dtype == np.float32 and loss._data.shape == ()
    assert loss._data.tobytes() == expected.tobytes()
    nll = loss.grad_fn
    assert nll.name() == "NllLossBackward0" and nll._params == {"reduction": "mean", "ignore_index": -100}
    assert nll._saved_self._data.tobytes() == log_p.tobytes()
    assert nll.next_functions[0][0]._saved_result._data.tobytes() == log_p.tobytes()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 3, 7, 1000])
def test_the_mean_nll_divides_as_numpys_scalars_did(dtype, rows):
    # float(total) / n is numpy's float64 division of total by int64(n), rounded to dtype
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, 5)) * 3).astype(dtype)
    target = rng.integers(0, 5, rows)
    out = NLL_LOSS.forward(x, target, reduction="mean", ignore_index=-100)
    total = -np.add.reduce(x[np.arange(rows), target], dtype=x.dtype)
    expected = np.asarray(total / np.int64(rows), dtype=x.dtype)
    assert out.dtype == expected.dtype and out.tobytes() == expected.tobytes()


def test_a_negative_target_is_refused_by_the_range_check_not_wrapped():
    # numpy wraps a negative index: without the explicit check -3 would pick column 1
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    from gradstudio.ops.losses import _nll_picked
    assert _nll_picked(x, np.array([0, -3, 1]), "sum") is None
    assert _nll_picked(x, np.array([0, -4, 1]), "sum") is None
    assert _nll_picked(x, np.array([0, 4, 1]), "sum") is None
    assert _nll_picked(x, np.array([0, 3, 1]), "sum") == np.float32(-(0 + 7 + 9))


@pytest.mark.parametrize("bias", [
    np.array([0.5, -1.0, 2.0], dtype=np.float64),           # a float64 bias: a float64 result
    np.array([[0.5, -1.0, 2.0]], dtype=np.float32),         # a 2-d bias broadcast over the rows
    np.array([[0.5], [1.5]], dtype=np.float32),             # a column bias
])
def test_linear_with_an_unusual_bias_is_bias_plus_the_product(bias):
    rng = np.random.default_rng(1)
    x = gs.tensor(rng.standard_normal((2, 4)).astype(np.float32), requires_grad=True)
    w = gs.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    out = F.linear(x, w, gs.tensor(bias, requires_grad=True))
    expected = bias + x._data @ w._data.T
    assert out._data.dtype == expected.dtype and out._data.tobytes() == expected.tobytes()
    assert out.grad_fn.name() == "AddmmBackward0"


def test_log_softmax_of_an_integer_array_is_computed_in_float():
    # the in-place steps need a result of the input's dtype; an integer input has none
    out = LOG_SOFTMAX.forward(np.array([[1, 2, 3]]), dim=1)
    shifted = np.array([[1, 2, 3]]) - 3
    expected = shifted - np.log(np.add.reduce(np.exp(shifted), axis=1, keepdims=True))
    assert out.dtype == np.float64 and out.tobytes() == expected.tobytes()


def test_a_leafs_accumulator_keeps_hooks_metadata_and_is_made_again_after_its_graph():
    w = gs.ones(3, requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append("tensor hook"))
    y = w * 2
    sink = y.grad_fn.next_functions[0][0]
    assert type(sink) is AccumulateGrad and sink.variable is w and sink.next_functions == ()
    assert sink._has_hooks  # the leaf had a hook before its accumulator was made
    sink.register_hook(lambda grad_inputs, grad_outputs: seen.append("node hook"))
    sink.metadata()["note"] = 1
    assert (w * 3).grad_fn.next_functions[0][0] is sink  # one accumulator while a graph lives
    y.sum().backward()
    assert seen == ["tensor hook", "node hook"] and sink.metadata() == {"note": 1}
    del y, sink
    fresh = (w * 2).grad_fn.next_functions[0][0]
    assert fresh.metadata() == {} and fresh._hooks is None and fresh._prehooks is None
    v = gs.ones(2, requires_grad=True)
    assert not (v * 2).grad_fn.next_functions[0][0]._has_hooks


# Python-level calls (sys.setprofile "call" events) of one training forward: 79 before
# AccumulateGrad lost its __init__ and nll its second range check, Tanh its wrapper.
def test_the_training_forward_stays_within_its_call_budget():
    model, x, y = _model_and_batch()
    loss_fn = gs.nn.CrossEntropyLoss()
    assert _python_calls(lambda: loss_fn(model(x), y)) <= 72


@pytest.mark.parametrize("target", [[1, 0], [], [1, 0, 2, 1]])
def test_the_nll_row_on_a_target_of_another_length_takes_the_general_path(target):
    # what the row did before its common case checked the length: a shorter target is
    # the loss of its rows, a longer one raises numpy's IndexError
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    target = np.array(target, dtype=np.int64)
    if len(target) > 3:
        with pytest.raises(IndexError):
            NLL_LOSS.forward(x, target, reduction="sum", ignore_index=-100)
        return
    out = NLL_LOSS.forward(x, target, reduction="sum", ignore_index=-100)
    assert out == -sum(x[i, t] for i, t in enumerate(target))
