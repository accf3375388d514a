"""torch.optim without torch: each optimizer's update against its formula written
out in numpy (torch's documented algorithm), state keys and types, param groups,
zero_grad, state_dict round trip, printouts and the schedulers' values."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gradstudio as torch
from gradstudio import nn, optim

GRADS = [np.array([0.5, -1.0, 2.0], np.float64), np.array([-0.3, 0.2, 0.1]), np.array([1.0, 1.0, -2.0])]
START = np.array([1.0, -2.0, 0.5])


def run(make, steps=3):
    p = nn.Parameter(torch.tensor(START))  # float64: the formulas below are exact enough
    opt = make([p])
    for g in GRADS[:steps]:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy(), opt, p


def test_sgd_momentum_nesterov_weight_decay():
    lr, mu, wd = 0.1, 0.9, 0.01
    got, opt, p = run(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, nesterov=True, weight_decay=wd))
    x, buf = START.copy(), None
    for g in GRADS:
        g = g + wd * x
        buf = g.copy() if buf is None else mu * buf + g
        x = x - lr * (g + mu * buf)
    np.testing.assert_allclose(got, x, rtol=1e-12)
    assert list(opt.state[p]) == ["momentum_buffer"]


def test_sgd_dampening_and_plain():
    got, opt, p = run(lambda ps: optim.SGD(ps, lr=0.2, momentum=0.5, dampening=0.25))
    x, buf = START.copy(), None
    for g in GRADS:
        buf = g.copy() if buf is None else 0.5 * buf + 0.75 * g
        x = x - 0.2 * buf
    np.testing.assert_allclose(got, x, rtol=1e-12)
    got, opt, p = run(lambda ps: optim.SGD(ps, lr=0.2))
    np.testing.assert_allclose(got, START - 0.2 * sum(GRADS), rtol=1e-12)
    assert dict(opt.state) == {}


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_and_adamw(decoupled, amsgrad):
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.1
    cls = optim.AdamW if decoupled else optim.Adam
    got, opt, p = run(lambda ps: cls(ps, lr=lr, weight_decay=wd, amsgrad=amsgrad))
    x, m, v, vmax = START.copy(), 0, 0, 0
    for t, g in enumerate(GRADS, 1):
        if decoupled:
            x = x * (1 - lr * wd)
        else:
            g = g + wd * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2 ** t) + eps
        x = x - lr / (1 - b1 ** t) * m / denom
    np.testing.assert_allclose(got, x, rtol=1e-10)
    state = opt.state[p]
    assert list(state) == ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if amsgrad else [])
    assert isinstance(state["step"], torch.Tensor) and state["step"].dtype == torch.float32
    assert state["step"].item() == 3.0
    assert opt.defaults["decoupled_weight_decay"] is decoupled


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop(centered):
    lr, alpha, eps, mu = 0.01, 0.99, 1e-8, 0.9
    got, opt, p = run(lambda ps: optim.RMSprop(ps, lr=lr, momentum=mu, centered=centered))
    x, sq, avg_g, buf = START.copy(), 0, 0, 0
    for g in GRADS:
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            avg_g = alpha * avg_g + (1 - alpha) * g
            avg = np.sqrt(sq - avg_g * avg_g) + eps
        else:
            avg = np.sqrt(sq) + eps
        buf = mu * buf + g / avg
        x = x - lr * buf
    np.testing.assert_allclose(got, x, rtol=1e-10)
    assert list(opt.state[p]) == ["step", "square_avg", "momentum_buffer"] + (["grad_avg"] if centered else [])


def test_adagrad():
    lr, decay, eps = 0.1, 0.01, 1e-10
    got, opt, p = run(lambda ps: optim.Adagrad(ps, lr=lr, lr_decay=decay, initial_accumulator_value=0.5))
    x, s = START.copy(), 0.5
    for t, g in enumerate(GRADS, 1):
        s = s + g * g
        x = x - lr / (1 + (t - 1) * decay) * g / (np.sqrt(s) + eps)
    np.testing.assert_allclose(got, x, rtol=1e-12)
    assert list(opt.state[p]) == ["step", "sum"]


def test_float32_add_is_fused_like_torchs_kernel():
    """x + a·b rounded once: here the unfused float32 sum would round differently."""
    from gradstudio.optim import _arith
    x = np.array([1.0], np.float32)
    b = np.array([1.0 + 2 ** -23], np.float32)
    fused = _arith.add(x, b, alpha=-(1 - 2 ** -24))
    exact = np.float64(1.0) - np.float64(np.float32(1 - 2 ** -24)) * np.float64(b[0])
    assert fused[0] == np.float32(exact)
    assert fused[0] != (x + np.float32(-(1 - 2 ** -24)) * b)[0]


def test_param_groups_zero_grad_and_printout():
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(1))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert list(opt.param_groups[0]) == ["params", "lr", "momentum", "dampening", "weight_decay", "nesterov",
                                         "maximize", "foreach", "differentiable", "fused"]
    (a.sum() + b.sum()).backward()
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None
    assert repr(opt).startswith("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n")
    assert repr(opt).endswith("    weight_decay: 0\n)")
    assert "Parameter Group 1\n" in repr(opt)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)


def test_state_dict_round_trip_continues_identically():
    def fresh():
        p = nn.Parameter(torch.tensor(START.astype(np.float32)))
        return p, optim.Adam([p], lr=0.05)
    p, opt = fresh()
    for g in GRADS[:2]:
        p.grad = torch.tensor(g.astype(np.float32))
        opt.step()
    saved = opt.state_dict()
    assert list(saved) == ["state", "param_groups"] and saved["param_groups"][0]["params"] == [0]
    q, opt2 = fresh()
    with torch.no_grad():
        q.copy_(p)
    opt2.load_state_dict(saved)
    for param, o in ((p, opt), (q, opt2)):
        param.grad = torch.tensor(GRADS[2].astype(np.float32))
        o.step()
    assert p.tolist() == q.tolist()


def test_optimizer_step_bumps_the_version_so_stale_graphs_are_caught():
    p = nn.Parameter(torch.ones(2))
    y = (p * p).sum()
    opt = optim.SGD([p], lr=0.1)
    p.grad = torch.ones(2)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_schedulers():
    def lrs(make, n=8):
        opt = optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0)
        scheduler = make(opt)
        out = [opt.param_groups[0]["lr"]]
        for _ in range(n):
            opt.step()
            scheduler.step()
            out.append(scheduler.get_last_lr()[0])
        return out
    assert lrs(lambda o: optim.lr_scheduler.StepLR(o, 3, 0.5)) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    np.testing.assert_allclose(lrs(lambda o: optim.lr_scheduler.ExponentialLR(o, 0.9)), 0.9 ** np.arange(9))
    np.testing.assert_allclose(lrs(lambda o: optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (e + 1))),
                               1 / np.arange(1, 10))
    np.testing.assert_allclose(lrs(lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=4), n=4),
                               [(1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)], atol=1e-15)


def test_scheduler_step_before_optimizer_step_warns():
    opt = optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(opt, 1)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        scheduler.step()
