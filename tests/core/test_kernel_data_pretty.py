"""kernel_data's pretty forms: sympy's unicode pretty print of each leaf's chain
and simplified formula (for the app, where mathtext can't draw a Matrix or a
Piecewise), read back from our own sympy strings without eval."""
from __future__ import annotations

import pytest
import sympy as S

from gradstudio.studio import compare
from gradstudio.studio.kernel import records as kernel_data
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic import derive_call


def leaf_checks(source: str) -> list:
    session = Session("<test>")
    run = session.run_cell(source)
    assert run.ok, run.error
    found = []
    for call in session.backward_calls:
        formulas = derive_call(call.graph, call.gradient, [leaf.vertex for leaf in call.leaves])
        found += kernel_data.check_data(compare.check_call(call, formulas)).leaves
    return found


def test_chain_keeps_its_factors_and_simplified_is_simplified():
    (leaf,) = leaf_checks("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                          "(x * x * 3).mean().backward()\n")
    assert leaf.formula == "3*2*x/4"
    assert leaf.chain_pretty == "3⋅2⋅x\n─────\n  4  "
    assert leaf.pretty == "3⋅x\n───\n 2 "
    assert leaf.torch is None


def test_piecewise_and_matrix_have_pretty_forms():
    relu, matmul = leaf_checks(
        "import torch\na = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\n"
        "torch.relu(a).sum().backward()\n"
        "A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)\n"
        "B = torch.tensor([[0.5, -1.0], [2.0, 1.0]])\n"
        "(A @ B).tanh().cumsum(0).sum().backward()\n")  # cumsum: no matrix form, so per element
    assert r"\begin{cases}" in relu.latex
    assert relu.pretty.startswith("⎧1  for a > 0") and "otherwise" in relu.pretty
    assert matmul.formula_kind == "per_element" and r"\begin{matrix}" in matmul.latex
    assert matmul.pretty.startswith("⎡") and "tanh" in matmul.pretty


def test_safe_sympy_reads_sympy_strings_without_eval():
    x = S.Symbol("x", real=True)
    assert kernel_data.safe_sympy("3*x/2", {"x": x}) == 3 * x / 2
    assert kernel_data.safe_sympy("Piecewise((1, x > 0), (0, True))", {"x": x}) == \
        S.Piecewise((1, x > 0), (0, True))
    assert kernel_data.safe_sympy("Matrix([[x, 2*x], [1, sqrt(x)]])", {"x": x}) == \
        S.Matrix([[x, 2 * x], [1, S.sqrt(x)]])
    A = S.MatrixSymbol("A", 2, 2)
    assert kernel_data.safe_sympy("2*A.T", {"A": A}) == 2 * A.T
    unordered = kernel_data.safe_sympy("3*2*x/4", {"x": x}, evaluate=False)
    assert S.pretty(unordered) == "3⋅2⋅x\n─────\n  4  "
    assert kernel_data.safe_sympy("2**2**2**999", {}, evaluate=True) is not None   # stays unevaluated


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "sympify('x')", "lambdify(x, x)", "x.__class__",
    "exec('1')", "(lambda: 1)()", "'text'", "[c for c in x]", "x if x else x", "f(x, y=1)",
    "x" * (kernel_data.MAX_PRETTY_SOURCE_CHARS + 1),
])
def test_safe_sympy_refuses_anything_else(text):
    with pytest.raises((ValueError, SyntaxError)):
        kernel_data.safe_sympy(text, {})


def test_pretty_forms_without_a_formula():
    assert kernel_data.pretty_forms(None) == (None, None)
