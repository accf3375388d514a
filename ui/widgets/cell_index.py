"""Where the ``# %%`` cells of a document start, kept up to date edit by edit.

:class:`CellIndex` listens to the document's ``contentsChange`` and rescans
only the blocks an edit touched (shifting the marker numbers after it), so a
cursor move costs a bisection and a keystroke the lines it changed — never a
pass over a 200,000-line script. A marker is a line that
:data:`~gradstudio.studio.cells.CELL_MARKER` matches, as the kernel splits cells.
"""
from __future__ import annotations

import bisect
import re

from PySide6.QtCore import QObject
from PySide6.QtGui import QTextCursor

from gradstudio.studio.cells import CELL_MARKER

# The same pattern, anchored at every line of a chunk of text (blocks joined by "\n");
# its blanks must not run on into the next line.
_MARKER_LINES = re.compile(CELL_MARKER.pattern.replace(r"\s", r"[^\S\n]"), re.MULTILINE)
_BULK = 256          # from this many blocks on, scan the text in one go instead of block by block


class CellIndex(QObject):
    def __init__(self, document):
        super().__init__(document)          # lives and dies with its document
        self.document = document
        self._blocks = document.blockCount()
        self.markers: list = self._scan(0, self._blocks - 1)   # sorted block numbers
        document.contentsChange.connect(self._on_change)

    # -- queries ---------------------------------------------------------------------------
    def cell_range(self, block_number: int) -> tuple:
        """(first, last) block numbers of the cell holding ``block_number``."""
        i = bisect.bisect_right(self.markers, block_number)
        first = self.markers[i - 1] if i else 0
        last = self.markers[i] - 1 if i < len(self.markers) else self.document.blockCount() - 1
        return first, last

    def next_marker(self, block_number: int) -> int | None:
        i = bisect.bisect_right(self.markers, block_number)
        return self.markers[i] if i < len(self.markers) else None

    # -- upkeep ----------------------------------------------------------------------------
    def _on_change(self, position: int, removed: int, added: int):
        doc = self.document
        count = doc.blockCount()
        delta, self._blocks = count - self._blocks, count
        first = doc.findBlock(position).blockNumber()
        if first < 0:
            first = count - 1
        last = doc.findBlock(position + added).blockNumber()
        if last < first:
            last = count - 1
        old_last = max(last - delta, first - 1)
        lo = bisect.bisect_left(self.markers, first)
        hi = bisect.bisect_right(self.markers, old_last)
        tail = self.markers[hi:]
        if delta:
            tail = [m + delta for m in tail]
        self.markers[lo:] = self._scan(first, last) + tail

    def _scan(self, first: int, last: int) -> list:
        doc = self.document
        if last < first:
            return []
        if last - first < _BULK:
            found, block = [], doc.findBlockByNumber(first)
            for number in range(first, last + 1):
                if CELL_MARKER.match(block.text()):
                    found.append(number)
                block = block.next()
            return found
        start = doc.findBlockByNumber(first)
        end = doc.findBlockByNumber(last)
        cursor = QTextCursor(start)
        cursor.setPosition(end.position() + end.length() - 1, QTextCursor.MoveMode.KeepAnchor)
        text = cursor.selectedText().replace("\u2029", "\n")
        found, line, seen = [], first, 0
        for match in _MARKER_LINES.finditer(text):
            line += text.count("\n", seen, match.start())
            seen = match.start()
            found.append(line)
        return found
