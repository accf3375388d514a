"""The loss curve of a training loop, from its recorded backward calls.

:func:`points` reads the call records the app holds (``CallData``): every
call whose root is one number gives one point (call index, value). When the
script's scalar roots carry different names, the name used most often is the
loss (a final ``check.backward()`` does not break the curve). :func:`draw`
plots them on a given Axes, on a log scale when the values span a decade and
are all positive. No Qt here, and no matplotlib until :func:`draw`: the Plots panel
gathers the points on the GUI thread while matplotlib is still being imported in
another (an import there held the window up for a second or more).
"""
from __future__ import annotations

from collections import Counter

import numpy as np


def _root_value(call):
    if call.status != "ok":
        return None
    root_value = getattr(call, "root_value", None)
    if root_value is not None:  # one of a loop's calls (kernel.shared.SharedCall): its graph not built
        value, summary = root_value(), None
    else:
        graph = call.graph
        if graph is None or not graph.nodes:
            return None
        node = graph.nodes[graph.root]
        if node is None:        # not arrived yet (a big graph comes in chunks)
            return None
        value, summary = node.value, node.value_summary
    if value is not None:
        value = np.asarray(value)
        value = float(value.reshape(-1)[0]) if value.size == 1 and value.dtype.kind == "f" else None
    else:                       # the array was over the message budget: its summary
        value = summary.mean if summary is not None and summary.size == 1 else None
    return value if value is not None and np.isfinite(value) else None


def points(calls: list) -> tuple:
    """``(name, [(call index, value)…])`` of the loss; name None when there is none."""
    found = [(c, _root_value(c)) for c in calls]
    found = [(c, v) for c, v in found if v is not None]
    if not found:
        return None, []
    names = Counter(c.root.name for c, _ in found)
    name = names.most_common(1)[0][0]
    return name, [(c.index, v) for c, v in found if c.root.name == name]


def draw(ax, name, curve: list, *, colors: dict | None = None, title: str | None = None):
    """The curve on ``ax`` (an empty axes with a message when it has under two points)."""
    from .plotting import _colors, _integer_ticks, empty, style_axes   # (matplotlib: points() runs without it)
    colors = _colors(colors)
    if len(curve) < 2:
        return empty(ax, "The loss curve needs two or more backward calls of a scalar loss", colors)
    style_axes(ax, colors, grid_axis="both")
    steps = np.arange(len(curve))
    values = np.array([v for _, v in curve])
    ax.plot(steps, values, color=colors.get("engine", colors["foreground"]), linewidth=1.4,
            marker="o" if len(curve) <= 40 else None, markersize=3)
    if np.all(values > 0) and values.max() / values.min() >= 10:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(_integer_ticks())        # a call is the 2nd or the 3rd, never the 2.25th
    ax.set_xlabel("backward call (in order)")
    ax.set_ylabel(name or "loss")
    ax.set_title(title or f"{name or 'loss'} over {len(curve)} backward calls "
                 f"(#{curve[0][0]}…#{curve[-1][0]})", fontsize="medium")
    return ax
