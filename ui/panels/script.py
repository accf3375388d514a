"""The Script panel: the code editor over the console.

The editor edits the model's document; Ctrl+Enter runs the cell under the
cursor, Shift+Enter runs it and moves to the next. The console shows every
run under ``In [n]:`` with its output as printed, errors in red with the line
and a hint, and kernel notices. The gutter shows each cell's ``[n]``.
Ctrl+F / Ctrl+H open the find/replace bar under the editor (F3 / Shift+F3
find the next / previous match); its actions are in :attr:`ScriptPanel.actions`.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from ..widgets.code_editor import CodeEditor
from ..widgets.console import ConsoleView
from ..widgets.find_bar import FindBar


class ScriptPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.model = context.model
        self.runner = context.runner
        self.editor = CodeEditor()
        self.editor.setDocument(self.model.script.document)
        self.console = ConsoleView()
        self.find_bar = FindBar(self.editor)
        editor_box = QWidget()
        box = QVBoxLayout(editor_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.editor)
        box.addWidget(self.find_bar)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(editor_box)
        splitter.addWidget(self.console)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.setFocusProxy(self.editor)
        self.actions: dict = {}
        for name, text, keys, slot in (
                ("find", "Find…", ["Ctrl+F"], lambda: self.find_bar.open(replace=False)),
                ("replace", "Replace…", ["Ctrl+H"], lambda: self.find_bar.open(replace=True)),
                ("find_next", "Find Next", ["F3"], lambda: self._find_again(False)),
                ("find_previous", "Find Previous", ["Shift+F3"], lambda: self._find_again(True))):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            self.actions[name] = action
        self.editor.escapePressed.connect(self._on_escape)

        from ..widgets.assist import KernelAssist       # completion and help from the kernel
        KernelAssist(self.editor, self.runner.client)
        self.editor.runCellRequested.connect(self._run_line)
        self.editor.runCellAndAdvanceRequested.connect(self._run_line_and_advance)
        m = self.model
        m.console.cellRunStarted.connect(self._on_cell_started)
        m.console.cellRunFinished.connect(self._on_cell_finished)
        m.console.notice.connect(self.console.append_notice)
        m.console.consoleCleared.connect(self.console.clear)
        m.calls.callsCleared.connect(self._update_badges)

    # -- find ----------------------------------------------------------------------------------------
    def _find_again(self, backward: bool):
        if self.find_bar.find_field.text():
            self.find_bar.find(backward=backward)
        else:
            self.find_bar.open()

    def _on_escape(self):
        if self.find_bar.isVisible():
            self.find_bar.close_bar()

    # -- commands (also used by the Run menu) ---------------------------------------------------
    def run_current_cell(self):
        self._run_line(self.editor.current_line())

    def run_current_cell_and_advance(self):
        self._run_line_and_advance(self.editor.current_line())

    def _run_line(self, line: int):
        self.runner.run_cell_at_line(line)

    def _run_line_and_advance(self, line: int):
        if self.runner.run_cell_at_line(line) is not None:
            self.editor.move_to_next_cell()

    # -- model → view ------------------------------------------------------------------------------
    def _title_of(self, index) -> str:
        for cell in self.model.script.cells():
            if cell.index == index:
                return cell.title
        return ""

    def _on_cell_started(self, message: dict):
        self.console.append_header(message.execution_count, message.cell,
                                   self._title_of(message.cell))
        self._update_badges(running=message.first_line)

    def _on_cell_finished(self, run: dict):
        self.console.append_outputs(run.outputs, run.hint)
        if run.error_line and not run.interrupted:
            self.editor.set_error_line(run.error_line)
        elif run.ok:
            self.editor.set_error_line(None)
        self._update_badges()

    def _update_badges(self, running: int | None = None):
        counts = self.model.console.execution_counts
        badges = {}
        for cell in self.model.script.cells():
            if cell.index in counts:
                badges[cell.first_line] = f"[{counts[cell.index]}]"
        if running is not None:
            badges[running] = "[*]"
        self.editor.set_badges(badges)
