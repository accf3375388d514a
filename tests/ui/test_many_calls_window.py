"""A training loop's 200 backward calls in the window: every call listed, the
expensive work only for the call looked at. The kernel checks a loop's last call
and marks the others ``check_deferred``; selecting one asks for its check —
coalesced, one request in flight, the newest wanted call next (ui/lazy_checks);
Compare builds a deferred call's rows only when it is looked at; the panels take
one cell's calls as one batch (``callsAdded``)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.schema import CheckData, LeafCheckData, RunData
from gradstudio.ui.model import AppModel
from gradstudio.ui.panels import PanelContext
from gradstudio.ui.panels.compare import ComparePanel
from gradstudio.ui.panels.plots import PlotsPanel
from gradstudio.ui.runner import Runner

from test_plots_panel import recorded_call, settle

pytestmark = [
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
    pytest.mark.filterwarnings("ignore:Enum value .*AA_UseHighDpiPixmaps:DeprecationWarning"),
]

STEPS = 200


class FakeClient(QObject):
    """The kernel client's signals; ``submit`` keeps the requests (nothing answers them)."""

    message, ready, cellStarted, cellFinished, deriving = (Signal(object) for _ in range(5))
    callChecked, tensorsReceived, sweepReceived, requestDone = (Signal(object) for _ in range(4))
    kernelError, badMessage, died, restarted, stateChanged = (Signal(str) for _ in range(5))
    busyChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.busy, self.state, self.submitted = False, "idle", []

    def submit(self, request):
        self.submitted.append(request)


def loop_calls(steps: int = STEPS) -> list:
    """What the kernel sends for a loop: every call but the last one's check deferred."""
    return [recorded_call(i).replace(check_deferred=i < steps - 1, pending_check=i == steps - 1)
            for i in range(steps)]


def check_of(call) -> CheckData:
    leaf = call.leaves[0]
    return CheckData(index=call.index, agree=True, leaves=[LeafCheckData(
        name=leaf.name, vertex=leaf.vertex, shape=leaf.shape, numeric=leaf.numeric,
        finite_difference=leaf.numeric, agree=True)])


@pytest.fixture
def app(qtbot):
    threads = set(threading.enumerate())
    model = AppModel()
    client = FakeClient()
    runner = Runner(model, client)
    compare = ComparePanel(PanelContext(model, runner, None))
    plots = PlotsPanel(PanelContext(model, runner, None))
    for widget in (compare, plots):
        qtbot.addWidget(widget)
        widget.resize(900, 600)
        widget.show()
    calls = loop_calls()
    model.finish_cell(RunData(cell=1, execution_count=1, backward_calls=list(range(STEPS))), calls, [])
    client.callChecked.emit(check_of(calls[-1]))        # the kernel's check of the last call
    yield model, client, runner, compare, plots, calls
    settle(qtbot, plots)
    # matplotlib's and mathtext's background imports end before the check that nothing is left running
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t not in threads and t.is_alive()],
                    timeout=60000)


def checks_asked(client) -> list:
    return [request["calls"] for request in client.submitted if request["type"] == "check"]


def test_every_call_is_listed_and_only_the_last_ones_rows_are_built(app):
    model, client, runner, compare, plots, calls = app
    assert len(compare.sections) == STEPS and plots.call_picker.count() == STEPS
    with_rows = [index for index, section in compare.sections.items() if section.childCount()]
    assert with_rows == [STEPS - 1]
    assert "checked when selected" in compare.sections[3].text(0)
    assert "checked when you select it" in compare.sections[3].toolTip(0)
    assert "all agree" in compare.sections[STEPS - 1].text(0)
    assert runner.is_idle() and checks_asked(client) == []      # nothing waits for the 199 others


def test_selecting_calls_asks_for_their_checks_coalesced(app):
    model, client, runner, compare, plots, calls = app
    leaf = calls[0].leaves[0].vertex
    model.selection.select(call=3, node=leaf)
    assert checks_asked(client) == [[3]]
    assert model.calls.call(3).pending and not runner.is_idle()
    assert compare.sections[3].childCount() and compare.sections[3].isExpanded()    # rows, "deriving…"
    for index in (5, 7, 9):                               # clicking on while #3 is checked
        model.selection.select(call=index, node=leaf)
    assert checks_asked(client) == [[3]]                  # one request in flight
    assert [i for i in (5, 7) if model.calls.call(i).pending] == []       # superseded, not queued
    assert model.calls.call(9).pending
    client.callChecked.emit(check_of(calls[3]))
    client.requestDone.emit(schema.Done(id=None, request="check"))
    assert checks_asked(client) == [[3], [9]]             # then the newest wanted one
    assert model.calls.call(3).check is not None and "all agree" in compare.sections[3].text(0)
    assert model.calls.call(5).deferred and "checked when selected" in compare.sections[5].text(0)
    client.requestDone.emit(schema.Done(id=None, request="check"))   # #9's request failed: no check came
    assert not model.calls.call(9).pending and model.calls.call(9).deferred and runner.is_idle()
    model.selection.select(call=STEPS - 1, node=leaf)       # already checked: nothing to ask
    assert checks_asked(client) == [[3], [9]] and runner.lazy_checks.requested == [3, 9]
    assert all(request.get("steps") for request in client.submitted)    # with the step traces


def test_a_deferred_calls_step_trace_arrives_with_its_check(app):
    model, client, runner, compare, plots, calls = app
    arrived = []
    model.calls.callStepsArrived.connect(arrived.append)
    assert model.calls.call(3).data.steps is None
    client.message.emit(schema.CallSteps(call=3, steps={"events": [{"kind": "start"}]}))
    assert arrived == [3] and model.calls.call(3).data.steps == {"events": [{"kind": "start"}]}


def test_an_interrupt_that_drops_the_queued_check_leaves_nothing_waiting(app):
    model, client, runner, compare, plots, calls = app
    model.selection.select(call=4, node=calls[0].leaves[0].vertex)
    assert not runner.is_idle()
    client.busyChanged.emit(False)                        # the queue was cleared: no answer will come
    assert runner.is_idle() and model.calls.call(4).deferred


def test_expanding_a_deferred_call_builds_its_rows(app):
    model, client, runner, compare, plots, calls = app
    section = compare.sections[10]
    assert not section.childCount()
    section.setExpanded(True)
    assert section.childCount() and checks_asked(client) == []


def test_picking_a_call_in_the_graph_panels_list_asks_for_its_check(qtbot, app):
    from gradstudio.ui.panels.graph import GraphPanel
    model, client, runner, compare, plots, calls = app
    graph = GraphPanel(PanelContext(model, runner, None))
    qtbot.addWidget(graph)
    assert graph.calls.count() == STEPS                      # the Calls list: every call
    graph.calls.setCurrentIndex(graph.calls.findData(5))     # as the user picks it
    assert checks_asked(client) == [[5]] and graph.document.call == 5


LOOP = """import torch
x = torch.tensor([1.0, 2.0, 3.0, 4.0])
y = 2 * x
w = torch.tensor(0.5, requires_grad=True)
for step in range(200):
    loss = ((w * x - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.01 * w.grad
    w.grad.zero_()
"""


def test_a_200_call_loop_in_the_window(qtbot, window, helpers):
    from gradstudio.ui.panels.plots import TABS
    plots, graph = window.panel("plots"), window.panel("graph")
    window.docks["plots"].raise_()           # in front of Compare: a panel behind a tab draws nothing
    plots.tabs.setCurrentIndex(TABS.index("loss"))
    checked, derived = [], []
    window.runner.client.callChecked.connect(checked.append)
    window.runner.client.deriving.connect(derived.append)
    helpers.set_script(window, LOOP)
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=120000)
    qtbot.waitUntil(lambda: not plots.is_busy() and "loss" in plots.views, timeout=60000)
    records = window.model.calls.call_list()
    assert len(records) == 200 and graph.calls.count() == 200          # every call recorded and listed
    (line,) = plots.views["loss"].canvas.figure.axes[0].get_lines()
    assert len(line.get_ydata()) == 200                                 # the loss curve: every step
    last = records[-1]
    assert last.check is not None and last.check.agree                 # Compare's ✓ on the last call
    assert "all agree" in window.panel("compare").sections[last.index].text(0)
    assert [c.index for c in checked] == [last.index]                  # one check, one derivation
    assert [d.call for d in derived] == [last.index]
    assert sum(r.deferred for r in records) == 199


# --------------------------------------------------------------------------- a loop's calls on the comm
SHARED_LOOP = """import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(8, 1), torch.randn(8, 1)
for step in range(30):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
"""


def kernel_messages(script: str = SHARED_LOOP) -> tuple:
    """What the kernel's service sends for ``script``'s one cell (made in this process),
    and the session's recorded calls."""
    from gradstudio.studio.kernel.service import KernelService
    from gradstudio.studio.session import Session
    session = Session()
    (run,) = session.run_script(script)
    sent = []
    KernelService(session, send=sent.append).cell_finished(run, 1)
    return sent, session.backward_calls


def on_the_comm(client, message):
    """``message`` as the client reads it off the comm (encoded, then decoded)."""
    from gradstudio.studio.kernel import codec
    from gradstudio.studio.kernel.bridge import DATA_KEY
    text, buffers = codec.encode(message)
    client._on_comm({"content": {"data": {DATA_KEY: text}}, "buffers": buffers})


@pytest.fixture
def comm_window(qtbot):
    """A real kernel client (never started: the comm is fed by hand), the runner, Compare and Plots."""
    from gradstudio.ui.jupyter_client import JupyterClient
    model = AppModel()
    client = JupyterClient()
    client.submitted = []
    client.submit = client.submitted.append         # (a request would start a kernel)
    runner = Runner(model, client)
    notices = []
    model.console.notice.connect(lambda kind, text: notices.append((kind, text)))
    plots = PlotsPanel(PanelContext(model, runner, None))
    qtbot.addWidget(plots)
    yield model, runner, notices, plots
    settle(qtbot, plots)


def test_a_selected_deferred_call_shows_its_own_values(comm_window):
    model, runner, notices, plots = comm_window
    sent, recorded = kernel_messages()
    assert [m.type for m in sent] == ["graph_structure", "call_values", "cell_finished"]
    for message in sent:
        on_the_comm(runner.client, message)
    records = model.calls.call_list()
    assert [r.index for r in records] == list(range(30)) and not notices
    assert sum(r.deferred for r in records) == 29
    losses = [float(call.graph.nodes[call.graph.root].value) for call in recorded]
    from gradstudio.studio.figures import loss_curve
    assert [v for _, v in loss_curve.points([r.data for r in records])[1]] == pytest.approx(losses)
    root = recorded[17].graph.root
    model.selection.select(call=17, node=root)
    assert [r["calls"] for r in runner.client.submitted] == [[17]]          # its check asked for
    assert float(model.selection.selected_node().value) == losses[17] != losses[-1]
    weight = recorded[17].leaves[0]
    assert np.array_equal(model.calls.call(17).data.leaves[0].numeric, weight.grad)
    assert not np.array_equal(model.calls.call(17).data.leaves[0].numeric, recorded[-1].leaves[0].grad)


def test_values_of_an_unknown_or_mismatched_structure_are_said_and_skipped(comm_window):
    model, runner, notices, plots = comm_window
    finished_cells = []
    model.console.cellRunFinished.connect(finished_cells.append)
    (structure, values, finished) = kernel_messages()[0]
    on_the_comm(runner.client, values)                       # its structure never came
    on_the_comm(runner.client, finished)
    assert len(finished_cells) == 1 and model.calls.call_list() == []       # the cell ends; no call shown
    assert len(notices) == 1 and notices[0][0] == "error"
    assert "name graph structure 1, which never came" in notices[0][1] and "#0…#29" in notices[0][1]

    notices.clear()
    on_the_comm(runner.client, structure)
    on_the_comm(runner.client, values.replace(values=values.values[:-1]))     # a vertex's values missing
    on_the_comm(runner.client, finished)
    assert len(finished_cells) == 2 and model.calls.call_list() == []
    assert len(notices) == 1 and "11 values for 12 in the structure" in notices[0][1]

    notices.clear()
    on_the_comm(runner.client, finished)            # the values never came at all
    assert len(notices) == 1 and "backward calls #0…#29 of this cell did not arrive" in notices[0][1]
