"""The Plots panel's first plot: warmed up while the user reads (matplotlib imported and a
figure drawn off the GUI thread once the window is on screen), and drawn once, at the size
its tab shows it at."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from gradstudio.studio.figures import warm
from gradstudio.ui.panels import plots

from test_plots_panel import add_calls, panel, recorded_call, settle  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
    pytest.mark.filterwarnings("ignore:Enum value .*AA_UseHighDpiPixmaps:DeprecationWarning"),
]


def test_a_tabs_first_plot_is_one_frame_at_the_size_it_is_shown_at(qtbot, panel):  # noqa: F811
    """A tab's canvas is a page of a stack that is not current until its first frame is
    there: it was drawn at matplotlib's default 640×480, then again once shown."""
    add_calls(panel, recorded_call(0))
    settle(qtbot, panel)
    view = panel.views["norms"]
    assert view.draws == 1
    canvas = view.canvas
    assert canvas.fits(canvas.size()) and canvas.frame.width() == round(canvas.width() * canvas.device_pixel_ratio)


def test_warm_up_draws_off_the_gui_thread_and_the_first_plot_is_still_right(qtbot, panel, monkeypatch):  # noqa: F811
    seen = []
    real = warm.warm_up
    monkeypatch.setattr(warm, "warm_up", lambda: (seen.append(threading.current_thread()), real()))
    monkeypatch.setattr(plots, "_warmed", False)        # (once per process: another test may have)
    panel.warm_up()
    assert not panel._plotting_loaded                    # the GUI thread only started it
    qtbot.waitUntil(lambda: panel._plotting_loaded, timeout=60000)
    assert len(seen) == 1 and seen[0] is not threading.main_thread()
    assert set(panel.views) == set(plots.TABS)           # the canvases are made, nothing drawn on them
    assert all(view.draws == 0 for view in panel.views.values())
    assert panel.stacks["norms"].currentWidget() is panel.messages["norms"]

    add_calls(panel, recorded_call(0), recorded_call(1, scale=10.0))
    settle(qtbot, panel)
    heights = [bar.get_height() for bar in panel.norms_plot.bars.patches]
    assert heights == pytest.approx([10 * np.sqrt(15.25), 10 * np.sqrt(1.5), 1.0])
    assert panel.views["norms"].draws == 1
    assert panel.stacks["norms"].currentWidget() is panel.views["norms"]


def test_the_warm_up_figure_takes_the_first_use_costs():
    """It draws a log-scale curve: the tick labels are mathtext, whose parser is built once."""
    from matplotlib.mathtext import MathTextParser
    warm.warm_up()
    assert MathTextParser._parser is not None


def test_the_window_warms_its_panels_up_once_it_is_shown(qtbot, make_window):
    window = make_window(wait=False)
    plots_panel = window.panels["plots"]
    qtbot.waitUntil(lambda: plots_panel._plotting_loaded, timeout=60000)
    assert plots_panel._warm and set(plots_panel.views) == set(plots.TABS)
    assert plots_panel.renders["loss"] == 0               # nothing was plotted: it only got ready
