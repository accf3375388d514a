"""Python syntax colouring for the code editor, with ``# %%`` cell markers set apart.

A small line scanner (keywords, builtins, numbers, decorators, strings
including triple-quoted ones across lines, comments) — enough for tutorial
scripts, and cheap enough to run on every keystroke.
"""
from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat

from gradstudio.studio.session import CELL_MARKER
from .. import theme

_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_NUMBER = re.compile(r"\b(?:0[xXoObB][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?j?|\.\d+(?:[eE][+-]?\d+)?j?)\b")
_DECORATOR = re.compile(r"^\s*@[\w.]+")
_KEYWORDS = set(keyword.kwlist) | {"match", "case"}
_BUILTINS = {name for name in dir(builtins) if not name.startswith("_")} - _KEYWORDS
_IN_SINGLE_TRIPLE, _IN_DOUBLE_TRIPLE = 1, 2


def _format(color: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    if italic:
        f.setFontItalic(True)
    return f


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document):
        super().__init__(document)
        self.refresh_colors(rehighlight=False)

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

    def highlightBlock(self, text: str):
        f = self.formats
        n = len(text)
        state = self.previousBlockState()
        self.setCurrentBlockState(0)
        if state not in (_IN_SINGLE_TRIPLE, _IN_DOUBLE_TRIPLE) and CELL_MARKER.match(text):
            self.setFormat(0, n, f["cell"])
            return
        start = 0
        if state in (_IN_SINGLE_TRIPLE, _IN_DOUBLE_TRIPLE):
            delimiter = "'''" if state == _IN_SINGLE_TRIPLE else '"""'
            end = text.find(delimiter)
            if end == -1:
                self.setFormat(0, n, f["string"])
                self.setCurrentBlockState(state)
                return
            start = end + 3
            self.setFormat(0, start, f["string"])
        for match in _WORD.finditer(text, start):
            word = match.group()
            kind = ("keyword" if word in _KEYWORDS else "builtin" if word in _BUILTINS
                    else "self" if word in ("self", "cls") else None)
            if kind:
                self.setFormat(match.start(), len(word), f[kind])
        for match in _NUMBER.finditer(text, start):
            self.setFormat(match.start(), match.end() - match.start(), f["number"])
        decorator = _DECORATOR.match(text)
        if decorator and decorator.start() >= start:
            self.setFormat(0, decorator.end(), f["decorator"])
        self._strings_and_comments(text, start)

    def _strings_and_comments(self, text: str, i: int):
        f, n = self.formats, len(text)
        while i < n:
            ch = text[i]
            if ch == "#":
                self.setFormat(i, n - i, f["comment"])
                return
            if ch in "'\"":
                triple = text[i:i + 3]
                if triple in ("'''", '"""'):
                    end = text.find(triple, i + 3)
                    if end == -1:
                        self.setFormat(i, n - i, f["string"])
                        self.setCurrentBlockState(_IN_SINGLE_TRIPLE if triple == "'''" else _IN_DOUBLE_TRIPLE)
                        return
                    self.setFormat(i, end + 3 - i, f["string"])
                    i = end + 3
                    continue
                k = i + 1
                while k < n and text[k] != ch:
                    k += 2 if text[k] == "\\" else 1
                self.setFormat(i, min(k + 1, n) - i, f["string"])
                i = k + 1
                continue
            i += 1
