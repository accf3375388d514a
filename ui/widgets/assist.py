"""Completion and help in the script editor, from the kernel.

:class:`KernelAssist` joins a :class:`~.code_editor.CodeEditor` to a kernel
client that answers ``complete(code, pos)`` / ``inspect(code, pos)`` with a
token and later emits ``completed(token, reply)`` / ``inspected(token, reply)``
(the Jupyter client: ``complete_request`` / ``inspect_request``):

* Tab after a dot (``torch.`` or ``torch.ze``) or Ctrl+Space anywhere asks
  for completions of the cursor's cell; the matches open in a popup list
  (Enter or Tab takes one, Escape closes it, typing narrows it);
* Shift+Tab right after a name, or the mouse resting on one, asks for its
  help, shown as a tooltip.

Nothing waits: a question is sent and the editor goes on. An answer is used
only if it is for the last question and the text and cursor are still as they
were when it was asked; anything else is a stale answer and is dropped.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QCompleter, QToolTip

MAX_MATCHES = 200
MAX_HELP_CHARS = 2000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_AFTER_DOT = re.compile(r"\.[A-Za-z_0-9]*$")
_NAME_END = re.compile(r"[A-Za-z_0-9)(]$")


class KernelAssist(QObject):
    """See the module docstring."""

    def __init__(self, editor, client, parent=None):
        super().__init__(parent or editor)
        self.editor = editor
        self.client = client
        self._asked = None       # (token, revision, position, cell start) of the newest completion
        self._asked_help = None  # (token, revision, position, global tooltip position or None)
        self.completer = QCompleter(self)
        self.completer.setModel(QStringListModel(self))
        self.completer.setWidget(editor)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseSensitive)
        self.completer.activated.connect(self._insert)
        self._replace = None     # (start, end) document positions the chosen match replaces
        client.completed.connect(self._on_completed)
        client.inspected.connect(self._on_inspected)
        editor.installEventFilter(self)
        editor.assist = self

    def eventFilter(self, watched, event):
        # the list of matches closes with its editor (a window closing, a panel hidden)
        if watched is self.editor and event.type() == QEvent.Type.Hide:
            popup = self.completer.popup()
            if popup.isVisible():
                popup.hide()
                # a closing popup gives the focus back to its editor, here one being hidden
                # with its window: Qt then sent that focus's events to the editor while it
                # was being deleted (a segmentation fault after the window closed)
                if self.editor.hasFocus():
                    self.editor.clearFocus()
        return False

    # -- the editor's keys ------------------------------------------------------------
    def key(self, event) -> bool:
        """Handle ``event`` if it is one of ours; True if the editor must not handle it too."""
        key, modifiers = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        popup = self.completer.popup()
        if popup.isVisible() and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab,
                                         Qt.Key.Key_Escape, Qt.Key.Key_Backtab):
            event.ignore()       # the popup takes them
            return True
        cursor = self.editor.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        if key == Qt.Key.Key_Space and modifiers == Qt.KeyboardModifier.ControlModifier:
            self.ask_completion()
            return True
        if (key == Qt.Key.Key_Tab and modifiers == Qt.KeyboardModifier.NoModifier
                and not cursor.hasSelection() and _AFTER_DOT.search(before)):
            self.ask_completion()
            return True
        if key == Qt.Key.Key_Backtab and not cursor.hasSelection() and _NAME_END.search(before):
            self.ask_help(cursor.position())
            return True
        return False

    def after_key(self):
        """Typing while the popup is open narrows it (or closes it when nothing is left)."""
        popup = self.completer.popup()
        if not popup.isVisible() or self._replace is None:
            return
        start = self._replace[0]
        position = self.editor.textCursor().position()
        if position < start:
            popup.hide()
            return
        self._replace = (start, max(position, self._replace[1]))
        self.completer.setCompletionPrefix(self._text(start, position))
        if self.completer.completionCount() == 0:
            popup.hide()

    # -- questions ---------------------------------------------------------------------
    def _cell(self):
        """(text, document position of its start) of the cell under the cursor."""
        editor = self.editor
        first, last = editor.cell_range(editor.textCursor().blockNumber())
        document = editor.document()
        start = document.findBlockByNumber(first).position()
        end_block = document.findBlockByNumber(last)
        end = end_block.position() + end_block.length() - 1
        return self._text(start, end), start

    def _text(self, start: int, end: int) -> str:
        cursor = QTextCursor(self.editor.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        return cursor.selectedText().replace("\u2029", "\n")

    def _revision(self) -> int:
        return self.editor.document().revision()

    def ask_completion(self):
        code, start = self._cell()
        position = self.editor.textCursor().position()
        token = self.client.complete(code, position - start)
        if token is not None:
            self._asked = (token, self._revision(), position, start)

    def ask_help(self, position: int, where=None):
        cursor = QTextCursor(self.editor.document())
        cursor.setPosition(position)
        block = cursor.block()
        token = self.client.inspect(block.text(), position - block.position())
        if token is not None:
            self._asked_help = (token, self._revision(), position, where)

    # -- answers -----------------------------------------------------------------------
    def _on_completed(self, token: str, reply: dict):
        asked, self._asked = self._asked, None
        if asked is None or asked[0] != token:
            self._asked = asked          # not the answer to the newest question
            return
        _, revision, position, start = asked
        if revision != self._revision() or position != self.editor.textCursor().position():
            return                       # stale: the text or the cursor moved on
        if reply.get("status", "ok") != "ok":
            return
        matches = [m for m in reply.get("matches") or [] if isinstance(m, str)][:MAX_MATCHES]
        begin, end = reply.get("cursor_start"), reply.get("cursor_end")
        if not matches or not isinstance(begin, int) or not isinstance(end, int):
            return
        if all(m.startswith(".") for m in matches) and self._text(start + begin, start + begin + 1) == ".":
            # IPython's namespace completer includes the dot: the list shows the names
            matches, begin = [m[1:] for m in matches], begin + 1
        self._replace = (start + begin, start + end)
        if len(matches) == 1:
            self._insert(matches[0])
            return
        self.completer.model().setStringList(matches)
        self.completer.setCompletionPrefix(self._text(start + begin, position))
        rect = self.editor.cursorRect()
        rect.setWidth(max(240, self.completer.popup().sizeHintForColumn(0) + 24))
        self.completer.complete(rect)

    def _insert(self, text: str):
        if self._replace is None:
            return
        start, end = self._replace
        self._replace = None
        cursor = self.editor.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(text)
        self.editor.setTextCursor(cursor)

    def _on_inspected(self, token: str, reply: dict):
        asked = self._asked_help
        if asked is None or asked[0] != token:
            return
        self._asked_help = None
        _, revision, position, where = asked
        if revision != self._revision():
            return
        if where is None and position != self.editor.textCursor().position():
            return
        text = help_text(reply)
        if not text:
            return
        if where is None:
            where = self.editor.mapToGlobal(self.editor.cursorRect().bottomLeft())
        QToolTip.showText(where, text, self.editor)

    @property
    def last_help(self) -> str:
        return QToolTip.text() if QToolTip.isVisible() else ""


def help_text(reply: dict) -> str:
    """The plain help of an ``inspect_reply``, without colour codes, cut to a tooltip's size."""
    if reply.get("status", "ok") != "ok" or not reply.get("found"):
        return ""
    text = (reply.get("data") or {}).get("text/plain")
    if not isinstance(text, str):
        return ""
    text = _ANSI.sub("", text).strip()
    return text if len(text) <= MAX_HELP_CHARS else text[:MAX_HELP_CHARS] + "\n…"
