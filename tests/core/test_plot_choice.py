"""What the Plots panel draws, decided without Qt (gradstudio/studio/figures/plot_choice.py):
which call, the heatmap's source, the tabs' messages, the sweep's leaf and its state."""
from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

from gradstudio.studio.figures import plot_choice as pc
from gradstudio.studio.kernel.schema import (CallData, GraphData, HeatmapSample, LeafData, NodeData, Summary,
                                             SweepData, TensorData)


class Call:
    """A call record as the app keeps it (ui/model.CallRecord's fields plot_choice reads),
    around a real CallData."""

    def __init__(self, index, leaves=(), nodes=(), status="ok", root=2, graph_error=None):
        self.index, self.status = index, status
        graph = GraphData(root=root, nodes=list(nodes)) if nodes else None
        self.data = CallData(index=index, status=status, leaves=list(leaves), graph=graph,
                             graph_error=graph_error)
        self.nodes = list(nodes)
        self.graph = graph

    def title(self):
        return "z.backward()"

    def node(self, vertex):
        return next((n for n in self.nodes if n.id == vertex), None)


class Model:
    """The split app model's shape: ``calls`` and ``selection`` sub-models."""

    def __init__(self, calls=(), call=None, node=None, tensor=None, tensors=None, latest=(None, None)):
        by_index = {c.index: c for c in calls}
        tensors = tensors or {}
        current = SimpleNamespace(call=call, node=node, tensor=tensor)

        def selected_node():
            record = by_index.get(current.call)
            return record.node(current.node) if record is not None and current.node is not None else None

        self.calls = SimpleNamespace(call=by_index.get, call_list=lambda: [by_index[i] for i in sorted(by_index)],
                                     latest_call_with=lambda name: latest)
        self.selection = SimpleNamespace(current=current, selected_node=selected_node,
                                         selected_tensor=lambda: tensors.get(current.tensor))


X = NodeData(id=0, kind="leaf", label="x", name="x", shape=(2, 2), grad=np.full((2, 2), 1.5))
W = NodeData(id=1, kind="const", label="w", name="w")
MEAN = NodeData(id=2, kind="op", label="mean", grad_fn="MeanBackward0", grad=np.array(1.0))
LEAF_X = LeafData(name="x", vertex=0, shape=(2, 2))


def test_the_module_needs_no_qt_and_no_matplotlib():
    import subprocess
    code = ("import sys, gradstudio.studio.figures.plot_choice; "
            "print([m for m in sys.modules if m.split('.')[0] in ('PySide6', 'matplotlib', 'sympy')"
            " or m.startswith('gradstudio.ui')])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_the_selected_call_else_the_newest():
    first, second = Call(0), Call(1)
    assert pc.current_call(Model([first, second], call=0)) is first
    assert pc.current_call(Model([first, second])) is second
    assert pc.current_call(Model([first, second], call=7)) is second, "a forgotten call: the newest"
    assert pc.current_call(Model()) is None


def test_norms_messages_and_the_node_a_picked_call_selects():
    assert "Run a cell" in pc.norms_message(None)
    assert pc.norms_message(Call(3, graph_error="too large")) == "backward #3: too large"
    assert "no graph was recorded" in pc.norms_message(Call(3))
    assert pc.norms_message(Call(3, nodes=[X])) is None
    assert pc.norms_title(Call(4, nodes=[X], status="error")).endswith("(raised)")
    assert pc.node_to_select(Call(0, leaves=[LEAF_X], nodes=[X, MEAN])) == 0
    assert pc.node_to_select(Call(0, nodes=[X, MEAN])) == 2, "no leaf got a gradient: the root"


def test_heatmap_of_a_selected_leaf_marks_it_pickable_an_op_not():
    call = Call(0, leaves=[LEAF_X], nodes=[X, W, MEAN])
    source = pc.heatmap_source(Model([call], call=0, node=0))
    assert source["leaf"] == (0, 0) and source["title"] == "|∂f/∂x| in backward #0"
    assert "click a cell" in source["info"] and source["array"] is X.grad
    op = pc.heatmap_source(Model([call], call=0, node=2))
    assert op["leaf"] is None and op["title"] == "|∂f/∂MeanBackward0| in backward #0"
    const = pc.heatmap_source(Model([call], call=0, node=1))
    assert const.get("array") is None and "constant" in const["message"]


def test_heatmap_of_a_variable_its_accumulated_grad_or_why_there_is_none():
    call = Call(0, leaves=[LEAF_X], nodes=[X, MEAN])
    grad = TensorData(name="x", grad=np.ones(3))
    source = pc.heatmap_source(Model([call], tensor="x", tensors={"x": grad}, latest=(0, 0)))
    assert source["title"] == "|x.grad|" and source["leaf"] == (0, 0)
    for tensor, why in ((TensorData(name="c", requires_grad=False), "does not require grad"),
                        (TensorData(name="y", requires_grad=True, is_leaf=False), "retain_grad"),
                        (TensorData(name="x", requires_grad=True, is_leaf=True), "no backward() has reached")):
        message = pc.heatmap_source(Model(tensor=tensor.name, tensors={tensor.name: tensor}))["message"]
        assert why in message
    assert "Select a tensor" in pc.heatmap_source(Model())["message"]


def test_a_sampled_gradient_says_which_rows_and_columns():
    big = TensorData(name="b", grad_sample=HeatmapSample(array=np.ones((4, 4)), step=(100, 11), shape=(400, 40)),
                     grad_summary=Summary(shape=(400, 40), dtype="float32", size=16000))
    source = pc.heatmap_source(Model(tensor="b", tensors={"b": big}))
    assert source["title"] == "|b.grad| (sampled)" and source["leaf"] is None
    assert "every 100th row and 11th column of its 400×40 layout" in source["info"]
    assert "16,000 elements" in source["info"]


def test_sweep_leaves_and_which_one_is_current():
    call = Call(5, leaves=[LEAF_X, LeafData(name="s", vertex=3, shape=())], nodes=[X, MEAN])
    choices = pc.sweep_leaves(call)
    assert choices == [((5, 0), "x  (2×2)"), ((5, 3), "s  (scalar)")]
    assert pc.sweep_leaves(Call(5, leaves=[LEAF_X], status="error")) == [], "a call that raised has none"
    keys = [key for key, _ in choices]
    assert pc.pick_leaf(keys, (5, 3), (5, 0)) == 1, "the selected leaf wins"
    assert pc.pick_leaf(keys, (5, 2), (5, 3)) == 1, "else the one picked before"
    assert pc.pick_leaf(keys, None, None) == 0 and pc.pick_leaf([], None, None) is None
    assert "nothing to sweep" in pc.sweep_hint(Call(1, status="error"), 0)
    assert "Run a cell" in pc.sweep_hint(None, 0) and "Pick a leaf" in pc.sweep_hint(call, 2)


def test_sweep_state_idle_pending_ready():
    state = pc.SweepState()
    assert state.phase == pc.IDLE and not state.pending
    assert state.request((0, 0, (1, 1)))
    assert state.pending and not state.request((0, 0, (0, 0))), "one request at a time"
    assert state.receive(SweepData(call=0, vertex=0, note="kink at 0"), known=True)
    assert state.phase == pc.READY and state.message == "kink at 0" and state.target is None


def test_sweep_state_failed_answer_keeps_the_error_and_a_lost_request_fails():
    state = pc.SweepState()
    state.request((0, 0, ()))
    state.receive(SweepData(call=0, vertex=0, error="ValueError: nope"), known=True)
    assert state.phase == pc.FAILED and state.message == "The sweep failed: ValueError: nope"
    shown = SweepData(call=1, vertex=0)
    state.request((1, 0, ()))
    state.receive(shown, known=True)
    assert state.phase == pc.READY
    state.request((1, 0, (2,)))
    assert state.lost()
    assert state.phase == pc.FAILED and state.message == pc.LOST and state.result is shown
    assert not state.lost(), "only a pending request can be lost"


def test_sweep_state_answer_for_a_forgotten_call_and_an_unrelated_answer():
    state = pc.SweepState()
    state.request((0, 0, ()))
    assert not state.receive(SweepData(call=0, vertex=0), known=False)
    assert state.phase == pc.IDLE and state.result is None, "answered, but nothing to draw"
    state.request((2, 0, ()))
    assert state.receive(SweepData(call=1, vertex=0), known=True)
    assert state.pending and state.target == (2, 0, ()), "another call's sweep does not answer this one"
    state.clear()
    assert state.phase == pc.IDLE and state.result is None and state.target is None


@pytest.mark.parametrize("name, element, text, file", [("x", (0, 1), "x[0, 1]", "x-0-1"), ("s", (), "s", "s"),
                                                       ("∂?", (), "∂?", "plot")])
def test_names(name, element, text, file):
    assert pc.element_text(name, element) == text
    assert pc.file_part(pc.element_text(name, element)) == file


def test_one_default_range_for_the_panel_and_the_kernel():
    from gradstudio.studio import sweep
    assert sweep.default_range is pc.default_range and pc.default_range(0.25) == (-0.75, 1.25)
    assert pc.default_range(-3.0) == (-6.0, 0.0)
