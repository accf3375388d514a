"""atleast_1d/2d/3d, hstack, vstack, row_stack, dstack and column_stack against torch 2.13:
values, node chains, which results are the input itself, errors and gradients."""
from __future__ import annotations

import pytest

import gradstudio
from node_chains import nested

pytestmark = pytest.mark.oracle


def _chain(t):
    return f"{t!r} {nested(t.grad_fn)} {t._base is not None}"


def transcript(torch) -> list[str]:
    s = torch.tensor(2., requires_grad=True)
    v = torch.tensor([1., -2., 3.], requires_grad=True)
    m = torch.tensor([[1., 2., 3.], [4., 5., 6.]], requires_grad=True)
    calls = (
        lambda: _chain(torch.atleast_1d(s)), lambda: torch.atleast_1d(v) is v, lambda: _chain(torch.atleast_2d(s)),
        lambda: _chain(torch.atleast_2d(v)), lambda: torch.atleast_2d(m) is m, lambda: _chain(torch.atleast_3d(s)),
        lambda: _chain(torch.atleast_3d(v)), lambda: _chain(torch.atleast_3d(m)),
        lambda: [_chain(t) for t in torch.atleast_2d(s, v)], lambda: [_chain(t) for t in torch.atleast_3d([v, m])],
        lambda: type(torch.atleast_1d((v,))).__name__, lambda: torch.atleast_1d(),
        lambda: _chain(torch.hstack([v, v])), lambda: _chain(torch.hstack([s, v])), lambda: _chain(torch.hstack([m, m])),
        lambda: _chain(torch.vstack([v, m])), lambda: _chain(torch.row_stack([s.reshape(1).expand(3), v])),
        lambda: _chain(torch.dstack([v, v])), lambda: _chain(torch.dstack([m, m])),
        lambda: _chain(torch.column_stack([v, m.t()])), lambda: _chain(torch.column_stack([s, s])),
        lambda: torch.hstack([]), lambda: torch.vstack([]), lambda: torch.dstack([]), lambda: torch.column_stack([]),
        lambda: torch.vstack([v, torch.ones(4)]),
    )
    out = []
    for call in calls:
        try:
            answer = call()
            out.append(answer if isinstance(answer, str) else repr(answer))
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    total = (torch.dstack([m, m]).pow(2).sum() + torch.column_stack([v, m.t()]).sin().sum()
             + torch.vstack([s.reshape(1).expand(3), v]).mul(torch.tensor([[1.], [2.]])).sum())
    total.backward()
    return out + [repr(t.grad) for t in (s, v, m)]


def test_dimension_padding_as_torch(torch):
    ours, theirs = transcript(gradstudio), transcript(torch)
    for a, b in zip(ours, theirs):
        assert a == b
    assert len(ours) == len(theirs)
