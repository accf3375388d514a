"""The console: a flood of output stays responsive and capped; colours follow the theme."""
from __future__ import annotations

import time

import pytest
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QApplication

from gradstudio.studio.kernel.schema import OutputData
from gradstudio.ui import theme
from gradstudio.ui.widgets import console as console_module
from gradstudio.ui.widgets.console import ConsoleView


@pytest.fixture
def console(qtbot):
    view = ConsoleView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    return view


def gui_work(action) -> float:
    start = time.thread_time()
    action()
    return time.thread_time() - start


def foreground_at(view, text: str):
    """The colour the piece holding ``text`` is drawn in (None: the palette's text colour)."""
    position = view.toPlainText().index(text)
    cursor = QTextCursor(view.document())
    cursor.setPosition(position + 1)
    brush = cursor.charFormat().foreground()
    return None if brush.style().name == "NoBrush" else brush.color().name()


def flood(lines: int) -> list:
    outputs = []
    for i in range(lines):
        outputs.append(OutputData("stdout", f"out {i}\n"))
        outputs.append(OutputData("stderr", f"err {i}\n"))
    return outputs


def test_fifty_thousand_lines_each_of_stdout_and_stderr_do_not_block_the_window(console):
    """Was: 100k outputs inserted in one slot — the window froze 4–5 s. Now the slot
    queues them (dropping what the cap would cut) and inserts a bounded batch; the
    rest goes in over later event-loop turns. (Wall-clock figures: benchmarks/editor.py.)"""
    app = QApplication.instance()
    console.append_header(1, 1, "flood")
    console.append_outputs(flood(50_000))
    shown = console.document()
    assert console.pending(), "most of it waits for later turns"
    assert shown.characterCount() <= console_module.BATCH_CHARS + 200
    assert shown.blockCount() <= console_module.BATCH_PIECES + 3, "one bounded batch in the slot"
    assert console._queued_lines <= console_module.MAX_BLOCKS, "what would be cut is never inserted"
    turns, worst = 0, 0.0
    while console.pending():
        before = shown.blockCount()
        worst = max(worst, gui_work(app.processEvents))
        assert shown.blockCount() - before <= console_module.BATCH_PIECES + 1
        turns += 1
    assert turns > 10 and worst < 0.25, (turns, worst)
    text = console.toPlainText()
    lines = text.split("\n")
    assert len(lines) <= console_module.MAX_BLOCKS + 2
    assert lines[0].startswith("— older output was cut"), "the console says it cut"
    assert text.endswith("out 49999\nerr 49999\n"), "the newest output is all there, in order"
    assert "out 49000\nerr 49000\nout 49001\n" in text
    assert foreground_at(console, "err 49999") == theme.colors(console.palette())["stderr"]
    assert foreground_at(console, "out 49999") is None


def test_output_arriving_piece_by_piece_is_cut_from_the_top(console, monkeypatch):
    monkeypatch.setattr(console_module, "MAX_BLOCKS", 100)
    for i in range(250):
        console.append_output("stdout", f"line {i}\n")
    console.flush()
    lines = console.toPlainText().split("\n")
    assert lines[0].startswith("— older output was cut")
    assert lines.count(lines[0]) == 1, "one notice, however often it cut"
    assert lines[-2] == "line 249" and len(lines) <= 102


def test_small_output_shows_at_once_in_order(console):
    console.append_header(3, 2, "a cell")
    console.append_outputs([OutputData("stdout", "a\n"), OutputData("stdout", "b\n"),
                            OutputData("stderr", "warn\n"), OutputData("stdout", "c")])
    console.append_notice("info", "Kernel restarted")
    assert not console.pending()
    assert console.toPlainText() == "In [3]: a cell\na\nb\nwarn\nc\n\n— Kernel restarted\n"


def test_text_written_before_a_theme_switch_takes_the_new_colours(console, qapp, qtbot):
    console.append_output("stdout", "printed in the light theme\n")
    console.append_output("stderr", "a warning\n")
    console.append_output("error", "RuntimeError (line 1): boom\n")
    before = qapp.palette()
    try:
        theme.apply_theme(qapp, "dark")
        qtbot.waitUntil(lambda: theme.is_dark(console.palette()))
        console.finish_recolor()
        colours = theme.colors(console.palette())
        assert foreground_at(console, "printed in") is None, "plain output has no colour of its own"
        assert foreground_at(console, "a warning") == colours["stderr"]
        assert foreground_at(console, "RuntimeError") == colours["error"]
        # what the viewer sees: the text colour is light on the dark background
        text_colour = console.palette().text().color()
        assert text_colour.lightness() > 150 and console.palette().base().color().lightness() < 100
    finally:
        qapp.setPalette(before)
        qapp.processEvents()
