"""Where GradStudio still differs from PyTorch 2.13, pinned down.

``xfail(strict=True)``: a difference not fixed yet — the test compares with
torch and fails today; when someone fixes it the test passes, strict xfail
turns that into a failure, and the marker must go.
``skip``: behaviour GradStudio deliberately does not reproduce (the reason
says why). None of these affect values or gradients.
"""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def _edges(fn) -> tuple:
    return tuple(None if n is None else n.name() for n, _ in fn.next_functions)


@pytest.mark.xfail(strict=True, reason="GradStudio keeps an empty (None) next_functions slot for a "
                   "Python scalar, a where() condition and a masked_fill mask; torch has none. The "
                   "rows take them as inputs; moving them to params changes the rows' sympy forms.")
def test_no_edge_slot_for_scalars_conditions_and_masks(torch):
    results = []
    for lib in (torch, gradstudio):
        x = lib.ones(2, requires_grad=True)
        results.append((_edges((2 - x).grad_fn), _edges(lib.where(x > 0, x, 0.0).grad_fn),
                        _edges(x.masked_fill(x > 0, 1.0).grad_fn)))
    assert results[0] == results[1]


@pytest.mark.xfail(strict=True, reason="type promotion casts the operand with a recorded "
                   "ToCopyBackward0 node; torch casts inside the op (same values and gradients)")
def test_promotion_adds_no_cast_node(torch):
    results = []
    for lib in (torch, gradstudio):
        x = lib.ones(2, requires_grad=True)
        results.append(_edges((x * x.double()).grad_fn))
    assert results[0] == results[1]


def test_copy_slices_name(torch):
    names = []
    for lib in (torch, gradstudio):
        a = lib.ones(2, requires_grad=True) * 1
        a[0] = 3.0
        names.append(a.grad_fn.name())
    assert names[0] == names[1]


@pytest.mark.xfail(strict=True, reason="elementwise results take numpy's memory layout, not "
                   "TensorIterator's: strides of size-1 dims (and, for mixed input layouts, which "
                   "input's order wins) can differ, which .stride() shows")
def test_elementwise_result_strides(torch):
    strides = []
    for lib in (torch, gradstudio):
        p = lib.ones(2, 3, 1).permute(2, 0, 1)
        strides.append((p * 2).stride())
    assert strides[0] == strides[1]


def test_elementwise_result_contiguity_agrees_where_it_matters(torch):
    """What the layout difference above does not change: contiguity, so view() and
    contiguous() behave alike for results of permuted inputs."""
    out = []
    for lib in (torch, gradstudio):
        p = lib.ones(2, 3, 4, requires_grad=True).permute(2, 0, 1)
        out.append([(p * 2).is_contiguous(), (p + p).is_contiguous(), p.exp().is_contiguous(),
                    (2.0 ** p).is_contiguous(), p.masked_fill(p > 0, 1.0).is_contiguous(),
                    lib.cat([p, p]).is_contiguous(), p[lib.tensor([0, 1])].is_contiguous(),
                    (p * 2).contiguous().grad_fn.name()])
    assert out[0] == out[1]


@pytest.mark.skip(reason="deliberate: GradStudio refuses in-place changes through a view of a tensor "
                  "that requires grad (torch rebases the base's graph onto CopySlices/AsStrided "
                  "nodes); it raises a clear error that suggests an out-of-place op instead")
def test_in_place_through_a_view_of_a_tensor_that_requires_grad(torch):
    pass


@pytest.mark.skip(reason="deliberate: randn/rand draw from numpy's generator; manual_seed makes "
                  "GradStudio reproducible, not equal to torch's numbers (the replay tests feed "
                  "both libraries the same values instead)")
def test_random_numbers_equal_torch(torch):
    pass


@pytest.mark.skip(reason="deliberate: torch may hand a view of the gradient= tensor to a leaf as its "
                  ".grad (x.permute(0).backward(g) makes x.grad alias g) and later accumulate into "
                  "it in place, changing g; GradStudio never lets .grad alias another tensor "
                  "(tests/core/test_engine.py checks that)")
def test_grad_aliases_the_gradient_argument_like_torch(torch):
    pass


@pytest.mark.skip(reason="deliberate: with create_graph=True torch records hand-written "
                  "double-backward nodes (TanhBackwardBackward0, ...); GradStudio's VJP rules are "
                  "written with tensor ops, so a gradient's graph shows those ops (MulBackward0, ...). "
                  "Values and requires_grad agree (test_differential compares them)")
def test_double_backward_node_names(torch):
    pass


def test_the_documented_differences_do_not_touch_gradients(torch):
    """The graphs above differ in shape; the numbers they produce do not."""
    grads = []
    for lib in (torch, gradstudio):
        x = lib.tensor([0.5, -1.0], requires_grad=True)
        y = (2 - x) * x.double() + lib.where(x > 0, x, 0.0) + x.masked_fill(x > 0, 1.0)
        a = y * 1
        a[0] = 3.0
        a.sum().backward()
        grads.append(x.grad.numpy().copy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)
