"""The script editor: a ``QPlainTextEdit`` with line numbers, Python colours and cells.

``# %%`` lines start cells: a rule is drawn above each, the cell under the
cursor is tinted, and the gutter shows each cell's last ``In [n]`` number
(``[*]`` while it runs). Ctrl+Enter asks to run the cell under the cursor,
Shift+Enter to run it and move to the next; the editor only emits the
request (the Script panel decides what running means).

Editing keys: Tab indents the selected lines (four spaces at the cursor
without a selection), Shift+Tab dedents, Enter keeps the indentation (one
level more after a ``:``, one less after ``pass``/``return``/``break``/
``continue``/``raise``), Ctrl+/ toggles ``# `` comments (:mod:`.editing`).

With a kernel attached (:class:`~.assist.KernelAssist`, set as :attr:`assist`),
Tab after a dot and Ctrl+Space complete, Shift+Tab after a name and hovering
over one show its help.

Cost: the cells are an incremental :class:`~.cell_index.CellIndex`; the
current cell's tint is painted for the visible blocks only, so neither a
cursor move nor a keystroke walks a 200,000-line cell.
"""
from __future__ import annotations

import re
from bisect import bisect_left as _bisect

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPainter, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextDocumentLayout, QPlainTextEdit, QTextEdit, QWidget

from .. import theme
from . import editing
from .cell_index import CellIndex
from .highlighter import PythonHighlighter

_RUN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_OPENS_BLOCK = re.compile(r":\s*(#.*)?$")
_ENDS_BLOCK = re.compile(r"^\s*(pass|return|break|continue|raise)\b")
DEFAULT_POINT_SIZE = 10


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
    escapePressed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setPlaceholderText("# %% Write PyTorch-style code here; Ctrl+Enter runs the cell.")
        self.badges: dict = {}                  # marker line (1-based) -> "[3]" / "[*]"
        self.error_line: int | None = None      # 1-based line of the last error, tinted red
        self._cell: tuple | None = None         # (first, last) blocks of the tinted cell
        self.assist = None                      # completion and help from the kernel (.assist)
        self._gutter = _Gutter(self)
        self._attach(self.document())
        self.set_point_size(DEFAULT_POINT_SIZE)
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._on_cursor_moved)
        self.textChanged.connect(self._on_text_changed)
        self._update_gutter_width()
        self._highlight_current_cell()

    def _attach(self, document):
        """The document's cell index and highlighter (children of the document: one each,
        shared by every editor that shows it)."""
        def child(kind):
            found = [c for c in document.children() if isinstance(c, kind)]
            return found[0] if found else kind(document)
        self.cells = child(CellIndex)
        self.highlighter = child(PythonHighlighter)

    def setDocument(self, document):
        if not isinstance(document.documentLayout(), QPlainTextDocumentLayout):
            document.setDocumentLayout(QPlainTextDocumentLayout(document))
        super().setDocument(document)       # deletes our previous document (and its helpers)
        document.setDefaultFont(self.font())
        self._attach(document)
        self._on_text_changed()
        self._update_gutter_width()

    def set_point_size(self, points: float):
        """The editor's text size; tab stops and the gutter follow (see changeEvent)."""
        font = monospace_font()
        font.setPointSizeF(points)
        self.setFont(font)

    def _font_changed(self):
        self.document().setDefaultFont(self.font())
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self._update_gutter_width()
        self.resizeEvent(None)

    def point_size(self) -> float:
        return self.font().pointSizeF()

    # -- cells -----------------------------------------------------------------------------
    def _on_text_changed(self):
        self.error_line = None          # the text changed: the old error may not apply
        self._on_cursor_moved()

    def _on_cursor_moved(self):
        cell = self.cell_range(self.textCursor().blockNumber()) if self.cells.markers else None
        if cell != self._cell:
            self._cell = cell
            self.viewport().update()
        self._highlight_current_cell()

    def set_error_line(self, line: int | None):
        """Tint ``line`` (1-based) as the place of the last error (None clears it)."""
        self.error_line = line
        self._highlight_current_cell()

    def marker_blocks(self) -> list:
        """Block numbers of the ``# %%`` lines (kept by the cell index; do not modify)."""
        return self.cells.markers

    def current_line(self) -> int:
        return self.textCursor().blockNumber() + 1

    def cell_range(self, block_number: int) -> tuple:
        """(first, last) block numbers of the cell containing ``block_number``."""
        return self.cells.cell_range(block_number)

    def move_to_next_cell(self):
        """Put the cursor on the first line of the next cell (after its marker), or at the end."""
        following = self.cells.next_marker(self.textCursor().blockNumber())
        cursor = self.textCursor()
        if following is not None:
            target = following + 1
            if target >= self.document().blockCount():
                target = following
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
        """``{line (1-based): "[3]"}`` beside the cells; only the lines whose badge changed
        are repainted (a cell's run changes one: "[*]" while it runs, then its count)."""
        old, self.badges = self.badges, dict(badges)
        for line in set(old) | set(self.badges):
            if old.get(line) != self.badges.get(line):
                self._update_gutter_line(line)

    def _update_gutter_line(self, line: int):
        block = self.document().findBlockByNumber(line - 1)
        if not block.isValid():
            return
        geometry = self.blockBoundingGeometry(block).translated(self.contentOffset())
        self._gutter.update(0, int(geometry.top()) - 1, self._gutter.width(), int(geometry.height()) + 3)

    def _highlight_current_cell(self):
        """The error line and the cursor's line (the cell's tint is painted, see paintEvent)."""
        c = theme.colors(self.palette())
        selections = []
        if self.error_line is not None:
            block = self.document().findBlockByNumber(self.error_line - 1)
            if block.isValid():
                error = QTextEdit.ExtraSelection()
                error.format.setBackground(QColor(c["mismatch_bg"]))
                error.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                error.cursor = QTextCursor(block)
                selections.append(error)
        if not self.document().isEmpty():
            # (an empty document shows the placeholder, which Qt paints before the lines:
            # the cursor line's tint would cover its first line)
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
        if self.assist is not None and self.assist.key(event):
            return
        key, modifiers = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key == Qt.Key.Key_Escape:
            self.escapePressed.emit()
        if key == Qt.Key.Key_Tab and modifiers == Qt.KeyboardModifier.NoModifier:
            if self.textCursor().hasSelection():
                self._line_command(editing.indent)
            else:
                self.insertPlainText(editing.INDENT)
            return
        if key == Qt.Key.Key_Backtab:
            self._line_command(editing.dedent)
            return
        if key in (Qt.Key.Key_Slash, Qt.Key.Key_Question) and modifiers & Qt.KeyboardModifier.ControlModifier:
            self._line_command(editing.toggle_comment)
            return
        if key in _RUN_KEYS and modifiers == Qt.KeyboardModifier.NoModifier:
            cursor = self.textCursor()
            text = cursor.block().text()[: cursor.positionInBlock()]
            indent = text[: len(text) - len(text.lstrip())]
            if _OPENS_BLOCK.search(text):
                indent += editing.INDENT
            elif _ENDS_BLOCK.match(text):
                indent = indent[: max(0, len(indent) - len(editing.INDENT))]
            cursor.beginEditBlock()             # the new line and its indentation: one undo step
            cursor.insertText("\n" + indent)
            cursor.endEditBlock()
            self.setTextCursor(cursor)
            self.ensureCursorVisible()
            return
        super().keyPressEvent(event)
        if self.assist is not None:
            self.assist.after_key()

    def viewportEvent(self, event):
        if event.type() == QEvent.Type.ToolTip and self.assist is not None:
            cursor = self.cursorForPosition(event.pos())
            self.assist.ask_help(cursor.position(), event.globalPos())
            return True
        return super().viewportEvent(event)

    def _line_command(self, command):
        cursor = self.textCursor()
        command(cursor)
        self.setTextCursor(cursor)


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
        if event is not None:
            super().resizeEvent(event)
        r = self.contentsRect()
        self._gutter.setGeometry(QRect(r.left(), r.top(), self.gutter_width(), r.height()))

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.refresh_colors()
            self._highlight_current_cell()
        elif event.type() == QEvent.Type.FontChange and hasattr(self, "highlighter"):
            self._font_changed()        # zoom: the document, tab stops and gutter follow

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

    def _visible_blocks(self, rect):
        """(block, its geometry in the viewport) for the blocks that meet ``rect``."""
        block = self.firstVisibleBlock()
        offset = self.contentOffset()
        while block.isValid():
            geometry = self.blockBoundingGeometry(block).translated(offset)
            if geometry.top() > rect.bottom():
                break
            if block.isVisible() and geometry.bottom() >= rect.top():
                yield block, geometry
            block = block.next()

    def paintEvent(self, event):
        markers = self.cells.markers
        if not markers:
            super().paintEvent(event)
            return
        c = theme.colors(self.palette())
        first, last = self._cell or self.cell_range(self.textCursor().blockNumber())
        visible = list(self._visible_blocks(event.rect()))
        width = self.viewport().width()
        painter = QPainter(self.viewport())            # under the text: the current cell's tint
        tint = QColor(c["current_cell"])
        for block, geometry in visible:
            if first <= block.blockNumber() <= last:
                painter.fillRect(QRectF(0, geometry.top(), width, geometry.height()), tint)
        painter.end()
        super().paintEvent(event)
        painter = QPainter(self.viewport())            # over it: a rule above each cell
        painter.setPen(QColor(c["separator"]))
        for block, geometry in visible:
            number = block.blockNumber()
            if number > 0 and markers[min(len(markers) - 1, _bisect(markers, number))] == number:
                y = round(geometry.top())
                painter.drawLine(0, y, width, y)
        painter.end()

