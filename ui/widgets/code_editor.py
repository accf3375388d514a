"""The script editor: a ``QPlainTextEdit`` with line numbers, Python colours and cells.

``# %%`` lines start cells: a rule is drawn above each, the cell under the
cursor is tinted, and the gutter shows each cell's last ``In [n]`` number
(``[*]`` while it runs). Ctrl+Enter asks to run the cell under the cursor,
Shift+Enter to run it and move to the next; the editor only emits the
request (the Script panel decides what running means).
"""
from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPainter, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextDocumentLayout, QPlainTextEdit, QTextEdit, QWidget

from gradstudio.studio.session import CELL_MARKER
from .. import theme
from .highlighter import PythonHighlighter

_RUN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_OPENS_BLOCK = re.compile(r":\s*(#.*)?$")


def monospace_font(point_size: int = 10):
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(point_size)
    return font


class _Gutter(QWidget):
    def __init__(self, editor: "CodeEditor"):
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self):
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event):
        self.editor.paint_gutter(event)


class CodeEditor(QPlainTextEdit):
    runCellRequested = Signal(int)              # 1-based line of the cursor
    runCellAndAdvanceRequested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFont(monospace_font())
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.setPlaceholderText("# %% Write PyTorch-style code here; Ctrl+Enter runs the cell.")
        self.badges: dict = {}                  # marker line (1-based) -> "[3]" / "[*]"
        self._markers: list | None = None       # block numbers of "# %%" lines (cached)
        self.error_line: int | None = None      # 1-based line of the last error, tinted red
        self._gutter = _Gutter(self)
        self.highlighter = PythonHighlighter(self.document())
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._highlight_current_cell)
        self.textChanged.connect(self._invalidate_markers)
        self._update_gutter_width()
        self._highlight_current_cell()

    def setDocument(self, document):
        if not isinstance(document.documentLayout(), QPlainTextDocumentLayout):
            document.setDocumentLayout(QPlainTextDocumentLayout(document))
        super().setDocument(document)       # deletes our previous document and its highlighter
        document.setDefaultFont(self.font())
        self.highlighter = PythonHighlighter(document)
        self._invalidate_markers()
        self._update_gutter_width()
        self._highlight_current_cell()

    # -- cells -----------------------------------------------------------------------------
    def _invalidate_markers(self):
        self._markers = None
        self.error_line = None          # the text changed: the old error may not apply
        self._highlight_current_cell()

    def set_error_line(self, line: int | None):
        """Tint ``line`` (1-based) as the place of the last error (None clears it)."""
        self.error_line = line
        self._highlight_current_cell()

    def marker_blocks(self) -> list:
        if self._markers is None:
            markers, block = [], self.document().firstBlock()
            while block.isValid():
                if CELL_MARKER.match(block.text()):
                    markers.append(block.blockNumber())
                block = block.next()
            self._markers = markers
        return self._markers

    def current_line(self) -> int:
        return self.textCursor().blockNumber() + 1

    def cell_range(self, block_number: int) -> tuple:
        """(first, last) block numbers of the cell containing ``block_number``."""
        first, last = 0, self.document().blockCount() - 1
        for marker in self.marker_blocks():
            if marker <= block_number:
                first = marker
            else:
                last = marker - 1
                break
        return first, last

    def move_to_next_cell(self):
        """Put the cursor on the first line of the next cell (after its marker), or at the end."""
        current = self.textCursor().blockNumber()
        following = [m for m in self.marker_blocks() if m > current]
        cursor = self.textCursor()
        if following:
            target = following[0] + 1
            if target >= self.document().blockCount():
                target = following[0]
            cursor.setPosition(self.document().findBlockByNumber(target).position())
        else:
            cursor.movePosition(QTextCursor.MoveOperation.End)
        self.setTextCursor(cursor)
        self.centerCursor()

    def go_to_line(self, line: int):
        block = self.document().findBlockByNumber(max(0, line - 1))
        if block.isValid():
            cursor = self.textCursor()
            cursor.setPosition(block.position())
            self.setTextCursor(cursor)
            self.centerCursor()

    def set_badges(self, badges: dict):
        self.badges = dict(badges)
        self._gutter.update()

    def _highlight_current_cell(self):
        c = theme.colors(self.palette())
        selections = []
        current = self.textCursor().blockNumber()
        if self.marker_blocks():
            first, last = self.cell_range(current)
            tint = QColor(c["current_cell"])
            block = self.document().findBlockByNumber(first)
            while block.isValid() and block.blockNumber() <= last:
                selection = QTextEdit.ExtraSelection()
                selection.format.setBackground(tint)
                selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                selection.cursor = QTextCursor(block)
                selections.append(selection)
                block = block.next()
        if self.error_line is not None:
            block = self.document().findBlockByNumber(self.error_line - 1)
            if block.isValid():
                error = QTextEdit.ExtraSelection()
                error.format.setBackground(QColor(c["mismatch_bg"]))
                error.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                error.cursor = QTextCursor(block)
                selections.append(error)
        line = QTextEdit.ExtraSelection()
        line.format.setBackground(QColor(c["current_line"]))
        line.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        line.cursor = self.textCursor()
        line.cursor.clearSelection()
        selections.append(line)
        self.setExtraSelections(selections)

    # -- keys --------------------------------------------------------------------------------
    def _run_request(self, event) -> str | None:
        if event.key() not in _RUN_KEYS:
            return None
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if modifiers == Qt.KeyboardModifier.ControlModifier:
            return "run"
        if modifiers == Qt.KeyboardModifier.ShiftModifier:
            return "advance"
        return None

    def event(self, event):
        # Take Ctrl/Shift+Enter before window shortcuts do, so they work while typing.
        if event.type() == QEvent.Type.ShortcutOverride and self._run_request(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event):
        request = self._run_request(event)
        if request == "run":
            self.runCellRequested.emit(self.current_line())
            return
        if request == "advance":
            self.runCellAndAdvanceRequested.emit(self.current_line())
            return
        if event.key() == Qt.Key.Key_Tab and not self.textCursor().hasSelection():
            self.insertPlainText("    ")
            return
        if event.key() in _RUN_KEYS and event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                                               Qt.KeyboardModifier.KeypadModifier):
            text = self.textCursor().block().text()[: self.textCursor().positionInBlock()]
            indent = text[: len(text) - len(text.lstrip())]
            if _OPENS_BLOCK.search(text):
                indent += "    "
            super().keyPressEvent(event)
            self.insertPlainText(indent)
            return
        super().keyPressEvent(event)

    # -- painting ----------------------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = max(3, len(str(self.blockCount())))
        badge = max([len(b) for b in self.badges.values()] + [4])
        return 10 + self.fontMetrics().horizontalAdvance("9") * (digits + badge + 1)

    def _update_gutter_width(self, *args):
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect, dy):
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_gutter_width()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        r = self.contentsRect()
        self._gutter.setGeometry(QRect(r.left(), r.top(), self.gutter_width(), r.height()))

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.refresh_colors()
            self._highlight_current_cell()

    def paint_gutter(self, event):
        c = theme.colors(self.palette())
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), QColor(c["gutter"]))
        painter.setFont(self.font())
        width = self._gutter.width() - 6
        height = self.fontMetrics().height()
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        current = self.textCursor().blockNumber()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                line = number + 1
                painter.setPen(QColor(c["prompt"] if number == current else c["gutter_text"]))
                painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight, str(line))
                badge = self.badges.get(line)
                if badge:
                    painter.setPen(QColor(c["prompt"]))
                    painter.drawText(4, top, width, height, Qt.AlignmentFlag.AlignLeft, badge)
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()

    def paintEvent(self, event):
        super().paintEvent(event)
        markers = set(self.marker_blocks())
        if not markers:
            return
        painter = QPainter(self.viewport())
        painter.setPen(QColor(theme.colors(self.palette())["separator"]))
        block = self.firstVisibleBlock()
        offset = self.contentOffset()
        while block.isValid():
            geometry = self.blockBoundingGeometry(block).translated(offset)
            if geometry.top() > event.rect().bottom():
                break
            if block.blockNumber() in markers and block.blockNumber() > 0:
                y = round(geometry.top())
                painter.drawLine(0, y, self.viewport().width(), y)
            block = block.next()
        painter.end()

