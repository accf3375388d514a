"""torch.optim.LBFGS against PyTorch: closure-driven trajectories with the fixed step and
with the strong Wolfe line search (losses, parameters, evaluation counts, printout, and
the state: keys in torch's order, tensors, lists and Python numbers as torch keeps them),
and its errors.

Its dot products and the 1-norm of the first step are float32 sums in torch's own order
(numpy's differs in the last bit now and then), so the trajectories agree to float32
rounding, on runs that stop on a tolerance above that rounding; an oscillating run (lr=0.5, history_size=3) drifts
apart from such a last bit."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

# runs that stop on a tolerance well above float32 noise (at 1e-9 the stopping
# iteration, once converged, is decided by last bits)
CONFIGS = [
    (dict(tolerance_grad=1e-4, tolerance_change=1e-6), 5),
    (dict(max_iter=1), 200),
    (dict(line_search_fn="strong_wolfe", max_iter=5), 3),
    (dict(line_search_fn="strong_wolfe", max_iter=1, history_size=4), 200),
    (dict(line_search_fn="strong_wolfe", max_iter=5, lr=3), 2),  # overshoots: the zoom phase
]
IDS = ["-".join(f"{k}={v}" for k, v in kw.items()) or "defaults" for kw, _ in CONFIGS]


def _trajectory(lib, kwargs, steps):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 5)).astype(np.float32)
    Y = rng.standard_normal((16, 1)).astype(np.float32)
    w = lib.nn.Parameter(lib.tensor(rng.standard_normal((5, 1)).astype(np.float32) * 0.5))
    b = lib.nn.Parameter(lib.zeros(1))
    opt = lib.optim.LBFGS([w, b], **kwargs)
    x, y = lib.tensor(X), lib.tensor(Y)
    evaluations = []

    def closure():
        opt.zero_grad()
        loss = ((lib.tanh(x @ w + b) - y) ** 2).mean()
        loss.backward()
        evaluations.append(loss.item())
        return loss

    losses = [opt.step(closure).item() for _ in range(steps)]
    return np.array(losses), np.array(evaluations), w.detach().numpy().copy(), opt


def _described(value):
    """A state entry as compared: its type, and a tensor's dtype and shape."""
    if isinstance(value, list):
        return ["list", [_described(v) for v in value]]
    if type(value).__name__ == "Tensor":
        return ["Tensor", str(value.dtype), tuple(value.shape)]
    return type(value).__name__


@pytest.mark.parametrize("kwargs,steps", CONFIGS, ids=IDS)
def test_trajectory_tracks_torch(kwargs, steps, torch, recwarn):
    t_losses, t_evals, t_w, t_opt = _trajectory(torch, kwargs, steps)
    g_losses, g_evals, g_w, g_opt = _trajectory(gradstudio, kwargs, steps)
    assert len(g_evals) == len(t_evals)
    np.testing.assert_allclose(g_evals, t_evals, rtol=1e-5)
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-5)
    np.testing.assert_allclose(g_w, t_w, rtol=1e-4, atol=2e-5)
    assert repr(g_opt) == repr(t_opt)
    t_state, g_state = t_opt.state_dict(), g_opt.state_dict()
    assert g_state["param_groups"] == t_state["param_groups"]
    assert list(g_state["state"]) == list(t_state["state"]) == [0]
    theirs, ours = t_state["state"][0], g_state["state"][0]
    assert list(ours) == list(theirs)
    assert {k: _described(v) for k, v in ours.items()} == {k: _described(v) for k, v in theirs.items()}
    assert (ours["func_evals"], ours["n_iter"]) == (theirs["func_evals"], theirs["n_iter"])
    np.testing.assert_allclose(ours["prev_flat_grad"].numpy(), theirs["prev_flat_grad"].numpy(), atol=1e-5)
    assert not [str(w.message) for w in recwarn if "requires_grad" in str(w.message)]  # its step is no_grad


def test_errors_are_torchs(torch):
    messages = []
    for lib in (torch, gradstudio):
        a, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(3))
        caught = []
        for make in (lambda: lib.optim.LBFGS([a], lr=-1.0),
                     lambda: lib.optim.LBFGS([{"params": [a]}, {"params": [b]}])):
            with pytest.raises(ValueError) as error:
                make()
            caught.append(str(error.value))
        opt = lib.optim.LBFGS([a], line_search_fn="wolfe")

        def closure():
            opt.zero_grad()
            loss = (a ** 2).sum()
            loss.backward()
            return loss

        with pytest.raises(RuntimeError) as error:
            opt.step(closure)
        caught.append(str(error.value))
        messages.append(caught)
    assert messages[0] == messages[1]
