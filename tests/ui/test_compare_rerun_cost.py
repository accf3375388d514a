"""What a re-run costs the Compare panel: a new call's section must not make the tree
measure every older row again and again (Qt measures every cell of every row in a
full layout, so each extra layout costs as much as all the calls shown), and the
empty cells it measures are measured once."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from gradstudio.studio.kernel.schema import (CallData, CheckData, GraphData, LeafCheckData, LeafData, NodeData,
                                             RootData, RunData)
from gradstudio.ui.widgets.formula_delegate import FormulaDelegate

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
GRAD = np.array([2.0, 4.0])


def add_call(model, index: int):
    nodes = [NodeData(id=0, kind="leaf", label="w", name="w", shape=(2,)),
             NodeData(id=1, kind="op", label="z", name="z", shape=(), is_root=True)]
    call = CallData(index=index, cell=1, line=3, root=RootData("z", "SumBackward0", ()),
                    graph=GraphData(root=1, nodes=nodes), leaves=[LeafData("w", 0, (2,), GRAD)],
                    pending_check=True)
    model.finish_cell(RunData(cell=1, execution_count=index + 1, backward_calls=[index]), [call], [])


def check_of(index: int) -> CheckData:
    leaf = LeafCheckData(name="w", vertex=0, shape=(2,), numeric=GRAD, symbolic=GRAD, finite_difference=GRAD,
                         unsampled=np.zeros(2, bool), mismatch=np.zeros(2, bool), max_abs_error=0.0, agree=True,
                         formula_kind="elementwise", formula="2*w", simplified="2*w", element_symbol="w",
                         symbols=[("w", "an element of w")])
    return CheckData(index=index, agree=True, leaves=[leaf])


def check_call(model, index: int):
    model.calls.set_check(check_of(index))


class CountingDelegate(FormulaDelegate):
    """The Compare delegate, noting (parent row, row, column) of every cell it is asked
    to measure. (A subclass, not a patched class method: PySide binds a Python override
    when the object is made, and patching FormulaDelegate itself crashed a later test.)"""

    def __init__(self, parent, measured: list):
        super().__init__(parent)
        self.measured = measured

    def sizeHint(self, option, index):
        self.measured.append((index.parent().row(), index.row(), index.column()))
        return super().sizeHint(option, index)

    def _is_empty(self, index):
        # what working out an empty cell's size looks at (most cells are empty)
        self.examined.append((index.parent().row(), index.row(), index.column()))
        return FormulaDelegate._is_empty(index)

    examined: list = []


@pytest.fixture
def measured():
    """(parent row, row, column) of every cell the Compare delegate is asked to measure."""
    return []


@pytest.fixture
def panel(qtbot, measured):
    from gradstudio.ui.model import AppModel
    from gradstudio.ui.panels import PanelContext
    from gradstudio.ui.panels.compare import ComparePanel
    model = AppModel()
    panel = ComparePanel(PanelContext(model, None, None))
    panel.delegate = CountingDelegate(panel, measured)
    panel.tree.setItemDelegate(panel.delegate)
    qtbot.addWidget(panel)
    panel.resize(800, 400)
    panel.show()
    qtbot.waitExposed(panel)
    for index in range(4):
        add_call(model, index)
        check_call(model, index)
    qtbot.wait(80)                      # the refit timer
    measured.clear()
    return panel


OLDEST_HEADER_EMPTY_CELL = (-1, 0, 1)   # measured once per full layout of the tree (and per refit)


def test_a_new_checked_call_measures_the_older_rows_twice_at_most(qtbot, panel, measured):
    add_call(panel.model, 4)
    qtbot.wait(80)
    check_call(panel.model, 4)
    qtbot.wait(80)
    panel.tree.viewport().repaint()
    # before: the new header was spanned alone (a layout before its rows), and every
    # refit measured all the rows again — four times
    assert measured.count(OLDEST_HEADER_EMPTY_CELL) <= 2, measured.count(OLDEST_HEADER_EMPTY_CELL)
    assert panel.sections[4].isFirstColumnSpanned() and panel.sections[4].childCount() >= 1


def test_a_rendered_formula_still_measures_the_rows_again(qtbot, panel, measured):
    panel._relayout()                   # what a finished render does: heights may have changed
    assert OLDEST_HEADER_EMPTY_CELL in measured
    measured.clear()
    panel._refit()                      # contents arrived, nothing rendered: widths only
    assert (0, 0, 0) in measured and OLDEST_HEADER_EMPTY_CELL not in measured


def test_empty_cells_measure_as_qt_measures_them_and_only_once_per_font(qtbot, panel):
    tree, delegate = panel.tree, panel.delegate
    section = panel.sections[0]
    index = tree.indexFromItem(section, 3)              # a header's empty column
    assert index.isValid() and index.data(Qt.ItemDataRole.DisplayRole) in (None, "")
    option = QStyleOptionViewItem()
    option.initFrom(tree)
    option.font = QFont(tree.font())
    expected = QStyledItemDelegate.sizeHint(delegate, option, index)
    # (counted by the delegate's one remembered measurement, not by patching Qt's class:
    # PySide binds overrides when an object is made, and a patched class crashed later tests)
    delegate.forget_layouts()
    assert delegate.sizeHint(option, index) == expected
    assert delegate.sizeHint(option, tree.indexFromItem(section.child(0) or section, 0)) is not None
    measured_once = delegate._empty
    for column in range(1, tree.columnCount()):
        assert delegate.sizeHint(option, tree.indexFromItem(section, column)) == expected
    assert delegate._empty is measured_once, "an empty cell is measured once"
    big = QFont(option.font)
    big.setPointSizeF(option.font.pointSizeF() * 2)
    option.font = big
    assert delegate.sizeHint(option, index) == QStyledItemDelegate.sizeHint(delegate, option, index)
    assert delegate._empty is not measured_once            # a new font: measured anew


def test_a_check_that_comes_with_its_call_is_built_once(qtbot, panel, monkeypatch):
    model = panel.model
    built, seen_at_add = [], []
    original = panel._row_item
    monkeypatch.setattr(panel, "_row_item", lambda *args: built.append(args[1].kind) or original(*args))
    model.calls.callAdded.connect(lambda index: seen_at_add.append(model.calls.call(index).check))
    check = check_of(5)
    nodes = [NodeData(id=0, kind="leaf", label="w", name="w", shape=(2,)),
             NodeData(id=1, kind="op", label="z", name="z", shape=(), is_root=True)]
    call = CallData(index=5, cell=1, line=3, root=RootData("z", "SumBackward0", ()),
                    graph=GraphData(root=1, nodes=nodes), leaves=[LeafData("w", 0, (2,), GRAD)],
                    pending_check=True)
    model.finish_cell(RunData(cell=1, execution_count=6, backward_calls=[5]), [call], [], [check])
    assert seen_at_add == [check] and not model.calls.call(5).pending
    rows = len(built)
    assert rows >= 1
    model.calls.set_check(check)            # the client's callChecked that follows: nothing to rebuild
    assert len(built) == rows
    leaf = next(panel.sections[5].child(i) for i in range(panel.sections[5].childCount())
                if panel.sections[5].child(i).data(0, Qt.ItemDataRole.UserRole + 1) == "leaf")
    from gradstudio.ui.panels.compare import SIMPLIFIED
    assert leaf.text(SIMPLIFIED) == "2*w"



def option_of(tree) -> QStyleOptionViewItem:
    option = QStyleOptionViewItem()
    option.initFrom(tree)
    option.font = QFont(tree.font())
    return option


def test_a_rerun_works_out_the_sizes_of_its_own_rows_only(qtbot, panel):
    """Qt measures every cell of every row in each layout of the tree: the rows of the
    calls shown before keep the sizes they were measured at (before, each re-run worked
    out every older row's cells again, a cost that grew with every call shown)."""
    delegate = panel.delegate
    delegate.examined = []
    add_call(panel.model, 4)
    check_call(panel.model, 4)
    qtbot.wait(80)
    panel.tree.viewport().repaint()
    new_section = panel.tree.indexOfTopLevelItem(panel.sections[4])
    assert delegate.examined, "the new call's cells are worked out"
    older = [cell for cell in delegate.examined if cell[0] != new_section and cell[:2] != (-1, new_section)]
    assert older == [], older[:5]


def test_a_changed_row_is_measured_anew(qtbot, panel):
    """A kept size belongs to one version of a row: a header whose text changes (its check
    arrived) answers its new size, the one a fresh measurement gives."""
    tree, delegate = panel.tree, panel.delegate
    add_call(panel.model, 4)
    qtbot.wait(80)
    section = panel.sections[4]
    index = tree.indexFromItem(section, 0)
    option = option_of(tree)
    before_text, before = section.text(0), delegate.sizeHint(option, index)
    assert delegate.sizeHint(option, index) == before
    check_call(panel.model, 4)
    qtbot.wait(80)
    assert section.text(0) != before_text
    assert delegate.sizeHint(option, index) == delegate.measure(option, index)[0]
    assert delegate.sizeHint(option, index).width() != before.width()
    delegate.forget_layouts()                            # (the width or the fonts changed)
    assert delegate.sizeHint(option, index) == delegate.measure(option, index)[0]
