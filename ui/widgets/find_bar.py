"""The find/replace bar under the script editor (Ctrl+F, Ctrl+H).

Typing searches as you type from where the cursor is; Enter / ↓ / F3 finds the
next match, Shift+Enter / ↑ / Shift+F3 the previous one, both wrapping around
the ends of the script (the bar says so). Replace changes the selected match
and moves on; Replace All changes every match as one undo step. Match case is
off by default. Escape closes the bar and puts the focus back in the editor.
The search itself is ``QTextDocument.find`` (no regular expressions: the text
is searched for as typed).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QLabel, QLineEdit, QToolButton,
                               QWidget)

from .. import theme


class FindBar(QWidget):
    def __init__(self, editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.find_field = QLineEdit()
        self.find_field.setPlaceholderText("Find")
        self.find_field.setClearButtonEnabled(True)
        self.replace_field = QLineEdit()
        self.replace_field.setPlaceholderText("Replace with")
        self.match_case = QCheckBox("Match case")
        self.previous_button = self._button("↑", "Previous match (Shift+Enter, Shift+F3)",
                                            lambda: self.find(backward=True))
        self.next_button = self._button("↓", "Next match (Enter, F3)", lambda: self.find())
        self.replace_button = self._button("Replace", "Replace this match and find the next",
                                           self.replace)
        self.replace_all_button = self._button("Replace All", "Replace every match (one undo step)",
                                               self.replace_all)
        self.close_button = self._button("✕", "Close (Escape)", self.close_bar)
        self.close_button.setAutoRaise(True)
        self.status = QLabel()
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.find_field, 0, 0)
        layout.addWidget(self.previous_button, 0, 1)
        layout.addWidget(self.next_button, 0, 2)
        layout.addWidget(self.match_case, 0, 3)
        layout.addWidget(self.status, 0, 4)
        layout.addWidget(self.close_button, 0, 5)
        layout.addWidget(self.replace_field, 1, 0)
        layout.addWidget(self.replace_button, 1, 1, 1, 2)
        layout.addWidget(self.replace_all_button, 1, 3)
        layout.setColumnStretch(0, 1)
        layout.setColumnStretch(4, 1)
        self.find_field.textEdited.connect(self._search_as_typed)
        self.match_case.toggled.connect(lambda: self._search_as_typed(self.find_field.text()))
        for field in (self.find_field, self.replace_field):
            field.installEventFilter(self)
        self.hide()

    def _button(self, text, tip, slot) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # -- opening and closing -------------------------------------------------------------------
    def open(self, replace: bool = False):
        """Show the bar (with the replace row for Ctrl+H), the selected text as the search."""
        selected = self.editor.textCursor().selectedText()
        if selected and "\u2029" not in selected:
            self.find_field.setText(selected)
        for widget in (self.replace_field, self.replace_button, self.replace_all_button):
            widget.setVisible(replace)
        self.show()
        self.find_field.setFocus()
        self.find_field.selectAll()
        self._say("")

    def close_bar(self):
        self.hide()
        self.editor.setFocus()

    def replace_shown(self) -> bool:
        return not self.replace_field.isHidden()

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self.close_bar()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                backward = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                if watched is self.replace_field and not backward:
                    self.replace()
                else:
                    self.find(backward=backward)
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event):
        if event.key() == Qt.Key.Key_Escape:
            self.close_bar()
            return
        super().keyPressEvent(event)

    # -- searching -----------------------------------------------------------------------------
    def _flags(self, backward: bool = False):
        flags = QTextDocument.FindFlag(0)
        if backward:
            flags |= QTextDocument.FindFlag.FindBackward
        if self.match_case.isChecked():
            flags |= QTextDocument.FindFlag.FindCaseSensitively
        return flags

    def _search_as_typed(self, text: str):
        cursor = self.editor.textCursor()
        cursor.setPosition(cursor.selectionStart())
        self.editor.setTextCursor(cursor)
        if text:
            self.find()
        else:
            self._say("")

    def find(self, backward: bool = False) -> bool:
        """Select the next (previous) match after (before) the selection, wrapping around."""
        text = self.find_field.text()
        if not text:
            return False
        doc = self.editor.document()
        found = doc.find(text, self.editor.textCursor(), self._flags(backward))
        wrapped = False
        if found.isNull():
            start = QTextCursor(doc)
            start.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
            found = doc.find(text, start, self._flags(backward))
            wrapped = True
        if found.isNull():
            self._say("No matches", bad=True)
            return False
        self.editor.setTextCursor(found)
        self.editor.centerCursor()
        self._say(("Wrapped around to the end" if backward else "Wrapped around to the top")
                  if wrapped else "")
        return True

    def _selection_matches(self) -> bool:
        selected, text = self.editor.textCursor().selectedText(), self.find_field.text()
        return bool(text) and (selected == text if self.match_case.isChecked()
                               else selected.casefold() == text.casefold())

    def replace(self):
        """Replace the selected match (if it is one), then find the next."""
        if self._selection_matches():
            self.editor.textCursor().insertText(self.replace_field.text())
        self.find()

    def replace_all(self) -> int:
        text, replacement = self.find_field.text(), self.replace_field.text()
        if not text:
            return 0
        doc = self.editor.document()
        cursor = QTextCursor(doc)
        edit = QTextCursor(doc)
        edit.beginEditBlock()
        count = 0
        while True:
            cursor = doc.find(text, cursor, self._flags())
            if cursor.isNull():
                break
            cursor.insertText(replacement)
            count += 1
        edit.endEditBlock()
        self._say(f"Replaced {count}" if count else "No matches", bad=not count)
        return count

    def _say(self, text: str, bad: bool = False):
        self.status.setText(text)
        color = theme.colors(self.palette())["bad"] if bad else ""
        self.status.setStyleSheet(f"color: {color};" if color else "")
