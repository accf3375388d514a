"""unique, unique_consecutive, bincount, isin, argwhere, meshgrid, the whole-tensor
comparisons as methods and the byte/char/short conversions, against torch 2.13: each
call's printout (values, dtypes, shapes), meshgrid's nodes and gradients, and the errors
of misuse. The transcripts are compared line for line."""
from __future__ import annotations

import warnings

import pytest

import gradstudio

pytestmark = pytest.mark.oracle

CALLS = [
    "torch.unique(t)",
    "t.unique(sorted=True, return_inverse=True, return_counts=True)",
    "torch.unique(t, sorted=False, return_counts=True)",
    "torch.unique(torch.tensor([[1, 2], [1, 2], [0, 5]]), dim=0, return_inverse=True)",
    "torch.unique(torch.tensor([[1, 2], [1, 2], [0, 5]]), dim=1, return_counts=True)",
    "torch.unique(torch.tensor([[1, 2], [1, 2]]), return_inverse=True)",
    "torch.unique(torch.tensor([1., float('nan'), float('nan')]))",
    "torch.unique(torch.tensor([True, False, True]))",
    "torch.unique(torch.tensor(5), return_inverse=True)",
    "torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True, return_counts=True)",
    "torch.unique_consecutive(torch.tensor([[1, 1], [1, 1], [2, 0]]), dim=0, return_counts=True)",
    "torch.bincount(t)", "t.bincount(minlength=6)",
    "torch.bincount(t, weights=torch.ones(6))",
    "torch.bincount(t, weights=torch.ones(6, dtype=torch.float64))",
    "torch.bincount(t, weights=torch.ones(6, dtype=torch.int32))",
    "torch.bincount(torch.tensor([], dtype=torch.long), minlength=3)",
    "torch.bincount(torch.tensor([-1]))", "torch.bincount(torch.tensor([[1]]))",
    "torch.bincount(torch.tensor([1.]))", "torch.bincount(t, weights=torch.ones(3))",
    "torch.bincount(t, minlength=-1)",
    "torch.isin(t, torch.tensor([1, 2]))", "torch.isin(t, 3, invert=True)", "torch.isin(3, t)",
    "torch.isin(torch.tensor([[1, 2], [3, 4]]), torch.tensor([4, 1]), invert=True)",
    "torch.argwhere(torch.tensor([[0, 1], [2, 0]]))", "torch.tensor([0, 3]).argwhere()",
    "torch.argwhere(torch.tensor(3))", "torch.argwhere(torch.zeros(2, 3)).shape",
    "torch.ones(2).allclose(torch.ones(2) + 1e-9)", "torch.ones(2).equal(torch.zeros(2))",
    "torch.ones(2).isclose(torch.tensor([1., 2.]))",
    "torch.tensor([1.7, -2.2, 300.]).byte()", "torch.tensor([1.7, -2.2]).char()",
    "torch.tensor([1.7, -2.2]).short()",
    "torch.meshgrid(torch.tensor([1., 2., 3.]), torch.tensor([4., 5.]), indexing='ij')",
    "torch.meshgrid([torch.tensor([1., 2., 3.]), torch.tensor([4., 5.])], indexing='xy')",
    "torch.meshgrid(torch.tensor(1.), torch.ones(2), torch.arange(3.), indexing='xy')[2].shape",
    "torch.meshgrid(torch.ones(2), indexing='foo')",
    "torch.meshgrid(torch.ones(2), torch.ones(2, dtype=torch.float64), indexing='ij')",
]


def transcript(torch) -> list[str]:
    t = torch.tensor([3, 1, 2, 3, 1, 1])
    lines = []
    for call in CALLS:
        try:
            lines.append(repr(eval(call, {"torch": torch, "t": t})))  # noqa: S307 — our own table
        except Exception as error:  # noqa: BLE001
            lines.append(f"{type(error).__name__}: {error}")
    x = torch.tensor([1., 2., 3.], requires_grad=True)
    y = torch.tensor([4., 5.], requires_grad=True)
    a, b = torch.meshgrid(x, y, indexing="xy")
    lines.append(f"{type(a.grad_fn).__name__} {type(a.grad_fn.next_functions[0][0]).__name__} {a._base is x}")
    (a * b * b).sum().backward()
    lines += [repr(x.grad), repr(y.grad)]
    return lines


def test_sets_and_grids_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)


def test_meshgrid_without_indexing_warns_as_torch_and_is_ij(torch):
    from gradstudio.autograd import errors
    from gradstudio.ops.shape import _MESHGRID_INDEXING
    errors._warned.discard(_MESHGRID_INDEXING)  # once per process: make this the first time
    for lib in (torch, gradstudio):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grid = lib.meshgrid(lib.ones(3), lib.ones(2))[0]
        assert tuple(grid.shape) == (3, 2)
        warned = any("it will be required to pass the indexing argument" in str(w.message) for w in caught)
        assert warned or lib is torch  # torch's once per process: an earlier test may have had it
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor in the tensor list"):
        gradstudio.meshgrid(gradstudio.ones(2, 2), indexing="ij")
