"""Compare's columns at 1440×900 with the two-layer MLP example: every header is whole
and the leaf names are not cut to "…", and still nothing scrolls sideways."""
from __future__ import annotations

import pytest

from gradstudio.ui.panels.compare import COLUMNS, LEAF, LEAF_KEEP

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_mlp_example_headers_and_leaf_names_are_whole(qtbot, window, helpers):
    window.resize(1440, 900)
    qtbot.wait(50)
    helpers.set_script(window, (helpers.tutorial.parent / "two_layer_mlp.py").read_text())
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=120000)
    compare = window.panel("compare")
    window.docks["compare"].raise_()
    qtbot.waitUntil(lambda: not compare.is_busy(), timeout=30000)
    compare._relayout()
    tree, header = compare.tree, compare.tree.header()
    metrics = header.fontMetrics()
    shown = [c for c in range(len(COLUMNS)) if not tree.isColumnHidden(c)]
    for c in shown:
        assert header.sectionSize(c) >= metrics.horizontalAdvance(COLUMNS[c]) + 2 * metrics.averageCharWidth(), \
            (COLUMNS[c], header.sectionSize(c))
    names = tree.sizeHintForColumn(LEAF)
    assert names <= LEAF_KEEP and header.sectionSize(LEAF) >= names      # W1, b1, W2, b2 whole
    assert tree.horizontalScrollBar().maximum() == 0
