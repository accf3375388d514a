"""The first plot's one-time costs, paid ahead: :func:`warm_up` draws one small
figure nobody sees.

A process's first matplotlib frame costs several times a later one (measured:
0.44 s against 0.16 s for the same loss curve): the fonts are opened, the
mathtext parser that log-scale tick labels (``10^{-2}``) need is built, the
text-metrics caches are empty. The Plots panel calls this in its import thread
while the user reads the code (see ``PlotsPanel.warm_up``), so the first curve a
run draws costs what later ones do. It draws on a ``Figure`` of its own with
Agg — never pyplot, never Qt — and reads or changes no global setting.
"""
from __future__ import annotations

import numpy as np


def warm_up(colors: dict | None = None) -> None:
    """Draw a log-scale curve with labels, a title and a constrained layout (what the
    loss curve and the gradient norms use) into a throw-away Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from . import loss_curve, plotting
    colors = colors if colors is not None else plotting.theme()
    figure = Figure(figsize=(4, 3), dpi=72, layout="constrained")
    FigureCanvasAgg(figure)
    plotting.style_figure(figure, colors)
    values = np.geomspace(1.0, 1e-3, 50)            # a decade and more: log scale, mathtext ticks
    loss_curve.draw(figure.add_subplot(), "loss", list(enumerate(values)), colors=colors)
    figure.canvas.draw()
