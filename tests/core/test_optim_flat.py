"""Optimizer steps on a group laid out flat (gradstudio/optim/_flat.py) against the
per-parameter loop, bit for bit: every optimizer and its options, and what undoes or
prevents a layout — an array someone else holds, ``p.data = …``, a parameter without a
gradient, ``load_state_dict``, parameters at different Adam steps."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as torch
from gradstudio import nn, optim
from gradstudio.optim import _flat

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.99), eps=1e-6)),  # 1 − β₁ ≥ 0.5: the general kernel
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.9))),  # rectified from step 6
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adamax", dict(lr=0.02, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Rprop", dict(lr=0.01, step_sizes=(1e-3, 0.02), maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=1e-2, t0=10, weight_decay=0.1, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def _model(dtype=torch.float32):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).to(dtype)


def _train(name, kwargs, steps=25, dtype=torch.float32, between=None):
    model = _model(dtype)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((8, 6))).to(dtype)
    y = torch.tensor(rng.standard_normal((8, 3))).to(dtype)
    for i in range(steps):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        if between is not None:
            between(i, model, opt)
        opt.step()
    return model, opt


@pytest.fixture
def per_parameter(monkeypatch):
    """Steps forced to run per parameter: the reference."""
    def force():
        monkeypatch.setattr(_flat, "flat_group", lambda *args: None)
    return force


def _arrays(model, opt):
    params = [p.detach().numpy().copy() for p in model.parameters()]
    state = [{k: v.numpy().copy() for k, v in opt.state[p].items()} for p in model.parameters()]
    return params, state


def _assert_same(a, b):
    (pa, sa), (pb, sb) = a, b
    for x, y in zip(pa, pb):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert [list(s) for s in sa] == [list(s) for s in sb]
    for s, t in zip(sa, sb):
        for key in s:
            assert s[key].dtype == t[key].dtype and np.array_equal(s[key], t[key]), key


def _is_flat(model) -> bool:
    arrays = [p._data for p in model.parameters()]
    return all(a.base is not None and np.shares_memory(a.base, arrays[0]) for a in arrays)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_flat_steps_are_the_per_parameter_steps_bit_for_bit(name, kwargs, dtype, per_parameter):
    model, opt = _train(name, kwargs, dtype=dtype)
    assert _is_flat(model)  # the steps after the first ran on the flat arrays
    if dtype is torch.float64:  # the float32 kernel's temporaries are never made for it
        assert all(layout.scratch is None for layout in opt._flat.values())
    flat = _arrays(model, opt)
    per_parameter()
    model, opt = _train(name, kwargs, dtype=dtype)
    assert not _is_flat(model)
    if dtype is torch.float64:
        assert not getattr(opt, "_scratch", None)
    _assert_same(flat, _arrays(model, opt))


def test_state_tensors_stay_the_same_objects_and_share_the_parameters_memory():
    model, opt = _train("SGD", dict(lr=0.1, momentum=0.9), steps=1)
    weight = model[0].weight
    buffer = opt.state[weight]["momentum_buffer"]  # the tensor, not its array: it may move
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.standard_normal((4, 6)).astype(np.float32))
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    assert _is_flat(model)
    assert opt.state[weight]["momentum_buffer"] is buffer
    before = weight.detach().numpy().copy()
    buffer.zero_()  # in place on the state, as a user may
    opt.zero_grad()
    model(x).sum().backward()
    grad = weight.grad.numpy().copy()
    opt.step()
    # the zeroed buffer was the one used: buf = 0.9·0 + g, p = p − 0.1·g
    np.testing.assert_allclose(weight.detach().numpy(), before - np.float32(0.1) * grad, rtol=1e-6)


@pytest.mark.parametrize("hold", ["detach", "data", "state_dict", "view"])
def test_an_array_someone_else_holds_is_never_moved(hold, per_parameter):
    kept = []

    def between(i, model, opt):
        if i == 0:
            weight = model[0].weight
            kept.append({"detach": lambda: weight.detach(), "data": lambda: weight.data,
                         "state_dict": lambda: model.state_dict()["0.weight"],
                         "view": lambda: weight[1]}[hold]())

    model, opt = _train("SGD", dict(lr=0.1, momentum=0.9), between=between)
    assert not _is_flat(model)
    alias = kept[0].detach().numpy()
    expected = model[0].weight.detach().numpy()
    np.testing.assert_array_equal(alias, expected[1] if hold == "view" else expected)  # still shared
    result = _arrays(model, opt)
    per_parameter()
    kept.clear()
    _assert_same(result, _arrays(*_train("SGD", dict(lr=0.1, momentum=0.9), between=between)))


def _replace_data(i, model, opt):
    if i == 10:  # p.data = …: the layout no longer holds; laid out again around the new array
        model[2].bias.data = torch.tensor(np.full(3, 0.25, np.float32))


def _drop_a_gradient(i, model, opt):
    if i in (7, 8):  # a step where one parameter has no gradient: that step per parameter
        model[0].bias.grad = None


def _reload_state(i, model, opt):
    if i == 12:  # the state replaced by copies of itself
        opt.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("between", [_replace_data, _drop_a_gradient, _reload_state])
@pytest.mark.parametrize("name,kwargs", [CONFIGS[1], CONFIGS[5]], ids=[IDS[1], IDS[5]])
def test_what_undoes_a_layout_leaves_the_steps_as_they_are_per_parameter(name, kwargs, between,
                                                                         per_parameter):
    model, opt = _train(name, kwargs, between=between)
    assert _is_flat(model)  # laid out again after it
    result = _arrays(model, opt)
    per_parameter()
    _assert_same(result, _arrays(*_train(name, kwargs, between=between)))


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01)), ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
                                         ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)),
                                         ("Adamax", dict(lr=0.01)), ("ASGD", dict(lr=0.05, t0=10))])
def test_parameters_at_different_steps_step_per_parameter(name, kwargs, per_parameter):
    """Adam's, Adagrad's, NAdam's, RAdam's, Adamax's and ASGD's scalars depend on the
    step (and NAdam's μ product, ASGD's η and μ, on the steps before): one group at two
    steps runs per parameter (RMSprop's, Adadelta's and Rprop's do not: they count steps
    only)."""
    def between(i, model, opt):
        if i == 3:
            opt.state[model[0].bias]["step"].fill_(10.0)

    model, opt = _train(name, kwargs, between=between)
    steps = [float(opt.state[p]["step"]) for p in model.parameters()]
    assert steps == [25.0, 32.0, 25.0, 25.0]
    result = _arrays(model, opt)
    per_parameter()
    _assert_same(result, _arrays(*_train(name, kwargs, between=between)))


@pytest.mark.parametrize("name,key", [("NAdam", "mu_product"), ("ASGD", "eta"), ("ASGD", "mu")])
def test_a_group_whose_scalar_state_differs_steps_per_parameter(name, key, per_parameter):
    """One parameter's 0-d state set apart (the steps still agree): that group's update
    scalars differ by parameter, so that step runs per parameter (ASGD sets η and μ anew
    after it; NAdam's μ products stay apart)."""
    def between(i, model, opt):
        if i == 3:
            opt.state[model[0].bias][key].fill_(0.5)

    kwargs = dict(lr=0.05, t0=2) if name == "ASGD" else dict(lr=0.01)
    result = _arrays(*_train(name, kwargs, between=between))
    per_parameter()
    _assert_same(result, _arrays(*_train(name, kwargs, between=between)))


def test_a_stale_graph_still_sees_the_flat_step():
    model, opt = _train("SGD", dict(lr=0.1, momentum=0.9), steps=3)
    assert _is_flat(model)
    x = torch.ones(2, 6)
    loss = model(x).sum()
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_slice_someone_took_after_the_layout_is_not_moved_again(per_parameter):
    kept = []

    def between(i, model, opt):
        if i == 5:
            kept.append(model[0].weight.detach())  # an alias of the laid-out slice
        _replace_data(i, model, opt)  # at step 10 the layout no longer holds

    model, opt = _train("SGD", dict(lr=0.1, momentum=0.9), between=between)
    assert not _is_flat(model)  # the weight's slice could not move: no layout since
    np.testing.assert_array_equal(kept[0].numpy(), model[0].weight.detach().numpy())
    result = _arrays(model, opt)
    per_parameter()
    kept.clear()
    _assert_same(result, _arrays(*_train("SGD", dict(lr=0.1, momentum=0.9), between=between)))


def test_one_buffer_shared_by_two_parameters_is_not_laid_out(per_parameter):
    """Two parameters whose state holds one tensor: per parameter, that buffer takes both
    updates in turn; laid out, it would be two slices."""
    def run():
        rng = np.random.default_rng(3)
        a, b = (nn.Parameter(torch.tensor(rng.standard_normal(3).astype(np.float32))) for _ in range(2))
        opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
        for i in range(6):
            a.grad, b.grad = (torch.tensor(rng.standard_normal(3).astype(np.float32)) for _ in range(2))
            opt.step()
            if i == 0:
                opt.state[b]["momentum_buffer"] = opt.state[a]["momentum_buffer"]
        assert opt.state[a]["momentum_buffer"] is opt.state[b]["momentum_buffer"]
        return [a.detach().numpy().copy(), b.detach().numpy().copy(),
                opt.state[a]["momentum_buffer"].numpy().copy()]

    result = run()
    per_parameter()
    for x, y in zip(result, run()):
        assert np.array_equal(x, y)


def test_a_group_larger_than_the_limit_steps_per_parameter(monkeypatch):
    sizes = [p._data.size for p in _model().parameters()]
    monkeypatch.setattr(_flat, "MAX_ELEMENTS", sum(sizes) - 1)
    model, opt = _train("Adam", dict(lr=0.01))
    assert not _is_flat(model) and not getattr(opt, "_flat", None)
    monkeypatch.setattr(_flat, "MAX_ELEMENTS", sum(sizes))
    assert _is_flat(_train("Adam", dict(lr=0.01))[0])
