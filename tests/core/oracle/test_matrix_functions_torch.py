"""trace, diag, diagonal, det, inv, slogdet, logdet, solve against PyTorch: the
grad_fn names, values and gradients of the function and method forms."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as gs

pytestmark = pytest.mark.oracle
torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
A = RNG.uniform(-0.5, 0.5, (4, 4)) + 2 * np.eye(4)
B = RNG.uniform(-1, 1, (4, 4))
V = RNG.uniform(-1, 1, 4)

CASES = {
    "torch.trace": lambda t, a, b, v: t.trace(a @ b),
    "x.trace": lambda t, a, b, v: (a @ b).trace(),
    "torch.diag(v)": lambda t, a, b, v: t.diag(v) @ b,
    "torch.diag(v, 1)": lambda t, a, b, v: t.diag(v, 1).sum(),
    "torch.diag(X)": lambda t, a, b, v: t.diag(a * b),
    "X.diagonal()": lambda t, a, b, v: (a * b).diagonal(),
    "torch.diagonal(X, 1)": lambda t, a, b, v: t.diagonal(a @ b, 1),
    "torch.det": lambda t, a, b, v: t.det(a),
    "torch.linalg.det": lambda t, a, b, v: t.linalg.det(a @ a),
    "X.det": lambda t, a, b, v: a.det(),
    "torch.linalg.inv": lambda t, a, b, v: t.linalg.inv(a) @ b,
    "torch.inverse": lambda t, a, b, v: t.inverse(a),
    "X.inverse": lambda t, a, b, v: a.inverse(),
    "torch.logdet": lambda t, a, b, v: t.logdet(a),
    "X.logdet": lambda t, a, b, v: a.logdet(),
    "torch.linalg.slogdet": lambda t, a, b, v: t.linalg.slogdet(a).logabsdet,
    "torch.linalg.solve(A, v)": lambda t, a, b, v: t.linalg.solve(a, v),
    "torch.linalg.solve(A, B)": lambda t, a, b, v: t.linalg.solve(a, b),
}


def _run(module, case):
    a, b, v = (module.tensor(x, dtype=module.float64, requires_grad=True) for x in (A, B, V))
    out = CASES[case](module, a, b, v)
    upstream = module.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)),
                             dtype=module.float64)
    out.backward(upstream)
    return out, [None if t.grad is None else t.grad.numpy() for t in (a, b, v)]


@pytest.mark.parametrize("case", list(CASES))
def test_matrix_function_equals_torch(case):
    ours, our_grads = _run(gs, case)
    theirs, their_grads = _run(torch, case)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, reference in zip(our_grads, their_grads):
        assert (mine is None) == (reference is None)
        if mine is not None:
            np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)


def test_slogdet_sign_and_logdet_of_a_negative_determinant_is_nan():
    m = np.diag([1.0, -2.0, 3.0])
    sign, logabsdet = gs.linalg.slogdet(gs.tensor(m))
    assert float(sign) == -1.0 and np.isclose(float(logabsdet), np.log(6.0))
    assert np.isnan(float(gs.logdet(gs.tensor(m))))
    assert np.isnan(float(torch.logdet(torch.tensor(m))))
