"""The window on the IPython kernel when things go wrong: what a script writes on the
kernel's sockets is said in the console and skipped (never unpickled, never run), a
burst of Run presses runs each press once and in order, a run stops at its first
error that is not a failed backward(), and a kernel killed in a cell is reported and
replaced with the editor's text kept."""
from __future__ import annotations

import os
import signal

WRITE_ON_IOPUB = """\
import os, pickle
k = get_ipython().kernel
k.iopub_socket.send_multipart([b"<IDS|MSG>", b"bad-signature", b"{}", b"{}", b"{}", b"{}"])
k.iopub_socket.send_multipart([b"<IDS|MSG>", b"x", pickle.dumps(os.system), b"{}", b"{}", b"{}"])
whole = k.session.serialize(k.session.msg("stream", {"name": "stdout", "text": "never shown"}))
k.iopub_socket.send_multipart(whole[:4])            # half of a signed message
k.iopub_socket.send_multipart([b"no delimiter at all"])
kept = 41
print("after the garbage")
"""


def test_junk_on_iopub_is_reported_in_the_console_and_the_window_carries_on(qtbot, window, helpers):
    pid = window.runner.client.pid
    helpers.set_script(window, "# %%\n" + WRITE_ON_IOPUB + "# %%\nprint(kept + 1)\n")
    window.runner.run_all()
    helpers.wait_idle(qtbot, window)
    text = helpers.console_text(window)
    assert text.count("A message from the kernel could not be read and was skipped") == 4
    assert "Invalid Signature" in text and "never shown" not in text
    assert "after the garbage" in text and "42" in text, "the kernel and its variables are still there"
    assert window.runner.client.pid == pid, "no restart was needed"
    assert not window.reporter.errors


def test_twenty_run_presses_in_a_second_each_run_once_in_order_and_a_run_stops_at_its_error(
        qtbot, window, helpers):
    helpers.set_script(window, "presses = globals().get('presses', 0) + 1\nprint('press', presses)\n")
    for _ in range(20):                       # 20 presses within a second, while the first runs
        window.actions["run_cell"].trigger()
        qtbot.wait(40)
    helpers.wait_idle(qtbot, window)
    text = helpers.console_text(window)
    assert [int(line.split()[1]) for line in text.splitlines() if line.startswith("press ")] == list(range(1, 21))
    assert "In [20]:" in text and "In [21]:" not in text
    # Run all stops at an error that is not a failed backward(): the next cell never runs
    helpers.set_script(window, "# %%\na = 1\nundefined_name\n# %%\nprint('never printed')\n")
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window)
    text = helpers.console_text(window)
    assert "NameError" in text and "never printed" not in text
    assert window.panel("script").editor.error_line == 3
    assert not window.reporter.errors


def test_a_kernel_killed_in_a_cell_is_reported_and_replaced_and_the_editor_keeps_its_text(
        qtbot, window, helpers):
    script = "# %%\nkept = 1\n# %%\nwhile True:\n    pass\n"
    helpers.set_script(window, script)
    window.actions["run_all"].trigger()
    qtbot.waitUntil(lambda: window.model.console.running_cell == 2, timeout=20000)
    killed = window.runner.client.pid
    os.kill(killed, signal.SIGKILL)
    qtbot.waitUntil(lambda: "stopped unexpectedly" in helpers.console_text(window), timeout=20000)
    assert "killed by SIGKILL" in helpers.console_text(window)
    qtbot.waitUntil(lambda: window.model.kernel.kernel_state == "idle", timeout=30000)
    assert window.runner.client.pid != killed and window.model.console.running_cell is None
    assert window.model.script.script_text() == script and window.model.script.is_dirty()
    helpers.set_script(window, "'kept' in dir()\n")
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    assert helpers.console_text(window).rstrip().endswith("False"), "a new kernel, its variables cleared"
