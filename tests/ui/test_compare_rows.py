"""What the Compare panel shows, decided without widgets (ui/panels/compare_rows.py), and
the panel leaving a section alone when its description did not change."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.studio import compare, symbolic
from gradstudio.studio.kernel import records as kernel_data
from gradstudio.studio.kernel.schema import RunData, TensorData
from gradstudio.studio.session import Session
from gradstudio.ui.model import AppModel, CallRecord
from gradstudio.ui.panels import PanelContext
from gradstudio.ui.panels.compare_rows import (CHAIN, ENGINE, ERROR, MARK, SIMPLIFIED, TORCH, describe_call)

COLORS = {"bad": "#c00", "ok": "#080", "muted": "#888", "error": "#c00", "hint": "#555", "mismatch_bg": "#fdd",
          "warn": "#a60", "text": "#000", "background": "#fff"}


def recorded(script: str) -> list:
    session = Session()
    session.run_script(script, stop_on_error=False)
    out = []
    for call in session.backward_calls:
        record = CallRecord(call.index, kernel_data.call_data(call), execution_count=1)
        if kernel_data.checkable(call):
            checked = compare.check_call(call, symbolic.derive_call(call.graph, None, [l.vertex for l in call.leaves]))
            record.check = kernel_data.check_data(checked)
        out.append(record)
    return out


class Colors(dict):
    def __missing__(self, key):         # every theme colour the explanation asks for
        return "#123456"


def test_a_checked_leaf_row_says_value_formulas_and_agreement():
    (record,) = recorded("import torch\nx = torch.ones(2, 2, requires_grad=True)\nz = (3 * x * x).mean()\n"
                         "z.backward()\n")
    section = describe_call(record, Colors(COLORS), lambda name: None)
    assert section.text.startswith("#0  z.backward()") and section.text.endswith("✓ all agree") and not section.bad
    leaf = section.rows[0]
    assert leaf.kind == "leaf" and leaf.key == (0, 0)
    cells = leaf.cells
    assert cells[ENGINE].text == "1.5 (all 4)" and cells[MARK].text == "✓" and cells[MARK].tone == "ok"
    assert cells[MARK].bold and not cells[ENGINE].mismatch
    assert cells[CHAIN].formula is not None and cells[SIMPLIFIED].formula is not None
    assert cells[ERROR].text in ("0", "—") or float(cells[ERROR].text) < 1e-6
    assert not section.torch and cells[TORCH].text == ""


def test_before_the_check_the_formula_cells_wait_and_a_raised_call_is_one_message():
    (record, failed) = recorded("import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)\n"
                                "y = (x * x).sum()\ny.backward()\ny.backward()\n")
    record.check, record.data = None, record.data.replace(pending_check=True)
    section = describe_call(record, Colors(COLORS), lambda name: None)
    assert section.text.endswith("deriving…")
    assert [section.rows[0].cells[c].text for c in (CHAIN, SIMPLIFIED)] == ["deriving…", "deriving…"]
    assert section.rows[0].cells[CHAIN].tone == "muted"
    raised = describe_call(failed, Colors(COLORS), lambda name: None)
    assert raised.text.endswith("raised") and [r.kind for r in raised.rows] == ["message"]
    assert "second time" in raised.rows[0].text and raised.rows[0].key == (1, None)


def test_a_wrong_backward_marks_the_disagreement_and_explains_it():
    (record,) = recorded("import torch\nclass Sq(torch.autograd.Function):\n"
                         "    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
                         "        return x * x\n    @staticmethod\n    def backward(ctx, g):\n"
                         "        (x,) = ctx.saved_tensors\n        return g * 3 * x\n"
                         "w = torch.tensor([1.0, 2.0], requires_grad=True)\nSq.apply(w).sum().backward()\n")
    section = describe_call(record, Colors(COLORS), lambda name: None)
    assert section.bad and section.text.endswith("✗ disagreement")
    leaf, detail = section.rows[:2]
    assert leaf.cells[MARK].text == "✗" and leaf.cells[MARK].tone == "bad"
    assert leaf.cells[ENGINE].mismatch and "disagreeing elements" in leaf.cells[ENGINE].tip
    assert detail.kind == "detail" and detail.key == leaf.key and detail.html


def test_the_running_total_of_grad_is_in_the_engine_tip_when_it_differs():
    (record,) = recorded("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n")
    plain = describe_call(record, Colors(COLORS), lambda name: None).rows[0].cells[ENGINE].tip
    total = describe_call(record, Colors(COLORS), lambda name: TensorData(name="x", grad=np.array([5.0, 5.0])) if name == "x" else None)
    assert "running total" not in plain and "running total" in total.rows[0].cells[ENGINE].tip


def test_an_unchanged_description_is_not_rebuilt(qtbot):
    from gradstudio.ui.panels.compare import ComparePanel
    model = AppModel()
    panel = ComparePanel(PanelContext(model, None, None))
    qtbot.addWidget(panel)
    (record,) = recorded("import torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n")
    data = record.data.replace(pending_check=True)
    model.finish_cell(RunData(cell=1, execution_count=1, ok=True), [data], [])
    leaf = panel.sections[0].child(0)
    model.calls.set_deriving(0)                 # same rows: the items stay
    assert panel.sections[0].child(0) is leaf
    model.calls.set_check(record.check)
    rebuilt = panel.sections[0].child(0)
    assert rebuilt is not leaf and rebuilt.text(MARK) == "✓"
    from gradstudio.ui.widgets import math_view
    qtbot.waitUntil(math_view.warm_up, timeout=60000)      # no thread left behind


def test_a_formula_too_wide_for_its_column_gets_a_line_of_its_own():
    """``below`` (the panel's widths) moves a formula out of its cell: the cell keeps the
    text (and the tip), and a line under the row draws the formula whole, captioned."""
    (record,) = recorded("import torch\nx = torch.ones(2, 2, requires_grad=True)\nz = (3 * x * x).mean()\n"
                         "z.backward()\n")
    inline = describe_call(record, Colors(COLORS), lambda name: None)
    asked = []

    def below(chain, simplified):
        asked.append((chain, simplified))
        return (CHAIN,)
    section = describe_call(record, Colors(COLORS), lambda name: None, below=below)
    chain, simplified = inline.rows[0].cells[CHAIN].formula, inline.rows[0].cells[SIMPLIFIED].formula
    assert asked == [(chain, simplified)]
    leaf, line = section.rows[0], section.rows[1]
    assert leaf.cells[CHAIN].formula is None and leaf.cells[CHAIN].text == "3*2*x/4"
    assert leaf.cells[CHAIN].tip == inline.rows[0].cells[CHAIN].tip
    assert leaf.cells[SIMPLIFIED].formula == simplified                    # still in its cell
    assert line.kind == "formula" and line.key == leaf.key
    assert (line.formula.latex, line.formula.text, line.formula.caption) == (chain.latex, chain.text, "chain form:")
    assert [row.kind for row in section.rows] == ["leaf", "formula"] + [row.kind for row in inline.rows[1:]]
