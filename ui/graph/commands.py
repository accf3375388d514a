"""User edits of the graph as undoable commands (``QUndoCommand``).

Each command holds what it needs to go both ways and acts on a
:class:`~.document.GraphDocument` through its setters; the scene follows the
document's signals, so undo and redo redraw the same way an edit does.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand


class MoveNodesCommand(QUndoCommand):
    """Nodes dragged from ``old`` to ``new`` positions: ``{id: ((x, y) | None, (x, y))}``
    (None: it was where the layout put it)."""

    def __init__(self, document, moves: dict, parent=None):
        count = len(moves)
        super().__init__(f"Move {'node' if count == 1 else f'{count} nodes'}", parent)
        self.document = document
        self.moves = dict(moves)

    def redo(self):
        self.document.set_positions({k: new for k, (old, new) in self.moves.items()})

    def undo(self):
        self.document.set_positions({k: old for k, (old, new) in self.moves.items()})


class SetExpandedCommand(QUndoCommand):
    """Expand or collapse groups. The layout is computed afresh, so dragged
    positions are dropped (and come back on undo)."""

    def __init__(self, document, expanded: set, text: str, parent=None):
        super().__init__(text, parent)
        self.document = document
        self.before = set(document.expanded)
        self.after = set(expanded)
        self.overrides = dict(document.overrides)

    def redo(self):
        self.document.set_expanded(self.after)
        self.document.set_overrides({})

    def undo(self):
        self.document.set_expanded(self.before)
        self.document.set_overrides(self.overrides)


class ResetPositionsCommand(QUndoCommand):
    """Put every dragged node back where the layout has it."""

    def __init__(self, document, parent=None):
        super().__init__("Reset layout", parent)
        self.document = document
        self.overrides = dict(document.overrides)

    def redo(self):
        self.document.set_overrides({})

    def undo(self):
        self.document.set_overrides(self.overrides)
