"""Constrained layout that replays its last result while it still fits.

matplotlib's constrained layout measures every text around each axes (tick labels,
titles, axis labels, legends, notes) on every draw, twice; for the small charts of
the Plots panel that is half the cost of a frame. Re-running a cell redraws the same
chart with new numbers, usually with the same tick labels, so the layout would
come out the same. :func:`draw` therefore first draws with the positions the last
full layout produced; if the figure's size and texts turn out to be what they were
then (:func:`decorations`), that frame stands, and otherwise the figure is drawn
again with a full layout.
"""
from __future__ import annotations

from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text


class ReplayableLayout(ConstrainedLayoutEngine):
    """A constrained layout engine that, when given ``positions``, places the axes
    there instead of solving the layout."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.positions: list | None = None

    def execute(self, fig):
        if self.positions is not None:  # draw() sets them only for as many axes
            for ax, position in zip(fig.axes, self.positions):
                ax._set_position(position)  # what the engine itself calls (keeps ax in the layout)
            return None
        return super().execute(fig)


class LayoutMemo:
    """The last full layout of one figure: what it depended on (:func:`decorations`)
    and the axes' positions it produced."""

    def __init__(self):
        self.key = None
        self.positions = None


def decorations(figure, renderer) -> tuple:
    """What the layout depends on: the figure's size and every visible text, by its
    content, size and angle. Axes titles and axis labels count by their height (a
    y label by its width) only: the layout makes room for that, not for their length.
    Call after a draw (tick labels are made then)."""
    across, along = set(), set()
    for ax in figure.axes:
        across.update((ax.title, ax._left_title, ax._right_title, ax.xaxis.label))
        along.add(ax.yaxis.label)
    texts = []
    for text in figure.findobj(Text):
        if not (text.get_visible() and text.get_text()):
            continue
        if text in across or text in along:
            extent = text.get_window_extent(renderer)
            content = round(extent.height if text in across else extent.width, 1)
        else:
            content = text.get_text()
        texts.append((content, text.get_fontsize(), text.get_rotation()))
    return tuple(figure.bbox.size), len(figure.axes), tuple(texts)


def draw(figure, renderer, memo: LayoutMemo) -> None:
    """``figure.draw(renderer)``, replaying the memo's layout when it still fits."""
    engine = figure.get_layout_engine()
    if not isinstance(engine, ReplayableLayout):
        figure.draw(renderer)
        return
    if memo.positions is not None and len(memo.positions) == len(figure.axes):
        engine.positions = memo.positions
        try:
            figure.draw(renderer)
        finally:
            engine.positions = None
        if decorations(figure, renderer) == memo.key:
            return
        renderer.clear()
    figure.draw(renderer)
    memo.key = decorations(figure, renderer)
    memo.positions = [ax.get_position(original=True).frozen() for ax in figure.axes]
