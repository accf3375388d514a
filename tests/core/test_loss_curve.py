"""The loss curve from recorded backward calls (the records the app holds)."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gradstudio.studio.figures import loss_curve
from gradstudio.studio.kernel import records
from gradstudio.studio.session import Session

LOOP = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Linear(2, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.2)
x, y = torch.randn(8, 2), torch.randn(8, 1)
for step in range(6):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    print(loss.item())
check = (model.weight ** 2).sum()
check.backward()
v = model.weight * 1.0
v.backward(torch.ones(1, 2))
"""


def _records():
    session = Session()
    runs = session.run_script(LOOP)
    assert all(r.ok for r in runs)
    printed = [float(line) for line in runs[0].outputs[0].text.split()]
    return [records.call_data(c) for c in session.backward_calls], printed


def test_points_are_the_loss_of_each_call_in_order():
    calls, printed = _records()
    name, curve = loss_curve.points(calls)
    assert name == "loss"      # the name most scalar roots carry; `check` and a non-scalar root are left out
    assert [i for i, _ in curve] == list(range(6))
    np.testing.assert_allclose([v for _, v in curve], printed, rtol=1e-6)


def test_a_value_over_the_message_budget_comes_from_its_summary():
    calls, printed = _records()
    def without_root_value(call):       # as when the array was over the message budget
        if call.graph is None:
            return call
        nodes = list(call.graph.nodes)
        nodes[call.graph.root] = nodes[call.graph.root].replace(value=None)
        return call.replace(graph=call.graph.replace(nodes=nodes))
    calls = [without_root_value(call) for call in calls]
    assert all(c.graph is None or c.graph.nodes[c.graph.root].value is None for c in calls)
    np.testing.assert_allclose([v for _, v in loss_curve.points(calls)[1]], printed, rtol=1e-6)
    assert loss_curve.points([]) == (None, [])


def test_draw_plots_the_curve_and_says_when_there_is_too_little():
    calls, printed = _records()
    name, curve = loss_curve.points(calls)
    ax = Figure().add_subplot()
    loss_curve.draw(ax, name, curve)
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), printed, rtol=1e-6)
    assert ax.get_ylabel() == "loss" and "6 backward calls" in ax.get_title()
    lonely = Figure().add_subplot()
    loss_curve.draw(lonely, name, curve[:1])
    assert not lonely.get_lines() and "two or more" in lonely.texts[0].get_text()


def test_the_points_are_gathered_without_importing_matplotlib():
    """The Plots panel gathers the points on the GUI thread while matplotlib is still being
    imported in a thread: the module must not import it itself (that held the window up)."""
    import subprocess
    import sys
    code = ("import sys\nfrom gradstudio.studio.figures import loss_curve\n"
            "loss_curve.points([])\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_calls_axis_has_whole_numbers_only():
    """Three calls drew ticks at 0.25, 0.5, 0.75 … (the autograd tutorial's curve): a
    backward call is the 2nd or the 3rd, never the 2.25th."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    for count in (3, 6, 200):
        figure = Figure(figsize=(6, 2.5))
        ax = figure.add_subplot()
        loss_curve.draw(ax, "loss", [(i, 1.0 / (i + 1)) for i in range(count)])
        FigureCanvasAgg(figure).draw()
        shown = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert len(shown) >= 2 and all(float(t).is_integer() for t in shown), (count, shown)
