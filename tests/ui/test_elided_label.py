"""The Compare toolbar's caption: elided with "…" when narrow, its tooltip then whole."""
from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from gradstudio.ui.widgets.elided_label import ElidedLabel

TEXT = "Select a leaf to copy its formula"


def _ink_columns(label) -> int:
    """The rightmost column with ink in the rendered label (-1 if none)."""
    image = label.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    background = image.pixelColor(0, 0)
    right = -1
    for x in range(image.width()):
        if any(image.pixelColor(x, y) != background for y in range(image.height())):
            right = x
    return right


def test_wide_label_shows_the_text_whole_and_no_tip(qtbot):
    label = ElidedLabel(TEXT)
    qtbot.addWidget(label)
    label.resize(label.fontMetrics().horizontalAdvance(TEXT) + 40, 30)
    assert label.shown_text() == TEXT and not label.is_elided()
    assert label.toolTip() == ""


def test_narrow_label_ends_in_an_ellipsis_inside_its_width(qtbot):
    label = ElidedLabel(TEXT)
    qtbot.addWidget(label)
    width = label.fontMetrics().horizontalAdvance(TEXT) // 2
    label.resize(width, 30)
    label.show()
    qtbot.waitExposed(label)
    shown = label.shown_text()
    assert shown.endswith("…") and TEXT.startswith(shown[:-1].rstrip())
    assert label.text() == TEXT and label.toolTip() == TEXT
    assert 0 < _ink_columns(label) < width      # painted, and inside the label
    # what it paints is the shown text: the same pixels as a plain label holding it
    reference = QLabel(shown)
    qtbot.addWidget(reference)
    reference.resize(label.size())
    reference.show()
    qtbot.waitExposed(reference)
    assert label.grab().toImage() == reference.grab().toImage()
    label.setText("short")                      # a new text that fits: no tip
    assert label.shown_text() == "short" and label.toolTip() == ""


def test_compare_caption_is_elided(qtbot, window):
    caption = window.panel("compare").caption
    assert isinstance(caption, ElidedLabel)
