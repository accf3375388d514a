"""cumprod against torch 2.13 where its gradient is hard: zeros in the input (one, two,
at the ends), every dim of a 3-d input, integer input and dtype=, and the second
derivative (create_graph) — values compared; the first-order node and saved
attributes are the op-table tests'."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

INPUTS = [[2., 0., 3., 4.], [0., 2., 0., 3.], [1.5, -2., 0.5, 0.], [0., 0., 0., 1.], [-1., 2., 3., -0.5]]


@pytest.mark.parametrize("values", INPUTS, ids=[str(v) for v in INPUTS])
def test_cumprod_gradients_with_zeros_match_torch(torch, values):
    weights = [1., -2., 0.5, 3.]
    results = []
    for lib in (torch, gradstudio):
        x = lib.tensor(values, requires_grad=True)
        y = (x.cumprod(0) * lib.tensor(weights)).sum()
        (grad,) = lib.autograd.grad(y, x, create_graph=True)
        (second,) = lib.autograd.grad((grad * lib.tensor(weights)).sum(), x)
        results.append([y.detach().numpy(), grad.detach().numpy(), second.numpy()])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cumprod_along_every_dim_of_a_3d_input(torch, dim):
    values = np.random.default_rng(dim + 5).uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    values[0, 1, 2] = 0.0
    grads = []
    for lib in (torch, gradstudio):
        x = lib.tensor(values, requires_grad=True)
        y = x.cumprod(dim)
        (y * lib.arange(24.).reshape(2, 3, 4)).sum().backward()
        grads.append((y.detach().numpy(), x.grad.numpy()))
    for ours, theirs in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_cumprod_of_integers_and_with_dtype_as_torch(torch):
    for lib in (torch, gradstudio):
        assert repr(lib.cumprod(lib.tensor([1, 2, 3]), 0)) == "tensor([1, 2, 6])"
        assert repr(lib.cumprod(lib.tensor([1, 2, 3]), 0, dtype=lib.float32)) == "tensor([1., 2., 6.])"
        assert repr(lib.tensor(3.).cumprod(0)) == "tensor(3.)"
