"""BatchNorm2d/3d, GroupNorm, InstanceNorm1d/2d/3d, the channel and alpha dropouts
and LazyLinear against PyTorch: forward values, gradients of the input and of
parameters copied from torch's module, grad_fn chains, running statistics over
a few training steps and then eval-mode outputs, printouts, errors and warnings.
Dropout masks are GradStudio's own draws: their structure is tested (whole
channels zero, the rest scaled by 1/(1 − p), eval the identity), not torch's
numbers."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import gradstudio

from test_nn_torch import _build, _copy_parameters

pytestmark = pytest.mark.oracle


def _assert_same_module_step(tm, gm, values, torch):
    """One forward and backward through both modules: outputs, input and parameter
    gradients, buffers (running statistics, num_batches_tracked), grad_fn name."""
    tx = [torch.tensor(v, requires_grad=True) for v in values]
    gx = [gradstudio.tensor(v, requires_grad=True) for v in values]
    ty, gy = tm(*tx), gm(*gx)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert (gy.grad_fn.name() if gy.grad_fn else None) == (ty.grad_fn.name() if ty.grad_fn else None)
    weights = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(np.float32)
    (ty * torch.tensor(weights)).sum().backward()
    (gy * gradstudio.tensor(weights)).sum().backward()
    for a, b in zip(gx, tx):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (name, p), (_, q) in zip(gm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    assert [n for n, _ in gm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    for (name, b), (_, c) in zip(gm.named_buffers(), tm.named_buffers()):
        assert b.dtype.__repr__() == repr(c.dtype), name
        np.testing.assert_allclose(b.numpy(), c.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


NORMS = [
    ("nn.BatchNorm2d(3)", (4, 3, 2, 2)),
    ("nn.BatchNorm2d(3, affine=False)", (4, 3, 2, 2)),
    ("nn.BatchNorm2d(3, momentum=None)", (2, 3, 3, 2)),
    ("nn.BatchNorm2d(3, bias=False)", (2, 3, 3, 2)),
    ("nn.BatchNorm2d(3, track_running_stats=False)", (2, 3, 3, 2)),
    ("nn.BatchNorm2d(3).eval()", (2, 3, 3, 2)),
    ("nn.BatchNorm3d(2)", (3, 2, 2, 3, 2)),
    ("nn.BatchNorm3d(2, momentum=None, eps=1e-3)", (3, 2, 2, 3, 2)),
    ("nn.BatchNorm3d(2).eval()", (3, 2, 2, 3, 2)),
    ("nn.GroupNorm(2, 4)", (3, 4, 5)),
    ("nn.GroupNorm(2, 4, affine=False)", (3, 4, 2, 2)),
    ("nn.GroupNorm(2, 4, bias=False)", (3, 4, 2, 2)),
    ("nn.GroupNorm(1, 3)", (2, 3)),
    ("nn.GroupNorm(4, 4, eps=1e-3)", (2, 4, 3)),
    ("nn.GroupNorm(3, 6)", (2, 6, 2, 2, 2)),
    ("nn.InstanceNorm1d(3)", (2, 3, 5)),
    ("nn.InstanceNorm1d(3)", (3, 5)),
    ("nn.InstanceNorm1d(3, affine=True)", (2, 3, 5)),
    ("nn.InstanceNorm1d(3, affine=True, track_running_stats=True)", (2, 3, 5)),
    ("nn.InstanceNorm2d(3, affine=True)", (2, 3, 4, 4)),
    ("nn.InstanceNorm2d(3, affine=True, bias=False)", (2, 3, 4, 4)),
    ("nn.InstanceNorm2d(3, track_running_stats=True)", (2, 3, 3, 2)),
    ("nn.InstanceNorm2d(3, track_running_stats=True, momentum=None)", (2, 3, 3, 2)),
    ("nn.InstanceNorm2d(3, affine=True, track_running_stats=True).eval()", (2, 3, 3, 2)),
    ("nn.InstanceNorm2d(3, affine=True)", (3, 4, 4)),
    ("nn.InstanceNorm3d(2, affine=True)", (2, 2, 3, 2, 2)),
]


@pytest.mark.parametrize("text,shape", NORMS, ids=[f"{t}-{len(s)}d" for t, s in NORMS])
def test_norm_module_matches_torch(text, shape, torch):
    rng = np.random.default_rng(abs(hash(text + str(shape))) % 2 ** 32)
    tm, gm = _build(text, torch), _build(text, gradstudio)
    assert repr(gm) == repr(tm)
    if tm.weight is not None:  # not the default ones and zeros, so the affine map is tested
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            if tm.bias is not None:
                tm.bias.uniform_(-0.5, 0.5)
    if getattr(tm, "running_mean", None) is not None:
        tm.running_mean.uniform_(-0.5, 0.5)
        tm.running_var.uniform_(0.5, 1.5)
    _copy_parameters(tm, gm)
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    _assert_same_module_step(tm, gm, [rng.standard_normal(shape).astype(np.float32) * 2 + 0.5], torch)


@pytest.mark.parametrize("text,shape", [
    ("nn.BatchNorm2d(3)", (4, 3, 2, 2)), ("nn.BatchNorm2d(3, momentum=None)", (4, 3, 2, 2)),
    ("nn.BatchNorm3d(2, momentum=0.3)", (3, 2, 2, 2, 2)), ("nn.BatchNorm3d(2, momentum=None)", (3, 2, 2, 2, 2)),
    ("nn.BatchNorm1d(3, momentum=None)", (5, 3, 2)),
    ("nn.InstanceNorm1d(3, affine=True, track_running_stats=True)", (2, 3, 5)),
    ("nn.InstanceNorm2d(3, track_running_stats=True, momentum=0.5)", (2, 3, 3, 3)),
    ("nn.InstanceNorm2d(3, track_running_stats=True, momentum=None)", (2, 3, 3, 3)),
])
def test_running_statistics_after_training_steps_and_eval_outputs_match_torch(text, shape, torch):
    """Four training steps on different batches (cumulative average for momentum=None,
    num_batches_tracked counting), then eval mode uses the running statistics."""
    rng = np.random.default_rng(7)
    tm, gm = _build(text, torch), _build(text, gradstudio)
    _copy_parameters(tm, gm)
    for step in range(4):
        _assert_same_module_step(tm, gm, [(rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)],
                                 torch)
    if tm.num_batches_tracked is not None:
        assert int(gm.num_batches_tracked) == int(tm.num_batches_tracked)
        assert repr(gm.num_batches_tracked) == repr(tm.num_batches_tracked)
    tm.eval(), gm.eval()
    assert not np.allclose(tm.running_mean.numpy(), 0) or "momentum=None" in text and "Instance" in text
    _assert_same_module_step(tm, gm, [rng.standard_normal(shape).astype(np.float32)], torch)
    before = gm.running_mean.numpy().copy()
    gm(gradstudio.tensor(rng.standard_normal(shape).astype(np.float32)))
    np.testing.assert_array_equal(gm.running_mean.numpy(), before)   # eval leaves them alone
    gm.reset_running_stats(), tm.reset_running_stats()
    for (name, b), (_, c) in zip(gm.named_buffers(), tm.named_buffers()):
        np.testing.assert_array_equal(b.numpy(), c.numpy(), err_msg=name)


# GradStudio's batch-norm node lists the running statistics among its inputs (None: no
# gradient); torch's lists only input, weight and bias. The same for every row with
# inputs torch does not differentiate (embedding's indices): the engine's, not this file's.
TORCH_SLOTS = {"NativeBatchNormBackward0": 3}


def _chain(fn) -> list:
    """grad_fn names breadth-first, each node with its inputs' names (as many as torch lists)."""
    out, todo, seen = [], [fn], set()
    while todo:
        node = todo.pop(0)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nexts = [n for n, _ in node.next_functions][:TORCH_SLOTS.get(node.name())]
        out.append((node.name(), [None if n is None else n.name() for n in nexts]))
        todo += [n for n in nexts if n is not None and n.name() != "torch::autograd::AccumulateGrad"]
    return out


@pytest.mark.parametrize("call", [
    "F.instance_norm(x)", "F.instance_norm(x, weight=w[:4], bias=b[:4])",
    "F.instance_norm(x, rm[:4], rv[:4], w[:4], b[:4], use_input_stats=False)",
    "F.instance_norm(x, rm[:4], rv[:4], w[:4], b[:4])",
    "F.group_norm(x, 2, w[:2].repeat(2), b[:2].repeat(2))", "F.group_norm(x, 4)",
    "F.batch_norm(x, rm[:4], rv[:4], w[:4], b[:4], training=True)",
    "F.batch_norm(x, rm[:4], rv[:4], w[:4], b[:4])",
    "nn.InstanceNorm1d(4)(x[0])", "nn.InstanceNorm2d(4)(x)",
    "F.dropout1d(x[0], 0.4)", "F.dropout2d(x, 0.4)", "F.dropout3d(x, 0.4)", "F.dropout1d(x[0], 1.0)",
    "F.alpha_dropout(x, 0.4, True)", "F.feature_alpha_dropout(x, 0.4, True)", "F.alpha_dropout(x, 1.0, True)",
])
def test_grad_fn_chains_match_torch(call, torch):
    """The nodes torch records, input by input (instance norm: views around one batch
    norm of N·C channels, the weight repeated; unbatched dropout: unsqueeze and squeeze)."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 4, 3, 3)).astype(np.float32), rng.random(8), rng.random(8)
    chains, grads = [], []
    for lib in (torch, gradstudio):
        env = {"F": lib.nn.functional, "nn": lib.nn, "x": lib.tensor(x, requires_grad=True),
               "w": lib.tensor(w, dtype=lib.float32, requires_grad=True),
               "b": lib.tensor(b, dtype=lib.float32, requires_grad=True),
               "rm": lib.zeros(8) + 0.1, "rv": lib.ones(8) * 1.5}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = eval(call, env)  # test-authored text
        chains.append(_chain(out.grad_fn))
        if "dropout" not in call:
            # weighted by x itself: a plain sum has zero gradient through a normalisation
            (out * lib.tensor(x if out.dim() == 4 else x[0])).sum().backward()
            grads.append([None if env[k].grad is None else env[k].grad.numpy() for k in "xwb"])
    assert chains[1] == chains[0]
    for g, t in zip(*grads[::-1]):
        assert (g is None) == (t is None)
        if g is not None:
            np.testing.assert_allclose(g, t, rtol=1e-4, atol=1e-5)


def _outcome(fn):
    """What a call does: its value's repr or its error, and the warnings it gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("ok", fn())
        except Exception as error:  # noqa: BLE001 - the oracle decides which
            result = (type(error).__name__, str(error))
    return result, [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize("call", [
    "nn.BatchNorm2d(3)(torch.ones(2, 3, 4))", "nn.BatchNorm3d(3)(torch.ones(2, 3, 4, 4))",
    "nn.BatchNorm1d(3)(torch.ones(2, 3, 4, 4))", "nn.BatchNorm2d(3)(torch.ones(1, 3, 1, 1))",
    "nn.GroupNorm(3, 4)", "F.group_norm(torch.ones(2, 4, 3), 3)", "F.group_norm(torch.ones(4), 2)",
    "F.group_norm(torch.ones(1, 2), 2)",
    "nn.InstanceNorm1d(3)(torch.ones(2, 3, 4, 4))", "nn.InstanceNorm2d(3)(torch.ones(3, 4))",
    "nn.InstanceNorm1d(4, affine=True)(torch.ones(2, 3, 5))",
    "nn.InstanceNorm1d(3)(torch.ones(2, 3, 1))",
    "F.instance_norm(torch.ones(2, 3, 4), use_input_stats=False)",
    "nn.Dropout2d(1.5)", "nn.AlphaDropout(-0.1)", "F.dropout3d(torch.ones(2, 2, 2, 2), 2.0)",
    "F.dropout1d(torch.ones(2, 3, 4, 5))", "F.dropout1d(torch.ones(3))",
    "F.feature_alpha_dropout(torch.ones(3), 0.5, True)",
])
def test_errors_match_torch(call, torch):
    outcomes = [_outcome(lambda: eval(call, {"nn": lib.nn, "F": lib.nn.functional, "torch": lib}))
                for lib in (torch, gradstudio)]
    (tr, tw), (gr, gw) = outcomes
    assert tr[0] != "ok"
    assert (gr[0], gr[1]) == (tr[0], tr[1])
    assert gw == tw


@pytest.mark.parametrize("call", [
    "nn.InstanceNorm1d(4)(torch.ones(2, 3, 5))",                    # affine=False: only a warning
    "nn.Dropout2d(0.5)(torch.ones(2, 3, 4))", "nn.Dropout2d(0.5)(torch.ones(2, 3))",
    "nn.Dropout2d(0.5)(torch.ones(2, 3, 1, 1, 2))", "nn.Dropout3d(0.5)(torch.ones(2, 3, 4))",
    "nn.Dropout3d(0.5).eval()(torch.ones(2, 3, 4))", "F.dropout2d(torch.ones(2, 3, 4), training=False)",
    "nn.Dropout2d(0.5)(torch.ones(2, 3, 4, 4))",                    # no warning
])
def test_warnings_match_torch(call, torch):
    outcomes = []
    for lib in (torch, gradstudio):
        (kind, value), caught = _outcome(lambda: eval(call, {"nn": lib.nn, "F": lib.nn.functional, "torch": lib}))
        outcomes.append((kind, tuple(value.shape), caught))
    assert outcomes[1] == outcomes[0]


DROPOUTS = ["Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Dropout"]


@pytest.mark.parametrize("name", DROPOUTS)
@pytest.mark.parametrize("args", ["", "0.3", "p=0.2, inplace=True"])
def test_dropout_printouts_match_torch(name, args, torch):
    assert repr(eval(f"nn.{name}({args})", {"nn": gradstudio.nn})) == repr(eval(f"nn.{name}({args})",
                                                                                  {"nn": torch.nn}))


# (layer, input shape, the axes one draw covers: everything after these is one channel)
CHANNEL_DROPOUTS = [
    ("Dropout1d", (40, 30, 3), 2), ("Dropout1d", (60, 5), 1),
    ("Dropout2d", (40, 30, 2, 3), 2), ("Dropout2d", (40, 30, 3), 2),
    ("Dropout3d", (20, 30, 2, 2, 2), 2), ("Dropout3d", (60, 2, 3, 2), 1),
]


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input")   # asserted in test_warnings_match_torch
@pytest.mark.parametrize("name,shape,lead", CHANNEL_DROPOUTS, ids=[f"{n}-{len(s)}d" for n, s, _ in CHANNEL_DROPOUTS])
@pytest.mark.parametrize("p", [0.25, 0.6])
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(name, shape, lead, p, torch):
    gradstudio.manual_seed(0)  # (the drop rate is checked below: not on whatever state earlier tests left)
    x = (gradstudio.rand(*shape) + 0.5).requires_grad_()    # no zeros of its own
    layer = getattr(gradstudio.nn, name)(p)
    y = layer(x)
    ratio = (y.detach().numpy() / x.detach().numpy()).reshape(shape[:lead] + (-1,))
    per_channel = ratio[..., :1]
    assert np.allclose(ratio, per_channel, rtol=1e-6), "a channel is dropped whole or kept whole"
    values = np.unique(np.round(per_channel, 5))
    assert len(values) == 2 and values[0] == 0 and np.isclose(values[1], 1 / (1 - p), rtol=1e-4)
    dropped = (per_channel == 0).mean()
    assert abs(dropped - p) < 4 * np.sqrt(p * (1 - p) / per_channel.size), dropped  # four sigmas
    y.backward(gradstudio.ones_like(y))
    np.testing.assert_allclose(x.grad.numpy(), ratio.reshape(shape), rtol=1e-6)
    tx = torch.rand(*shape, requires_grad=True)
    assert y.grad_fn.name() == getattr(torch.nn, name)(p)(tx).grad_fn.name()
    # eval mode (and p = 0) gives the input back; an unbatched one through torch's
    # unsqueeze and squeeze, so a new tensor with the same values
    for gl, tl in [(layer.eval(), getattr(torch.nn, name)(p).eval()),
                   (getattr(gradstudio.nn, name)(0.0), getattr(torch.nn, name)(0.0))]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gy, ty = gl(x), tl(tx)
        assert (gy is x) == (ty is tx)
        assert (gy.grad_fn and gy.grad_fn.name()) == (ty.grad_fn and ty.grad_fn.name())
        np.testing.assert_array_equal(gy.detach().numpy(), x.detach().numpy())


@pytest.mark.parametrize("function", ["dropout1d", "dropout2d", "dropout3d", "dropout"])
def test_dropout_draws_from_gradstudios_generator(function):
    x = gradstudio.ones(8, 6, 4, 2) if function != "dropout1d" else gradstudio.ones(8, 6, 4)
    draw = lambda: getattr(gradstudio.nn.functional, function)(x, 0.5).numpy()  # noqa: E731
    gradstudio.manual_seed(11)
    first = draw()
    gradstudio.manual_seed(11)
    assert np.array_equal(draw(), first)
    assert not np.array_equal(draw(), first)


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input")
def test_channel_dropout_p1_zeroes_everything_and_inplace_writes_the_input(torch):
    for lib in (torch, gradstudio):
        x = lib.ones(2, 3, 4, requires_grad=True)
        y = lib.nn.functional.dropout1d(x, 1.0)
        assert y.grad_fn.name() == "MulBackward0" and not y.detach().numpy().any()
    x = gradstudio.ones(30, 20, 4)
    version = x._version
    y = gradstudio.nn.functional.dropout2d(x, 0.5, inplace=True)
    assert y is x and x._version > version
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    u = gradstudio.ones(20, 4)
    assert gradstudio.nn.functional.dropout1d(u, 0.5, inplace=True) is u and u.shape == (20, 4)


ALPHA = 1.7580993408473766   # SELU's α·λ


@pytest.mark.parametrize("name,shape,feature", [("AlphaDropout", (50, 40), False),
                                                ("FeatureAlphaDropout", (40, 30, 2, 3), True)])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_values(name, shape, feature, p, torch):
    """Kept: a·x + α·a·p; dropped: −α·a·(1 − p), a = 1/√((α²p + 1)(1 − p)); the dropped
    value is torch's (read from torch's own output)."""
    a = 1 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    x = gradstudio.randn(*shape, requires_grad=True)
    y = getattr(gradstudio.nn, name)(p)(x)
    assert y.grad_fn.name() == "AddBackward0" and y.grad_fn.next_functions[0][0].name() == "MulBackward0"
    kept = np.isclose(y.detach().numpy(), a * x.detach().numpy() + ALPHA * a * p, atol=1e-6)
    t_out = getattr(torch.nn, name)(p)(torch.randn(*shape)).numpy()
    dropped_value = -ALPHA * a * (1 - p)
    assert abs(np.isclose(t_out, dropped_value, atol=1e-6).mean() - p) < 0.1   # torch's dropped value
    np.testing.assert_allclose(y.detach().numpy()[~kept], dropped_value, rtol=1e-6)
    assert abs((~kept).mean() - p) < 0.1
    if feature:
        k = kept.reshape(shape[:2] + (-1,))
        assert (k == k[..., :1]).all()
    y.backward(gradstudio.ones_like(y))
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0.0), rtol=1e-6)
    layer = getattr(gradstudio.nn, name)(p).eval()
    assert layer(x) is x
    assert gradstudio.nn.functional.alpha_dropout(x, p) is x     # training=False by default, as torch


# -- LazyLinear ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text,shape", [("nn.LazyLinear(3)", (5, 4)), ("nn.LazyLinear(2, bias=False)", (2, 3, 6)),
                                        ("nn.LazyLinear(1)", (7, 4))])
def test_lazy_linear_becomes_linear_as_torch(text, shape, torch):
    tm, gm = _build(text, torch), _build(text, gradstudio)
    assert repr(gm) == repr(tm)
    assert type(gm).__name__ == type(tm).__name__ == "LazyLinear"
    assert isinstance(gm, gradstudio.nn.Linear) and gm.has_uninitialized_params()
    assert repr(gm.weight) == repr(tm.weight) == "<UninitializedParameter>"
    assert type(gm.weight).__name__ == "UninitializedParameter" and type(gm.weight).__module__ == "torch.nn.parameter"
    assert isinstance(gm.weight, gradstudio.nn.Parameter)
    assert gm.weight.requires_grad and gm.weight.dtype == gradstudio.float32
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert {k: repr(v) for k, v in gm.state_dict().items()} == {k: repr(v) for k, v in tm.state_dict().items()}
    assert repr(copy.deepcopy(gm)) == repr(copy.deepcopy(tm))
    for read in ("shape", "numel()", "dim()"):
        outcomes = [_outcome(lambda: eval(f"m.weight.{read}", {"m": m})) for m in (tm, gm)]
        assert outcomes[1] == outcomes[0] and outcomes[0][0][0] != "ok"
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    ty, gy = tm(torch.tensor(x)), gm(gradstudio.tensor(x))
    assert type(gm).__name__ == type(tm).__name__ == "Linear"
    assert repr(gm) == repr(tm)
    assert not gm._forward_pre_hooks
    assert type(gm.weight) is gradstudio.nn.Parameter and gm.weight.shape == tm.weight.shape
    assert gy.grad_fn.name() == ty.grad_fn.name()
    bound = 1 / np.sqrt(shape[-1])                       # Linear's own initialisation
    assert 0 < np.abs(gm.weight.detach().numpy()).max() <= bound
    _copy_parameters(tm, gm)
    _assert_same_module_step(tm, gm, [x], torch)


def test_lazy_layers_in_a_sequential_print_and_train_as_torch(torch):
    """An optimizer built before the first call steps the materialised parameters."""
    outs = []
    for lib in (torch, gradstudio):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.LazyLinear(4), lib.nn.ReLU(), lib.nn.LazyLinear(2))
        printed = [repr(net)]
        opt = lib.optim.Adam(net.parameters(), lr=0.1)
        x = lib.ones(3, 5)
        net(x)
        printed.append(repr(net))
        with lib.no_grad():
            for i, p in enumerate(net.parameters()):
                p.copy_(lib.arange(p.numel(), dtype=lib.float32).reshape(p.shape) / 10 - i / 5)
        for _ in range(3):
            opt.zero_grad()
            (net(x) ** 2).sum().backward()
            opt.step()
        outs.append((printed, [p.detach().numpy() for p in net.parameters()]))
    (tp, tv), (gp, gv) = outs
    assert gp == tp
    for g, t in zip(gv, tv):
        np.testing.assert_allclose(g, t, rtol=1e-5, atol=1e-6)


def test_norm_and_dropout_names_are_torchs(torch):
    names = ["BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
             "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "LazyLinear",
             "UninitializedParameter"]
    for name in names:
        assert hasattr(gradstudio.nn, name) and hasattr(torch.nn, name)
    for name in ["group_norm", "instance_norm", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                 "feature_alpha_dropout"]:
        assert callable(getattr(gradstudio.nn.functional, name)) and hasattr(torch.nn.functional, name)
    assert gradstudio.nn.modules.lazy.LazyModuleMixin.__name__ == torch.nn.modules.lazy.LazyModuleMixin.__name__
