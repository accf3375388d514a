"""The Compare panel: for every backward call, each leaf's gradient three ways.

One section per backward call, one row per leaf: the engine's gradient, the
chain-form and simplified formulas rendered as mathematics, the symbolic
value, the finite-difference estimate, PyTorch's value when the kernel has
it, the largest error and ✓/✗. Under each leaf a line says what the symbols
stand for, which elements disagree (engine vs symbolic vs finite differences,
the disagreeing ones highlighted) and the note (kinks, timeouts, size).

Rows appear as soon as a call is recorded and fill in when its derivation
arrives, as text first; the formulas are rendered afterwards, a few per
event-loop turn and only for rows on screen (:mod:`..widgets.math_view`
caches them, so a re-run cell shows its formulas at once). LaTeX that mathtext
can't draw (a Matrix, a Piecewise) shows sympy's pretty print instead, made by
the kernel; failing that, the sympy text.

Clicking a row selects that leaf everywhere (a section header selects the
call's root), and a selection made elsewhere highlights the row. "Copy as
LaTeX" / "Copy as sympy" (buttons and context menu) put a formula on the
clipboard; double-clicking a formula opens it whole in a window.
"""
from __future__ import annotations

import html
import time

import numpy as np
from PySide6.QtCore import QEvent, QModelIndex, QRect, QSize, Qt, QTimer
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetrics, QGuiApplication, QLinearGradient,
                           QPalette, QTextDocument)
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QMenu,
                               QScrollArea, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QToolButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from .. import theme
from ..widgets import math_view
from ..widgets.math_view import Formula, MathView

COLUMNS = ["Leaf", "", "Engine", "Chain form", "Simplified", "Symbolic", "Finite diff.", "PyTorch",
           "Error"]
LEAF, MARK, ENGINE, CHAIN, SIMPLIFIED, SYMBOLIC, FD, TORCH, ERROR = range(len(COLUMNS))
FORMULA_COLUMNS = (CHAIN, SIMPLIFIED)
ROLE_KEY = Qt.ItemDataRole.UserRole          # (call index, vertex or None)
ROLE_KIND = Qt.ItemDataRole.UserRole + 1     # "section" | "leaf" | "detail" | "message"
ROLE_FORMULA = Qt.ItemDataRole.UserRole + 2  # a math_view.Formula (formula cells)
ROLE_HTML = Qt.ItemDataRole.UserRole + 3     # the detail line's rich text
MAX_CELL_CHARS = 80
SAMPLE_ELEMENTS = 2           # elements spelled out in a value cell (all of them in its tooltip)
MAX_FORMULA_WIDTH = 300       # px; wider formulas are clipped (a fade says so) — double-click shows all
MAX_PRETTY_LINES = 9
SAME_CHARS = 12               # a simplified form equal to a chain form longer than this is not repeated
MAX_LISTED_ELEMENTS = 4       # disagreeing elements spelled out in the detail line
SMALL_TENSOR = 16             # up to this many elements, whole arrays are shown with the bad ones marked
RENDER_SLICE_SECONDS = 0.04   # formula rendering per event-loop turn
PAD = 4
WRAPPED = ("detail", "message")   # rows drawn as wrapped rich text across the panel


# --------------------------------------------------------------------------- number texts
def format_sample(values, missing=None) -> str:
    """A short text for an array: the value if all equal, else the first few."""
    if values is None:
        return "—"
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return "[]"
    flat = a.reshape(-1)
    skip = np.asarray(missing, dtype=bool).reshape(-1) if missing is not None else np.zeros(flat.size, bool)
    shown = flat[~skip] if (~skip).any() else flat
    if a.size == 1:
        return _num(flat[0])
    texts = {_num(v) for v in shown[:4096]}
    if len(texts) == 1 and (shown.size <= 4096 or np.all(shown == shown[0])):   # equal as shown
        return f"{_num(shown[0])} (all {a.size})" if not skip.any() else f"{_num(shown[0])} (sampled)"
    head = ", ".join("·" if skip[i] else _num(flat[i]) for i in range(min(SAMPLE_ELEMENTS, flat.size)))
    return f"[{head}{', …' if flat.size > SAMPLE_ELEMENTS else ''}]"


def format_full(values) -> str:
    if values is None:
        return ""
    return np.array2string(np.asarray(values), precision=6, threshold=200, max_line_width=100)


def _num(v) -> str:
    return "nan" if np.isnan(v) else f"{v:.5g}"


def _cut_lines(text: str, lines: int = 40, width: int = 160) -> str:
    """A pretty print cut to fit a tooltip."""
    rows = text.split("\n")
    cut = [r if len(r) <= width else r[: width - 1] + "…" for r in rows[:lines]]
    return "\n".join(cut + (["⋮"] if len(rows) > lines else []))


def _cut(text: str | None) -> str:
    if not text:
        return "—"
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


# --------------------------------------------------------------------------- formulas of a leaf
def leaf_formulas(check: dict, *, whole: bool = False) -> dict:
    """``{"chain": Formula, "simplified": Formula}`` of one leaf check (empty
    Formulas where there is none). The kernel's ``latex`` is of the simplified
    form, or of the formula itself until it is simplified.

    A per-element gradient is a matrix of formulas, too wide for a row: unless
    ``whole``, its LaTeX is that of the first element (labelled), which mathtext
    can draw; the pretty print and the text stay whole."""
    chain_text, simplified_text = check.get("formula"), check.get("simplified")
    latex = check.get("latex")
    chain_latex = check.get("chain_latex")
    if chain_latex is None and simplified_text in (None, chain_text):
        chain_latex = latex                       # the same expression (matrix and per-element forms)
    caption = None
    if not whole and check.get("formula_kind") == "per_element":
        shape = check.get("shape") or []
        caption = f"[{', '.join('0' for _ in shape)}]" if shape else None
        chain_latex, latex = (_first_entry(chain_latex), _first_entry(latex))
    chain = Formula(chain_latex, check.get("chain_pretty"), chain_text, caption) if chain_text else Formula()
    simplified = (Formula(latex, check.get("pretty"), simplified_text, caption) if simplified_text
                  else Formula())
    return {"chain": chain, "simplified": simplified}


def _first_entry(latex):
    entries = math_view.matrix_entries(latex)
    return entries[0][0] if entries else None


def _legend_html(check: dict) -> str:
    symbols = check.get("symbols") or []
    if not symbols:
        return ""
    items = ", ".join(f"<i>{html.escape(str(name))}</i> = {html.escape(str(meaning))}"
                      for name, meaning in symbols)
    return f"where {items}"


def _array_html(values, mismatch, colors, missing=None) -> str:
    """A small array as text, its disagreeing elements marked."""
    a = np.asarray(values, dtype=np.float64)
    bad = np.asarray(mismatch, dtype=bool) if mismatch is not None else np.zeros(a.shape, bool)
    skip = np.asarray(missing, dtype=bool) if missing is not None else np.zeros(a.shape, bool)
    style = (f"background-color:{colors['mismatch_bg']};color:{colors['bad']};font-weight:600")

    def one(index):
        text = "·" if skip[index] else _num(a[index])
        return f"<span style='{style}'>{text}</span>" if bad[index] else text

    def nested(prefix):
        depth = len(prefix)
        if depth == a.ndim:
            return one(prefix)
        return "[" + ", ".join(nested(prefix + (i,)) for i in range(a.shape[depth])) + "]"

    return nested(()) if a.ndim else one(())


def explain_html(check: dict, colors: dict) -> str:
    """The detail line under a leaf: what disagrees (values side by side), the note,
    the symbols legend."""
    lines = []
    mismatch = check.get("mismatch")
    references = [(label, check.get(key), check.get("unsampled") if key == "finite_difference" else None)
                  for label, key in (("symbolic", "symbolic"), ("finite diff.", "finite_difference"),
                                     ("PyTorch", "torch"))]
    references = [(label, values, missing) for label, values, missing in references if values is not None]
    numeric = check.get("numeric")
    if not check.get("agree"):
        bad = colors["bad"]
        if mismatch is not None and np.any(mismatch) and numeric is not None:
            mismatch = np.asarray(mismatch, dtype=bool)
            count, size = int(mismatch.sum()), mismatch.size
            head = (f"<b style='color:{bad}'>✗ {count} of {size} element{'s' if size != 1 else ''} "
                    f"disagree{'s' if count == 1 and size == 1 else ''}</b>")
            if size <= SMALL_TENSOR:
                parts = [f"engine {_array_html(numeric, mismatch, colors)}"]
                parts += [f"{label} {_array_html(values, mismatch, colors, missing)}"
                          for label, values, missing in references]
                lines.append(head + ": " + " · ".join(parts))
            else:
                where = np.argwhere(mismatch)[:MAX_LISTED_ELEMENTS]
                listed = []
                for index in map(tuple, where):
                    values = [f"engine {_num(float(np.asarray(numeric)[index]))}"]
                    for label, array, missing in references:
                        skipped = missing is not None and bool(np.asarray(missing)[index])
                        values.append(f"{label} {'·' if skipped else _num(float(np.asarray(array)[index]))}")
                    listed.append(f"<b>{[int(i) for i in index]}</b> {', '.join(values)}")
                more = f"; … {count - len(listed)} more" if count > len(listed) else ""
                lines.append(head + ": " + "; ".join(listed) + more)
        else:
            lines.append(f"<b style='color:{bad}'>✗ not confirmed</b>")
    note = check.get("note")
    if note:
        color = colors["hint"] if check.get("agree") else colors["bad"]
        lines.append(f"<span style='color:{color}'>{html.escape(note)}</span>")
    legend = _legend_html(check) if check.get("formula") else ""
    if legend:
        lines.append(f"<span style='color:{colors['muted']}'>{legend}</span>")
    return "<br>".join(lines)


# --------------------------------------------------------------------------- drawing
class _Shown:
    """How one formula cell looks right now."""

    __slots__ = ("kind", "pixmap", "text")

    def __init__(self, kind, pixmap=None, text=""):
        self.kind, self.pixmap, self.text = kind, pixmap, text   # kind: math|pretty|text|pending


class CompareDelegate(QStyledItemDelegate):
    """Draws formula cells (picture, pretty print or text) and the wrapped detail lines."""

    def __init__(self, panel):
        super().__init__(panel.tree)
        self.panel = panel
        self._documents: dict = {}
        self._pretty_sizes: dict = {}

    # -- detail lines ------------------------------------------------------------------------------
    def document(self, text: str, width: int, font: QFont) -> QTextDocument:
        key = (text, width, font.key())
        doc = self._documents.get(key)
        if doc is None:
            if len(self._documents) > 400:
                self._documents.clear()
            doc = QTextDocument()
            doc.setDocumentMargin(2)
            doc.setDefaultFont(font)
            doc.setHtml(text)
            doc.setTextWidth(max(40, width))
            self._documents[key] = doc
        return doc

    def detail_width(self) -> int:
        tree = self.panel.tree
        levels = 2 if tree.rootIsDecorated() else 1        # the rows under a call's header
        return tree.viewport().width() - levels * tree.indentation() - 2 * PAD

    # -- pretty text ---------------------------------------------------------------------------------
    def pretty_lines(self, text: str) -> list:
        lines = text.split("\n")
        if len(lines) > MAX_PRETTY_LINES:
            lines = lines[:MAX_PRETTY_LINES - 1] + ["⋮"]
        return lines

    def pretty_size(self, text: str, font: QFont) -> QSize:
        key = (text, font.key())
        size = self._pretty_sizes.get(key)
        if size is None:
            metrics = QFontMetrics(font)
            lines = self.pretty_lines(text)
            size = QSize(max(metrics.horizontalAdvance(line) for line in lines),
                         metrics.height() * len(lines))
            if len(self._pretty_sizes) > 400:
                self._pretty_sizes.clear()
            self._pretty_sizes[key] = size
        return size

    # -- sizes ---------------------------------------------------------------------------------------
    def sizeHint(self, option, index):
        kind = index.data(ROLE_KIND)
        if kind in WRAPPED:
            doc = self.document(index.data(ROLE_HTML) or "", self.detail_width(), option.font)
            return QSize(int(doc.idealWidth()), int(doc.size().height()) + 2)
        formula = index.data(ROLE_FORMULA) if index.column() in FORMULA_COLUMNS else None
        base = super().sizeHint(option, index)
        if not isinstance(formula, Formula):
            return base
        shown = self.panel.formula_shown(formula, False)
        caption = self.caption_width(formula, option.font) if shown.kind == "math" else 0
        if shown.kind == "math":
            dpr = shown.pixmap.devicePixelRatio() or 1.0
            size = QSize(int(shown.pixmap.width() / dpr) + caption, int(shown.pixmap.height() / dpr))
        elif shown.kind == "pretty":
            size = self.pretty_size(shown.text, self.panel.pretty_font)
        else:
            size = QSize(QFontMetrics(option.font).horizontalAdvance(shown.text), base.height() - 2 * PAD)
        return QSize(min(size.width(), MAX_FORMULA_WIDTH) + 2 * PAD,
                     max(base.height(), size.height() + 2 * PAD))

    def caption_width(self, formula: Formula, font: QFont) -> int:
        return QFontMetrics(font).horizontalAdvance(formula.caption) + PAD if formula.caption else 0

    # -- painting --------------------------------------------------------------------------------------
    def paint(self, painter, option, index):
        kind = index.data(ROLE_KIND)
        formula = index.data(ROLE_FORMULA) if index.column() in FORMULA_COLUMNS else None
        if kind not in WRAPPED and not isinstance(formula, Formula):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        rect = option.rect.adjusted(PAD, 1, -PAD, -1)
        painter.save()
        painter.setClipRect(option.rect)
        if kind in WRAPPED:
            doc = self.document(index.data(ROLE_HTML) or "", self.detail_width(), option.font)
            painter.translate(rect.topLeft())
            doc.drawContents(painter)
        else:
            self._paint_formula(painter, option, rect, formula, selected)
        painter.restore()

    def _paint_formula(self, painter, option, rect: QRect, formula: Formula, selected: bool):
        panel = self.panel
        shown = panel.formula_shown(formula, selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        color = option.palette.color(role)
        overflow = False
        if shown.kind == "math":
            left = rect.left()
            if formula.caption:             # which element this is, muted, before the formula
                painter.setFont(option.font)
                painter.setPen(color if selected else QColor(theme.colors(option.palette)["muted"]))
                painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, formula.caption)
                left += self.caption_width(formula, option.font)
            pixmap = shown.pixmap
            dpr = pixmap.devicePixelRatio() or 1.0
            width, height = pixmap.width() / dpr, pixmap.height() / dpr
            top = rect.top() + max(0, (rect.height() - height) / 2)
            painter.drawPixmap(int(left), int(top), pixmap)
            overflow = left + width > rect.right() + 1
        elif shown.kind == "pretty":
            font = panel.pretty_font
            painter.setFont(font)
            painter.setPen(color)
            metrics = QFontMetrics(font)
            lines = self.pretty_lines(shown.text)
            block = metrics.height() * len(lines)      # no leading: the bracket pieces must join
            y = rect.top() + max(0, (rect.height() - block) // 2) + metrics.ascent()
            for line in lines:
                painter.drawText(rect.left(), y, line)
                y += metrics.height()
            overflow = self.pretty_size(shown.text, font).width() > rect.width()
        else:
            if shown.kind == "pending" and not selected:
                color = QColor(theme.colors(option.palette)["muted"])
            painter.setPen(color)
            painter.setFont(option.font)
            metrics = QFontMetrics(option.font)
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             metrics.elidedText(shown.text, Qt.TextElideMode.ElideRight, rect.width()))
        if overflow:   # fade the clipped end into the background: there is more
            background = option.palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Base)
            fade = QRect(option.rect.right() - 28, option.rect.top(), 28, option.rect.height())
            gradient = QLinearGradient(fade.left(), 0, fade.right(), 0)
            transparent = QColor(background)
            transparent.setAlpha(0)
            gradient.setColorAt(0.0, transparent)
            gradient.setColorAt(0.8, background)
            painter.fillRect(fade, QBrush(gradient))
            painter.setPen(color)
            painter.drawText(fade.adjusted(0, 0, -2, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "…")


# --------------------------------------------------------------------------- the whole formula
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
        self.resize(760, 420)


# --------------------------------------------------------------------------- the panel
class ComparePanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.model = context.model
        self.runner = context.runner
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tree.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tree.setIndentation(12)
        self.delegate = CompareDelegate(self)
        self.tree.setItemDelegate(self.delegate)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(18)
        self.tree.setColumnHidden(TORCH, True)
        self.tree.headerItem().setToolTip(MARK, "✓ engine, closed form and finite differences agree")
        self.tree.headerItem().setToolTip(CHAIN, "The gradient as a chain of local derivatives")
        self.tree.headerItem().setToolTip(SIMPLIFIED, "The same, simplified by sympy")
        self.tree.headerItem().setToolTip(ENGINE, "The engine's gradient (a sample; hover for all)")
        self.tree.headerItem().setToolTip(ERROR, "The largest |engine − closed form| or |engine − "
                                                 "finite difference| over the elements")

        self.copy_latex = self._copy_button("Copy as LaTeX", "latex")
        self.copy_sympy = self._copy_button("Copy as sympy", "sympy")
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.setSpacing(4)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.copy_latex)
        bar.addWidget(self.copy_sympy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.tree)

        self.sections: dict = {}                 # call index -> top-level item
        self._syncing = False
        self._pending: dict = {}                 # render key -> (latex, color, size, dpr)
        self._tints: dict = {}
        self._render_timer = QTimer(self, singleShot=True, interval=0, timeout=self._render_pending)
        self._relayout_timer = QTimer(self, singleShot=True, interval=30, timeout=self._relayout)
        self._last_width = -1
        self.formula_windows: list = []
        self._update_fonts()

        m = self.model
        m.callAdded.connect(self._on_call_added)
        m.callDeriving.connect(self._refresh_call)
        m.callChecked.connect(self._refresh_call)
        m.callsCleared.connect(self._clear)
        m.selectionChanged.connect(self._on_selection_changed)
        self.tree.currentItemChanged.connect(self._on_current_item)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.itemClicked.connect(self._on_item_clicked)
        self.tree.viewport().installEventFilter(self)
        for record in m.call_list():
            self._on_call_added(record.index)
        self._update_copy_buttons()

    # -- formula display -----------------------------------------------------------------------------
    def _update_fonts(self):
        self.formula_size = math_view.formula_pixel_size(self.tree.font())
        self.pretty_font = math_view.pretty_font(self.tree.font())

    def _render_key(self, latex: str, color: QColor):
        return (latex, color.name(), self.formula_size, math_view.device_pixel_ratio(self.tree))

    def formula_shown(self, formula: Formula, selected: bool) -> _Shown:
        """What a formula cell shows now; a formula not rendered yet is queued
        (drawn as text until then)."""
        if formula.latex and math_view.can_render(formula.latex):
            color = self.tree.palette().color(QPalette.ColorRole.Text)
            key = self._render_key(formula.latex, color)
            found, pixmap = math_view.cached(*key)
            if found and pixmap is not None:
                if selected:
                    pixmap = self._tinted(key, pixmap)
                return _Shown("math", pixmap)
            if not found:
                self._queue(key)
                return _Shown("pending", text=formula.text or "")
        if formula.pretty:
            return _Shown("pretty", text=formula.pretty)
        return _Shown("text", text=formula.text or "—")

    def _tinted(self, key, pixmap):
        color = self.tree.palette().color(QPalette.ColorRole.HighlightedText)
        tint_key = key + (color.name(),)
        tinted = self._tints.get(tint_key)
        if tinted is None:
            if len(self._tints) > 64:
                self._tints.clear()
            tinted = self._tints[tint_key] = math_view.tinted(pixmap, color)
        return tinted

    def _queue(self, key):
        if key not in self._pending:
            self._pending[key] = key
            if not self._render_timer.isActive():
                self._render_timer.start()

    def _render_pending(self):
        deadline = time.perf_counter() + RENDER_SLICE_SECONDS
        while self._pending and time.perf_counter() < deadline:
            key = next(iter(self._pending))
            del self._pending[key]
            math_view.render_latex(*key)
        if self._pending:
            self._render_timer.start()
        self._relayout()

    def _relayout(self):
        """Row heights and column widths follow the rendered formulas."""
        self.tree.doItemsLayout()
        self.tree.viewport().update()

    def is_busy(self) -> bool:
        """Formulas on screen still to render (``gradstudio snapshot`` waits for them)."""
        if self._pending:
            return True
        if not self.tree.isVisible():
            return False
        area = self.tree.viewport().rect()
        for section in self.sections.values():
            for i in range(section.childCount()):
                item = section.child(i)
                if item.data(0, ROLE_KIND) != "leaf" or not self.tree.visualItemRect(item).intersects(area):
                    continue
                for column in FORMULA_COLUMNS:
                    formula = item.data(column, ROLE_FORMULA)
                    if isinstance(formula, Formula):
                        self.formula_shown(formula, False)
        return bool(self._pending)

    def eventFilter(self, watched, event):
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Resize:
            if event.size().width() != self._last_width:      # detail lines wrap anew
                self._last_width = event.size().width()
                self.delegate._documents.clear()
                self._relayout_timer.start()
        return super().eventFilter(watched, event)

    # -- building rows -------------------------------------------------------------------------------
    def _clear(self):
        self.tree.clear()
        self.sections.clear()
        self._update_copy_buttons()

    def _on_call_added(self, index: int):
        section = QTreeWidgetItem(self.tree)
        section.setData(0, ROLE_KEY, (index, None))
        section.setData(0, ROLE_KIND, "section")
        section.setFirstColumnSpanned(True)
        font = section.font(0)
        font.setBold(True)
        section.setFont(0, font)
        self.sections[index] = section
        self._refresh_call(index)
        section.setExpanded(True)
        self.tree.scrollToItem(section)

    def _refresh_call(self, index: int):
        record = self.model.call(index)
        section = self.sections.get(index)
        if record is None or section is None:
            return
        colors = theme.colors(self.palette())
        data = record.data
        where = f"cell {data['cell']}, line {data['line']}" if data.get("cell") else f"line {data['line']}"
        grad_fn = data["root"].get("grad_fn")
        state = ""
        if record.status == "error":
            state = " — raised"
        elif record.check is not None:
            state = " — ✓ all agree" if record.check["agree"] else " — ✗ disagreement"
        elif record.deriving or record.pending:
            state = " — deriving…"
        section.setText(0, f"#{index}  {record.title()}{'  ·  ' + grad_fn if grad_fn else ''}"
                           f"  ·  {where}{state}")
        section.setToolTip(0, f"backward call #{index}: {record.title()} at {where}")
        if record.check is not None and not record.check["agree"]:
            section.setForeground(0, QBrush(QColor(colors["bad"])))
        else:
            section.setForeground(0, QBrush())
        section.takeChildren()
        if record.status == "error":
            lines = [(f"{data.get('error_type') or 'Error'}: {data.get('error')}", "error")]
            if data.get("hint"):
                lines.append((f"Hint: {data['hint']}", "hint"))
            row = QTreeWidgetItem(section)
            row.setData(0, ROLE_KEY, (index, None))
            row.setData(0, ROLE_KIND, "message")
            row.setFirstColumnSpanned(True)
            row.setText(0, "\n".join(text for text, _ in lines))
            row.setData(0, ROLE_HTML, "<br>".join(f"<span style='color:{colors[color]}'>{html.escape(text)}</span>"
                                                  for text, color in lines))
            self._update_copy_buttons()
            return
        checks = {leaf["vertex"]: leaf for leaf in (record.check or {}).get("leaves", [])}
        for leaf in data.get("leaves", []):
            self._leaf_rows(section, record, leaf, checks.get(leaf["vertex"]), colors)
        if not data.get("leaves"):
            row = QTreeWidgetItem(section)
            row.setData(0, ROLE_KEY, (index, None))
            row.setData(0, ROLE_KIND, "message")
            row.setFirstColumnSpanned(True)
            row.setText(0, "no leaf received a gradient in this call")
            row.setData(0, ROLE_HTML, html.escape(row.text(0)))
        if any(leaf.get("torch") is not None for leaf in checks.values()):
            self.tree.setColumnHidden(TORCH, False)
        if self.model.selection.call == index:     # the rows were rebuilt: select again
            self._on_selection_changed(self.model.selection)
        self._update_copy_buttons()

    def _leaf_rows(self, section, record, leaf: dict, check: dict | None, colors: dict):
        key = (record.index, leaf["vertex"])
        row = QTreeWidgetItem(section)
        row.setData(0, ROLE_KEY, key)
        row.setData(0, ROLE_KIND, "leaf")
        shape = "×".join(str(s) for s in leaf["shape"]) or "scalar"
        root = record.data["root"].get("name") or "root"
        row.setText(LEAF, leaf["name"])
        row.setToolTip(LEAF, f"∂{root}/∂{leaf['name']}, shape {shape}")
        numeric = check["numeric"] if check is not None and check.get("numeric") is not None else leaf.get("numeric")
        row.setText(ENGINE, format_sample(numeric))
        row.setToolTip(ENGINE, format_full(numeric))
        for column in range(len(COLUMNS)):
            row.setTextAlignment(column, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        if check is None:
            waiting = "deriving…" if (record.deriving or record.pending) else "—"
            for column in (CHAIN, SIMPLIFIED, SYMBOLIC, FD):
                row.setText(column, waiting)
                row.setForeground(column, QBrush(QColor(colors["muted"])))
            return
        forms = leaf_formulas(check)
        same = forms["chain"].text == forms["simplified"].text and len(forms["chain"].text or "") > SAME_CHARS
        for column, form in ((CHAIN, forms["chain"]), (SIMPLIFIED, forms["simplified"])):
            if column == SIMPLIFIED and same:      # a long formula sympy could not simplify: once is enough
                row.setText(column, "= chain form")
                row.setForeground(column, QBrush(QColor(colors["muted"])))
                row.setToolTip(column, "sympy found nothing simpler")
            elif form:
                row.setData(column, ROLE_FORMULA, form)
                row.setText(column, _cut(form.text))
                tip = html.escape(form.text or "")
                if form.pretty:
                    tip = f"<pre>{html.escape(_cut_lines(form.pretty))}</pre>"
                if form.caption:
                    tip = f"Shown: the formula of element {form.caption}. All of them:<br>{tip}"
                row.setToolTip(column, f"{tip}<br><i>Double-click to see it whole; right-click to copy.</i>")
            else:
                if column == CHAIN and check.get("formula_size"):
                    text = f"too large ({check['formula_size']} ops)"
                elif column == SIMPLIFIED and check.get("formula"):
                    text = "not simplified"
                else:
                    text = "—"
                row.setText(column, text)
                row.setForeground(column, QBrush(QColor(colors["muted"])))
                row.setToolTip(column, check.get("formula_note") or check.get("note") or "")
        row.setText(SYMBOLIC, format_sample(check.get("symbolic")))
        row.setToolTip(SYMBOLIC, format_full(check.get("symbolic")))
        row.setText(FD, format_sample(check.get("finite_difference"), check.get("unsampled")))
        row.setToolTip(FD, format_full(check.get("finite_difference")))
        if check.get("torch") is not None:
            row.setText(TORCH, format_sample(check["torch"]))
            row.setToolTip(TORCH, format_full(check["torch"]))
        error = check.get("max_abs_error")
        row.setText(ERROR, "—" if error is None else ("0" if error == 0 else f"{error:.1g}"))
        if error is not None:
            row.setToolTip(ERROR, f"largest |difference| over the elements: {error:.6g}")
        note = check.get("note") or ""
        bold = QFont(row.font(MARK))
        bold.setBold(True)
        row.setFont(MARK, bold)
        if check.get("agree"):
            row.setText(MARK, "✓")
            row.setForeground(MARK, QBrush(QColor(colors["ok"])))
            row.setToolTip(MARK, "engine, closed form and finite differences agree"
                           + (f"\n\n{note}" if note else ""))
        else:
            mark = "?" if check.get("formula") is None and check.get("finite_difference") is None else "✗"
            row.setText(MARK, mark)
            row.setForeground(MARK, QBrush(QColor(colors["bad"])))
            row.setToolTip(MARK, note or "the values disagree")
            mismatch = check.get("mismatch")
            if mismatch is not None and np.any(mismatch):
                where = np.argwhere(mismatch)
                listing = "\n".join(str([int(v) for v in i]) for i in where[:20]) + ("\n…" if len(where) > 20 else "")
                for column in (ENGINE, MARK):
                    row.setBackground(column, QBrush(QColor(colors["mismatch_bg"])))
                row.setToolTip(ENGINE, format_full(numeric) + "\n\ndisagreeing elements:\n" + listing)
        detail = explain_html(check, colors)
        if detail:
            line = QTreeWidgetItem(section)
            line.setData(0, ROLE_KEY, key)
            line.setData(0, ROLE_KIND, "detail")
            line.setData(0, ROLE_HTML, detail)
            line.setFirstColumnSpanned(True)
            line.setToolTip(0, note)

    # -- selection -----------------------------------------------------------------------------------
    def _on_current_item(self, item, previous=None):
        self._update_copy_buttons()
        if self._syncing or item is None:
            return
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        if call is None:
            return
        if vertex is not None:
            self.model.select(call=call, node=vertex)

    def _on_item_clicked(self, item, column):
        """A click on a call's header selects its root (not a mere current-item change:
        the view makes its first row current when it gets the focus)."""
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        if call is None or vertex is not None or item.data(0, ROLE_KIND) != "section":
            return
        record = self.model.call(call)
        graph = record.graph if record is not None else None
        if graph and graph.get("root") is not None:
            self.model.select(call=call, node=graph["root"])

    def leaf_row(self, call, vertex):
        section = self.sections.get(call)
        if section is None or vertex is None:
            return None
        for i in range(section.childCount()):
            child = section.child(i)
            if child.data(0, ROLE_KIND) == "leaf" and (child.data(0, ROLE_KEY) or (None, None))[1] == vertex:
                return child
        return None

    def _on_selection_changed(self, selection):
        target = self.leaf_row(selection.call, selection.node)
        current = self.tree.currentItem()
        if target is None and current is not None and current.data(0, ROLE_KIND) == "section" \
                and (current.data(0, ROLE_KEY) or (None,))[0] == selection.call:
            return                                   # our own section click selected the root
        self._syncing = True
        try:
            if target is not None:
                if self.tree.currentItem() is not target:
                    self.tree.setCurrentItem(target)
                self.tree.scrollToItem(target)
            else:
                self.tree.setCurrentItem(None)
                self.tree.clearSelection()
        finally:
            self._syncing = False
        self._update_copy_buttons()

    # -- copying ---------------------------------------------------------------------------------------
    def _copy_button(self, text: str, kind: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QMenu(button)
        for label, which in (("Chain form", "chain"), ("Simplified form", "simplified")):
            action = menu.addAction(label)
            action.triggered.connect(lambda checked=False, w=which, k=kind: self.copy_formula(k, w))
        button.setMenu(menu)
        button.clicked.connect(lambda checked=False, k=kind: self.copy_formula(k, None))
        button.setToolTip(f"{text}: the selected leaf's simplified form (its chain form when the chain "
                          "form column is current); the arrow offers both")
        return button

    def current_leaf(self):
        """(call record, leaf check) of the current row, or (None, None)."""
        item = self.tree.currentItem()
        if item is None:
            return None, None
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        record = self.model.call(call) if call is not None else None
        if record is None or vertex is None:
            return None, None
        return record, record.leaf_check(vertex)

    def formula_text(self, check: dict, kind: str, which: str) -> str | None:
        """The chain or simplified form of a leaf as LaTeX or sympy text."""
        if check is None:
            return None
        if kind == "sympy":
            return check.get("formula") if which == "chain" else check.get("simplified")
        return leaf_formulas(check)[which].latex

    def copy_formula(self, kind: str, which: str | None = None) -> str | None:
        """Copy the current leaf's formula; ``which`` None: the current column's form
        (chain form column → chain, otherwise simplified, else whichever exists)."""
        record, check = self.current_leaf()
        if check is None:
            return None
        if which is None:
            which = "chain" if self.tree.currentColumn() == CHAIN else "simplified"
        text = self.formula_text(check, kind, which)
        if not text:
            text = self.formula_text(check, kind, "chain" if which == "simplified" else "simplified")
        self._copy(text)
        return text

    def _update_copy_buttons(self):
        record, check = self.current_leaf()
        for button, kind in ((self.copy_latex, "latex"), (self.copy_sympy, "sympy")):
            has = check is not None and any(self.formula_text(check, kind, w) for w in ("chain", "simplified"))
            button.setEnabled(bool(has))
        if check is not None:
            root = record.data["root"].get("name") or "root"
            self.caption.setText(f"#{record.index}  ∂{root}/∂{check['name']}")
        else:
            self.caption.setText("Select a leaf to copy its formula")

    # -- context menu and double-click ---------------------------------------------------------------
    def _context_menu(self, point):
        item = self.tree.itemAt(point)
        if item is None:
            return
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        record = self.model.call(call) if call is not None else None
        if record is None:
            return
        menu = QMenu(self)
        leaf = record.leaf_check(vertex) if vertex is not None else None
        if leaf is not None:
            for label, kind, which in (("Copy chain form as LaTeX", "latex", "chain"),
                                       ("Copy simplified as LaTeX", "latex", "simplified"),
                                       ("Copy chain form as sympy", "sympy", "chain"),
                                       ("Copy simplified as sympy", "sympy", "simplified")):
                text = self.formula_text(leaf, kind, which)
                action = menu.addAction(label)
                action.setEnabled(bool(text))
                action.triggered.connect(lambda checked=False, t=text: self._copy(t))
            menu.addSeparator()
            show = menu.addAction("Show formulas whole…")
            show.setEnabled(bool(leaf.get("formula")))
            show.triggered.connect(lambda checked=False, r=record, c=leaf: self.show_formula(r, c))
        if record.status == "ok" and record.data.get("leaves"):
            menu.addSeparator()
            action = menu.addAction("Derive again with a 60 s time limit")
            action.triggered.connect(lambda checked=False, i=call: self.runner.recheck(i, 60.0))
        self.context_menu = menu            # tests look at it
        self.exec_menu(menu, self.tree.viewport().mapToGlobal(point))

    def exec_menu(self, menu, position):
        """Show the context menu (blocking; tests replace this)."""
        menu.exec(position)

    def _on_double_click(self, item, column):
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        record = self.model.call(call) if call is not None else None
        check = record.leaf_check(vertex) if record is not None and vertex is not None else None
        if check is not None and check.get("formula"):
            self.show_formula(record, check)

    def show_formula(self, record, check) -> FormulaWindow:
        root = record.data["root"].get("name") or "root"
        window = FormulaWindow(self, f"∂{root}/∂{check['name']} — #{record.index} {record.title()}",
                               leaf_formulas(check, whole=True), _legend_html(check))
        self.formula_windows = [w for w in self.formula_windows if w.isVisible()] + [window]
        window.show()
        return window

    def _copy(self, text):
        if text:
            QGuiApplication.clipboard().setText(text)

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._update_fonts()
            self._tints.clear()
            self.delegate._documents.clear()
            for index in list(self.sections):
                self._refresh_call(index)
