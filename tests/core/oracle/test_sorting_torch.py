"""sort, argsort, msort and topk against torch 2.13: values and indices of every form
(dims, descending, stable, largest/smallest, k = 0 and out of range, integers, bools,
NaN, 0-d), the printed return types, the nodes (SortBackward0/1, TopkBackward0) and their
saved attributes, and the gradients sent back to the places the values came from.
(Among equal smallest values torch's topk does not always take the first; the test
avoids such ties, see gradstudio/ops/sorting.py.)"""
from __future__ import annotations

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def transcript(torch) -> list[str]:
    out = []
    x = torch.tensor([[3., 1., 2., 5.], [0., 4., 4., 1.]], requires_grad=True)
    calls = (lambda: torch.topk(x, 2), lambda: x.sort(dim=1, descending=True), lambda: torch.sort(x),
             lambda: torch.sort(x, stable=True).values.grad_fn.name(),
             lambda: torch.sort(x, 0).values.grad_fn.name(),
             lambda: torch.argsort(x, dim=1, descending=True), lambda: x.argsort(),
             lambda: torch.argsort(x, stable=True),
             lambda: torch.topk(x, 2, dim=0, largest=False), lambda: torch.topk(x, 5),
             lambda: torch.topk(torch.tensor([1, 3, 2]), 2), lambda: torch.sort(torch.tensor([3, 1, 2])),
             lambda: torch.sort(torch.tensor([True, False])),
             lambda: torch.sort(torch.tensor([2., float('nan'), 1.])),
             lambda: torch.sort(torch.tensor([2., float('nan'), 1.]), descending=True),
             lambda: torch.topk(torch.tensor([2., float('nan'), 1.]), 2),
             lambda: torch.tensor(3.).sort(), lambda: torch.tensor(3.).topk(1), lambda: x.msort(),
             lambda: torch.topk(x, 0),
             lambda: torch.tensor([[3., 1., 2., 5.], [0., 4., 6., 1.]]).topk(3, largest=False).indices,
             lambda: torch.sort(torch.tensor([1, 1, 0, 1]), descending=True).indices)
    for call in calls:
        try:
            out.append(repr(call()))
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    v, i = torch.topk(x, 2)
    g = v.grad_fn
    out.append(f"{g.name()} {g._saved_dim} {g._saved_self_sym_sizes} {g._saved_indices!r}")
    (v * torch.tensor([[1., 2.], [3., 4.]])).sum().backward()
    s = x.sort(dim=0, descending=True).values
    (s * torch.arange(8.).reshape(2, 4)).sum().backward()
    out.append(repr(x.grad))
    return out


def test_sort_and_topk_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)
