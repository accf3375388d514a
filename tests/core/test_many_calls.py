"""A cell with a few hundred backward calls (a training loop) reaches the window:
the calls that share a graph structure send it once and then only their values
(:mod:`gradstudio.studio.kernel.shared`), and the window's views give back every
call as recorded; the kernel checks the last call and the others when asked."""
from __future__ import annotations

import pytest

from gradstudio.studio.kernel import records, schema, shared
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

LOOP = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(8, 1), torch.randn(8, 1)
for step in range({steps}):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""


def _finish(steps: int) -> list:
    session = Session()
    (run,) = session.run_script(LOOP.format(steps=steps))
    assert run.ok, run.text()
    sent = []
    KernelService(session, send=sent.append).cell_finished(run, 1)
    return sent


def _wire(sent: list) -> list:
    """The messages as the window reads them (encoded and decoded)."""
    return [schema.decode(*schema.encode(message)) for message in sent]


def test_a_200_step_loop_sends_its_graph_structure_once():
    """The 200 calls share one structure: it travels once, each call only its values
    (the old wire carried the whole graph 200 times: 2,400 vertex records, 2.2 MB)."""
    sent = _finish(200)
    assert [m.type for m in sent] == ["graph_structure", "call_values", "cell_finished"]
    structure, values, finished = sent
    assert len(structure.nodes) == 12 and values.structure == structure.id
    assert finished.calls == [] and finished.shared == list(range(200)) and values.calls == list(range(200))
    encoded = [schema.encode(message) for message in sent]
    text = b"".join(bytes(json) for json, _ in encoded)
    assert text.count(b'"type":"node"') == 12                 # one record per vertex, not per vertex and call
    assert sum(len(buffers) for _, buffers in encoded) < 50    # one array per vertex (values, grads), not per call
    size = sum(len(json) + sum(len(b) for b in buffers) for json, buffers in encoded)
    assert size < 220_000, size      # 2.18 MB before, 0.14 MB of it now the values themselves


def test_the_shared_calls_read_back_as_the_records_sent_alone():
    """Each view is the very CallData the kernel would have sent for that call."""
    session = Session()
    (run,) = session.run_script(LOOP.format(steps=30))
    sent = []
    KernelService(session, send=sent.append).cell_finished(run, 1)
    calls = shared.calls_of(_wire(sent))
    deferred = set(range(29))
    alone = [records.call_data(c, deferred=c.index in deferred) for c in run.backward_calls]
    assert [c.index for c in calls] == list(range(30))
    assert all(view == record for view, record in zip(calls, alone))
    assert [g.label for g in calls[-1].groups] == ["Sequential", "Linear(1→3)", "Tanh", "Linear(3→1)"]
    # each call its own values: step 17's loss is not the last step's
    losses = [float(c.graph.nodes[c.graph.root].value) for c in run.backward_calls]
    assert float(calls[17].nodes[calls[17].graph.root].value) == losses[17] != losses[-1]
    assert float(calls[17].root_value()) == losses[17]


def test_a_view_builds_its_graph_record_only_when_asked():
    views = shared.calls_of(_wire(_finish(20)))
    assert all(view._graph is None for view in views)
    assert views[3].check_deferred and views[3].root.name == "loss" and views[3].leaves[0].numeric is not None
    assert all(view._graph is None for view in views)          # the header and leaves built nothing
    assert len(views[3].nodes) == 12 and views[4]._graph is None


def test_calls_that_raised_or_differ_travel_on_their_own():
    session = Session()
    (run,) = session.run_script("import torch\nx = torch.ones(3, requires_grad=True)\n"
                                "for n in (1, 1, 2):\n    (x * n).sum().backward()\n"
                                "for n in (2, 3):\n    (x[:n] * x[:n]).sum().backward()\n"
                                "for n in (2, 3):\n    try:\n        (x * n).backward()\n"
                                "    except RuntimeError:\n        pass\n")
    sent = []
    KernelService(session, send=sent.append).cell_finished(run, 1)
    *_, finished = sent
    # (x * 1) twice and (x * 2): one graph but for a constant's value, so shared; the others not
    assert finished.shared == [0, 1, 2] and [c.index for c in finished.calls] == [3, 4, 5, 6]
    assert [c.status for c in finished.calls] == ["ok", "ok", "error", "error"]


def test_a_cell_with_one_call_of_each_graph_keeps_its_small_graphs_inline():
    session = Session()
    (run,) = session.run_script("import torch\nfor n in (2, 3, 4):\n    x = torch.ones(n, requires_grad=True)\n"
                                "    (x * x).sum().backward()\n")
    sent = []
    KernelService(session, send=sent.append).cell_finished(run, 1)
    assert [type(m) for m in sent] == [schema.CellFinished]
    assert all(call.graph.nodes for call in sent[0].calls) and sent[0].shared == []


def test_values_that_do_not_fit_their_structure_are_refused():
    structure, values, _finished = _wire(_finish(5))
    shared.SharedCalls(structure, values)                          # as sent: fine
    bad = [values.replace(values=[values.values[0][:3], *values.values[1:]]),        # a row missing
           values.replace(values=[v.astype("float64") for v in values.values]),      # another dtype
           values.replace(lines=values.lines[:-1]),
           values.replace(grads=values.grads[:-1]),
           values.replace(structure=structure.id + 1)]
    for wrong in bad:
        with pytest.raises(schema.RecordError):
            shared.SharedCalls(structure, wrong)


# --------------------------------------------------------------------------- checks on request
class CountingWorker:
    """The symbolic worker's ``derive`` without sympy: counts which calls it was asked for."""

    def __init__(self):
        self.derived: list = []

    def derive(self, graph, gradient, leaves, timeout):
        self.derived.append(len(self.derived))
        return {}


def _checked(steps: int, monkeypatch) -> tuple:
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")       # torch's replay is not what is counted here
    session = Session()
    session.step_trace = True           # as for the window: every call keeps its step trace
    (run,) = session.run_script(LOOP.format(steps=steps))
    sent = []
    service = KernelService(session, send=sent.append)
    service.worker = CountingWorker()
    service.cell_finished(run, 1)
    service.check_new_calls(run, 5.0)
    return service, run, sent


def test_a_loop_is_checked_on_its_last_call_the_others_when_asked(monkeypatch):
    service, run, sent = _checked(200, monkeypatch)
    (finished,) = [m for m in sent if isinstance(m, schema.CellFinished)]
    finished = finished.replace(calls=shared.calls_of(sent))
    assert len(finished.calls) == 200                    # every call recorded and sent
    deferred = [c.index for c in finished.calls if c.check_deferred]
    assert deferred == list(range(199))
    assert [c.index for c in finished.calls if c.pending_check] == [199]
    # the deferred calls' step traces stay in the kernel until asked for (1.5 MB of 1.9 MB)
    assert [c.index for c in finished.calls if c.steps is not None] == [199]
    checked = [m.check for m in sent if isinstance(m, schema.CallChecked)]
    assert [c.index for c in checked] == [199] and checked[0].agree     # FD and engine agree
    assert [m.call for m in sent if isinstance(m, schema.Deriving)] == [199]
    assert len(service.worker.derived) == 1              # one derivation, not 200

    sent.clear()
    service.handle({"type": "check", "calls": [17], "timeout": 5.0, "steps": True})   # the window selected #17
    (steps,) = [m for m in sent if isinstance(m, schema.CallSteps)]
    assert steps.call == 17 and steps.steps["events"]
    assert len(steps.steps["events"]) == len(finished.calls[-1].steps["events"])   # the same graph
    assert [m.call for m in sent if isinstance(m, schema.Deriving)] == [17]
    (check,) = [m.check for m in sent if isinstance(m, schema.CallChecked)]
    assert check.index == 17 and check.agree and len(check.leaves) == 4
    assert not any("not derived" in (leaf.note or "") for leaf in check.leaves)
    assert len(service.worker.derived) == 2


def test_calls_of_different_structures_are_all_checked(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    session = Session()
    (run,) = session.run_script("import torch\nfor n in (2, 3, 4):\n    x = torch.ones(n, requires_grad=True)\n"
                                "    (x * x).sum().backward()\n")
    sent = []
    service = KernelService(session, send=sent.append)
    service.worker = CountingWorker()
    service.cell_finished(run, 1)
    service.check_new_calls(run, 5.0)
    (finished,) = [m for m in sent if isinstance(m, schema.CellFinished)]
    assert not any(c.check_deferred for c in finished.calls)
    assert sorted(m.check.index for m in sent if isinstance(m, schema.CallChecked)) == [0, 1, 2]


def test_a_cells_calls_are_grouped_by_structure_once(monkeypatch):
    """cell_finished, its quick checks and check_new_calls share one grouping of the
    cell's calls (~0.1 ms a call: a 200-step loop paid for it three times)."""
    from gradstudio.studio.kernel import service as service_module
    grouped = []
    real = service_module._deferred
    monkeypatch.setattr(service_module, "_deferred", lambda run: grouped.append(run) or real(run))
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    session = Session()
    (run,) = session.run_script(LOOP.format(steps=20))
    sent = []
    service = KernelService(session, send=sent.append)
    service.worker = CountingWorker()
    service.cell_finished(run, 1, early_timeout=5.0)
    service.check_new_calls(run, 5.0)
    assert len(grouped) == 1
    assert [m.check.index for m in sent if isinstance(m, schema.CallChecked)] == [19]
