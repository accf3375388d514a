"""One backward call's graph as the panel shows it — the scene's model.

A :class:`GraphDocument` holds the recorded vertices (the model's node dicts,
read-only), the repetitive chains found in them (:func:`gradstudio.studio.figures.layout.find_groups`)
and the module calls recorded with them (``Linear(3→1)``, nested), which groups are expanded, the computed layout, and the positions the user
dragged nodes to. It changes only through its setters, which the undo
commands (:mod:`.commands`) call; it announces each change by a signal and
the scene follows. It knows nothing of items or widgets. A new document
takes the layout of one shown before when it lays out the same vertices at
the same sizes (a re-run cell's new call), so the scene can keep its items.
Each document owns
its undo history (``undo_stack``): an edit made while one call's graph is
shown is undone only there, however often the panel switches calls.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from gradstudio.studio.figures import layout as graph_layout

LAYER_GAP = 48.0
NODE_GAP = 14.0


class GraphDocument(QObject):
    layoutChanged = Signal()           # shown vertices or their layout changed: rebuild
    positionsChanged = Signal(object)  # {visible id: (x, y)}: move these

    def __init__(self, record, measure, parent=None, *, like: "GraphDocument | None" = None):
        """``record``: the model's CallRecord; ``measure(document, vertex) -> (w, h)``.
        ``like``: a document shown before (a re-run's previous call): when the vertices
        to lay out and their sizes are the same, its layout is this one's too (laying
        out is most of a new document's cost; a layout is never changed once made)."""
        super().__init__(parent)
        self.call = record.index
        self.record = record
        self.nodes = {n.id: n for n in record.nodes}
        self.vertices = graph_layout.vertices_from_graph(record.graph)
        modules = graph_layout.module_groups(self.vertices, getattr(record.data, "groups", ()))
        self.groups = graph_layout.nested(graph_layout.find_groups(self.vertices), modules) + modules
        self.group_by_id = {g.id: g for g in self.groups}
        self.expanded: set = {g.id for g in modules}     # module calls start open (a frame each)
        self.levels = _levels(modules)
        self.overrides: dict = {}      # visible id -> (x, y) the user put it at
        self.measure = measure
        self.shown: list = []
        self.owner: dict = {}
        self.layout = graph_layout.Layout()
        self.undo_stack = QUndoStack(self)
        self._laid_out = None          # (what was laid out: shown vertices and sizes, the layout)
        self._relayout(like)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def root(self):
        graph = self.record.graph
        return graph.root if graph else None

    def visible_id(self, node_id):
        """The id of what shows ``node_id``: itself, or the collapsed group holding it."""
        return self.owner.get(node_id, node_id)

    def position(self, visible_id) -> tuple:
        return self.overrides.get(visible_id) or self.layout.positions[visible_id]

    def is_moved(self, visible_id) -> bool:
        return visible_id in self.overrides

    def expanded_groups(self) -> list:
        return [g for g in self.groups if g.id in self.expanded]

    def is_group(self, visible_id) -> bool:
        return visible_id in self.group_by_id

    def chains(self) -> list:
        return [g for g in self.groups if g.kind == "chain"]

    def modules(self) -> list:
        return [g for g in self.groups if g.kind == "module"]

    def is_hidden(self, group) -> bool:
        """Inside a collapsed group (so neither its node nor its frame is drawn)."""
        holder = self.owner.get(group.last)
        return holder is not None and holder != group.id

    # -- changing (the undo commands call these) ----------------------------------------------------
    def set_positions(self, positions: dict):
        """``{visible id: (x, y) or None}``; None puts a vertex back where the layout had it."""
        moved = {}
        for vid, pos in positions.items():
            if vid not in self.layout.positions:
                continue
            if pos is None:
                self.overrides.pop(vid, None)
            else:
                self.overrides[vid] = (float(pos[0]), float(pos[1]))
            moved[vid] = self.position(vid)
        if moved:
            self.positionsChanged.emit(moved)

    def set_overrides(self, overrides: dict):
        """Replace every dragged position at once (reset, or undoing a reset)."""
        old = dict(self.overrides)
        self.overrides = {k: v for k, v in overrides.items() if k in self.layout.positions}
        changed = {k: self.position(k) for k in set(old) | set(self.overrides) if k in self.layout.positions}
        if changed:
            self.positionsChanged.emit(changed)

    def set_expanded(self, expanded: set):
        expanded = {g for g in expanded if g in self.group_by_id}
        if expanded != self.expanded:
            self.expanded = expanded
            self._relayout()
            self.layoutChanged.emit()

    def _relayout(self, like: "GraphDocument | None" = None):
        self.shown, self.owner = graph_layout.collapse(self.vertices, self.groups, self.expanded)
        sizes = {v.id: self.measure(self, v) for v in self.shown}
        what = (tuple(self.shown), tuple(sizes.values()))
        before = like._laid_out if like is not None else None
        if before is not None and before[0] == what:
            self.layout = before[1]
        else:
            self.layout = graph_layout.layout(self.shown, sizes, layer_gap=LAYER_GAP, node_gap=NODE_GAP)
        self._laid_out = (what, self.layout)
        self.overrides = {k: v for k, v in self.overrides.items() if k in self.layout.positions}


def _levels(modules: list) -> dict:
    """``{group id: how many levels of module calls lie inside it}`` (0: none) — the
    frame of a call is drawn that much wider than the frames inside it."""
    holding: dict = {}                     # vertex -> the module groups holding it
    for group in modules:
        for m in group.members:
            holding.setdefault(m, []).append(group)
    levels = {g.id: 0 for g in modules}
    for group in sorted(modules, key=lambda g: len(g.members)):        # inner calls first
        size = len(group.members)
        around = [g for g in holding[group.last] if len(g.members) > size]
        if around:
            parent = min(around, key=lambda g: len(g.members))
            levels[parent.id] = max(levels[parent.id], levels[group.id] + 1)
    return levels
