"""Every edit of a design as one ``QUndoCommand`` (Orange canvas's ``document/commands.py``).

A command wraps the design's own methods: ``apply`` makes the edit and keeps what
its pair needs, ``revert`` calls that pair (``remove_node`` ↔ ``restore_node``,
``connect`` ↔ ``disconnect``/``reconnect``, ``change_node`` with the previous
values …), so undo restores the document exactly without rebuilding it.

:meth:`EditorDocument.push <gradstudio.ui.editor.document.EditorDocument.push>`
applies a command before handing it to the stack, so a refused edit (a
:class:`~gradstudio.studio.design.DesignError`) never reaches the stack; the
stack's first ``redo`` is then skipped. A :class:`Compound` is several edits as
one step (a paste, an insertion on a wire, an auto-layout); :class:`RemoveNode`
is a compound of one :class:`Disconnect` per link, then the node (the steps are
kept in a Python list, not as Qt child commands: the stack deletes its commands
itself, and Qt-owned children under Python references crash at garbage collection).
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from gradstudio.studio.design import Link


class DesignCommand(QUndoCommand):
    def __init__(self, design, text: str, parent=None):
        super().__init__(text, parent)
        self.design = design
        self.applied = False          # set by push: the edit is made, the stack's first redo is not

    def redo(self):
        if self.applied:
            self.applied = False
            return
        self.apply()

    def undo(self):
        self.revert()

    def apply(self):
        raise NotImplementedError

    def revert(self):
        raise NotImplementedError


class AddNode(DesignCommand):
    def __init__(self, design, kind: str, fields: dict, parent=None):
        label = fields.get("op") or kind
        super().__init__(design, f"Add {label}", parent)
        self.kind, self.fields, self.node_id = kind, dict(fields), None

    def apply(self):
        self.node_id = self.design.add_node(self.kind, id=self.node_id, **self.fields)

    def revert(self):
        self.design.remove_node(self.node_id)


class Connect(DesignCommand):
    def __init__(self, design, src: str, dst: str, slot: int, parent=None):
        super().__init__(design, "Connect", parent)
        self.link = Link(src, dst, slot)
        self.replaced = self.replaced_index = None

    def apply(self):
        old = next((l for l in self.design.links if l.dst == self.link.dst and l.slot == self.link.slot), None)
        self.replaced_index = self.design.links.index(old) if old is not None else None
        self.replaced = self.design.connect(self.link.src, self.link.dst, self.link.slot)

    def revert(self):
        self.design.disconnect(self.link)
        if self.replaced is not None:
            self.design.reconnect(self.replaced, self.replaced_index)


class Disconnect(DesignCommand):
    def __init__(self, design, link: Link, parent=None):
        super().__init__(design, "Remove link", parent)
        self.link, self.index = link, None

    def apply(self):
        self.index = self.design.disconnect(self.link)

    def revert(self):
        self.design.reconnect(self.link, self.index)


class ChangeNode(DesignCommand):
    def __init__(self, design, node_id: str, changes: dict, text: str = "Change node", parent=None):
        super().__init__(design, text, parent)
        self.node_id, self.changes, self.previous = node_id, dict(changes), None

    def apply(self):
        self.previous = self.design.change_node(self.node_id, **self.changes)

    def revert(self):
        self.design.change_node(self.node_id, **self.previous)


class MoveNodes(DesignCommand):
    """``moves``: ``{node id: (old position, new position)}``."""

    def __init__(self, design, moves: dict, parent=None):
        count = len(moves)
        super().__init__(design, "Move node" if count == 1 else f"Move {count} nodes", parent)
        self.moves = dict(moves)

    def apply(self):
        for node_id, (old, new) in self.moves.items():
            self.design.move_node(node_id, new)

    def revert(self):
        for node_id, (old, new) in self.moves.items():
            self.design.move_node(node_id, old)


class SetRoot(DesignCommand):
    def __init__(self, design, node_id, parent=None):
        super().__init__(design, "Set the root", parent)
        self.node_id, self.previous = node_id, None

    def apply(self):
        self.previous = self.design.set_root(self.node_id)

    def revert(self):
        self.design.set_root(self.previous)


class SetGroup(DesignCommand):
    def __init__(self, design, name: str, members, parent=None):
        super().__init__(design, f"Group {name}" if members else f"Ungroup {name}", parent)
        self.name, self.members, self.previous = name, tuple(members), None

    def apply(self):
        self.previous = self.design.set_group(self.name, self.members)

    def revert(self):
        self.design.set_group(self.name, self.previous or ())


class SetCollapsed(DesignCommand):
    def __init__(self, design, name: str, collapsed: bool, parent=None):
        super().__init__(design, f"{'Collapse' if collapsed else 'Expand'} {name}", parent)
        self.name, self.collapsed, self.previous = name, collapsed, None

    def apply(self):
        self.previous = self.design.set_collapsed(self.name, self.collapsed)

    def revert(self):
        self.design.set_collapsed(self.name, self.previous)


class _RemoveBareNode(DesignCommand):
    """The node itself, once :class:`RemoveNode` has taken its links."""

    def __init__(self, design, node_id: str, parent=None):
        super().__init__(design, "Remove node", parent)
        self.node_id, self.removed = node_id, None

    def apply(self):
        self.removed = self.design.remove_node(self.node_id)

    def revert(self):
        self.design.restore_node(self.removed)


class Compound(DesignCommand):
    """Several edits as one undo step. :meth:`run` makes each edit as it is added;
    if one is refused, those already made are undone and the error goes on."""

    def __init__(self, design, text: str, parent=None):
        super().__init__(design, text, parent)
        self.steps: list = []
        self.built = False

    def run(self, step: DesignCommand) -> DesignCommand:
        try:
            step.apply()
        except Exception:
            self.revert()
            self.steps.clear()
            raise
        self.steps.append(step)
        return step

    def build(self):
        """Make the edits with :meth:`run` (subclasses); the default has none."""

    def apply(self):
        if not self.built:
            self.build()
            self.built = True
            return
        for step in self.steps:
            step.apply()

    def revert(self):
        for step in reversed(self.steps):
            step.revert()


class RemoveNode(Compound):
    """Its links first (one :class:`Disconnect` each, last link first so undo puts each
    back at its place), then the node."""

    def __init__(self, design, node_id: str, parent=None):
        super().__init__(design, f"Remove {design.describe(node_id)}", parent)
        self.node_id = node_id

    def build(self):
        for link in reversed([l for l in self.design.links if self.node_id in (l.src, l.dst)]):
            self.run(Disconnect(self.design, link))
        self.run(_RemoveBareNode(self.design, self.node_id))
