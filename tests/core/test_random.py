"""Random draws (gradstudio.ops.random, gradstudio.generator): every draw honours
``generator=``, the default generator's seed and state round-trip, and the
samplers' building blocks (multinomial, bernoulli, random_ …) keep torch's
ranges, dtypes and rules. The numbers are GradStudio's own, never torch's."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as torch

DRAWS = {
    "rand": lambda g: torch.rand(2, 3, generator=g),
    "randn": lambda g: torch.randn(4, generator=g),
    "randint": lambda g: torch.randint(0, 100, (5,), generator=g),
    "randperm": lambda g: torch.randperm(20, generator=g),
    "normal": lambda g: torch.normal(0.0, 1.0, (3,), generator=g),
    "bernoulli": lambda g: torch.bernoulli(torch.full((20,), 0.5), generator=g),
    "multinomial": lambda g: torch.multinomial(torch.ones(20), 10, generator=g),
    "poisson": lambda g: torch.poisson(torch.full((8,), 3.0), generator=g),
    "uniform_": lambda g: torch.empty(4).uniform_(generator=g),
    "normal_": lambda g: torch.empty(4).normal_(generator=g),
    "bernoulli_": lambda g: torch.empty(20).bernoulli_(0.5, generator=g),
    "exponential_": lambda g: torch.empty(4).exponential_(generator=g),
    "random_": lambda g: torch.empty(4).random_(0, 1000, generator=g),
}


@pytest.mark.parametrize("name", DRAWS)
def test_a_draw_with_a_generator_depends_on_that_generator_only(name):
    draw = DRAWS[name]
    first = draw(torch.Generator().manual_seed(11))
    torch.manual_seed(0)
    torch.rand(100)                                  # the default stream moves; the draw must not
    again = draw(torch.Generator().manual_seed(11))
    assert torch.equal(first, again)
    assert not torch.equal(first, draw(torch.Generator().manual_seed(12)))


def test_the_default_generator_is_what_manual_seed_returns_and_its_state_round_trips():
    g = torch.manual_seed(7)
    assert g is torch.default_generator and torch.initial_seed() == 7
    state = torch.get_rng_state()
    assert state.dtype == torch.uint8 and state.dim() == 1
    first = torch.randn(5)
    torch.rand(3)
    torch.set_rng_state(state)
    assert torch.equal(torch.randn(5), first)
    assert torch.seed() == torch.initial_seed() != 7


def test_a_wrong_state_is_refused_with_torchs_messages():
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        torch.set_rng_state(torch.zeros(45))
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 45 but found the input RNG "
                                           "state size to be 10"):
        torch.set_rng_state(torch.zeros(10, dtype=torch.uint8))


def test_multinomial_without_replacement_draws_distinct_indices_and_zero_weights_last():
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        picks = torch.multinomial(torch.tensor([0.2, 0.0, 0.5, 0.3]), 4, generator=g).tolist()
        assert sorted(picks) == [0, 1, 2, 3] and picks[-1] == 1
    rows = torch.multinomial(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), 1, generator=g)
    assert rows.tolist() == [[0], [1]] and rows.dtype == torch.int64


def test_multinomial_with_replacement_follows_the_weights():
    picks = torch.multinomial(torch.tensor([1.0, 3.0, 0.0]), 20000, replacement=True,
                              generator=torch.Generator().manual_seed(1)).numpy()
    counts = np.bincount(picks, minlength=3) / picks.size
    assert counts[2] == 0 and abs(counts[1] - 0.75) < 0.02


def test_bernoulli_and_random_keep_torchs_ranges_and_dtypes():
    g = torch.Generator().manual_seed(2)
    assert torch.bernoulli(torch.tensor([0.0, 1.0, 1.0]), generator=g).tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="Expected p_in >= 0 && p_in <= 1"):
        torch.bernoulli(torch.tensor([1.5]))
    ints = torch.zeros(500, dtype=torch.int64).random_(3, 7, generator=g)
    assert set(ints.tolist()) == {3, 4, 5, 6}
    assert set(torch.zeros(200, dtype=torch.int64).random_(4, generator=g).tolist()) == {0, 1, 2, 3}
    assert set(torch.zeros(50, dtype=torch.bool).random_(generator=g).tolist()) == {False, True}
    assert float(torch.empty(1000).exponential_(2.0, generator=g).min()) > 0


def test_a_leaf_that_requires_grad_is_not_refilled_outside_no_grad():
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w.uniform_()
    with torch.no_grad():
        w.bernoulli_(0.5)
    assert w._version == 1
