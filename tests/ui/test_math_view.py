"""The formula renderer: mathtext pictures, cached; pretty print and text where
mathtext can't; palette colours; a length cap; matplotlib imported lazily."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QColor, QFont, QPalette

from gradstudio.ui import theme
from gradstudio.ui.widgets import math_view
from gradstudio.ui.widgets.math_view import Formula, MathView

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIECEWISE = r"\begin{cases} 1 & \text{for}\: a > 0 \\0 & \text{otherwise} \end{cases}"
PIECEWISE_PRETTY = "⎧1  for a > 0\n⎨            \n⎩0  otherwise"


@pytest.fixture(autouse=True)
def fresh_cache():
    math_view.clear_cache()
    yield
    math_view.clear_cache()


def ink(pixmap) -> QColor:
    """The colour of the most opaque pixel (the glyphs' colour, un-premultiplied)."""
    image = pixmap.toImage()
    best, color = -1, None
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() > best:
                best, color = c.alpha(), c
    return color


def test_renders_once_then_hits_the_cache(qtbot):
    first = math_view.render_latex(r"\frac{3 x}{2}", "#202020", 15, 1.0)
    assert first is not None and not first.isNull()
    assert first.height() > 15 * 1.5, "a fraction is two lines of text high"
    assert math_view.cache_info()["renders"] == 1
    again = math_view.render_latex(r"\frac{3 x}{2}", QColor("#202020"), 15, 1.0)
    assert again is first
    info = math_view.cache_info()
    assert info["renders"] == 1 and info["hits"] >= 1 and info["size"] == 1
    assert math_view.is_cached(r"\frac{3 x}{2}", "#202020", 15, 1.0)
    # another colour, size or pixel ratio is another picture
    math_view.render_latex(r"\frac{3 x}{2}", "#ff0000", 15, 1.0)
    double = math_view.render_latex(r"\frac{3 x}{2}", "#202020", 15, 2.0)
    assert math_view.cache_info()["renders"] == 3
    assert double.devicePixelRatio() == 2.0
    assert abs(double.width() - 2 * first.width()) <= 4, "device pixels scale with the ratio"


def test_what_mathtext_cannot_parse_returns_none_and_is_remembered(qtbot):
    assert math_view.render_latex(PIECEWISE, "#000000", 15) is None          # \begin{cases}
    assert math_view.cache_info()["renders"] == 0, "environments never reach matplotlib"
    broken = r"\frac{1}{"                                                      # mathtext raises ValueError
    assert math_view.render_latex(broken, "#000000", 15) is None
    assert math_view.render_latex(broken, "#000000", 15) is None
    assert math_view.cache_info()["renders"] == 1, "a failure is cached too"


def test_length_cap(qtbot):
    long = "x + " * (math_view.MAX_LATEX_CHARS // 4) + "y"
    assert len(long) > math_view.MAX_LATEX_CHARS
    assert not math_view.can_render(long)
    assert math_view.render_latex(long, "#000000", 15) is None
    assert math_view.cache_info()["renders"] == 0


def test_view_falls_back_to_pretty_then_text(qtbot):
    view = MathView()
    qtbot.addWidget(view)
    view.set_formula(Formula(r"\frac{3 \cdot 2 \cdot x}{4}", None, "3*2*x/4"))
    assert view.mode == "math" and view.pixmap() is not None and not view.pixmap().isNull()
    assert view.toolTip() == "3*2*x/4"
    view.set_formula(Formula(PIECEWISE, PIECEWISE_PRETTY, "Piecewise((1, a > 0), (0, True))"))
    assert view.mode == "pretty"
    assert view.text() == PIECEWISE_PRETTY
    assert view.font().fixedPitch() or "mono" in view.font().family().lower()
    view.set_formula(latex=r"\frac{1}{", text="1/(")
    assert view.mode == "text" and view.text() == "1/("
    view.set_formula(Formula())
    assert view.mode == "empty"


def test_colours_follow_the_palette_light_and_dark(qtbot):
    view = MathView()
    qtbot.addWidget(view)
    view.setFont(QFont(view.font()))
    light = QPalette(view.palette())
    light.setColor(QPalette.ColorRole.WindowText, QColor(20, 20, 20))
    view.setPalette(light)
    view.set_formula(Formula(r"x^{2} + \frac{1}{2}", None, "x**2 + 1/2"))
    dark_ink = ink(view.pixmap())
    assert dark_ink.lightness() < 60
    view.setPalette(theme.dark_palette())                 # a palette change re-renders
    light_ink = ink(view.pixmap())
    expected = theme.dark_palette().color(QPalette.ColorRole.WindowText)
    assert light_ink.lightness() > 180
    assert abs(light_ink.red() - expected.red()) <= 3 and abs(light_ink.blue() - expected.blue()) <= 3
    assert math_view.cache_info()["renders"] == 2


def test_tinted_keeps_the_shape_in_another_colour(qtbot):
    pixmap = math_view.render_latex("x_{1}", "#000000", 15)
    white = math_view.tinted(pixmap, "#ffffff")
    assert white.size() == pixmap.size()
    assert ink(white).lightness() == 255 and ink(white).alpha() == ink(pixmap).alpha()


def test_matrix_entries_split_sympy_matrix_latex():
    latex = (r"\left[\begin{matrix}- \frac{1}{3} + \left(x\right) & \left\{y\right\}\\"
             r"z_{0 1} & 2\end{matrix}\right]")
    assert math_view.matrix_entries(latex) == [[r"- \frac{1}{3} + \left(x\right)", r"\left\{y\right\}"],
                                               [r"z_{0 1}", "2"]]
    assert math_view.matrix_entries(r"\frac{3 x}{2}") is None
    nested = r"\left[\begin{matrix}\begin{cases} 1 \end{cases}\end{matrix}\right]"
    assert math_view.matrix_entries(nested) is None


def test_matplotlib_loads_lazily_in_a_background_warm_up(tmp_path):
    code = ("import os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "import sys, gradstudio.ui\n"
            "from PySide6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from gradstudio.ui.widgets import math_view\n"
            "from gradstudio.ui.panels import compare\n"
            "print('before', 'matplotlib' in sys.modules)\n"
            "print('ready at once', math_view.warm_up())\n"
            "math_view._warm_thread.join(60)\n"
            "print('ready later', math_view.warm_up(), 'matplotlib' in sys.modules)\n"
            "print('rendered', math_view.render_latex('x', '#000000', 12) is not None)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=ROOT, QT_QPA_PLATFORM="offscreen"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["before", "False", "ready", "at", "once", "False",
                                  "ready", "later", "True", "True", "rendered", "True"]
