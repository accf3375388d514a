"""Python syntax colouring for the code editor, with ``# %%`` cell markers set apart.

A small line scanner (keywords, builtins, numbers, decorators, strings
including triple-quoted ones across lines, comments) — enough for tutorial
scripts. :func:`scan` is the scanner (text and the state the previous line
left → coloured spans and the state this line leaves); :class:`PythonHighlighter`
applies it to a document.

Why not ``QSyntaxHighlighter``: it colours every changed block inside the
signal that reported the change, so opening a 200,000-line script ran the
scanner 200,000 times before the window could draw. Here an edit colours at
most :data:`BUDGET` blocks at once (the changed lines, and the following ones
while their string state changes); the rest is done a chunk per event-loop
turn, so the window stays responsive and the top of the file is coloured first.
"""
from __future__ import annotations

import bisect
import builtins
import keyword
import re

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextLayout

from gradstudio.studio.cells import CELL_MARKER
from .. import theme

_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_NUMBER = re.compile(r"\b(?:0[xXoObB][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?j?|\.\d+(?:[eE][+-]?\d+)?j?)\b")
_DECORATOR = re.compile(r"^\s*@[\w.]+")
_KEYWORDS = set(keyword.kwlist) | {"match", "case"}
_BUILTINS = {name for name in dir(builtins) if not name.startswith("_")} - _KEYWORDS
_IN_SINGLE_TRIPLE, _IN_DOUBLE_TRIPLE = 1, 2
BUDGET = 1000           # blocks coloured per event-loop turn


def _format(color: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    if italic:
        f.setFontItalic(True)
    return f


# --------------------------------------------------------------------------- the scanner
def scan(text: str, state: int = 0) -> tuple:
    """``([(start, length, kind), …], state_after)`` for one line; spans do not overlap."""
    n = len(text)
    if state not in (_IN_SINGLE_TRIPLE, _IN_DOUBLE_TRIPLE):
        state = 0
        if CELL_MARKER.match(text):
            return [(0, n, "cell")], 0
    start, covered = 0, []
    if state:
        end = text.find("'''" if state == _IN_SINGLE_TRIPLE else '"""')
        if end == -1:
            return [(0, n, "string")], state
        start = end + 3
        covered.append((0, start, "string"))
    elif (decorator := _DECORATOR.match(text)):
        covered.append((0, decorator.end(), "decorator"))
        start = decorator.end()
    state = _strings_and_comments(text, start, covered)
    starts = [s for s, _, _ in covered]
    spans = list(covered)

    def free(position: int) -> bool:
        i = bisect.bisect_right(starts, position) - 1
        return i < 0 or position >= covered[i][0] + covered[i][1]

    for match in _WORD.finditer(text, start):
        word = match.group()
        kind = ("keyword" if word in _KEYWORDS else "builtin" if word in _BUILTINS
                else "self" if word in ("self", "cls") else None)
        if kind and free(match.start()):
            spans.append((match.start(), len(word), kind))
    for match in _NUMBER.finditer(text, start):
        if free(match.start()):
            spans.append((match.start(), match.end() - match.start(), "number"))
    return spans, state


def _strings_and_comments(text: str, i: int, spans: list) -> int:
    """Append string and comment spans from ``i`` on; the state the line leaves."""
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            spans.append((i, n - i, "comment"))
            return 0
        if ch in "'\"":
            triple = text[i:i + 3]
            if triple in ("'''", '"""'):
                end = text.find(triple, i + 3)
                if end == -1:
                    spans.append((i, n - i, "string"))
                    return _IN_SINGLE_TRIPLE if triple == "'''" else _IN_DOUBLE_TRIPLE
                spans.append((i, end + 3 - i, "string"))
                i = end + 3
                continue
            k = i + 1
            while k < n and text[k] != ch:
                k += 2 if text[k] == "\\" else 1
            spans.append((i, min(k + 1, n) - i, "string"))
            i = k + 1
            continue
        i += 1
    return 0


# --------------------------------------------------------------------------- the document side
class PythonHighlighter(QObject):
    def __init__(self, document):
        super().__init__(document)
        self.document = document
        self._from: int | None = None       # first block still to colour
        self._until = -1                     # colour at least up to here, then while states change
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._work)
        self.refresh_colors(rehighlight=False)
        document.contentsChange.connect(self._on_change)
        self.rehighlight()

    def refresh_colors(self, rehighlight: bool = True):
        c = theme.colors()
        self.formats = {
            "keyword": _format(c["keyword"], bold=True), "builtin": _format(c["builtin"]),
            "number": _format(c["number"]), "string": _format(c["string"]),
            "comment": _format(c["comment"], italic=True), "decorator": _format(c["decorator"]),
            "self": _format(c["self"]), "cell": _format(c["cell"], bold=True),
        }
        if rehighlight:
            self.rehighlight()

    def rehighlight(self):
        """Colour the whole document again (the first chunk now, the rest in later turns)."""
        self._request(0, self.document.blockCount() - 1)

    def pending(self) -> bool:
        """True while part of the document still waits to be coloured."""
        return self._from is not None

    def finish(self):
        """Colour everything that is still waiting, now (tests, snapshots)."""
        while self._from is not None:
            self._work(budget=None)

    # -- work -------------------------------------------------------------------------------
    def _on_change(self, position: int, removed: int, added: int):
        doc = self.document
        first = doc.findBlock(position).blockNumber()
        last = doc.findBlock(position + added).blockNumber()
        self._request(max(first, 0), last if last >= 0 else doc.blockCount() - 1)

    def _request(self, first: int, last: int):
        self._from = first if self._from is None else min(self._from, first)
        self._until = max(self._until, last)
        self._work()

    def _work(self, budget: int | None = BUDGET):
        if self._from is None:
            return
        doc = self.document
        block = doc.findBlockByNumber(self._from)
        if not block.isValid():
            self._from, self._until = None, -1
            return
        number = self._from
        state = max(block.previous().userState(), 0) if number else 0
        formats = self.formats
        start_position, done, changed = block.position(), 0, True
        end_position = start_position
        while block.isValid() and (number <= self._until or changed):
            if budget is not None and done >= budget:
                break
            spans, state = scan(block.text(), state)
            ranges = []
            for start, length, kind in spans:
                r = QTextLayout.FormatRange()
                r.start, r.length, r.format = start, length, formats[kind]
                ranges.append(r)
            block.layout().setFormats(ranges)
            changed = block.userState() != state
            block.setUserState(state)
            end_position = block.position() + block.length()
            block = block.next()
            number += 1
            done += 1
        if block.isValid() and (number <= self._until or changed):
            self._from = number
            self._timer.start()
        else:
            self._from, self._until = None, -1
        if done:
            # The layout draws the new formats once the blocks are marked dirty.
            doc.markContentsDirty(start_position, end_position - start_position)
