"""A dialog that asks the kernel one question and shows its answer.

What the Jacobian and Hessian dialogs share: the call they belong to, a summary
line ("Computing in the kernel…", then the answer's words or its error), and the
runner's answer signal, connected while the dialog is open and disconnected when
it closes (a closed dialog must not take the next answer)."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel


class AnswerDialog(QDialog):
    def __init__(self, record, runner, answered, parent=None):
        """``answered`` is the runner's signal that carries this kind of answer;
        subclasses define ``_on_answer(message)``."""
        super().__init__(parent)
        self.record, self.runner = record, runner
        self.answer = None
        self._answered = answered
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        answered.connect(self._on_answer)

    def _take(self, message) -> bool:
        """Keep ``message`` as the answer; False (with its error shown) when it is an error."""
        self.answer = message
        if message.error:
            self.summary.setText(html.escape(message.error))
            return False
        return True

    def closeEvent(self, event):
        try:
            self._answered.disconnect(self._on_answer)
        except (RuntimeError, TypeError):
            pass
        super().closeEvent(event)
