"""The console: what each run printed, under an ``In [n]:`` header.

Output text is shown exactly as printed (monospace, no wrapping changes);
the cell's last value after ``Out [n]:`` as in Jupyter; figures (a PNG, e.g. the
user's ``plt.plot`` through the kernel's inline backend) inline, scaled down to
:data:`MAX_FIGURE_WIDTH`; errors in red with their line, the plain-language hint
set apart below; kernel notices (restarted, interrupted) in their own colour.

Cost and size: consecutive pieces of the same kind are joined into one
insertion, at most :data:`BATCH_CHARS` characters go in per event-loop turn
and :data:`BATCH_PIECES` pieces (the rest waits for the next turn, so 100,000
interleaved prints do not freeze the window; queued output that would be cut
anyway is dropped before it is inserted), and the console keeps the last :data:`MAX_BLOCKS` lines /
:data:`MAX_CHARS` characters, saying at the top that older output was cut.

Colours follow the theme: each piece stores its *kind* (stdout, stderr,
error, …) in its character format, and a palette change re-colours by kind;
plain output has no colour of its own and is drawn in the palette's text colour.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from PySide6.QtCore import QEvent, QTimer, QUrl
from PySide6.QtGui import (QColor, QFont, QImage, QTextCharFormat, QTextCursor, QTextDocument,
                           QTextFormat, QTextImageFormat)
from PySide6.QtWidgets import QTextEdit

from .. import theme
from .code_editor import DEFAULT_POINT_SIZE, monospace_font

MAX_BLOCKS = 50_000
MAX_CHARS = 4_000_000
BATCH_CHARS = 100_000           # per event-loop turn, at most this many characters …
BATCH_PIECES = 1_000            # … in at most this many differently coloured pieces
RECOLOR_BLOCKS = 2_000          # lines re-coloured per turn after a theme change
MAX_FIGURE_WIDTH = 560          # pixels; a wider figure is shown scaled down
IMAGE = "image"                 # the kind of an inline figure (never re-coloured)
KIND = QTextFormat.Property.UserProperty + 1          # where a piece keeps its kind
# kind -> (theme colour or None for the palette's text, bold, italic)
STYLES = {
    "stdout": (None, False, False), "stderr": ("stderr", False, False),
    "error": ("error", False, False), "hint_label": ("hint", True, False), "hint": ("hint", False, False),
    "prompt": ("prompt", True, False), "muted": ("muted", False, False),
    "notice": ("notice", False, True), "notice_error": ("error", False, True),
    "notice_warning": ("hint", False, True),
}
CUT_NOTICE = "— older output was cut: the console keeps the last {:,} lines —\n"


class ConsoleView(QTextEdit):
    """A QTextEdit, not a QPlainTextEdit: the plain one's layout draws no images."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.set_point_size(DEFAULT_POINT_SIZE)
        # Wrapped at the panel's edge: the text is as printed, long lines stay readable.
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setUndoRedoEnabled(False)
        self.setPlaceholderText("Output appears here. Run a cell with Ctrl+Enter, "
                                "or everything with Run ▸ Run All.")
        self._queue: deque = deque()    # [kind, [texts]] waiting to go in, in order
        self._queued_lines = 0
        self._tail = ""                 # the last two characters written or queued
        self._cut = False               # older output was removed (the notice is at the top)
        self._formats: dict = {}        # kind -> QTextCharFormat for the current palette
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush_batch)
        self._recolor_next = -1         # recolouring goes on upwards from this block
        self._recolor_timer = QTimer(self)
        self._recolor_timer.setSingleShot(True)
        self._recolor_timer.setInterval(0)
        self._recolor_timer.timeout.connect(self._recolor_batch)
        self._figures = 0               # inline figures added (names their document resources)

    def set_point_size(self, points: float):
        font = monospace_font()
        font.setPointSizeF(points)
        self.setFont(font)

    def point_size(self) -> float:
        return self.font().pointSizeF()

    # -- formats ---------------------------------------------------------------------------
    def _format(self, kind: str) -> QTextCharFormat:
        if kind not in self._formats:
            self._formats[kind] = self._new_format(kind)
        return self._formats[kind]

    def _new_format(self, kind: str) -> QTextCharFormat:
        color, bold, italic = STYLES[kind]
        f = QTextCharFormat()
        f.setProperty(KIND, kind)
        if color:
            f.setForeground(QColor(theme.colors(self.palette())[color]))
        f.setFontWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
        f.setFontItalic(italic)
        return f

    def recolor(self):
        """Give every piece the colour its kind has in the current palette: the
        newest (visible) lines now, older ones :data:`RECOLOR_BLOCKS` per turn."""
        self._formats.clear()
        self._recolor_next = self.document().blockCount() - 1
        self._recolor_batch()

    def recolor_pending(self) -> bool:
        return self._recolor_next >= 0

    def finish_recolor(self):
        while self._recolor_next >= 0:
            self._recolor_batch()

    def _recolor_batch(self):
        doc = self.document()
        last = self._recolor_next
        if last < 0:
            return
        first = max(0, last - RECOLOR_BLOCKS + 1)
        self._recolor_next = first - 1
        formats = {kind: self._format(kind) for kind in STYLES}
        cursor = QTextCursor(doc)
        cursor.beginEditBlock()
        run_kind, run_start, end = None, 0, 0
        block = doc.findBlockByNumber(first)
        for _ in range(first, last + 1):
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                kind = fragment.charFormat().property(KIND) or "stdout"
                if kind == IMAGE:       # a figure keeps its image format: close the run around it
                    if run_kind is not None:
                        self._apply(cursor, run_start, end, formats[run_kind])
                    run_kind = None
                    it += 1
                    continue
                if kind != run_kind:
                    if run_kind is not None:
                        self._apply(cursor, run_start, end, formats[run_kind])
                    run_kind, run_start = kind, fragment.position()
                end = fragment.position() + fragment.length()
                it += 1
            block = block.next()
        if run_kind is not None:
            self._apply(cursor, run_start, end, formats[run_kind])
        cursor.endEditBlock()
        if self._recolor_next >= 0:
            self._recolor_timer.start()

    @staticmethod
    def _apply(cursor, start, end, fmt):
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(fmt)           # whole formats: plain output loses a stale colour

    # -- writing ---------------------------------------------------------------------------
    def _append(self, text: str, kind: str):
        if not text:
            return
        self._queue_text(text, kind)
        if not self._timer.isActive():
            self.flush_batch()          # small appends show at once; a flood goes in by turns

    def _queue_text(self, text: str, kind: str):
        if not text:
            return
        queue = self._queue
        lines = text.count("\n")
        if queue and queue[-1][0] == kind:
            queue[-1][1].append(text)
            queue[-1][2] += lines
        else:
            queue.append([kind, [text], lines])
        self._queued_lines += lines
        self._tail = (self._tail + text)[-2:]

    def _cut_before_queue(self):
        """What is shown and queued is older than the last MAX_BLOCKS lines now
        coming: it goes without being inserted, and the notice says so."""
        super().clear()
        self._recolor_next = -1
        self._cut = True
        cursor = QTextCursor(self.document())
        cursor.insertText(CUT_NOTICE.format(MAX_BLOCKS), self._format("notice"))


    def pending(self) -> bool:
        return bool(self._queue)

    def flush(self):
        """Write everything queued now (tests, and before reading the text back)."""
        while self._queue:
            self.flush_batch()

    def flush_batch(self):
        """Insert up to :data:`BATCH_CHARS` queued characters; schedule the rest."""
        if not self._queue:
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        budget, pieces_left = BATCH_CHARS, BATCH_PIECES
        queue = self._queue
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        while queue and budget > 0 and pieces_left > 0:
            kind, pieces, lines = queue[0]
            if kind == IMAGE:
                queue.popleft()
                self._queued_lines -= lines
                for image in pieces:
                    self._insert_figure(cursor, image)
                pieces_left -= 1
                continue
            text = "".join(pieces) if len(pieces) > 1 else pieces[0]
            if len(text) > budget:
                text, rest = text[:budget], text[budget:]
                queue[0][1:] = [[rest], rest.count("\n")]
                lines -= queue[0][2]
            else:
                queue.popleft()
            self._queued_lines -= lines
            cursor.insertText(text, self._format(kind))
            budget -= len(text)
            pieces_left -= 1
        cursor.endEditBlock()
        self._trim()
        if at_bottom:
            bar.setValue(bar.maximum())
        if self._queue:
            self._timer.start()

    def _insert_figure(self, cursor, image: QImage):
        self._figures += 1
        name = f"gradstudio-figure:{self._figures}"
        self.document().addResource(QTextDocument.ResourceType.ImageResource.value, QUrl(name), image)
        figure = QTextImageFormat()
        figure.setName(name)
        figure.setProperty(KIND, IMAGE)
        scale = min(1.0, MAX_FIGURE_WIDTH / max(1, image.width()))
        figure.setWidth(image.width() * scale)
        figure.setHeight(image.height() * scale)
        cursor.insertImage(figure)
        cursor.insertText("\n", self._format("stdout"))

    def append_figure(self, png: bytes) -> bool:
        """A PNG figure on its own line; False (nothing shown) if it is not a readable image."""
        image = QImage.fromData(png, "PNG")
        if image.isNull():
            return False
        self._start_line()
        self._queue.append([IMAGE, [image], 1])
        self._queued_lines += 1
        self._tail = "\n"
        if not self._timer.isActive():
            self.flush_batch()
        return True

    def _trim(self):
        doc = self.document()
        blocks, chars = doc.blockCount(), doc.characterCount()
        if blocks <= MAX_BLOCKS + 1 and chars <= MAX_CHARS:
            return
        keep_from = doc.findBlockByNumber(max(1, blocks - MAX_BLOCKS))
        if chars > MAX_CHARS:
            by_size = doc.findBlock(chars - MAX_CHARS)
            if by_size.blockNumber() > keep_from.blockNumber():
                keep_from = by_size
        cursor = QTextCursor(doc)
        cursor.beginEditBlock()
        cursor.setPosition(0)
        cursor.setPosition(keep_from.position(), QTextCursor.MoveMode.KeepAnchor)
        removed = keep_from.blockNumber() - 1            # the notice line comes back
        cursor.removeSelectedText()
        self._recolor_next = max(-1, self._recolor_next - removed)
        cursor.setPosition(0)
        cursor.insertText(CUT_NOTICE.format(MAX_BLOCKS), self._format("notice"))
        cursor.endEditBlock()
        self._cut = True

    def clear(self):
        self._queue.clear()
        self._queued_lines = 0
        self._timer.stop()
        self._tail = ""
        self._cut = False
        self._recolor_next = -1
        super().clear()
        self.document().clear()        # drops the figures' image resources too

    # -- entries ---------------------------------------------------------------------------
    def _start_line(self):
        if self._tail and not self._tail.endswith("\n"):
            self._append("\n", "stdout")

    def _gap(self):
        """One empty line between entries."""
        if not self._tail:
            return
        self._start_line()
        if self._tail != "\n\n":
            self._append("\n", "stdout")

    def append_header(self, execution_count, cell: int | None, title: str = ""):
        self._gap()
        self._append(f"In [{execution_count}]:", "prompt")
        # the cell is named by its In [n] (as the gutter shows it), not by a second number
        where = f" {title}" if title else ""
        self._append(f"{where}\n", "muted")

    def append_output(self, stream: str, text: str, hint: str | None = None):
        if stream == "error":
            self._start_line()
            marker = f"Hint: {hint}\n" if hint else None
            if marker and text.endswith(marker):
                self._append(text[: -len(marker)], "error")
                self._append("Hint: ", "hint_label")
                self._append(marker[len("Hint: "):], "hint")
            else:
                self._append(text, "error")
        else:
            self._append(text, "stderr" if stream == "stderr" else "stdout")

    def append_outputs(self, outputs, hint: str | None = None):
        """Many outputs in order (a cell's): queued at once, inserted by turns.

        Prints are grouped into ``[kind, [texts], lines]`` entries with local
        variables only (attribute access on a Qt object costs microseconds, and
        a flood is 100,000 outputs); only the last :data:`MAX_BLOCKS` lines are kept."""
        hold = self._timer.isActive()
        self._timer.start()              # queue everything first, then insert batch by batch
        entries, kind_now, texts = [], None, None
        for output in outputs:
            stream, text = output.stream, output.text
            if stream == "error":
                self._extend(entries)
                entries, kind_now = [], None
                self.append_output(stream, text, hint)
                continue
            if stream == IMAGE or output.execution_count is not None:
                self._extend(entries)
                entries, kind_now = [], None
                if stream == IMAGE:
                    png = output.png
                    if not (png is not None and png.dtype == np.uint8 and png.ndim == 1
                            and self.append_figure(png.tobytes())):
                        self._append("<a figure that could not be read>\n", "muted")
                else:                 # the cell's value, as Jupyter shows it
                    self._start_line()
                    self._append(f"Out[{output.execution_count}]: ", "prompt")
                    self._append(text, "stdout")
                continue
            if not text:
                continue
            kind = "stderr" if stream == "stderr" else "stdout"
            if kind is not kind_now:
                texts = [text]
                entries.append([kind, texts, 0])
                kind_now = kind
            else:
                texts.append(text)
        self._extend(entries)
        if not hold:
            self._timer.stop()
            self.flush_batch()

    def _extend(self, entries: list):
        """Queue entries from :meth:`append_outputs`, dropping what the cap would cut."""
        if not entries:
            return
        kept, lines = 0, 0
        for kept in range(len(entries) - 1, -1, -1):          # newest first, until the cap
            entry = entries[kept]
            entry[2] = sum(text.count("\n") for text in entry[1])
            lines += entry[2]
            if lines >= MAX_BLOCKS:
                break
        if kept > 0:
            del entries[:kept]
            self._queue.clear()
            self._queued_lines = 0
            self._cut_before_queue()
        last = entries[-1][1]
        self._tail = (self._tail + "".join(last[-2:]))[-2:]
        self._queue.extend(entries)
        self._queued_lines += lines

    def append_notice(self, kind: str, text: str):
        self._gap()
        self._append(f"— {text}\n", {"error": "notice_error", "warning": "notice_warning"}.get(kind, "notice"))

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.recolor()
