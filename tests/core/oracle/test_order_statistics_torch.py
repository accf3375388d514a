"""median, nanmedian, mode, kthvalue, cummax, cummin, logcumsumexp, aminmax, nansum,
nanmean, var_mean, std_mean, searchsorted, bucketize and histc against torch 2.13: a
transcript of printed values, indices, return types, grad_fn names, saved attributes,
gradients (ties, NaN), keepdim, negative dims and errors, identical to torch's; and the
indices picked among ties and NaNs on random inputs (torch's CPU kernels choose them,
see gradstudio/ops/order_statistics.py)."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

NAN = float("nan")


def _calls(torch):
    x = torch.tensor([[3., 1., 2., 5.], [0., 4., 4., 1.]], requires_grad=True)
    ties = torch.tensor([[1., 2., 2., 3.], [5., 5., 5., 5.], [2., 1., 2., 1.]])
    nans = torch.tensor([[1., NAN, 3.], [NAN, 2., NAN], [NAN, NAN, NAN]])
    b = torch.tensor([1., 2., 2., 3.])
    v = torch.tensor([[0., 2.], [2.5, 4.]])
    return (
        lambda: x.median(), lambda: x.median(1), lambda: torch.median(x, -1, keepdim=True),
        lambda: ties.median(1), lambda: nans.median(1), lambda: nans.nanmedian(1), lambda: nans.nanmedian(),
        lambda: torch.tensor([1., NAN, 3.]).median(), lambda: torch.tensor([3, 1, 2, 4]).median(),
        lambda: torch.tensor([]).median(), lambda: torch.zeros(2, 0).median(1), lambda: torch.zeros(2, 0).median(0),
        lambda: torch.tensor(3.).median(0), lambda: torch.zeros(2, 3).median(2),
        lambda: x.mode(), lambda: torch.mode(x, 0, True),
        lambda: torch.tensor([[1., 2., 2., 1.], [3., 1., 2., 4.], [2., 2., 1., 1.]]).mode(1),
        lambda: torch.tensor([NAN, NAN, 1.]).mode(), lambda: torch.tensor([1, 2, 2, 3]).mode(),
        lambda: torch.zeros(0).mode(), lambda: torch.tensor(3.).mode(),
        lambda: x.kthvalue(2), lambda: torch.kthvalue(x, 1, 0, True), lambda: torch.tensor([1., 2., 1., 1.]).kthvalue(2),
        lambda: torch.tensor([1., NAN, 2., 0.]).kthvalue(4), lambda: torch.tensor([1., 2.]).kthvalue(3),
        lambda: torch.tensor([1., 2.]).kthvalue(0, -1), lambda: torch.tensor(3.).kthvalue(1),
        lambda: x.cummax(1), lambda: torch.cummin(x, -2), lambda: torch.tensor([1., 3., 3., 2., 3.]).cummax(0),
        lambda: torch.tensor([1., NAN, 3., NAN, 2.]).cummax(0), lambda: torch.tensor([1., NAN, 0., NAN, 2.]).cummin(0),
        lambda: torch.tensor([False, True, False]).cummax(0), lambda: torch.tensor(3.).cummax(0),
        lambda: x.logcumsumexp(1), lambda: torch.tensor([1., -float("inf"), 1000., 2.]).logcumsumexp(0),
        lambda: torch.tensor([1, 2]).logcumsumexp(0),
        lambda: x.aminmax(), lambda: torch.aminmax(x, dim=-1, keepdim=True), lambda: torch.tensor([1, 3, 2]).aminmax(),
        lambda: torch.zeros(0).aminmax(), lambda: torch.tensor([1., NAN]).aminmax(), lambda: torch.tensor(2.).aminmax(dim=0),
        lambda: torch.tensor([[1., NAN], [2., 3.]]).nansum(), lambda: torch.tensor([[1., NAN], [2., 3.]]).nansum(-1, True),
        lambda: torch.nansum(torch.tensor([1, 2])), lambda: torch.tensor([1, 2]).nansum(dtype=torch.float64),
        lambda: torch.tensor([[1., NAN], [2., 3.]], requires_grad=True).nanmean(1, keepdim=True),
        lambda: torch.tensor([NAN, NAN]).nanmean(), lambda: torch.tensor([1, 2]).nanmean(),
        lambda: torch.var_mean(x), lambda: torch.var_mean(x, 1, unbiased=False), lambda: torch.std_mean(x, -1, correction=2),
        lambda: torch.std_mean(torch.tensor([1., 2., 4.]), unbiased=False), lambda: torch.var_mean(torch.tensor([1, 2])),
        lambda: torch.var_mean(x, dim=0, keepdim=True),
        lambda: torch.searchsorted(b, v), lambda: torch.searchsorted(b, v, right=True),
        lambda: torch.searchsorted(b, v, side="right"), lambda: torch.searchsorted(b, v, side="middle"),
        lambda: torch.searchsorted(b, v, side="left", right=True), lambda: torch.searchsorted(b, v, out_int32=True),
        lambda: torch.searchsorted(b, 2.), lambda: torch.searchsorted(torch.tensor([1., 2., NAN]), torch.tensor([NAN, 3.])),
        lambda: torch.searchsorted(torch.tensor([3., 1., 2.]), torch.tensor([2.5]), sorter=torch.tensor([1, 2, 0])),
        lambda: torch.searchsorted(torch.tensor([[1., 3.], [2., 4.]]), torch.tensor([[2.], [3.]])),
        lambda: torch.searchsorted(torch.tensor([[1., 3.], [2., 4.]]), torch.tensor([2.])),
        lambda: torch.bucketize(v, b), lambda: torch.bucketize(v, b, right=True), lambda: torch.bucketize(2., b),
        lambda: torch.bucketize(v, v),
        lambda: torch.histc(torch.tensor([1., 2., 1., 2.5, 4., -1.]), bins=4, min=0, max=3),
        lambda: torch.tensor([2., 2.]).histc(3), lambda: torch.histc(torch.tensor([1., 2., 1., 2.5, 4.]), 5),
        lambda: torch.histc(torch.tensor([1, 2])), lambda: torch.histc(torch.tensor([2.]), 3, min=3, max=1),
        lambda: torch.histc(torch.tensor([2.]), bins=0), lambda: x.histc(4),
        lambda: torch.tensor([1., 2.], dtype=torch.float64).histc(2),
    )


def _saved(node) -> str:
    # tensors detached: the other result of a two-result call (aminmax's max on the min's
    # node) is saved by torch as that output, ours as its values (gradstudio/ops/two_results.py)
    names = sorted(a for a in dir(node) if a.startswith("_saved_"))
    values = (getattr(node, a) for a in names)
    return f"{node.name()} " + " ".join(f"{a[7:]}={v.detach() if hasattr(v, 'detach') else v!r}"
                                        for a, v in zip(names, values))


def transcript(torch) -> list[str]:
    out = []
    for call in _calls(torch):
        try:
            out.append(repr(call()))
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    x = torch.tensor([[3., 1., 2., 5.], [0., 4., 4., 1.]], requires_grad=True)
    for result in (x.median(), x.median(-1).values, x.nanmedian(), x.nanmedian(0, True).values, x.mode(0).values,
                   x.kthvalue(3).values, x.cummax(1).values, x.cummin(0).values, x.logcumsumexp(0),
                   x.aminmax(dim=1).max, x.nansum(0), torch.var_mean(x, 1)[0], torch.std_mean(x, 1, keepdim=True)[1],
                   torch.var_mean(x)[0], torch.var_mean(x, None)[1], torch.std_mean(x, unbiased=False)[0],
                   torch.std_mean(x, keepdim=True)[0]):
        out.append(_saved(result.grad_fn))
    weights = torch.arange(1., 9.).reshape(2, 4)

    def gradient(f, values):
        t = torch.tensor(values, requires_grad=True)
        y = f(t)
        (y * torch.arange(1., y.numel() + 1).reshape(y.shape)).sum().backward()
        return repr(t.grad)
    out += [gradient(lambda t: t.median(), [1., 2., 2., 3.]), gradient(lambda t: t.median(), [2., 2., 2., 3.]),
            gradient(lambda t: t.median(), [1., NAN, 3., NAN]), gradient(lambda t: t.nanmedian(), [1., NAN, 3., 0.]),
            gradient(lambda t: t.median(1).values, [[3., 1., 2., 5.], [0., 4., 4., 1.]]),
            gradient(lambda t: t.mode().values, [1., 2., 2., 1., 2.]),
            gradient(lambda t: t.kthvalue(2, 0).values, [[3., 1.], [0., 4.], [2., 2.]]),
            gradient(lambda t: t.cummax(0).values, [1., 3., 3., 2., 3.]),
            gradient(lambda t: t.cummin(-1).values, [[3., 1., 1., 2.], [0., 2., -1., -1.]]),
            gradient(lambda t: t.logcumsumexp(0), [1., 2., 3.]),
            gradient(lambda t: t.logcumsumexp(0), [-float("inf"), 2., 3.]),
            gradient(lambda t: torch.stack(torch.aminmax(t)), [1., 3., 3., 1., 2.]),
            gradient(lambda t: t.nansum(), [1., NAN, 2.]), gradient(lambda t: t.nanmean(0), [[1., NAN], [2., 3.]]),
            gradient(lambda t: torch.stack(torch.var_mean(t, 1)), [[1., 3., 4.], [1., 0., 0.]]),
            gradient(lambda t: torch.stack(torch.std_mean(t, 1, correction=0)), [[1., 3., 4.], [1., 1., 1.]])]
    y = x.logcumsumexp(1)
    (g,) = torch.autograd.grad((y * weights).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad((g * weights).sum(), x)
    out.append(repr(second))
    return out


def test_order_statistics_scans_and_searches_as_torch(torch):
    ours, theirs = transcript(gradstudio), transcript(torch)
    for mine, torchs in zip(ours, theirs):
        assert mine == torchs
    assert len(ours) == len(theirs)


def test_indices_among_ties_and_nans_are_torchs(torch):
    rng = np.random.default_rng(12)
    for trial in range(300):
        values = rng.integers(0, 4, (3, int(rng.integers(1, 40)))).astype(np.float64)
        values[rng.random(values.shape) < 0.1 * (trial % 2)] = np.nan
        k = int(rng.integers(1, values.shape[1] + 1))
        results = []
        for lib in (torch, gradstudio):
            t = lib.tensor(values)
            results.append([r.indices.numpy().tolist() for r in (t.median(1), t.nanmedian(1), t.mode(1),
                                                                 t.kthvalue(k, 1), t.cummax(1), t.cummin(1))])
        assert results[1] == results[0], values
