"""nll_loss's target checks: the quick all-in-range test (no masking) must not change
which targets are accepted, which are ignored, or the error torch raises."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as torch
import gradstudio.nn.functional as F


def _log_p():
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    return torch.tensor(x - np.log(np.exp(x).sum(1, keepdims=True)), requires_grad=True)


@pytest.mark.parametrize("target, bad", [([0, 7, 1, 2], 7), ([0, -3, 1, 2], -3), ([5, 0, 1, 2], 5)])
def test_a_target_out_of_range_raises_torchs_error(target, bad):
    with pytest.raises(IndexError, match=f"^Target {bad} is out of bounds.$"):
        F.nll_loss(_log_p(), torch.tensor(target))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignored_targets_may_be_out_of_range_and_count_for_nothing(reduction):
    log_p = _log_p()
    loss = F.nll_loss(log_p, torch.tensor([0, -100, 4, -100]), reduction=reduction)
    values = log_p.detach().numpy()
    picked = np.array([-values[0, 0], 0.0, -values[2, 4], 0.0], dtype=np.float32)
    expected = {"none": picked, "sum": picked.sum(dtype=np.float32),
                "mean": picked.sum(dtype=np.float32) / np.int64(2)}[reduction]
    np.testing.assert_array_equal(loss.detach().numpy(), np.asarray(expected, dtype=np.float32))
    loss.sum().backward()
    grad = np.zeros((4, 5), np.float32)
    grad[0, 0] = grad[2, 4] = -1 / 2 if reduction == "mean" else -1
    np.testing.assert_array_equal(log_p.grad.numpy(), grad)
