"""split, chunk, unbind and unsafe_split / unsafe_chunk against torch 2.13: the pieces of every form (int, list, dim,
negative dim, more chunks than elements, empty input), torch's errors, the pieces as
views, each node's name and saved attributes, and the gradients the pieces send back
(added at the input as torch's one node adds them), an LSTM's chunked gates among them."""
from __future__ import annotations

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def transcript(torch) -> list[str]:
    out = []
    x = torch.arange(10.).requires_grad_()
    m = torch.arange(12.).reshape(3, 4).requires_grad_()
    calls = (lambda: x.chunk(3), lambda: torch.split(x, [3, 7]), lambda: torch.split(x, 4, dim=0),
             lambda: m.unbind(1), lambda: torch.unbind(m), lambda: torch.chunk(m, 2, dim=1),
             lambda: m.split([1, 2], dim=0), lambda: m.split(3, -1),
             lambda: torch.ones(5).chunk(4), lambda: torch.ones(0).chunk(2), lambda: torch.ones(3).split(5),
             lambda: x.split([3, 6]), lambda: x.chunk(0), lambda: torch.ones(3).split(0),
             lambda: torch.ones(3).split(-1), lambda: torch.tensor(1.).unbind(),
             lambda: torch.ones(4).split((1, 3)),
             lambda: m.unbind(2),
             lambda: x.unsafe_chunk(3), lambda: torch.unsafe_split(m, 3, 1), lambda: m.unsafe_chunk(2, -1),
             lambda: torch.ones(0).unsafe_chunk(2), lambda: x.unsafe_chunk(0), lambda: x.unsafe_split(-1))
    for call in calls:
        try:
            out.append(repr(call()))
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    a = x.chunk(3)
    out.append(repr([p._base is x for p in a]))
    g = a[0].grad_fn
    out.append(f"{type(g).__name__} {g._saved_dim} {g._saved_self_sym_sizes} {g._saved_split_size}")
    s = x.split([3, 7])[1].grad_fn
    out.append(f"{type(s).__name__} {s._saved_split_sizes}")
    (a[0].sum() * 2 + a[2].sum()).backward()
    out.append(repr(x.grad))
    rows = m.unbind(0)
    (rows[0] * rows[2]).sum().backward()
    out.append(repr(m.grad))
    h, c = torch.ones(2, 8, requires_grad=True).chunk(2, dim=1)  # an LSTM's gates
    (h.sigmoid() * c.tanh()).sum().backward()
    out.append(repr(h.grad_fn.name() if hasattr(h.grad_fn, "name") else h.grad_fn))
    u = m.unsafe_chunk(2, 1)  # the recurrent layers' gates: copies, not views
    out.append(repr([p._base is None for p in u]))
    g = u[1].grad_fn
    out.append(f"{type(g).__name__} {g._saved_dim} {g._saved_self_sym_sizes} {g._saved_split_size}")
    (u[0].sigmoid() * u[1]).sum().backward()
    out.append(repr(m.grad))
    return out


def test_split_chunk_unbind_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)
