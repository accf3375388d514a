"""The Graph panel: the recorded autograd graph of one backward call.

A combo box picks the call (it follows the newest unless another was
picked); the canvas (``gradstudio.ui.graph``) shows its vertices left to
right — leaves named after their variables, ops by grad_fn name and symbol,
constants small, the root marked — coloured by the gradient that reached
them, with a legend. Long repetitive chains are collapsed into one group;
each ``nn.Module`` call is a group too (``model.0 · Linear(3→1)``), drawn as
an outline around its nodes, nested inside the calls around it, until it is
collapsed into one node; double-click expands or collapses a group. Hover for value and gradient; click a
node to select it everywhere; a selection made elsewhere is highlighted and
centred here. Dragging nodes and expanding groups are undo commands
(Ctrl+Z / Ctrl+Shift+Z in the panel), kept per call: every document has its
own stack, and a ``QUndoGroup`` makes the shown document's stack the one the
Undo/Redo actions act on.
"""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QMenu, QSizePolicy, QSplitter,
                               QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from ..graph import text as labels
from ..graph.commands import MoveNodesCommand, ResetPositionsCommand, SetExpandedCommand
from ..graph.document import GraphDocument
from ..graph.legend import GradLegend
from ..graph.scene import GraphScene
from ..graph.view import MIN_ZOOM, GraphView
from .step_view import StepView
from .. import theme
from ..widgets.echo import EchoGuard

MIN_FIT_ZOOM = 0.6         # "fit" never shrinks text below this; a bigger graph is shown around its root
EMPTY_TEXT = "Run a cell that calls backward(): its computation graph appears here."


def error_notice(record) -> str:
    """The banner over a failed backward call's graph: the error, and what the colours
    are — the gradients that reached some nodes before it stopped, or none (the
    colouring and the legend come from the same ``grad_norm`` values)."""
    error = (record.data.error or "").rstrip().rstrip(".")
    text = f"This backward() raised — {record.data.error_type or 'Error'}: {error}."
    nodes = record.data.nodes
    reached = [n for n in nodes if n.grad_norm is not None]
    if not reached:
        return f"{text} Shown: the graph it was called on; no gradient reached any node."
    leaves = [n for n in nodes if n.kind == "leaf"]
    leaves_reached = [n for n in reached if n.kind == "leaf"]
    where = (f"{len(reached)} of {len(nodes)} nodes" if len(reached) < len(nodes) else "every node")
    leaf_note = ("" if not leaves or leaves_reached else
                 " — no leaf got one, so no .grad changed" if len(leaves) > 1 else
                 " — the leaf got none, so its .grad did not change")
    return (f"{text} Coloured: the gradients that reached {where} before it stopped{leaf_note}.")


class GraphPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.model = context.model
        self.runner = context.runner
        self._main_window = getattr(context, "window", None)    # for "Open as nodes"
        self.undo_group = QUndoGroup(self)   # the active stack is the shown document's
        self.documents: dict = {}            # call index -> GraphDocument
        self.document: GraphDocument | None = None
        self.follow_latest = True
        self._syncing = EchoGuard()
        self._clicking = EchoGuard()          # a click here selected it: do not scroll to it
        self._wanted_call = None              # a call to show once it arrives (restored view state)
        self._restored_zoom = None            # the zoom to show it at

        self.calls = QComboBox()
        self.calls.setToolTip("Which backward call's graph to show (the newest by default)")
        self.calls.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.calls.setMinimumContentsLength(22)
        self.calls.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.legend = GradLegend()
        self.scene = GraphScene(self.palette(), self.font(), self)
        self.view = GraphView(self.scene)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.viewport()       # PySide6 builds ~80 enum types on the first call (30 ms): not mid-run
        self.placeholder = QLabel(EMPTY_TEXT)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.hide()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)

        self.actions = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.calls, 1)          # the call's title gets the toolbar's spare width
        for name, text, tip, slot, keys in (
                ("zoom_out", "−", "Zoom out (−, Ctrl+wheel)", self.view.zoom_out, ["-"]),
                ("zoom_in", "+", "Zoom in (+, Ctrl+wheel)", self.view.zoom_in, ["+", "="]),
                ("fit", "Fit", "Show the whole graph (F)", self.fit, ["F"]),
                ("expand_all", "Expand", "Expand every collapsed chain and module call", self.expand_all, []),
                ("collapse_all", "Collapse", "Collapse repetitive chains and module calls into group nodes",
                 self.collapse_all, []),
                ("reset_layout", "Reset", "Put dragged nodes back where the layout had them",
                 self.reset_layout, [])):
            action = self._action(name, text, tip, slot, keys)
            button = QToolButton()
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            bar.addWidget(button)
        stack = self.undo_group
        for name, text, slot, keys, can, changed in (
                ("undo", "↶", stack.undo, QKeySequence.keyBindings(QKeySequence.StandardKey.Undo),
                 stack.canUndoChanged, stack.undoTextChanged),
                ("redo", "↷", stack.redo, QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
                 + [QKeySequence("Ctrl+Shift+Z")], stack.canRedoChanged, stack.redoTextChanged)):
            action = QAction(text, self)
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setEnabled(False)
            action.triggered.connect(slot)
            can.connect(action.setEnabled)
            changed.connect(lambda what, a=action, n=name.capitalize(): a.setToolTip(
                f"{n} {what} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})" if what else n))
            action.setToolTip(name.capitalize())
            self.addAction(action)
            self.actions[name] = action
            button = QToolButton()
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            bar.addWidget(button)
        self.info = QLabel()
        self.info.setToolTip("What the graph shows")
        footer = QHBoxLayout()
        footer.setContentsMargins(6, 2, 6, 2)
        footer.addWidget(self.legend)
        footer.addStretch(1)
        footer.addWidget(self.info)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.notice)
        # the step-through of the shown call sits beside the graph (ui/panels/step_view.py)
        self.step_view = StepView(self.scene, context.runner, self.model, self)
        self.step_view.add_shortcuts_to(self)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.stack)
        self.split.addWidget(self.step_view)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setCollapsible(0, False)
        self.step_view.hide()                 # opened by its toolbar button or a step key (F10, F5)
        # (its check state says whether the side panel shows: ``triggered`` would call setVisible
        # without it — PySide picks the signal's no-argument form for a C++ slot)
        step = self._action("step_through", "Step", "Step through backward(): the pass node by node "
                            "(F10 step, Shift+F10 back, F5 play)", None, [])
        step.setCheckable(True)
        step.toggled.connect(self.step_view.setVisible)
        self.step_view.shownChanged.connect(step.setChecked)
        button = QToolButton()
        button.setDefaultAction(step)
        button.setAutoRaise(True)
        bar.insertWidget(1, button)
        layout.addWidget(self.split, 1)
        layout.addLayout(footer)

        self._pending = QTimer(self)          # coalesces a burst of new calls into one rebuild
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self._show_pending)
        self._pending_call = None

        self.calls.currentIndexChanged.connect(self._on_call_picked)
        self.undo_group.indexChanged.connect(self._on_undo_index_changed)
        self.scene.nodeClicked.connect(self._on_node_clicked)
        self.scene.nodesDragged.connect(self._on_nodes_dragged)
        self.scene.groupActivated.connect(self._on_group_activated)
        self.view.customContextMenuRequested.connect(self._context_menu)
        m = self.model
        m.calls.callAdded.connect(self._on_call_added)
        m.calls.callChecked.connect(self._on_call_checked)
        m.calls.callStepsArrived.connect(self._on_call_steps)
        m.calls.callRemoved.connect(self._on_call_removed)
        m.calls.callsCleared.connect(self._on_calls_cleared)
        m.script.documentReplaced.connect(self._on_document_replaced)
        m.selection.selectionChanged.connect(self._on_selection_changed)
        for record in m.calls.call_list():
            self._on_call_added(record.index)
        self._update_actions()

    def _action(self, name, text, tip, slot, keys) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        self.actions[name] = action
        return action

    # -- the panel protocol ----------------------------------------------------------------------
    def is_busy(self) -> bool:
        return self._pending.isActive()

    def view_state(self) -> dict:
        # a design's live call is a view of the design (its index is not the file's): not kept
        record = self.model.calls.call(self.document.call) if self.document is not None else None
        return {"zoom": round(self.view.zoom(), 4), "follow_latest": self.follow_latest,
                "call": record.index if record is not None and record.design is None else None}

    def restore_view_state(self, state: dict):
        zoom = state.get("zoom")
        self._restored_zoom = float(zoom) if isinstance(zoom, (int, float)) and zoom > 0 else None
        self.follow_latest = bool(state.get("follow_latest", True))
        call = state.get("call")
        if isinstance(call, int) and not self.follow_latest and self.model.calls.call(call) is None:
            self._wanted_call = call            # shown when it arrives (projects open without running)
        elif isinstance(call, int) and self.model.calls.call(call) is not None:
            self.show_call(call)
        elif self._restored_zoom is not None:
            self.view.set_zoom(self._restored_zoom)

    # -- model → view --------------------------------------------------------------------------------
    def _on_call_added(self, index: int):
        record = self.model.calls.call(index)
        if record is None:
            return
        old = self.calls.findData(record.replaces) if record.replaces is not None else -1
        with self._syncing:
            if old >= 0:                 # a design's new live call: in its previous call's place
                self.calls.insertItem(old, self._call_title(record), index)
            else:
                self.calls.addItem(self._call_title(record), index)
        if self._wanted_call == index or (self.follow_latest and self._wanted_call is None):
            self._wanted_call = None
            self._pending_call = index
            self._pending.start()

    def _on_call_removed(self, index: int, replacement=None):
        """A design's replaced live call: its entry and document go. Shown, it is followed
        by its replacement (the step-through starts again on it and says why)."""
        shown = self.document is not None and self.document.call == index
        if self._pending_call == index:
            self._pending_call = replacement
        with self._syncing:
            combo_index = self.calls.findData(index)
            if combo_index >= 0:
                self.calls.removeItem(combo_index)
        document = self.documents.pop(index, None)
        if shown:
            if replacement is not None and self.model.calls.call(replacement) is not None:
                self.show_call(replacement, fit=False)
            else:
                self._set_document(None)
                self.step_view.set_record(None)
                self._show_empty(EMPTY_TEXT)
        if document is not None:
            self.undo_group.removeStack(document.undo_stack)
            document.deleteLater()

    @staticmethod
    def _call_title(record) -> str:
        grad_fn = record.data.root.grad_fn
        failed = "  (raised)" if record.status == "error" else ""
        return f"#{record.index}  {record.title()}{'  · ' + grad_fn if grad_fn else ''}{failed}"

    def _show_pending(self):
        """A new call: its document (groups, layout) in one turn of the event loop,
        its items in the next, so a big graph never holds the window up for long."""
        call = self._pending_call
        if call is None:
            return
        record = self.model.calls.call(call)
        if record is not None and call not in self.documents and record.graph and record.graph.nodes:
            self._new_document(record)
            self._pending.start()
            return
        self._pending_call = None
        self.show_call(call)

    def _on_call_checked(self, index: int):
        if self.document is not None and self.document.call == index:
            for item in self.scene.node_items.values():    # leaf tooltips now carry the formula
                if item.kind == "leaf":
                    node = self.document.nodes[item.vid]
                    item.set_tooltip_source(lambda n=node: labels.node_tooltip(n, self.scene.leaf_check(n)))

    def _on_call_steps(self, index: int):
        """A deferred call's step trace came (with its check): step through it."""
        if self.document is not None and self.document.call == index:
            self.step_view.steps_came(self.model.calls.call(index))

    def _on_document_replaced(self):
        """Another file (or New): nothing of the previous file's view carries over; a
        project's own view state is restored right after this."""
        self._restored_zoom = None
        self._wanted_call = None
        self.follow_latest = True
        self.view.resetTransform()
        self.view.auto_fit = False

    def _on_calls_cleared(self):
        self.notice.hide()
        self.notice.clear()
        self._pending.stop()
        self._pending_call = None
        self._set_document(None)
        self.step_view.set_record(None)
        self._forget_documents()
        with self._syncing:
            self.calls.clear()
        self.follow_latest = True
        self._show_empty(EMPTY_TEXT)

    def _on_selection_changed(self, selection):
        if selection.call is None or selection.node is None:
            self.scene.set_highlight(None)
            return
        if self.document is None or self.document.call != selection.call:
            if self.model.calls.call(selection.call) is None:
                return
            self.show_call(selection.call, fit=True)
        if self.document is None:
            return
        item = self.scene.set_highlight(self.document.visible_id(selection.node))
        if item is not None and not self._clicking:
            self._reveal(item)

    def _reveal(self, item):
        """Centre ``item`` unless it is already in full view (a small graph stays put)."""
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        if not visible.contains(item.sceneBoundingRect()):
            self.view.centerOn(item)

    # -- showing a call -----------------------------------------------------------------------------
    def show_call(self, index: int, *, fit: bool = True):
        """Show backward call ``index`` (building its document the first time). A design's
        new live call replacing the one shown keeps the step-through at its step."""
        self._pending.stop()
        self._pending_call = None
        record = self.model.calls.call(index)
        if record is None:
            return
        replacing = self.document is not None and record.replaces == self.document.call
        position = self.step_view.position if replacing and self.step_view.stepper is not None else -1
        combo_index = self.calls.findData(index)
        if combo_index >= 0 and combo_index != self.calls.currentIndex():
            with self._syncing:
                self.calls.setCurrentIndex(combo_index)
        if record.status == "error":
            self.notice.setText(error_notice(record))
            self.notice.setStyleSheet(f"color: {theme.colors(self.palette())['error']}; padding: 2px 6px;")
            self.notice.show()
        else:
            self.notice.hide()
        if not record.graph or not record.graph.nodes:
            reason = record.data.graph_error or "no graph was recorded for this call"
            self._set_document(None)
            self.legend.set_scale(None)
            self._show_empty(f"#{index} {record.title()}: {reason}")
            self.step_view.set_record(None)
            self._update_actions()
            return
        document = self.documents.get(index) or self._new_document(record)
        self._set_document(document)
        self.legend.set_scale(self.scene.scale)
        self.stack.setCurrentWidget(self.view)
        if self._restored_zoom is not None:
            self.view.set_zoom(self._restored_zoom)
            self._restored_zoom = None
            self.view.auto_fit = False
        elif fit:
            self._fit(readable=True)
        selection = self.model.selection.current
        if selection.call == index and selection.node is not None:
            self.scene.set_highlight(document.visible_id(selection.node))
        if position >= 0:
            self.step_view.continue_on(record, position)
        elif self.step_view.record is not record:
            self.step_view.set_record(record)
        self._update_actions()

    @property
    def undo_stack(self):
        """The shown document's undo stack (None when no graph is shown)."""
        return self.undo_group.activeStack()

    def _new_document(self, record) -> GraphDocument:
        # like the one shown: a re-run cell's call takes its layout, and the scene its items
        document = GraphDocument(record, self.scene.measure, self, like=self.document)
        self.documents[record.index] = document
        self.undo_group.addStack(document.undo_stack)
        return document

    def _set_document(self, document: GraphDocument | None):
        """Show ``document`` (or nothing); Undo/Redo now act on its history."""
        self.document = document
        self.scene.set_document(document)
        self.undo_group.setActiveStack(document.undo_stack if document is not None else None)

    def _forget_documents(self):
        for document in self.documents.values():
            self.undo_group.removeStack(document.undo_stack)
            document.deleteLater()
        self.documents.clear()

    def _show_empty(self, text: str):
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        self.legend.set_scale(None)
        self._update_actions()

    def _on_call_picked(self, combo_index: int):
        if self._syncing or combo_index < 0:
            return
        index = self.calls.itemData(combo_index)
        self.follow_latest = combo_index == self.calls.count() - 1
        self.show_call(index)
        lazy = getattr(self.runner, "lazy_checks", None)
        if lazy is not None:             # looked at: a loop's deferred call gets its check and steps
            lazy.want(index)

    def fit(self):
        """The Fit action (F): the whole graph, however small that makes it."""
        self._fit(readable=False)

    def _fit(self, *, readable: bool):
        """``readable``: everything if it is readable, otherwise as much as is readable
        around the root (what a newly shown call gets); else everything."""
        if self.document is None:
            return
        root = self.scene.node_items.get(self.document.visible_id(self.document.root))
        self.view.fit(min_zoom=MIN_FIT_ZOOM if readable else MIN_ZOOM,
                      focus=root.pos() if root is not None else None)

    def _on_undo_index_changed(self, index: int):
        # a stack with commands clears itself (and says so) while the panel is being deleted
        if shiboken6.isValid(self.info):
            self._update_actions()

    def _update_actions(self):
        doc = self.document
        has_groups = doc is not None and bool(doc.groups)
        self.actions["expand_all"].setEnabled(has_groups and len(doc.expanded) < len(doc.groups))
        self.actions["collapse_all"].setEnabled(has_groups and bool(doc.expanded))
        self.actions["reset_layout"].setEnabled(doc is not None and bool(doc.overrides))
        for name in ("zoom_in", "zoom_out", "fit"):
            self.actions[name].setEnabled(doc is not None)
        self.info.setText(self.info_text())

    def info_text(self) -> str:
        doc = self.document
        if doc is None:
            return ""
        parts = [f"{len(doc.vertices)} nodes"]
        for groups, one, many in ((doc.chains(), "chain", "chains"), (doc.modules(), "module call", "module calls")):
            if not groups:
                continue
            collapsed = [g for g in groups if g.id not in doc.expanded]
            hidden = sum(len(g.members) for g in collapsed if not doc.is_hidden(g))
            noun = one if len(groups) == 1 else many
            parts.append(f"{len(collapsed)} of {len(groups)} {noun} collapsed ({hidden} nodes hidden)"
                         if collapsed else f"{len(groups)} {noun} expanded")
        return " · ".join(parts)

    # -- view → model / commands ------------------------------------------------------------------
    def _on_node_clicked(self, vid):
        doc = self.document
        if doc is None:
            return
        group = doc.group_by_id.get(vid)
        node = group.last if group is not None else vid
        with self._clicking:
            self.model.selection.select(call=doc.call, node=node)
        self.scene.set_highlight(vid)

    def _on_nodes_dragged(self, moves: dict):
        if self.document is not None:
            self.document.undo_stack.push(MoveNodesCommand(self.document, moves))
            self._update_actions()

    def _on_group_activated(self, gid: str, expand: bool):
        doc = self.document
        if doc is None or gid not in doc.group_by_id:
            return
        label = doc.group_by_id[gid].label
        expanded = set(doc.expanded) | {gid} if expand else set(doc.expanded) - {gid}
        self._push_expanded(expanded, f"{'Expand' if expand else 'Collapse'} {label}")

    def expand_all(self):
        if self.document is not None and self.document.groups:
            self._push_expanded({g.id for g in self.document.groups}, "Expand all groups")

    def collapse_all(self):
        if self.document is not None and self.document.expanded:
            self._push_expanded(set(), "Collapse all groups")

    def reset_layout(self):
        if self.document is not None and self.document.overrides:
            self.document.undo_stack.push(ResetPositionsCommand(self.document))
            self._update_actions()

    def _push_expanded(self, expanded: set, text: str):
        doc = self.document
        if expanded == doc.expanded:
            return
        doc.undo_stack.push(SetExpandedCommand(doc, expanded, text))
        self.legend.set_scale(self.scene.scale)
        selection = self.model.selection.current
        if selection.call == doc.call and selection.node is not None:
            item = self.scene.set_highlight(doc.visible_id(selection.node))
            if item is not None:
                self._reveal(item)
        self._update_actions()

    def _context_menu(self, point):
        menu = QMenu(self)
        doc = self.document
        if doc is not None:
            pos = self.view.mapToScene(point)
            item = self.scene.node_at(pos)
            if item is not None and item.kind == "group":
                action = menu.addAction(f"Expand {doc.group_by_id[item.vid].label}")
                action.triggered.connect(lambda checked=False, g=item.vid: self._on_group_activated(g, True))
            else:
                vid = item.vid if item is not None else None
                frame = self.scene.frame_at(pos)
                owners = sorted((g for g in doc.expanded_groups() if vid in g.members),
                                key=lambda g: len(g.members))       # the innermost first
                gid = owners[0].id if owners else (frame.gid if frame is not None else None)
                if gid is not None:
                    action = menu.addAction(f"Collapse {doc.group_by_id[gid].label}")
                    action.triggered.connect(lambda checked=False, g=gid: self._on_group_activated(g, False))
            if not menu.isEmpty():
                menu.addSeparator()
        for name in ("fit", "zoom_in", "zoom_out", "expand_all", "collapse_all", "reset_layout", "undo", "redo"):
            menu.addAction(self.actions[name])
        window = self._main_window
        if doc is not None and hasattr(window, "open_as_nodes"):    # the call as an editable design
            menu.addSeparator()
            menu.addAction("Open as nodes", lambda c=doc.call: window.open_as_nodes(c))
        self.context_menu = menu            # tests look at it
        menu.popup(self.view.viewport().mapToGlobal(point))

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self.scene.apply_palette(self.palette(), self.font())
            self.legend.update()
        if event.type() == QEvent.Type.FontChange and self.document is not None:
            # node sizes follow the font: lay out afresh (the undo history refers to old documents)
            call = self.document.call
            self._set_document(None)
            self._forget_documents()
            self.show_call(call)
