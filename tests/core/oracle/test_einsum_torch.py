"""einsum against PyTorch: the grad_fn name of the result (torch's decomposition
ends in View/Mul/Permute/Sum), values, gradients, and gradients of gradients."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as gs

pytestmark = pytest.mark.oracle
torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
SHAPES = {"i": (3,), "j": (4,), "ij": (3, 4), "jk": (4, 5), "kj": (5, 4), "ji": (4, 3), "ii": (3, 3),
          "bij": (2, 3, 4), "bjk": (2, 4, 5)}
EQUATIONS = ["ij,jk->ik", "ij,j->i", "i,i->", "bij,bjk->bik", "ij->ji", "ii->", "ij->", "ij->i",
             "ij->j", "ii->i", "i,j->ij", "ij,ij->", "ij,ij->ij", "ij,kj->ik", "ji,jk->ik", "i,ij->j",
             "ij,jk->ki", "ij,jk", "ij,ij->i", "ij,j->ij", "i->", "i,i->i", "ij -> ji"]


def _values(equation):
    return {s: RNG.uniform(-1, 1, SHAPES[s]) for s in equation.replace(" ", "").split("->")[0].split(",")}


def _run(module, equation, values):
    inputs = equation.replace(" ", "").split("->")[0].split(",")
    xs = [module.tensor(values[s], dtype=module.float64, requires_grad=True) for s in inputs]
    out = module.einsum(equation, *xs)
    upstream = module.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)),
                             dtype=module.float64)
    grads = module.autograd.grad(out, xs, upstream, create_graph=True)
    if not any(g.requires_grad for g in grads):     # one operand: linear, nothing to differentiate again
        return out, grads, [None] * len(xs)
    second = module.autograd.grad(sum((g * g).sum() for g in grads), xs, allow_unused=True)
    return out, grads, second


@pytest.mark.parametrize("equation", EQUATIONS)
def test_einsum_equals_torch(equation):
    values = _values(equation)
    ours, our_grads, our_second = _run(gs, equation, values)
    theirs, their_grads, their_second = _run(torch, equation, values)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    for mine, reference in zip(our_grads, their_grads):
        np.testing.assert_allclose(mine.detach().numpy(), reference.detach().numpy(), rtol=1e-12, atol=1e-12)
    for mine, reference in zip(our_second, their_second):
        assert (mine is None) == (reference is None)
        if mine is not None:
            np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-12, atol=1e-12)


def test_einsum_takes_a_list_of_operands_like_torch():
    a, b = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, (4, 2))
    ours = gs.einsum("ij,jk->ik", [gs.tensor(a), gs.tensor(b)])
    np.testing.assert_allclose(ours.numpy(), torch.einsum("ij,jk->ik", [torch.tensor(a), torch.tensor(b)]).numpy())
