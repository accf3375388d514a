"""The Plots panel's loss-curve tab: one point per recorded scalar backward call,
in order; a message until there are two."""
from __future__ import annotations

import numpy as np
import pytest

from test_plots_panel import add_calls, panel, recorded_call, settle  # noqa: F401 — the panel fixture

pytestmark = [
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
    pytest.mark.filterwarnings("ignore:Enum value .*AA_UseHighDpiPixmaps:DeprecationWarning"),
]


def _with_loss(index, value):
    call = recorded_call(index)
    nodes = list(call.graph.nodes)
    nodes[3] = nodes[3].replace(value=np.asarray(value, dtype=np.float32))
    return call.replace(graph=call.graph.replace(nodes=nodes))


def test_the_loss_tab_draws_every_scalar_call_in_order(qtbot, panel, tmp_path):  # noqa: F811
    panel.tabs.setCurrentIndex(panel.tabs.count() - 1)
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "Loss curve"
    add_calls(panel, _with_loss(0, 2.0))
    qtbot.waitUntil(lambda: "loss curve" in panel.messages["loss"].text())
    add_calls(panel, _with_loss(1, 0.5), _with_loss(2, 0.125))
    settle(qtbot, panel)
    qtbot.waitUntil(lambda: panel.stacks["loss"].currentWidget() is panel.views.get("loss"))
    ax = panel.views["loss"].canvas.figure.axes[0]
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [2.0, 0.5, 0.125])
    assert ax.get_ylabel() == "z" and ax.get_yscale() == "log"
    panel.grab().save(str(tmp_path / "loss.png"))
