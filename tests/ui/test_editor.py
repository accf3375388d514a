"""The script editor's keys, driven like a person (no kernel: the widget alone)."""
from __future__ import annotations

import random
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QVBoxLayout, QWidget

from gradstudio.studio.session import CELL_MARKER
from gradstudio.ui.widgets.code_editor import CodeEditor
from gradstudio.ui.widgets.find_bar import FindBar

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def editor(qtbot):
    widget = CodeEditor()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    widget.setFocus()
    return widget


def put(editor, text: str, line: int = 1, column: int = 0):
    editor.setPlainText(text)
    block = editor.document().findBlockByNumber(line - 1)
    cursor = editor.textCursor()
    cursor.setPosition(block.position() + column)
    editor.setTextCursor(cursor)


def select_lines_with_keys(qtbot, editor, first: int, count: int):
    """Cursor to the start of ``first``, then Shift+Down ``count`` times."""
    put(editor, editor.toPlainText(), first)
    for _ in range(count):
        qtbot.keyClick(editor, Qt.Key.Key_Down, SHIFT)


# --------------------------------------------------------------------------- indentation
def test_tab_on_a_selection_indents_the_lines_and_shift_tab_dedents_them(qtbot, editor):
    put(editor, "a = 1\nb = 2\n\nc = 3\n")
    select_lines_with_keys(qtbot, editor, 1, 3)      # lines 1–3 (the selection ends at line 4's start)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "    a = 1\n    b = 2\n\nc = 3\n", "indented, not replaced"
    assert editor.textCursor().hasSelection(), "the lines stay selected, so Tab can be repeated"
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "        a = 1\n        b = 2\n\nc = 3\n"
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)
    assert editor.toPlainText() == "    a = 1\n    b = 2\n\nc = 3\n"
    editor.undo()
    assert editor.toPlainText() == "        a = 1\n        b = 2\n\nc = 3\n", "one undo step per key"


def test_shift_tab_dedents_the_cursor_line_and_keeps_the_cursor_on_its_text(qtbot, editor):
    put(editor, "if x:\n        y = 1\n", line=2, column=10)          # the cursor after "y "
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)
    assert editor.toPlainText() == "if x:\n    y = 1\n"
    assert editor.textCursor().positionInBlock() == 6
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)       # nothing left to take: no change
    assert editor.toPlainText() == "if x:\ny = 1\n"
    put(editor, "   z\n")                                   # odd spaces go back to a multiple of four
    qtbot.keyClick(editor, Qt.Key.Key_Backtab, SHIFT)
    assert editor.toPlainText() == "z\n"


def test_tab_without_a_selection_inserts_four_spaces(qtbot, editor):
    put(editor, "x", column=0)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "    x"


def test_enter_indents_after_a_colon_and_dedents_after_return_pass_break_continue_raise(qtbot, editor):
    put(editor, "")
    for text in ("def f(x):", "if x:", "return 1", "for i in range(3):", "if i:", "break",
                 "while True:", "continue", "try:", "raise ValueError", "except ValueError:",
                 "pass", "y = 2"):
        qtbot.keyClicks(editor, text)
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.toPlainText() == (
        "def f(x):\n"
        "    if x:\n"
        "        return 1\n"
        "    for i in range(3):\n"
        "        if i:\n"
        "            break\n"
        "        while True:\n"
        "            continue\n"
        "        try:\n"
        "            raise ValueError\n"
        "        except ValueError:\n"
        "            pass\n"
        "        y = 2\n"
        "        ")
    editor.undo()
    assert editor.toPlainText().endswith("y = 2"), "the new line and its indent are one undo step"


def test_returned_is_not_return(qtbot, editor):
    put(editor, "")
    qtbot.keyClicks(editor, "    returned = 1")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.toPlainText() == "    returned = 1\n    "


# --------------------------------------------------------------------------- comments
def test_ctrl_slash_toggles_comments_on_the_line_and_on_a_selection(qtbot, editor):
    put(editor, "if x:\n    y = 1\n\n    z = 2\nw = 3\n", line=2, column=5)
    qtbot.keyClick(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText() == "if x:\n    # y = 1\n\n    z = 2\nw = 3\n"
    assert editor.textCursor().positionInBlock() == 7, "the cursor stays on its character"
    qtbot.keyClick(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText() == "if x:\n    y = 1\n\n    z = 2\nw = 3\n"
    select_lines_with_keys(qtbot, editor, 2, 3)             # lines 2–4, the blank one included
    qtbot.keyClick(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText() == "if x:\n    # y = 1\n\n    # z = 2\nw = 3\n", \
        "at the common indentation, blank lines left alone"
    qtbot.keyClick(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText() == "if x:\n    y = 1\n\n    z = 2\nw = 3\n"


def test_ctrl_slash_comments_a_mix_of_code_and_comments(qtbot, editor):
    put(editor, "# note\nx = 1\n")
    select_lines_with_keys(qtbot, editor, 1, 2)
    qtbot.keyClick(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.toPlainText() == "# # note\n# x = 1\n", "not every line is a comment: comment all"


# --------------------------------------------------------------------------- find and replace
@pytest.fixture
def find(qtbot, editor):
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.addWidget(editor)
    bar = FindBar(editor)
    layout.addWidget(bar)
    qtbot.addWidget(box)
    box.show()
    yield bar
    del box


def selection(editor):
    cursor = editor.textCursor()
    return cursor.selectionStart(), cursor.selectedText()


def test_find_next_previous_and_wrap_around(qtbot, editor, find):
    put(editor, "grad = 1\nx.grad\nGrad\nno_grad()\n", line=2)
    find.open()
    assert find.isVisible() and find.find_field.hasFocus() and not find.replace_shown()
    qtbot.keyClicks(find.find_field, "grad")                # searches as you type, from the cursor
    assert selection(editor) == (11, "grad")
    qtbot.keyClick(find.find_field, Qt.Key.Key_Return)      # "Grad" matches without Match case
    assert selection(editor) == (16, "Grad")
    qtbot.keyClick(find.find_field, Qt.Key.Key_Return)
    assert selection(editor) == (24, "grad")
    qtbot.keyClick(find.find_field, Qt.Key.Key_Return)      # past the end: back to the top
    assert selection(editor) == (0, "grad")
    assert "Wrapped" in find.status.text()
    qtbot.keyClick(find.find_field, Qt.Key.Key_Return, SHIFT)   # previous, wrapping to the end
    assert selection(editor) == (24, "grad")
    qtbot.mouseClick(find.match_case, Qt.MouseButton.LeftButton)     # the match stays selected
    assert selection(editor) == (24, "grad")
    qtbot.mouseClick(find.previous_button, Qt.MouseButton.LeftButton)
    assert selection(editor) == (11, "grad"), "with Match case, Grad is skipped"
    qtbot.keyClicks(find.find_field, "ient")
    assert find.status.text() == "No matches"
    qtbot.keyClick(find.find_field, Qt.Key.Key_Escape)
    assert not find.isVisible() and editor.hasFocus()


def test_find_starts_with_the_selected_text(qtbot, editor, find):
    put(editor, "alpha beta alpha")
    cursor = editor.textCursor()
    cursor.setPosition(6)
    cursor.setPosition(10, QTextCursor.MoveMode.KeepAnchor)
    editor.setTextCursor(cursor)
    find.open()
    assert find.find_field.text() == "beta"


def test_replace_and_replace_all(qtbot, editor, find):
    put(editor, "x = a + a\ny = A * a\n")
    find.open(replace=True)
    assert find.replace_shown()
    qtbot.keyClicks(find.find_field, "a")
    assert selection(editor) == (4, "a")
    qtbot.keyClicks(find.replace_field, "bb")
    qtbot.mouseClick(find.replace_button, Qt.MouseButton.LeftButton)
    assert editor.toPlainText() == "x = bb + a\ny = A * a\n"
    assert selection(editor) == (9, "a"), "replace moves on to the next match"
    qtbot.mouseClick(find.match_case, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(find.replace_all_button, Qt.MouseButton.LeftButton)
    assert editor.toPlainText() == "x = bb + bb\ny = A * bb\n", "A kept: Match case is on"
    assert find.status.text() == "Replaced 2"
    editor.undo()
    assert editor.toPlainText() == "x = bb + a\ny = A * a\n", "Replace All is one undo step"


# --------------------------------------------------------------------------- cells
def full_scan(editor) -> list:
    block, found = editor.document().firstBlock(), []
    while block.isValid():
        if CELL_MARKER.match(block.text()):
            found.append(block.blockNumber())
        block = block.next()
    return found


def test_cell_index_follows_every_kind_of_edit(qtbot, editor):
    rng = random.Random(8)
    lines = []
    for i in range(400):
        lines.append("# %% cell" if rng.random() < 0.1 else f"x{i} = {i}")
    put(editor, "\n".join(lines))
    assert editor.marker_blocks() == full_scan(editor)
    pieces = ["\n", "# %%", "# %% t\n", "y = 1\n", "\n\n", "#", "%", " ", "z"]
    for step in range(300):
        cursor = editor.textCursor()
        length = editor.document().characterCount() - 1
        start = rng.randrange(0, length + 1)
        cursor.setPosition(start)
        if rng.random() < 0.4:
            cursor.setPosition(min(length, start + rng.randrange(0, 40)), QTextCursor.MoveMode.KeepAnchor)
        editor.setTextCursor(cursor)
        action = rng.random()
        if action < 0.6:
            qtbot.keyClicks(editor, rng.choice(pieces).replace("\n", ""))
            if rng.random() < 0.3:
                qtbot.keyClick(editor, Qt.Key.Key_Return)
        elif action < 0.8:
            qtbot.keyClick(editor, Qt.Key.Key_Backspace)
        elif action < 0.9:
            editor.insertPlainText(rng.choice(pieces) * rng.randrange(1, 4))
        else:
            editor.undo()
        assert editor.marker_blocks() == full_scan(editor), f"step {step}"
        first, last = editor.cell_range(editor.textCursor().blockNumber())
        assert first in [0] + full_scan(editor)
    editor.setPlainText("\n".join(lines[:50]) + "\n# %% big\n" + "a = 1\n" * 3000)
    assert editor.marker_blocks() == full_scan(editor), "a big insertion takes the bulk path"


def test_a_u2029_in_the_text_is_not_a_line_break(qtbot):
    from gradstudio.ui.model import AppModel
    model = AppModel()
    text = "a = '\u00a0'\nb = '\u2028'\nc = '\u2029'\n# %%\nd = 1\n"
    model.script.set_script(text, None)
    assert model.script.script_text() == text, "open → read back: every character as it was"
    assert model.script.document.blockCount() == text.count("\n") + 1, "line numbers match Python's"
    assert [c.first_line for c in model.script.cells()][-1] == 4


# --------------------------------------------------------------------------- cost
def gui_work(app, action) -> float:
    """GUI-thread CPU seconds for ``action`` and the events it posts."""
    start = time.thread_time()
    action()
    app.processEvents()
    return time.thread_time() - start


def big_cell(lines: int) -> str:
    return "# %% one cell\n" + "".join(f"x{i} = torch.ones({i % 9}) * 2  # a comment\n" for i in range(lines))


def many_cells(cells: int) -> str:
    return "".join(f"# %% cell {i}\nx = {i}\n" for i in range(cells))


@pytest.mark.parametrize("make, small, large", [(big_cell, 1_000, 50_000), (many_cells, 500, 30_000)])
def test_moving_and_typing_cost_the_same_in_a_huge_script(qtbot, make, small, large):
    """Was: one ExtraSelection per line of the current cell (a 200k-line cell blocked
    the window 6.3 s), and a rescan of the document for the cells on every keystroke.
    (benchmarks/editor.py has the wall-clock figures at 200k lines and 100k cells.)"""
    app = QApplication.instance()
    costs = {}
    for size in (small, large):
        editor = CodeEditor()
        qtbot.addWidget(editor)
        editor.resize(700, 500)
        editor.show()
        editor.setPlainText(make(size))
        editor.highlighter.finish()
        app.processEvents()
        editor.go_to_line(size // 2)
        app.processEvents()

        def session():
            for _ in range(5):
                qtbot.keyClick(editor, Qt.Key.Key_Down)
            qtbot.keyClicks(editor, "y = 1")
            qtbot.keyClick(editor, Qt.Key.Key_Return)
            qtbot.keyClick(editor, Qt.Key.Key_Backspace)
            qtbot.keyClick(editor, Qt.Key.Key_Up, SHIFT)
        gui_work(app, session)                   # warm up
        costs[size] = min(gui_work(app, session) for _ in range(3))
        editor.close()
    assert costs[large] < 4 * costs[small] + 0.05, costs


def test_opening_a_huge_cell_costs_little_more_than_qt_itself(qtbot):
    app = QApplication.instance()
    text = big_cell(50_000)
    plain = QPlainTextEdit()
    qtbot.addWidget(plain)
    plain.resize(700, 500)
    plain.show()
    floor = gui_work(app, lambda: plain.setPlainText(text))
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.resize(700, 500)
    editor.show()
    app.processEvents()
    ours = gui_work(app, lambda: editor.setPlainText(text))
    assert ours < 2.5 * floor + 0.1, (ours, floor)
    # the colouring goes on a bounded chunk per event-loop turn, top first
    assert editor.highlighter.pending()
    top = editor.document().firstBlock().next()
    assert top.layout().formats(), "the first screen is coloured at once"
    worst = 0.0
    while editor.highlighter.pending():
        worst = max(worst, gui_work(app, lambda: None))
    assert worst < 0.3, worst
    last = editor.document().lastBlock().previous()
    assert [f.format.foreground().color().name() for f in last.layout().formats()]


def test_a_changed_badge_repaints_its_own_line_of_the_gutter_only(qtbot, editor):
    """A cell's run changes one badge ("[*]", then its count): the gutter beside that line
    is repainted, not the whole gutter (each repaint draws every visible line number)."""
    from PySide6.QtCore import QEvent, QObject
    put(editor, "\n".join(f"x{i} = {i}" for i in range(60)))
    editor.set_badges({1: "[1]", 20: "[2]"})
    qtbot.wait(30)
    painted = []

    class Paints(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                painted.append(event.rect())
            return False
    paints = Paints()
    editor._gutter.installEventFilter(paints)
    editor.set_badges({1: "[1]", 20: "[*]"})
    qtbot.waitUntil(lambda: bool(painted), timeout=2000)
    line = editor.blockBoundingGeometry(editor.document().findBlockByNumber(19)).translated(editor.contentOffset())
    assert all(r.top() >= line.top() - 2 and r.bottom() <= line.bottom() + 3 for r in painted), (painted, line)
    assert editor.badges == {1: "[1]", 20: "[*]"}


def test_the_placeholder_shows_whole_in_an_empty_editor_until_text_is_typed(qtbot, editor):
    """Qt paints the placeholder before the lines: the cursor line's tint covered its
    first line, so a new user saw only the wrapped end ('cell.'). The tint is left out
    while the document is empty, and comes back with the first character."""
    editor.resize(360, 300)  # narrow: the placeholder wraps onto a second line
    qtbot.wait(10)
    image = editor.viewport().grab().toImage()
    ratio = image.devicePixelRatio()
    line = editor.fontMetrics().height()
    base = editor.palette().color(editor.palette().ColorRole.Base)

    def inked(top: float, bottom: float) -> int:  # pixels of the first line's band unlike Base
        count = 0
        for y in range(int(top * ratio), int(bottom * ratio)):
            for x in range(int(12 * ratio), image.width()):
                if abs(image.pixelColor(x, y).lightness() - base.lightness()) > 60:
                    count += 1
        return count

    assert editor.extraSelections() == []
    assert inked(2, 2 + line) > 50       # the placeholder's first words are there
    qtbot.keyClicks(editor, "x")
    assert len(editor.extraSelections()) == 1  # the cursor line's tint is back
