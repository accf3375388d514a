"""A node editor's edit, its records fed to a real model, live evaluator and Compare
panel as the window's client feeds them (the kernel's service in this process, its
messages through the wire): the first reply shows the engine and finite differences
at once with the formulas still to come; an edit made before the closed form is back
supersedes the call, and its late records (the derivation, PyTorch's column) never
reach Compare, which says the call was superseded; the newest edit's closed form is
shown when it arrives."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.studio import symbolic
from gradstudio.studio.design import Design
from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class Worker:
    """The symbolic worker in this process (no simplify: the chain form is what is shown)."""

    def derive(self, graph, gradient, leaf_ids, timeout):
        return symbolic.derive_call(graph, gradient, list(leaf_ids), simplify=False)


class Runner:
    """The editor's side of the runner: what it sent, and a client with nothing in flight."""

    class client:
        current_request, queued = None, 0

    def __init__(self):
        self.sent = []
        self.design = None

    def run_design(self, script, design=None):
        self.sent.append(script)
        self.design = design


def seed_design():
    """z = (3·x·x).mean() on a 2×2 x of ones: the tutorial's seed, as nodes."""
    d = Design()
    with d.batch():
        x = d.add_node("leaf", name="x", value="ones(2, 2)", requires_grad=True)
        three = d.add_node("const", value="3")
        mul = d.add_node("op", op="elementwise.MUL")
        y = d.add_node("op", op="elementwise.MUL")
        z = d.add_node("op", op="reduction.MEAN")
        out = d.add_node("output")
        for src, dst, slot in ((x, mul, 0), (x, mul, 1), (mul, y, 0), (three, y, 1), (y, z, 0), (z, out, 0)):
            d.connect(src, dst, slot)
    assert not d.errors, d.errors
    return d, x


def kernel_messages(service, script) -> tuple:
    """(the first reply and what follows it at once, the late records) of one edit's cell."""
    sent = []
    service.send = sent.append
    run = service.session.run_cell(script, cell=None)
    assert run.ok, run.error
    service.cell_finished(run, 1, early_timeout=10.0, numbers_first=True)
    first = len(sent)
    service.check_new_calls(run, 10.0)
    wire = [schema.decode(*schema.encode(message)) for message in sent]
    return wire[:first], wire[first:]


def deliver(model, messages, design=None):
    """What the window's client and runner do with each message (``design``: the key
    the editor's run was sent with, which the runner reads off the request)."""
    for message in messages:
        if isinstance(message, schema.CellFinished):
            model.finish_cell(message.run, message.calls, message.tensors, message.checks, design=design)
            for check in message.checks:
                model.calls.set_check(check)
        elif isinstance(message, schema.Deriving):
            model.calls.set_deriving(message.call)
        elif isinstance(message, schema.CallChecked):
            model.calls.set_check(message.check)
        elif isinstance(message, schema.CallSteps):
            model.calls.set_steps(message.call, message.steps)


def leaf_row(compare, index):
    from gradstudio.ui.panels.compare import ROLE_KIND
    section = compare.sections[index]
    return section, next(section.child(i) for i in range(section.childCount())
                         if section.child(i).data(0, ROLE_KIND) == "leaf")


def test_a_superseded_edit_s_late_records_never_reach_compare(qtbot, monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    from gradstudio.ui.editor.document import EditorDocument
    from gradstudio.ui.editor.live import LiveEvaluator
    from gradstudio.ui.editor.scene import DesignScene
    from gradstudio.ui.model import AppModel
    from gradstudio.ui.panels import PanelContext
    from gradstudio.ui.panels.compare import CHAIN, ENGINE, FD, MARK, SYMBOLIC, ComparePanel

    model = AppModel()
    compare = ComparePanel(PanelContext(model, None, None))
    qtbot.addWidget(compare)
    design, x = seed_design()
    document = EditorDocument(design)
    runner = Runner()
    live = LiveEvaluator(document, DesignScene(document), runner, model, delay_ms=10_000)
    service = KernelService(Session(step_trace=True), lambda message: None)
    service.worker = Worker()
    model.kernel.set_kernel_state("busy")

    live.evaluate_now()
    first, late = kernel_messages(service, runner.sent[-1])
    deliver(model, first, runner.design)
    (old,) = [record.index for record in model.calls.call_list()]
    record = model.calls.call(old)
    assert record.check.provisional and record.pending
    assert record.data.steps is None and record.data.steps_on_request    # (asked for when stepped through)
    section, row = leaf_row(compare, old)
    assert "finite differences agree, deriving…" in section.text(0) and "follow" in section.toolTip(0)
    assert row.text(ENGINE) == row.text(FD) == "1.5 (all 4)" and row.text(MARK) == "✓"
    assert row.text(CHAIN) == row.text(SYMBOLIC) == "deriving…"
    assert live.call_index == old and model.selection.current.call == old

    assert document.set_value(x, "2 * ones(2, 2)") is None      # an edit before the closed form is back
    live.evaluate_now()
    assert record.superseded and not record.pending and len(runner.sent) == 1   # it waits for the kernel
    deliver(model, late, runner.design)                                        # the old call's derivation arrives late
    assert record.check.provisional, "the superseded call's late check was dropped"
    section, row = leaf_row(compare, old)
    assert "superseded" in section.text(0) and row.text(CHAIN) == "superseded"
    assert "3*2*x/4" not in [row.text(c) for c in range(compare.tree.columnCount())]

    model.kernel.set_kernel_state("idle")                       # the old request ended: the edit is sent
    qtbot.waitUntil(lambda: len(runner.sent) == 2, timeout=5000)
    first, late = kernel_messages(service, runner.sent[-1])
    deliver(model, first + late, runner.design)
    (new,) = [record.index for record in model.calls.call_list()]     # it replaced the old call
    assert new != old and not model.calls.call(new).superseded
    assert list(compare.sections) == [new] and compare.tree.topLevelItemCount() == 1
    assert not model.calls.call(new).check.provisional and not model.calls.call(new).pending
    section, row = leaf_row(compare, new)
    assert "all agree" in section.text(0) and row.text(CHAIN) == "3*2*x/4"
    assert row.text(FD) == "3 (all 4)"
    np.testing.assert_allclose(model.calls.call(new).check.leaves[0].symbolic, 3 * np.ones((2, 2)))
    assert live.call_index == new
