"""tril / triu against torch 2.13: values with every diagonal sign, batches, integer and
bool input, the 1-d error, gradients through both, the node and its saved diagonal,
in place (tril_ on a plain tensor and on a recorded one), and a causal attention mask."""
from __future__ import annotations

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def transcript(torch) -> list[str]:
    out = []
    x = torch.arange(12.).reshape(3, 4).requires_grad_()
    calls = (lambda: torch.tril(x), lambda: torch.triu(x, 1), lambda: x.tril(-1),
             lambda: x.triu(diagonal=-2), lambda: torch.tril(torch.ones(2, 3, 3), 0)[1],
             lambda: torch.tril(torch.ones(3, 3, dtype=torch.int64)),
             lambda: torch.ones(3, 3).bool().triu(), lambda: torch.tril(torch.ones(3)),
             lambda: torch.tril(torch.ones(2, 4), 10))
    for call in calls:
        try:
            out.append(repr(call()))
        except Exception as error:  # noqa: BLE001 — the transcript records whatever is raised
            out.append(f"{type(error).__name__}: {error}")
    y = (x.tril(1) * torch.arange(12.).reshape(3, 4)).triu(-1)
    y.sum().backward()
    out += [repr(x.grad), f"{type(y.grad_fn).__name__} {y.grad_fn._saved_diagonal}"]
    z = torch.ones(2, 3, 3)
    returned = z.tril_()
    out.append(f"{z[1]!r} {returned is z}")
    mask = torch.tril(torch.ones(4, 4))  # a causal attention mask
    out.append(repr(torch.zeros(4, 4).masked_fill(mask == 0, float("-inf")).softmax(dim=-1)))
    w = torch.ones(3, 3, requires_grad=True).clone()
    w.triu_(1)
    out.append(repr(w))
    return out


def test_tril_and_triu_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)
