"""The console: what each run printed, under an ``In [n]:`` header.

Output text is shown exactly as printed (monospace, no wrapping changes);
errors in red with their line, the plain-language hint set apart below; kernel
notices (restarted, interrupted) in their own colour. Append-only, capped.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

from .. import theme
from .code_editor import monospace_font

MAX_BLOCKS = 50_000


class ConsoleView(QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(monospace_font())
        # Wrapped at the panel's edge: the text is as printed, long lines stay readable.
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setMaximumBlockCount(MAX_BLOCKS)
        self.setUndoRedoEnabled(False)
        self.setPlaceholderText("Output appears here. Run a cell with Ctrl+Enter, "
                                "or everything with Run ▸ Run All.")

    def _fmt(self, color_name: str | None = None, *, bold=False, italic=False) -> QTextCharFormat:
        f = QTextCharFormat()
        if color_name:
            f.setForeground(QColor(theme.colors(self.palette())[color_name]))
        else:
            f.setForeground(self.palette().text())
        if bold:
            f.setFontWeight(QFont.Weight.Bold)
        f.setFontItalic(italic)
        return f

    def _append(self, text: str, fmt: QTextCharFormat):
        if not text:
            return
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text, fmt)
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _start_line(self):
        if not self.document().isEmpty() and not self.toPlainText().endswith("\n"):
            self._append("\n", self._fmt())

    def _gap(self):
        """One empty line between entries."""
        if self.document().isEmpty():
            return
        self._start_line()
        if not self.toPlainText().endswith("\n\n"):
            self._append("\n", self._fmt())

    def append_header(self, execution_count, cell: int | None, title: str = ""):
        self._gap()
        self._append(f"In [{execution_count}]:", self._fmt("prompt", bold=True))
        # the cell is named by its In [n] (as the gutter shows it), not by a second number
        where = f" {title}" if title else ""
        self._append(f"{where}\n", self._fmt("muted"))

    def append_output(self, stream: str, text: str, hint: str | None = None):
        if stream == "error":
            self._start_line()
            marker = f"Hint: {hint}\n" if hint else None
            if marker and text.endswith(marker):
                self._append(text[: -len(marker)], self._fmt("error"))
                self._append("Hint: ", self._fmt("hint", bold=True))
                self._append(marker[len("Hint: "):], self._fmt("hint"))
            else:
                self._append(text, self._fmt("error"))
        elif stream == "stderr":
            self._append(text, self._fmt("stderr"))
        else:
            self._append(text, self._fmt())

    def append_notice(self, kind: str, text: str):
        self._gap()
        color = {"error": "error", "warning": "hint"}.get(kind, "notice")
        self._append(f"— {text}\n", self._fmt(color, italic=True))

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.viewport().update()
