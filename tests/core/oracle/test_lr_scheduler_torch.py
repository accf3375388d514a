"""torch.optim.lr_scheduler against PyTorch 2.13: for every scheduler, a real
optimizer with two param groups stepping 100 times, and a transcript of each
step — every group's lr (and momentum or betas, which the cyclical schedulers
move), get_last_lr(), the warnings — then the state_dict (keys in order and
values) after some steps, a second scheduler resumed from it, and the errors
for bad arguments. The transcripts must be identical as printed text: the lrs
agree to the last bit, because the formulas keep torch's order of operations."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

STEPS = 100

# (optimizer, scheduler): test-authored source evaluated with S = lib.optim.lr_scheduler, opt
CASES = [
    ("SGD", "S.StepLR(opt, step_size=7, gamma=0.5)"),
    ("SGD", "S.MultiStepLR(opt, milestones=[10, 30, 30, 75], gamma=0.3)"),
    ("SGD", "S.ExponentialLR(opt, gamma=0.97)"),
    ("SGD", "S.LambdaLR(opt, [lambda e: 0.95 ** e, lambda e: 1 / (1 + e // 10)])"),
    ("SGD", "S.MultiplicativeLR(opt, lambda e: 0.99 if e % 3 else 0.9)"),
    ("SGD", "S.ConstantLR(opt, factor=0.25, total_iters=12)"),
    ("SGD", "S.ConstantLR(opt)"),
    ("SGD", "S.LinearLR(opt, start_factor=0.1, end_factor=0.9, total_iters=37)"),
    ("SGD", "S.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=100)"),
    ("SGD", "S.PolynomialLR(opt, total_iters=60, power=2.0)"),
    ("SGD", "S.PolynomialLR(opt, total_iters=100, power=0.5)"),
    ("SGD", "S.CosineAnnealingLR(opt, T_max=30, eta_min=0.001)"),
    ("SGD", "S.CosineAnnealingWarmRestarts(opt, T_0=10)"),
    ("SGD", "S.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2, eta_min=1e-4)"),
    ("SGD", "S.CyclicLR(opt, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=8)"),
    ("SGD", "S.CyclicLR(opt, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=5, step_size_down=11, "
            "mode='triangular2', base_momentum=[0.7, 0.75], max_momentum=0.95)"),
    ("SGD", "S.CyclicLR(opt, 0.001, 0.1, step_size_up=6, mode='exp_range', gamma=0.98)"),
    ("SGD", "S.CyclicLR(opt, 0.001, 0.1, step_size_up=6, scale_fn=lambda x: 0.5 * (1 + x % 3), "
            "scale_mode='iterations', cycle_momentum=False)"),
    ("Adam", "S.CyclicLR(opt, base_lr=0.001, max_lr=0.01, step_size_up=10)"),
    ("SGD", "S.OneCycleLR(opt, max_lr=[0.1, 0.3], total_steps=100)"),
    ("SGD", "S.OneCycleLR(opt, max_lr=0.2, epochs=10, steps_per_epoch=10, anneal_strategy='linear', "
            "pct_start=0.25, div_factor=10.0, final_div_factor=100.0)"),
    ("SGD", "S.OneCycleLR(opt, max_lr=0.1, total_steps=101, three_phase=True, base_momentum=[0.8, 0.85])"),
    ("Adam", "S.OneCycleLR(opt, max_lr=0.01, total_steps=110, cycle_momentum=True)"),
    ("Adam", "S.OneCycleLR(opt, max_lr=0.01, total_steps=100, three_phase=True, anneal_strategy='linear', "
             "cycle_momentum=False)"),
    ("SGD", "S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=10), "
            "S.CosineAnnealingLR(opt, T_max=40), S.ExponentialLR(opt, gamma=0.9)], milestones=[10, 50])"),
    ("SGD", "S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.5, total_iters=4), S.StepLR(opt, 9, 0.7)], "
            "milestones=[20])"),
    ("SGD", "S.ChainedScheduler([S.ConstantLR(opt, factor=0.1, total_iters=5), "
            "S.ExponentialLR(opt, gamma=0.98), S.CosineAnnealingLR(opt, T_max=25)])"),
    ("Adam", "S.ChainedScheduler([S.LinearLR(opt, 0.5, total_iters=20), S.MultiStepLR(opt, [40, 80])], "
             "optimizer=opt)"),
    ("SGD", "S.ReduceLROnPlateau(opt, patience=3)"),
    ("SGD", "S.ReduceLROnPlateau(opt, mode='max', factor=0.5, patience=2, threshold=0.05, "
            "threshold_mode='abs', cooldown=4, min_lr=[0.01, 0.002])"),
    ("Adam", "S.ReduceLROnPlateau(opt, factor=0.3, patience=1, threshold_mode='rel', threshold=0.01, "
             "cooldown=2, min_lr=1e-4, eps=1e-3)"),
]


def _metric(i):
    """A loss that improves, stalls, jumps and improves again (exact in binary floating point)."""
    return 1.0 / (1 + i // 7) + (0.25 if i % 13 == 0 else 0.0)


def _optimizer(lib, kind, seed=0):
    rng = np.random.default_rng(seed)
    w = lib.nn.Parameter(lib.tensor(rng.standard_normal((3, 2)).astype(np.float32)))
    b = lib.nn.Parameter(lib.zeros(2))
    groups = [{"params": [w]}, {"params": [b], "lr": 0.05}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9), (w, b)
    return lib.optim.Adam(groups, lr=0.02, betas=(0.9, 0.99)), (w, b)


def _groups(opt):
    """Every option of every group (its params left out), sorted as torch prints them."""
    return [{k: v for k, v in sorted(group.items()) if k != "params"} for group in opt.param_groups]


def _train_step(lib, params, opt, i):
    w, b = params
    opt.zero_grad()
    x = lib.tensor(np.linspace(-1, 1, 3, dtype=np.float32) * (1 + i % 5))
    loss = ((x @ w + b) ** 2).sum()
    loss.backward()
    opt.step()
    return loss


def _step(scheduler, i, loss):
    if "ReduceLROnPlateau" in type(scheduler).__name__:
        scheduler.step(_metric(i) if i % 2 else loss.detach() * 0 + _metric(i))  # a float or a tensor
    else:
        scheduler.step()


def _transcript(lib, kind, source, steps=STEPS, resume_at=40):
    S = lib.optim.lr_scheduler
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt, params = _optimizer(lib, kind)
        scheduler = eval(source, {"S": S, "opt": opt})  # test-authored
        out.append(f"init {_groups(opt)} last_lr={scheduler.get_last_lr()}")
        for i in range(steps):
            loss = _train_step(lib, params, opt, i)
            _step(scheduler, i, loss)
            momentum = [g.get("betas", g.get("momentum")) for g in opt.param_groups]
            out.append(f"{i}: {[g['lr'] for g in opt.param_groups]} {momentum} {scheduler.get_last_lr()} "
                       f"last_epoch={getattr(scheduler, 'last_epoch', None)}")
            if i + 1 == resume_at:
                state = scheduler.state_dict()
                out.append(f"state_dict {list(state)}")
                out.append(f"state_dict {state!r}")
                opt_state = opt.state_dict()
        out.append(f"end {_groups(opt)}")
        out.append(f"state_dict {scheduler.state_dict()!r}")
        # resume: a fresh optimizer and scheduler, loaded from the state at resume_at, continued
        opt2, params2 = _optimizer(lib, kind, seed=1)
        scheduler2 = eval(source, {"S": S, "opt": opt2})  # test-authored
        opt2.load_state_dict(opt_state)
        scheduler2.load_state_dict(state)
        for i in range(resume_at, resume_at + 10):
            loss = _train_step(lib, params2, opt2, i)
            _step(scheduler2, i, loss)
            out.append(f"resumed {i}: {[g['lr'] for g in opt2.param_groups]} {scheduler2.get_last_lr()}")
        out.append(f"resumed state_dict keys {list(scheduler2.state_dict())}")
    out.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    return "\n".join(out)


@pytest.mark.parametrize("kind,source", CASES, ids=[f"{k}-{s.split('(')[0][2:]}-{i}" for i, (k, s) in enumerate(CASES)])
def test_trajectory_and_state_match_torch(kind, source, torch):
    expected = _transcript(torch, kind, source)
    assert _transcript(gradstudio, kind, source) == expected


def test_parameters_follow_the_same_schedule(torch):
    """The lrs reach the optimizer: 100 OneCycleLR steps of SGD land where torch's do."""
    def run(lib):
        opt, params = _optimizer(lib, "SGD")
        scheduler = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=100)
        for i in range(100):
            _train_step(lib, params, opt, i)
            scheduler.step()
        return [p.detach().numpy().copy() for p in params]
    for got, want in zip(run(gradstudio), run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _printed(lib, program):
    """What running ``program`` prints: its result, or the error; and every warning."""
    S = lib.optim.lr_scheduler
    opt, params = _optimizer(lib, "SGD")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = repr(eval(program, {"S": S, "opt": opt, "lib": lib, "params": params}))  # test-authored
        except Exception as error:  # noqa: BLE001 - the error is what is compared
            result = f"{type(error).__name__}: {error}"
    result = re.sub(r" at 0x[0-9a-f]+", "", result.replace("gradstudio", "torch"))
    return [result] + [f"{w.category.__name__}: {w.message}" for w in caught]


ERRORS = [
    "S.StepLR(object(), 3)",
    "S.StepLR(opt, 3, last_epoch=5)",
    "S.LambdaLR(opt, [lambda e: 1.0])",
    "S.MultiplicativeLR(opt, [lambda e: 1.0, 0.5])",
    "S.MultiplicativeLR(opt, 0.5)",
    "S.ConstantLR(opt, factor=1.5)",
    "S.ConstantLR(opt, factor=-0.1)",
    "S.LinearLR(opt, start_factor=0)",
    "S.LinearLR(opt, start_factor=1.1)",
    "S.LinearLR(opt, end_factor=1.5)",
    "S.CosineAnnealingWarmRestarts(opt, T_0=0)",
    "S.CosineAnnealingWarmRestarts(opt, T_0=2.0)",
    "S.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=0)",
    "S.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=1.5)",
    "S.CosineAnnealingWarmRestarts(opt, T_0=3, eta_min='0')",
    "S.CosineAnnealingWarmRestarts(opt, T_0=3).step(-1)",
    "S.CyclicLR(opt, 0.01, 0.1, mode='sine')",
    "S.CyclicLR(opt, [0.01], 0.1)",
    "S.CyclicLR(opt, 0.01, (0.1, 0.2, 0.3))",
    "S.CyclicLR(opt, 0.01, 0.1, base_momentum=[0.8])",
    "S.CyclicLR(lib.optim.Adagrad(params), 0.01, 0.1)",
    "S.CyclicLR(lib.optim.Adagrad(params), 0.01, 0.1, cycle_momentum=False).get_last_lr()",
    "S.OneCycleLR(opt, 0.1)",
    "S.OneCycleLR(opt, 0.1, epochs=3)",
    "S.OneCycleLR(opt, 0.1, total_steps=0)",
    "S.OneCycleLR(opt, 0.1, total_steps=10.0)",
    "S.OneCycleLR(opt, 0.1, epochs=0, steps_per_epoch=3)",
    "S.OneCycleLR(opt, 0.1, epochs=2, steps_per_epoch=1.5)",
    "S.OneCycleLR(opt, 0.1, total_steps=10, pct_start=1)",
    "S.OneCycleLR(opt, 0.1, total_steps=10, pct_start=1.5)",
    "S.OneCycleLR(opt, 0.1, total_steps=10, anneal_strategy='exp')",
    "S.OneCycleLR(opt, [0.1], total_steps=10)",
    "[S.OneCycleLR(o := lib.optim.RMSprop(params), 0.1, total_steps=10), o.param_groups[0]['momentum']][1:]",
    "[S.OneCycleLR(opt, 0.1, total_steps=3).step() for _ in range(4)]",
    "S.SequentialLR(opt, [], [])",
    "S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(opt, 3)], milestones=[])",
    "S.SequentialLR(opt, [S.StepLR(opt, 2), 'not a scheduler'], milestones=[2])",
    "S.SequentialLR(opt, [S.StepLR(opt, 2), S.ReduceLROnPlateau(opt)], milestones=[2])",
    "S.SequentialLR(opt, [S.StepLR(opt, 2), S.StepLR(lib.optim.SGD(params, lr=0.3), 3)], milestones=[2])",
    "S.ChainedScheduler([])",
    "S.ChainedScheduler([S.StepLR(opt, 2), S.ReduceLROnPlateau(opt)])",
    "S.ChainedScheduler([S.StepLR(opt, 2), S.StepLR(lib.optim.SGD(params, lr=0.3), 3)])",
    "S.ReduceLROnPlateau(opt, factor=1.0)",
    "S.ReduceLROnPlateau([], factor=0.5)",
    "S.ReduceLROnPlateau(opt, min_lr=[0.1])",
    "S.ReduceLROnPlateau(opt, mode='mean')",
    "S.ReduceLROnPlateau(opt, threshold_mode='ratio')",
]


@pytest.mark.parametrize("program", ERRORS)
def test_errors_match_torch(program, torch):
    assert _printed(gradstudio, program) == _printed(torch, program)


WARNINGS = [
    # scheduler.step() before optimizer.step(), for a few schedulers
    "[s.step() for s in [S.OneCycleLR(opt, 0.1, total_steps=10)]] and opt.param_groups[0]['lr']",
    "[s.step() for s in [S.CyclicLR(opt, 0.01, 0.1, step_size_up=3)]] and opt.param_groups[0]['lr']",
    "[s.step() for s in [S.LinearLR(opt)]] and opt.param_groups[0]['lr']",
    # optimizer.step replaced after the scheduler wrapped it
    "[setattr(opt, 'step', lambda: None), S.StepLR(opt, 2).step()] and None",
    # the warm-restart scheduler has its own step: no warning about the order
    "[s.step() for s in [S.CosineAnnealingWarmRestarts(opt, 3)]] and opt.param_groups[0]['lr']",
    # get_lr() outside step
    "S.StepLR(opt, 2).get_lr()",
    "S.CosineAnnealingLR(opt, 10).get_lr()",
    "S.OneCycleLR(opt, 0.1, total_steps=10).get_lr()",
    # step(epoch): the deprecation warning, and the closed form
    "[opt.step(), s.step(5), s.get_last_lr()][-1] if (s := S.StepLR(opt, 2, 0.5)) else None",
    "[opt.step(), s.step(7), s.get_last_lr()][-1] if (s := S.MultiStepLR(opt, [2, 6, 6])) else None",
    "[opt.step(), s.step(3), s.get_last_lr()][-1] if (s := S.PolynomialLR(opt, 10, 2.0)) else None",
    "[opt.step(), s.step(4), s.step(), s.get_last_lr()][-1] if (s := S.CosineAnnealingLR(opt, 10)) else None",
    "[opt.step(), s.step(6), s.get_last_lr()][-1] if (s := S.LinearLR(opt, 0.2, total_iters=8)) else None",
    "[opt.step(), s.step(2), s.get_last_lr()][-1] if (s := S.CyclicLR(opt, 0.01, 0.1, step_size_up=3)) else None",
    "[opt.step(), s.step(1.0, 3), s.get_last_lr(), s.last_epoch][-2:] if (s := S.ReduceLROnPlateau(opt)) else None",
    # a param group added after ReduceLROnPlateau was made with per-group min_lrs
    "[opt.add_param_group({'params': [lib.nn.Parameter(lib.ones(1))]}), "
    "[s.step(1.0) for _ in range(5)]] if (s := S.ReduceLROnPlateau(opt, patience=1, min_lr=[0, 0])) else None",
    "[opt.add_param_group({'params': [lib.nn.Parameter(lib.ones(1))]}), "
    "[s.step(1.0) for _ in range(5)], s.min_lrs, s.get_last_lr()][2:] if (s := S.ReduceLROnPlateau(opt, patience=1)) "
    "else None",
]


@pytest.mark.parametrize("program", WARNINGS)
def test_warnings_match_torch(program, torch):
    assert _printed(gradstudio, program) == _printed(torch, program)


def _warning_places(lib):
    """Where each warning points: the caller's line for misuse of step, the library's get_lr otherwise."""
    S = lib.optim.lr_scheduler
    opt, _ = _optimizer(lib, "SGD")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler = S.StepLR(opt, 2)
        scheduler.step()
        scheduler.step(3)
        scheduler.get_lr()
        S.ReduceLROnPlateau(opt).step(1.0, 2)
        S.OneCycleLR(opt, 0.1, total_steps=10).get_lr()
    return [(w.filename == __file__, w.lineno if w.filename == __file__ else None) for w in caught]


def test_warnings_point_where_torchs_do(torch):
    assert _warning_places(gradstudio) == _warning_places(torch)


def _warm_restarts_by_epoch(lib, T_mult):
    """The float-epoch loop of torch's docs: scheduler.step(epoch + i / iters) inside each epoch."""
    opt, params = _optimizer(lib, "SGD")
    scheduler = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult, eta_min=0.001)
    iters, out = 7, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(15):
            for i in range(iters):
                _train_step(lib, params, opt, i)
                scheduler.step(epoch + i / iters)
                out.append(f"{epoch + i / iters!r} {scheduler.get_last_lr()} T_cur={scheduler.T_cur!r} "
                           f"T_i={scheduler.T_i} last_epoch={scheduler.last_epoch}")
        scheduler.step(40)
        scheduler.step()
        out.append(repr(scheduler.state_dict()))
    return out + [str(w.message) for w in caught]


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_with_float_epochs_match_torch(T_mult, torch):
    assert _warm_restarts_by_epoch(gradstudio, T_mult) == _warm_restarts_by_epoch(torch, T_mult)


def test_class_names_and_module_match_torch(torch):
    names = torch.optim.lr_scheduler.__all__
    assert sorted(gradstudio.optim.lr_scheduler.__all__) == sorted(names)
    for name in names + ["_LRScheduler"]:
        ours, theirs = getattr(gradstudio.optim.lr_scheduler, name), getattr(torch.optim.lr_scheduler, name)
        assert repr(ours).replace("gradstudio", "torch") == repr(theirs)
        assert [c.__name__ for c in ours.__mro__ if c.__module__.endswith("lr_scheduler")] == \
            [c.__name__ for c in theirs.__mro__ if c.__module__.endswith("lr_scheduler")]


def _saved_and_loaded(lib, source):
    """A scheduler's state_dict through save/load (weights_only, torch's default) and into a new scheduler."""
    import io
    S = lib.optim.lr_scheduler
    opt, params = _optimizer(lib, "SGD")
    scheduler = eval(source, {"S": S, "opt": opt})  # test-authored
    for i in range(12):
        _train_step(lib, params, opt, i)
        scheduler.step()
    buffer = io.BytesIO()
    lib.save({"scheduler": scheduler.state_dict(), "optimizer": opt.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = lib.load(buffer)
    opt2, _ = _optimizer(lib, "SGD", seed=1)
    scheduler2 = eval(source, {"S": S, "opt": opt2})  # test-authored
    opt2.load_state_dict(checkpoint["optimizer"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    scheduler2.step()
    return repr(checkpoint["scheduler"]), scheduler2.get_last_lr(), repr(scheduler2.state_dict())


@pytest.mark.parametrize("source", [
    "S.MultiStepLR(opt, [5, 10, 10])",
    "S.OneCycleLR(opt, 0.1, total_steps=30)",
    "S.CyclicLR(opt, 0.01, 0.1, step_size_up=4, mode='exp_range', gamma=0.9)",
    "S.SequentialLR(opt, [S.ConstantLR(opt, 0.5, total_iters=3), S.MultiStepLR(opt, [4, 8])], [6])",
])
def test_state_dict_saves_and_loads_like_torch(source, torch):
    assert _saved_and_loaded(gradstudio, source) == _saved_and_loaded(torch, source)


def _tensor_lr(lib, source):
    """lr given as a tensor: the schedulers fill it in place and hand back copies."""
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([p], lr=lib.tensor(0.1), momentum=0.9)
    lr = opt.param_groups[0]["lr"]
    scheduler = eval(source, {"S": lib.optim.lr_scheduler, "opt": opt})  # test-authored
    out = []
    for i in range(12):
        p.sum().backward()
        opt.step()
        scheduler.step(1.0) if "Plateau" in source else scheduler.step()
        last = scheduler.get_last_lr()
        out.append(f"{opt.param_groups[0]['lr']} {last} same={opt.param_groups[0]['lr'] is lr} "
                   f"alias={last[0] is lr}")
    return out + [repr(p), repr(scheduler.state_dict())]


@pytest.mark.parametrize("source", [
    "S.ExponentialLR(opt, 0.8)",
    "S.LinearLR(opt, 0.25, total_iters=6)",
    "S.CosineAnnealingLR(opt, 5)",
    "S.ReduceLROnPlateau(opt, patience=2)",
])
def test_tensor_lr_matches_torch(source, torch):
    assert _tensor_lr(gradstudio, source) == _tensor_lr(torch, source)
