"""The Qt-free stepping model (gradstudio.studio.stepping): replaying a backward
call's step trace to any step — ready queue, dependency counts, fan-out sums, leaf
.grad before + this call = after, saved tensors held and freed, the error node —
breakpoints, and predict-then-reveal; on the seed tutorial's cells."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from gradstudio.studio import stepping
from gradstudio.studio.kernel.records import call_data
from gradstudio.studio.session import Session
from gradstudio.studio.stepping import Stepper, check_prediction, steps_of

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "resources" / "examples"


def calls_of(source: str):
    session = Session("<test>", step_trace=True)
    session.run_script(source, stop_on_error=False)
    return session.backward_calls


def stepper(call) -> Stepper:
    # through the record, as the app gets it: plain JSON data
    return Stepper(json.loads(json.dumps(steps_of(call_data(call)))))


def by_name(s: Stepper, name: str) -> int:
    return next(n["id"] for n in s.nodes if n["name"] == name)


def test_the_record_carries_the_trace_as_plain_json_data():
    call = calls_of("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n")[0]
    data = call_data(call)
    assert data.steps == call.steps.to_data()
    json.dumps(data.steps, allow_nan=False)
    assert steps_of(data) == steps_of(call) == data.steps
    assert steps_of(data.replace(steps=None)) is None


def test_the_tutorials_second_backward_stops_at_the_node_whose_saved_tensor_is_gone():
    source = (EXAMPLES / "autograd_tutorial.py").read_text()
    calls = calls_of(source)
    failed = next(c for c in calls if c.status == "error" and "second time" in c.error)
    s = stepper(failed)
    at = s.error_step()
    assert at == len(s) - 1
    end = s.state(at)
    node = end.error["node"]
    assert s.name(node) == "MulBackward0" and end.status(node) == "failed"
    assert "Trying to backward through the graph a second time" in end.error["message"]
    assert "Specify retain_graph=True" in end.error["message"]
    # the node was freed by the call before, not by this one
    assert s.node(node)["freed"] and node in s.freed(end) and node not in end.freed
    assert "earlier backward() freed them" in s.saved_note(node)
    # the leaf never got this call's gradient
    assert not any(n["name"] == "AccumulateGrad" and end.reached(n["id"]) for n in s.nodes)
    # one step back: the node is about to run, nothing failed yet
    before = s.state(at - 1)
    assert before.error is None and before.status(node) == "running"


def test_with_retain_graph_the_second_backward_passes():
    source = ("import torch\nx = torch.randn(3, requires_grad=True)\ny = x * 2\n"
              "z = (y * y).sum()\nz.backward(retain_graph=True)\nz.backward()\n")
    first, second = calls_of(source)
    assert first.status == second.status == "ok"
    s = stepper(second)
    end = s.state(len(s) - 1)
    assert end.error is None and end.complete
    assert all(not n.get("freed") for n in s.nodes)
    # this (last) pass frees as it goes: every node that saves is freed at the end
    assert set(s.freed(end)) == {n["id"] for n in s.nodes if n.get("saves")} != set()
    assert s.held(s.state(0)) and not s.held(end)


def test_sum_saves_nothing_and_a_second_backward_does_not_fail():
    calls = calls_of("import torch\nx = torch.ones(3, requires_grad=True)\nz = x.sum()\n"
                     "z.backward()\nz.backward()\n")
    assert [c.status for c in calls] == ["ok", "ok"]
    s = stepper(calls[1])
    node = by_name(s, "SumBackward0")
    assert s.freed(s.state(len(s) - 1)) == [] and s.held(s.state(0)) == []
    assert "saves no tensors" in s.saved_note(node)
    leaf = s.state(len(s) - 1).leaves[by_name(s, "AccumulateGrad")]
    assert stepping.value_array(leaf["previous"]).tolist() == [1.0, 1.0, 1.0]
    assert stepping.value_array(leaf["total"]).tolist() == [2.0, 2.0, 2.0]


def test_fan_out_shows_both_terms_and_their_sum_and_the_leaf_before_plus_call_is_after():
    calls = calls_of("import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                     "y = (x * x).sum()\ny.backward(retain_graph=True)\ny.backward()\n")
    s = stepper(calls[1])
    leaf = by_name(s, "AccumulateGrad")
    add = next(i for i, e in enumerate(s.events) if e["kind"] == "buffer_add")
    state = s.state(add)
    terms, total = state.buffers[leaf]
    assert [stepping.value_array(t).tolist() for t in terms] == [[1, 2, 3], [1, 2, 3]]
    assert stepping.value_array(total).tolist() == [2, 4, 6]
    assert "Fan-out" in s.explain(state)
    # before the second term arrived: one term, and the leaf waits for one more edge
    first_edge = add - 2
    assert s.events[first_edge]["kind"] == "edge"
    early = s.state(first_edge)
    assert len(early.buffers[leaf][0]) == 1 and early.remaining[leaf] == 1
    assert early.status(leaf) == "waiting" and s.state(add - 1).status(leaf) == "ready"
    # the second term has arrived, the sum is made at the next step: no total yet (it is
    # not the first term's)
    terms, total = s.state(add - 1).buffers[leaf]
    assert len(terms) == 2 and total is None
    end = s.state(len(s) - 1)
    acc = end.leaves[leaf]
    assert (stepping.value_array(acc["previous"]) + stepping.value_array(acc["grad"])
            == stepping.value_array(acc["total"])).all()
    assert stepping.value_array(acc["total"]).tolist() == [4, 8, 12]
    assert "before" in s.explain(end) and "running total" in s.explain(end)


def test_ready_queue_and_dependency_counts_follow_the_engine():
    calls = calls_of("import torch\na = torch.ones(2, requires_grad=True)\n"
                     "b = a.exp()\nc = a.sin()\nz = (b * c).sum()\nz.backward()\n")
    s = stepper(calls[0])
    mul = by_name(s, "MulBackward0")
    start = s.start_of(mul)
    after_mul = s.state(start + 3)            # start, released, two edges
    assert [s.name(n) for n in after_mul.ready] == ["SinBackward0", "ExpBackward0"]
    # the ready queue is listed in the order the nodes then run
    runs = [s.events[i]["node"] for i in sorted(s.runs_at.values())]
    assert runs.index(after_mul.ready[0]) < runs.index(after_mul.ready[1])
    leaf = by_name(s, "AccumulateGrad")
    assert s.initial[leaf] == 2 and after_mul.remaining[leaf] == 2
    assert after_mul.status(leaf) == "unreached"
    # every step is the same state whichever way it is reached
    forward = [s.state(i) for i in range(len(s))]
    backward = [s.state(i) for i in reversed(range(len(s)))][::-1]
    for one, two in zip(forward, backward):
        assert (one.step, one.running, one.ready, one.remaining, one.finished, one.freed) == (
            two.step, two.running, two.ready, two.remaining, two.finished, two.freed)


def test_checkpoints_give_the_same_state_as_a_replay_from_the_start():
    source = ("import torch\nx = torch.ones(4, requires_grad=True)\ny = x\n"
              "for _ in range(60):\n    y = (y * 1.01).sin() + y\ny.sum().backward()\n")
    s = Stepper(steps_of(calls_of(source)[0]), checkpoint=16)
    plain = Stepper(s.trace, checkpoint=10 ** 9)
    assert len(s) > 300
    for step in (len(s) - 1, 0, 17, 250, 16, 15, -1, 301):
        one, two = s.state(step), plain.state(step)
        assert one == two


def test_breakpoints_stop_at_the_first_nan_and_at_a_large_gradient():
    calls = calls_of("import torch\nx = torch.tensor([0.0, 1.0], requires_grad=True)\n"
                     "y = x.sqrt() * 100\nz = y.sum()\nz.backward()\n")
    s = stepper(calls[0])
    hit = s.find(-1)
    assert hit is not None and s.name(hit.node) == "SqrtBackward0"
    assert "NaN/inf" in hit.reason or "inf" in hit.reason
    assert hit.vertex is not None
    big = s.find(-1, nonfinite_values=False, threshold=50)
    assert big is not None and big.step < hit.step and "> 50" in big.reason
    assert s.find(-1, nonfinite_values=False, threshold=1e9) is None


def test_predict_then_reveal():
    calls = calls_of("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                     "z = (x * x * 3).mean()\nz.backward()\n")
    s = stepper(calls[0])
    mul = s.start_of(by_name(s, "MulBackward0"))      # the outer mul: 3·(x·x)
    actual = s.events[mul]["grad"]
    assert check_prediction("0.25", actual).ok                   # a number: every element
    assert check_prediction("[[0.25, 0.25], [0.25, 0.25]]", actual).ok
    wrong = check_prediction("[[1, 0.25], [0.25, 0.25]]", actual)
    assert not wrong.ok and "1 of 4 elements differ" in wrong.message
    shape = check_prediction("[0.25, 0.25]", actual)
    assert not shape.ok and "shape (2,)" in shape.message and "(2, 2)" in shape.message
    bad = check_prediction("__import__('os')", actual)
    assert not bad.ok and "Could not read" in bad.message


def test_retain_graph_is_added_to_each_backward_call_and_nothing_else_changes():
    source = ("z.backward()\ny.backward(torch.tensor([1.0, 0.1]))  # keep\n"
              "w.backward(retain_graph=False)\nprint('backward()')\nq.backward(\n    g,\n)\n")
    out, count = stepping.with_retain_graph(source)
    assert count == 3
    assert out == ("z.backward(retain_graph=True)\n"
                   "y.backward(torch.tensor([1.0, 0.1]), retain_graph=True)  # keep\n"
                   "w.backward(retain_graph=False)\nprint('backward()')\n"
                   "q.backward(\n    g,\n retain_graph=True)\n")
    compile(out, "<rewritten>", "exec")
    assert stepping.with_retain_graph("é = 1; x.backward()")[0] == "é = 1; x.backward(retain_graph=True)"
    assert stepping.with_retain_graph("x.backward(")[1] == 0


def test_the_tutorials_failing_cell_passes_when_rerun_with_retain_graph():
    from gradstudio.studio.session import split_cells
    source = (EXAMPLES / "autograd_tutorial.py").read_text()
    session = Session("<test>", step_trace=True)
    session.run_script(source, stop_on_error=False)
    records = [call_data(c) for c in session.backward_calls]
    failed = next(r for r in records if r.status == "error" and "second time" in r.error)
    first, last = stepping.rerun_cells(records, failed)
    assert last == failed.cell and first == last - 1      # the loop cell, then the failing one
    cells = [c for c in split_cells(source) if c.index is not None and first <= c.index <= last]
    before = len(session.backward_calls)
    for cell in cells:
        session.run_cell(stepping.with_retain_graph(cell.source)[0], cell=cell.index,
                         first_line=cell.first_line)
    again = session.backward_calls[before:]
    assert [c.status for c in again] == ["ok", "ok"]
    s = Stepper(steps_of(again[-1]))
    assert s.error_step() is None and s.state(len(s) - 1).complete


def test_the_cells_to_rerun_start_where_the_graph_was_built():
    from gradstudio.studio.session import split_cells
    source = (EXAMPLES / "second_backward.py").read_text()
    session = Session("<test>", step_trace=True)
    runs = []
    for cell in split_cells(source):
        if cell.index is not None:
            runs.append(session.run_cell(cell.source, cell=cell.index, first_line=cell.first_line))
    records = [call_data(c) for c in session.backward_calls]
    failed = next(r for r in records if r.status == "error")
    # the cell that built y (and kept its graph), the one that freed it, the failing one
    built = next(c.index for c in split_cells(source) if "y = (x * x).sum()" in c.source)
    assert stepping.rerun_cells(records, failed) == (built, built + 2) == (built, failed.cell)
    assert stepping.rerun_cells(records, failed.replace(cell=None)) is None


def test_a_graph_over_the_step_limit_keeps_its_trace_in_the_kernel_and_says_so():
    from gradstudio.studio import stepping as st
    from gradstudio.studio.kernel.records import MAX_STEPPED_NODES
    session = Session("<test>", step_trace=True)
    session.run_script("import torch\nx = torch.ones(2, requires_grad=True)\ny = x\n"
                       f"for i in range({MAX_STEPPED_NODES}):\n    y = y * 1.001\ny.sum().backward()\n"
                       "a = torch.ones(2, requires_grad=True)\n(a * 2).sum().backward()\n")
    big, small = (call_data(c) for c in session.backward_calls)
    assert len(big.nodes) > MAX_STEPPED_NODES and big.steps is None
    assert f"up to {MAX_STEPPED_NODES} nodes" in st.why_no_steps(big)
    assert small.steps is not None
