"""gradstudio.studio.figures.plotting: what each plot draws, read back from its artists
(bar heights, tick labels, image arrays, line data) — never from pixels."""
from __future__ import annotations

import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.colors import LogNorm, SymLogNorm
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gradstudio.studio.kernel import records as kernel_data
from gradstudio.studio.figures import plotting
from gradstudio.studio import sweep as sweeping
from gradstudio.studio.kernel import records
from gradstudio.studio.kernel.schema import NodeData, Summary, SweepData
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic import derive_call, values_along


def axes(**figure_options):
    figure = Figure(layout="constrained", **figure_options)
    return figure, figure.add_subplot()


def node(i, kind="op", name=None, grad=None, grad_fn="MulBackward0", is_root=False, **extra):
    summary = None if grad is None else Summary(np.shape(grad), "float64", int(np.size(grad)))
    return NodeData(id=i, kind=kind, name=name, label=name or grad_fn,
                    grad_fn=grad_fn if kind == "op" else None, grad=grad, grad_summary=summary,
                    is_root=is_root, **extra)


class InlineWorker:
    """The symbolic worker's interface, in this process (no time limit)."""

    def derive(self, graph, gradient, leaf_ids, timeout):
        return derive_call(graph, gradient, leaf_ids)

    def values_along(self, graph, gradient, leaf_id, element, xs, timeout):
        return values_along(graph, gradient, leaf_id, element, xs), None


@pytest.fixture(scope="module")
def tutorial():
    session = Session("tutorial.py")
    with open("resources/examples/autograd_tutorial.py") as handle:
        session.run_script(handle.read(), stop_on_error=False)
    return session


# --------------------------------------------------------------------------- gradient norms
def test_norms_one_bar_per_vertex_with_the_gradient_norm_on_a_log_scale(tutorial):
    call = kernel_data.call_data(tutorial.backward_calls[2])          # z = (x * x * 3).mean()
    nodes = call.graph.nodes
    figure, ax = axes()
    plot = plotting.gradient_norms(ax, nodes, selected=0)
    figure.canvas.draw()
    not_const = [n for n in nodes if n.kind != "const"]
    assert plot.node_ids == [n.id for n in not_const]
    assert len(plot.bars.patches) == len(not_const) == 4
    heights = [bar.get_height() for bar in plot.bars.patches]
    assert heights == pytest.approx([3.0, 1.5, 0.5, 1.0])               # ‖1.5·1₂ₓ₂‖, ‖0.75·1‖, ‖0.25·1‖, 1
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "MulBackward0", "y", "z"]
    assert "1 constant not shown" in ax.get_xlabel()
    assert plot.bars.patches[0].get_linewidth() > plot.bars.patches[1].get_linewidth()   # selected
    leaf, op, root = (plot.bars.patches[i].get_facecolor() for i in (0, 1, 3))
    assert len({leaf, op, root}) == 3, "leaves, ops and the output look different"
    assert [t.get_text() for t in plot.legend.get_texts()] == ["leaf", "op", "output"]
    assert plot.node_at(1.2) == nodes[1].id and plot.node_at(7) is None


def test_zero_missing_and_nan_gradients_are_labelled_gaps_not_a_broken_log_axis():
    nodes = [node(0, "leaf", "a", np.zeros(3), grad_fn=None),
             node(1, "leaf", "b", None, grad_fn=None),
             node(2, "op", None, np.array([1.0, np.nan])),
             node(3, "op", None, np.array([np.inf])),
             node(4, "op", "z", np.array(2.0), is_root=True)]
    figure, ax = axes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # no log-of-zero warnings either
        plot = plotting.gradient_norms(ax, nodes)
        figure.canvas.draw()
    assert plot.status == ["zero", "none", "nan", "inf", "ok"]
    heights = [bar.get_height() for bar in plot.bars.patches]
    assert np.isnan(heights[:4]).all() and heights[4] == 2.0
    assert [t.get_text() for t in plot.gap_texts] == ["0", "no grad", "NaN", "inf"]
    low, high = ax.get_ylim()
    assert 0 < low < 2.0 < high and np.isfinite(high)


def test_a_call_where_no_gradient_arrived_still_draws(tutorial):
    call = kernel_data.call_data(tutorial.backward_calls[0])          # y.backward() raised
    figure, ax = axes()
    plot = plotting.gradient_norms(ax, call.graph.nodes)
    figure.canvas.draw()
    assert set(plot.status) == {"none"}
    assert ax.get_ylim() == pytest.approx((0.1, 10))
    assert any("no gradient reached" in t.get_text() for t in ax.texts)


def test_a_large_graph_shows_the_largest_norms_and_says_so(tutorial):
    nodes = [node(i, name=None, grad=np.array(float(i + 1))) for i in range(300)]
    figure, ax = axes()
    plot = plotting.gradient_norms(ax, nodes, selected=3, max_bars=20)
    assert len(plot.bars.patches) == 20
    assert 3 in plot.node_ids, "the selected vertex is always shown"
    assert set(plot.node_ids) - {3} == set(range(281, 300))
    assert plot.node_ids == sorted(plot.node_ids), "graph order is kept"
    assert "20 largest of 300" in ax.get_xlabel()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "Mul #3" and len(set(labels)) == 20, "tight slots: the grad_fn without 'Backward0'"
    assert labels == plot.labels


def test_dark_theme_colours_the_surface_and_text():
    colors = plotting.theme(dark=True)
    figure, ax = axes()
    plotting.style_figure(figure, colors)
    plotting.gradient_norms(ax, [node(0, "leaf", "w", np.ones(2), grad_fn=None)], colors=colors, title="t")
    assert matplotlib.colors.to_hex(figure.get_facecolor()) == colors["background"]
    assert matplotlib.colors.to_hex(ax.get_facecolor()) == colors["background"]
    assert matplotlib.colors.to_hex(ax.title.get_color() if ax.title.get_text() else
                                    ax._left_title.get_color()) == colors["foreground"]
    assert plotting.theme(background="#123456")["background"] == "#123456"


# --------------------------------------------------------------------------- heatmap
def test_heatmap_shows_abs_grad_with_a_colour_bar_and_values():
    grad = np.array([[1.0, -2.0], [0.0, 4.0]])
    figure, ax = axes(figsize=(5, 4))
    plot = plotting.gradient_heatmap(ax, grad, marked=(1, 0))
    figure.canvas.draw()
    np.testing.assert_array_equal(plot.image.get_array(), np.abs(grad))
    assert plot.colorbar is not None and plot.colorbar.mappable is plot.image
    assert plot.image.norm.vmin == 0 and plot.image.norm.vmax == 4
    assert [t.get_text() for t in plot.texts] == ["1", "2", "0", "4"]
    assert plot.marker.get_xy() == (-0.5, 0.5)                  # row 1, column 0
    assert plot.element_at(1.2, 0.9) == (1, 1) and plot.element_at(5, 5) is None


def test_signed_heatmap_is_diverging_and_centred_at_zero():
    grad = np.array([[1.0, -2.0], [0.0, 4.0]])
    figure, ax = axes(figsize=(5, 4))
    plot = plotting.gradient_heatmap(ax, grad, signed=True)
    figure.canvas.draw()
    np.testing.assert_array_equal(plot.image.get_array(), grad)
    assert plot.image.get_cmap().name.startswith("RdBu_r")
    assert (plot.image.norm.vmin, plot.image.norm.vmax) == (-4, 4)       # 0 in the middle
    assert plot.image.norm(0.0) == pytest.approx(0.5)
    assert [t.get_text() for t in plot.texts] == ["1", "-2", "0", "4"]
    assert plot.colorbar.ax.get_ylabel() == "grad"
    figure, ax = axes()
    plot = plotting.gradient_heatmap(ax, np.array([-1e-4, 1.0, 1e3]), signed=True, log=True)
    assert isinstance(plot.image.norm, SymLogNorm) and plot.image.norm(0.0) == pytest.approx(0.5)


@pytest.mark.parametrize("shape, shown", [((), (1, 1)), ((4,), (1, 4)), ((2, 3), (2, 3)), ((2, 3, 4), (6, 4))])
def test_heatmap_of_any_rank(shape, shown):
    grad = -np.arange(int(np.prod(shape)), dtype=float).reshape(shape)
    figure, ax = axes()
    plot = plotting.gradient_heatmap(ax, grad)
    figure.canvas.draw()
    assert plot.image.get_array().shape == shown
    np.testing.assert_array_equal(np.asarray(plot.image.get_array()).ravel(), np.abs(grad).ravel())
    if len(shape) > 2:
        assert "flattened" in ax.get_xlabel()
        assert plotting.element_at(shape, 5, 3) == (1, 2, 3)
        assert plotting.cell_of(shape, (1, 2, 3)) == (5, 3)


def test_heatmap_nan_and_inf_cells_are_marked_and_zero_gradient_draws():
    figure, ax = axes(figsize=(5, 4))
    plot = plotting.gradient_heatmap(ax, np.array([1.0, np.nan, -np.inf, 2.0]))
    figure.canvas.draw()
    assert np.ma.getmaskarray(plot.image.get_array()).tolist() == [[False, True, True, False]]
    assert "2 elements NaN or inf" in ax.get_xlabel()
    assert [t.get_text() for t in plot.texts] == ["1", "NaN", "inf", "2"]
    figure, ax = axes()
    plot = plotting.gradient_heatmap(ax, np.zeros((3, 3)), log=True)
    figure.canvas.draw()
    assert plot.image.norm.vmax == 1.0
    figure, ax = axes()
    plot = plotting.gradient_heatmap(ax, np.array([1e-6, 1.0, 1e3]), log=True)
    assert isinstance(plot.image.norm, LogNorm)


# --------------------------------------------------------------------------- sweep
def test_sweep_engine_and_closed_form_agree_on_tanh():
    session = Session("tanh.py")
    session.run_script("import torch\nx = torch.tensor([0.3, -0.2], requires_grad=True)\n"
                       "z = torch.tanh(x).sum()\nz.backward()\n")
    call = session.backward_calls[0]
    result = sweeping.sweep(call.graph, 0, (0,), call.gradient, lo=-2, hi=2, points=21, worker=InlineWorker())
    figure = Figure(layout="constrained")
    grid = figure.add_gridspec(2, 1)
    f_ax, ax = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
    plot = plotting.sweep(ax, records.sweep_data(0, result), f_ax=f_ax, variable="x[0]")
    figure.canvas.draw()
    x = np.linspace(-2, 2, 21)
    np.testing.assert_allclose(plot.engine.get_xdata(), x)
    np.testing.assert_allclose(plot.engine.get_ydata(), 1 - np.tanh(x) ** 2, rtol=1e-6)
    np.testing.assert_allclose(plot.symbolic.get_ydata(), plot.engine.get_ydata(), rtol=1e-6)
    np.testing.assert_allclose(plot.finite_difference.get_ydata(), 1 - np.tanh(x) ** 2, rtol=1e-5)
    np.testing.assert_allclose(plot.f.get_ydata(), np.tanh(x) + np.tanh(-0.2), atol=1e-6)   # x[1] is float32
    assert plot.f.axes is f_ax and plot.engine.axes is ax
    assert plot.symbolic.get_zorder() > plot.engine.get_zorder(), "the closed form is drawn on top"
    assert plot.symbolic.get_linestyle() != "-" and plot.finite_difference.get_linestyle() == "None"
    assert plot.recorded[0].get_xdata()[0] == pytest.approx(0.3)
    texts = [t.get_text() for t in plot.legend.get_texts()]
    assert texts[:3] == ["engine", "closed form (sympy)", "finite differences"]
    assert ax.get_ylabel() == "∂f/∂x[0]" and f_ax.get_ylabel() == "f"


def test_sweep_with_missing_curves_twin_axis_and_errors():
    x = np.linspace(0, 1, 5)
    result = SweepData(call=0, x=x, f=x ** 2, symbolic=np.array([0, 0.5, np.nan, np.nan, np.nan]),
                       finite_difference=2 * x, at=0.5, note="engine curve unavailable: …")
    figure, ax = axes()
    plot = plotting.sweep(ax, result)
    figure.canvas.draw()
    assert plot.engine is None and plot.f_ax is not ax and plot.f.axes is plot.f_ax     # a twin axis
    texts = [t.get_text() for t in plot.legend.get_texts()]
    assert "engine: unavailable" in texts and "closed form (sympy), 2 of 5 points" in texts and "f" in texts
    figure, ax = axes()
    plot = plotting.sweep(ax, SweepData(call=0, error="element [3] is not inside shape [2]"))
    assert plot.engine is None and "not inside shape" in plot.message.get_text()


# --------------------------------------------------------------------------- layering
def test_plotting_never_imports_pyplot_or_qt():
    code = ("import sys, gradstudio.studio.figures.plotting as p; from matplotlib.figure import Figure; "
            "ax = Figure().add_subplot(); p.gradient_norms(ax, []); p.gradient_heatmap(ax, [1.0]); "
            "bad = [m for m in sys.modules if m == 'matplotlib.pyplot' or m.startswith(('PySide6', 'PyQt'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_constant_derivative_is_not_magnified_into_rounding_noise():
    x = np.linspace(-1, 1, 11)
    noise = 1e-7 * np.sin(np.arange(11))
    result = SweepData(call=0, x=x, f=1024 * x, engine=np.full(11, 1024.0), symbolic=np.full(11, 1024.0),
                       finite_difference=1024 + noise, at=0.0)
    figure, ax = axes()
    plotting.sweep(ax, result)
    figure.canvas.draw()
    low, high = ax.get_ylim()
    assert low == pytest.approx(1024 * 0.9) and high == pytest.approx(1024 * 1.1)
    assert ax.yaxis.get_offset_text().get_text() == ""


def test_thinned_finite_difference_markers_never_hide_a_disagreement():
    x = np.linspace(-2, 2, 101)
    engine = (x > 0).astype(float)
    fd = engine.copy()
    fd[51] = 0.5                                  # a kink the engine and the difference see differently
    result = SweepData(call=0, x=x, f=np.maximum(x, 0), engine=engine, symbolic=engine, finite_difference=fd,
                       at=1.0)
    figure, ax = axes()
    plot = plotting.sweep(ax, result)
    every = plot.finite_difference.get_markevery()
    assert 51 in every and len(every) <= plotting.MAX_SWEEP_MARKERS + 2


def test_tilted_labels_leave_a_short_name_upright(tutorial):
    """The tutorial's y.backward(gradient=v) call has ten bars, so its labels tilt; the
    leaf's "x" tilted 40° read as "+" under its bar."""
    call = kernel_data.call_data(tutorial.backward_calls[-1])
    figure, ax = axes(figsize=(5.8, 2.8))
    plotting.gradient_norms(ax, call.graph.nodes, selected=None)
    figure.canvas.draw()
    rotation = {t.get_text(): t.get_rotation() for t in ax.get_xticklabels()}
    assert rotation["x"] == 0 and rotation["y"] == 0, rotation
    assert any(angle == 40 for name, angle in rotation.items() if len(name) > 2), rotation


def sigmoid_neuron_norms() -> list:
    """The vertices of the node editor's sigmoid-neuron example as the kernel records them
    (the gradient norms it found; x and target are constants)."""
    norms = [("w", "leaf", 0.44185), ("x", "const", None), ("b", "leaf", 0.19284), ("target", "const", None),
             ("s", "op", 0.19284), ("a", "op", 0.19284), ("p", "op", 0.80262), ("e", "op", 0.80262),
             ("loss", "op", 1.0)]
    return [node(i, kind, name, None if norm is None else np.full(1, norm), is_root=name == "loss")
            for i, (name, kind, norm) in enumerate(norms)]


@pytest.mark.parametrize("size", [(6.29, 2.67), (4.0, 2.2), (9.0, 4.0), (12.0, 2.5)])
def test_the_norms_legend_keeps_clear_of_every_bar(size):
    """On the sigmoid neuron's call (Plots at its default size: 629×267 px) the legend sat
    on the last bar, less than a pixel above it. At any size the legend is in the figure,
    a few pixels clear of every bar, and the bars keep most of the width."""
    figure, ax = axes(figsize=size, dpi=100)
    plot = plotting.gradient_norms(ax, sigmoid_neuron_norms(), selected=0,
                                   title="‖grad‖ per vertex — #0 loss.backward()")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = plot.legend.get_window_extent(renderer)
    assert figure.bbox.contains(legend.x0, legend.y0) and figure.bbox.contains(legend.x1, legend.y1)
    clear = legend.expanded((legend.width + 8) / legend.width, (legend.height + 8) / legend.height)
    for bar in plot.bars.patches:
        assert not clear.overlaps(bar.get_window_extent(renderer)), bar.get_gid()
    assert ax.get_window_extent(renderer).width > 0.6 * figure.bbox.width
