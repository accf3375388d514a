"""Closed-form gradients from sympy: the forms, their text, their values."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

from gradstudio.studio import compare
from gradstudio.studio import symbolic
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic.worker import SymbolicWorker, worker_pid_alive


def checked(source: str):
    """Run ``source`` in a session; derive and check every backward call."""
    session = Session("<test>")
    run = session.run_cell(source)
    assert run.ok, run.error
    results = []
    for call in session.backward_calls:
        formulas = symbolic.derive_call(call.graph, call.gradient, [l.vertex for l in call.leaves])
        results.append(compare.check_call(call, formulas))
    return results


def only_leaf(source: str):
    (check,) = checked(source)
    (leaf,) = check.leaves
    return leaf


def test_tutorial_mean_gives_the_chain_form_and_three_x_over_two():
    leaf = only_leaf("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                     "z = (x * x * 3).mean()\nz.backward()\n")
    f = leaf.formula
    assert (f.kind, f.formula, f.simplified, f.element_symbol) == ("elementwise", "3*2*x/4", "3*x/2", "x")
    assert f.latex == r"\frac{3 x}{2}"
    np.testing.assert_allclose(leaf.symbolic, np.full((2, 2), 1.5))
    assert leaf.agree and leaf.max_abs_error < 1e-6
    assert leaf.abs_error.shape == (2, 2) and leaf.abs_error.max() <= leaf.max_abs_error
    assert leaf.rel_error.max() < 1e-6


def test_tutorial_sum_gives_one():
    leaf = only_leaf("import torch\nx = torch.ones(2, 2, requires_grad=True)\nz = x.sum()\nz.backward()\n")
    assert (leaf.formula.formula, leaf.formula.simplified) == ("1", "1")
    assert leaf.agree


def test_tutorial_doubling_loop_gives_1024():
    leaf = only_leaf("import torch\nx = torch.tensor([0.4263, -1.2995, 0.3972], requires_grad=True)\n"
                     "y = x * 2\nwhile y.data.norm() < 1000:\n    y = y * 2\n"
                     "z = y.sum()\nz.backward()\n")
    assert leaf.formula.simplified == leaf.formula.formula == "1024"  # sympy multiplies 2·2·…·2
    np.testing.assert_array_equal(leaf.numeric, [1024, 1024, 1024])
    assert leaf.agree


def test_gradient_vector_is_the_symbol_v():
    leaf = only_leaf("import torch\nx = torch.tensor([1., 2., 3.], requires_grad=True)\n"
                     "y = x * x\ny.backward(torch.tensor([1., 0.1, 0.01]))\n")
    assert leaf.formula.simplified == "2*v*x"
    assert ("v", "the gradient= element") in leaf.formula.symbols
    np.testing.assert_allclose(leaf.symbolic, [2.0, 0.4, 0.06], rtol=1e-6)
    assert leaf.agree


def test_tanh_derivative():
    leaf = only_leaf("import torch\nx = torch.linspace(-2, 2, 5, requires_grad=True)\n"
                     "x.tanh().sum().backward()\n")
    assert leaf.formula.simplified == "1 - tanh(x)**2"
    assert leaf.agree


def test_other_leaf_stands_for_its_element_at_the_same_position():
    (check,) = checked("import torch\nx = torch.tensor([1., 2.], requires_grad=True)\n"
                       "w = torch.tensor([3., 4.], requires_grad=True)\n"
                       "loss = (w * x.sin()).sum()\nloss.backward()\n")
    by_name = {leaf.name: leaf for leaf in check.leaves}
    assert by_name["x"].formula.simplified == "w*cos(x)"
    assert by_name["w"].formula.simplified == "sin(x)"
    assert check.agree


def test_scalar_functions_of_reductions_keep_the_reduced_value_as_a_symbol():
    leaf = only_leaf("import torch\nx = torch.tensor([3., 4.], requires_grad=True)\n"
                     "s = (x * x).sum()\nr = s.sqrt()\nr.backward()\n")
    assert leaf.formula.kind == "elementwise"
    assert sympy.simplify(sympy.sympify(leaf.formula.simplified)
                          - sympy.sympify("x/sqrt(s)")) == 0
    np.testing.assert_allclose(leaf.symbolic, [0.6, 0.8], rtol=1e-6)
    assert leaf.agree


def test_least_squares_has_the_matrix_form():
    leaf = next(l for l in checked(
        "import torch\ntorch.manual_seed(0)\nA = torch.randn(4, 3)\nY = torch.randn(4, 2)\n"
        "W = torch.randn(3, 2, requires_grad=True)\nloss = ((A @ W - Y) ** 2).sum()\n"
        "loss.backward()\n")[0].leaves)
    assert leaf.formula.kind == "matrix"
    assert leaf.formula.formula == "2*A.T*(A*W - Y)"
    assert leaf.agree


def test_matmul_falls_back_to_per_element_formulas():
    leaf = only_leaf("import torch\nx = torch.tensor([1., 2., 3.], requires_grad=True)\n"
                     "W = torch.tensor([[1., 0., 2.], [0., 1., -1.]])\n"
                     "y = (W @ x).softmax(0).cumsum(0)[0]\ny.backward()\n")   # cumsum: no matrix rule
    f = leaf.formula
    assert f.kind == "per_element" and f.element_symbol == "x_0"
    assert f.formula.startswith("Matrix([[")
    parsed = sympy.sympify(f.formula)
    assert parsed.shape == (1, 3)
    assert leaf.agree


@pytest.mark.parametrize("p", ["1.0", "1.5", "2.0", "3.0", "float('inf')", "0.0"])
def test_cdist_has_its_distances_written_out_for_every_p(p):
    (check,) = checked("import torch\ntorch.manual_seed(1)\n"
                       "a = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)\n"
                       "b = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)\n"
                       f"torch.cdist(a, b, p={p}).sum().backward()\n")
    for leaf in check.leaves:
        assert leaf.formula.kind == "per_element" and leaf.agree, (p, leaf.formula.note)
    if p == "2.0":
        assert "sqrt((a_0_0 - b_0_0)**2 + (a_0_1 - b_0_1)**2)" in check.leaves[0].formula.formula


def test_every_formula_parses_back_and_evaluates_to_its_values():
    leaf = only_leaf("import torch\nE = torch.tensor([0.5, 1.5], requires_grad=True)\n"
                     "beta = torch.tensor([2., 3.])\nloss = (E.exp() * beta).sum()\nloss.backward()\n")
    assert leaf.formula.element_symbol == "E_"  # E would parse as Euler's number
    expr = sympy.sympify(leaf.formula.simplified)
    values = [float(expr.subs({"E_": e, "beta_": b})) for e, b in [(0.5, 2.0), (1.5, 3.0)]]
    np.testing.assert_allclose(values, leaf.symbolic, rtol=1e-9)


def test_relu_kink_is_explained_not_flagged():
    leaf = only_leaf("import torch\nx = torch.tensor([0., 1., -1.], requires_grad=True)\n"
                     "x.relu().sum().backward()\n")
    np.testing.assert_array_equal(leaf.numeric, [0, 1, 0])        # torch: relu'(0) = 0
    np.testing.assert_array_equal(leaf.symbolic, [0, 1, 0])       # Piecewise follows torch
    assert leaf.finite_difference[0] == pytest.approx(0.5)        # central differences average
    assert leaf.agree and "kink" in leaf.note


def test_a_wrong_custom_backward_is_caught_by_finite_differences():
    (check,) = checked("""import torch
class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x
x = torch.tensor([1.0, 2.0], requires_grad=True)
Square.apply(x).sum().backward()
""")
    (leaf,) = check.leaves
    assert not leaf.agree and leaf.mismatch.all()
    assert "no symbolic rule for SquareBackward" in leaf.note
    np.testing.assert_allclose(leaf.finite_difference, [2.0, 4.0], rtol=1e-6)


def test_large_leaf_keeps_one_generic_formula_and_samples_finite_differences():
    leaf = only_leaf("import torch\nx = torch.ones(300, 300, requires_grad=True)\n"
                     "z = (3 * x * x).mean()\nz.backward()\n")
    assert leaf.formula.simplified == "x/15000"  # 3·2·x / 90000
    checked = int((~leaf.unsampled).sum())
    assert checked == 256 or (checked >= 8 and f"checked {checked} of 90000" in leaf.note)
    assert leaf.direction_check is not None
    assert leaf.agree


def test_too_many_elements_for_per_element_form_says_so():
    leaf = only_leaf("import torch\nx = torch.ones(20, 20, requires_grad=True)\n"
                     "y = (x @ x).cumsum(0).sum()\ny.backward()\n")
    assert leaf.formula.kind == "none"
    assert "400 elements is over the per-element limit" in leaf.formula.note
    assert "CumsumBackward0 has no matrix rule" in leaf.formula.note
    assert leaf.agree  # finite differences still check the engine


def test_deep_chain_derives_in_generic_form_with_named_intermediates():
    leaf = only_leaf("import torch\nx = torch.tensor([0.5], requires_grad=True)\ny = x\n"
                     "for _ in range(200):\n    y = (y * 0.5).sin()\ny.sum().backward()\n")
    assert leaf.formula.kind == "elementwise"
    names = [name for name, meaning in leaf.formula.symbols]
    assert "u1" in names and any(meaning.startswith("= ") for _, meaning in leaf.formula.symbols)
    assert leaf.agree


def test_three_x_x_in_any_order_reads_three_two_x():
    for expression in ("3 * x * x", "x * x * 3", "x * 3 * x"):
        leaf = only_leaf(f"import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                         f"z = ({expression}).mean()\nz.backward()\n")
        assert leaf.formula.formula == "3*2*x/4", expression


def test_worker_times_out_restarts_and_leaves_no_process():
    session = Session("<test>")
    session.run_cell("import torch\nx = torch.rand(6, 6, requires_grad=True)\n"
                     "y = (x @ x).softmax(1).log_softmax(0)\ny.sum().backward()\n")
    call = session.backward_calls[0]
    leaf_ids = [l.vertex for l in call.leaves]
    with SymbolicWorker() as worker:
        timed_out = worker.derive(call.graph, call.gradient, leaf_ids, timeout=0.01)
        assert "timed out" in timed_out[leaf_ids[0]].note
        assert worker.restarts == 1
        quick = checked("import torch\nx = torch.ones(2, requires_grad=True)\n(x * x).sum().backward()\n")
        call2 = quick[0].call
        formula = worker.derive(call2.graph, None, [call2.leaves[0].vertex], timeout=30)
        assert formula[call2.leaves[0].vertex].simplified == "2*x"
        pid = worker.pid
    assert not worker_pid_alive(pid)


def test_values_along_one_element_come_from_one_closed_form():
    session = Session("<test>")
    session.run_cell("import torch\nx = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)\n"
                     "w = torch.tensor([[0.5, -1.], [2., 0.25]])\n"
                     "loss = ((x @ w).tanh() ** 2).sum() + (3 * x * x).mean()\nloss.backward()\n")
    call = session.backward_calls[0]
    vertex = call.leaves[0].vertex
    xs = np.linspace(-1.0, 1.0, 7)
    values = symbolic.values_along(call.graph, None, vertex, (0, 1), xs)
    base = np.asarray(call.graph[vertex].value, dtype=np.float64)
    f = call.graph.objective(None)
    expected = []
    for a in xs:
        plus, minus = base.copy(), base.copy()
        plus[0, 1], minus[0, 1] = a + 1e-6, a - 1e-6
        expected.append((f({vertex: plus}) - f({vertex: minus})) / 2e-6)
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-8)
