"""The training step's hot path: the shortcuts it takes (cross_entropy's common case,
nll's one fancy index, F.linear's two nodes built directly, one-edge array rules, the
backward pass on plain arrays when nothing observes it, the inline AccumulateGrad,
Sequential calling a hook-free child's forward) give what the general path gives, bit
for bit, and the Python calls a step makes stay within budget (counted, never timed:
the count is the same on every machine)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import gradstudio as gs
import gradstudio.nn.functional as F


def _logits(rows=6, classes=5, seed=0):
    x = np.random.default_rng(seed).standard_normal((rows, classes)).astype(np.float32)
    return gs.tensor(x, requires_grad=True)


def _general_cross_entropy(x, target, **kwargs):
    """cross_entropy through its wrappers (log_softmax, then nll_loss with its checks)."""
    return F.nll_loss(F.log_softmax(x, 1), target, **kwargs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_cross_entropy_common_case_matches_the_general_path(reduction, ignore_index):
    target = gs.tensor([0, 2, 4, 1, 2, 3])
    x1, x2 = _logits(), _logits()
    fast = F.cross_entropy(x1, target, reduction=reduction, ignore_index=ignore_index)
    slow = _general_cross_entropy(x2, target, reduction=reduction, ignore_index=ignore_index)
    assert fast.grad_fn.name() == "NllLossBackward0"
    assert fast.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"
    np.testing.assert_array_equal(fast.detach().numpy(), slow.detach().numpy())
    assert fast.dtype == slow.dtype
    fast.sum().backward()
    slow.sum().backward()
    np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())


@pytest.mark.parametrize("target, bad", [([0, 7, 1, 2, 0, 0], 7), ([0, -3, 1, 2, 0, 0], -3),
                                         ([0, -1, 1, 2, 0, 0], -1)])
def test_cross_entropy_target_out_of_range_raises_torchs_error(target, bad):
    # -1 is no class: the uint64 range check must not let it wrap to the last column
    with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
        F.cross_entropy(_logits(), gs.tensor(target))


def test_nll_row_forward_takes_the_general_path_for_a_negative_target():
    # the row itself (what a graph re-run calls): a -100 target is ignored, not wrapped
    from gradstudio.ops.losses import NLL_LOSS
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = NLL_LOSS.forward(x, np.array([1, -100, 3]), reduction="sum", ignore_index=-100)
    assert out == np.float32(-(1 + 11))


def test_linear_records_torchs_two_nodes_and_its_saved_weight_view():
    layer = gs.nn.Linear(4, 3)
    x = gs.ones(2, 4, requires_grad=True) * 1
    y = layer(x)
    (bias_edge, input_edge, t_edge) = y.grad_fn.next_functions
    assert y.grad_fn.name() == "AddmmBackward0"
    assert bias_edge[0].variable is layer.bias and input_edge[0] is x.grad_fn
    assert t_edge[0].name() == "TBackward0" and t_edge[0].next_functions[0][0].variable is layer.weight
    np.testing.assert_array_equal(y.detach().numpy(),
                                  layer.bias._data + x._data @ layer.weight._data.T)
    y.sum().backward(retain_graph=True)
    with gs.no_grad():
        layer.weight.add_(1)  # the saved weight.t() is a view of the weight
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_linear_shape_error_is_addmms():
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied \(2x5 and 4x3\)$"):
        gs.nn.Linear(4, 3)(gs.ones(2, 5))


def test_mul_array_rule_converts_an_integer_factor_to_the_gradients_dtype(torch):
    # 2**24 + 1 is no float32: torch multiplies by float32(2**24) = 16777216, where a
    # float64 product would round 1.5 * 16777217 differently
    factor = [16777217, 3]
    results = []
    for lib in (gs, torch):
        x = lib.tensor([1.0, 1.0], requires_grad=True)
        (x * lib.tensor(factor) * 1.5).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_array_equal(results[0], results[1])


def test_a_leafs_first_gradient_is_taken_not_copied_and_never_aliases():
    x = gs.ones(3, requires_grad=True)
    seen = []
    y = x * 2
    # the id only: a reference kept here would (rightly) make the engine copy
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(id(grad_inputs[0]._data)))
    y.sum().backward()
    assert id(x.grad._data) == seen[0]  # the engine's own array, stolen as torch does
    g = gs.ones(3)
    w = gs.ones(3, requires_grad=True)
    w.backward(g)  # a gradient the caller still holds is copied
    assert not np.shares_memory(w.grad._data, g._data)


def test_a_linear_weights_gradient_is_row_major_and_the_engines_own_array(torch):
    # torch computes the gradient of the column-major weight.t() as (gᵀx)ᵀ, so that
    # TBackward0 hands the weight a row-major array, which AccumulateGrad takes as it is
    strides = []
    for lib in (gs, torch):
        layer = lib.nn.Linear(4, 3)
        layer(lib.ones(2, 4)).sum().backward()
        strides.append(layer.weight.grad.stride())
    assert strides[0] == strides[1] == (4, 1)
    layer = gs.nn.Linear(4, 3)
    y = layer(gs.ones(2, 4, requires_grad=True) * 1)
    t_node = y.grad_fn.next_functions[2][0]
    assert t_node.name() == "TBackward0"
    seen = []  # ids only: a reference kept here would (rightly) make the engine copy
    # TBackward0 hands on the array (gᵀx) itself, not its transpose twice over
    t_node.register_hook(lambda grad_inputs, grad_outputs: seen.append(id(grad_inputs[0]._data)))
    y.sum().backward()
    assert id(layer.weight.grad._data) == seen[0] and layer.weight.grad._data.base is None


def test_sequential_still_runs_its_childrens_hooks_and_their_own_call():
    calls = []

    class Loud(gs.nn.Module):  # a child with a __call__ of its own
        def __call__(self, x):
            calls.append("call")
            return x * 2

    model = gs.nn.Sequential(gs.nn.Linear(3, 3), gs.nn.Tanh(), Loud())
    model[1].register_forward_hook(lambda module, args, out: calls.append("hook") or out * 10)
    model[0].register_forward_pre_hook(lambda module, args: calls.append("pre"))
    x = gs.ones(2, 3)
    out = model(x)
    assert calls == ["pre", "hook", "call"]
    np.testing.assert_array_equal(out.detach().numpy(), (model[0](x).tanh() * 10 * 2).detach().numpy())
    handle = gs.nn.modules.module.register_module_forward_hook(lambda m, a, o: calls.append(type(m).__name__))
    try:
        calls.clear()
        model(x)
    finally:
        handle.remove()
    assert calls == ["pre", "Linear", "Tanh", "hook", "call", "Sequential"]  # global hooks first


def _python_calls(step, repeats=5, prepare=tuple):
    """Python calls per ``step(*prepare())``; the calls ``prepare`` makes are not counted."""
    for _ in range(2):  # warm: first-call work is not per step (accumulators, the optimizer's
        step(*prepare())  # state on its first step, its flat layout on the second)
    count = [0]

    def profile(frame, event, arg):
        if event == "call":
            count[0] += 1
    for _ in range(repeats):
        arguments = prepare()
        sys.setprofile(profile)
        try:
            step(*arguments)
        finally:
            sys.setprofile(None)
    return count[0] / repeats


def _training_step(optimizer):
    rng = np.random.default_rng(0)
    nn = gs.nn
    model = nn.Sequential(nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    x = gs.tensor(rng.standard_normal((32, 128)).astype(np.float32))
    y = gs.tensor(rng.integers(0, 10, 32))
    loss_fn = nn.CrossEntropyLoss()
    opt = optimizer(model.parameters())

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    step.parts = model, x, y, loss_fn
    return step


# Budgets of Python-level calls (sys.setprofile "call" events), measured at 123 (SGD) and
# 125 (Adam) per step and 5.12 per op of a chain; before the flat optimizer step (one
# update per group instead of one per parameter): 134 and 128; before one rule per node, the walk
# without a queue and Adam's one call per parameter: 155, 173 and 5.13; before the
# backward pass on plain arrays and the step's shortcuts: 209, 221 and 7.12; before the
# first shortcuts: 336, 348, 8.13.
@pytest.mark.parametrize("optimizer, budget", [
    (lambda p: gs.optim.SGD(p, lr=0.01, momentum=0.9), 128),
    (lambda p: gs.optim.Adam(p, lr=1e-3), 130),
])
def test_a_training_step_stays_within_its_call_budget(optimizer, budget):
    assert _python_calls(_training_step(optimizer)) <= budget


def test_a_training_steps_backward_stays_within_its_call_budget():
    # the backward pass alone: 27 calls (one node rule per node, the walk, the leaves'
    # tensors); 48 with a rule call per edge and a leaf's AccumulateGrad out of line
    step = _training_step(lambda p: gs.optim.SGD(p, lr=0.01, momentum=0.9))
    step()
    model, x, y, loss_fn = step.parts

    def forward():  # outside the count: the step up to its backward call
        for p in model.parameters():
            p.grad = None
        return (loss_fn(model(x), y),)
    assert _python_calls(lambda loss: loss.backward(), prepare=forward) <= 30


def test_a_chain_of_products_stays_within_its_call_budget():
    def chain():
        y = gs.ones(3, requires_grad=True) * 2
        for _ in range(299):
            y = y * 2
        y.backward(gs.ones(3))
    assert _python_calls(chain) / 300 <= 5.3


def test_a_repeated_root_adds_its_gradients(torch):
    # torch's GraphRoot sums a root's gradients; each root kept its own before
    grads = []
    for lib in (gs, torch):
        x = lib.ones(2, requires_grad=True)
        y, z = x * 2, x * 3
        lib.autograd.backward([y, z, y], [lib.ones(2), lib.ones(2) * 10, lib.ones(2) * 100])
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
