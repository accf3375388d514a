"""torch.nn without torch: Module registration and walking, Parameter as a Tensor
subclass through the engine, containers, hooks, state_dict, conversion, modes,
init bounds and the printouts written out by hand from torch 2.13."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import gradstudio as torch
from gradstudio import nn
import gradstudio.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        self.register_buffer("steps", torch.zeros(1))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def test_registration_names_follow_torch():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "linear_relu_stack.0.weight", "linear_relu_stack.0.bias",
        "linear_relu_stack.2.weight", "linear_relu_stack.2.bias"]
    assert [n for n, _ in net.named_modules()] == [
        "", "flatten", "linear_relu_stack", "linear_relu_stack.0", "linear_relu_stack.1", "linear_relu_stack.2"]
    assert [n for n, _ in net.named_children()] == ["flatten", "linear_relu_stack"]
    assert list(net.state_dict()) == [
        "steps", "linear_relu_stack.0.weight", "linear_relu_stack.0.bias",
        "linear_relu_stack.2.weight", "linear_relu_stack.2.bias"]
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert all(type(v) is torch.Tensor and not v.requires_grad for v in net.state_dict().values())


def test_printout_is_torchs():
    assert repr(Net()) == (
        "Net(\n"
        "  (flatten): Flatten(start_dim=1, end_dim=-1)\n"
        "  (linear_relu_stack): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "    (1): ReLU()\n"
        "    (2): Linear(in_features=8, out_features=3, bias=True)\n"
        "  )\n"
        ")")
    assert repr(nn.ModuleList([nn.Linear(1, 1)] * 3)) == (
        "ModuleList(\n  (0-2): 3 x Linear(in_features=1, out_features=1, bias=True)\n)")
    class Polynomial3(nn.Module):
        pass
    assert repr(Polynomial3()) == "Polynomial3()"
    assert repr(nn.Parameter(torch.tensor([1.0, 2.0]))) == \
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


def test_parameter_is_a_tensor_the_engine_accepts():
    p = nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    q = nn.Parameter(torch.tensor([0.5, 0.5, 0.5]))
    assert isinstance(p, torch.Tensor) and p.requires_grad and p.is_leaf
    loss = (p * q + p.relu() + (p @ q) * p.exp()).sum()
    loss.backward()
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = torch.tensor([0.5, 0.5, 0.5], requires_grad=True)
    (x * y + x.relu() + (x @ y) * x.exp()).sum().backward()
    assert p.grad.tolist() == x.grad.tolist() and q.grad.tolist() == y.grad.tolist()
    with torch.no_grad():
        p -= 0.1 * p.grad          # the in-place fast path sees a Parameter operand too
        p.add_(q)
    assert type(p * 2) is torch.Tensor
    assert not nn.Parameter(torch.ones(2), requires_grad=False).requires_grad


def test_forward_backward_and_zero_grad():
    net = Net()
    out = net(torch.ones(2, 2, 2))
    assert out.shape == torch.Size([2, 3]) and out.grad_fn.name() == "AddmmBackward0"
    nn.CrossEntropyLoss()(out, torch.tensor([0, 2])).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_sequential_indexing_slicing_append_and_delete():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and len(seq[1:]) == 2
    assert [k for k, _ in seq[1:].named_children()] == ["1", "2"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"]
    assert [k for k, _ in seq.named_children()] == ["0", "1", "2"]
    with pytest.raises(IndexError):
        seq[5]


def test_module_dict_and_parameter_list():
    d = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.Tanh()})
    assert list(d.keys()) == ["a", "b"] and "a" in d and len(d) == 2
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]
    pl = nn.ParameterList([torch.ones(2, 3), nn.Parameter(torch.zeros(1))])
    assert all(isinstance(p, nn.Parameter) for p in pl)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    assert repr(pl) == ("ParameterList(\n    (0): Parameter containing: [torch.float32 of size 2x3]\n"
                        "    (1): Parameter containing: [torch.float32 of size 1]\n)")


def test_assigning_the_wrong_thing_raises_torchs_errors():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'weight'"):
        lin.weight = torch.ones(2, 2)
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.ones(1))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        Early()
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        lin.nope


def test_state_dict_round_trip_and_errors():
    a, b = Net(), Net()
    assert repr(b.load_state_dict(a.state_dict())) == "<All keys matched successfully>"
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert p.tolist() == q.tolist()
    with pytest.raises(RuntimeError, match=r'Error\(s\) in loading state_dict for Net:\n\tMissing key'):
        b.load_state_dict({})
    result = b.load_state_dict({"extra": torch.ones(1)}, strict=False)
    assert result.unexpected_keys == ["extra"] and len(result.missing_keys) == 5
    sd = a.state_dict()
    sd["linear_relu_stack.0.bias"] = torch.ones(3)
    with pytest.raises(RuntimeError, match="size mismatch for linear_relu_stack.0.bias"):
        b.load_state_dict(sd)


def test_modes_conversion_apply_and_requires_grad():
    net = Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    w = net.linear_relu_stack[0].weight
    net.double()
    assert w.dtype == torch.float64 and net.linear_relu_stack[0].weight is w  # converted in place
    assert net.steps.dtype == torch.float64
    net.to(torch.float32)
    assert w.dtype == torch.float32
    assert net.cpu() is net and net.to("cpu") is net
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Flatten", "Linear", "ReLU", "Linear", "Sequential", "Net"]
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    clone = copy.deepcopy(net)
    assert clone.linear_relu_stack[0].weight is not w
    assert clone.linear_relu_stack[0].weight.tolist() == w.tolist()


def test_hooks_run_in_torchs_order_and_handles_remove_them():
    lin = nn.Linear(2, 1)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    lin.register_forward_hook(lambda m, args, out: calls.append("post"))
    lin.register_full_backward_hook(lambda m, gin, gout: calls.append(("backward", len(gin), len(gout))))
    x = torch.ones(3, 2, requires_grad=True)
    out = lin(x)
    assert out.grad_fn.name() == "BackwardHookFunctionBackward"
    out.sum().backward()
    assert calls == ["pre", "post", ("backward", 1, 1)]
    assert x.grad.tolist() == [lin.weight[0].tolist()] * 3
    h1.remove()
    calls.clear()
    lin(x)
    assert calls == ["post"]


def test_dropout_trains_and_evaluates():
    torch.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = torch.ones(1000)
    y = drop(x)
    kept = y[y != 0]
    assert 400 < kept.numel() < 600 and set(kept.tolist()) == {2.0}
    assert y.grad_fn is None
    assert drop.eval()(x) is x
    xr = torch.ones(10, requires_grad=True)
    assert nn.Dropout(0.3)(xr).grad_fn.name() == "MulBackward0"


def test_layer_norm_and_batch_norm_normalise():
    x = torch.tensor(np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32))
    y = nn.LayerNorm(4)(x).detach().numpy()
    np.testing.assert_allclose(y.mean(1), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(1), 1, rtol=1e-3)
    bn = nn.BatchNorm1d(4)
    z = bn(x).detach().numpy()
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * x.numpy().mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.numpy().var(0, ddof=1), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    np.testing.assert_allclose(bn(x).detach().numpy(),
                               (x.numpy() - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5),
                               rtol=1e-5)


def test_embedding_looks_up_rows_and_accumulates_their_gradient():
    emb = nn.Embedding(5, 3, padding_idx=0)
    assert emb.weight[0].tolist() == [0.0, 0.0, 0.0]
    out = emb(torch.tensor([1, 1, 4]))
    out.sum().backward()
    assert emb.weight.grad[1].tolist() == [2.0] * 3 and emb.weight.grad[2].tolist() == [0.0] * 3
    assert repr(emb) == "Embedding(5, 3, padding_idx=0)"


def test_linear_default_init_bounds_are_torchs():
    lin = nn.Linear(50, 20)
    bound = 1 / math.sqrt(50)   # kaiming_uniform_(a=√5) on fan_in 50, and the bias bound
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert nn.init.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(2 / 6)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(torch.empty(3))
    assert nn.init.constant_(torch.empty(2), 0.25).tolist() == [0.25, 0.25]


def test_functional_additions():
    assert F.one_hot(torch.tensor([0, 2])).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.pad(torch.ones(1, 2), (1, 2)).tolist() == [[0.0, 1.0, 1.0, 0.0, 0.0]]
    assert F.pad(torch.ones(2, 2), (0, 0, 1, 0), value=5.0).tolist() == [[5.0, 5.0], [1.0, 1.0], [1.0, 1.0]]
    n = F.normalize(torch.tensor([[3.0, 4.0]]))
    assert n.tolist() == [[0.6000000238418579, 0.800000011920929]]
    loss = F.l1_loss(torch.tensor([1.0, -1.0], requires_grad=True), torch.zeros(2))
    assert loss.grad_fn.name() == "MeanBackward0" and loss.item() == 1.0


def test_cross_entropy_label_smoothing_and_probability_targets():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    target = torch.tensor([0, 2])
    plain = F.cross_entropy(logits, target).item()
    smooth = F.cross_entropy(logits, target, label_smoothing=0.3).item()
    log_p = np.log(np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True))
    expected = 0.7 * plain + 0.3 / 3 * (-log_p.sum(1)).mean()
    assert math.isclose(smooth, expected, rel_tol=1e-6)
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert math.isclose(F.cross_entropy(logits, probs).item(), plain, rel_tol=1e-6)
    ignored = F.cross_entropy(logits, torch.tensor([0, -100]), label_smoothing=0.3).item()
    assert math.isclose(ignored, 0.7 * -log_p[0, 0] + 0.1 * -log_p[0].sum(), rel_tol=1e-6)


def test_clip_grad_norm_scales_all_gradients_together():
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(1))
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    total = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert total.item() == 5.0
    assert math.isclose(a.grad[0].item(), 0.6, rel_tol=1e-5) and math.isclose(b.grad[0].item(), 0.8, rel_tol=1e-5)
