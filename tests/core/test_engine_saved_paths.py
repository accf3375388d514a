"""What a node saved, as each of the engine's two rule paths reads it: the tensor rules
(``mul``, no array rules) and the array rules of an unrecorded pass (``mm``; ``tanh``,
which saves its result). Both test the common case — nothing freed, changed in place or
packed by saved_tensors_hooks — inline, so each exception to it is checked on both."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as torch
from gradstudio.autograd.graph import saved_tensors_hooks


def _mul(a):
    return (a * a).sum()


def _mm(a):
    return (a @ a).sum()


def _tanh(a):
    return a.tanh().sum()


PATHS = [_mul, _mm, _tanh]
IDS = ["tensor-rules", "array-rules", "array-rules-result"]


def _leaf():
    return torch.tensor(np.arange(1.0, 5.0).reshape(2, 2) / 4, requires_grad=True)


@pytest.mark.parametrize("f", PATHS, ids=IDS)
def test_backward_a_second_time_raises_on_both_paths(f):
    x = _leaf()
    loss = f(x)
    loss.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        loss.backward()


@pytest.mark.parametrize("f", PATHS, ids=IDS)
def test_retain_graph_keeps_what_was_saved_on_both_paths(f):
    x = _leaf()
    loss = f(x)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * first)


@pytest.mark.parametrize("f", [_mul, _mm], ids=IDS[:2])
def test_a_saved_input_changed_in_place_raises_on_both_paths(f):
    y = _leaf() * 1  # a non-leaf the op saves
    loss = f(y)
    with torch.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_saved_result_changed_in_place_raises_on_the_array_path():
    out = _leaf().tanh()  # tanh's rule reads its result
    loss = out.sum()
    with torch.no_grad():
        out.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@pytest.mark.parametrize("f", [_mul, _mm], ids=IDS[:2])
def test_saved_tensors_hooks_unpack_on_both_paths(f):
    """What pack_hook returned is unpacked when the rules read it, on either path."""
    unpacked = []

    def unpack(packed):
        unpacked.append(packed)
        return packed

    x = _leaf()
    with saved_tensors_hooks(lambda t: t, unpack):
        loss = f(x)
    expected = torch.autograd.grad(f(x), x)[0]
    loss.backward()
    assert unpacked  # the backward read the inputs through unpack_hook
    np.testing.assert_array_equal(x.grad.numpy(), expected.numpy())
