"""The Compare panel in the real app: formulas rendered as mathematics (and the
fallbacks where mathtext can't), copying as LaTeX and sympy, disagreements
highlighted and explained, selection in both directions."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

from gradstudio.studio.kernel.schema import CallData, CheckData, GraphData, LeafCheckData, LeafData, NodeData, RootData, RunData
from gradstudio.ui import theme
from gradstudio.ui.panels import compare as compare_module
from gradstudio.ui.panels.compare import (CHAIN, ENGINE, FD, MARK, ROLE_FORMULA, ROLE_HTML, ROLE_KIND,
                                          SIMPLIFIED, SYMBOLIC)
from gradstudio.ui.widgets import math_view

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

AWKWARD = """# %%
import torch

class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x          # wrong: d(x*x)/dx is 2*x

# %% a custom Function with a wrong backward
w = torch.tensor([[1.0, 2.0], [-1.0, 0.0]], requires_grad=True)
Square.apply(w).sum().backward()

# %% relu at its kink: a Piecewise
a = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
torch.relu(a).sum().backward()

# %% a matrix product: one formula per element (a Matrix)
A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
B = torch.tensor([[0.5, -1.0], [2.0, 1.0]])
(A @ B).cumsum(0).sum().backward()  # cumsum: no matrix form, so per element
"""


def run_script(qtbot, window, helpers, text):
    helpers.set_script(window, text)
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    panel = window.panel("compare")
    window.docks["compare"].raise_()                 # in front of the Plots tab
    qtbot.waitUntil(lambda: panel.tree.isVisible(), timeout=5000)
    return panel


def settle(qtbot, panel):
    """Paint, then wait until the formulas on screen are rendered."""
    panel.tree.viewport().repaint()
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=20000)
    panel.tree.viewport().repaint()


def call_by_grad_fn(window, prefix):
    return next(r for r in window.model.calls.call_list() if (r.data.root.grad_fn or "").startswith(prefix))


def leaf_row(panel, record, name):
    section = panel.sections[record.index]
    return next(section.child(i) for i in range(section.childCount())
                if section.child(i).data(0, ROLE_KIND) == "leaf" and section.child(i).text(0) == name)


def detail_of(row):
    section = row.parent()
    after = section.child(section.indexOfChild(row) + 1)
    assert after is not None and after.data(0, ROLE_KIND) == "detail"
    return after.data(0, ROLE_HTML)


def test_tutorial_formulas_render_copy_and_select(qtbot, window, helpers, monkeypatch):
    panel = run_script(qtbot, window, helpers, helpers.tutorial.read_text())
    mean = call_by_grad_fn(window, "MeanBackward")
    row = leaf_row(panel, mean, "x")
    assert row.text(CHAIN) == "3*2*x/4" and row.text(SIMPLIFIED) == "3*x/2"
    assert row.text(MARK) == "✓"
    assert row.text(ENGINE) == row.text(SYMBOLIC) == row.text(FD) == "1.5 (all 4)"
    panel.tree.scrollToItem(row)
    settle(qtbot, panel)

    chain, simplified = row.data(CHAIN, ROLE_FORMULA), row.data(SIMPLIFIED, ROLE_FORMULA)
    assert chain.latex.startswith(r"\frac{3 \cdot 2 \cdot x}{4}")
    assert simplified.latex == r"\frac{3 x}{2}"
    for formula in (chain, simplified):
        shown = panel.formula_shown(formula, False)
        assert shown.kind == "math" and not shown.pixmap.isNull()
        assert shown.pixmap.height() / shown.pixmap.devicePixelRatio() > panel.fontMetrics().height(), \
            "a fraction is taller than a line of text"
    rect = panel.tree.visualItemRect(row)
    assert rect.height() >= shown.pixmap.height() / shown.pixmap.devicePixelRatio(), "the row fits its formula"
    assert "where <i>x</i> = an element of x" in detail_of(row)

    # re-running the cell shows its formulas from the cache: nothing is rendered again
    renders = math_view.cache_info()["renders"]
    cell = next(c for c in window.model.script.cells() if "mean()" in c.source)
    editor = window.panel("script").editor
    cursor = editor.textCursor()
    cursor.setPosition(editor.document().findBlockByLineNumber(cell.first_line).position())
    editor.setTextCursor(cursor)
    calls_before = len(window.model.calls.records)
    window.actions["run_cell"].trigger()
    helpers.wait_idle(qtbot, window)
    assert len(window.model.calls.records) == calls_before + 1
    again = window.model.calls.call_list()[-1]
    new_row = leaf_row(panel, again, "x")
    assert panel.formula_shown(new_row.data(SIMPLIFIED, ROLE_FORMULA), False).kind == "math"
    settle(qtbot, panel)
    assert math_view.cache_info()["renders"] == renders

    # copy as LaTeX / sympy: the buttons take the current column's form (simplified by default)
    panel.tree.setCurrentItem(row, SIMPLIFIED)
    clipboard = QGuiApplication.clipboard()
    assert panel.copy_latex.isEnabled() and panel.copy_sympy.isEnabled()
    panel.copy_latex.click()
    assert clipboard.text() == r"\frac{3 x}{2}"
    panel.copy_sympy.click()
    assert clipboard.text() == "3*x/2"
    panel.tree.setCurrentItem(row, CHAIN)
    panel.copy_sympy.click()
    assert clipboard.text() == "3*2*x/4"
    panel.copy_latex.click()
    assert clipboard.text() == chain.latex
    panel.copy_latex.menu().actions()[1].trigger()          # "Simplified form"
    assert clipboard.text() == r"\frac{3 x}{2}"
    clipboard.clear()
    panel.tree.setFocus()
    qtbot.keyClick(panel.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)   # the current column's form
    assert clipboard.text() == "3*2*x/4"
    # … and the context menu
    monkeypatch.setattr(panel, "exec_menu", lambda menu, position: None)
    panel._context_menu(panel.tree.visualItemRect(row).center())
    actions = {a.text(): a for a in panel.context_menu.actions()}
    actions["Copy chain form as LaTeX"].trigger()
    assert clipboard.text() == chain.latex
    actions["Copy simplified as sympy"].trigger()
    assert clipboard.text() == "3*x/2"

    # selection, from the panel out: the row selects x in that call everywhere
    panel.tree.setCurrentItem(row)
    selection = window.model.selection.current
    assert (selection.call, selection.node, selection.tensor) == (mean.index, row.data(0, compare_module.ROLE_KEY)[1], "x")
    assert window.panel("inspector").fields["name"].text() == "x"
    assert "∂z/∂x" in panel.caption.text()
    # … and in: a selection made elsewhere highlights the row
    summed = call_by_grad_fn(window, "SumBackward")
    other = leaf_row(panel, summed, "x")
    window.model.selection.select(call=summed.index, node=other.data(0, compare_module.ROLE_KEY)[1])
    assert panel.tree.currentItem() is other and other.isSelected()
    root = summed.graph.root
    window.model.selection.select(call=summed.index, node=root)          # not a leaf: no row
    assert not other.isSelected() and not panel.tree.selectedItems()
    # a click on a call's header selects its root
    panel._on_item_clicked(panel.sections[mean.index], 0)
    assert (window.model.selection.current.call, window.model.selection.current.node) == (mean.index, mean.graph.root)


def test_disagreement_kink_and_matrix(qtbot, window, helpers):
    panel = run_script(qtbot, window, helpers, AWKWARD)
    colors = theme.colors(panel.palette())

    # the wrong backward: ✗, the mismatching elements highlighted and explained
    wrong = window.model.calls.call_list()[0]
    row = leaf_row(panel, wrong, "w")
    check = wrong.leaf_check(row.data(0, compare_module.ROLE_KEY)[1])
    assert not check.agree
    assert row.text(MARK) == "✗"
    assert "✗ disagreement" in panel.sections[wrong.index].text(0)
    assert row.background(ENGINE).color() == QColor(colors["mismatch_bg"])
    assert "disagreeing elements" in row.toolTip(ENGINE) and "[0, 0]" in row.toolTip(ENGINE)
    explained = detail_of(row)
    assert "3 of 4 elements disagree" in explained
    assert "no symbolic rule for SquareBackward" in explained
    marked = colors["mismatch_bg"]
    assert explained.count(marked) == 2 * 3, "engine and finite differences, 3 bad elements each"
    assert f"{marked};color:{colors['bad']};font-weight:600'>3</span>" in explained   # engine [0, 0]
    assert f"{marked};color:{colors['bad']};font-weight:600'>2</span>" in explained   # fd [0, 0]
    assert explained.split("<br>")[0].endswith(", 0]]"), "the agreeing element [1, 1] is not marked"

    # relu at 0: a Piecewise, shown as sympy's pretty print; the kink is explained
    relu = window.model.calls.call_list()[1]
    row = leaf_row(panel, relu, "a")
    assert row.text(MARK) == "✓"
    formula = row.data(CHAIN, ROLE_FORMULA)
    assert r"\begin{cases}" in formula.latex
    panel.tree.scrollToItem(row)
    settle(qtbot, panel)
    shown = panel.formula_shown(formula, False)
    assert shown.kind == "pretty" and "for a > 0" in shown.text and "otherwise" in shown.text
    assert "At a kink" in detail_of(row)

    # the matrix product: per element; the row draws element [0, 0], the whole is a Matrix
    matmul = window.model.calls.call_list()[2]
    row = leaf_row(panel, matmul, "A")
    assert row.text(MARK) == "✓"
    formula = row.data(CHAIN, ROLE_FORMULA)
    assert formula.caption == "[0, 0]" and formula.pretty.startswith("⎡")
    panel.tree.scrollToItem(row)
    settle(qtbot, panel)
    assert panel.formula_shown(formula, False).kind == "math"
    window_ = panel.show_formula(matmul, matmul.leaf_check(row.data(0, compare_module.ROLE_KEY)[1]))
    try:
        view = window_.views["chain"]
        assert view.mode == "pretty" and view.text().startswith("⎡"), "mathtext can't draw a Matrix"
        assert not window_.isModal()
    finally:
        window_.close()
    # drawing every row (selected or not) raises nothing
    for item in (leaf_row(panel, r, n) for r, n in ((wrong, "w"), (relu, "a"), (matmul, "A"))):
        panel.tree.setCurrentItem(item)
        panel.tree.viewport().repaint()
    assert not window.reporter.errors


def test_explain_lists_elements_of_big_tensors():
    colors = theme.colors()
    mismatch = np.zeros((5, 5), bool)
    mismatch[1, 2] = mismatch[4, 4] = True
    numeric = np.ones((5, 5))
    check = LeafCheckData(name="x", vertex=0, shape=(5, 5), agree=False, numeric=numeric * 3,
                          symbolic=numeric * 2, finite_difference=numeric * 2,
                          unsampled=np.zeros((5, 5), bool), mismatch=mismatch, note="a note")
    text = compare_module.explain_html(check, colors)
    assert "2 of 25 elements disagree" in text
    assert "<b>[1, 2]</b> engine 3, symbolic 2, finite diff. 2" in text and "<b>[4, 4]</b>" in text
    assert "a note" in text


def test_torch_column_and_dark_palette_in_a_bare_model(qtbot):
    from gradstudio.ui.model import AppModel
    from gradstudio.ui.panels import PanelContext
    from gradstudio.ui.panels.compare import TORCH, ComparePanel
    from PySide6.QtGui import QPalette

    model = AppModel()
    panel = ComparePanel(PanelContext(model, None, None))
    qtbot.addWidget(panel)
    panel.resize(700, 300)
    panel.show()
    qtbot.waitExposed(panel)
    grad = np.array([2.0, 4.0])
    nodes = [NodeData(id=0, kind="leaf", label="w", name="w", shape=(2,)),
             NodeData(id=1, kind="op", label="z", name="z", shape=(), is_root=True)]
    call = CallData(index=0, cell=1, line=3, root=RootData("z", "SumBackward0", ()),
                    graph=GraphData(root=1, nodes=nodes),
                    leaves=[LeafData("w", 0, (2,), grad)], pending_check=True)
    model.finish_cell(RunData(cell=1, execution_count=1, backward_calls=[0]), [call], [])
    assert panel.tree.isColumnHidden(TORCH)
    leaf = LeafCheckData(name="w", vertex=0, shape=(2,), numeric=grad, symbolic=grad, finite_difference=grad,
                         unsampled=np.zeros(2, bool), mismatch=np.zeros(2, bool), max_abs_error=0.0, agree=True,
                         formula_kind="elementwise", formula="2*w", simplified="2*w",
                         latex="2 w", chain_latex=r"2 \cdot w", element_symbol="w",
                         symbols=[("w", "an element of w")], pretty="2⋅w", chain_pretty="2⋅w", torch=grad)
    model.calls.set_check(CheckData(index=0, agree=True, leaves=[leaf]))
    row = leaf_row(panel, model.calls.call(0), "w")
    assert not panel.tree.isColumnHidden(TORCH) and row.text(TORCH) == "[2, 4]"
    settle(qtbot, panel)
    light = panel.formula_shown(row.data(CHAIN, ROLE_FORMULA), False).pixmap
    panel.setPalette(theme.dark_palette())            # the formulas are drawn again, in the dark text colour
    row = leaf_row(panel, model.calls.call(0), "w")
    settle(qtbot, panel)
    dark = panel.formula_shown(row.data(CHAIN, ROLE_FORMULA), False).pixmap
    assert dark is not light
    image = dark.toImage()
    inked = [image.pixelColor(x, y) for y in range(image.height()) for x in range(image.width())]
    darkest = max(inked, key=lambda c: c.alpha())
    assert darkest.lightness() > 180, "light ink on the dark background"
    text = theme.dark_palette().color(QPalette.ColorRole.Text)
    assert abs(darkest.red() - text.red()) <= 3
