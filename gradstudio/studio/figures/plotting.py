"""Plots of gradients, drawn on a matplotlib ``Axes`` the caller owns.

Three plots, each a function that draws on a given ``Axes`` and returns the
artists it made (so tests read bar heights and line data instead of pixels,
and the app can find the bar or cell under the mouse):

* :func:`gradient_norms` — the L2 norm of the gradient that reached each
  vertex of a backward call, one bar per vertex on a log scale; leaves, ops
  and the output in different colours; a zero, missing or NaN gradient is a
  labelled gap rather than a broken log axis; a large graph shows its
  :data:`MAX_BARS` largest norms and says so.
* :func:`gradient_heatmap` — |grad| of one tensor as an image with a colour
  bar (0-d, 1-d and 2-d as they are; more dimensions flattened to 2-d, noted).
* :func:`sweep` — f and ∂f/∂a while one element ``a`` of a leaf moves over a
  range: the engine's curve, the closed form's curve dashed on top, finite
  differences as markers, the recorded point marked; f on its own axes.

Everything here uses ``matplotlib.figure``/``axes`` objects only — never
pyplot (its global figure registry leaks figures inside a GUI) and never Qt,
so the same functions draw in the app, in ``gradstudio snapshot`` and in
tests. Colours come from :func:`theme` (light or dark, or the caller's
background and foreground).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize, SymLogNorm, to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator, NullLocator
from matplotlib.transforms import Bbox

from .plot_choice import node_label  # noqa: F401  (the panel's and the plots' one name for a vertex)

MAX_BARS = 40                  # a bigger graph shows its largest norms
MAX_ANNOTATED_CELLS = 64       # heatmap cells that get their value written in them
MAX_SWEEP_MARKERS = 25         # finite-difference markers drawn along a sweep

# --------------------------------------------------------------------------- colours
_LIGHT = {
    "background": "#ffffff", "foreground": "#222222", "muted": "#777777", "grid": "#dddddd",
    "leaf": "#3b7dc4", "op": "#e3913b", "root": "#8e5bb5", "selected": "#111111",
    "engine": "#1f6fb5", "symbolic": "#d1343b", "finite_difference": "#2e8b3a", "f": "#6b6b6b",
    "recorded": "#8e5bb5", "cmap": "viridis", "bad": "#e0245e", "error": "#c0262d",
}
_DARK = {
    "background": "#2d2d30", "foreground": "#dcdcdc", "muted": "#9a9a9a", "grid": "#454548",
    "leaf": "#5fa8e8", "op": "#f0a050", "root": "#c39be6", "selected": "#ffffff",
    "engine": "#6cb4ee", "symbolic": "#ff7b72", "finite_difference": "#7ee787", "f": "#b8b8b8",
    "recorded": "#c39be6", "cmap": "viridis", "bad": "#ff5c8a", "error": "#f48771",
}


def theme(dark: bool = False, *, background=None, foreground=None) -> dict:
    """The named colours the plots use, for a light or dark surface; ``background``
    and ``foreground`` (any matplotlib colour) override the surface and text."""
    colors = dict(_DARK if dark else _LIGHT)
    if background is not None:
        colors["background"] = background
    if foreground is not None:
        colors["foreground"] = foreground
    return colors


def style_figure(figure, colors: dict):
    figure.set_facecolor(colors["background"])
    figure.set_edgecolor(colors["background"])


def style_axes(ax, colors: dict, *, grid_axis: str | None = "y"):
    """Background, spines, ticks and labels in the theme's colours."""
    ax.set_facecolor(colors["background"])
    for spine in ax.spines.values():
        spine.set_color(colors["muted"])
    ax.tick_params(colors=colors["foreground"], which="both")
    ax.xaxis.label.set_color(colors["foreground"])
    ax.yaxis.label.set_color(colors["foreground"])
    ax.title.set_color(colors["foreground"])
    if grid_axis:
        ax.grid(True, axis=grid_axis, which="major", color=colors["grid"], linewidth=0.6)
        ax.set_axisbelow(True)


def _colors(colors: dict | None) -> dict:
    return colors if colors is not None else theme()


def _message(ax, text: str, colors: dict, *, color_key: str = "muted"):
    """A centred message in an otherwise empty axes."""
    ax.set_xticks([])
    ax.set_yticks([])
    return ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
                   color=colors[color_key], wrap=True, fontsize="medium")


def empty(ax, text: str, colors: dict | None = None):
    """An axes that says why there is nothing to plot yet."""
    colors = _colors(colors)
    style_axes(ax, colors, grid_axis=None)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _message(ax, text, colors)


# --------------------------------------------------------------------------- gradient norms
def gradient_norm(node: dict) -> tuple:
    """(norm, status) of the gradient that reached a vertex. status is 'ok',
    'zero', 'none' (no gradient reached it), 'nan' or 'inf'; norm is a float for
    'ok' and 'zero', else None."""
    grad = node.grad
    if grad is not None:
        a = np.asarray(grad, dtype=np.float64)
        if a.size and np.isnan(a).any():
            return None, "nan"
        if a.size and np.isinf(a).any():
            return None, "inf"
        norm = float(np.linalg.norm(a.ravel())) if a.size else 0.0
    elif node.grad_summary is not None:
        norm = node.grad_norm
        if norm is None:                      # a summary without a finite value
            return None, "nan"
        norm = float(norm)
    elif node.grad_norm is not None:
        norm = float(node.grad_norm)
    else:
        return None, "none"
    if math.isnan(norm):
        return None, "nan"
    if math.isinf(norm):
        return None, "inf"
    return norm, ("zero" if norm == 0 else "ok")


_BACKWARD_SUFFIX = re.compile(r"Backward\d*(?= #|$)")
_GAP_TEXT = {"zero": "0", "none": "no grad", "nan": "NaN", "inf": "inf"}


@dataclass
class NormsPlot:
    """What :func:`gradient_norms` drew. ``bars`` holds one Rectangle per shown
    vertex (height NaN where there is no positive norm: see ``status``)."""

    ax: object = None
    bars: object = None                       # BarContainer
    node_ids: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    norms: list = field(default_factory=list)         # float or None, per bar
    status: list = field(default_factory=list)        # 'ok'|'zero'|'none'|'nan'|'inf', per bar
    gap_texts: list = field(default_factory=list)
    legend: object = None
    note: str = ""
    total: int = 0                                    # vertices that could have a bar

    def node_at(self, x: float) -> int | None:
        """The vertex whose bar slot contains data coordinate ``x``."""
        if x is None or not self.node_ids:
            return None
        i = int(round(x))
        return self.node_ids[i] if 0 <= i < len(self.node_ids) and abs(x - i) <= 0.5 else None


def _pick_bars(candidates: list, max_bars: int, selected) -> list:
    """The vertices to show when there are too many: problems (NaN/inf) first,
    then the largest norms; the selected vertex always; graph order kept."""
    if len(candidates) <= max_bars:
        return candidates

    def rank(item):
        node, norm, status = item
        return (0 if status in ("nan", "inf") else 1, -(norm if norm is not None else -1.0))

    chosen = sorted(candidates, key=rank)[:max_bars]
    ids = {item[0].id for item in chosen}
    if selected is not None and selected not in ids:
        extra = next((item for item in candidates if item[0].id == selected), None)
        if extra is not None:
            chosen[-1] = extra
            ids = {item[0].id for item in chosen}
    return [item for item in candidates if item[0].id in ids]


def norms_title(ax, title: str, colors: dict | None = None):
    """The norms plot's title (also how the app re-titles the same bars for a new call)."""
    ax.set_title(title, loc="left", fontsize="medium", color=_colors(colors)["foreground"])


def norms_content(nodes: list, selected: int | None = None) -> tuple:
    """What :func:`gradient_norms` draws for these vertices, as a comparable value:
    two calls with equal contents get the same bars (only the title may differ)."""
    return (selected,) + tuple((node.id, node.kind, bool(node.is_root), node_label(node),
                                gradient_norm(node)) for node in nodes)


def gradient_norms(ax, nodes: list, *, selected: int | None = None, colors: dict | None = None,
                   max_bars: int = MAX_BARS, title: str | None = None) -> NormsPlot:
    """One bar per vertex of a backward call (constants, which get no gradient,
    are left out): the L2 norm of the gradient that reached it, log scale.
    ``selected`` (a vertex id) is outlined. Returns a :class:`NormsPlot`."""
    colors = _colors(colors)
    style_axes(ax, colors)
    plot = NormsPlot(ax=ax)
    candidates = []
    constants = 0
    for node in nodes:
        if node.kind == "const":
            constants += 1
            continue
        norm, status = gradient_norm(node)
        candidates.append((node, norm, status))
    plot.total = len(candidates)
    if title:
        norms_title(ax, title, colors)
    if not candidates:
        _message(ax, "no vertices in this graph receive a gradient", colors)
        return plot
    shown = _pick_bars(candidates, max_bars, selected)
    notes = []
    if len(shown) < len(candidates):
        notes.append(f"the {len(shown)} largest of {len(candidates):,} vertices")
    if constants:
        notes.append(f"{constants} constant{'s' if constants > 1 else ''} not shown")
    plot.note = "; ".join(notes)

    labels = [node_label(node) for node, _, _ in shown]
    counts: dict = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    labels = [f"{label} #{node.id}" if counts[label] > 1 else label
              for label, (node, _, _) in zip(labels, shown)]
    kinds = ["root" if node.is_root else ("leaf" if node.kind == "leaf" else "op")
             for node, _, _ in shown]
    heights = [norm if status == "ok" else np.nan for _, norm, status in shown]
    xs = np.arange(len(shown))
    bar_colors = [colors[k] for k in kinds]
    plot.bars = ax.bar(xs, heights, width=0.7, color=bar_colors, edgecolor=bar_colors, linewidth=0)
    plot.node_ids = [node.id for node, _, _ in shown]
    plot.labels = labels
    plot.norms = [norm for _, norm, _ in shown]
    plot.status = [status for _, _, status in shown]
    for i, (bar, node) in enumerate(zip(plot.bars.patches, (n for n, _, _ in shown))):
        bar.set_gid(f"node-{node.id}")
        if node.id == selected:
            bar.set_edgecolor(colors["selected"])
            bar.set_linewidth(2.0)

    ax.set_yscale("log")
    positive = [h for h in heights if h == h and h > 0]
    if positive:
        low, high = min(positive), max(positive)
        bottom, top = math.floor(math.log10(low) - 0.3), math.ceil(math.log10(high) + 0.3)
        ax.set_ylim(10 ** bottom, 10 ** top)
        # No minor ticks: the decades (at least two, gridded) are what the bars are read
        # against, and labelled minor ticks cost more to lay out than the rest of the plot.
        ax.yaxis.set_minor_locator(NullLocator())
    else:
        ax.set_ylim(0.1, 10)
        ax.text(0.5, 0.6, "no gradient reached these vertices", transform=ax.transAxes,
                ha="center", va="center", color=colors["muted"])
    gap_transform = ax.get_xaxis_transform()          # x in data, y in axes fraction
    for i, status in enumerate(plot.status):
        if status != "ok":
            color = colors["error"] if status in ("nan", "inf") else colors["muted"]
            plot.gap_texts.append(ax.text(i, 0.02, _GAP_TEXT[status], transform=gap_transform,
                                          rotation=90, ha="center", va="bottom", color=color,
                                          fontsize="small"))

    fontsize = "small" if len(shown) <= 20 else "x-small"
    slot = _axes_pixels(ax)[0] / len(shown)
    char = 6.5 if fontsize == "small" else 5.5               # pixels per character, roughly

    def too_long(texts):
        return max(len(text) for text in texts) * char > 0.9 * slot

    if too_long(labels):          # tight: MulBackward0 #4 → Mul #4 (the graph panel has the full name)
        labels = [_BACKWARD_SUFFIX.sub("", label) if node.kind == "op" and not node.name
                  else label for label, (node, _, _) in zip(labels, shown)]
        plot.labels = labels
    long_labels = too_long(labels)
    ax.set_xticks(xs, labels, fontsize=fontsize)
    if long_labels:
        for text in ax.get_xticklabels():
            if len(text.get_text()) <= 2:     # "x" turned 40° reads as "+"; a short name fits upright
                continue
            text.set_rotation(40)
            text.set_horizontalalignment("right")
            text.set_rotation_mode("anchor")
    for text, node_id in zip(ax.get_xticklabels(), plot.node_ids):
        if node_id == selected:
            text.set_fontweight("bold")
    ax.set_xlim(-0.6, len(shown) - 0.4)
    ax.set_ylabel("‖gradient‖ (log scale)")
    if plot.note:
        ax.set_xlabel(plot.note, color=colors["muted"], fontsize="small")
    handles = [Patch(color=colors[k], label=text) for k, text in
               (("leaf", "leaf"), ("op", "op"), ("root", "output")) if k in kinds]
    # beside the bars, not over them: inside the axes every corner is some bar's top
    # ("best" put it on the last bar of the sigmoid neuron's call); the layout makes room
    plot.legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
                            fontsize="small", frameon=False, labelcolor=colors["foreground"],
                            handlelength=1.2, handletextpad=0.5)
    return plot


# --------------------------------------------------------------------------- heatmap
def as_2d(array) -> tuple:
    """(2-d view of ``array``, note): 0-d as 1×1, 1-d as one row, n-d as
    (product of the leading dimensions) × last dimension."""
    a = np.asarray(array)
    if a.ndim == 0:
        return a.reshape(1, 1), ""
    if a.ndim == 1:
        return a.reshape(1, -1), ""
    if a.ndim == 2:
        return a, ""
    rows = int(np.prod(a.shape[:-1]))
    shape = "×".join(str(s) for s in a.shape)
    return a.reshape(rows, a.shape[-1]), (f"shape {shape} shown as {rows}×{a.shape[-1]}\n"
                                          "(leading dimensions flattened)")


def element_at(shape, row: int, col: int) -> tuple:
    """The element of an array of ``shape`` shown at (row, col) by :func:`as_2d`."""
    shape = tuple(shape)
    if len(shape) == 0:
        return ()
    if len(shape) == 1:
        return (int(col),)
    if len(shape) == 2:
        return (int(row), int(col))
    return tuple(int(i) for i in np.unravel_index(int(row) * shape[-1] + int(col), shape))


def cell_of(shape, element) -> tuple:
    """(row, col) where :func:`as_2d` shows ``element`` of an array of ``shape``."""
    shape, element = tuple(shape), tuple(element)
    if len(shape) == 0:
        return 0, 0
    if len(shape) == 1:
        return 0, element[0]
    flat = int(np.ravel_multi_index(element, shape))
    return divmod(flat, shape[-1])


def _fmt(value: float) -> str:
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "inf"
    return f"{value:.3g}"


@dataclass
class HeatmapPlot:
    image: object = None               # AxesImage
    colorbar: object = None
    data: np.ndarray | None = None     # the 2-d |grad| shown (NaN where not finite)
    shape: tuple = ()                  # the tensor's own shape
    texts: list = field(default_factory=list)
    marker: object = None              # the outline of the marked element
    note: str = ""

    def element_at(self, x: float, y: float):
        """The tensor element under data coordinates (x, y), or None."""
        if self.data is None or x is None or y is None:
            return None
        col, row = int(round(x)), int(round(y))
        rows, cols = self.data.shape
        if 0 <= row < rows and 0 <= col < cols:
            return element_at(self.shape, row, col)
        return None


SIGNED_CMAP = "RdBu_r"      # diverging: blue below zero, white at zero, red above


def gradient_heatmap(ax, grad, *, colors: dict | None = None, title: str | None = None,
                     log: bool = False, marked=None, colorbar: bool = True,
                     signed: bool = False) -> HeatmapPlot:
    """|grad| as an image with a colour bar; cells of a small tensor carry their
    value; NaN and inf cells in the theme's "bad" colour; ``marked`` (an element
    index) outlined. ``log`` uses a logarithmic colour scale. ``signed`` shows the
    values themselves on a diverging map (:data:`SIGNED_CMAP`) centred at 0,
    symmetric so that equal magnitudes get equally strong colours; with ``log`` a
    symmetric-log scale."""
    colors = _colors(colors)
    style_axes(ax, colors, grid_axis=None)
    plot = HeatmapPlot()
    if title:
        ax.set_title(title, loc="left", fontsize="medium", color=colors["foreground"])
    a = np.asarray(grad, dtype=np.float64)
    if not signed:
        a = np.abs(a)
    plot.shape = a.shape
    if a.size == 0:
        _message(ax, "the gradient is empty (a tensor with no elements)", colors)
        return plot
    data, plot.note = as_2d(a)
    finite = np.isfinite(data)
    shown = np.where(finite, data, np.nan)
    plot.data = shown
    cmap = colormaps[SIGNED_CMAP if signed else colors["cmap"]].with_extremes(bad=colors["bad"])
    values = shown[finite]
    vmax = float(values.max()) if values.size else 1.0
    if signed:
        scale = float(np.abs(values).max()) if values.size else 0.0
        scale = scale if scale > 0 else 1.0
        nonzero = np.abs(values[values != 0])
        if log and nonzero.size:
            norm = SymLogNorm(linthresh=float(nonzero.min()), vmin=-scale, vmax=scale)
        else:
            norm = Normalize(vmin=-scale, vmax=scale)
        image_data = np.ma.masked_invalid(shown)
    elif log and values.size and (values > 0).any():
        positive = values[values > 0]
        norm = LogNorm(vmin=float(positive.min()), vmax=float(positive.max()) if positive.max() > positive.min()
                       else float(positive.min()) * 10)
        image_data = np.ma.masked_less_equal(np.ma.masked_invalid(shown), 0)
    else:
        norm = Normalize(vmin=0.0, vmax=vmax if vmax > 0 else 1.0)
        image_data = np.ma.masked_invalid(shown)
    rows, cols = data.shape
    square = rows <= 40 and cols <= 40 and max(rows, cols) <= 8 * min(rows, cols)
    plot.image = ax.imshow(image_data, cmap=cmap, norm=norm, interpolation="nearest",
                           aspect="equal" if square else "auto", origin="upper")
    ax.set_anchor("N")          # a short image sits under its title, not in mid-air
    if colorbar:
        plot.colorbar = ax.figure.colorbar(plot.image, cax=_colorbar_axes(ax))
        plot.colorbar.set_label("grad" if signed else "|grad|", color=colors["foreground"])
        plot.colorbar.ax.tick_params(colors=colors["foreground"])
        plot.colorbar.outline.set_edgecolor(colors["muted"])
    cell = _cell_pixels(ax, rows, cols)
    if data.size <= MAX_ANNOTATED_CELLS:
        fontsize = "medium" if min(cell) >= 80 else "small" if min(cell) >= 40 else "x-small"
        char = {"medium": 7.5, "small": 6.5, "x-small": 5.5}[fontsize]     # pixels, roughly
        texts = [[_fmt(v) for v in row] for row in data.tolist()]
        widest = max(len(t) for row in texts for t in row)
        if widest * char <= 0.9 * cell[0] and cell[1] >= 14:      # every value fits its cell
            for r in range(rows):
                for c in range(cols):
                    value = shown[r, c]
                    if finite[r, c]:
                        rgb = to_rgb(cmap(norm(value)) if signed or not (log and value <= 0)
                                     else colors["background"])
                        light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 0.55
                        color = "#111111" if light else "#f5f5f5"
                    else:
                        color = "#ffffff"
                    plot.texts.append(ax.text(c, r, texts[r][c], ha="center", va="center", color=color,
                                              fontsize=fontsize))
    if rows == 1:
        ax.set_yticks([])
    else:
        ax.yaxis.set_major_locator(_integer_ticks())
    ax.xaxis.set_major_locator(_integer_ticks())
    if marked is not None:
        try:
            r, c = cell_of(plot.shape, marked)
        except (ValueError, IndexError):
            r = c = None
        if r is not None and 0 <= r < rows and 0 <= c < cols:
            # black under white: visible on every colour of the map
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="#000000", linewidth=5.0))
            plot.marker = ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False,
                                                 edgecolor="#ffffff", linewidth=2.2))
    labels = []
    if not finite.all():
        bad = int((~finite).sum())
        labels.append(f"{bad} element{'s' if bad > 1 else ''} NaN or inf")
    if plot.note:
        labels.append(plot.note)
    if labels:
        ax.set_xlabel("\n".join(labels), color=colors["muted"], fontsize="small")
    return plot


def _root_figure(ax):
    figure = ax.figure
    while getattr(figure, "figure", figure) is not figure:     # a SubFigure's root
        figure = figure.figure
    return figure


def _colorbar_axes(ax, pad_px: float = 8, width_px: float = 14):
    """Axes for a colour bar beside ``ax``, as tall as the image actually drawn
    (an equal-aspect image is often shorter than its axes box); the layout engine
    counts it as part of ``ax``."""
    cax = ax.inset_axes([1.02, 0, 0.05, 1])

    def locate(_cax, renderer):
        ax.apply_aspect()
        position = ax.get_position(original=False)
        width = _root_figure(ax).bbox.width
        return Bbox.from_bounds(position.x1 + pad_px / width, position.y0, width_px / width, position.height)

    cax.set_axes_locator(locate)
    return cax


def _axes_pixels(ax) -> tuple:
    """About how large (width, height in pixels) ``ax`` is on its figure as it is now
    (before the layout engine shrinks it for labels)."""
    figure = _root_figure(ax)
    width, height = figure.get_size_inches() * figure.dpi
    position = ax.get_position()
    return position.width * width, position.height * height


def _cell_pixels(ax, rows: int, cols: int) -> tuple:
    """About how large (width, height in pixels) a cell is on the figure as it is now."""
    width, height = _axes_pixels(ax)
    cell_w, cell_h = width / cols, height / rows
    if ax.get_aspect() == 1.0:            # square cells: the smaller side wins
        cell_w = cell_h = min(cell_w, cell_h)
    return cell_w, cell_h


def _integer_ticks():
    """Ticks at integer positions (element indices), at most about 10 of them."""
    return MaxNLocator(nbins=10, integer=True, min_n_ticks=1)


# --------------------------------------------------------------------------- sweep
@dataclass
class SweepPlot:
    engine: object = None              # Line2D or None
    symbolic: object = None
    finite_difference: object = None
    f: object = None
    recorded: list = field(default_factory=list)    # the marks of the recorded point
    legend: object = None
    f_ax: object = None
    message: object = None             # the text shown instead of curves (error)


def _array_or_none(value):
    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64).reshape(-1)
    return a if a.size else None


def _widen_flat_range(ax, curves, relative: float = 1e-3):
    """A curve that is constant up to rounding (∂f/∂a of a linear f) gets a y range
    of ±10 % around its value, so float noise in the finite differences does
    not fill the axes as if it were structure."""
    values = np.concatenate([c[np.isfinite(c)] for c in curves if c is not None] or [np.zeros(0)])
    if not values.size:
        return
    low, high = float(values.min()), float(values.max())
    centre = (low + high) / 2
    scale = max(abs(low), abs(high))
    if high - low <= relative * scale or scale == 0:
        half = 0.1 * abs(centre) if centre else 1.0
        ax.set_ylim(centre - half, centre + half)


def sweep(ax, result: dict, *, f_ax=None, colors: dict | None = None, variable: str = "a",
          title: str | None = None) -> SweepPlot:
    """∂f/∂a on ``ax`` (engine solid, closed form dashed on top, finite
    differences as markers) and f on ``f_ax`` (a second axes; a twin of ``ax``
    when None), with the recorded value of ``a`` marked on both. ``result`` is a
    sweep as :func:`gradstudio.studio.sweep.sweep` returns it (``x, f, engine,
    symbolic, finite_difference, at, note, error``)."""
    colors = _colors(colors)
    plot = SweepPlot()
    style_axes(ax, colors, grid_axis="both")
    if title:
        (f_ax or ax).set_title(title, loc="left", fontsize="medium", color=colors["foreground"])
    if result.error:
        plot.message = _message(ax, f"The sweep failed:\n{result.error}", colors, color_key="error")
        if f_ax is not None:
            empty(f_ax, "", colors)
        return plot
    x = _array_or_none(result.x)
    if x is None:
        plot.message = _message(ax, "the sweep returned no points", colors)
        return plot
    derivative = f"∂f/∂{variable}"
    if f_ax is None:
        f_ax = ax.twinx()
        twin = True
    else:
        style_axes(f_ax, colors, grid_axis="both")
        twin = False
    plot.f_ax = f_ax
    at = result.at

    f = _array_or_none(result.f)
    if f is not None:
        (plot.f,) = f_ax.plot(x, f, color=colors["f"], linewidth=1.6, label="f", zorder=2)
    engine = _array_or_none(result.engine)
    symbolic = _array_or_none(result.symbolic)
    fd = _array_or_none(result.finite_difference)
    if engine is not None:
        (plot.engine,) = ax.plot(x, engine, color=colors["engine"], linewidth=3.0, alpha=0.85,
                                 label="engine", zorder=3, solid_capstyle="round")
    if fd is not None:
        step = max(1, int(math.ceil(len(x) / MAX_SWEEP_MARKERS)))
        shown = np.zeros(len(x), dtype=bool)
        shown[::step] = True
        reference = engine if engine is not None else symbolic
        if reference is not None and len(reference) == len(fd):   # never thin away a disagreement
            with np.errstate(invalid="ignore"):
                shown |= ~np.isclose(fd, reference, rtol=1e-3, atol=1e-6) & np.isfinite(fd)
        every = np.flatnonzero(shown).tolist()
        (plot.finite_difference,) = ax.plot(x, fd, linestyle="none", marker="o", markersize=5,
                                            markerfacecolor="none", markeredgewidth=1.2,
                                            color=colors["finite_difference"], markevery=every,
                                            label="finite differences", zorder=4)
    if symbolic is not None:
        reached = int(np.isfinite(symbolic).sum())
        label = "closed form (sympy)" if reached == len(symbolic) else \
            f"closed form (sympy), {reached} of {len(symbolic)} points"
        (plot.symbolic,) = ax.plot(x, symbolic, color=colors["symbolic"], linewidth=1.6,
                                   linestyle=(0, (5, 3)), label=label, zorder=5)
    if at is not None and np.isfinite(at):
        recorded_kw = dict(color=colors["recorded"], linestyle=":", linewidth=1.2, zorder=1)
        plot.recorded.append(ax.axvline(at, **recorded_kw))
        if not twin:
            plot.recorded.append(f_ax.axvline(at, **recorded_kw))
        for target, curve in ((ax, engine if engine is not None else symbolic), (f_ax, f)):
            if curve is not None and x[0] <= at <= x[-1]:
                y = float(np.interp(at, x, curve))
                if np.isfinite(y):
                    (mark,) = target.plot([at], [y], marker="D", markersize=7, linestyle="none",
                                          color=colors["recorded"], zorder=6)
                    plot.recorded.append(mark)
    _widen_flat_range(ax, [engine, symbolic, fd])
    _widen_flat_range(f_ax, [f])
    for target in (ax, f_ax):
        target.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel(variable)
    ax.set_ylabel(derivative)
    f_ax.set_ylabel("f")
    if twin:
        f_ax.tick_params(colors=colors["foreground"])
        f_ax.yaxis.label.set_color(colors["f"])
        for spine in f_ax.spines.values():
            spine.set_color(colors["muted"])
    else:
        f_ax.tick_params(labelbottom=False)

    handles = []
    for line, missing in ((plot.engine, "engine: unavailable"), (plot.symbolic, "closed form: unavailable"),
                          (plot.finite_difference, None)):
        if line is not None:
            handles.append(line)
        elif missing:     # say so in the legend (the reason is the result's "note")
            handles.append(Line2D([], [], color=colors["muted"], linestyle="none", marker="x",
                                  label=missing))
    if twin and plot.f is not None:
        handles.append(plot.f)
    if at is not None and np.isfinite(at):
        handles.append(Line2D([], [], color=colors["recorded"], marker="D", linestyle=":",
                              label=f"recorded value {_fmt(float(at))}"))
    if handles:
        style = dict(handles=handles, fontsize="small", facecolor=colors["background"],
                     edgecolor=colors["grid"], labelcolor=colors["foreground"])
        width, height = _axes_pixels(ax)
        if not twin and width > 420 and height < 260:
            # a short plot: the legend beside it, where it cannot cover a curve
            plot.legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
                                    frameon=False, **style)
        else:
            plot.legend = ax.legend(loc="best", framealpha=0.85, **style)
    return plot
