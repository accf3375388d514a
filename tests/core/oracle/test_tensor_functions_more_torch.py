"""tensor_split / hsplit / vsplit / dsplit, rot90 / fliplr / flipud, take_along_dim,
masked_select, gather's index checks, cartesian_prod, combinations, block_diag, cross, linalg.cross and cdist (direct and matrix-product paths, every p) against torch 2.13: values and printed
results, the node chain each builds (SliceBackward0 per piece, Rot90Backward0,
FlipBackward0, GatherBackward0 over ExpandBackward0 or ViewBackward0,
MaskedSelectBackward0; StackBackward0 over meshgrid's grids, flattened or masked),
saved attributes, float64 gradients, and torch's errors."""
from __future__ import annotations

import warnings

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def _chain(fn) -> list:
    """Node names depth first, every branch."""
    names, stack = [], [fn]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        names.append(type(node).__name__)
        stack.extend(n for n, _ in reversed(node.next_functions))
    return names


def _record(out: list, call) -> None:
    try:
        out.append(repr(call()))
    except Exception as error:  # noqa: BLE001
        out.append(f"{type(error).__name__}: {error}")


def split_transcript(torch) -> list[str]:
    out = []
    x = torch.arange(24.).reshape(4, 6).double().requires_grad_()
    forms = [((3,), {"dim": 1}), (([1, 4],), {"dim": 1}), ((torch.tensor([1, 4]),), {"dim": 1}),
             ((torch.tensor(2),), {"dim": -1}), (([-2, 10, 1],), {"dim": 1}), (((1, 2),), {})]
    for args, kwargs in forms:
        pieces = torch.tensor_split(x, *args, **kwargs)
        out.append(repr(pieces))
        out.append(repr([(_chain(p.grad_fn), p.grad_fn._saved_start, p.grad_fn._saved_end,
                          p.grad_fn._saved_dim, p.grad_fn._saved_step, p._base is x) for p in pieces]))
        sum((p * (i + 1)).sum() for i, p in enumerate(pieces)).backward()
        out.append(repr(x.grad))
        x.grad = None
    cube = x.reshape(2, 3, 4)
    for call in (lambda: x.tensor_split(3, 1)[1], lambda: torch.hsplit(x, 2), lambda: x.hsplit([1, 5]),
                 lambda: torch.vsplit(x, [1, 3]), lambda: x.vsplit(2), lambda: torch.dsplit(cube, [1]),
                 lambda: cube.dsplit(2), lambda: torch.hsplit(torch.arange(6.), 3),
                 lambda: torch.tensor_split(torch.arange(7), 3), lambda: torch.tensor_split(x, []),
                 lambda: torch.tensor_split(x, 0), lambda: torch.tensor_split(x, -1),
                 lambda: torch.tensor_split(x, torch.tensor([1.0])),
                 lambda: torch.tensor_split(x, torch.zeros(2, 2, dtype=torch.long)),
                 lambda: torch.tensor_split(x, 2, dim=5), lambda: torch.tensor_split(torch.tensor(1.), 2),
                 lambda: torch.hsplit(x, 4), lambda: torch.hsplit(x, 0), lambda: torch.vsplit(x[0], 2),
                 lambda: torch.dsplit(x, [1]), lambda: torch.hsplit(torch.tensor(1.), 2),
                 lambda: torch.vsplit(x, 3), lambda: torch.dsplit(x.unsqueeze(-1), 2),
                 lambda: torch.hsplit(x[0], [1])):
        _record(out, call)
    return out


def rotation_transcript(torch) -> list[str]:
    out = []
    x = torch.arange(24.).reshape(2, 3, 4).double().requires_grad_()
    w = torch.arange(24.).reshape(2, 3, 4).double().sin()
    for k, dims in [(1, (0, 1)), (2, [1, 2]), (3, (2, 0)), (0, (0, 1)), (5, (-1, 0)), (-1, (2, -3)),
                    (-6, (1, 0))]:
        r = torch.rot90(x, k, dims)
        out.append(repr((r, _chain(r.grad_fn), r.grad_fn._saved_k, r.grad_fn._saved_dims,
                         r.is_contiguous(), r.stride())))
        (r * torch.rot90(w, k, dims)).sum().backward()
        out.append(repr(x.grad))
        x.grad = None
    g = torch.autograd.grad(torch.rot90(x).pow(2).sum(), x, create_graph=True)[0]
    out.append(repr((g, type(g.grad_fn).__name__)))  # the gradient turned back by a Rot90Backward0
    for call in (lambda: x.rot90(), lambda: x.fliplr(), lambda: torch.flipud(x),
                 lambda: (_chain(torch.fliplr(x).grad_fn), torch.fliplr(x).grad_fn._saved_dims),
                 lambda: torch.flipud(x).grad_fn._saved_dims, lambda: torch.flipud(torch.arange(3)),
                 lambda: torch.rot90(x, 1, [0]), lambda: torch.rot90(x, 1, [0, 0]),
                 lambda: torch.rot90(x, 1, [0, 3]), lambda: torch.rot90(x, 1, [5, 0]),
                 lambda: torch.rot90(x, 1, [0, -4]), lambda: torch.rot90(x, 1, [0, 1, 2]),
                 lambda: torch.rot90(x, 1, [0, -3]), lambda: torch.rot90(x[0, 0]),
                 lambda: torch.fliplr(torch.tensor(1.)), lambda: torch.flipud(torch.tensor(1.)),
                 lambda: torch.fliplr(torch.ones(3))):
        _record(out, call)
    (torch.fliplr(x) * w).sum().backward()
    out.append(repr(x.grad))
    return out


def take_transcript(torch) -> list[str]:
    out = []
    x = torch.arange(12.).reshape(3, 4).double().requires_grad_()
    forms = [((torch.tensor([[0], [2], [3]]),), {"dim": 1}), ((torch.tensor([[0, 1, 2, 0]]),), {"dim": 0}),
             ((torch.tensor([0, 5, 11, 5]),), {}), ((torch.tensor([[1, 0]]),), {"dim": -1})]
    for args, kwargs in forms:
        r = torch.take_along_dim(x, *args, **kwargs)
        out.append(repr((r, _chain(r.grad_fn), r.grad_fn._saved_dim, r.grad_fn._saved_index,
                         r.grad_fn.next_functions[0][0]._saved_self_sym_sizes)))
        (r * torch.arange(r.numel()).reshape(r.shape)).sum().backward()
        out.append(repr(x.grad))
        x.grad = None
    y = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 1, 3).requires_grad_()
    r = torch.take_along_dim(y, torch.tensor([[[0], [2]]]), dim=2)
    out.append(repr((r, _chain(r.grad_fn))))
    r.sum().backward()
    out.append(repr(y.grad))
    m = torch.tensor([True, False, True, True])
    s = torch.masked_select(x, m)
    out.append(repr((s, _chain(s.grad_fn), s.grad_fn._saved_mask, s.grad_fn._saved_self.shape)))
    (s * torch.arange(9.).double()).sum().backward()
    out.append(repr(x.grad))
    for call in (lambda: x.take_along_dim(torch.tensor([[0], [2], [3]]), 1),
                 lambda: torch.take_along_dim(x, torch.tensor([0]), dim=0),
                 lambda: torch.take_along_dim(x, torch.tensor([[0]], dtype=torch.int32), dim=0),
                 lambda: torch.take_along_dim(x, torch.tensor([[0.]]), dim=0),
                 lambda: torch.take_along_dim(x, torch.tensor([[0]]), dim=2),
                 lambda: torch.take_along_dim(x, torch.tensor([[0, 1, 2]]), dim=0),
                 lambda: torch.take_along_dim(x, torch.tensor([[0], [1]]), dim=1),
                 lambda: torch.take_along_dim(x, torch.tensor([20])),
                 lambda: torch.take_along_dim(x, torch.tensor([2.])),
                 lambda: torch.masked_select(x, torch.ones(3, dtype=torch.bool)),
                 lambda: torch.gather(x, 1, torch.tensor([[5]])), lambda: torch.gather(x, 1, torch.tensor([[-1]])),
                 lambda: torch.gather(x, 1, torch.tensor([[0.]])), lambda: torch.gather(x, 1, torch.tensor([0])),
                 lambda: torch.gather(x, 1, torch.tensor([[0] * 5])),
                 lambda: torch.gather(x, 1, torch.tensor([[0]] * 4)),
                 lambda: torch.gather(x, 1, torch.tensor([[1]], dtype=torch.int32))):
        _record(out, call)
    return out


def combinatorics_transcript(torch) -> list[str]:
    out = []
    v = torch.tensor([1., 2., 3., 4.], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([5., 6.], dtype=torch.float64, requires_grad=True)
    for r in (torch.cartesian_prod(v, w), torch.cartesian_prod(v, w, v), torch.combinations(v),
              torch.combinations(v, 3), torch.combinations(v, 3, with_replacement=True),
              torch.combinations(v, 1), torch.combinations(v, r=2, with_replacement=True)):
        out.append(repr((r, _chain(r.grad_fn))))
        (r * torch.arange(r.numel()).reshape(r.shape)).sum().backward()
        out.append(repr((v.grad, w.grad)))
        v.grad = w.grad = None
    for call in (lambda: torch.cartesian_prod(v) is v, lambda: torch.combinations(v, 0),
                 lambda: torch.combinations(torch.arange(3), 2), lambda: torch.combinations(v, 5),
                 lambda: torch.combinations(torch.ones(2, 2)), lambda: torch.combinations(v, -1),
                 lambda: torch.cartesian_prod(v, torch.ones(2, 2))):
        _record(out, call)
    return out


def cross_transcript(torch) -> list[str]:
    out = []
    p = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3).requires_grad_()
    q = torch.tensor([[0.5, -2., 3.]], dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = torch.cross(p, q.expand(4, 3))
        c2 = p.cross(q.expand(4, 3))  # torch warns once per process: at most one warning here
    out.append(repr([(w.category.__name__, str(w.message)) for w in caught][:1]))
    out.append(repr((c, c.grad_fn._saved_dim, c2.grad_fn._saved_dim)))
    for r in (torch.linalg.cross(p, q), torch.cross(p, q, dim=1), torch.linalg.cross(p.t(), q.t(), dim=0),
              p.cross(q, -1)):
        out.append(repr((r, _chain(r.grad_fn), r.grad_fn._saved_dim, r.grad_fn._saved_self,
                         r.grad_fn._saved_other)))
        (r * torch.arange(12.).double().reshape(r.shape).cos()).sum().backward()
        out.append(repr((p.grad, q.grad)))
        p.grad = q.grad = None
    g = torch.autograd.grad(torch.linalg.cross(p, q).pow(2).sum(), p, create_graph=True)[0]
    out.append(repr((g, g.grad_fn.name())))
    x = torch.randn(4, 3)
    for call in (lambda: torch.linalg.cross(x, torch.randn(3)), lambda: torch.linalg.cross(x, torch.randn(4, 2)),
                 lambda: torch.linalg.cross(x, torch.randn(1, 3), dim=0),
                 lambda: torch.linalg.cross(x, torch.randn(1, 3), dim=2),
                 lambda: torch.cross(torch.randn(4, 2), torch.randn(4, 2)),
                 lambda: torch.cross(x, torch.randn(3)), lambda: torch.linalg.cross(torch.randn(2, 3), torch.randn(3, 3)),
                 lambda: torch.cross(torch.arange(3), torch.arange(3)),
                 lambda: torch.cross(torch.arange(3), torch.ones(3))):
        _record(out, call)
    return out


def block_diag_transcript(torch) -> list[str]:
    out = []
    a = torch.tensor([[1., 2.], [3., 4.]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([5., 6., 7.], dtype=torch.float64, requires_grad=True)
    c = torch.tensor(8., dtype=torch.float64, requires_grad=True)
    r = torch.block_diag(a, b, c, torch.ones(2, 1))
    out.append(repr((r, [None if f is None else type(f).__name__ for f, _ in r.grad_fn.next_functions])))
    (r * torch.arange(r.numel()).reshape(r.shape)).sum().backward()
    out.append(repr((a.grad, b.grad, c.grad)))
    for call in (lambda: torch.block_diag(), lambda: torch.block_diag(torch.ones(0, 2), torch.ones(1)),
                 lambda: torch.block_diag(torch.arange(2), torch.ones(1, 1)),
                 lambda: torch.block_diag(torch.ones(1, 1, 1))):
        _record(out, call)
    return out


def cdist_transcript(torch) -> list[str]:
    out = []
    x = torch.linspace(-2, 2, 12, dtype=torch.float64).reshape(4, 3).sin().requires_grad_()
    y = torch.linspace(-1, 3, 15, dtype=torch.float64).reshape(5, 3).cos()
    y[1] = x.detach()[2]  # a zero distance: _cdist_backward's 0
    y[2, 0] = x.detach()[0, 0]  # a zero difference in one coordinate (p < 1, p = inf ties)
    y.requires_grad_()
    weights = torch.arange(20.).double().reshape(4, 5).cos()
    for p in (2.0, 1.0, float("inf"), 0.0, 3.0, 0.5, 1.5):
        for mode in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                     "donot_use_mm_for_euclid_dist"):
            r = torch.cdist(x, y, p=p, compute_mode=mode)
            out.append(repr((p, mode, r, _chain(r.grad_fn))))
            (r * weights).sum().backward()
            out.append(repr((x.grad, y.grad)))
            x.grad = y.grad = None
    r = torch.cdist(x, y, 1.0)
    out.append(repr((r.grad_fn._saved_p, r.grad_fn._saved_result, r.grad_fn._saved_x1, r.grad_fn._saved_x2)))
    xb = torch.linspace(-1, 1, 2 * 30 * 3, dtype=torch.float64).reshape(2, 30, 3).sin().requires_grad_()
    yb = torch.linspace(-1, 1, 26 * 3, dtype=torch.float64).reshape(1, 26, 3).cos().requires_grad_()
    for r in (torch.cdist(xb, yb), torch.cdist(xb, yb, p=1.), torch.cdist(xb[:1], yb)):
        out.append(repr((r.shape, _chain(r.grad_fn), r[0, :2, :3])))
        r.cos().sum().backward()
        out.append(repr((xb.grad[0, :3], yb.grad[0, :3])))
        xb.grad = yb.grad = None
    g = torch.autograd.grad(torch.cdist(x, y).sum(), x, create_graph=True)[0]
    out.append(repr((g, type(g.grad_fn).__name__)))
    for call in (lambda: g.sum().backward(), lambda: torch.cdist(x.long(), y), lambda: torch.cdist(x[0], y),
                 lambda: torch.cdist(x, y[:, :2]), lambda: torch.cdist(x, y, p=-1),
                 lambda: torch.cdist(x, y, compute_mode="foo"),
                 lambda: torch.cdist(torch.ones(2, 3), torch.zeros(4, 3))):
        _record(out, call)
    return out


@pytest.mark.parametrize("transcript", [split_transcript, rotation_transcript, take_transcript,
                                        combinatorics_transcript, cross_transcript, cdist_transcript,
                                        block_diag_transcript])
def test_as_torch(torch, transcript):
    ours, theirs = transcript(gradstudio), transcript(torch)
    assert len(ours) == len(theirs)
    for mine, torch_line in zip(ours, theirs):
        assert mine == torch_line
