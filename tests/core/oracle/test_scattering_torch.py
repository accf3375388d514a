"""scatter / scatter_ (a tensor or a number), scatter_add / scatter_add_ against torch
2.13: values (a one-hot matrix among them), repeated positions, integer input, torch's
errors for a bad index, the nodes (ScatterBackward0/1, ScatterAddBackward0) with their
edges and saved attributes, the gradients of input and src, and torch's failure when
src is larger than the index."""
from __future__ import annotations

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def transcript(torch) -> list[str]:
    out = []
    idx = torch.tensor([[1, 2], [3, 0], [0, 1]])
    calls = (lambda: torch.zeros(3, 4).scatter_(1, torch.tensor([[1], [3], [0]]), 1),
             lambda: torch.zeros(2, 3).scatter_(0, torch.tensor([[1, 0, 1]]), torch.tensor([[5., 6., 7.]])),
             lambda: torch.scatter(torch.zeros(3), 0, torch.tensor([2]), torch.tensor([9.])),
             lambda: torch.zeros(3).scatter_(0, torch.tensor([5]), 1.),
             lambda: torch.zeros(3).scatter_(0, torch.tensor([1.]), 1.),
             lambda: torch.zeros(3, dtype=torch.long).scatter_(0, torch.tensor([1]), 7),
             lambda: torch.zeros(3).scatter_add(0, torch.tensor([0, 0, 2]), torch.ones(3)),
             lambda: torch.scatter_add(torch.ones(2, 3), 1, torch.tensor([[0, 0], [2, 1]]),
                                       torch.full((2, 3), 2.)),
             lambda: torch.zeros(2, 4).scatter(1, torch.tensor([[0], [3]]), torch.arange(8.).reshape(2, 4)),
             lambda: torch.zeros(4).scatter_add_(0, torch.tensor([3, 3]), torch.tensor([1., 2.])))
    for call in calls:
        try:
            out.append(repr(call()))
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    x = torch.zeros(3, 4, requires_grad=True)
    src = torch.ones(3, 2, requires_grad=True)
    big = torch.ones(3, 3, requires_grad=True)
    y = x.scatter(1, idx, src)
    g = y.grad_fn
    out.append(f"{g.name()} {len(g.next_functions)} {g._saved_dim} {g._saved_index!r}")
    v = x.scatter(1, idx, 2.5)
    out.append(f"{v.grad_fn.name()} {v.grad_fn._saved_dim} {len(v.grad_fn.next_functions)}")
    a = x.scatter_add(1, idx, src)
    out.append(f"{a.grad_fn.name()} {a.grad_fn._saved_dim}")
    w = torch.arange(12.).reshape(3, 4)
    ((y + v + a) * w).sum().backward()
    out += [repr(x.grad), repr(src.grad)]
    try:  # a src larger than the index: torch's backward fails
        (x.scatter(1, idx, big) * w).sum().backward()
    except RuntimeError as error:
        out.append(str(error))
    h = torch.zeros(3, 4, requires_grad=True).clone()
    h.scatter_(1, idx, src)
    out.append(repr(h))
    return out


def test_scatter_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)
