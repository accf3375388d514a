"""Tensor and autograd corners public tutorials hit, against PyTorch: constants,
backends, randn(size=…), Variable leaving its argument alone, linspace's two halves."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def test_constants_and_backends_match_torch(torch):
    for name in ("pi", "e", "inf"):
        assert getattr(gradstudio, name) == getattr(torch, name)
    assert math.isnan(gradstudio.nan)
    for name in ("cudnn", "mps"):
        assert getattr(gradstudio.backends, name).is_available() == getattr(torch.backends, name).is_available()
    assert gradstudio.cuda.is_available() == torch.cuda.is_available()


def test_randn_and_rand_take_size_as_a_keyword(torch):
    for lib in (torch, gradstudio):
        assert lib.randn(size=(2, 3)).shape == lib.Size([2, 3])
        assert lib.rand(size=[4]).shape == lib.Size([4])


def test_variable_leaves_its_argument_alone(torch):
    def run(lib):
        t = lib.ones(2)
        v = lib.autograd.Variable(t, requires_grad=True)
        (v * 3).sum().backward()
        return t.requires_grad, v.requires_grad, v is t, v.grad.tolist(), t.grad
    assert run(gradstudio) == run(torch)


@pytest.mark.parametrize("args", [(-math.pi, math.pi, 2000), (0, 1, 7), (-3.3, 10.1, 1001), (5, -2, 64),
                                  (0.0, 1.0, 100000)])
def test_linspace_is_bit_identical_in_float32(args, torch):
    np.testing.assert_array_equal(gradstudio.linspace(*args).numpy(), torch.linspace(*args).numpy())


def test_linspace_float64_is_within_an_ulp(torch):
    ours = gradstudio.linspace(-7.7, 13.3, 10001, dtype=gradstudio.float64).numpy()
    theirs = torch.linspace(-7.7, 13.3, 10001, dtype=torch.float64).numpy()
    np.testing.assert_array_max_ulp(ours, theirs, maxulp=1)


LEGACY_TYPES = ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
                "CharTensor", "ByteTensor", "BoolTensor")


@pytest.mark.parametrize("name", LEGACY_TYPES)
def test_legacy_tensor_types_construct_and_check_as_torchs_do(torch, name):
    """torch.LongTensor([...]) as the NLP tutorials' make_target uses it: an int64 tensor
    (GradStudio's was float32, and NLLLoss refused it as a target)."""
    def run(lib):
        kind = getattr(lib, name)
        made = [kind([1.7, 2, 0]), kind(2, 3), kind(), kind((1, 0))]
        return ([(repr(t), t.dtype, tuple(t.shape), t.requires_grad) for t in made[2:]],
                [(str(t.dtype), tuple(t.shape)) for t in made[:2]], made[0].tolist(),
                [isinstance(lib.ones(1, dtype=d), kind) for d in (lib.float32, lib.int64, lib.bool)],
                repr(kind), lib.ones(2).type(kind).dtype, lib.ones(2).type(f"torch.{name}").dtype)
    assert str(run(gradstudio)) == str(run(torch))
