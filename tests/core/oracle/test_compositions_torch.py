"""diff, broadcast_tensors, broadcast_shapes, cosine_similarity (torch's and
nn.functional's), nan_to_num (and in place) and set/get_num_threads against torch 2.13:
values, the top of each node chain, torch's errors, and the gradients through them."""
from __future__ import annotations

import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def transcript(torch) -> list[str]:
    F = torch.nn.functional
    out = []
    a = torch.tensor([[1., 2., 4.], [3., -1., 0.5]], requires_grad=True)
    b = torch.tensor([[0.5, -2., 1.], [2., 2., 2.]], requires_grad=True)
    def chain(t):
        return f"{t!r} {type(t.grad_fn).__name__} {[type(f).__name__ for f, _ in t.grad_fn.next_functions]}"

    calls = (lambda: chain(torch.diff(a)), lambda: chain(a.diff(dim=0)),
             lambda: torch.diff(torch.tensor([1, 4, 9]), n=2),
             lambda: torch.diff(torch.tensor([1., 4.]), prepend=torch.tensor([0.]), append=torch.tensor([10.])),
             lambda: torch.diff(a, n=-1), lambda: torch.diff(torch.tensor(3.)),
             lambda: torch.broadcast_shapes((2, 1), (3,)), lambda: torch.broadcast_shapes((2, 3), (4,)),
             lambda: chain(torch.broadcast_tensors(a[:1], b)[0]), lambda: torch.broadcast_tensors(a, b)[0] is a,
             lambda: chain(F.cosine_similarity(a, b)), lambda: torch.cosine_similarity(a, b, dim=0),
             lambda: F.cosine_similarity(torch.ones(2, 3), torch.ones(3)).shape,
             lambda: F.cosine_similarity(torch.tensor([1., 0.]), torch.tensor([0., 0.]), dim=0),
             lambda: torch.nan_to_num(torch.tensor([float('nan'), float('inf'), -float('inf'), 1.])),
             lambda: torch.nan_to_num(torch.tensor([float('nan'), float('inf')]), nan=1., posinf=5.),
             lambda: torch.tensor([float('nan')]).nan_to_num(2.), lambda: torch.nan_to_num(torch.tensor([1, 2])),
             lambda: torch.tensor([float('nan'), 1.], dtype=torch.float64).nan_to_num_(),
             lambda: torch.get_num_threads() > 0, lambda: torch.set_num_threads(0))
    for call in calls:
        try:
            out.append(repr(call()))
        except Exception as error:  # noqa: BLE001
            out.append(f"{type(error).__name__}: {error}")
    x = torch.tensor([float('nan'), 1., float('inf')], requires_grad=True)
    y = torch.nan_to_num(x)
    y.sum().backward()
    out += [repr(x.grad), type(y.grad_fn).__name__]
    (torch.diff(a, n=2, dim=1).sum() + F.cosine_similarity(a, b).sum()).backward()
    out += [repr(a.grad), repr(b.grad)]
    return out


def test_compositions_as_torch(torch):
    threads = torch.get_num_threads()
    try:
        assert transcript(gradstudio) == transcript(torch)
    finally:
        torch.set_num_threads(threads)


def test_broadcast_shapes_errors_name_the_misfit_as_torch(torch):
    for shapes in [((2, 1), (3,)), ((3,), (2, 4)), ((5, 2), (3, 1, 2), (4,)), ((), (2,))]:
        answers = []
        for lib in (torch, gradstudio):
            try:
                answers.append(repr(lib.broadcast_shapes(*shapes)))
            except RuntimeError as error:
                answers.append(str(error))
        assert answers[0] == answers[1]
