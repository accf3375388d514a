"""``x.fill_(value)`` with a 0-d tensor value against PyTorch: FillBackward3, the
value's gradient (the sum of the incoming one, in the value's dtype), a target
that needs no grad taking the value's graph, and torch's error for a value
that is not 0-d."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def _run(lib, target_grad: bool, dtype):
    x = lib.ones(2, 3, dtype=getattr(lib, dtype), requires_grad=target_grad)
    v = lib.tensor(2.0, requires_grad=True)
    y = (x * 1) if target_grad else x
    y.fill_(v * v)
    (y * lib.arange(6.0).reshape(2, 3)).sum().backward()
    names = (y.grad_fn.name(), [f.name() if f is not None else None for f, _ in y.grad_fn.next_functions])
    return names, y.detach().numpy().copy(), v.grad.numpy().copy(), str(v.grad.dtype).split(".")[-1], \
        (x.grad.numpy().copy() if target_grad else None)


@pytest.mark.parametrize("target_grad", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fill_with_a_tensor_matches_torch(target_grad, dtype, torch):
    theirs, ours = _run(torch, target_grad, dtype), _run(gradstudio, target_grad, dtype)
    assert ours[0] == theirs[0] and ours[0][0] == "FillBackward3"
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_allclose(ours[2], theirs[2])        # 2·v·Σ weights = 60
    assert ours[3] == theirs[3]
    if target_grad:
        np.testing.assert_array_equal(ours[4], theirs[4])  # the old values get none


def test_fill_with_a_tensor_of_one_dimension_is_torchs_error(torch):
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(3).fill_(torch.ones(2))
    with pytest.raises(RuntimeError) as ours:
        gradstudio.ones(3).fill_(gradstudio.ones(2))
    assert str(ours.value) == str(theirs.value)


def test_fill_with_a_tensor_that_needs_no_grad_records_nothing(torch):
    for lib in (torch, gradstudio):
        x = lib.ones(2)
        x.fill_(lib.tensor(3.0))
        assert x.grad_fn is None and x.tolist() == [3.0, 3.0]
