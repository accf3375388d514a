"""The Plots panel's layout replay (gradstudio.ui.plots.replay): a chart redrawn with
new numbers but the same texts keeps the last constrained layout without solving
it again; one whose texts changed gets a fresh layout, the one matplotlib gives."""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from gradstudio.ui.plots import replay


def _chart(figure, labels, heights, title):
    figure.clear()
    ax = figure.add_subplot()
    ax.bar(np.arange(len(labels)), heights)
    ax.set_xticks(np.arange(len(labels)), labels, rotation=45)
    ax.set_ylim(0, 10)
    ax.set_title(title, loc="left")
    ax.set_ylabel("‖grad‖")
    return ax


def _solves(monkeypatch) -> list:
    calls = []
    solve = ConstrainedLayoutEngine.execute

    def counting(self, fig):
        if getattr(self, "positions", None) is None:
            calls.append(fig)
        return solve(self, fig)
    monkeypatch.setattr(ConstrainedLayoutEngine, "execute", counting)
    return calls


def _fresh_layout(labels, heights, title):
    figure = Figure(layout="constrained", figsize=(4.7, 2.2), dpi=100)
    ax = _chart(figure, labels, heights, title)
    figure.draw(RendererAgg(470, 220, 100))
    return ax.get_position().bounds


def test_same_texts_replay_the_layout_and_new_texts_solve_it_again(monkeypatch):
    solves = _solves(monkeypatch)
    figure = Figure(layout=replay.ReplayableLayout(), figsize=(4.7, 2.2), dpi=100)
    renderer = RendererAgg(470, 220, 100)
    memo = replay.LayoutMemo()

    first = _chart(figure, ["x", "Mul #2", "y"], [1, 2, 3], "#1 z.backward()")
    replay.draw(figure, renderer, memo)
    assert len(solves) == 1
    laid_out = first.get_position().bounds

    # A re-run: new numbers and a new call number in the title, the same labels.
    again = _chart(figure, ["x", "Mul #2", "y"], [3, 1, 2], "#2 z.backward()")
    renderer.clear()
    replay.draw(figure, renderer, memo)
    assert len(solves) == 1, "the layout was solved again although nothing it depends on changed"
    np.testing.assert_allclose(again.get_position().bounds, laid_out)

    # Longer tick labels need more room: solved again, exactly as a fresh figure lays out.
    labels = ["x", "a much longer label", "y"]
    longer = _chart(figure, labels, [1, 2, 3], "#3 z.backward()")
    renderer.clear()
    replay.draw(figure, renderer, memo)
    assert len(solves) == 2
    np.testing.assert_allclose(longer.get_position().bounds, _fresh_layout(labels, [1, 2, 3], "#3 z.backward()"),
                               atol=1e-9)
    assert longer.get_position().bounds != laid_out


def test_a_figure_without_the_replayable_engine_is_drawn_as_usual(monkeypatch):
    solves = _solves(monkeypatch)
    figure = Figure(layout="constrained", figsize=(4.7, 2.2), dpi=100)
    memo = replay.LayoutMemo()
    for _ in range(2):
        _chart(figure, ["x"], [1], "t")
        replay.draw(figure, RendererAgg(470, 220, 100), memo)
    assert len(solves) == 2 and memo.positions is None
