"""The backward engine's step events (gradstudio.autograd.events), kind by kind, on
small graphs; the recorder's bounds and strict JSON; the session's step trace."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import gradstudio as torch
from gradstudio.autograd import api
from gradstudio.autograd.engine import run_backward
from gradstudio.autograd.events import Recorder, Tracer
from gradstudio.studio.session import Session, split_cells

TUTORIAL = pathlib.Path(__file__).resolve().parents[2] / "resources" / "examples" / "autograd_tutorial.py"


def traced_backward(root, gradient=None, retain_graph=None, **options):
    recorder = Recorder(**options)
    api._backward(root, gradient, retain_graph, False, None, tracer=recorder)
    return recorder.trace


def traced_grad(outputs, inputs):
    recorder = Recorder()
    outputs = [outputs]
    result = run_backward(api._roots(outputs), api._make_grads(outputs, [None]),
                          retain_graph=False, create_graph=False, inputs=list(inputs),
                          accumulate=False, tracer=recorder)
    return recorder.trace, result


def steps(trace, *kinds):
    """(kind, node name) of the events of ``kinds`` (all if none), in order."""
    return [(e.kind, trace.name(e.node)) for e in trace.events if not kinds or e.kind in kinds]


def values(value):
    return value.values.tolist()


# --------------------------------------------------------------------------- order, seed, edges
def test_seed_node_starts_and_edges_in_order_for_the_mean_tutorial():
    x = torch.ones(2, 2, requires_grad=True)
    trace = traced_backward((x * x * 3).mean())
    assert steps(trace) == [
        ("seed", "MeanBackward0"), ("node_start", "MeanBackward0"), ("edge", "MeanBackward0"),
        ("node_start", "MulBackward0"), ("released", "MulBackward0"), ("edge", "MulBackward0"),
        ("node_start", "MulBackward0"), ("released", "MulBackward0"),
        ("edge", "MulBackward0"), ("edge", "MulBackward0"), ("buffer_add", "AccumulateGrad"),
        ("node_start", "AccumulateGrad"), ("accumulated", "AccumulateGrad")]
    seed, start = trace.events[0], trace.events[1]
    assert seed.grad.shape == () and values(seed.grad) == 1.0
    assert values(start.grad) == 1.0
    edge = trace.events[2]
    assert (edge.slot, edge.input_nr, edge.remaining) == (0, 0, 0)
    assert trace.name(edge.next_node) == "MulBackward0"
    assert values(edge.grad) == [[0.25, 0.25], [0.25, 0.25]]
    # x * x: both edges of the inner MulBackward0 go to x's AccumulateGrad, which is ready
    # only after the second (remaining 1, then 0)
    first, second = trace.of_kind("edge")[-2:]
    assert (first.slot, first.remaining, second.slot, second.remaining) == (0, 1, 1, 0)
    assert first.next_node == second.next_node
    assert trace.nodes[first.next_node].leaf_shape == (2, 2)


def test_fan_out_adds_both_terms_in_the_input_buffer():
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    y = x * 2
    trace = traced_backward((y.sin() + y.cos()).sum())
    (add,) = trace.of_kind("buffer_add")
    assert trace.name(add.node) == "MulBackward0"
    a = np.cos(np.array([1.0, 2.0], dtype=np.float32))
    b = -np.sin(np.array([1.0, 2.0], dtype=np.float32))
    terms = sorted([add.previous.values.tolist(), add.grad.values.tolist()])
    np.testing.assert_allclose(terms, sorted([a.tolist(), b.tolist()]), rtol=1e-6)
    np.testing.assert_allclose(add.total.values, a + b, rtol=1e-6)
    start = next(e for e in trace.of_kind("node_start") if e.node == add.node)
    np.testing.assert_array_equal(start.grad.values, add.total.values)  # what the node runs with


def test_accumulate_grad_before_and_after_across_backward_calls():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    first = traced_backward((x * 3).sum())
    (acc,) = first.of_kind("accumulated")
    assert acc.previous is None
    assert values(acc.grad) == [3.0, 3.0] and values(acc.total) == [3.0, 3.0]
    second = traced_backward((x * x).sum())
    (acc,) = second.of_kind("accumulated")
    assert values(acc.previous) == [3.0, 3.0]
    assert values(acc.grad) == [2.0, 4.0]
    assert values(acc.total) == [5.0, 7.0]
    assert x.grad.tolist() == [5.0, 7.0]


def test_a_leafs_accumulate_grad_runs_as_soon_as_it_is_ready():
    # torch: SumBackward0, MulBackward0, AccumulateGrad(y), ExpBackward0, AccumulateGrad(x)
    x = torch.ones(3, requires_grad=True)
    y = torch.ones(3, requires_grad=True)
    trace = traced_backward((x.exp() * y).sum())
    order = [(trace.name(e.node), trace.nodes[e.node].leaf_shape) for e in
             trace.of_kind("node_start")]
    assert [name for name, _ in order] == ["SumBackward0", "MulBackward0", "AccumulateGrad",
                                           "ExpBackward0", "AccumulateGrad"]
    sinks = [e.node for e in trace.of_kind("accumulated")]
    y_sink = next(e.next_node for e in trace.of_kind("edge")
                  if trace.name(e.node) == "MulBackward0" and e.slot == 1)
    assert sinks[0] == y_sink


def test_several_accumulate_grads_ready_together_run_in_edge_order():
    a, b, c = (torch.ones(2, requires_grad=True) for _ in range(3))
    trace = traced_backward((a * b + c).sum())
    assert [name for _, name in steps(trace, "node_start")] == [
        "SumBackward0", "AddBackward0", "AccumulateGrad", "MulBackward0", "AccumulateGrad",
        "AccumulateGrad"]

    def target(name, slot):
        return next(e.next_node for e in trace.of_kind("edge")
                    if trace.name(e.node) == name and e.slot == slot)
    sinks = [e.node for e in trace.of_kind("accumulated")]
    assert sinks == [target("AddBackward0", 1), target("MulBackward0", 0), target("MulBackward0", 1)]


# --------------------------------------------------------------------------- hooks
def test_hooks_that_fired_and_what_they_returned_in_torchs_order():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.grad_fn.register_prehook(lambda grads: None)
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: None)
    x.register_hook(lambda g: None)
    trace = traced_backward(y.sum())
    hooks = [(trace.name(e.node), e.hook_kind, e.replaced) for e in trace.of_kind("hook")]
    assert hooks == [("MulBackward0", "tensor_hook", True), ("MulBackward0", "retain_grad", False),
                     ("MulBackward0", "prehook", False), ("MulBackward0", "posthook", False),
                     ("AccumulateGrad", "tensor_hook", False)]
    tensor_hook = trace.of_kind("hook")[0]
    assert values(tensor_hook.grad) == [1.0, 1.0]
    assert values(tensor_hook.returned[0]) == [10.0, 10.0]
    assert y.grad.tolist() == [10.0, 10.0]  # retain_grad saw the hooked gradient
    # the node start comes first and shows the gradient before the hooks
    mul = [e for e in trace.events if trace.name(e.node) == "MulBackward0"]
    assert mul[0].kind == "node_start" and values(mul[0].grad) == [1.0, 1.0]
    assert x.grad.tolist() == [20.0, 20.0]


def test_a_post_hook_that_replaces_the_gradients_is_recorded():
    x = torch.tensor([1.0], requires_grad=True)
    y = x * 3
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] * 0 + 7, None))
    trace = traced_backward(y.sum())
    (hook,) = trace.of_kind("hook")
    assert hook.hook_kind == "posthook" and hook.replaced
    assert values(hook.returned[0]) == [7.0] and hook.returned[1] is None
    edge = next(e for e in trace.of_kind("edge") if trace.name(e.node) == "MulBackward0")
    assert values(edge.grad) == [7.0]  # the edge carries what the hook returned


# --------------------------------------------------------------------------- release, error
def test_saved_tensors_released_as_each_node_finishes_unless_retain_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    z = (x.exp() * x).sum()
    kept = traced_backward(z, retain_graph=True)
    assert kept.of_kind("released") == []
    freed = traced_backward(z)
    assert steps(freed, "released") == [("released", "MulBackward0"), ("released", "ExpBackward0")]
    # each release comes right after its node started, before its edges
    kinds = [e.kind for e in freed.events]
    start = kinds.index("node_start", kinds.index("node_start") + 1)
    assert kinds[start + 1] == "released"
    assert freed.nodes[freed.events[start].node].saves
    assert not next(n for n in freed.nodes if n.name == "SumBackward0").saves


def test_second_backward_error_is_at_the_node_whose_saved_tensor_is_gone():
    x = torch.ones(2, 2, requires_grad=True)
    z = (x * x * 3).mean()
    traced_backward(z)
    recorder = Recorder()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        api._backward(z, None, None, False, None, tracer=recorder)
    trace = recorder.trace
    assert steps(trace) == [("seed", "MeanBackward0"), ("node_start", "MeanBackward0"),
                            ("edge", "MeanBackward0"), ("node_start", "MulBackward0"),
                            ("error", "MulBackward0")]
    error = trace.events[-1]
    assert error.error_type == "RuntimeError"
    assert "Specify retain_graph=True" in error.message


def test_each_node_says_what_it_saved_and_whether_an_earlier_call_freed_it():
    x = torch.ones(2, 2, requires_grad=True)
    z = (x.exp() * 3).mean()
    first = traced_backward(z)
    exp = next(n for n in first.nodes if n.name == "ExpBackward0")
    mul = next(n for n in first.nodes if n.name == "MulBackward0")
    assert exp.saved == (("result", (2, 2)),) and not exp.freed
    # the engine keeps exp(x) (input 0 of the mul); the number 3 is no saved tensor
    assert mul.saved == (("input 0", (2, 2)),)
    data = json.loads(first.to_json())["nodes"]
    assert next(n for n in data if n["name"] == "ExpBackward0")["saved"] == [
        {"what": "result", "shape": [2, 2]}]
    recorder = Recorder()
    with pytest.raises(RuntimeError):
        api._backward(z, None, None, False, None, tracer=recorder)
    again = next(n for n in recorder.trace.nodes if n.name == "MulBackward0")
    assert again.freed and again.saved == (("input 0", None),)   # where it stopped
    w = torch.ones(3, requires_grad=True)
    both = next(n for n in traced_backward((w * w).sum()).nodes if n.name == "MulBackward0")
    assert both.saved == (("input 0", (3,)), ("input 1", (3,))) and not both.freed


def test_sum_twice_saves_nothing_and_does_not_fail():
    x = torch.ones(3, requires_grad=True)
    z = x.sum()
    first = traced_backward(z)
    second = traced_backward(z)
    for trace in (first, second):
        assert trace.of_kind("released") == [] and trace.of_kind("error") == []
        assert steps(trace, "node_start") == [("node_start", "SumBackward0"),
                                              ("node_start", "AccumulateGrad")]
    assert values(second.of_kind("accumulated")[0].previous) == [1.0, 1.0, 1.0]
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


# --------------------------------------------------------------------------- autograd.grad
def test_autograd_grad_captures_and_never_runs_accumulate_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    ran = []
    (x * w).grad_fn.next_functions[0][0].register_prehook(lambda g: ran.append(1))
    x.register_hook(lambda g: g * 2)  # a leaf's tensor hook still runs, as in torch
    trace, (gx,) = traced_grad((x * w).sum(), [x])
    assert steps(trace, "node_start", "captured", "accumulated") == [
        ("node_start", "SumBackward0"), ("node_start", "MulBackward0"),
        ("captured", "AccumulateGrad")]
    assert values(trace.of_kind("captured")[0].grad) == [6.0, 8.0]
    assert gx.tolist() == [6.0, 8.0]
    assert ran == [] and x.grad is None and w.grad is None
    # w's AccumulateGrad is not wanted: it is not even sent to the queue
    assert [trace.name(e.node) for e in trace.of_kind("hook")] == ["AccumulateGrad"]


def test_autograd_grad_of_a_non_leaf_captures_at_its_node_without_running_it():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    trace, (gy,) = traced_grad((y * y).sum(), [y])
    assert steps(trace, "node_start", "captured") == [
        ("node_start", "SumBackward0"), ("node_start", "MulBackward0"), ("captured", "MulBackward0")]
    assert gy.tolist() == [6.0, 12.0]


# --------------------------------------------------------------------------- the recorder
def test_big_gradients_are_summarised_and_the_event_count_is_bounded():
    x = torch.ones(1000, requires_grad=True)
    y = x * 2
    for _ in range(50):
        y = y * 1.0
    trace = traced_backward(y.sum(), max_elements=16, max_events=40)
    assert len(trace.events) == 40 and trace.dropped > 0
    big = trace.events[2].grad
    assert big.values is None and big.shape == (1000,)
    assert big.summary == {"min": 1.0, "max": 1.0, "mean": 1.0, "norm": pytest.approx(1000 ** 0.5),
                           "nonfinite": 0}
    assert trace.events[-1].step == 39


def test_to_json_is_strict_json_even_with_nan_and_inf():
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    trace = traced_backward((x.log() * x.sqrt()).sum())  # 0 * inf and 1/0: nan and inf
    text = trace.to_json()

    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")
    data = json.loads(text, parse_constant=refuse)
    grads = [e["grad"]["values"] for e in data["events"] if "grad" in e and "values" in e["grad"]]
    flat = [v for g in grads if isinstance(g, list) for v in g]
    assert "nan" in flat or "inf" in flat
    assert data["nodes"][0]["name"] == "SumBackward0"
    assert [e["step"] for e in data["events"]] == list(range(len(data["events"])))


def test_a_plain_tracer_does_nothing_and_the_engine_runs_the_same():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    api._backward((x * x).sum(), None, None, False, None, tracer=Tracer())
    assert x.grad.tolist() == [2.0, 4.0]


def test_a_long_chain_traces_in_bounded_memory():
    x = torch.ones(2, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    trace = traced_backward(y.sum(), max_events=1000)
    assert len(trace.events) == 1000 and trace.dropped > 40_000
    assert len(trace.nodes) < 1000  # nodes past the limit are not kept either
    assert x.grad.tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------- session
def test_session_records_step_traces_only_when_asked():
    script = "import torch\nx = torch.ones(2, requires_grad=True)\n(x * 3).sum().backward()\n"
    plain = Session()
    plain.run_script(script)
    assert plain.backward_calls[0].steps is None
    session = Session(step_trace=True)
    session.run_script(script)
    call = session.backward_calls[0]
    assert steps(call.steps, "node_start") == [("node_start", "SumBackward0"),
                                               ("node_start", "MulBackward0"),
                                               ("node_start", "AccumulateGrad")]
    # each traced node names its vertex in the call's graph
    leaf = next(n for n in call.steps.nodes if n.name == "AccumulateGrad")
    assert leaf.vertex == call.leaves[0].vertex
    json.loads(call.steps.to_json())


def test_the_tutorials_second_backward_replays_to_the_failing_node():
    session = Session(str(TUTORIAL), step_trace=True)
    for cell in split_cells(TUTORIAL.read_text()):
        session.run_cell(cell.source, cell=cell.index, first_line=cell.first_line)
    failed = [c for c in session.backward_calls if c.status == "error" and c.steps is not None
              and c.steps.of_kind("error")]
    (second,) = [c for c in failed if "second time" in c.error]
    trace = second.steps
    error = trace.events[-1]
    assert error.kind == "error" and "second time" in error.message
    assert trace.name(error.node) == "MulBackward0"
    assert trace.nodes[error.node].saves and trace.nodes[error.node].vertex is not None
    assert steps(trace, "node_start")[0] == ("node_start", "SumBackward0")
    assert trace.of_kind("released") == []  # it failed before anything was freed again


# --------------------------------------------------------------------------- gradstudio check --trace
def test_check_trace_prints_each_calls_steps_as_strict_json(tmp_path, capsys):
    from gradstudio.studio import check
    script = tmp_path / "twice.py"
    script.write_text("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                      "z = (x * x * 3).mean()\nz.backward()\nz.backward()\n")
    assert check.main([str(script), "--trace", "--json", "--no-torch"]) == check.EXIT_AGREE
    report = json.loads(capsys.readouterr().out, parse_constant=lambda name: 1 / 0)
    first, second = (call["trace"] for call in report["backward_calls"])
    assert [e["kind"] for e in first["events"]][-2:] == ["node_start", "accumulated"]
    assert second["events"][-1]["kind"] == "error"
    assert second["nodes"][second["events"][-1]["node"]]["name"] == "MulBackward0"
    assert check.main([str(script), "--trace", "--no-torch"]) == check.EXIT_AGREE
    text = capsys.readouterr().out
    assert "steps of backward #1 (line 5):" in text
    assert "error       MulBackward0#1  RuntimeError: Trying to backward through the graph" in text
    assert check.main([str(script), "--json", "--no-torch"]) == check.EXIT_AGREE
    assert all("trace" not in call for call in json.loads(capsys.readouterr().out)["backward_calls"])
