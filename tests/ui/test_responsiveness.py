"""The GUI thread never blocks: a long symbolic derivation and an infinite loop
run in the kernel while a 10 ms timer measures the event loop's gaps.

This is the one test that asserts a time (issue 4 asks for it): no gap over 100 ms.
"""
from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import QTimer

SLOW = """# %% A derivation sympy needs far longer than 10 s for
import torch
x = torch.randn(6, 6, requires_grad=True)
y = torch.softmax(x @ x @ x, dim=1)
(y * y).sum().backward()
# %% An infinite loop
while True:
    pass
"""


@contextlib.contextmanager
def event_loop_gaps(interval_ms: int = 10):
    """The seconds between consecutive beats of a ``interval_ms`` timer while the block
    runs: a gap much longer than the interval is the event loop stalling."""
    gaps, last = [], [None]

    def beat():
        now = time.perf_counter()
        if last[0] is not None:
            gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(interval_ms)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    try:
        yield gaps
    finally:
        heartbeat.stop()


def test_event_loop_gaps_stay_small(qtbot, window, helpers):
    window.runner.derive_timeout = 10.0
    editor = helpers.set_script(window, SLOW)
    with event_loop_gaps() as gaps:
        window.actions["run_all"].trigger()
        qtbot.waitUntil(lambda: window.model.call(0) is not None and window.model.call(0).deriving,
                        timeout=20000)
        started = time.perf_counter()
        editor.moveCursor(editor.textCursor().MoveOperation.End)
        qtbot.keyClicks(editor, "# the editor takes typing meanwhile")
        qtbot.waitUntil(lambda: window.model.running_cell == 2, timeout=40000)
        derivation_seconds = time.perf_counter() - started
        qtbot.wait(1000)
        window.actions["interrupt"].trigger()
        helpers.wait_idle(qtbot, window, timeout=5000)
    assert derivation_seconds > 8, "the derivation really ran for about 10 s"
    note = window.model.call(0).check["leaves"][0]["note"]
    assert "timed out after 10 s" in note
    assert "KeyboardInterrupt" in helpers.console_text(window)
    assert window.model.script_text().endswith("# the editor takes typing meanwhile")
    assert len(gaps) > 500
    worst = max(gaps)
    assert worst < 0.100, f"the event loop stalled for {worst * 1000:.0f} ms"


def test_a_two_thousand_node_graph_arrives_without_a_stall(qtbot, window, helpers):
    helpers.set_script(window, "import torch\nx = torch.randn(3, requires_grad=True)\ny = x\n"
                               "for i in range(1000):\n    y = y * 1.001\ny.sum().backward()\n")
    with event_loop_gaps() as gaps:
        window.actions["run_cell"].trigger()
        helpers.wait_idle(qtbot, window, timeout=60000)
    assert len(window.model.call(0).nodes) == 2002
    assert window.model.call(0).check["agree"]
    worst = max(gaps)
    assert worst < 0.100, f"the event loop stalled for {worst * 1000:.0f} ms"
