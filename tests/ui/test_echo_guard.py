"""The echo guard the panels share (ui/widgets/echo.py): nested, exception-safe, and
what it is for — a combo box set by the panel does not talk back to the model."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QComboBox

from gradstudio.ui.widgets.echo import EchoGuard


def test_nesting_keeps_the_outer_block_guarded_and_an_exception_ends_it():
    guard = EchoGuard()
    assert not guard
    with guard:
        with guard:
            assert guard
        assert guard, "the inner block ending must not unguard the outer one"
    assert not guard
    with pytest.raises(ZeroDivisionError):
        with guard:
            1 / 0
    assert not guard


def test_a_guarded_set_is_not_taken_for_the_users_pick(qtbot):
    combo = QComboBox()
    qtbot.addWidget(combo)
    combo.addItems(["x", "y", "z"])
    syncing, picks = EchoGuard(), []
    combo.currentTextChanged.connect(lambda text: None if syncing else picks.append(text))
    with syncing:
        combo.setCurrentIndex(2)
    combo.setCurrentIndex(1)
    assert picks == ["y"] and combo.currentText() == "y"
