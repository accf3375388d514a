"""The Jacobian and Hessian dialogs' shared part: an answer is taken while open,
an error is shown as text, and a closed dialog takes no later answer."""
from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import QObject, Signal

from gradstudio.ui.panels.answer_dialog import AnswerDialog


class Runner(QObject):
    answered = Signal(object)


class Dialog(AnswerDialog):
    def _on_answer(self, message):
        if self._take(message):
            self.summary.setText(f"answer {message.value}")


def test_an_answer_is_taken_an_error_shown_and_a_closed_dialog_takes_nothing(qtbot):
    runner = Runner()
    dialog = Dialog(SimpleNamespace(index=1), runner, runner.answered)
    qtbot.addWidget(dialog)
    dialog.show()
    runner.answered.emit(SimpleNamespace(error=None, value=3))
    assert dialog.summary.text() == "answer 3"
    runner.answered.emit(SimpleNamespace(error="x < 0 & y", value=None))
    assert dialog.summary.text() == "x &lt; 0 &amp; y" and dialog.answer.error
    dialog.close()
    runner.answered.emit(SimpleNamespace(error=None, value=4))
    assert dialog.answer.error == "x < 0 & y"
