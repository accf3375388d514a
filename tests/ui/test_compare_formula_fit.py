"""Every formula in Compare is drawn whole: in its cell when it fits the column, or on
a line of its own under the leaf's row when it does not — the sigmoid neuron's chain
form for ``b`` (274 px wide) was cut to its first third in a 93 px column, and
relu's Piecewise at the kink likewise. Geometry (the cells' rects against the
rendered formulas' sizes), at the default window size, narrower and wider."""
from __future__ import annotations

import pytest

from gradstudio.ui.panels.compare import CHAIN, SIMPLIFIED
from gradstudio.ui.widgets.formula_delegate import PAD, ROLE_FORMULA, ROLE_KIND
from test_compare_panel import run_script, settle

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SIGMOID_NEURON = """# %%
import torch
w = torch.tensor([0.5, -0.3, 0.8], requires_grad=True)
x = torch.tensor([1.0, 2.0, 0.5])
b = torch.tensor(0.1, requires_grad=True)
s = torch.dot(w, x)
a = s + b
p = torch.sigmoid(a)
e = p - 1.0
loss = e ** 2.0
loss.backward()

# %% relu at its kink: a Piecewise
r = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
torch.relu(r).sum().backward()
"""


def drawn(panel) -> list:
    """(row kind, column, formula, its width and height as drawn, the cell's rect) of every
    formula drawn as mathematics or as sympy's pretty print."""
    tree, found = panel.tree, []
    for section in panel.sections.values():
        for i in range(section.childCount()):
            item = section.child(i)
            kind = item.data(0, ROLE_KIND)
            for column in (CHAIN, SIMPLIFIED) if kind == "leaf" else (0,) if kind == "formula" else ():
                formula = item.data(column, ROLE_FORMULA)
                shown = panel.formula_shown(formula, False) if formula is not None else None
                if shown is None or shown.kind not in ("math", "pretty"):
                    continue
                if shown.kind == "math":
                    ratio = shown.pixmap.devicePixelRatio() or 1.0
                    width = shown.pixmap.width() / ratio + panel.delegate.caption_width(formula, tree.font())
                    height = shown.pixmap.height() / ratio
                else:                 # sympy's pretty print (mathtext has no Piecewise)
                    size = panel.delegate.pretty_size(shown.text, panel.pretty_font)
                    width, height = size.width(), size.height()
                rect = tree.visualRect(tree.indexFromItem(item, column))
                found.append((kind, column, formula, width, height, rect))
    return found


def assert_all_whole(panel):
    shown = drawn(panel)
    viewport = panel.tree.viewport().width()
    for kind, column, formula, width, height, rect in shown:
        assert rect.height() >= height, (formula.text, rect.height(), height)
        right = min(rect.right() + 1, viewport) - PAD
        assert rect.left() + PAD + width <= right + 0.5, (kind, formula.text, width, rect)
    assert panel.tree.horizontalScrollBar().maximum() == 0
    return shown


def settled(qtbot, panel):
    panel._relayout()
    qtbot.wait(100)                   # the relayout timer, and the rows it describes again
    settle(qtbot, panel)
    panel._refit()
    return panel


def chain_of(shown, text_start):
    return [(kind, column) for kind, column, formula, *_ in shown if (formula.text or "").startswith(text_start)]


def test_every_formula_is_drawn_whole_in_its_cell_or_on_a_line_below(qtbot, window, helpers):
    window.resize(1440, 900)
    panel = settled(qtbot, run_script(qtbot, window, helpers, SIGMOID_NEURON))
    shown = assert_all_whole(panel)
    # b's chain form is too wide for its column at this size: a line of its own
    assert chain_of(shown, "2*(-1 + 1/(exp(-b - s) + 1))") == [("formula", 0)]
    assert chain_of(shown, "Piecewise")                      # (pretty printed, whole: in its cell or below)
    lines = [formula for kind, _, formula, *_ in shown if kind == "formula"]
    assert any(f.caption == "chain form:" for f in lines)

    window.resize(900, 900)                                   # narrower: still whole
    settled(qtbot, panel)
    assert_all_whole(panel)

    window.resize(2400, 900)                                  # wide enough: back in the cell
    settled(qtbot, panel)
    shown = assert_all_whole(panel)
    assert chain_of(shown, "2*(-1 + 1/(exp(-b - s) + 1))") == [("leaf", CHAIN)]
