"""A node editor design's live run replaces the design's previous call in every view:
Compare, the Graph panel's call list, Plots and the selection hold one current call
per open design however many edits come, in the place of the one it replaced; the
replaced call's arrays are released; a script's calls stay; a second design keeps its
own call; the step-through open on the design's call follows the new call at the same
step and says so. First with the kernel's service in this process (its messages
through the wire, as in test_editor_numbers_first), then through the window's real
kernel, typing values into a leaf as a person would."""
from __future__ import annotations

import gc
import json
import weakref

import numpy as np
import pytest

from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

from test_editor_canvas import editor_panel, type_value
from test_editor_features import example_path, whole_check
from test_editor_numbers_first import Runner, Worker, deliver, kernel_messages, leaf_row, seed_design

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class Setup:
    """A real model, Compare, Graph and Plots panels, and the seed design's live evaluator,
    fed by the kernel's service in this process."""

    def __init__(self, qtbot, monkeypatch):
        monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
        from gradstudio.ui.editor.document import EditorDocument
        from gradstudio.ui.editor.live import LiveEvaluator
        from gradstudio.ui.editor.scene import DesignScene
        from gradstudio.ui.model import AppModel
        from gradstudio.ui.panels import PanelContext
        from gradstudio.ui.panels.compare import ComparePanel
        from gradstudio.ui.panels.graph import GraphPanel
        from gradstudio.ui.panels.plots import PlotsPanel
        self.qtbot = qtbot
        self.model = model = AppModel()
        context = PanelContext(model, StepsRunner(self), None)
        self.compare, self.graph, self.plots = ComparePanel(context), GraphPanel(context), PlotsPanel(context)
        for panel in (self.compare, self.graph, self.plots):
            qtbot.addWidget(panel)
        self.service = KernelService(Session(step_trace=True), lambda message: None)
        self.service.worker = Worker()
        self.designs, self.requests = [], []
        for _ in range(2):                    # two designs open, as in two tabs
            design, x = seed_design()
            document = EditorDocument(design)
            runner = Runner()
            live = LiveEvaluator(document, DesignScene(document), runner, model, delay_ms=10_000)
            self.designs.append((document, x, runner, live))

    def edit(self, which: int, value: str):
        """Type ``value`` into design ``which``'s leaf; its run comes back whole."""
        document, x, runner, live = self.designs[which]
        assert document.set_value(x, value) is None
        live.evaluate_now()
        first, late = kernel_messages(self.service, runner.sent[-1])
        deliver(self.model, first + late, runner.design)
        self.model.kernel.set_kernel_state("idle")

    def serve(self, request: dict):
        """A request of the window's, answered by the service and delivered as the client does."""
        from gradstudio.studio.kernel import schema
        sent = []
        self.service.send = sent.append
        assert self.service.handle(request)
        self.requests.append(request)
        deliver(self.model, [schema.decode(*schema.encode(message)) for message in sent])

    def design_sections(self, which: int) -> list:
        live = self.designs[which][3]
        return [i for i in self.compare.sections if self.model.calls.call(i).design == live.key]


class StepsRunner:
    """The Graph panel's runner: the step-through's ``steps`` requests go to the setup's service."""

    def __init__(self, setup):
        self.setup = setup

    def request_steps(self, call: int):
        self.setup.serve({"type": "steps", "calls": [call]})


def graph_calls(graph) -> list:
    return [graph.calls.itemData(i) for i in range(graph.calls.count())]


def test_fifty_edits_leave_one_call_per_design_and_release_the_replaced_arrays(qtbot, monkeypatch):
    s = Setup(qtbot, monkeypatch)
    model, compare = s.model, s.compare
    s.edit(1, "ones(2, 2)")                      # the other tab's design: its own call
    (other,) = model.calls.design_calls(s.designs[1][3].key)
    s.edit(0, "ones(2, 2)")
    first = model.calls.design_calls(s.designs[0][3].key)[0]
    value = weakref.ref(model.calls.call(first).data.graph.nodes[0].value)
    order = list(compare.sections)
    for k in range(1, 51):
        s.edit(0, f"{k} * ones(2, 2)")
    (current,) = model.calls.design_calls(s.designs[0][3].key)
    assert len(model.calls.records) == 2 and set(model.calls.records) == {other, current}
    assert s.design_sections(0) == [current] and s.design_sections(1) == [other]
    # in place: the design's section is where its first call's was, the other design's stays
    assert [compare.tree.topLevelItem(i) for i in range(compare.tree.topLevelItemCount())] == \
        [compare.sections[i] for i in [current if i == first else i for i in order]]
    section, row = leaf_row(compare, current)
    assert "all agree" in section.text(0) and "superseded" not in section.text(0)
    from gradstudio.ui.panels.compare import ENGINE, FD
    assert row.text(ENGINE) == row.text(FD) == "75 (all 4)"           # 3·2·50/4
    assert sorted(graph_calls(s.graph)) == sorted([other, current])
    assert sorted(s.plots.call_picker.itemData(i) for i in range(s.plots.call_picker.count())) == \
        sorted([other, current])
    assert model.selection.current.call == current
    qtbot.wait(50)                               # (the Graph panel's documents are deleted later)
    gc.collect()
    assert value() is None, "the replaced call's arrays are released"


def test_a_script_call_stays_and_a_closed_design_takes_its_call_with_it(qtbot, monkeypatch):
    from gradstudio.ui.model import CallRecord
    s = Setup(qtbot, monkeypatch)
    model = s.model
    s.edit(0, "ones(2, 2)")
    # a typed script's call, recorded as a cell's (no design)
    script = CallRecord(10_000, model.calls.call(model.calls.design_calls(s.designs[0][3].key)[0]).data)
    model.calls.add_many([script])
    for k in range(5):
        s.edit(0, f"{k} * ones(2, 2)")
    assert model.calls.call(10_000) is script and 10_000 in s.compare.sections
    assert len(model.calls.records) == 2
    s.designs[0][3].close()                      # the tab closes
    assert list(model.calls.records) == [10_000] and list(s.compare.sections) == [10_000]
    assert graph_calls(s.graph) == [10_000]


def test_the_step_through_follows_the_design_s_new_call_at_the_same_step(qtbot, monkeypatch):
    from gradstudio.ui.panels.step_view import REPLACED_NOTE
    s = Setup(qtbot, monkeypatch)
    s.edit(0, "ones(2, 2)")
    (old,) = s.model.calls.design_calls(s.designs[0][3].key)
    s.graph.show()
    steps = s.graph.step_view
    steps.show()                                 # the step-through open
    s.graph.show_call(old)
    assert steps.record.index == old and steps.stepper is not None
    steps.go(3)
    s.edit(0, "2 * ones(2, 2)")
    (new,) = s.model.calls.design_calls(s.designs[0][3].key)
    assert s.graph.document.call == new and steps.record.index == new
    assert steps.position == 3 and REPLACED_NOTE in steps.text.toPlainText()
    # the kernel's local derivatives for the new call, answered after it: the step is drawn
    # again, the note stays; the next step drops it
    steps.set_local_derivatives(schema.LocalDerivatives(call=new, derivatives=[]))
    assert steps.position == 3 and REPLACED_NOTE in steps.text.toPlainText()
    steps.step()
    assert steps.position == 4 and REPLACED_NOTE not in steps.text.toPlainText()
    assert graph_calls(s.graph) == [new] and old not in s.graph.documents
    assert s.requests == [{"type": "steps", "calls": [old]}, {"type": "steps", "calls": [new]}]


def test_an_edit_s_step_trace_is_asked_for_when_the_step_through_opens_on_its_call(qtbot, monkeypatch):
    """A node editor's edit leaves its step trace in the kernel: none is asked for while the
    step-through is closed, however many edits come; opening it on the design's call asks once,
    and steps through the trace the kernel recorded (the same events as a script's record carries)."""
    from gradstudio.studio import stepping
    from gradstudio.studio.kernel import records
    from gradstudio.ui.panels.step_view import STEPS_COMING
    s = Setup(qtbot, monkeypatch)
    s.graph.show()
    for k in range(5):
        s.edit(0, f"{k + 1} * ones(2, 2)")
    (current,) = s.model.calls.design_calls(s.designs[0][3].key)
    s.graph.show_call(current)
    steps = s.graph.step_view
    record = s.model.calls.call(current)
    assert record.data.steps is None and record.data.steps_on_request
    assert steps.record is record and steps.stepper is None and s.requests == []
    assert STEPS_COMING in steps.text.toPlainText()
    steps.show()                                 # the user opens the step-through
    assert s.requests == [{"type": "steps", "calls": [current]}]
    assert steps.stepper is not None and steps.record is s.model.calls.call(current)
    kernel_call = next(c for c in s.service.session.backward_calls if c.index == current)
    assert stepping.steps_of(steps.record) == records.steps_data(kernel_call)
    assert len(steps.stepper) == len(records.steps_data(kernel_call)["events"]) > 3
    steps.go(len(steps.stepper) - 1)             # to the end: AccumulateGrad into x
    assert steps.position == len(steps.stepper) - 1
    steps.hide()
    steps.show()                                 # opened again: nothing asked again
    assert len(s.requests) == 1


def test_a_call_the_kernel_no_longer_has_says_it_has_no_trace(qtbot, monkeypatch):
    from gradstudio.ui.panels.step_view import STEPS_COMING
    s = Setup(qtbot, monkeypatch)
    s.edit(0, "ones(2, 2)")
    (current,) = s.model.calls.design_calls(s.designs[0][3].key)
    s.service.session.forget_calls([current])
    s.graph.show()
    steps = s.graph.step_view
    steps.show()
    s.graph.show_call(current)
    assert s.requests == [{"type": "steps", "calls": [current]}] and steps.stepper is None
    assert not s.model.calls.call(current).data.steps_on_request
    assert STEPS_COMING not in steps.text.toPlainText() and "No step trace" in steps.text.toPlainText()


# --------------------------------------------------------------------------- through the window's kernel
def test_typing_a_value_twenty_times_leaves_one_section_with_the_last_value_s_numbers(qtbot, window, helpers):
    from gradstudio.ui.panels.compare import ENGINE, FD
    helpers.set_script(window, "import torch\nw = torch.ones(3, requires_grad=True)\n(w * w).sum().backward()\n")
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    (script,) = [r.index for r in window.model.calls.call_list()]
    panel = editor_panel(qtbot, window)
    tab = panel.open_example(example_path("seed"))
    calls = window.model.calls
    qtbot.waitUntil(lambda: tab.live.call_index is not None and not tab.live.busy(), timeout=60000)
    view = tab.view
    leaf = next(n for n, node in tab.document.design.nodes.items() if node.kind == "leaf")
    for k in range(1, 21):
        type_value(qtbot, view, leaf, f"{k} * ones(2, 2)")
        if k % 5 == 0:                            # now and then the person waits for the numbers
            qtbot.waitUntil(lambda: not tab.live.busy(), timeout=60000)
    qtbot.waitUntil(lambda: not tab.live.busy() and whole_check(calls, tab.live.call_index), timeout=60000)
    current = tab.live.call_index
    assert [r.index for r in calls.call_list()] == [script, current]
    compare = window.panel("compare")
    assert list(compare.sections) == [script, current]
    section, row = leaf_row(compare, current)
    assert row.text(ENGINE) == row.text(FD) == "30 (all 4)"            # 3·2·20/4
    np.testing.assert_allclose(calls.call(current).check.leaves[0].numeric, 30 * np.ones((2, 2)))
    assert graph_calls(window.panel("graph")) == [script, current]
    # the project file holds the design, not its runs (nor the live call's index)
    from gradstudio.studio import project as files
    window.panel("graph").show_call(current)
    saved = json.loads(files.to_json(window.documents.current_project()))
    (entry,) = saved["designs"]["documents"]        # (the empty "design 1" tab is not kept)
    assert "calls" not in saved and "20 * ones(2, 2)" in json.dumps(entry["design"])
    assert saved["view"].get("graph", {}).get("call") is None
    # the kernel dropped the replaced calls too (they travel with the next cell it runs)
    helpers.set_script(window, "from gradstudio.studio.kernel.extension import _EXTENSIONS\n"
                               "(extension,) = _EXTENSIONS.values()\n"
                               "print('kernel holds', [c.index for c in extension.session.backward_calls])\n")
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    assert f"kernel holds {[script, current]}" in helpers.console_text(window)


def test_opening_the_step_through_on_an_edit_s_call_steps_through_its_trace(qtbot, window, helpers):
    """Through the window's real kernel: a node editor's edit comes without its step trace
    (``steps_on_request``); the step-through opened on the design's call asks the kernel for
    it, steps through it, and follows the next edit's call at the same step."""
    from gradstudio.ui.panels.step_view import REPLACED_NOTE
    panel = editor_panel(qtbot, window)
    tab = panel.open_example(example_path("seed"))
    calls = window.model.calls
    qtbot.waitUntil(lambda: tab.live.call_index is not None and not tab.live.busy(), timeout=60000)
    leaf = next(n for n, node in tab.document.design.nodes.items() if node.kind == "leaf")
    type_value(qtbot, tab.view, leaf, "2 * ones(2, 2)")
    qtbot.waitUntil(lambda: not tab.live.busy() and whole_check(calls, tab.live.call_index), timeout=60000)
    current = tab.live.call_index
    assert calls.call(current).data.steps is None and calls.call(current).data.steps_on_request
    graph = window.panel("graph")
    graph.show_call(current)
    steps = graph.step_view
    graph.actions["step_through"].trigger()               # the user opens the step-through (its button)
    assert steps.isVisible()
    qtbot.waitUntil(lambda: steps.stepper is not None, timeout=60000)
    assert steps.record.index == current and calls.call(current).data.steps["events"]
    steps.go(2)
    text = steps.text.toPlainText()
    assert text and "on its way" not in text
    type_value(qtbot, tab.view, leaf, "3 * ones(2, 2)")   # the next edit, the step-through still open
    qtbot.waitUntil(lambda: tab.live.call_index != current and steps.stepper is not None
                    and steps.record.index == tab.live.call_index, timeout=60000)
    assert steps.position == 2 and REPLACED_NOTE in steps.text.toPlainText()
    helpers.wait_idle(qtbot, window, timeout=60000)
