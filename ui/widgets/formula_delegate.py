"""The Compare panel's item delegate: formula cells drawn as mathematics and
explanation rows drawn as wrapped rich text.

A formula cell holds a :class:`~.math_view.Formula` under :data:`ROLE_FORMULA`;
how it looks right now (a rendered picture, a pretty print, the text, or the
text while its picture is pending) is asked of ``host.formula_shown(formula,
selected)``, so the host decides when to render (lazily, for rows on screen).
Rows whose :data:`ROLE_KIND` is in :data:`WRAPPED` show :data:`ROLE_HTML`
wrapped to the view's width. A formula wider than its cell (wider than
:data:`MAX_FORMULA_WIDTH`, or a line of its own wider than the view — the
Compare panel moves one too wide for its column onto such a line) is clipped
with a fade that says there is more.

A tree without uniform row heights measures every cell of every row in each
layout of it, so the rows the host has stamped (:meth:`FormulaDelegate.stamp`,
under :data:`ROLE_ROW`) keep the sizes they were measured at: a new call's rows
cost their own measuring, not every older row's again. A stamp names one
version of a row's contents — the host stamps a row again when it changes it —
and the kept sizes go with the layouts (:meth:`FormulaDelegate.forget_layouts`:
width, fonts) and with a finished render (:meth:`FormulaDelegate.forget_sizes`).
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QLinearGradient, QPalette, QTextDocument
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .. import theme
from .math_view import Formula

ROLE_KEY = Qt.ItemDataRole.UserRole          # (call index, vertex or None)
ROLE_KIND = Qt.ItemDataRole.UserRole + 1     # "section" | "leaf" | "detail" | "message" | "formula"
ROLE_FORMULA = Qt.ItemDataRole.UserRole + 2  # a math_view.Formula (formula cells)
ROLE_HTML = Qt.ItemDataRole.UserRole + 3     # a wrapped row's rich text
ROLE_ROW = Qt.ItemDataRole.UserRole + 4      # the row's stamp (see FormulaDelegate.stamp): its sizes are kept
WRAPPED = ("detail", "message")
MAX_FORMULA_WIDTH = 300       # px; wider formulas are clipped (a fade says so)
MAX_PRETTY_LINES = 9
PAD = 4


class Shown:
    """How one formula cell looks right now."""

    __slots__ = ("kind", "pixmap", "text")

    def __init__(self, kind, pixmap=None, text=""):
        self.kind, self.pixmap, self.text = kind, pixmap, text   # kind: math|pretty|text|pending


def _remember(cache: dict, key, value, limit: int = 400):
    """``cache[key] = value`` in a cache that is emptied once it holds more than ``limit``."""
    if len(cache) > limit:
        cache.clear()
    cache[key] = value


class FormulaDelegate(QStyledItemDelegate):
    """Draws formula cells (picture, pretty print or text) and the wrapped rows.

    ``host`` has ``tree`` (the view), ``pretty_font`` and ``formula_shown``."""

    def __init__(self, host):
        super().__init__(host.tree)
        self.panel = host
        self._documents: dict = {}
        self._pretty_sizes: dict = {}
        self._formula_sizes: dict = {}
        self._empty = None            # (font, decoration size, size) of a cell with nothing in it
        self._sizes: dict = {}        # (row stamp, column) -> (the size it was measured at, in this font)
        self._stamps = 0

    # -- detail lines ------------------------------------------------------------------------------
    def document(self, text: str, width: int, font: QFont) -> QTextDocument:
        key = (text, width, font.key())
        doc = self._documents.get(key)
        if doc is None:
            doc = QTextDocument()
            doc.setDocumentMargin(2)
            doc.setDefaultFont(font)
            doc.setHtml(text)
            doc.setTextWidth(max(40, width))
            _remember(self._documents, key, doc)
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
            _remember(self._pretty_sizes, key, size)
        return size

    def forget_layouts(self):
        """Drop the wrapped lines' layouts (the width or the fonts changed)."""
        self._documents.clear()
        self._empty = None
        self._sizes.clear()

    def forget_sizes(self):
        """Measure every stamped row again (a formula was rendered: a cell may have grown)."""
        self._sizes.clear()

    def stamp(self, item, columns: int):
        """Mark ``item``'s contents as one version whose sizes may be kept (each of its
        ``columns``); stamp it again whenever its contents change."""
        self._stamps += 1
        for column in range(columns):
            item.setData(column, ROLE_ROW, self._stamps)

    # -- sizes ---------------------------------------------------------------------------------------
    def sizeHint(self, option, index):
        row = index.data(ROLE_ROW)
        if row is None:
            return self.measure(option, index)[0]
        key = (row, index.column())
        kept = self._sizes.get(key)
        if kept is not None and kept[1] == option.font:
            return kept[0]
        size, final = self.measure(option, index)
        if final:
            _remember(self._sizes, key, (size, QFont(option.font)), limit=20000)
        return size

    def measure(self, option, index) -> tuple:
        """(the cell's size, whether it is final): a formula still to be rendered will
        have another size."""
        kind = index.data(ROLE_KIND)
        if kind in WRAPPED:
            doc = self.document(index.data(ROLE_HTML) or "", self.detail_width(), option.font)
            return QSize(int(doc.idealWidth()), int(doc.size().height()) + 2), True
        formula = index.data(ROLE_FORMULA)
        if kind is None and formula is None and self._is_empty(index):
            # Most cells are empty (a header's or an explanation's columns past the first):
            # the tree measures each of them in every layout, and all measure the same.
            empty = self._empty
            if empty is None or empty[0] != option.font or empty[1] != option.decorationSize:
                empty = self._empty = (QFont(option.font), QSize(option.decorationSize),
                                       super().sizeHint(option, index))
            return QSize(empty[2]), True
        if isinstance(formula, Formula) and kind != "formula":
            # The tree asks for every cell whenever a row changes: a formula's size is
            # worked out once, when it is final (rendered, or shown as text for good).
            key = (formula.latex, formula.text, formula.pretty, formula.caption, option.font.key(),
                   self.panel.formula_size)
            size = self._formula_sizes.get(key)
            if size is not None:
                return size, True
        base = super().sizeHint(option, index)
        if not isinstance(formula, Formula):
            return base, True
        if kind == "formula":      # a line of its own: as tall as the formula, no width asked of a column
            size, final = self._formula_size(option, base, formula)
            return QSize(0, size.height()), final
        return self._formula_size(option, base, formula, key)

    @staticmethod
    def _is_empty(index) -> bool:
        """Nothing in the cell that has a size: no text, icon, check box or font of its own."""
        return (index.data(Qt.ItemDataRole.DisplayRole) in (None, "")
                and index.data(Qt.ItemDataRole.DecorationRole) is None
                and index.data(Qt.ItemDataRole.CheckStateRole) is None
                and index.data(Qt.ItemDataRole.FontRole) is None)

    def _formula_size(self, option, base, formula, key=None):
        shown = self.panel.formula_shown(formula, False)
        caption = self.caption_width(formula, option.font) if shown.kind == "math" else 0
        if shown.kind == "math":
            dpr = shown.pixmap.devicePixelRatio() or 1.0
            size = QSize(int(shown.pixmap.width() / dpr) + caption, int(shown.pixmap.height() / dpr))
        elif shown.kind == "pretty":
            size = self.pretty_size(shown.text, self.panel.pretty_font)
        else:
            size = QSize(QFontMetrics(option.font).horizontalAdvance(shown.text), base.height() - 2 * PAD)
        size = QSize(min(size.width(), MAX_FORMULA_WIDTH) + 2 * PAD,
                     max(base.height(), size.height() + 2 * PAD))
        final = shown.kind != "pending"
        if final and key is not None:
            _remember(self._formula_sizes, key, size, limit=2000)
        return size, final

    def caption_width(self, formula: Formula, font: QFont) -> int:
        return QFontMetrics(font).horizontalAdvance(formula.caption) + PAD if formula.caption else 0

    # -- painting --------------------------------------------------------------------------------------
    def paint(self, painter, option, index):
        kind = index.data(ROLE_KIND)
        formula = index.data(ROLE_FORMULA)
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
