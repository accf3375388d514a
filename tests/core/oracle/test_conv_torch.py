"""Convolution and max pooling against PyTorch: nn.Conv1d / nn.Conv2d /
nn.MaxPool2d forward, gradients (parameters copied from torch's module),
printouts and default initialisation; F.conv1d / F.conv2d / F.max_pool2d
grad_fn names, double backward, return_indices and error messages; gradcheck
and gradgradcheck in float64."""
from __future__ import annotations

import math

import numpy as np
import pytest
from test_nn_torch import _build, test_module_matches_torch as _module_matches

import gradstudio
from gradstudio.autograd import gradcheck, gradgradcheck

pytestmark = pytest.mark.oracle

MODULES = [
    ("nn.Conv1d(2, 3, 3)", [(4, 2, 9)]),
    ("nn.Conv1d(4, 6, 2, stride=2, padding=1, dilation=2, groups=2, bias=False)", [(3, 4, 10)]),
    ("nn.Conv1d(2, 2, 4, padding='same')", [(1, 2, 7)]),
    ("nn.Conv1d(2, 3, 3)", [(2, 9)]),                                   # unbatched
    ("nn.Conv2d(1, 6, 5)", [(2, 1, 9, 8)]),
    ("nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0))", [(2, 3, 7, 6)]),
    ("nn.Conv2d(4, 4, 3, padding='same', dilation=2, groups=2)", [(1, 4, 8, 8)]),
    ("nn.Conv2d(2, 3, (2, 3), padding='same', bias=False)", [(2, 2, 5, 6)]),   # even kernel: padded right
    ("nn.Conv2d(3, 6, 3, groups=3, padding='valid')", [(2, 3, 5, 5)]),
    ("nn.Conv2d(3, 2, 3)", [(3, 6, 6)]),                                  # unbatched
    ("nn.MaxPool2d(2)", [(2, 3, 6, 6)]),
    ("nn.MaxPool2d(3, stride=2, padding=1)", [(2, 2, 7, 8)]),
    ("nn.MaxPool2d((3, 2), stride=1, padding=1, ceil_mode=True)", [(1, 2, 5, 6)]),
    ("nn.MaxPool2d(2, stride=2, ceil_mode=True)", [(2, 1, 5, 7)]),
    ("nn.MaxPool2d(2, dilation=2)", [(1, 2, 7, 7)]),
    ("nn.MaxPool2d(2)", [(3, 6, 6)]),                                     # unbatched
    ("nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), "
     "nn.Tanh(), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(32, 3))", [(2, 1, 10, 10)]),
]


@pytest.mark.parametrize("text,shapes", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(text, shapes, torch):
    _module_matches(text, shapes, torch)


@pytest.mark.parametrize("text", ["nn.Conv1d(2, 3, 3)", "nn.Conv2d(1, 6, 5)", "nn.MaxPool2d(2)",
                                  "nn.Conv2d(3, 4, 3, padding=1, bias=False)"])
def test_grad_fn_names_match_torch(text, torch):
    rng = np.random.default_rng(0)
    shape = (2, 1 if "(1," in text else 3 if "(3," in text else 2, 8, 8)[: 3 if "1d" in text else 4]
    x = rng.standard_normal(shape).astype(np.float32)
    tm, gm = _build(text, torch), _build(text, gradstudio)
    ty, gy = tm(torch.tensor(x, requires_grad=True)), gm(gradstudio.tensor(x, requires_grad=True))
    assert gy.grad_fn.name() == ty.grad_fn.name()
    assert ([f.name() if f is not None else None for f, _ in ty.grad_fn.next_functions][:2]
            == [f.name() if f is not None else None for f, _ in gy.grad_fn.next_functions][:2])


def test_default_initialisation_keeps_torchs_bounds():
    torch_like = gradstudio.nn.Conv2d(6, 8, (3, 5), groups=2)
    fan_in = 3 * 3 * 5
    bound = 1 / math.sqrt(fan_in)          # kaiming_uniform_(a=√5) gives U(−1/√fan_in, 1/√fan_in)
    assert torch_like.weight.shape == (8, 3, 3, 5) and torch_like.bias.shape == (8,)
    assert 0.8 * bound < float(torch_like.weight.abs().max()) <= bound
    assert float(torch_like.bias.abs().max()) <= bound
    assert torch_like.weight.requires_grad and isinstance(torch_like.weight, gradstudio.nn.Parameter)


def _pair(torch, shape, seed, dtype="float64"):
    a = np.random.default_rng(seed).standard_normal(shape)
    return (torch.tensor(a, requires_grad=True),
            gradstudio.tensor(a, dtype=getattr(gradstudio, dtype), requires_grad=True))


CALLS = [
    ("conv1d", (2, 4, 9), (6, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    ("conv2d", (2, 3, 6, 5), (4, 3, 2, 3), {"stride": (2, 1), "padding": (1, 2)}),
    ("conv2d", (1, 4, 6, 6), (4, 1, 3, 3), {"padding": "same", "groups": 4}),
]


@pytest.mark.parametrize("name,xs,ws,kw", CALLS, ids=[f"{c[0]}{c[3]}" for c in CALLS])
def test_double_backward_matches_torch(name, xs, ws, kw, torch):
    (tx, gx), (tw, gw) = _pair(torch, xs, 1), _pair(torch, ws, 2)
    (tb, gb) = _pair(torch, (ws[0],), 3)
    ty = getattr(torch.nn.functional, name)(tx, tw, tb, **kw)
    gy = getattr(gradstudio.nn.functional, name)(gx, gw, gb, **kw)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = np.random.default_rng(4).standard_normal(tuple(ty.shape))
    tgx, tgw = torch.autograd.grad(ty, (tx, tw), torch.tensor(up), create_graph=True)
    ggx, ggw = gradstudio.autograd.grad(gy, (gx, gw), gradstudio.tensor(up), create_graph=True)
    assert ggx.grad_fn.name() == type(tgx.grad_fn).__name__ == "ConvolutionBackwardBackward0"
    ((tgx ** 2).sum() + (tgw * tgw.tanh()).sum()).backward()
    ((ggx ** 2).sum() + (ggw * ggw.tanh()).sum()).backward()
    for ours, theirs in ((gx, tx), (gw, tw)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_max_pool_double_backward_and_indices_match_torch(torch):
    (tx, gx) = _pair(torch, (2, 3, 7, 6), 5)
    kw = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    ty, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **kw)
    gy, gi = gradstudio.nn.functional.max_pool2d(gx, return_indices=True, **kw)
    np.testing.assert_array_equal(gi.numpy(), ti.numpy())
    assert gi.dtype == gradstudio.int64
    np.testing.assert_array_equal(gy.detach().numpy(), ty.detach().numpy())
    (tu, gu) = _pair(torch, tuple(ty.shape), 6)
    (tg,) = torch.autograd.grad(ty, tx, tu, create_graph=True)
    (gg,) = gradstudio.autograd.grad(gy, gx, gu, create_graph=True)
    assert gg.grad_fn.name() == type(tg.grad_fn).__name__ == "MaxPool2DWithIndicesBackwardBackward0"
    (tg * tg).sum().backward()
    (gg * gg).sum().backward()
    np.testing.assert_allclose(gu.grad.numpy(), tu.grad.numpy(), rtol=1e-12)


def test_gradcheck_and_gradgradcheck_in_float64():
    rng = np.random.default_rng(7)
    F = gradstudio.nn.functional

    def t(*shape):
        return gradstudio.tensor(rng.standard_normal(shape), dtype=gradstudio.float64, requires_grad=True)
    x1, w1, b1 = t(2, 4, 7), t(4, 2, 3), t(4)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2), (x1, w1, b1))
    assert gradgradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2), (x1, w1, b1))
    x2, w2 = t(1, 2, 5, 6), t(3, 2, 2, 3)
    assert gradcheck(lambda x, w: F.conv2d(x, w, dilation=(2, 1), padding=1), (x2, w2))
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, dilation=(2, 1), padding=1), (x2, w2))
    x3 = gradstudio.tensor(rng.permutation(60).reshape(1, 3, 4, 5) / 7.0, dtype=gradstudio.float64,
                           requires_grad=True)      # distinct values: no ties in a window
    assert gradcheck(lambda x: F.max_pool2d(x, 2, stride=1, padding=1), (x3,))
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2, stride=1, padding=1), (x3,))


ERRORS = [
    ("conv2d", (1, 4, 5, 5), (2, 3, 3, 3), {}),
    ("conv2d", (5, 5), (2, 3, 3, 3), {}),
    ("conv2d", (1, 3, 2, 2), (2, 3, 3, 3), {}),
    ("conv1d", (1, 3, 8), (2, 3, 3), {"padding": "same", "stride": 2}),
    ("conv1d", (1, 3, 8), (2, 3, 3), {"padding": "full"}),
    ("conv1d", (2, 2, 3, 8), (2, 2, 3), {}),
    ("conv2d", (1, 4, 6, 6), (2, 2, 3, 3), {"groups": 3}),
    ("conv2d", (1, 4, 6, 6), (4, 2, 3, 3), {"groups": 3}),
]


@pytest.mark.parametrize("name,xs,ws,kw", ERRORS, ids=[f"{e[0]}-{e[1]}-{e[3]}" for e in ERRORS])
def test_errors_have_torchs_wording(name, xs, ws, kw, torch):
    x, w = np.ones(xs, np.float32), np.ones(ws, np.float32)
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(w), **kw)
    with pytest.raises(RuntimeError) as ours:
        getattr(gradstudio.nn.functional, name)(gradstudio.tensor(x), gradstudio.tensor(w), **kw)
    assert str(ours.value) == str(theirs.value)


def test_max_pool_padding_over_half_the_window_is_torchs_error(torch):
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.functional.max_pool2d(torch.ones(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError) as ours:
        gradstudio.nn.functional.max_pool2d(gradstudio.ones(1, 1, 4, 4), 2, padding=2)
    assert str(ours.value) == str(theirs.value)
