"""J and the Hessian in matrix form (gradstudio.studio.symbolic.jacobians), from the
ops' matrix forwards, checked against the numeric J (autograd.functional.jacobian)
and Hessian (autograd.functional.hessian) by explain_data: the seed tutorial's
1024·I, diag(exp(x)), diag(1 − tanh(Ax)²)A, a quadratic form's Aᵀ + A; an op with
no matrix rule says so and the numbers are still there."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.studio import jacobian
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic import jacobians


def last_call(source: str):
    session = Session("<jacobian>")
    session.run_script(source)
    return session.backward_calls[-1]


@pytest.mark.parametrize("source, text", [
    ("import torch\ntorch.manual_seed(4)\nx = torch.randn(3, requires_grad=True)\ny = x * 2\nwhile y.data.norm() < 1000:\n"
     "    y = y * 2\ny.backward(torch.tensor([1.0, 0.1, 0.001]))\n", "1024·I"),
    ("import torch\nx = torch.randn(4, requires_grad=True)\nx.exp().backward(torch.ones(4))\n", "diag(exp(x))"),
    ("import torch\nx = torch.randn(3, requires_grad=True)\nA = torch.randn(2, 3)\n"
     "(A @ x).tanh().backward(torch.ones(2))\n", "diag(1 - tanh(A·x)²)·A"),
    ("import torch\nX = torch.randn(2, 3, requires_grad=True)\n(X * 3).backward(torch.ones(2, 3))\n", "3·I"),
])
def test_the_matrix_form_of_j_matches_the_numeric_j(source, text):
    call = last_call(source)
    leaf = call.leaves[0].vertex
    form = jacobians.jacobian(call.graph, leaf)
    assert form.text == text
    np.testing.assert_allclose(form.values, jacobian.jacobian(call.graph, leaf), rtol=1e-5, atol=1e-6)


def test_a_scalar_function_has_its_hessian_numeric_and_in_matrix_form():
    call = last_call("import torch\nx = torch.randn(3, requires_grad=True)\nA = torch.randn(3, 3)\n"
                     "f = x @ A @ x\nf.backward()\n")
    data = jacobian.explain_data(call)
    A = next(v.value for v in call.graph.nodes if v.name == "A").astype(np.float64)
    np.testing.assert_allclose(data["hessian"], A + A.T, rtol=1e-5, atol=1e-6)
    assert data["hessian_symbolic"]["text"] == "Aᵀ + A" and data["hessian_symbolic"]["agree"] is True
    assert data["symbolic"]["text"] == "xᵀ·(Aᵀ + A)" and data["symbolic"]["agree"] is True


def test_a_vector_root_has_no_hessian_and_an_op_without_a_rule_says_why():
    vector = jacobian.explain_data(last_call("import torch\nx = torch.randn(3, requires_grad=True)\n"
                                             "(x * 2).backward(torch.ones(3))\n"))
    assert vector["hessian"] is None and "hessian_symbolic" not in vector
    data = jacobian.explain_data(last_call("import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                                           "(x.cumsum(0) ** 2).sum().backward()\n"))
    assert data["symbolic"]["text"] is None and "CumsumBackward0 has no matrix rule" in data["symbolic"]["note"]
    assert data["hessian_symbolic"]["text"] is None
    L = np.tril(np.ones((3, 3)))
    np.testing.assert_allclose(data["hessian"], 2 * L.T @ L, rtol=1e-6)   # numeric still there


def test_a_big_leaf_skips_the_numeric_hessian_and_says_so():
    data = jacobian.explain_data(last_call(
        f"import torch\nx = torch.randn({jacobian.MAX_HESSIAN_ELEMENTS + 1}, requires_grad=True)\n"
        "(x * x).sum().backward()\n"))
    assert data["hessian"] is None and "one backward pass per element" in data["hessian_note"]
    assert data["hessian_symbolic"]["text"] == "2·I" and data["hessian_symbolic"]["agree"] is None
