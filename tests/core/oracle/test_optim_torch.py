"""torch.optim against PyTorch: 200-step trajectories of every optimizer and option,
one step on identical gradients bit for bit, printouts, state keys and types,
state_dict, and the learning-rate schedulers."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=False)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01, maximize=False)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99))),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.001, etas=(0.3, 1.5), step_sizes=(1e-4, 0.05))),  # sizes clamped both ways
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=50, weight_decay=0.01)),  # averaging after 50
]
# the updates without a square root: bit for bit with torch's (see the test below)
EXACT = {"SGD", "Adamax", "Rprop", "ASGD"}
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def _trajectory(lib, name, kwargs, steps=200):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 5)).astype(np.float32)
    Y = rng.standard_normal((16, 1)).astype(np.float32)
    w = lib.nn.Parameter(lib.tensor(rng.standard_normal((5, 1)).astype(np.float32) * 0.5))
    b = lib.nn.Parameter(lib.zeros(1))
    opt = getattr(lib.optim, name)([w, b], **kwargs)
    x, y = lib.tensor(X), lib.tensor(Y)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((lib.tanh(x @ w + b) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses), w.detach().numpy().copy(), opt


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_trajectory_tracks_torch(name, kwargs, torch):
    t_losses, t_w, t_opt = _trajectory(torch, name, kwargs)
    g_losses, g_w, g_opt = _trajectory(gradstudio, name, kwargs)
    # float32 rounding: the forward passes differ in the last bit now and then
    np.testing.assert_allclose(g_losses, t_losses, rtol=2e-6)
    np.testing.assert_allclose(g_w, t_w, rtol=1e-5, atol=1e-6)
    assert repr(g_opt) == repr(t_opt)
    t_state, g_state = t_opt.state_dict(), g_opt.state_dict()
    assert g_state["param_groups"] == t_state["param_groups"]
    assert list(g_state["state"]) == list(t_state["state"])
    for k in t_state["state"]:
        theirs, ours = t_state["state"][k], g_state["state"][k]
        assert list(ours) == list(theirs)
        for key in theirs:
            assert type(ours[key]).__name__ == type(theirs[key]).__name__ == "Tensor"
            assert str(ours[key].dtype) == str(theirs[key].dtype)
            assert ours[key].shape == theirs[key].shape
            np.testing.assert_allclose(ours[key].numpy(), theirs[key].numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_steps_on_identical_gradients_match_torch_bit_for_bit(name, kwargs, torch):
    """The update itself — torch's formulas in torch's rounding order — over 20 steps
    fed the same gradients, a 0-d parameter among them. SGD, Adamax, Rprop and ASGD are
    bit-identical; the others take a square root, and torch's vectorised float32 sqrt is
    not correctly rounded (numpy's is), so for them the parameters agree to float32
    rounding (see gradstudio/optim/_arith.py)."""
    rng = np.random.default_rng(1)
    shapes = [(7, 5), (5,), (33,), ()]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    tp = [torch.nn.Parameter(torch.tensor(v)) for v in start]
    gp = [gradstudio.nn.Parameter(gradstudio.tensor(v)) for v in start]
    t_opt, g_opt = getattr(torch.optim, name)(tp, **kwargs), getattr(gradstudio.optim, name)(gp, **kwargs)
    mismatched = 0
    for _ in range(20):
        for t, g in zip(tp, gp):
            grad = np.asarray(rng.standard_normal(t.shape), dtype=np.float32)
            t.grad, g.grad = torch.tensor(grad), gradstudio.tensor(grad)
        t_opt.step()
        g_opt.step()
        mismatched += sum(int((t.detach().numpy() != g.detach().numpy()).sum()) for t, g in zip(tp, gp))
        for t, g in zip(tp, gp):
            np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), rtol=2e-6, atol=1e-7)
    if name in EXACT:
        assert mismatched == 0
    # the 0-d state (step, NAdam's mu_product, ASGD's eta and mu) is float32 arithmetic
    # on scalars: exactly torch's
    for t, g in zip(tp, gp):
        scalars = {k: v.item() for k, v in t_opt.state[t].items() if v.dim() == 0}
        assert {k: v.item() for k, v in g_opt.state[g].items() if v.dim() == 0} == scalars


def test_zero_grad_and_param_groups_match_torch(torch):
    def run(lib):
        a, b = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(3))
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
        (a.sum() + b.sum()).backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
        kept = a.grad.tolist()
        opt.zero_grad()
        return repr(opt), kept, a.grad, [g["lr"] for g in opt.param_groups], a.tolist(), b.tolist()
    assert run(gradstudio) == run(torch)


def test_optimizer_errors_match_torch(torch):
    for lib in (torch, gradstudio):
        with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
            lib.optim.SGD([], lr=0.1)
        with pytest.raises(ValueError, match="Invalid learning rate: -1"):
            lib.optim.Adam([lib.nn.Parameter(lib.ones(1))], lr=-1)


@pytest.mark.parametrize("make", [
    "NAdam(ps, lr=-0.1)", "NAdam(ps, eps=-1.0)", "NAdam(ps, betas=(1.0, 0.9))", "NAdam(ps, betas=(0.9, -0.5))",
    "NAdam(ps, weight_decay=-1e-3)", "NAdam(ps, momentum_decay=-1)",
    "RAdam(ps, lr=-1)", "RAdam(ps, betas=(0.5, 1))", "RAdam(ps, weight_decay=-1)",
    "Adamax(ps, eps=-1e-8)", "Adamax(ps, betas=(-0.1, 0.9))",
    "Adadelta(ps, rho=1.5)", "Adadelta(ps, rho=-0.1)", "Adadelta(ps, eps=-1)", "Adadelta(ps, lr=-1.0)",
    "Rprop(ps, etas=(1.5, 1.2))", "Rprop(ps, etas=(0.5, 0.9))", "Rprop(ps, etas=(0, 2))", "Rprop(ps, lr=-2)",
    "ASGD(ps, lr=-0.5)", "ASGD(ps, weight_decay=-0.5)",
])
def test_argument_errors_are_torchs(make, torch):
    messages = []
    for lib in (torch, gradstudio):
        with pytest.raises(ValueError) as caught:
            eval(make, vars(lib.optim), {"ps": [lib.nn.Parameter(lib.ones(1))]})  # test-authored
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "Adadelta", "Rprop", "ASGD"])
def test_defaults_printout_and_first_state_are_torchs(name, torch):
    """Constructed with every default: the printout, the state_dict's groups, and the
    state after one step (keys in torch's order, values and dtypes: ``step``,
    ``mu_product``, ``eta`` and ``mu`` float32 0-d tensors)."""
    def run(lib):
        p = lib.nn.Parameter(lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64))
        opt = getattr(lib.optim, name)([p])
        printed = repr(opt)
        (p ** 3).sum().backward()
        opt.step()
        state = opt.state_dict()
        return printed, state["param_groups"], {k: [(key, str(v.dtype), tuple(v.shape), v.tolist())
                                                    for key, v in s.items()] for k, s in state["state"].items()}
    assert run(gradstudio) == run(torch)


@pytest.mark.parametrize("make", [
    "lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)",
    "lr_scheduler.ExponentialLR(opt, gamma=0.9)",
    "lr_scheduler.LambdaLR(opt, lambda epoch: 0.95 ** epoch)",
    "lr_scheduler.CosineAnnealingLR(opt, T_max=5)",
    "lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)",
])
def test_scheduler_matches_torch(make, torch):
    def run(lib):
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([p], lr=0.1)
        scheduler = eval(make, {"lr_scheduler": lib.optim.lr_scheduler, "opt": opt})  # test-authored
        lrs = []
        for _ in range(15):
            p.sum().backward()
            opt.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
        return lrs, scheduler.last_epoch, opt.param_groups[0]["initial_lr"]
    (t_lrs, t_epoch, t_initial), (g_lrs, g_epoch, g_initial) = run(torch), run(gradstudio)
    assert g_epoch == t_epoch and g_initial == t_initial
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(g_lrs, t_lrs)), (g_lrs, t_lrs)


def test_scheduler_before_optimizer_warns_like_torch(torch):
    messages = []
    for lib in (torch, gradstudio):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)
        scheduler = lib.optim.lr_scheduler.StepLR(opt, 1)
        with pytest.warns(UserWarning) as caught:
            scheduler.step()
        messages.append([str(w.message) for w in caught])
    assert messages[0] == messages[1]
