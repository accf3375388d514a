"""What keeps the step trace cheap, and what must stay right while it is: a node with
one incoming edge starts with the Value that edge sent (one copy, written once by
to_data), while a hook that changes the gradient in place, or a fan-out's sum, gets
its own; recording never asks a node for an attribute it lacks (a failed lookup builds an
AttributeError, once the trace's top cost)."""
from __future__ import annotations

import numpy as np

import gradstudio as torch
from gradstudio.autograd import api
from gradstudio.autograd.events import Recorder
from gradstudio.autograd.node import Node


def traced(root):
    recorder = Recorder()
    api._backward(root, None, None, False, None, tracer=recorder)
    return recorder.trace


def start_and_edge_into(trace, name):
    node = next(i for i, n in enumerate(trace.nodes) if n.name == name)
    start = next(e for e in trace.events if e.kind == "node_start" and e.node == node)
    edges = [e for e in trace.events if e.kind == "edge" and e.next_node == node]
    return start, edges


def test_a_chain_shares_each_gradient_between_its_edge_and_the_next_start():
    x = torch.ones(3, requires_grad=True)
    trace = traced((x * 2).exp().sum())
    start, (edge,) = start_and_edge_into(trace, "MulBackward0")
    assert start.grad is edge.grad                          # one copy
    data = trace.to_data()
    starts = [e for e in data["events"] if e["kind"] == "node_start"]
    sent = [e for e in data["events"] if e["kind"] == "edge"]
    assert any(s["grad"] is e["grad"] for s in starts for e in sent)   # written once
    np.testing.assert_allclose(start.grad.values, np.exp(2 * np.ones(3)), rtol=1e-6)


def test_a_hook_that_changes_the_gradient_in_place_is_recorded_as_changed():
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    z = y.exp()

    def double(g):
        g.mul_(2)            # in place: the array the edge sent is changed
    y.register_hook(double)
    trace = traced(z.sum())
    start, (edge,) = start_and_edge_into(trace, "MulBackward0")
    assert start.grad is not edge.grad
    np.testing.assert_allclose(edge.grad.values, np.exp(2 * np.ones(3)), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.exp(2 * np.ones(3)), rtol=1e-6)


def test_a_fan_out_starts_with_its_own_sum():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    trace = traced((y * y).sum())
    start, edges = start_and_edge_into(trace, "MulBackward0")
    assert len(edges) == 1      # the inner product node gets one edge; its input x * 3 fans out
    mul3 = [i for i, n in enumerate(trace.nodes) if n.name == "MulBackward0"][-1]
    start3 = next(e for e in trace.events if e.kind == "node_start" and e.node == mul3)
    into3 = [e for e in trace.events if e.kind == "edge" and e.next_node == mul3]
    assert len(into3) == 2 and all(start3.grad is not e.grad for e in into3)
    np.testing.assert_allclose(start3.grad.values, 2 * 3 * np.array([1.0, 2.0]))


def test_recording_never_asks_a_node_for_an_attribute_it_lacks(monkeypatch):
    asked = []

    def spy(self, name):  # Python calls __getattr__ only for a lookup that failed
        asked.append(name)
        raise AttributeError(name)
    monkeypatch.setattr(Node, "__getattr__", spy, raising=False)
    x = torch.ones(3, requires_grad=True)
    traced((x * 2).sin().sum())
    assert asked == []


def _masked_summary(array):
    """A large gradient's summary as the trace wrote it before its finite fast path."""
    finite = np.isfinite(array)
    good = array[finite] if not finite.all() else array
    return {"min": float(good.min()) if good.size else None, "max": float(good.max()) if good.size else None,
            "mean": float(good.mean()) if good.size else None,
            "norm": float(np.linalg.norm(good.ravel())) if good.size else None,
            "nonfinite": int(array.size - good.size)}


def test_a_large_gradient_s_summary_is_the_masked_one_without_the_mask(monkeypatch):
    from gradstudio.autograd import events
    rng = np.random.default_rng(0)
    cases = [rng.standard_normal((10, 100)).astype(np.float32), rng.standard_normal(300),
             np.asfortranarray(rng.standard_normal((20, 30)).astype(np.float32)),
             rng.standard_normal((40, 40)).astype(np.float32)[:, ::2],
             np.full(100, 3e38, np.float32),                      # finite, but the sum overflows
             np.array([np.nan] * 70 + [1.0] * 30), np.array([np.inf] * 100), np.array([-np.inf, 2.0] * 50),
             rng.integers(0, 5, 100), np.ones(100, bool)]
    for array in cases:
        assert events.Value.of(array, 64).summary == _masked_summary(array), array.dtype
    masks = []
    original = np.isfinite
    monkeypatch.setattr(events.np, "isfinite", lambda a: masks.append(np.ndim(a)) or original(a))
    events.Value.of(cases[0], 64)
    assert max(masks) == 0               # a finite gradient: no element-wise mask is built
