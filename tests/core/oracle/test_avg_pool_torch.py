"""Average pooling (and 1-d max pooling) against PyTorch: nn.AvgPool1d/2d,
nn.AdaptiveAvgPool1d/2d and nn.MaxPool1d forward, gradients and printouts;
the F. functions' grad_fn chains (torch runs the 1-d pools as 2-d ones, and a
1×1 adaptive pool as a mean), double backward, integer inputs and error
messages; gradcheck and gradgradcheck in float64."""
from __future__ import annotations

import numpy as np
import pytest
from test_nn_torch import _build, test_module_matches_torch as _module_matches

import gradstudio
from gradstudio.autograd import gradcheck, gradgradcheck

pytestmark = pytest.mark.oracle

MODULES = [
    ("nn.AvgPool2d(2)", [(2, 3, 6, 6)]),
    ("nn.AvgPool2d(3, stride=2, padding=1)", [(2, 2, 7, 8)]),
    ("nn.AvgPool2d((3, 2), stride=1, padding=1, ceil_mode=True, count_include_pad=False)", [(1, 2, 5, 6)]),
    ("nn.AvgPool2d(4, stride=3, padding=2, ceil_mode=True)", [(1, 2, 6, 5)]),     # a window past the padding
    ("nn.AvgPool2d((2, 3), divisor_override=4)", [(2, 1, 5, 7)]),
    ("nn.AvgPool2d(2)", [(3, 6, 6)]),                                             # unbatched
    ("nn.AdaptiveAvgPool2d((3, 4))", [(2, 3, 7, 9)]),
    ("nn.AdaptiveAvgPool2d((None, 2))", [(2, 3, 5, 7)]),
    ("nn.AdaptiveAvgPool2d(7)", [(1, 2, 5, 5)]),                                  # larger than the input
    ("nn.AdaptiveAvgPool2d(1)", [(2, 4, 3, 3)]),
    ("nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)", [(2, 3, 9)]),
    ("nn.AdaptiveAvgPool1d(4)", [(2, 3, 9)]),
    ("nn.MaxPool1d(3, stride=2, padding=1)", [(2, 3, 9)]),
    ("nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2), "
     "nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())", [(2, 1, 12, 12)]),
]


@pytest.mark.parametrize("text,shapes", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch(text, shapes, torch):
    _module_matches(text, shapes, torch)


def _chain(fn) -> list:
    """grad_fn names down the first input's edges, to the leaf."""
    names = []
    while fn is not None:
        names.append(fn.name() if callable(getattr(fn, "name", None)) else type(fn).__name__)
        fn = fn.next_functions[0][0] if fn.next_functions else None
    return names


CALLS = [
    ("avg_pool2d", (2, 3, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("adaptive_avg_pool2d", (2, 3, 7, 9), {"output_size": (3, 4)}),
    ("adaptive_avg_pool2d", (2, 3, 7, 9), {"output_size": (1, 1)}),
    ("avg_pool1d", (2, 3, 9), {"kernel_size": 2}),
    ("adaptive_avg_pool1d", (2, 3, 9), {"output_size": 4}),
    ("adaptive_avg_pool1d", (2, 9), {"output_size": 1}),
    ("max_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2}),
]


@pytest.mark.parametrize("name,shape,kw", CALLS, ids=[f"{c[0]}{c[2]}" for c in CALLS])
def test_grad_fn_chain_matches_torch(name, shape, kw, torch):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ty = getattr(torch.nn.functional, name)(torch.tensor(x, requires_grad=True), **kw)
    gy = getattr(gradstudio.nn.functional, name)(gradstudio.tensor(x, requires_grad=True), **kw)
    assert _chain(gy.grad_fn) == _chain(ty.grad_fn)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)


def _pair(torch, shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    return torch.tensor(a, requires_grad=True), gradstudio.tensor(a, requires_grad=True)


@pytest.mark.parametrize("name,kw,backward_name", [
    ("avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
     "AvgPool2DBackwardBackward0"),
    ("adaptive_avg_pool2d", {"output_size": (2, 3)}, "AdaptiveAvgPool2DBackwardBackward0"),
])
def test_double_backward_matches_torch(name, kw, backward_name, torch):
    tx, gx = _pair(torch, (2, 3, 7, 6), 5)
    ty = getattr(torch.nn.functional, name)(tx, **kw)
    gy = getattr(gradstudio.nn.functional, name)(gx, **kw)
    tu, gu = _pair(torch, tuple(ty.shape), 6)
    (tg,) = torch.autograd.grad(ty, tx, tu, create_graph=True)
    (gg,) = gradstudio.autograd.grad(gy, gx, gu, create_graph=True)
    assert gg.grad_fn.name() == type(tg.grad_fn).__name__ == backward_name
    np.testing.assert_allclose(gg.detach().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    ((tg * tg).sum() + (ty * ty).sum()).backward()
    ((gg * gg).sum() + (gy * gy).sum()).backward()
    np.testing.assert_allclose(gu.grad.numpy(), tu.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_the_saved_parameters_are_torchs(torch):
    kw = {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0), "ceil_mode": True,
          "count_include_pad": False, "divisor_override": 3}
    ty = torch.nn.functional.avg_pool2d(torch.ones(1, 1, 5, 4, requires_grad=True), **kw)
    gy = gradstudio.nn.functional.avg_pool2d(gradstudio.ones(1, 1, 5, 4, requires_grad=True), **kw)
    for name in ("_saved_kernel_size", "_saved_stride", "_saved_padding", "_saved_ceil_mode",
                 "_saved_count_include_pad", "_saved_divisor_override"):
        assert getattr(gy.grad_fn, name) == getattr(ty.grad_fn, name), name
    assert tuple(gy.grad_fn._saved_self.shape) == (1, 1, 5, 4)


def test_an_integer_input_pools_to_integers_as_torch(torch):
    x = np.arange(2 * 5 * 5).reshape(1, 2, 5, 5) * 7 - 80
    kw = {"kernel_size": 3, "stride": 2, "padding": 1}
    ty = torch.nn.functional.avg_pool2d(torch.tensor(x), **kw)
    gy = gradstudio.nn.functional.avg_pool2d(gradstudio.tensor(x), **kw)
    assert gy.dtype == gradstudio.int64
    np.testing.assert_array_equal(gy.numpy(), ty.numpy())


def test_gradcheck_and_gradgradcheck_in_float64():
    rng = np.random.default_rng(7)
    F = gradstudio.nn.functional
    x = gradstudio.tensor(rng.standard_normal((1, 2, 5, 6)), dtype=gradstudio.float64, requires_grad=True)
    for pool in (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                 lambda x: F.avg_pool2d(x, (2, 3), divisor_override=2),
                 lambda x: F.adaptive_avg_pool2d(x, (4, 4)),
                 lambda x: F.adaptive_avg_pool1d(x[0], 4)):
        assert gradcheck(pool, (x,))
        assert gradgradcheck(pool, (x,))


ERRORS = [
    ("avg_pool2d", (1, 2, 5, 5), (3,), {"padding": 2}),
    ("avg_pool2d", (1, 2, 5, 5), (7,), {}),
    ("avg_pool2d", (1, 2, 5, 5), (2,), {"divisor_override": 0}),
    ("avg_pool2d", (1, 2, 5, 5), ((2, 3, 4),), {}),
    ("avg_pool2d", (1, 2, 5, 5), (0,), {}),
    ("adaptive_avg_pool2d", (5,), (2,), {}),
    ("adaptive_avg_pool2d", (1, 2, 5, 5), ((2, 3, 4),), {}),
    ("avg_pool1d", (2, 2, 2, 5), (2,), {}),
    ("adaptive_avg_pool1d", (1, 2, 5, 5), (2,), {}),
]


@pytest.mark.parametrize("name,shape,args,kw", ERRORS, ids=[f"{e[0]}-{e[1]}-{e[2]}-{e[3]}" for e in ERRORS])
def test_errors_have_torchs_wording(name, shape, args, kw, torch):
    x = np.ones(shape, np.float32)
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch.nn.functional, name)(torch.tensor(x), *args, **kw)
    with pytest.raises(RuntimeError) as ours:
        getattr(gradstudio.nn.functional, name)(gradstudio.tensor(x), *args, **kw)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("text", ["nn.AvgPool2d(4)", "nn.AdaptiveAvgPool2d(1)", "nn.AvgPool1d(2)",
                                  "nn.AdaptiveAvgPool1d(3)", "nn.MaxPool1d(2)", "nn.AvgPool2d((2, 3))",
                                  "nn.AdaptiveAvgPool2d((None, 2))",
                                  "nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, divisor_override=2)"])
def test_printouts_match_torch(text, torch):
    assert repr(_build(text, gradstudio)) == repr(_build(text, torch))
