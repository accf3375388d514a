"""Resampling and padding layers against PyTorch 2.13: nn.Upsample (nearest, linear,
bilinear; size or scale_factor; align_corners), UpsamplingNearest2d / Bilinear2d,
PixelShuffle / PixelUnshuffle, Unfold / Fold and the padding modules — printouts,
values and gradients (float32 modules; float64 functions with every gradient and the
double-backward node), grad_fn names, the printed result and torch's errors."""
from __future__ import annotations

import numpy as np
import pytest
from test_nn_torch import test_module_matches_torch as _module_matches

import gradstudio

pytestmark = pytest.mark.oracle

MODULES = [
    ("nn.Upsample(scale_factor=2)", [(2, 3, 5)]),
    ("nn.Upsample(size=7)", [(2, 3, 5)]),
    ("nn.Upsample(size=(5, 7))", [(1, 2, 3, 4)]),
    ("nn.Upsample(scale_factor=(1.5, 2.7))", [(1, 2, 3, 4)]),
    ("nn.Upsample(scale_factor=0.5)", [(1, 2, 6, 5)]),
    ("nn.Upsample(size=9, mode='linear')", [(2, 2, 4)]),
    ("nn.Upsample(scale_factor=1.7, mode='linear', align_corners=True)", [(2, 2, 4)]),
    ("nn.Upsample(scale_factor=2, mode='bilinear')", [(1, 2, 3, 4)]),
    ("nn.Upsample(size=(2, 7), mode='bilinear', align_corners=True)", [(1, 2, 5, 3)]),
    ("nn.Upsample(scale_factor=(0.6, 1.3), mode='bilinear')", [(2, 1, 5, 4)]),
    ("nn.UpsamplingNearest2d(scale_factor=3)", [(1, 2, 2, 3)]),
    ("nn.UpsamplingBilinear2d(size=(4, 5))", [(1, 2, 2, 3)]),
    ("nn.PixelShuffle(2)", [(2, 8, 3, 2)]),
    ("nn.PixelShuffle(3)", [(9, 2, 2)]),
    ("nn.PixelUnshuffle(2)", [(2, 1, 4, 6)]),
    ("nn.Unfold((2, 3))", [(2, 3, 4, 5)]),
    ("nn.Unfold(2, dilation=(1, 2), padding=1, stride=(2, 1))", [(1, 2, 5, 6)]),
    ("nn.Unfold(3, padding=1)", [(2, 4, 4)]),
    ("nn.Fold((4, 5), 2)", [(2, 12, 12)]),
    ("nn.Fold((5, 4), (2, 3), dilation=(2, 1), padding=(1, 0), stride=(1, 2))", [(1, 12, 5)]),
    ("nn.ZeroPad1d(2)", [(2, 3, 4)]),
    ("nn.ZeroPad2d((1, 2, 0, 3))", [(1, 2, 3, 4)]),
    ("nn.ConstantPad1d((2, 1), 3.5)", [(2, 3, 4)]),
    ("nn.ConstantPad2d(1, -1.0)", [(1, 2, 3, 4)]),
    ("nn.ConstantPad3d((1, 2, 0, 1, 1, 0), 1)", [(1, 2, 2, 3, 4)]),
    ("nn.ReflectionPad1d(2)", [(2, 3, 4)]),
    ("nn.ReflectionPad1d((3, 1))", [(3, 5)]),
    ("nn.ReflectionPad2d((1, 0, 2, 1))", [(1, 2, 3, 4)]),
    ("nn.ReflectionPad2d(2)", [(2, 4, 3)]),
    ("nn.ReplicationPad1d((1, 3))", [(2, 3, 4)]),
    ("nn.ReplicationPad2d(2)", [(1, 2, 3, 4)]),
    ("nn.ReplicationPad2d((0, 3, 2, 1))", [(2, 2, 3)]),
]


@pytest.mark.parametrize("text,shapes", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(text, shapes, torch):
    _module_matches(text, shapes, torch)


# (call on F and x, input shape, torch's grad_fn)
FUNCTIONS = [
    ("F.interpolate(x, scale_factor=2)", (1, 2, 5), "UpsampleNearest1DBackward0"),
    ("F.interpolate(x, size=(5, 7))", (1, 2, 3, 4), "UpsampleNearest2DBackward0"),
    ("F.interpolate(x, size=8, mode='linear')", (1, 2, 5), "UpsampleLinear1DBackward0"),
    ("F.interpolate(x, scale_factor=1.5, mode='bilinear', align_corners=True)", (1, 2, 3, 4),
     "UpsampleBilinear2DBackward0"),
    ("F.interpolate(x, scale_factor=1.5, mode='bilinear', recompute_scale_factor=True)", (1, 2, 3, 4),
     "UpsampleBilinear2DBackward0"),
    ("F.upsample(x, scale_factor=2, mode='bilinear')", (1, 1, 2, 3), "UpsampleBilinear2DBackward0"),
    ("F.pixel_shuffle(x, 2)", (1, 8, 2, 3), "PixelShuffleBackward0"),
    ("F.pixel_unshuffle(x, 2)", (1, 2, 4, 6), "PixelUnshuffleBackward0"),
    ("F.unfold(x, (2, 2), padding=1, stride=(1, 2))", (1, 2, 3, 4), "Im2ColBackward0"),
    ("F.fold(x, (3, 4), (2, 2))", (1, 8, 6), "Col2ImBackward0"),
    ("F.pad(x, (2, 1), mode='reflect')", (1, 2, 5), "ReflectionPad1DBackward0"),
    ("F.pad(x, (2, 1, 1, 2), mode='reflect')", (1, 2, 3, 4), "ReflectionPad2DBackward0"),
    ("F.pad(x, (2, 1), mode='replicate')", (1, 2, 5), "ReplicationPad1DBackward0"),
    ("F.pad(x, (2, 1, 1, 2), mode='replicate')", (2, 3, 4), "ReplicationPad2DBackward0"),
]


def _run(call, lib, x):
    return eval(call, {"F": lib.nn.functional, "x": x})  # test-authored call text, never user input


@pytest.mark.parametrize("call,shape,name", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_function_matches_torch_in_float64(call, shape, name, torch):
    values = np.random.default_rng(7).standard_normal(shape)
    tx = torch.tensor(values, requires_grad=True)
    gx = gradstudio.tensor(values, requires_grad=True)
    ty, gy = _run(call, torch, tx), _run(call, gradstudio, gx)
    assert type(ty.grad_fn).__name__ == name and gy.grad_fn.name() == name
    assert tuple(gy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert repr(gy) == repr(ty)
    weights = np.random.default_rng(8).standard_normal(tuple(ty.shape))
    (tg,) = torch.autograd.grad((ty * ty * torch.tensor(weights)).sum(), tx, create_graph=True)
    (gg,) = gradstudio.autograd.grad((gy * gy * gradstudio.tensor(weights)).sum(), gx, create_graph=True)
    np.testing.assert_allclose(gg.detach().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-13)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    (ggg,) = gradstudio.autograd.grad(gg.sum(), gx)
    np.testing.assert_allclose(ggg.numpy(), tgg.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("call,shape,name", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_gradients_node_is_torchs(call, shape, name, torch):
    """The node the first gradient hangs from (double backward's graph)."""
    values = np.random.default_rng(9).standard_normal(shape)
    tx = torch.tensor(values, requires_grad=True)
    gx = gradstudio.tensor(values, requires_grad=True)
    ty, gy = _run(call, torch, tx), _run(call, gradstudio, gx)
    tw = torch.ones(ty.shape, dtype=torch.float64, requires_grad=True)
    gw = gradstudio.ones(tuple(gy.shape), dtype=gradstudio.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(ty, tx, tw, create_graph=True)
    (gg,) = gradstudio.autograd.grad(gy, gx, gw, create_graph=True)
    assert gg.grad_fn.name() == type(tg.grad_fn).__name__


ERRORS = [
    ("F.interpolate(x, size=4, scale_factor=2)", (1, 2, 3)),
    ("F.interpolate(x)", (1, 2, 3)),
    ("F.interpolate(x, size=4, align_corners=True)", (1, 2, 3)),
    ("F.interpolate(x, scale_factor=2, mode='linear')", (1, 2, 3, 4)),
    ("F.interpolate(x, scale_factor=2, mode='bilinear')", (1, 2, 3)),
    ("F.interpolate(x, size=(2,), mode='nearest')", (1, 2, 3, 4)),
    ("F.interpolate(x, scale_factor=(2,))", (1, 2, 3, 4)),
    ("F.pixel_shuffle(x, 2)", (1, 2, 3, 4)),
    ("F.pixel_shuffle(x, 2)", (4, 4)),
    ("F.pixel_unshuffle(x, 3)", (1, 2, 3, 4)),
    ("F.pixel_unshuffle(x, 2)", (1, 2, 3, 4)),
    ("F.pad(x, (1, 1, 3, 1), mode='reflect')", (1, 2, 3, 4)),
    ("F.pad(x, (4, 1), mode='reflect')", (1, 2, 4)),
    ("F.pad(x, (3, 1), mode='reflect')", (1, 2, 3, 4)),
    ("F.pad(x, (1, 1), mode='replicate')", (4,)),
]


@pytest.mark.parametrize("call,shape", ERRORS, ids=[f"{e[0]} on {e[1]}" for e in ERRORS])
def test_errors_match_torch(call, shape, torch):
    values = np.zeros(shape, dtype=np.float32)
    with pytest.raises(Exception) as theirs:
        _run(call, torch, torch.tensor(values))
    with pytest.raises(type(theirs.value)) as ours:
        _run(call, gradstudio, gradstudio.tensor(values))
    assert str(ours.value) == str(theirs.value)


def test_upsample_warns_as_torch(torch):
    with pytest.warns(UserWarning) as theirs:
        torch.nn.functional.upsample(torch.zeros(1, 1, 2), scale_factor=2)
    with pytest.warns(UserWarning) as ours:
        gradstudio.nn.functional.upsample(gradstudio.zeros(1, 1, 2), scale_factor=2)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
