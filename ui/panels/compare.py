"""The Compare panel: for every backward call, each leaf's gradient three ways.

One section per backward call, one row per leaf: the engine's gradient, the
chain-form and simplified formulas rendered as mathematics, the symbolic
value, the finite-difference estimate, PyTorch's value when the kernel has
it, the largest error and ✓/✗. Under each leaf a line says which elements
disagree (engine vs symbolic vs finite differences, the bad ones marked), the
note (kinks, timeouts, size) and what the symbols stand for
(:mod:`..widgets.gradient_text`).

What each row says is decided in :mod:`.compare_rows` (plain data); this
widget renders it, and leaves a section alone when its description has not
changed. Rows appear as soon as a call is recorded and fill in when its derivation
arrives, as text first; the formulas are rendered afterwards, a few per
event-loop turn and only for rows on screen (:mod:`..widgets.math_view`
caches them, so a re-run cell shows its formulas at once; the delegate in
:mod:`..widgets.formula_delegate` draws them). LaTeX that mathtext can't draw
shows sympy's pretty print instead, made by the kernel; failing that, the
sympy text. A per-element gradient (a matrix of formulas) shows element
[0, 0] in its row. A formula is never cut by its column: the columns keep room
for the formulas drawn in their cells, and one too wide for that (the widest
first, over all the calls: the columns are shared) is drawn whole on a line of
its own under its leaf's row, captioned, its cell keeping the text
(:meth:`ComparePanel._place_formulas`; a matrix form always has that line).

Clicking a row selects that leaf everywhere (a section header selects the
call's root), and a selection made elsewhere highlights the row and keeps it
in view. "Copy as LaTeX" / "Copy as sympy" (buttons and context menu) put a
formula on the clipboard; double-clicking a formula opens it whole in a window;
"Hessian…" (bar and context menu) opens the leaf's Hessian (:mod:`.hessian_view`).
"""
from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMenu,
                               QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from .. import theme
from ..widgets.echo import EchoGuard
from ..widgets.elided_label import ElidedLabel
from ..widgets import math_view
from ..widgets.formula_actions import FormulaActions, choice_for, hessian_applies
from ..widgets.formula_delegate import MAX_FORMULA_WIDTH, ROLE_FORMULA, ROLE_HTML, ROLE_KEY, ROLE_KIND, \
    FormulaDelegate, Shown
from ..widgets.formula_delegate import PAD as FORMULA_PAD
from ..widgets.gradient_text import explain_html, format_full, format_sample, leaf_formulas, legend_html
from ..widgets.math_view import Formula, FormulaWindow
from .compare_rows import (CHAIN, COLUMNS, ENGINE, ERROR, FD, LEAF, MARK, SIMPLIFIED, SYMBOLIC, TORCH, Row,
                           describe_call)

FORMULA_COLUMNS = (CHAIN, SIMPLIFIED)
# Every column is one backward call's own gradient; .grad (what print(x.grad) shows)
# is the running total over the calls since it was last zeroed: say which is which.
THIS_CALL_TIP = ("This call's contribution: what this backward() added to the leaf's .grad. "
                 "A printed x.grad is the running total over every backward() since it was last "
                 "zeroed (the Inspector shows it)")
MIN_WIDTHS = {LEAF: 40, ENGINE: 70, CHAIN: 60, SIMPLIFIED: 60, SYMBOLIC: 60, FD: 60, TORCH: 60,
              ERROR: 40}          # pixels a column keeps when the panel is narrow
MARK_WIDTH = 24       # the ✓ / ✗ column (kept whole)
LEAF_KEEP = 96        # a leaf's name up to this wide is shown whole while the headers fit
RENDER_SLICE_SECONDS = 0.04   # formula rendering per event-loop turn
WARM_UP_POLL_MS = 30          # while mathtext loads in the background

__all__ = ["ComparePanel", "COLUMNS", "LEAF", "MARK", "ENGINE", "CHAIN", "SIMPLIFIED", "SYMBOLIC", "FD",
           "TORCH", "ERROR", "ROLE_KEY", "ROLE_KIND", "ROLE_FORMULA", "ROLE_HTML", "explain_html",
           "format_sample", "format_full", "leaf_formulas"]


def _shrunk(wanted: dict, least: dict, available: int) -> dict:
    """Column widths within ``available`` pixels: each gives up part of what it has
    over ``least``, in proportion to that room (never below ``least``)."""
    excess = sum(wanted.values()) - available
    if excess <= 0:
        return dict(wanted)
    room = {c: wanted[c] - least[c] for c in wanted}
    total = sum(room.values())
    return {c: max(least[c], int(wanted[c] - (excess * room[c] / total if total else 0) - 1)) for c in wanted}


# --------------------------------------------------------------------------- the panel
class ComparePanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.model = context.model
        self._main_window = getattr(context, "window", None)    # for "Open as nodes"
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
        self.delegate = FormulaDelegate(self)
        self.tree.setItemDelegate(self.delegate)
        header = self.tree.header()
        # widths are set by _fit_columns: what the contents want, shrunk to fit the
        # viewport (the numbers and formulas are cut with a fade; hover shows them whole)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(18)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setColumnHidden(TORCH, True)
        self.tree.headerItem().setToolTip(MARK, "✓ engine, closed form and finite differences agree")
        self.tree.headerItem().setToolTip(CHAIN, "The gradient as a chain of local derivatives")
        self.tree.headerItem().setToolTip(SIMPLIFIED, "The same, simplified by sympy")
        self.tree.headerItem().setToolTip(ENGINE, THIS_CALL_TIP + " (a sample; hover for all)")
        self.tree.headerItem().setToolTip(ERROR, "The largest |engine − closed form| or |engine − "
                                                 "finite difference| over the elements")

        # "Copy as" once, before the three formats: the bar's width is Compare's minimum,
        # and every pixel of it is taken from the Inspector beside it
        self.copy_caption = QLabel("Copy as")
        self.copy_latex = self._copy_button("LaTeX", "latex")
        self.copy_sympy = self._copy_button("sympy", "sympy")
        self.forms = choice_for(self.model)               # which form each leaf shows (shared)
        self.formula_actions = FormulaActions(self.forms)
        self.formula_actions.hessianRequested.connect(self._on_hessian_requested)
        self.hessian_dialogs: list = []
        self.caption = ElidedLabel()
        self.caption.setMinimumWidth(60)      # elided, not widening the panel (the tree says it whole)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.setSpacing(4)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.copy_caption)
        bar.addWidget(self.copy_latex)
        bar.addWidget(self.copy_sympy)
        bar.addWidget(self.formula_actions)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.tree)

        self.sections: dict = {}                 # call index -> top-level item
        self._described: dict = {}               # call index -> the compare_rows.Section it shows
        self._formulas: dict = {}                # call index -> [(chain, simplified)] of its leaves
        self._wide: set = set()                  # (column, formula) drawn on a line of their own
        self._inline_needs: dict = {}            # column -> its widest formula drawn in a cell
        self._unseen = True                      # rows changed since is_busy last looked at them
        self._syncing = EchoGuard()
        self._pending: dict = {}                 # render key -> (latex, color, size, dpr)
        self._tints: dict = {}
        self._render_timer = QTimer(self, singleShot=True, interval=0, timeout=self._render_pending)
        self._relayout_timer = QTimer(self, singleShot=True, interval=30, timeout=self._refit)
        # Row heights Qt measured may be out of date: a formula was rendered since, the
        # width changed (detail lines wrap anew) or the fonts did. New rows are measured
        # when they are laid out, so contents that only arrive do not set it.
        self._heights_stale = False
        self._last_width = -1
        self.formula_windows: list = []
        self._followed = None                    # the item kept in view (see _follow)
        self._update_fonts()

        m = self.model
        m.calls.callAdded.connect(self._on_call_added)
        m.calls.callsAdded.connect(self._on_calls_added)
        m.calls.callDeriving.connect(self._refresh_call)
        m.calls.callChecked.connect(self._refresh_call)
        m.calls.callRemoved.connect(self._on_call_removed)
        m.calls.callsCleared.connect(self._clear)
        m.selection.selectionChanged.connect(self._on_selection_changed)
        self.forms.changed.connect(lambda key: self._refresh_call(key[0]))
        self.tree.currentItemChanged.connect(self._on_current_item)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.itemClicked.connect(self._on_item_clicked)
        self.tree.viewport().installEventFilter(self)
        self.tree.verticalScrollBar().actionTriggered.connect(self._on_user_scroll)
        self.tree.verticalScrollBar().valueChanged.connect(self._rows_changed)
        self.tree.itemExpanded.connect(self._rows_changed)
        self.tree.itemExpanded.connect(self._on_item_expanded)
        copy = QAction("Copy formula as sympy", self.tree)
        copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(lambda checked=False: self.copy_formula("sympy"))
        self.tree.addAction(copy)
        self._on_calls_added([record.index for record in m.calls.call_list()])
        self._update_copy_buttons()

    # -- formula display -----------------------------------------------------------------------------
    def _update_fonts(self):
        self.formula_size = math_view.formula_pixel_size(self.tree.font())
        self.pretty_font = math_view.pretty_font(self.tree.font())

    def _render_key(self, latex: str, color: QColor):
        return (latex, color.name(), self.formula_size, math_view.device_pixel_ratio(self.tree))

    def formula_shown(self, formula: Formula, selected: bool, *, render: bool = True) -> Shown:
        """What a formula cell shows now; a formula not rendered yet is queued
        (drawn as text until then) unless ``render`` is False."""
        if formula.latex and math_view.can_render(formula.latex):
            color = self.tree.palette().color(QPalette.ColorRole.Text)
            key = self._render_key(formula.latex, color)
            found, pixmap = math_view.cached(*key)
            if found and pixmap is not None:
                if selected:
                    pixmap = self._tinted(key, pixmap)
                return Shown("math", pixmap)
            if not found:
                if render:
                    self._queue(key)
                return Shown("pending", text=formula.text or "")
        if formula.pretty:
            return Shown("pretty", text=formula.pretty)
        return Shown("text", text=formula.text or "—")

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
                self._render_timer.start(0)

    def _render_pending(self):
        if not math_view.warm_up():                 # matplotlib is loading in the background
            self._render_timer.start(WARM_UP_POLL_MS)
            return
        deadline = time.perf_counter() + RENDER_SLICE_SECONDS
        while self._pending and time.perf_counter() < deadline:
            key = next(iter(self._pending))
            del self._pending[key]
            math_view.render_latex(*key)
        if self._pending:
            self._render_timer.start(0)
        self._relayout()

    def _relayout(self):
        """Row heights and column widths follow the rendered formulas."""
        self.delegate.forget_sizes()
        self._heights_stale = True
        self._refit()

    def _refit(self):
        """Column widths follow the contents; row heights are measured again only when
        they may have changed (:attr:`_heights_stale`) — measuring every row of every call
        is what a re-run's new section would otherwise pay for, once per call shown."""
        self._unseen = True
        self._place_formulas()
        self._fit_columns()             # a column that changes width repaints itself
        if self._heights_stale:
            self._heights_stale = False
            self.tree.doItemsLayout()
            self.tree.viewport().update()
        self._keep_in_view()            # (scrolling repaints what it moves)

    def _fit_columns(self):
        """Each column as wide as its contents want, and all of them within the viewport:
        when they do not fit, the wide ones (values, formulas) give up width in
        proportion to what they have over what they keep — first the header's whole
        title (and for Leaf, a name of up to LEAF_KEEP pixels), then, only if even
        that does not fit, down to MIN_WIDTHS — so every column, PyTorch and Error
        too, stays on screen without horizontal scrolling. The formula columns keep
        the width of the formulas drawn in them (:meth:`_place_formulas` moved the
        ones that would not fit)."""
        tree, header = self.tree, self.tree.header()
        columns = [c for c in range(len(COLUMNS)) if not tree.isColumnHidden(c)]
        if not columns:
            return
        metrics = header.fontMetrics()
        wanted, titled, least = {}, {}, {}
        for c in columns:
            title = metrics.horizontalAdvance(COLUMNS[c]) + 2 * metrics.averageCharWidth() + 6
            wanted[c] = max(tree.sizeHintForColumn(c), title, header.minimumSectionSize())
            least[c] = wanted[c] if c in (MARK,) else min(wanted[c], MIN_WIDTHS.get(c, title))
            titled[c] = min(wanted[c], max(title, LEAF_KEEP if c == LEAF else least[c]))
        available = tree.viewport().width()
        kept = dict(least)        # a formula drawn in its cell is not cut (_place_formulas saw to its room)
        for c, width in self._inline_needs.items():
            if c in wanted:
                titled[c] = max(titled[c], min(wanted[c], width))
                kept[c] = max(least[c], min(wanted[c], width))
        widths = _shrunk(wanted, titled, available)
        if sum(widths.values()) > available:
            widths = _shrunk(titled, kept, available)
        if sum(widths.values()) > available:
            widths = _shrunk(titled, least, available)
        for c in columns:
            if header.sectionSize(c) != widths[c]:
                header.resizeSection(c, widths[c])

    # -- formulas too wide for their columns ---------------------------------------------------
    def _formula_room(self) -> int:
        """The pixels the Chain form and Simplified columns can have together while every
        other column keeps its least width (see _fit_columns)."""
        tree = self.tree
        others = [c for c in range(len(COLUMNS)) if c not in FORMULA_COLUMNS and not tree.isColumnHidden(c)]
        return tree.viewport().width() - sum(MIN_WIDTHS.get(c, MARK_WIDTH) for c in others)

    def formula_width(self, formula: Formula | None) -> int | None:
        """How wide ``formula`` is drawn whole in a cell; None when it is not drawn (yet):
        not rendered, or shown as text, which elides."""
        if formula is None:
            return None
        shown = self.formula_shown(formula, False, render=False)
        if shown.kind == "math":
            dpr = shown.pixmap.devicePixelRatio() or 1.0
            width = shown.pixmap.width() / dpr + self.delegate.caption_width(formula, self.tree.font())
        elif shown.kind == "pretty":
            width = self.delegate.pretty_size(shown.text, self.pretty_font).width()
        else:
            return None
        return int(width + 0.999) + 2 * FORMULA_PAD

    def _below_for(self, index: int):
        """The ``below`` of describe_call for call ``index``; the formulas it is asked about
        are kept, so that a later width (rendered since, a resized panel) can move them."""
        pairs = self._formulas[index] = []
        wide = self._wide

        def below(chain, simplified):
            pairs.append((chain, simplified))
            return tuple(c for c, f in zip(FORMULA_COLUMNS, (chain, simplified)) if (c, f) in wide)
        return below

    def _place_formulas(self):
        """Which formulas go on a line of their own, for all the calls together (the columns
        are shared): the widest first, until the rest fit their columns side by side in the
        room there is; then describe again the calls where that changed."""
        room = self._formula_room()
        widths = {}                           # (column, formula) -> width, of those drawn
        for pairs in self._formulas.values():
            for pair in pairs:
                for column, formula in zip(FORMULA_COLUMNS, pair):
                    width = self.formula_width(formula)
                    if width is not None:
                        widths[(column, formula)] = width
        wide = {key for key, width in widths.items() if width > MAX_FORMULA_WIDTH + 2 * FORMULA_PAD}
        inline = sorted(((width, column, formula) for (column, formula), width in widths.items()
                         if (column, formula) not in wide), key=lambda entry: entry[0])

        def needs() -> dict:
            widest = {}
            for width, column, _ in inline:
                widest[column] = max(widest.get(column, 0), width)
            return widest
        while inline and sum(max(needs().get(c, 0), MIN_WIDTHS[c]) for c in FORMULA_COLUMNS) > room:
            _, column, formula = inline.pop()
            wide.add((column, formula))
        self._inline_needs = needs()
        if wide == self._wide:
            return
        changed = {formula for _, formula in wide ^ self._wide}
        self._wide = wide
        for index, pairs in list(self._formulas.items()):
            if any(formula in changed for pair in pairs for formula in pair):
                self._refresh_call(index)

    def _follow(self, item):
        """Show ``item`` (a new call, the selected leaf) and keep it in view while
        rows above it grow with their formulas — until the user scrolls."""
        self._followed = item
        self._keep_in_view()

    def _keep_in_view(self):
        item = self._followed
        if item is None:
            return
        try:
            parent = item.parent()
            if parent is not None:           # the leaf's explanation too, if it fits
                after = parent.child(parent.indexOfChild(item) + 1)
                if after is not None and after.data(0, ROLE_KIND) == "detail":
                    self.tree.scrollToItem(after)
            self.tree.scrollToItem(item)
        except RuntimeError:                 # the row was rebuilt meanwhile
            self._followed = None

    def _on_user_scroll(self, *args):
        self._followed = None

    def _rows_changed(self, *args):
        """Other rows may be on screen now (built, laid out, scrolled to): is_busy looks again."""
        self._unseen = True

    def is_busy(self) -> bool:
        """Formulas on screen still to render (``gradstudio snapshot`` waits for them)."""
        if self._pending:
            return True
        if not self.tree.isVisible():
            return False
        if not self._unseen:        # nothing changed since the rows on screen were all rendered
            return False
        area = self.tree.viewport().rect()
        for section in self.sections.values():
            for i in range(section.childCount()):
                item = section.child(i)
                kind = item.data(0, ROLE_KIND)
                if kind not in ("leaf", "formula") or not self.tree.visualItemRect(item).intersects(area):
                    continue
                for column in (FORMULA_COLUMNS if kind == "leaf" else (0,)):
                    formula = item.data(column, ROLE_FORMULA)
                    if isinstance(formula, Formula):
                        self.formula_shown(formula, False)
        self._unseen = bool(self._pending)
        return self._unseen

    def eventFilter(self, watched, event):
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Resize:
            if event.size().width() != self._last_width:      # detail lines wrap anew
                self._last_width = event.size().width()
                self.delegate.forget_layouts()
                self._heights_stale = True
                self._relayout_timer.start()
        return super().eventFilter(watched, event)

    # -- building rows -------------------------------------------------------------------------------
    def _clear(self):
        self._followed = None
        self.tree.clear()
        self.sections.clear()
        self._described.clear()
        self._formulas.clear()
        self._wide, self._inline_needs = set(), {}
        self._update_copy_buttons()

    def _on_call_added(self, index: int):
        if not self.model.calls.adding:          # (a cell's calls come together: _on_calls_added)
            self._on_calls_added([index])

    def _on_calls_added(self, indices: list):
        """New calls' sections. A call whose check is deferred (one of a loop's calls, checked
        when selected) is its header only, collapsed: its rows are built when it is expanded
        or checked — 200 calls are 200 lines, not a thousand rows laid out again and again."""
        added = []
        for index in indices:
            section = QTreeWidgetItem()
            section.setData(0, ROLE_KEY, (index, None))
            section.setData(0, ROLE_KIND, "section")
            font = section.font(0)
            font.setBold(True)
            section.setFont(0, font)
            section.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self.sections[index] = section
            record = self.model.calls.call(index)
            if record is not None and record.deferred:
                self._refresh_call(index)     # its header, before it is in the tree: no row measured per field
            added.append((index, section))
        self.tree.addTopLevelItems([section for index, section in added if not self._take_place(index, section)])
        # Spanning lays the tree out at once: the headers that stay headers (deferred calls)
        # are spanned together, once for the whole batch; a call with rows has its header
        # spanned with its rows (spanning it alone first laid the tree out once more).
        for index, section in added:
            if index in self._described:
                section.setFirstColumnSpanned(True)
        for index, section in added:
            if index not in self._described:
                self._refresh_call(index, span_section=True)
                if not section.isFirstColumnSpanned():     # (no record to describe yet)
                    section.setFirstColumnSpanned(True)
            if section.childCount():
                section.setExpanded(True)
        if added:
            self._follow(added[-1][1])

    def _take_place(self, index: int, section) -> bool:
        """A design's new live call goes where the call it replaces is (updated in place)."""
        record = self.model.calls.call(index)
        old = self.sections.get(record.replaces) if record is not None and record.replaces is not None else None
        if old is None:
            return False
        self.tree.insertTopLevelItem(self.tree.indexOfTopLevelItem(old), section)
        return True

    def _on_call_removed(self, index: int, replacement=None):
        section = self.sections.pop(index, None)
        self._described.pop(index, None)
        self._formulas.pop(index, None)
        if section is None:
            return
        if self._followed is not None and (self._followed is section or self._followed.parent() is section):
            self._followed = self.sections.get(replacement)
        self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(section))
        self._relayout_timer.start()
        self._update_copy_buttons()

    def _on_item_expanded(self, item):
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        if vertex is None and item.data(0, ROLE_KIND) == "section" and not item.childCount():
            self._refresh_call(call)          # a deferred call's rows, now that they are looked at

    def _refresh_call(self, index: int, span_section: bool = False):
        record = self.model.calls.call(index)
        section = self.sections.get(index)
        if record is None or section is None:
            return
        colors = theme.colors(self.palette())
        rows = not record.deferred or section.isExpanded()
        described = describe_call(record, colors, self.model.tensors.tensor, self.forms.shown, rows=rows,
                                  below=self._below_for(index))
        if self._described.get(index) == described:
            return                                # (callDeriving after callAdded: the same rows)
        first_rows = rows and not section.childCount() and described.rows
        self._described[index] = described
        self._relayout_timer.start()            # new contents: the columns fit again
        self._unseen = True
        section.setText(0, described.text)
        self.delegate.stamp(section, len(COLUMNS))    # new contents: measured anew (once)
        section.setToolTip(0, described.tip)
        section.setForeground(0, QBrush(QColor(colors["bad"])) if described.bad else QBrush())
        if self._followed is not None and self._followed.parent() is section:
            self._followed = section         # until the selection finds its new row
        section.takeChildren()
        spanned = [self._row_item(section, row, colors) for row in described.rows]
        # Spanning a row lays the whole tree out at once (QTreeView::setFirstColumnSpanned
        # executes the posted layout): span them after every row is in, so that is once.
        # A new call's header is spanned with them (spanning it alone first laid the tree
        # out once more).
        for item in ([section] if span_section else []) + spanned:
            if item.data(0, ROLE_KIND) != "leaf":
                item.setFirstColumnSpanned(True)
        if first_rows and not self.model.calls.adding:
            section.setExpanded(True)            # a deferred call's rows, built as it is selected
        if described.torch:
            self.tree.setColumnHidden(TORCH, False)
        if self.model.selection.current.call == index:     # the rows were rebuilt: select again
            self._on_selection_changed(self.model.selection.current)
        self._update_copy_buttons()

    def _row_item(self, section, row: Row, colors: dict) -> QTreeWidgetItem:
        item = QTreeWidgetItem(section)
        self.delegate.stamp(item, len(COLUMNS))   # its sizes are kept while it stays as built
        item.setData(0, ROLE_KEY, row.key)
        item.setData(0, ROLE_KIND, row.kind)
        if row.kind != "leaf":
            if row.formula is not None:
                item.setData(0, ROLE_FORMULA, row.formula)
            if row.text:
                item.setText(0, row.text)
            item.setData(0, ROLE_HTML, row.html)
            if row.tip is not None:
                item.setToolTip(0, row.tip)
            return item
        for column in range(len(COLUMNS)):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        for column, cell in row.cells.items():
            if cell.formula is not None:
                item.setData(column, ROLE_FORMULA, cell.formula)
            if cell.text:
                item.setText(column, cell.text)
            if cell.tip is not None:
                item.setToolTip(column, cell.tip)
            if cell.tone is not None:
                item.setForeground(column, QBrush(QColor(colors[cell.tone])))
            if cell.bold:
                bold = QFont(item.font(column))
                bold.setBold(True)
                item.setFont(column, bold)
            if cell.mismatch:
                item.setBackground(column, QBrush(QColor(colors["mismatch_bg"])))
        return item

    # -- selection -----------------------------------------------------------------------------------
    def _on_current_item(self, item, previous=None):
        self._update_copy_buttons()
        if self._syncing or item is None:
            return
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        if call is None:
            return
        if vertex is not None:
            self.model.selection.select(call=call, node=vertex)

    def _on_item_clicked(self, item, column):
        """A click on a call's header selects its root (not a mere current-item change:
        the view makes its first row current when it gets the focus)."""
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        if call is None or vertex is not None or item.data(0, ROLE_KIND) != "section":
            return
        record = self.model.calls.call(call)
        graph = record.graph if record is not None else None
        if graph and graph.root is not None:
            self.model.selection.select(call=call, node=graph.root)

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
        with self._syncing:
            if target is not None:
                if self.tree.currentItem() is not target:
                    self.tree.setCurrentItem(target)
                self._follow(target)
            else:
                self.tree.setCurrentItem(None)
                self.tree.clearSelection()
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
        button.setToolTip(f"Copy as {text}: the selected leaf's simplified form (its chain form when the chain "
                          "form column is current); the arrow offers both")
        return button

    def current_leaf(self):
        """(call record, leaf check) of the current row, or (None, None)."""
        item = self.tree.currentItem()
        if item is None:
            return None, None
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        record = self.model.calls.call(call) if call is not None else None
        if record is None or vertex is None:
            return None, None
        return record, self.forms.shown((call, vertex), record.leaf_check(vertex))

    def formula_text(self, check: dict, kind: str, which: str) -> str | None:
        """The chain or simplified form of a leaf as LaTeX or sympy text."""
        if check is None:
            return None
        if kind == "sympy":
            return check.formula if which == "chain" else check.simplified
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
        self.formula_actions.show_leaf((record.index, check.vertex) if check else None, check)
        for button, kind in ((self.copy_latex, "latex"), (self.copy_sympy, "sympy")):
            has = check is not None and any(self.formula_text(check, kind, w) for w in ("chain", "simplified"))
            button.setEnabled(bool(has))
        if check is not None:
            root = record.data.root.name or ""
            self.caption.setText(f"#{record.index}  ∂{root}/∂{check.name}")
        else:
            self.caption.setText("Select a leaf to copy its formula")

    # -- context menu and double-click ---------------------------------------------------------------
    def _context_menu(self, point):
        item = self.tree.itemAt(point)
        if item is None:
            return
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        record = self.model.calls.call(call) if call is not None else None
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
            show.setEnabled(bool(leaf.formula))
            show.triggered.connect(lambda checked=False, r=record, c=leaf: self.show_formula(r, c))
            hessian = menu.addAction("Hessian…")
            hessian.setEnabled(hessian_applies(leaf))
            hessian.triggered.connect(lambda checked=False, r=record, c=leaf: self.show_hessian(r, c))
        if record.status == "ok" and record.data.leaves:
            menu.addSeparator()
            action = menu.addAction("Derive again with a 60 s time limit")
            action.triggered.connect(lambda checked=False, i=call: self.runner.recheck(i, 60.0))
        window = self._main_window
        if hasattr(window, "open_as_nodes") and record.data.graph is not None:   # the call as an editable design
            action = menu.addAction("Open as nodes")
            action.triggered.connect(lambda checked=False, i=call: window.open_as_nodes(i))
        self.context_menu = menu            # tests look at it
        self.exec_menu(menu, self.tree.viewport().mapToGlobal(point))

    def exec_menu(self, menu, position):
        """Show the context menu (blocking; tests replace this)."""
        menu.exec(position)

    def _on_double_click(self, item, column):
        call, vertex = item.data(0, ROLE_KEY) or (None, None)
        record = self.model.calls.call(call) if call is not None else None
        check = record.leaf_check(vertex) if record is not None and vertex is not None else None
        if check is not None and check.formula:
            self.show_formula(record, check)

    def show_formula(self, record, check) -> FormulaWindow:
        root = record.data.root.name or ""
        window = FormulaWindow(self, f"∂{root}/∂{check.name} — #{record.index} {record.title()}",
                               leaf_formulas(check, whole=True), legend_html(check))
        self.formula_windows = [w for w in self.formula_windows if w.isVisible()] + [window]
        window.show()
        return window

    def _on_hessian_requested(self, key):
        call, vertex = key or (None, None)
        record = self.model.calls.call(call) if call is not None else None
        check = record.leaf_check(vertex) if record is not None else None
        if check is not None:
            self.show_hessian(record, check)

    def show_hessian(self, record, check):
        """The leaf's Hessian, matrix form beside autograd.functional.hessian (asked of the kernel)."""
        from .hessian_view import HessianDialog
        dialog = HessianDialog(record, check, self.runner, self)
        self.hessian_dialogs = [d for d in self.hessian_dialogs if d.isVisible()] + [dialog]
        dialog.show()
        return dialog

    def _copy(self, text):
        if text:
            QGuiApplication.clipboard().setText(text)

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._update_fonts()
            self._tints.clear()
            self.delegate.forget_layouts()
            self._heights_stale = True
            self._described.clear()              # the colours changed: every row again
            for index in list(self.sections):
                self._refresh_call(index)
