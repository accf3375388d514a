"""Driving the Script panel like a person: type cells, press keys, read the console."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCursor

from gradstudio.ui import theme


def type_lines(qtbot, editor, lines):
    for line in lines:
        qtbot.keyClicks(editor, line)
        qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_type_the_first_tutorial_cells_and_run_them(qtbot, window, helpers):
    editor = window.panel("script").editor
    editor.setFocus()
    type_lines(qtbot, editor, ["# %% Setup", "import torch", "# %% A tensor",
                               "x = torch.ones(2, 2, requires_grad=True)", "print(x)",
                               "y = x + 2", "print(y)", "print(y.grad_fn)"])
    assert window.model.script.is_dirty()
    editor.go_to_line(2)
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)   # run, advance
    assert editor.current_line() == 4, "Shift+Enter moves to the next cell's first line"
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # run this cell
    helpers.wait_idle(qtbot, window)
    text = helpers.console_text(window)
    assert "In [1]: Setup" in text and "In [2]: A tensor" in text
    assert ("tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)\n"
            "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)\n"
            "<AddBackward0 object at 0x") in text
    # no newline was typed by the run keys
    assert window.model.script.script_text().count("\n") == 8
    assert editor.badges == {1: "[1]", 3: "[2]"}
    assert window.model.tensors.by_name["y"].grad_fn == "AddBackward0"


def test_mean_cell_formula_and_check_in_compare(qtbot, window, helpers):
    helpers.set_script(window, "# %%\nimport torch\n# %% mean\n"
                               "x = torch.ones(2, 2, requires_grad=True)\n"
                               "y = x * x * 3\nz = y.mean()\nz.backward()\nx.grad\n")
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window)
    assert "tensor([[1.5000, 1.5000],\n        [1.5000, 1.5000]])" in helpers.console_text(window)
    compare = window.panel("compare")
    section = compare.sections[0]
    assert "z.backward()" in section.text(0) and "MeanBackward0" in section.text(0)
    row = section.child(0)
    from gradstudio.ui.panels.compare import CHAIN, ENGINE, FD, MARK, SIMPLIFIED, SYMBOLIC
    assert row.text(0) == "x"
    assert row.text(CHAIN) == "3*2*x/4"
    assert row.text(SIMPLIFIED) == "3*x/2"
    assert row.text(MARK) == "✓"
    assert row.text(ENGINE) == "1.5 (all 4)" and row.text(SYMBOLIC) == "1.5 (all 4)"
    assert row.text(FD) == "1.5 (all 4)"
    # selecting the row selects x everywhere: the inspector follows
    compare.tree.setCurrentItem(row)
    assert window.model.selection.current.tensor == "x"
    inspector = window.panel("inspector")
    assert inspector.fields["name"].text() == "x"
    assert inspector.fields["shape"].text() == "torch.Size([2, 2])"
    assert inspector.formula_text == "∂/∂x = 3*2*x/4 = 3*x/2"
    assert "1.5000" in inspector.grad.toPlainText()


def test_errors_are_red_with_line_and_hint(qtbot, window, helpers):
    helpers.set_script(window, "import torch\nx = torch.ones(3, requires_grad=True)\ny = x * 2\ny.backward()\n")
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window)
    console = window.panel("script").console
    text = console.toPlainText()
    # IPython's traceback, pointing at the file's line
    assert "RuntimeError: grad can be implicitly created only for scalar outputs" in text
    assert "Cell In[1], line 4" in text and "----> 4 y.backward()" in text
    assert "Hint: backward() needs a scalar: use .sum(), .mean() or pass gradient=" in text
    error_color = QColor(theme.colors(console.palette())["error"])
    hint_color = QColor(theme.colors(console.palette())["hint"])

    def color_at(position):
        cursor = QTextCursor(console.document())
        cursor.setPosition(position + 1)
        return cursor.charFormat().foreground().color()
    assert color_at(text.index("RuntimeError")) == error_color
    assert color_at(text.index("backward() needs a scalar")) == hint_color
    assert window.panel("script").editor.error_line == 4, "the line is marked in the editor"
    # the Compare panel lists the failed call with torch's message
    section = window.panel("compare").sections[0]
    assert "raised" in section.text(0)
    assert "grad can be implicitly created" in section.child(0).text(0)


def test_syntax_error_points_at_the_line(qtbot, window, helpers):
    helpers.set_script(window, "# %%\na = 1\n# %%\nb = (\n")
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window)
    text = helpers.console_text(window)
    assert "Cell In[2], line 4" in text and "SyntaxError: incomplete input" in text
    assert window.panel("script").editor.error_line == 4


def test_interrupt_an_infinite_loop_keeps_the_namespace(qtbot, window, helpers):
    editor = helpers.set_script(window, "# %%\nkept = 41\n# %%\nwhile True:\n    pass\n"
                                        "# %%\nnever = 1\n")
    window.actions["run_all"].trigger()
    qtbot.waitUntil(lambda: window.model.console.running_cell == 2, timeout=20000)
    assert window.actions["interrupt"].isEnabled()
    # the window still responds: the editor takes typing while the loop runs
    editor.moveCursor(editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor, "# typed while running")
    assert window.model.script.script_text().endswith("# typed while running")
    # anything longer than a moment shows progress and a Cancel button in the status bar
    indicator = window.busy_indicator
    qtbot.waitUntil(indicator.isVisible, timeout=3000)
    assert indicator.label.text().startswith("Running In [")
    qtbot.mouseClick(indicator.cancel, Qt.MouseButton.LeftButton)
    helpers.wait_idle(qtbot, window, timeout=5000)
    assert not indicator.isVisible()
    assert "----> 4 while True:" in helpers.console_text(window)
    assert "KeyboardInterrupt" in helpers.console_text(window)
    assert window.runner.client.pids()[0] == window.kernel_pids.pgids[0], "same kernel, not restarted"
    helpers.set_script(window, "print(kept + 1, 'never' in dir())\n")
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    assert helpers.console_text(window).rstrip().endswith("42 False"), "the cells after the interrupted one were skipped"


@pytest.mark.parametrize("script", [
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n{mark}while True:\n    pass\n",
    "{mark}while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n",
], ids=["sigint-ignored", "keyboardinterrupt-caught"])
def test_kernel_ignoring_interrupt_is_replaced(qtbot, window, helpers, script, tmp_path):
    window.runner.client.interrupt_grace_ms = 800
    looping = tmp_path / "looping"
    helpers.set_script(window, script.format(mark=f"open({str(looping)!r}, 'w').close()\n"))
    window.actions["run_cell"].trigger()
    # the interrupt goes once the script is in its loop: an interrupt while the cell is
    # still starting is answered (the cell ends interrupted), which is not this case
    qtbot.waitUntil(lambda: looping.exists() and window.model.console.running_cell == 1, timeout=20000)
    window.actions["interrupt"].trigger()
    assert window.model.kernel.kernel_state == "interrupting"
    qtbot.waitUntil(lambda: len(window.kernel_pids.pgids) == 2, timeout=20000)
    assert "did not respond to Interrupt" in helpers.console_text(window)
    from tests.ui.conftest import wait_gone
    assert not wait_gone(window.kernel_pids.pgids[:1])
    helpers.set_script(window, "1 + 1\n")
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    assert helpers.console_text(window).rstrip().endswith("2")


def test_restart_kernel_clears_variables(qtbot, window, helpers):
    helpers.set_script(window, "import torch\na = torch.ones(1, requires_grad=True)\n(a * 2).sum().backward()\n")
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    assert window.model.calls.records and "a" in window.model.tensors.by_name
    window.actions["restart"].trigger()
    qtbot.waitUntil(lambda: window.model.kernel.kernel_state == "idle", timeout=30000)
    assert not window.model.calls.records and not window.model.tensors.by_name
    assert window.panel("compare").tree.topLevelItemCount() == 0
    assert "Kernel restarted" in helpers.console_text(window)
    helpers.set_script(window, "'a' in dir()\n")
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    text = helpers.console_text(window)
    assert text.rstrip().endswith("False") and "In [1]:" in text.split("Kernel restarted")[1]


def test_a_crashing_kernel_is_reported_and_replaced(qtbot, window, helpers):
    helpers.set_script(window, "import os\nos._exit(7)\n")
    window.actions["run_cell"].trigger()
    qtbot.waitUntil(lambda: "stopped unexpectedly" in helpers.console_text(window), timeout=20000)
    assert "exited with code 7" in helpers.console_text(window)
    qtbot.waitUntil(lambda: window.model.kernel.kernel_state == "idle", timeout=30000)
    helpers.set_script(window, "6 * 7\n")
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    assert helpers.console_text(window).rstrip().endswith("42")


def test_sweep_request_reaches_the_model(qtbot, window, helpers):
    helpers.set_script(window, "import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)\n"
                               "(x ** 3).sum().backward()\n")
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    with qtbot.waitSignal(window.model.sweeps.sweepReady, timeout=30000) as blocker:
        window.runner.request_sweep(0, 0, [1], lo=0.0, hi=2.0, points=5)
    sweep = blocker.args[0]
    assert sweep.error is None and list(sweep.x) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert list(sweep.symbolic) == [0.0, 0.75, 3.0, 6.75, 12.0]
    assert window.model.sweeps.sweep is sweep
