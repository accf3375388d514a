"""The GUI thread never blocks: a long symbolic derivation and an infinite loop
run in the kernel, and a 2,000-node graph arrives, while a 10 ms heartbeat
measures the GUI thread's own work between beats.

What is asserted is CPU time of the GUI thread (``time.thread_time()``, see
``gui_work_between_beats`` in conftest), never wall-clock gaps: on a loaded
2-core machine the scheduler alone stretches gaps past 100 ms (issue 8: 161 ms
in a full run, passing alone). Wall-clock figures are in
``benchmarks/responsiveness.py``. A blocking wait would not show as CPU time;
the kernel client cannot block (it reads only when a QSocketNotifier says
data is there), and the console, interrupt and typing checks below would fail.
"""
from __future__ import annotations

import time

SLOW = """# %% A derivation sympy needs far longer than 10 s for (cumsum has no matrix-form
# rule, so sympy works per element; softmax(x @ x @ x) alone now has a matrix form in 3 s)
import torch
x = torch.randn(6, 6, requires_grad=True)
y = torch.softmax((x @ x @ x).cumsum(0), dim=1)
(y * y).sum().backward()
# %% An infinite loop
while True:
    pass
"""


def test_event_loop_gaps_stay_small(qtbot, window, helpers):
    window.runner.derive_timeout = 10.0
    editor = helpers.set_script(window, SLOW)
    with helpers.gui_work_between_beats() as work:
        window.actions["run_all"].trigger()
        qtbot.waitUntil(lambda: window.model.calls.call(0) is not None and window.model.calls.call(0).deriving,
                        timeout=20000)
        started = time.perf_counter()
        editor.moveCursor(editor.textCursor().MoveOperation.End)
        qtbot.keyClicks(editor, "# the editor takes typing meanwhile")
        qtbot.waitUntil(lambda: window.model.console.running_cell == 2, timeout=40000)
        derivation_seconds = time.perf_counter() - started
        qtbot.wait(1000)
        window.actions["interrupt"].trigger()
        helpers.wait_idle(qtbot, window, timeout=5000)
    assert derivation_seconds > 8, "the derivation really ran for about 10 s"
    note = window.model.calls.call(0).check.leaves[0].note
    assert "timed out after 10 s" in note
    assert "KeyboardInterrupt" in helpers.console_text(window)
    assert window.model.script.script_text().endswith("# the editor takes typing meanwhile")
    assert len(work) > 100
    worst = max(work)
    assert worst < 0.100, f"the GUI thread worked {worst * 1000:.0f} ms between two beats"


def test_a_two_thousand_node_graph_arrives_without_a_stall(qtbot, window, helpers):
    helpers.set_script(window, "import torch\nx = torch.randn(3, requires_grad=True)\ny = x\n"
                               "for i in range(1000):\n    y = y * 1.001\ny.sum().backward()\n")
    with helpers.gui_work_between_beats() as work:
        window.actions["run_cell"].trigger()
        helpers.wait_idle(qtbot, window, timeout=60000)
    assert len(window.model.calls.call(0).nodes) == 2002
    assert window.model.calls.call(0).check.agree
    worst = max(work)
    assert worst < 0.100, f"the GUI thread worked {worst * 1000:.0f} ms between two beats"


def test_gui_work_counts_the_gui_threads_cpu_and_not_sleep(qtbot, helpers):
    from PySide6.QtCore import QTimer
    burn = QTimer(singleShot=True, interval=50)
    nap = QTimer(singleShot=True, interval=80)

    def busy():
        end = time.thread_time() + 0.15
        while time.thread_time() < end:
            pass

    burn.timeout.connect(busy)
    nap.timeout.connect(lambda: time.sleep(0.3))
    with helpers.gui_work_between_beats() as work:
        burn.start()
        nap.start()
        qtbot.wait(700)
    assert max(work) >= 0.15                    # the busy event is seen whole
    assert sorted(work)[-2] < 0.1               # the sleeping one costs no CPU
