"""A window that keeps the last cell's graph structures (the ``reuse`` flag of a cell,
:mod:`gradstudio.studio.kernel.shared`): a node editor's value edit comes back as
values only, the named tensors' values travel once, and still every number the window
reads — each vertex's value, grad and summaries, the leaves' gradients, the named
tensors — is the one a fresh kernel sends in full. A structural edit gets a new
structure id. Driven through the service and the wire, read back as the window's
client reads it (``shared.calls_of`` with a :class:`~gradstudio.studio.kernel.shared.Kept`,
``shared.fill_tensor_values``)."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.studio import codegen
from gradstudio.studio.kernel import records, schema, shared
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

from test_design_edit_sequence import Worker
from test_design_live_script import scaled_sine


def wire(sent: list) -> list:
    return [schema.decode(*schema.encode(message)) for message in sent]


class Window:
    """One long-lived kernel service with reuse, and the window's side of it."""

    def __init__(self):
        self.service = KernelService(Session(), lambda message: None)
        self.kept = shared.Kept()

    def run(self, source: str) -> tuple:
        """``(messages, the cell's one call, its named tensors)`` as the window reads them."""
        sent = []
        self.service.send = sent.append
        run = self.service.session.run_cell(source, cell=None)
        assert run.ok, run.error
        self.service.cell_finished(run, 1, reuse=True, kept_tensors=self.kept.tensors_id)
        messages = wire(sent)
        (call,) = shared.calls_of(messages, self.kept)       # (the named tensors whole: kept.tensors)
        return messages, call, shared.fill_tensor_values(list(self.kept.tensors.values()), [call])


def fresh(source: str) -> tuple:
    """A fresh kernel's records for the same cell, sent in full (no reuse)."""
    sent = []
    service = KernelService(Session(), sent.append)
    run = service.session.run_cell(source, cell=None)
    service.cell_finished(run, 1)
    (finished,) = wire(sent)[-1:]
    (call,) = shared.calls_of(wire(sent))
    return call, finished.tensors


def script(design) -> str:
    return codegen.design_to_script(design, exact_values=True)


def same_as_fresh(got_call, got_tensors, source):
    call, tensors = fresh(source)
    got = got_call.call_data() if isinstance(got_call, shared.SharedCall) else got_call.replace(structure=None)
    # (the index and cell count on in the long-lived kernel: compare everything else)
    assert got.replace(index=call.index) == call
    assert [t.value_from for t in got_tensors] == [None] * len(got_tensors)
    names = {t.name for t in tensors}        # (a renamed node's old variable stays in the kernel)
    assert [t for t in got_tensors if t.name in names] == tensors


def test_value_edits_send_values_only_and_show_a_fresh_kernels_numbers():
    d, ids = scaled_sine("rand(4, 30, seed=0)", "0.5")
    window = Window()
    messages, first, tensors = window.run(script(d))
    assert isinstance(first, schema.CallData) and first.structure is not None       # full, with an id
    same_as_fresh(first, tensors, script(d))
    roots = [float(np.asarray(first.graph.nodes[first.graph.root].value))]
    for value in ("0.75", "-1.5"):                          # value edits: the same structure
        d.change_node(ids["c"], value=value)
        messages, call, tensors = window.run(script(d))
        assert [m.type for m in messages] == ["call_values", "cell_finished"]
        assert messages[0].structure == first.structure
        assert isinstance(call, shared.SharedCall)
        finished = messages[-1]
        # each named tensor either travels (its repr or grad changed) or is named as kept,
        # with its new reference into this call
        sent = {t.name for t in finished.tensors}
        assert not sent & set(finished.kept_tensors) and sent | set(finished.kept_tensors) == {t.name for t in tensors}
        assert all(where[0] == call.index for where in finished.kept_tensors.values())
        same_as_fresh(call, tensors, script(d))
        roots.append(float(np.asarray(call.graph.nodes[call.graph.root].value)))
    d.change_node(ids["x"], value="rand(4, 30, seed=3)")    # a leaf's value: still values only
    messages, call, tensors = window.run(script(d))
    assert messages[0].type == "call_values"
    same_as_fresh(call, tensors, script(d))
    roots.append(float(np.asarray(call.graph.nodes[call.graph.root].value)))
    assert len(set(roots)) == len(roots)                   # every edit showed other numbers


def insert_exp(d, ids):
    exp = d.add_node("op", op="elementwise.EXP")
    d.connect(ids["mul"], exp, 0)
    d.connect(exp, ids["sin"], 0)


STRUCTURAL = {
    "an op inserted": insert_exp,
    "a leaf of another shape": lambda d, ids: d.change_node(ids["x"], value="rand(5, 30, seed=0)"),
    "a constant of another shape": lambda d, ids: d.change_node(ids["c"], value="rand(30, seed=1)"),
    "another dtype": lambda d, ids: d.change_node(ids["x"], dtype="float64"),
    "a renamed leaf": lambda d, ids: d.change_node(ids["x"], name="w"),
}


@pytest.mark.parametrize("edit", sorted(STRUCTURAL))
def test_a_structural_edit_gets_a_new_structure_id(edit):
    d, ids = scaled_sine("rand(4, 30, seed=0)", "0.5")
    window = Window()
    _, first, _ = window.run(script(d))
    STRUCTURAL[edit](d, ids)
    assert not d.errors, d.errors
    messages, call, tensors = window.run(script(d))
    assert not any(m.type in ("call_values", "graph_structure") for m in messages)
    assert isinstance(call, schema.CallData) and call.structure not in (None, first.structure)
    same_as_fresh(call, tensors, script(d))
    d2, _ = scaled_sine("rand(4, 30, seed=0)", "0.5")        # and back: the old structure is not kept
    messages, call, _ = window.run(script(d2))
    assert isinstance(call, schema.CallData) and call.structure not in (first.structure,)


def test_a_named_tensor_whose_record_changed_travels_whole_and_the_others_by_name():
    """A grad that changes (x.grad accumulates over the cells) or a new variable travels as its
    record; a window that names another tensors id than the kernel's last gets every record."""
    source = ("import torch\nk = torch.zeros(2)\nx = torch.ones(3, requires_grad=True)\ny = x * 2\n"
              "z = y.sum()\nz.backward()\n")
    window = Window()
    window.run(source)
    messages, call, tensors = window.run(source.replace("x * 2", "x * 3") + "w = y + 1\n")
    finished = messages[-1]
    assert {t.name for t in finished.tensors} == {"w", "x", "y", "z"}     # x.grad is 3 now, y and z too
    assert set(finished.kept_tensors) == {"k"} and finished.tensors_id == window.kept.tensors_id
    assert {t.name: t for t in tensors}["x"].grad.tolist() == [3.0, 3.0, 3.0]
    assert [t.name for t in tensors] == ["k", "w", "x", "y", "z"]
    assert tensors == fresh(source.replace("x * 2", "x * 3") + "w = y + 1\n")[1]
    window.kept.tensors_id = -1                                       # a window that lost them
    messages, _, again = window.run(source)
    assert messages[-1].kept_tensors == {} and {t.name for t in messages[-1].tensors} == {"k", "w", "x", "y", "z"}


def test_kept_tensors_the_window_does_not_have_are_a_record_error():
    finished = schema.CellFinished(run=schema.RunData(cell=None), tensors=[], tensors_id=3,
                                   kept_tensors={"y": (1, 2)})
    kept = shared.Kept()
    with pytest.raises(schema.RecordError, match="y"):
        kept.tensors_of(finished)
    assert kept.tensors == {} and kept.tensors_id is None       # (the next cell gets every record)


def test_a_new_window_gets_the_whole_graph_again():
    d, ids = scaled_sine("rand(4, 30, seed=0)", "0.5")
    window = Window()
    window.run(script(d))
    window.service.forget_structures()       # the bridge does it when a window opens its comm
    window.kept = shared.Kept()
    d.change_node(ids["c"], value="0.75")
    messages, call, tensors = window.run(script(d))
    assert isinstance(call, schema.CallData) and not any(m.type == "call_values" for m in messages)
    same_as_fresh(call, tensors, script(d))


def test_a_cell_without_calls_forgets_the_structures():
    """Both sides keep the structures of the last cell's calls only: a cell in between
    with none means the next value edit comes whole (and reads right)."""
    d, ids = scaled_sine("rand(4, 30, seed=0)", "0.5")
    window = Window()
    window.run(script(d))
    sent = []
    window.service.send = sent.append
    window.service.cell_finished(window.service.session.run_cell("k = 1\n", cell=None), 1, reuse=True)
    shared.calls_of(wire(sent), window.kept)
    assert window.kept.structures == {} and window.service._kept == {}
    d.change_node(ids["c"], value="0.75")
    messages, call, tensors = window.run(script(d))
    assert isinstance(call, schema.CallData)
    same_as_fresh(call, tensors, script(d))


def test_a_tensor_changed_after_its_backward_call_travels_with_its_own_value():
    source = ("import torch\nx = torch.ones(3, requires_grad=True)\ny = x * 2\nz = y.sum()\nz.backward()\n"
              "with torch.no_grad():\n    y.add_(1)\n")
    window = Window()
    messages, call, tensors = window.run(source)
    (finished,) = [m for m in messages if m.type == "cell_finished"]
    by_name = {t.name: t for t in finished.tensors}
    assert by_name["y"].value_from is None and by_name["y"].value.tolist() == [3.0, 3.0, 3.0]
    assert by_name["x"].value_from is not None and by_name["x"].value is None
    filled = {t.name: t for t in tensors}
    assert filled["x"].value.tolist() == [1.0, 1.0, 1.0] and filled["y"].value.tolist() == [3.0, 3.0, 3.0]
    assert filled["x"].value_summary == records.summary(np.ones(3, dtype=np.float32))


def test_a_reference_to_a_vertex_that_did_not_come_is_a_record_error():
    tensor = schema.TensorData(name="x", shape=(3,), value_from=(7, 0))
    with pytest.raises(schema.RecordError, match="tensor x"):
        shared.fill_tensor_values([tensor], [])


def test_the_check_s_json_travels_only_when_asked(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    sent = []
    service = KernelService(Session(), sent.append)
    service.worker = Worker([])
    run = service.session.run_cell("import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                                   "z = (3 * x * x).mean()\nz.backward()\n", cell=None)
    service.cell_finished(run, 1, early_timeout=10.0)
    service.check_new_calls(run, 10.0)
    (checked,) = [m.check for m in sent if m.type == "call_checked"]
    assert checked.json is None and checked.leaves[0].formula == "3*2*x/4"
    sent.clear()
    service.handle({"type": "check", "calls": [run.backward_calls[0].index], "json": True})
    (asked,) = wire([m for m in sent if m.type == "call_checked"])
    assert asked.check.json["leaves"][0]["formula"] == "3*2*x/4"
    assert asked.check.json["leaves"][0]["numeric"] == [[1.5, 1.5], [1.5, 1.5]]
    assert asked.check.json["index"] == run.backward_calls[0].index


def test_a_loop_run_again_names_its_kept_structure_and_reads_as_a_fresh_kernel_s():
    """A loop's cell run a second time: its calls name the structure the window kept
    (no GraphStructure again), and each reads as the call a fresh kernel records."""
    from test_many_calls import LOOP
    source = LOOP.format(steps=5).replace("torch.manual_seed(0)", "torch.manual_seed(1)")
    window = Window()
    sent = []
    window.service.send = sent.append

    def cell():
        sent.clear()
        run = window.service.session.run_cell(source, cell=None)
        window.service.cell_finished(run, 1, reuse=True)
        return wire(sent), run
    first, _ = cell()
    assert [m.type for m in first] == ["graph_structure", "call_values", "cell_finished"]
    shared.calls_of(first, window.kept)
    again, run = cell()
    assert [m.type for m in again] == ["call_values", "cell_finished"]
    assert again[0].structure == first[0].id
    views = shared.calls_of(again, window.kept)
    assert [v.call_data() for v in views] == [records.call_data(c, deferred=i < 4)
                                               for i, c in enumerate(run.backward_calls)]


def test_a_structure_the_window_says_it_lacks_is_sent_whole_again():
    """The window names the ids it keeps in each cell's metadata: a window that lost one
    (a message it could not read) gets the whole graph again and both sides agree anew."""
    d, ids = scaled_sine("rand(4, 30, seed=0)", "0.5")
    window = Window()
    _, first, _ = window.run(script(d))
    sent = []
    window.service.send = sent.append
    d.change_node(ids["c"], value="0.75")
    run = window.service.session.run_cell(script(d), cell=None)
    window.service.cell_finished(run, 1, reuse=True, kept=set())      # it has none
    (call,) = shared.calls_of(wire(sent), shared.Kept())
    assert isinstance(call, schema.CallData) and call.structure != first.structure
    same_as_fresh(call, finished_tensors(sent), script(d))
    sent.clear()
    d.change_node(ids["c"], value="0.25")                              # and then values only again
    run = window.service.session.run_cell(script(d), cell=None)
    window.service.cell_finished(run, 1, reuse=True, kept={call.structure})
    assert [m.type for m in sent] == ["call_values", "cell_finished"] and sent[0].structure == call.structure


def finished_tensors(sent):
    messages = wire(sent)
    calls = shared.calls_of(messages)
    return shared.fill_tensor_values([m for m in messages if m.type == "cell_finished"][-1].tensors, calls)
