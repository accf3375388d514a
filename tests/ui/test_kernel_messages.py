"""What the window does with what comes down the kernel's pipe: records only, never a
pickle; a piece that is not a message is said in the console and skipped, and the
window carries on with the same kernel."""
from __future__ import annotations

import pytest

WRITE_ON_THE_PIPE = """\
import os, pickle, struct, sys
fd = int(sys.argv[2])                         # the kernel's own pipe to the window
def piece(data):
    os.write(fd, struct.pack("!i", len(data)) + data)
piece(pickle.dumps({"type": "cell_finished"}))
from gradstudio.studio.kernel import schema
frame = schema.encode_frame(schema.Done(id=1))
piece(frame[: len(frame) // 2])
kept = 41
print("after the garbage")
"""


def test_a_pickle_and_half_a_frame_are_reported_in_the_console_and_the_window_carries_on(
        qtbot, window, helpers):
    if helpers.jupyter(window):
        pytest.skip("the pipe kernel's pipe (GRADSTUDIO_KERNEL=pipe); the IPython kernel's comm: "
                    "test_jupyter_window.py")
    pid = window.runner.client.pid
    helpers.set_script(window, "# %%\n" + WRITE_ON_THE_PIPE + "# %%\nprint(kept + 1)\n")
    window.runner.run_all()
    helpers.wait_idle(qtbot, window)
    text = helpers.console_text(window)
    assert text.count("A message from the kernel could not be read and was skipped") == 2
    assert "not a frame" in text and "cut short" in text
    assert "after the garbage" in text and "42" in text, "the kernel and its variables are still there"
    assert window.runner.client.pid == pid, "no restart was needed"
    assert not window.reporter.errors
