"""roll, tile, repeat_interleave, masked_select and index_select against torch 2.13:
values, every form's node chain (tile is repeat, repeat_interleave by a number is
unsqueeze/expand/clone/view and by counts index_select: torch's nodes), saved
attributes, errors, and the gradients of all of them together (masked_select's node,
MaskedSelectBackward0, printed with its result)."""
from __future__ import annotations

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def transcript(torch) -> list[str]:
    out = []
    x = torch.arange(6.).reshape(2, 3).requires_grad_()
    names = lambda t: f"{t!r} {[type(f).__name__ for f in _chain(t.grad_fn)]}"
    def _chain(fn):
        seen = []
        while fn is not None and len(seen) < 6:
            seen.append(fn)
            fn = fn.next_functions[0][0] if fn.next_functions else None
        return seen
    calls = (lambda: names(x.roll(1)), lambda: names(x.roll(1, 1)), lambda: x.roll((1, 1), (0, 1)),
             lambda: torch.roll(x, -1, dims=1), lambda: x.roll(1, 1).grad_fn._saved_shifts,
             lambda: x.roll(-1, 1).grad_fn._saved_dims, lambda: torch.roll(x, (1, 1)),
             lambda: torch.roll(x, (1, 1), (0,)),
             lambda: names(x.tile((2,))), lambda: x.tile(2, 1).shape, lambda: torch.tile(x, (1, 2, 1)).shape,
             lambda: names(x.repeat_interleave(2)), lambda: names(x.repeat_interleave(2, dim=0)),
             lambda: x.repeat_interleave(torch.tensor([1, 2]), dim=0),
             lambda: names(torch.repeat_interleave(x, torch.tensor([1, 0, 2]), dim=1)),
             lambda: torch.repeat_interleave(torch.tensor([1, 2]), torch.tensor([1, 2])),
             lambda: torch.repeat_interleave(torch.tensor([2, 1])),
             lambda: torch.repeat_interleave(torch.ones(3), torch.tensor([1, 2])),
             lambda: torch.ones(3).repeat_interleave(-1),
             lambda: x.masked_select(x > 2),
             lambda: torch.masked_select(x, torch.tensor([True, False, True])),
             lambda: torch.masked_select(torch.ones(2, requires_grad=True),
                                         torch.tensor([[True, False], [True, True]])),
             lambda: torch.masked_select(torch.ones(2), torch.ones(2)))
    for call in calls:
        try:
            out.append(repr(call()))
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    w = torch.arange(1., 7.).reshape(2, 3)
    y = (x.roll(1, 1) * w).sum() + (x.tile(2, 1).sum(0) * w[0]).sum() + (x.repeat_interleave(2, 1) ** 2).sum()
    y = y + x.masked_select(x > 1).sum() * 3 + (x.repeat_interleave(torch.tensor([2, 1]), dim=0) * 2).sum()
    y.backward()
    out.append(repr(x.grad))
    b = torch.ones(3, requires_grad=True)
    torch.masked_select(b, torch.tensor([[True, False, True], [True, True, False]])).sum().backward()
    out.append(repr(b.grad))
    return out


def test_rearranging_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)
