"""A cell with a few hundred backward calls (a training loop) reaches the window:
the graphs that do not fit in ``CellFinished``'s inline budget travel in their own
messages before it, so no message exceeds the wire's limits, and the window's
join gives back every call as recorded."""
from __future__ import annotations

from gradstudio.studio.kernel import records, schema
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


def test_a_200_step_loop_fits_the_wire_and_joins_back():
    sent = _finish(200)
    for message in sent:
        schema.decode(*schema.encode(message))          # raised "too many buffers" for CellFinished
    *chunks, finished = sent
    assert isinstance(finished, schema.CellFinished) and len(finished.calls) == 200
    inline = records.GRAPH_CHUNK // 12                  # 12-node graphs kept whole in the message
    assert len(chunks) == 200 - inline and all(isinstance(c, schema.GraphChunk) for c in chunks)
    by_call: dict = {}
    for chunk in chunks:
        by_call.setdefault(chunk.call, []).append(chunk.nodes)
    joined = [records.join_graph(call, by_call[call.index]) if call.index in by_call else call
              for call in finished.calls]
    assert all(len(call.graph.nodes) == 12 and call.groups for call in joined)
    assert [g.label for g in joined[-1].groups] == ["Sequential", "Linear(1→3)", "Tanh", "Linear(3→1)"]


def test_a_cell_with_few_calls_keeps_its_small_graphs_inline():
    sent = _finish(records.GRAPH_CHUNK // 12)
    assert [type(m) for m in sent] == [schema.CellFinished]
    assert all(call.graph.nodes for call in sent[0].calls)


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
