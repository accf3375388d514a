"""The window at 1440×900 (a laptop screen), the tutorial run: Compare's columns
all fit its viewport, the Graph's call selector shows its whole title, and the
Inspector keeps its width when a graph node is selected (issue 8) and its share of the
width beside Compare."""
from __future__ import annotations

import pytest

from gradstudio.ui.panels.compare import COLUMNS

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def plots_loaded(qtbot, window):
    """The Plots panel imports matplotlib in a thread; on a loaded machine that can
    outlast the test (and the teardown counts threads left running)."""
    loader = window.panel("plots")._loader
    if loader is not None:
        qtbot.waitUntil(lambda: not loader.is_alive(), timeout=60000)


def test_at_1440x900_compare_fits_the_selector_is_whole_and_the_inspector_keeps_its_width(
        qtbot, window, helpers):
    window.resize(1440, 900)
    qtbot.wait(50)
    helpers.set_script(window, helpers.tutorial.read_text())
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=120000)
    compare = window.panel("compare")
    window.docks["compare"].raise_()
    qtbot.waitUntil(lambda: not compare.is_busy(), timeout=30000)
    compare._relayout()
    header, viewport = compare.tree.header(), compare.tree.viewport()
    shown = [c for c in range(len(COLUMNS)) if not compare.tree.isColumnHidden(c)]
    ends = {COLUMNS[c]: header.sectionViewportPosition(c) + header.sectionSize(c) for c in shown}
    assert max(ends.values()) <= viewport.width(), (ends, viewport.width())
    assert compare.tree.horizontalScrollBar().maximum() == 0

    graph = window.panel("graph")
    for i in range(graph.calls.count()):
        graph.calls.setCurrentIndex(i)
        text = graph.calls.currentText()
        needed = graph.calls.fontMetrics().horizontalAdvance(text)
        assert needed + 24 <= graph.calls.width(), (text, needed, graph.calls.width())

    inspector = window.docks["inspector"]
    width = inspector.width()
    for record in window.model.calls.call_list():
        for node in record.nodes:
            window.model.selection.select(call=record.index, node=node.id)
            qtbot.wait(1)
            assert inspector.width() == width, (node.label, inspector.width(), width)
    window.model.selection.select(tensor="x")
    assert window.panel("inspector").fields["dtype"].text() == "torch.float32"
    plots_loaded(qtbot, window)
    window.model.selection.select(call=0, node=next(n.id for n in window.model.calls.call(0).nodes if n.kind == "op"))
    assert window.panel("inspector").fields["dtype"].text() == "torch.float32"


NUMBERED = """# A header comment block: not a cell that runs.
# It has no code.

# %% two backward calls into one .grad
import torch
r = torch.tensor([-1.0, 2.0], requires_grad=True)
torch.relu(r).sum().backward()
torch.relu(r).sum().backward()
print(r.grad)
"""


def test_gutter_console_and_compare_use_one_numbering_and_say_what_the_engine_column_is(
        qtbot, window, helpers):
    helpers.set_script(window, NUMBERED)
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    editor = window.panel("script").editor
    assert editor.badges == {4: "[1]"}
    console = helpers.console_text(window)
    assert "In [1]: two backward calls into one .grad" in console and "cell 2" not in console
    compare = window.panel("compare")
    sections = [compare.sections[i].text(0) for i in sorted(compare.sections)]
    assert all("In [1], line" in text and "cell" not in text for text in sections), sections
    assert "line 7" in sections[0] and "line 8" in sections[1]
    from gradstudio.ui.panels.compare import ENGINE
    assert compare.tree.headerItem().text(ENGINE) == "Engine (this call)"
    assert "running total" in compare.tree.headerItem().toolTip(ENGINE)
    second = compare.sections[1].child(0)
    tip = second.toolTip(ENGINE)
    assert tip.startswith("This call's contribution to r.grad (what backward #1 added).")
    assert "r.grad now (the running total over the calls so far): [0, 2]" in tip
    # the relu kink: a Piecewise, shown as maths (sympy's pretty print), not as sympy text
    window.model.selection.select(call=1, node=0)
    inspector = window.panel("inspector")
    qtbot.waitUntil(lambda: "=" not in inspector.fields["formula"].text(), timeout=5000)
    shown = inspector.fields["formula"].text()
    assert "Piecewise" not in shown and "Piecewise" in inspector.formula_text
    assert "⎧" in shown or not inspector.fields["formula"].pixmap().isNull()
    assert inspector.formula_label.text() == "∂/∂r"
    plots_loaded(qtbot, window)


def test_at_1440x900_the_inspector_keeps_its_share_and_its_fields_never_overlap(qtbot, window, helpers):
    """Compare's bar once had a minimum width (its buttons' texts) that left the
    Inspector its own minimum, 139 px: "torch.Size([3, 5])" cut to "torch 5])" and a
    long formula drawn over the "value" label below it."""
    from pathlib import Path
    window.resize(1440, 900)
    qtbot.wait(50)
    mlp = Path(helpers.tutorial).with_name("two_layer_mlp.py")
    helpers.set_script(window, mlp.read_text())
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=120000)
    assert window.docks["inspector"].width() >= 0.15 * 1440, window.docks["inspector"].width()
    inspector = window.panel("inspector")
    window.model.selection.select(tensor="W1")
    qtbot.waitUntil(lambda: inspector.fields["shape"].text() == "torch.Size([3, 5])", timeout=10000)
    qtbot.wait(50)
    below = [inspector.fields["formula"], inspector.value_label, inspector.value, inspector.grad_label,
             inspector.grad]
    for upper, lower in zip(below, below[1:]):
        assert upper.geometry().bottom() < lower.geometry().top(), (upper, lower)
    plots_loaded(qtbot, window)
