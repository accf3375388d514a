"""Modules in a session: parameters named by their qualified names in recorded
calls, and each module call's vertices grouped (nested calls nested)."""
from __future__ import annotations

import pytest

from gradstudio.studio.session import Session

SCRIPT = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
x = torch.randn(4, 3)
for name, param in model.named_parameters():
    pass
loss = model(x).pow(2).mean()
loss.backward()
"""


def _run(script):
    session = Session()
    runs = session.run_script(script)
    assert all(r.ok for r in runs), [r.text for r in runs]
    return session


def test_parameters_are_named_by_qualified_name_not_by_a_loop_variable():
    session = _run(SCRIPT)
    (call,) = session.backward_calls
    assert [leaf.name for leaf in call.leaves] == ["model.0.weight", "model.0.bias", "model.2.weight",
                                                   "model.2.bias"]
    names = {name for name, _ in session.named_tensors().values()}
    assert {"model.0.weight", "model.2.bias", "x", "loss"} <= names and "param" not in names


def test_each_module_call_is_a_group_of_its_vertices_and_parameters():
    session = _run(SCRIPT)
    (call,) = session.backward_calls
    graph = call.graph
    by_label = {(g.label, g.name): g for g in call.groups}
    assert set(by_label) == {("Sequential", "model"), ("Linear(3→2)", "model.0"), ("Tanh", "model.1"),
                             ("Linear(2→1)", "model.2")}
    first = by_label[("Linear(3→2)", "model.0")]
    labels = sorted(graph[v].label for v in first.vertices)
    assert labels == sorted(["AddmmBackward0", "TBackward0", "model.0.weight", "model.0.bias"])
    outer = by_label[("Sequential", "model")]
    assert outer.depth == 0 and first.depth == 1
    assert set(first.vertices) <= set(outer.vertices)
    # the loss after the model is no module's
    pow_vertex = next(v.id for v in graph.nodes if v.kind == "op" and v.op.name == "PowBackward0")
    assert all(pow_vertex not in g.vertices for g in call.groups)


def test_a_module_called_in_an_earlier_cell_is_grouped_in_a_later_backward():
    script = SCRIPT.replace("loss.backward()", "# %%\nloss.backward()")
    session = _run(script)
    assert {g.label for g in session.backward_calls[0].groups} >= {"Linear(3→2)", "Tanh"}


def test_no_module_no_groups_and_no_hooks_left_behind():
    from gradstudio.nn.modules import module
    session = _run("import torch\nx = torch.ones(2, requires_grad=True)\n(x * x).sum().backward()\n")
    assert session.backward_calls[0].groups == []
    assert not module._global_forward_hooks and not module._global_forward_pre_hooks


def test_the_call_record_carries_its_module_groups_over_the_wire():
    from gradstudio.studio.kernel import records
    from gradstudio.studio.kernel.schema import CallData
    session = _run(SCRIPT)
    data = records.call_data(session.backward_calls[0])
    assert [(g.label, g.name, g.depth) for g in data.groups] == [
        ("Sequential", "model", 0), ("Linear(3→2)", "model.0", 1), ("Tanh", "model.1", 1),
        ("Linear(2→1)", "model.2", 1)]
    linear = data.groups[1]
    nodes = data.graph.nodes
    assert sorted(nodes[v].grad_fn for v in linear.ops) == ["AddmmBackward0", "TBackward0"]
    assert sorted(nodes[v].name for v in linear.params) == ["model.0.bias", "model.0.weight"]
    assert CallData.from_wire(data.to_wire()) == data


def test_a_shared_layer_called_twice_is_two_groups_and_its_weight_is_neither_calls():
    session = _run("import torch\nfrom torch import nn\nlayer = nn.Linear(2, 2)\n"
                   "layer(torch.tanh(layer(torch.ones(1, 2)))).sum().backward()\n")
    (call,) = session.backward_calls
    assert [g.label for g in call.groups] == ["Linear(2→2)", "Linear(2→2)"]
    assert all(g.params == () for g in call.groups)
    assert not set(call.groups[0].ops) & set(call.groups[1].ops)


def test_the_ipython_extension_records_module_groups_too():
    IPython = pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from gradstudio.studio.kernel import extension
    shell = InteractiveShell()
    extension.load_ipython_extension(shell)
    ext = extension._EXTENSIONS[id(shell)]
    ext.show = False
    try:
        result = shell.run_cell(SCRIPT)
        assert result.success
        (call,) = ext.session.backward_calls
        assert {g.label for g in call.groups} == {"Sequential", "Linear(3→2)", "Tanh", "Linear(2→1)"}
    finally:
        extension.unload_ipython_extension(shell)
    from gradstudio.nn.modules import module
    assert not module._global_forward_hooks and not module._global_forward_pre_hooks


def test_a_long_loops_earlier_module_calls_are_not_looked_through_again():
    """Each backward call groups its graph's module calls; the calls of the loop's earlier
    steps (they ended before this graph began) are skipped without being read — they
    were looked through one by one, a 600-step loop spent 0.4–0.7 s on it."""
    from gradstudio.studio import modules

    session = _run("import torch\nfrom torch import nn\nmodel = nn.Sequential(nn.Linear(3, 2), nn.Tanh())\n"
                   "x = torch.randn(4, 3)\nfor step in range(100):\n    loss = model(x).pow(2).mean()\n"
                   "    loss.backward()\n")
    read = []

    class Counted:
        def __init__(self, call):
            self._call = call

        def __getattr__(self, name):
            read.append(name)
            return getattr(self._call, name)

    calls = [Counted(call) for call in session._module_calls.calls]
    assert len(calls) >= 300
    last = session.backward_calls[-1]
    groups = modules.groups(last.graph, session.namespace["loss"], calls, modules.module_names(session.namespace))
    assert [(g.label, g.ops, g.params) for g in groups] == [(g.label, g.ops, g.params) for g in last.groups]
    assert [g.label for g in groups] == ["Sequential", "Linear(3→2)", "Tanh"]
    assert len(read) < 100, len(read)           # (read one by one: 340)
