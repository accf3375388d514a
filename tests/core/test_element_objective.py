"""Finite differences of one element run that element alone through the elementwise
ops (gradstudio.studio.element_objective): the same numbers as whole arrays, for
broadcasting, masks, reductions, matmuls and ops downstream of them."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.studio import compare, element_objective as eo
from gradstudio.studio.session import Session

SCRIPTS = {
    "chain with fan-in and a broadcast row": (
        "import torch\nx = torch.linspace(-1, 1, 12).reshape(3, 4).requires_grad_()\n"
        "b = torch.tensor([0.5, -1.0, 2.0, 0.25])\n"
        "y = (x * 0.9).tanh() + b\nz = y.sigmoid() * y + x\n"
        "w = torch.where(z > 0.5, z, z * z)\nw.clamp(-0.3, 2.0).mean().backward()\n"),
    "a matmul and a softmax after elementwise ops": (
        "import torch\nW = torch.tensor([[0.3, -0.2, 0.5], [1.0, 0.4, -0.7]], requires_grad=True)\n"
        "x = torch.tensor([1.0, -2.0, 0.5])\nh = (W.exp() - 1.0) @ x\n"
        "p = h.softmax(0)\n(p * torch.tensor([1.0, 3.0])).sum().backward()\n"),
    "a leaf used twice, once broadcast (a scalar leaf)": (
        "import torch\na = torch.tensor(0.7, requires_grad=True)\nv = torch.tensor([1.0, 2.0, 3.0])\n"
        "s = (a * v).sin() + a\ns.pow(2).sum().backward()\n"),
}


def graph_of(source):
    session = Session()
    run = session.run_cell(source)
    assert run.ok, run.error
    call = session.backward_calls[-1]
    return call


@pytest.mark.parametrize("name", SCRIPTS)
def test_one_element_gives_the_whole_arrays_value(name):
    call = graph_of(SCRIPTS[name])
    f, at = eo.element_objective(call.graph, call.gradient)
    for leaf in call.leaves:
        x = np.asarray(call.graph[leaf.vertex].value, dtype=np.float64)
        for index in range(x.size):
            for step in (1e-3, -0.25):
                changed = x.copy()
                changed.reshape(-1)[index] += step
                assert at(leaf.vertex, index, changed.reshape(-1)[index]) == pytest.approx(
                    f({leaf.vertex: changed}), rel=1e-13, abs=1e-15)


def ops_seen(monkeypatch) -> list:
    """The (op kind, largest argument size) of every op the numpy backend runs from now on."""
    seen = []
    original = eo.NumpyBackend.op
    monkeypatch.setattr(eo.NumpyBackend, "op", lambda self, node, args: seen.append(
        (node.op.kind, max([np.size(a) for a in args]))) or original(self, node, args))
    return seen


def test_elementwise_ops_run_on_the_changed_element_only(monkeypatch):
    call = graph_of(SCRIPTS["chain with fan-in and a broadcast row"])
    f, at = eo.element_objective(call.graph, call.gradient)
    sizes = ops_seen(monkeypatch)
    (leaf,) = call.leaves
    at(leaf.vertex, 5, 0.1)
    assert {size for kind, size in sizes if kind == "elementwise"} == {1}
    assert ("reduction", 12) in sizes            # the mean gets the whole (3, 4) array


def test_finite_differences_are_unchanged():
    call = graph_of(SCRIPTS["chain with fan-in and a broadcast row"])
    (leaf,) = call.leaves
    f = call.graph.objective(call.gradient)
    x = np.asarray(call.graph[leaf.vertex].value, dtype=np.float64)
    expected = []
    for i in range(x.size):
        h = 1e-6 * max(1.0, abs(x.reshape(-1)[i]))
        plus, minus = x.copy(), x.copy()
        plus.reshape(-1)[i] += h
        minus.reshape(-1)[i] -= h
        expected.append((f({leaf.vertex: plus}) - f({leaf.vertex: minus})) / (2 * h))
    fd, sampled, _ = compare.finite_differences(call.graph, leaf.vertex, call.gradient)
    assert sampled.all()
    np.testing.assert_allclose(fd.reshape(-1), expected, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fd, leaf.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", SCRIPTS)
def test_many_changes_at_once_give_each_change_alone(name):
    call = graph_of(SCRIPTS[name])
    f, at = eo.element_objective(call.graph, call.gradient)
    for leaf in call.leaves:
        x = np.asarray(call.graph[leaf.vertex].value, dtype=np.float64)
        indices = [i for i in range(x.size) for _ in range(2)]
        values = [x.reshape(-1)[i] + step for i in range(x.size) for step in (1e-3, -0.25)]
        expected = []
        for i, value in zip(indices, values):
            changed = x.copy()
            changed.reshape(-1)[i] = value
            expected.append(f({leaf.vertex: changed}))
        np.testing.assert_allclose(at.many(leaf.vertex, indices, values), expected, rtol=1e-13, atol=1e-15)


def test_many_changes_share_one_call_per_elementwise_op(monkeypatch):
    call = graph_of(SCRIPTS["chain with fan-in and a broadcast row"])
    f, at = eo.element_objective(call.graph, call.gradient)
    calls = ops_seen(monkeypatch)
    (leaf,) = call.leaves
    at.many(leaf.vertex, [0, 0, 5, 5, 11, 11], [0.1, -0.1, 0.2, -0.2, 0.3, -0.3])
    elementwise = [size for kind, size in calls if kind == "elementwise"]
    ops = sum(1 for v in call.graph.nodes if v.kind == "op" and v.op.kind == "elementwise")
    assert elementwise == [6] * ops               # each elementwise op once, on the six changed elements
    assert [c for c in calls if c[0] == "reduction"] == [("reduction", 12)] * 6   # the mean once per change


def test_a_plan_that_disagrees_with_whole_arrays_is_not_believed(monkeypatch):
    """The first sampled element's f(x + h·e_i) is also made on whole arrays: a one-element
    path that got it wrong sends every element to whole arrays, whose numbers are right."""
    from gradstudio.studio import element_objective as module
    call = graph_of(SCRIPTS["chain with fan-in and a broadcast row"])
    (leaf,) = call.leaves
    right, _, _ = compare.finite_differences(call.graph, leaf.vertex, call.gradient)
    original = module.element_objective

    def broken(graph, gradient=None):
        f, g = original(graph, gradient)
        many = g.many
        g.many = lambda vertex, indices, values: many(vertex, indices, values) * 1.001   # 0.1 % off
        return f, g
    monkeypatch.setattr(module, "element_objective", broken)
    fd, sampled, _ = compare.finite_differences(call.graph, leaf.vertex, call.gradient)
    assert sampled.all()
    np.testing.assert_allclose(fd, right, rtol=1e-7, atol=1e-9)
