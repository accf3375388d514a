"""Line-wise editing commands of the code editor: indent, dedent, toggle comments.

Each takes the editor's ``QTextCursor`` and changes the lines its selection
touches (the cursor's line when nothing is selected) as one undo step, then
selects the changed lines again when there was a selection, so the command
can be repeated. Indentation is four spaces, as PEP 8 and the editor's Tab.
"""
from __future__ import annotations

from PySide6.QtGui import QTextCursor

INDENT = "    "


def _lines(cursor: QTextCursor) -> tuple:
    """The blocks the selection touches: a selection ending at the very start
    of a line does not take that line in (as every code editor does)."""
    doc = cursor.document()
    start, end = sorted((cursor.anchor(), cursor.position()))
    first = doc.findBlock(start)
    last = doc.findBlock(end)
    if cursor.hasSelection() and end == last.position() and last != first:
        last = last.previous()
    blocks, block = [], first
    while block.isValid():
        blocks.append(block)
        if block == last:
            break
        block = block.next()
    return blocks


def _edit(cursor: QTextCursor, change) -> None:
    """Apply ``change(text) -> (offset, chars_to_remove, text_to_insert) | None`` to
    every touched line in one undo step. A selection is widened to the whole
    lines; a bare cursor keeps its place in the text."""
    had_selection = cursor.hasSelection()
    blocks = _lines(cursor)
    doc = cursor.document()
    first_number, last_number = blocks[0].blockNumber(), blocks[-1].blockNumber()
    column = cursor.position() - blocks[0].position()
    edits = [(block, change(block.text())) for block in blocks]
    edit = QTextCursor(doc)
    edit.beginEditBlock()
    for block, what in edits:
        if what is None:
            continue
        offset, remove, insert = what
        edit.setPosition(block.position() + offset)
        edit.setPosition(block.position() + offset + remove, QTextCursor.MoveMode.KeepAnchor)
        edit.insertText(insert)
    edit.endEditBlock()
    first = doc.findBlockByNumber(first_number)
    if had_selection:
        last = doc.findBlockByNumber(last_number)
        cursor.setPosition(first.position())
        cursor.setPosition(last.position() + last.length() - 1, QTextCursor.MoveMode.KeepAnchor)
        return
    what = edits[0][1]
    if what is not None:
        offset, remove, insert = what
        if column >= offset + remove:
            column += len(insert) - remove
        elif column > offset:
            column = offset
    cursor.setPosition(first.position() + min(column, first.length() - 1))


def indent(cursor: QTextCursor) -> None:
    """Four spaces before every non-blank touched line."""
    _edit(cursor, lambda text: (0, 0, INDENT) if text.strip() else None)


def _leading(text: str) -> int:
    """How many characters one dedent removes from the start of ``text``."""
    if text.startswith("\t"):
        return 1
    spaces = len(text) - len(text.lstrip(" "))
    return min(spaces, len(INDENT)) if spaces % len(INDENT) == 0 else spaces % len(INDENT)


def dedent(cursor: QTextCursor) -> None:
    """One indentation level (or the odd spaces, or a tab) off every touched line."""
    _edit(cursor, lambda text: (0, n, "") if (n := _leading(text)) else None)


def toggle_comment(cursor: QTextCursor) -> None:
    """Comment the lines with ``# `` at their common indentation, or, when every
    non-blank line is already a comment, remove one ``#`` (and the space after it)."""
    blocks = [b for b in _lines(cursor) if b.text().strip()]
    if not blocks:
        return
    texts = [b.text() for b in blocks]
    if all(t.lstrip().startswith("#") for t in texts):
        def change(text):
            if not text.strip():
                return None
            at = len(text) - len(text.lstrip())
            return (at, 2 if text[at + 1:at + 2] == " " else 1, "")
    else:
        column = min(len(t) - len(t.lstrip()) for t in texts)

        def change(text):
            return (column, 0, "# ") if text.strip() else None
    _edit(cursor, change)
