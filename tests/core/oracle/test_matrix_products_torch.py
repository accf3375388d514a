"""addmv, addr, baddbmm, addbmm (beta/alpha, broadcasting, errors), linalg.multi_dot and
chain_matmul (the order of the mm's, vector ends, errors, the deprecation warning) and
kron against torch 2.13: values, node chains, saved attributes and gradients."""
from __future__ import annotations

import warnings

import pytest

import gradstudio
from node_chains import nested

pytestmark = pytest.mark.oracle


def _chain(t):
    return f"{t!r} {nested(t.grad_fn)}"


def transcript(torch) -> list[str]:
    out = []
    g = torch.Generator().manual_seed(0)
    def leaf(*shape):
        return (torch.arange(1, 1 + torch.tensor(shape).prod().item(), dtype=torch.float64).reshape(shape)
                .sin().requires_grad_())
    m, v, u = leaf(3, 4), leaf(4), leaf(3)
    b1, b2, c = leaf(2, 3, 4), leaf(2, 4, 5), leaf(3, 5)
    calls = (
        lambda: _chain(torch.addmv(u, m, v)), lambda: _chain(torch.addmv(u, m, v, beta=0.5, alpha=2)),
        lambda: _chain(u.addmv(m, v, beta=0)), lambda: torch.addmv(torch.tensor([float("nan")] * 3,
                                                                           dtype=torch.float64), m, v, beta=0),
        lambda: _chain(torch.addr(m, u, v, alpha=3)), lambda: _chain(m.addr(u, v)),
        lambda: _chain(torch.baddbmm(c, b1, b2, beta=2, alpha=0.5)), lambda: _chain(torch.addbmm(c, b1, b2)),
        lambda: torch.addbmm(c[0], b1, b2, beta=-1).shape,
        lambda: torch.addbmm(c, b1, b2, beta=2, alpha=3).grad_fn._saved_batch1_sym_argsize_1,
        lambda: torch.addbmm(c, b1, b2).grad_fn._saved_batch2_sym_argsize_2,
        lambda: torch.addr(m, u, v, beta=2).grad_fn._saved_beta,
        lambda: _chain(torch.linalg.multi_dot([m, m.t(), m])), lambda: _chain(torch.linalg.multi_dot([v, m.t(), m, v])),
        lambda: _chain(torch.linalg.multi_dot([leaf(2, 6), leaf(6, 1), leaf(1, 5), leaf(5, 5)])),
        lambda: _chain(torch.linalg.multi_dot([u, m])), lambda: _chain(torch.chain_matmul(m, m.t(), m)),
        lambda: _chain(torch.chain_matmul(m)),
        lambda: _chain(torch.kron(m, u)), lambda: _chain(torch.kron(v, m[:2, :2])), lambda: m.kron(torch.tensor(2.,
                                                                                    dtype=torch.float64)).shape,
        lambda: torch.addmv(u, m, u), lambda: torch.addmv(leaf(4), m, v), lambda: torch.addmv(u, v, v),
        lambda: torch.addmv(u.float(), m, v), lambda: torch.addr(m, v, v), lambda: torch.addr(m, m, v),
        lambda: torch.baddbmm(c, b1, b1), lambda: torch.baddbmm(c, m, b2), lambda: torch.baddbmm(leaf(2, 3, 5), b1, leaf(2, 3, 5)),
        lambda: torch.addbmm(c, b1, leaf(3, 4, 5)), lambda: torch.addbmm(c, b1, leaf(2, 3, 5)),
        lambda: torch.addbmm(c, b1, b1), lambda: torch.baddbmm(c.float(), b1, b2),
        lambda: torch.linalg.multi_dot([m]), lambda: torch.linalg.multi_dot([m, m]),
        lambda: torch.linalg.multi_dot([m, leaf(2, 3, 4)]), lambda: torch.linalg.multi_dot([leaf(2, 3, 4), m]),
        lambda: torch.linalg.multi_dot([m, leaf(4, 5), leaf(2, 2), u]), lambda: torch.linalg.multi_dot([m, v, m]),
        lambda: torch.chain_matmul(v, v), lambda: torch.chain_matmul(),
    )
    for call in calls:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                answer = call()
            out.append(repr(answer) if not isinstance(answer, str) else answer)
            out += [str(w.message).split(" (Triggered internally")[0] for w in caught]
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    total = (torch.addmv(u, m, v, beta=0.5, alpha=2).sum() + torch.addr(m, u, v, beta=2, alpha=3).pow(2).sum()
             + torch.baddbmm(c, b1, b2, beta=2, alpha=0.5).sin().sum() + torch.addbmm(c, b1, b2, alpha=-1).cos().sum()
             + torch.linalg.multi_dot([v, m.t(), m, v]) + torch.kron(m, u).pow(2).sum())
    total.backward()
    out += [repr(t.grad) for t in (m, v, u, b1, b2, c)]
    return out


def test_matrix_products_as_torch(torch):
    ours, theirs = transcript(gradstudio), transcript(torch)
    for a, b in zip(ours, theirs):
        assert a == b
    assert len(ours) == len(theirs)
