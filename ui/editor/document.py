"""One editor document: a design, its own undo stack, and the gestures as methods.

Every method here builds a command (:mod:`.commands`) and pushes it; the design
refuses what it must (the message comes back as the method's result, for the
view to show on the node or wire) and a refused edit leaves no step on the
stack. One stack per document, so Ctrl+Z only ever edits the design in view.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from gradstudio.studio import design as design_module
from gradstudio.studio.design import Design, DesignError, Link
from gradstudio.studio.figures import layout as layout_module

from . import clipboard, commands

NODE_SIZE = (150.0, 64.0)       # what auto-layout reserves per node


class EditorDocument(QObject):
    """Signal ``edited()`` after every change of the design other than a move
    (what live evaluation listens to); ``moved()`` after moves."""

    edited = Signal()
    moved = Signal()

    def __init__(self, design: Design | None = None, parent=None):
        super().__init__(parent)
        self.design = design or Design()
        self.undo_stack = QUndoStack(self)
        self.design.listeners.append(self._on_event)

    def _on_event(self, event):
        if event.kind == "node_moved":
            self.moved.emit()
        elif event.kind == "shapes_changed" or event.kind == "group_changed":
            self.edited.emit()

    # -- pushing ----------------------------------------------------------------------------
    def push(self, command) -> str | None:
        """Make the edit and put it on the stack; the design's refusal, if any, as text."""
        try:
            command.apply()
        except DesignError as error:
            return str(error)
        command.applied = True
        self.undo_stack.push(command)
        return None

    def save(self) -> str:
        return json.dumps(self.design.to_json(), allow_nan=False, separators=(",", ":"))

    # -- gestures ---------------------------------------------------------------------------
    def add_node(self, kind: str, **fields) -> tuple:
        """``(node id or None, error or None)``."""
        command = commands.AddNode(self.design, kind, fields)
        error = self.push(command)
        return (None, error) if error else (command.node_id, None)

    def add_op(self, row, position) -> tuple:
        params = design_module.starting_params(row)
        if params is None:
            return None, f"{row.name} needs a parameter the editor cannot type"
        return self.add_node("op", op=row.id, params=params, position=tuple(position))

    def place(self, key: str, position, *, connect_from: str | None = None, insert: Link | None = None) -> tuple:
        """Place a palette entry (``"leaf"``, ``"const"``, ``"output"`` or ``"op:<row id>"``) at
        ``position``, fed by ``connect_from`` or put into the wire ``insert`` — one step.
        Returns ``(node id, error)``."""
        try:
            kind, fields = _fields_for(key, position)
        except DesignError as error:
            return None, str(error)
        if kind == "leaf":       # a leaf is a variable the person will read about in Compare: name it
            fields["name"] = _free_leaf_name(self.design)
        compound = commands.Compound(self.design, f"Add {fields.get('op') or kind}")
        added = []

        def build():
            added.append(compound.run(commands.AddNode(self.design, kind, fields)).node_id)
            if connect_from is not None:
                compound.run(commands.Connect(self.design, connect_from, added[0], 0))
            if insert is not None:
                _insert_steps(compound, self.design, added[0], insert)
        error = self._push_built(compound, build)
        return (None, error) if error else (added[0], None)

    def connect(self, src: str, dst: str, slot: int) -> str | None:
        return self.push(commands.Connect(self.design, src, dst, slot))

    def disconnect(self, link: Link) -> str | None:
        return self.push(commands.Disconnect(self.design, link))

    def change(self, node_id: str, text: str = "Change node", **changes) -> str | None:
        return self.push(commands.ChangeNode(self.design, node_id, changes, text))

    def set_value(self, node_id: str, text: str) -> str | None:
        return self.change(node_id, "Edit value", value=text)

    def set_param(self, node_id: str, name: str, text: str) -> str | None:
        node = self.design.nodes[node_id]
        param = next(p for p in node.row.params if p.name == name)
        try:
            value = design_module.parse_param(param, text)
        except DesignError as error:
            return str(error)
        return self.change(node_id, f"Edit {name}", params={name: value})

    def toggle_requires_grad(self, node_id: str) -> str | None:
        node = self.design.nodes[node_id]
        if node.kind != "leaf":
            return "only a leaf can require a gradient"
        return self.change(node_id, "Toggle requires_grad", requires_grad=not node.requires_grad)

    def move(self, moves: dict, insert: Link | None = None) -> str | None:
        """Nodes dragged (``{id: (old, new)}``); with ``insert``, the one dragged node
        dropped onto that wire goes into it — one step either way."""
        moves = {k: (tuple(old), tuple(new)) for k, (old, new) in moves.items() if tuple(old) != tuple(new)}
        if not moves:
            return None
        if insert is None:
            return self.push(commands.MoveNodes(self.design, moves))
        (node_id,) = moves
        compound = commands.Compound(self.design, f"Insert {self.design.describe(node_id)}")

        def build():
            compound.run(commands.MoveNodes(self.design, moves))
            _insert_steps(compound, self.design, node_id, insert)
        error = self._push_built(compound, build)
        if error:       # the insertion was refused: the move alone still happens
            self.push(commands.MoveNodes(self.design, moves))
        return error

    def set_root(self, node_id) -> str | None:
        return self.push(commands.SetRoot(self.design, node_id))

    def delete(self, node_ids) -> str | None:
        ids = [n for n in self.design.nodes if n in set(node_ids)]
        if not ids:
            return None
        compound = commands.Compound(self.design, "Delete" if len(ids) > 1 else
                                     f"Delete {self.design.describe(ids[0])}")
        return self._push_built(compound, lambda: [compound.run(commands.RemoveNode(self.design, n))
                                                   for n in ids])

    def delete_link(self, link: Link) -> str | None:
        return self.disconnect(link)

    def insert_on_wire(self, node_id: str, link: Link) -> str | None:
        """Put a node into a wire: ``src → node → dst``, as one step."""
        compound = commands.Compound(self.design, f"Insert {self.design.describe(node_id)}")
        return self._push_built(compound, lambda: _insert_steps(compound, self.design, node_id, link))

    def paste(self, text: str, offset=clipboard.OFFSET) -> tuple:
        """Paste a fragment: ``(new node ids, error)``."""
        try:
            data = clipboard.read_fragment(text)
        except DesignError as error:
            return [], str(error)
        nodes, links = clipboard.paste_plan(self.design, data, offset)
        compound = commands.Compound(self.design, f"Paste {len(nodes)} node{'s' if len(nodes) != 1 else ''}")
        new_ids: dict = {}

        def build():
            for old, kind, fields in nodes:
                step = compound.run(commands.AddNode(self.design, kind, fields))
                new_ids[old] = step.node_id
            for src, dst, slot in links:
                compound.run(commands.Connect(self.design, new_ids[src], new_ids[dst], slot))
        error = self._push_built(compound, build)
        return ([] if error else list(new_ids.values())), error

    def duplicate(self, node_ids) -> tuple:
        return self.paste(clipboard.fragment(self.design, node_ids))

    def group(self, node_ids, name: str | None = None) -> tuple:
        name = name or _free_group_name(self.design)
        return name, self.push(commands.SetGroup(self.design, name, node_ids))

    def ungroup(self, name: str) -> str | None:
        """Dissolve a group (expanded first if it is collapsed: one step either way)."""
        if name not in self.design.collapsed:
            return self.push(commands.SetGroup(self.design, name, ()))
        compound = commands.Compound(self.design, f"Ungroup {name}")
        return self._push_built(compound, lambda: (
            compound.run(commands.SetCollapsed(self.design, name, False)),
            compound.run(commands.SetGroup(self.design, name, ()))))

    def collapse(self, name: str) -> str | None:
        """Draw the group as one node (its name and external ports)."""
        if name in self.design.collapsed:
            return None
        return self.push(commands.SetCollapsed(self.design, name, True))

    def expand(self, name: str) -> str | None:
        if name not in self.design.collapsed:
            return None
        return self.push(commands.SetCollapsed(self.design, name, False))

    def auto_layout(self) -> str | None:
        """Layered layout of the whole design (the Graph panel's, from figures/layout.py)."""
        ids = list(self.design.nodes)
        if not ids:
            return None
        index = {n: i for i, n in enumerate(ids)}
        vertices = []
        for n in ids:
            node = self.design.nodes[n]
            inputs = tuple(index[l.src] for l in self.design.inputs_of(n))
            label = node.row.label if node.kind == "op" else node.kind
            vertices.append(layout_module.Vertex(index[n], inputs, label or "", node.kind, node.name or None))
        placed = layout_module.layout(vertices, {i: NODE_SIZE for i in range(len(ids))}, layer_gap=70.0,
                                      node_gap=30.0)
        moves = {n: (self.design.nodes[n].position, tuple(float(v) for v in placed.positions[index[n]]))
                 for n in ids}
        compound = commands.Compound(self.design, "Auto-layout")
        return self._push_built(compound, lambda: compound.run(commands.MoveNodes(self.design, {
            k: v for k, v in moves.items() if v[0] != v[1]})))

    def _push_built(self, compound, build) -> str | None:
        try:
            build()
        except DesignError as error:
            return str(error)
        compound.built = True
        if not compound.steps:
            return None
        compound.applied = True
        self.undo_stack.push(compound)
        return None


def _insert_steps(compound, design, node_id: str, link: Link):
    if design.nodes[node_id].arity < 1 or design.nodes[node_id].kind == "output":
        raise DesignError(f"{design.describe(node_id)} has no input to put into a wire")
    compound.run(commands.Connect(design, link.src, node_id, 0))
    compound.run(commands.Connect(design, node_id, link.dst, link.slot))


def _fields_for(key: str, position) -> tuple:
    """``(kind, add_node fields)`` for a palette key."""
    position = tuple(float(v) for v in position)
    if key.startswith("op:"):
        row = design_module.op_row(key[3:])
        params = design_module.starting_params(row)
        if params is None:
            raise DesignError(f"{row.name} needs a parameter the editor cannot type")
        return "op", {"op": row.id, "params": params, "position": position}
    if key == "leaf":
        return "leaf", {"value": "ones(2, 2)", "requires_grad": True, "position": position}
    if key == "const":
        return "const", {"value": "1", "position": position}
    if key == "output":
        return "output", {"position": position}
    raise DesignError(f"nothing to place for {key!r}")


LEAF_NAMES = ("x", "w", "b", "a", "u", "v")


def _free_leaf_name(design) -> str:
    taken = {n.name for n in design.nodes.values()}
    for name in LEAF_NAMES:
        if name not in taken:
            return name
    n = 2
    while f"x{n}" in taken:
        n += 1
    return f"x{n}"


def _free_group_name(design) -> str:
    n = 1
    while f"group{n}" in design.groups:
        n += 1
    return f"group{n}"
