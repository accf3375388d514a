"""Formulas as pictures: LaTeX rendered by matplotlib's mathtext (no TeX install).

:func:`render_latex` turns a LaTeX string into a ``QPixmap`` at the screen's
device-pixel ratio, in a given colour, on a transparent background: mathtext's
Agg output (the coverage bitmap ``math_to_image`` draws too) coloured into a
``QImage`` directly — no figure, no PNG round trip, no rcParams touched — by a
parser of our own, because the Plots panel runs mathtext in a worker thread.
Results — failures included — are kept in a small LRU cache keyed by
(latex, colour, size, device-pixel ratio), so a formula is rendered once.
matplotlib is imported on the first render, never at window start.

mathtext parses most of ``sympy.latex``'s output, but not ``\\begin{matrix}``
(a Matrix) or ``\\begin{cases}`` (a Piecewise); for those, and for strings
over :data:`MAX_LATEX_CHARS`, :func:`render_latex` returns None and the
caller shows sympy's pretty print (``Formula.pretty``, made by the kernel
from the sympy expression) in a monospace font, or else the plain text.
Nothing here parses a formula with sympy: the strings are only displayed.

:class:`MathView` is a label that shows one :class:`Formula` that way, in the
palette's text colour (light or dark), re-rendered when the palette changes.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

MAX_LATEX_CHARS = 1500        # longer LaTeX is not given to mathtext (slow, unreadable)
MAX_PIXELS = 16_000_000       # a rendered formula larger than this is dropped
CACHE_SIZE = 512
FONTSET = "dejavusans"        # matches the interface's sans font; "cm" looks like TeX but is thin on screen
UNSUPPORTED = ("\\begin{", "\\end{")   # environments mathtext has no grammar for


@dataclass(frozen=True)
class Formula:
    """One formula in up to three forms, best first."""

    latex: str | None = None    # for mathtext
    pretty: str | None = None   # sympy.pretty(use_unicode=True) text, multi-line
    text: str | None = None     # the sympy string (always copyable)
    caption: str | None = None  # shown before the picture (e.g. which element of a matrix it is)

    def __bool__(self):
        return bool(self.latex or self.pretty or self.text)


MATRIX_START, MATRIX_END = "\\left[\\begin{matrix}", "\\end{matrix}\\right]"


def matrix_entries(latex: str | None) -> list | None:
    """The entries (rows of LaTeX strings) of ``sympy.latex(Matrix)``, which mathtext
    can't draw whole but can draw entry by entry; None if ``latex`` is not one
    (or nests another environment)."""
    if not latex or not (latex.startswith(MATRIX_START) and latex.endswith(MATRIX_END)):
        return None
    body = latex[len(MATRIX_START):-len(MATRIX_END)]
    rows, row, depth, start, i = [], [], 0, 0, 0
    while i < len(body):
        c = body[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "\\":
            if body.startswith("\\begin", i):
                return None
            if body.startswith("\\\\", i) and depth == 0:     # row separator
                row.append(body[start:i])
                rows.append(row)
                row, i = [], i + 2
                start = i
                continue
            i += 2                                         # a command's first letter, or \{ \& …
            continue
        elif c == "&" and depth == 0:
            row.append(body[start:i])
            start = i + 1
        i += 1
    row.append(body[start:])
    rows.append(row)
    entries = [[cell.strip() for cell in r] for r in rows]
    return entries if all(entries) and all(all(r) for r in entries) else None


# --------------------------------------------------------------------------- rendering
class _Cache:
    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.renders = 0           # calls into matplotlib

    def get(self, key):
        if key in self.items:
            self.items.move_to_end(key)
            self.hits += 1
            return True, self.items[key]
        self.misses += 1
        return False, None

    def put(self, key, value):
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def clear(self):
        self.items.clear()
        self.hits = self.misses = self.renders = 0


_cache = _Cache(CACHE_SIZE)


def cache_info() -> dict:
    """``hits, misses, renders, size`` of the formula cache (for tests and the curious)."""
    return {"hits": _cache.hits, "misses": _cache.misses, "renders": _cache.renders,
            "size": len(_cache.items)}


def clear_cache():
    _cache.clear()


def _key(latex: str, color, pixel_size: float, dpr: float) -> tuple:
    return (latex, QColor(color).name(), round(float(pixel_size), 2), round(float(dpr), 3))


def can_render(latex: str | None) -> bool:
    """Whether mathtext could take this string at all (cheap: no parsing)."""
    return bool(latex) and len(latex) <= MAX_LATEX_CHARS and not any(u in latex for u in UNSUPPORTED)


def is_cached(latex: str, color, pixel_size: float, dpr: float = 1.0) -> bool:
    return _key(latex, color, pixel_size, dpr) in _cache.items


def cached(latex: str, color, pixel_size: float, dpr: float = 1.0):
    """(found, pixmap or None) without rendering."""
    if not can_render(latex):
        return True, None
    return _cache.get(_key(latex, color, pixel_size, dpr))


def render_latex(latex: str, color, pixel_size: float, dpr: float = 1.0) -> QPixmap | None:
    """``latex`` (without ``$``) as a pixmap whose text is ``pixel_size`` logical
    pixels high, drawn in ``color`` at device-pixel ratio ``dpr``; None when
    mathtext can't parse it or it is too long. Cached, failures too.

    Fractions are set in display style (``\\dfrac``): mathtext's inline
    ``\\frac`` shrinks numerator and denominator below readable size."""
    if not can_render(latex):
        return None
    key = _key(latex, color, pixel_size, dpr)
    found, pixmap = _cache.get(key)
    if found:
        return pixmap
    pixmap = _render(latex.replace("\\frac", "\\dfrac"), key[1], float(pixel_size), float(dpr))
    _cache.put(key, pixmap)
    return pixmap


_parser = None
_warm_thread: threading.Thread | None = None
_warm_done = threading.Event()


def warm_up() -> bool:
    """Whether mathtext is ready; if not, start getting it ready in a background
    thread (importing matplotlib and building the parser take ~0.5 s that the
    GUI thread should not spend). Rendering waits for that thread, so the
    parser is never used by two threads at once."""
    global _warm_thread
    if _warm_done.is_set():
        return True
    if _warm_thread is None:
        _warm_thread = threading.Thread(target=_warm_up_work, name="gradstudio-mathtext-warm-up",
                                        daemon=True)
        _warm_thread.start()
    return False


def _warm_up_work():
    try:
        from matplotlib.font_manager import FontProperties
        _private_parser().parse("$x_{1}^{2}$", dpi=72, prop=FontProperties(size=12, math_fontfamily=FONTSET),
                                antialiased=True)
    except Exception:  # the GUI thread will meet the same problem and fall back
        pass
    finally:
        _warm_done.set()


def _private_parser():
    """A mathtext parser of our own. ``MathTextParser`` keeps one grammar object
    (with parse state) per class, and the Plots panel draws figures — log-scale
    tick labels are mathtext — in a worker thread; a subclass gets its own, used
    only on the GUI thread. (Fonts are already per thread in matplotlib.)"""
    global _parser
    if _parser is None:
        from matplotlib.mathtext import MathTextParser

        class _GuiParser(MathTextParser):
            _parser = None

        _parser = _GuiParser("agg")
    return _parser


def _render(latex: str, color: str, pixel_size: float, dpr: float) -> QPixmap | None:
    """mathtext's own rasteriser (coverage bitmap) coloured here: no figure, no
    PNG round trip, and no rcParams touched (the Plots thread reads them)."""
    if _warm_thread is not None:
        _warm_done.wait()          # it is using the parser (a synchronous render during warm-up)
    import numpy as np

    _cache.renders += 1
    try:
        from matplotlib.font_manager import FontProperties
        # size in points at 72 dpi == size in logical pixels; 72·dpr dpi gives device pixels
        prop = FontProperties(size=pixel_size, math_fontfamily=FONTSET)
        parsed = _private_parser().parse(f"${latex}$", dpi=72 * dpr, prop=prop, antialiased=True)
    except Exception:  # ValueError for what mathtext can't parse; anything else (even no matplotlib): same fallback
        return None
    coverage = np.asarray(parsed.image, dtype=np.uint8)
    if coverage.ndim != 2 or coverage.size == 0 or coverage.size > MAX_PIXELS:
        return None
    margin = max(1, round(dpr))
    height, width = coverage.shape[0] + 2 * margin, coverage.shape[1] + 2 * margin
    alpha = np.zeros((height, width), np.uint16)
    alpha[margin:-margin, margin:-margin] = coverage
    rgb = QColor(color)
    pixels = np.empty((height, width, 4), np.uint8)          # premultiplied BGRA (ARGB32 little-endian)
    pixels[..., 0] = alpha * rgb.blue() // 255
    pixels[..., 1] = alpha * rgb.green() // 255
    pixels[..., 2] = alpha * rgb.red() // 255
    pixels[..., 3] = alpha
    image = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
    pixmap = QPixmap.fromImage(image.copy())     # copy: the numpy buffer goes away
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


def tinted(pixmap: QPixmap, color) -> QPixmap:
    """The same picture in another colour (its alpha kept): a selected row's text
    colour without rendering the formula again."""
    result = QPixmap(pixmap.size())
    result.setDevicePixelRatio(pixmap.devicePixelRatio())
    result.fill(Qt.GlobalColor.transparent)
    painter = QPainter(result)
    painter.drawPixmap(0, 0, pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(result.rect(), QColor(color))
    painter.end()
    return result


def device_pixel_ratio(widget=None) -> float:
    if widget is not None:
        return float(widget.devicePixelRatioF())
    screen = QGuiApplication.primaryScreen()
    return float(screen.devicePixelRatio()) if screen is not None else 1.0


def formula_pixel_size(font: QFont, scale: float = 1.15) -> float:
    """The pixel height formulas get beside text in ``font`` (a little larger:
    sub- and superscripts are small)."""
    size = font.pixelSize()
    if size <= 0:
        screen = QGuiApplication.primaryScreen()
        dpi = screen.logicalDotsPerInchY() if screen is not None else 96.0
        size = font.pointSizeF() * dpi / 72.0
    return round(size * scale * 2) / 2


def pretty_font(base: QFont | None = None) -> QFont:
    """A monospace font for sympy's pretty print (its box-drawing characters line up)."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if base is not None:
        if base.pointSizeF() > 0:
            font.setPointSizeF(base.pointSizeF())
        elif base.pixelSize() > 0:
            font.setPixelSize(base.pixelSize())
    return font


# --------------------------------------------------------------------------- the widget
class MathView(QLabel):
    """A formula, rendered: mathtext picture, else pretty print, else text.

    ``mode`` says which one is showing: "math", "pretty", "text" or "empty"."""

    def __init__(self, formula: Formula | None = None, parent=None, *, scale: float = 1.3):
        super().__init__(parent)
        self.scale = scale
        self.formula = Formula()
        self.mode = "empty"
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._base_font = QFont(self.font())
        if formula is not None:
            self.set_formula(formula)

    def set_formula(self, formula: Formula | None = None, *, latex=None, pretty=None, text=None):
        self.formula = formula if formula is not None else Formula(latex, pretty, text)
        self._show()

    def text_color(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.WindowText)

    def _show(self):
        formula = self.formula
        self.setToolTip(formula.text or "")
        pixmap = None
        if formula.latex:
            pixmap = render_latex(formula.latex, self.text_color(),
                                  formula_pixel_size(self._base_font, self.scale), device_pixel_ratio(self))
        if pixmap is not None:
            self.mode = "math"
            self.setFont(self._base_font)
            self.setPixmap(pixmap)
            return
        self.clear()
        if formula.pretty:
            self.mode = "pretty"
            self.setFont(pretty_font(self._base_font))
            self.setText(formula.pretty)
        elif formula.text:
            self.mode = "text"
            self.setFont(self._base_font)
            self.setText(formula.text)
        else:
            self.mode = "empty"
            self.setText("")

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.mode == "math":
            self._show()


# --------------------------------------------------------------------------- a window
class FormulaWindow(QDialog):
    """A leaf's formulas at full size (non-modal): chain form = simplified, the legend."""

    def __init__(self, parent, title: str, forms: dict, legend: str):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.views = {}
        for key, label in (("chain", "Chain form"), ("simplified", "Simplified")):
            if not forms[key]:
                continue
            caption = QLabel(label)
            caption.setStyleSheet("font-weight: 600")
            view = MathView(forms[key], scale=1.5)
            self.views[key] = view
            layout.addWidget(caption)
            layout.addWidget(view)
        if legend:
            text = QLabel(legend)
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.RichText)
            layout.addWidget(text)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        wanted = body.sizeHint()
        self.resize(max(360, min(wanted.width() + 40, 1100)), max(160, min(wanted.height() + 30, 700)))
