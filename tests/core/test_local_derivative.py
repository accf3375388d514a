"""The step-through's local derivative of one node (gradstudio.studio.symbolic.local):
derived from each op row's symbolic forward, never from its VJP rules, and checked
here against those rules on every row's sample inputs — elementwise rows by sympy,
rows with a matrix form in matrix form, the rest per element when small; a row
without a symbolic forward says so. Also the formulas a person reads: the
tutorial's MulBackward0 (∂/∂a = b = 2), the mean (1/n 𝟙), a matmul (g·bᵀ)."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as torch
from gradstudio.ops import OPS, apply
from op_samples import differentiable, sample, tensors
from gradstudio.studio import trace as graph_module
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic import local

IDS = [op.id for op in OPS]


def _recorded(op):
    """(graph, root vertex, upstream g, {slot: the engine's VJP}) for the row's sample."""
    args, params = sample(op)
    positions = differentiable(op, args)
    with graph_module.tracing():
        inputs = tensors(args, positions)
        out = apply(op, inputs, params)
    g = graph_module.capture(out, {id(t): (f"in{i}", t) for i, t in enumerate(inputs)
                                   if isinstance(t, torch.Tensor)})
    upstream = np.random.default_rng(2).uniform(0.5, 1.5, size=out.shape)
    out.backward(torch.tensor(upstream, dtype=torch.float64))
    engine = {i: inputs[i].grad.numpy() for i in positions}
    return g, upstream, engine


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_local_derivative_of_every_row_agrees_with_its_vjp_rules(op):
    if not op.vjp or op.internal and op.sympy is None:
        pytest.skip(f"{op.name} only appears in double-backward graphs")
    g, upstream, engine = _recorded(op)
    found = local.local_derivative(g, g.root, upstream, engine)
    if op.sympy is None:
        assert found.form == "none" and "no symbolic forward" in found.note
        return
    if found.form == "none":
        # only the per-element fallback has a limit, and it says so
        assert f"up to {local.MAX_ELEMENTS}" in (found.note or ""), f"{op.name}: {found.note}"
        return
    if op.kind == "elementwise":
        assert found.form == "elementwise"
    by_slot = {item.slot: item for item in found.inputs}
    assert set(by_slot) == set(engine), f"{op.name} ({found.form}): inputs {sorted(by_slot)}"
    for slot, expected in engine.items():
        item = by_slot[slot]
        assert item.vjp, f"{op.name}: no VJP formula for input {slot}"
        np.testing.assert_allclose(item.value, expected, rtol=1e-6, atol=1e-9,
                                   err_msg=f"{op.name}: input {slot} ({found.form}: {item.vjp})")
        assert item.agree is True


def _steps(source: str):
    session = Session("<local>", step_trace=True)
    session.run_script(source, stop_on_error=False)
    call = session.backward_calls[-1]
    return call, local.for_trace(call.graph, call.steps.to_data())


def test_the_tutorials_loop_multiplies_by_b_equal_2():
    call, found = _steps("import torch\nx = torch.randn(3, requires_grad=True)\ny = x * 2\n"
                         "for _ in range(3):\n    y = y * 2\ny.backward(torch.tensor([1.0, 0.1, 0.001]))\n")
    assert [d.op for d in found] == ["MulBackward0"] * 4
    first = found[0]
    assert first.form == "elementwise" and ("b", "2") in first.symbols
    (item,) = first.inputs
    assert item.symbol == "a" and item.derivative == "b = 2" and item.vjp == "2·g"
    np.testing.assert_allclose(item.value, [2.0, 0.2, 0.002], rtol=1e-6)
    assert all(d.inputs[0].agree for d in found)
    np.testing.assert_allclose(found[-1].inputs[0].value, 16 * np.array([1.0, 0.1, 0.001]), rtol=1e-6)


def test_mean_is_one_over_n_ones_and_x_times_x_is_b_and_a():
    call, found = _steps("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                         "z = (x * x * 3).mean()\nz.backward()\n")
    mean, times3, square = found
    assert mean.op == "MeanBackward0" and mean.form == "matrix"
    assert mean.inputs[0].derivative == "0.25·𝟙" and mean.inputs[0].vjp == "0.25·g·𝟙"
    np.testing.assert_allclose(mean.inputs[0].value, np.full((2, 2), 0.25))
    assert times3.inputs[0].derivative == "b = 3" and times3.inputs[0].vjp == "3·g"
    assert [(i.symbol, i.derivative, i.vjp) for i in square.inputs] == [("a", "b", "g ⊙ b"),
                                                                        ("b", "a", "g ⊙ a")]
    assert ("a", "x (2, 2)") in square.symbols and ("b", "x (2, 2)") in square.symbols
    assert all(i.agree for d in found for i in d.inputs)


def test_a_matmul_is_g_times_b_transposed_and_a_broadcast_sums_back():
    call, found = _steps("import torch\nA = torch.randn(2, 3, requires_grad=True)\n"
                         "B = torch.randn(3, 4, requires_grad=True)\nc = torch.randn(4, requires_grad=True)\n"
                         "(A @ B + c).tanh().sum().backward()\n")
    by_op = {d.op: d for d in found}
    mm = by_op["MmBackward0"]
    assert mm.form == "matrix" and [i.vjp for i in mm.inputs] == ["g·bᵀ", "aᵀ·g"]
    assert mm.inputs[0].derivative is None          # ∂(AB)/∂A is a 4-tensor: only the product reads
    add = by_op["AddBackward0"]
    assert add.form == "elementwise" and [i.vjp for i in add.inputs] == ["g", "g"]
    assert add.inputs[1].value.shape == (4,)        # summed back to c's shape
    tanh = by_op["TanhBackward0"]
    assert "tanh" in tanh.inputs[0].derivative
    assert all(i.agree for d in found for i in d.inputs), [(d.op, [i.agree for i in d.inputs]) for d in found]


def test_an_op_without_a_matrix_form_is_derived_per_element_and_a_big_one_says_why():
    call, found = _steps("import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                         "x.cumsum(0).sum().backward()\n")
    cumsum = next(d for d in found if d.op == "CumsumBackward0")
    assert cumsum.form == "per_element"
    item = cumsum.inputs[0]
    np.testing.assert_array_equal(item.derivative_value, np.tril(np.ones((3, 3))))
    assert item.vjp == "Jᵀ g" and item.agree
    call, found = _steps("import torch\nx = torch.ones(40, requires_grad=True)\n"
                         "x.cumsum(0).sum().backward()\n")
    cumsum = next(d for d in found if d.op == "CumsumBackward0")
    assert cumsum.form == "none" and "40 elements" in cumsum.note


def test_relu_at_its_kink_follows_torch():
    call, found = _steps("import torch\nx = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\n"
                         "x.relu().sum().backward()\n")
    relu = next(d for d in found if d.op == "ReluBackward0")
    np.testing.assert_array_equal(relu.inputs[0].value, [0.0, 0.0, 1.0])
    assert relu.inputs[0].agree
