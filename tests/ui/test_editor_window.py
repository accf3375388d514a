"""The editor in the window: find/replace and zoom by their shortcuts, files kept byte for byte."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def focused_editor(qtbot, window):
    script = window.panel("script")
    window.activateWindow()
    script.editor.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is script.editor)
    return script


def test_ctrl_f_ctrl_h_f3_and_escape_from_the_editor(qtbot, window, helpers):
    helpers.set_script(window, "x = 1\ny = x + 1\nz = x * y\n")
    script = focused_editor(qtbot, window)
    editor, bar = script.editor, script.find_bar
    editor.go_to_line(1)
    qtbot.keyClick(editor, Qt.Key.Key_F, CTRL)
    assert bar.isVisible() and not bar.replace_shown() and bar.find_field.hasFocus()
    qtbot.keyClicks(bar.find_field, "x")
    assert editor.textCursor().selectionStart() == 0
    qtbot.keyClick(bar.find_field, Qt.Key.Key_Escape)
    assert not bar.isVisible() and editor.hasFocus()
    qtbot.keyClick(editor, Qt.Key.Key_F3)                   # again, without the bar
    assert editor.textCursor().selectionStart() == 10
    qtbot.keyClick(editor, Qt.Key.Key_F3)
    assert editor.textCursor().selectionStart() == 20
    qtbot.keyClick(editor, Qt.Key.Key_F3, SHIFT)
    assert editor.textCursor().selectionStart() == 10
    qtbot.keyClick(editor, Qt.Key.Key_H, CTRL)
    assert bar.isVisible() and bar.replace_shown()
    qtbot.keyClicks(bar.replace_field, "w")
    qtbot.mouseClick(bar.replace_all_button, Qt.MouseButton.LeftButton)
    assert window.model.script.script_text() == "w = 1\ny = w + 1\nz = w * y\n"
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)               # Escape in the editor closes it too
    assert not bar.isVisible()


def test_zoom_keys_scale_editor_console_and_panels_and_ctrl_0_resets(qtbot, window):
    script = focused_editor(qtbot, window)
    editor, console = script.editor, script.console
    tree = window.panel("compare").tree
    sizes = lambda: (editor.font().pointSizeF(), console.font().pointSizeF(), tree.font().pointSizeF())
    normal = sizes()
    qtbot.keyClick(editor, Qt.Key.Key_Equal, CTRL)
    bigger = sizes()
    assert all(b > n for b, n in zip(bigger, normal)), (normal, bigger)
    assert window.zoom.level == 110
    qtbot.keyClick(editor, Qt.Key.Key_Plus, CTRL)
    assert window.zoom.level == 125 and editor.font().pointSizeF() > bigger[0]
    assert editor.tabStopDistance() == 4 * editor.fontMetrics().horizontalAdvance(" "), "tabs follow"
    qtbot.keyClick(editor, Qt.Key.Key_Minus, CTRL)
    assert window.zoom.level == 110 and sizes() == bigger
    qtbot.keyClick(editor, Qt.Key.Key_0, CTRL)
    assert window.zoom.level == 100 and sizes() == normal, "back exactly: no rounding drift"
    wheel = QWheelEvent(QPointF(20, 20), QPointF(editor.mapToGlobal(QPoint(20, 20))), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, CTRL, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(console.viewport(), wheel)
    assert window.zoom.level == 110 and console.font().pointSizeF() == bigger[1], "Ctrl+wheel: the same zoom"


def test_no_two_shortcuts_collide(window):
    owners = {}
    panel_actions = [(f"script.{n}", a) for n, a in window.panel("script").actions.items()]
    for name, action in list(window.actions.items()) + panel_actions:
        for key in action.shortcuts():
            text = key.toString(QKeySequence.SequenceFormat.PortableText)
            assert text not in owners, f"{text} is both {owners[text]} and {name}"
            owners[text] = name
    for key in ("Ctrl+=", "Ctrl++", "Ctrl+-", "Ctrl+0", "Ctrl+F", "Ctrl+H", "F3", "Shift+F3"):
        assert key in owners, key


def test_open_then_save_keeps_the_bytes(qtbot, window, tmp_path):
    """Was: toPlainText() turned U+00A0 into a space and U+2028/U+2029 into newlines."""
    data = ("# %% odd characters\nnbsp = 'a\u00a0b'\nline_sep = 'c\u2028d'\npara_sep = 'e\u2029f'\n"
            "# %%\nprint(len(nbsp), len(line_sep), len(para_sep))\n").encode("utf-8")
    source = tmp_path / "odd.py"
    source.write_bytes(data)
    assert window.open_path(str(source), interactive=False)
    editor = window.panel("script").editor
    assert editor.document().blockCount() == data.count(b"\n") + 1, "U+2029 does not split a line"
    assert editor.marker_blocks() == [0, 4]
    copy = tmp_path / "copy.py"
    assert window.documents.save_as(str(copy))
    assert copy.read_bytes() == data
