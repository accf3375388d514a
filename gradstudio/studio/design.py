"""The node editor's document: an editable computation graph, without Qt.

A :class:`Design` holds nodes and links. A node is a leaf or constant (a value
typed by a person, parsed by :mod:`gradstudio.studio.values`), an op (a row of
the op table by its stable id, with typed params), or the output marker (the
root of ``backward()``, with an optional ``gradient=`` value). A link feeds
output of ``src`` into input ``slot`` of ``dst``. Positions and groups are part
of the document so a saved file reopens as it was drawn.

The document changes only through its methods, and each change is announced
to listeners as a past-tense event (:class:`Event`: ``node_added``,
``node_removed``, ``link_added``, ``link_removed``, ``node_changed``,
``node_moved``, ``group_changed`` (members, or collapsed/expanded), ``root_changed``,
then ``shapes_changed``)
— the Qt scene fills itself from the document and then listens (Orange
canvas), and every gesture is an undo command calling these methods. Each
method is exactly undone by another one (``remove_node`` by ``restore_node``
with what it returned), so undo never rebuilds.

After every edit the shapes are inferred again from each row's own shape rule;
a node whose inputs it cannot take keeps the rule's message
(``(3, 2) @ (3, 2): inner sizes 2 and 3 differ``) in :attr:`Design.errors`.
:meth:`Design.check_link` answers before a wire is dropped, with both shapes
named; links that would make a cycle, or feed a slot that does not exist, are
refused.

:meth:`Design.compile` gives the recorded-graph form a script produces
(:class:`gradstudio.studio.trace.Graph`), so symbolic, compare, oracle and
plots need nothing editor-specific. :meth:`Design.to_json` /
:func:`from_json` are the document's file form: versioned, strict, validated
before anything is built; values are stored as the text the person typed.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from gradstudio.ops.shape_rules import ShapeError
from gradstudio.ops.table import op_by_id, rows
from gradstudio.studio import trace
from gradstudio.studio.values import ValueParseError, parse_value

FORMAT = "gradstudio-design"
VERSION = 1
KINDS = ("leaf", "const", "op", "output")
DTYPES = {"float32": np.float32, "float64": np.float64}
MAX_NODES = 20_000
MAX_NAME = 64


class DesignError(ValueError):
    """An edit the document refuses, or a design file it cannot read; the message says why."""


@dataclass(frozen=True)
class Node:
    id: str
    kind: str                              # "leaf" | "const" | "op" | "output"
    op: str | None = None                  # the op row's id, for kind "op"
    params: tuple = ()                     # ((name, value), …) in the row's order
    name: str = ""                         # the variable name (leaves, constants, ops)
    value: str = ""                        # the typed text of a leaf/constant, or output's gradient=
    dtype: str = "float32"
    requires_grad: bool = False
    position: tuple = (0.0, 0.0)

    @property
    def row(self):
        return op_by_id(self.op) if self.kind == "op" else None

    @property
    def arity(self) -> int:
        if self.kind == "op":
            return max(self.row.arity, 0)
        return 1 if self.kind == "output" else 0

    def param_dict(self) -> dict:
        return dict(self.params)


@dataclass(frozen=True)
class Link:
    src: str
    dst: str
    slot: int


@dataclass(frozen=True)
class Event:
    kind: str
    node: str | None = None
    link: Link | None = None


@dataclass
class Removed:
    """What :meth:`Design.remove_node` took away, for :meth:`Design.restore_node`."""

    node: Node
    index: int
    links: list = field(default_factory=list)        # [(position in the link list, Link)]
    groups: dict = field(default_factory=dict)       # group name -> members it belonged to
    collapsed: set = field(default_factory=set)      # the groups among them that were collapsed
    was_root: bool = False


class Design:
    """See the module docstring."""

    def __init__(self):
        self.nodes: dict = {}              # id -> Node, in insertion order
        self.links: list = []              # Link, in insertion order
        self.groups: dict = {}             # name -> tuple of node ids
        self.collapsed: set = set()        # names of the groups drawn as one node
        self.root: str | None = None       # the output node's id
        self.shapes: dict = {}             # node id -> shape tuple (absent where unknown)
        self.errors: dict = {}             # node id -> message
        self.listeners: list = []          # callables taking an Event
        self._next = 1
        self._batched = 0                  # inside batch(): shapes are inferred once, at its end
        self._stale = False

    # -- events -----------------------------------------------------------------------
    def _emit(self, kind: str, node: str | None = None, link: Link | None = None):
        event = Event(kind, node, link)
        for listener in list(self.listeners):
            listener(event)

    def _changed(self):
        if self._batched:
            self._stale = True
            return
        self._infer()
        self._emit("shapes_changed")

    @contextlib.contextmanager
    def batch(self):
        """Many edits, one shape inference (at the end) instead of one per edit: how a
        big design is built by a program. Links made inside are checked only against
        shapes already known; what does not fit is then marked on its node."""
        self._batched += 1
        try:
            yield self
        finally:
            self._batched -= 1
            if not self._batched and self._stale:
                self._stale = False
                self._changed()

    # -- nodes ------------------------------------------------------------------------
    def new_id(self) -> str:
        while f"n{self._next}" in self.nodes:
            self._next += 1
        return f"n{self._next}"

    def add_node(self, kind: str, *, op: str | None = None, params: dict | None = None, name: str = "",
                 value: str = "", dtype: str = "float32", requires_grad: bool = False,
                 position=(0.0, 0.0), id: str | None = None) -> str:
        node_id = id or self.new_id()
        if node_id in self.nodes:
            raise DesignError(f"there is already a node {node_id!r}")
        node = _make_node(node_id, kind, op, params, name, value, dtype, requires_grad, position)
        if len(self.nodes) >= MAX_NODES:
            raise DesignError(f"a design holds at most {MAX_NODES:,} nodes")
        self.nodes[node.id] = node
        if kind == "output" and self.root is None:
            self.root = node.id
        self._emit("node_added", node.id)
        self._changed()
        return node.id

    def remove_node(self, node_id: str) -> Removed:
        """Remove a node and every link touching it (the links go first, each announced)."""
        node = self._node(node_id)
        removed = Removed(node, list(self.nodes).index(node_id), was_root=self.root == node_id)
        for index in reversed(range(len(self.links))):
            link = self.links[index]
            if node_id in (link.src, link.dst):
                removed.links.insert(0, (index, link))
                del self.links[index]
                self._emit("link_removed", link=link)
        for group, members in list(self.groups.items()):
            if node_id in members:
                removed.groups[group] = members
                self.groups[group] = tuple(m for m in members if m != node_id)
                if not self.groups[group]:
                    del self.groups[group]
                    if group in self.collapsed:
                        self.collapsed.discard(group)
                        removed.collapsed.add(group)
                self._emit("group_changed", node=group)
        del self.nodes[node_id]
        if removed.was_root:
            self.root = None
        self._emit("node_removed", node_id)
        self._changed()
        return removed

    def restore_node(self, removed: Removed):
        """Put back what :meth:`remove_node` took: the node at its place, its links
        at theirs, its group memberships."""
        node = removed.node
        if node.id in self.nodes:
            raise DesignError(f"there is already a node {node.id!r}")
        items = list(self.nodes.items())
        items.insert(removed.index, (node.id, node))
        self.nodes = dict(items)
        self._emit("node_added", node.id)
        if removed.was_root:
            self.root = node.id
        for index, link in removed.links:
            self.links.insert(index, link)
            self._emit("link_added", link=link)
        for group, members in removed.groups.items():
            self.groups[group] = members
            if group in removed.collapsed:
                self.collapsed.add(group)
            self._emit("group_changed", node=group)
        self._changed()

    def change_node(self, node_id: str, **changes) -> dict:
        """Change a node's params, name, value, dtype or requires_grad. Returns the
        previous values (pass them back to undo)."""
        node = self._node(node_id)
        allowed = {"params", "name", "value", "dtype", "requires_grad"}
        unknown = set(changes) - allowed
        if unknown:
            raise DesignError(f"cannot change {', '.join(sorted(unknown))} of a node")
        previous = {}
        fields = {}
        for key, new in changes.items():
            if key == "params":
                previous[key] = node.param_dict()
                new = dict(node.param_dict(), **new)
            else:
                previous[key] = getattr(node, key)
            fields[key] = new
        params = fields.pop("params", node.param_dict() if node.kind == "op" else None)
        updated = _make_node(node_id, node.kind, node.op, params, fields.get("name", node.name),
                                  fields.get("value", node.value), fields.get("dtype", node.dtype),
                                  fields.get("requires_grad", node.requires_grad), node.position)
        self.nodes[node_id] = updated
        self._emit("node_changed", node_id)
        self._changed()
        return previous

    def move_node(self, node_id: str, position) -> tuple:
        """Move a node; returns the old position. (Shapes do not change.)"""
        node = self._node(node_id)
        x, y = (float(v) for v in position)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise DesignError("a node's position must be finite")
        self.nodes[node_id] = replace(node, position=(x, y))
        self._emit("node_moved", node_id)
        return node.position

    def set_root(self, node_id: str | None) -> str | None:
        if node_id is not None and self._node(node_id).kind != "output":
            raise DesignError("only an output node can be the root of backward()")
        previous, self.root = self.root, node_id
        self._emit("root_changed", node_id)
        self._changed()
        return previous

    # -- links ------------------------------------------------------------------------
    def check_link(self, src: str, dst: str, slot: int, *, shapes: bool = True) -> str | None:
        """Why ``src`` cannot feed input ``slot`` of ``dst`` (None: it can). The slot's
        current link, if any, would be replaced. ``shapes`` False: only the structure
        (ports, cycles) is checked."""
        source, target = self._node(src), self._node(dst)
        if source.kind == "output":
            return "the output node has no outputs to connect"
        if src == dst:
            return "a node cannot feed itself"
        if not 0 <= slot < target.arity:
            return f"{self.describe(dst)} has no input {slot + 1}"
        if dst in self.upstream(src):
            return "this link would make a cycle"
        if target.kind != "op" or not shapes:
            return None
        inputs = [self.shapes.get(l.src) for l in self.inputs_of(dst)]
        inputs += [None] * (target.arity - len(inputs))
        inputs[slot] = self.shapes.get(src)
        if any(s is None for s in inputs):
            return None           # not all known yet: checked again when they are
        try:
            target.row.shape(*inputs, **target.param_dict())
        except ShapeError as error:
            return str(error)
        except Exception as error:  # a rule that cannot take these params
            return f"{self.describe(dst)}: {error}"
        return None

    def connect(self, src: str, dst: str, slot: int, *, shapes: bool = True) -> Link | None:
        """Link ``src`` into input ``slot`` of ``dst``; refused (DesignError) when
        :meth:`check_link` objects. Returns the link it replaced, if any. ``shapes``
        False (reading a file): a shape mismatch is kept as the design's error on the
        node, as a value edit that makes one leaves it, instead of refusing the link."""
        problem = self.check_link(src, dst, slot, shapes=shapes)
        if problem is not None:
            raise DesignError(problem)
        replaced = next((l for l in self.links if l.dst == dst and l.slot == slot), None)
        if replaced is not None:
            self.links.remove(replaced)
            self._emit("link_removed", link=replaced)
        link = Link(src, dst, slot)
        self.links.append(link)
        self._emit("link_added", link=link)
        self._changed()
        return replaced

    def disconnect(self, link: Link) -> int:
        """Remove a link; returns where it was (for :meth:`reconnect`)."""
        index = self.links.index(link)
        del self.links[index]
        self._emit("link_removed", link=link)
        self._changed()
        return index

    def reconnect(self, link: Link, index: int):
        """Put a link back where it was (undo of :meth:`disconnect`); no checks, it was valid."""
        self.links.insert(index, link)
        self._emit("link_added", link=link)
        self._changed()

    # -- groups -------------------------------------------------------------------------
    def set_group(self, name: str, members) -> tuple | None:
        """Make (or with no members, dissolve) a group; returns its previous members."""
        _check_name(name)
        members = tuple(dict.fromkeys(members))
        for m in members:
            self._node(m)
        previous = self.groups.get(name)
        if not members and name in self.collapsed:
            raise DesignError(f"expand the group {name} before dissolving it")
        if members:
            self.groups[name] = members
        else:
            self.groups.pop(name, None)
        self._emit("group_changed", node=name)
        return previous

    def set_collapsed(self, name: str, collapsed: bool) -> bool:
        """Draw a group as one node (its name and the ports its members share with the
        rest of the design), or as its members again; returns the previous state. Only
        the drawing changes: the design computes the same."""
        if name not in self.groups:
            raise DesignError(f"there is no group {name!r}")
        previous = name in self.collapsed
        if collapsed:
            self.collapsed.add(name)
        else:
            self.collapsed.discard(name)
        self._emit("group_changed", node=name)
        return previous

    def group_of(self, node_id: str) -> str | None:
        """The first group (by name) a node belongs to."""
        return next((g for g, members in sorted(self.groups.items()) if node_id in members), None)

    def group_ports(self, name: str) -> tuple:
        """``(inputs, outputs)`` of a group seen as one node: the links from outside into
        its members, by member and slot, and the members feeding something outside."""
        members = set(self.groups.get(name, ()))
        order = {n: i for i, n in enumerate(self.nodes)}
        inputs = sorted((l for l in self.links if l.dst in members and l.src not in members),
                        key=lambda l: (order[l.dst], l.slot))
        outputs = sorted({l.src for l in self.links if l.src in members and l.dst not in members},
                         key=order.__getitem__)
        return inputs, outputs

    # -- reading ------------------------------------------------------------------------
    def _node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise DesignError(f"no node {node_id!r}") from None

    def inputs_of(self, node_id: str) -> list:
        """The links into ``node_id``, by slot."""
        return sorted((l for l in self.links if l.dst == node_id), key=lambda l: l.slot)

    def root_source(self) -> str | None:
        """The node that feeds the output node (what backward() is called on)."""
        if self.root is None:
            return None
        links = self.inputs_of(self.root)
        return links[0].src if links else None

    def feeding_root(self) -> list:
        """The nodes whose values reach the root, inputs first."""
        source = self.root_source()
        if source is None:
            return []
        wanted = self.upstream(source)
        return [n for n in self.order() if n in wanted]

    def describe(self, node_id: str) -> str:
        node = self._node(node_id)
        if node.kind == "op":
            return node.name or node.row.name
        return node.name or node.kind

    def requiring_grad(self) -> set:
        """The nodes whose value requires a gradient: leaves marked so, and every node a
        link from one of them reaches (what the editor draws as wires gradient flows on)."""
        users: dict = {}
        for link in self.links:
            users.setdefault(link.src, []).append(link.dst)
        stack = [n for n, node in self.nodes.items() if node.requires_grad]
        seen = set()
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(users.get(n, ()))
        return seen

    def upstream(self, node_id: str, include_self: bool = True) -> set:
        """The nodes whose values flow into ``node_id``."""
        feeding: dict = {}
        for link in self.links:
            feeding.setdefault(link.dst, []).append(link.src)
        seen, stack = set(), [node_id]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(feeding.get(n, ()))
        if not include_self:
            seen.discard(node_id)
        return seen

    def order(self) -> list:
        """Node ids, inputs before the nodes that use them (Kahn's algorithm;
        ties in insertion order)."""
        remaining = {n: 0 for n in self.nodes}
        users: dict = {n: [] for n in self.nodes}
        for link in self.links:
            remaining[link.dst] += 1
            users[link.src].append(link.dst)
        ready = [n for n in self.nodes if remaining[n] == 0]
        out = []
        while ready:
            n = ready.pop(0)
            out.append(n)
            for user in users[n]:
                remaining[user] -= 1
                if remaining[user] == 0:
                    ready.append(user)
        return out

    # -- shapes --------------------------------------------------------------------------
    def _infer(self):
        self.shapes, self.errors = {}, {}
        for node_id in self.order():
            node = self.nodes[node_id]
            try:
                shape = self._shape_of(node)
            except (ShapeError, DesignError) as error:
                self.errors[node_id] = str(error)
                continue
            except Exception as error:  # a rule that cannot take these params or shapes
                self.errors[node_id] = f"{type(error).__name__}: {error}"
                continue
            if shape is not None:
                self.shapes[node_id] = tuple(shape)

    def _shape_of(self, node: Node):
        if node.kind in ("leaf", "const"):
            return _parse(node.value, node.dtype).shape if node.value else None
        inputs = self.inputs_of(node.id)
        if len(inputs) < node.arity:
            return None                            # not wired yet: no shape, no error
        shapes = [self.shapes.get(l.src) for l in inputs]
        if any(s is None for s in shapes):
            return None
        if node.kind == "output":
            (shape,) = shapes
            if node.value and _parse(node.value, node.dtype).shape != shape:
                raise DesignError(f"gradient= has shape {_parse(node.value, node.dtype).shape} "
                                  f"but the output has shape {shape}")
            return shape
        return node.row.shape(*shapes, **node.param_dict())

    # -- compiling -------------------------------------------------------------------------
    def compile(self) -> trace.Graph:
        """The recorded-graph form of what feeds the root (leaves' and constants'
        values parsed, every op's value computed with numpy in the node's dtype)."""
        if self.root is None:
            raise DesignError("pick an output node: it is the root of backward()")
        if self.errors:
            node, message = next(iter(self.errors.items()))
            raise DesignError(f"{self.describe(node)}: {message}")
        source = self.root_source()
        if source is None:
            raise DesignError("connect something to the output node")
        index: dict = {}
        vertices = []
        for node_id in self.feeding_root():
            node = self.nodes[node_id]
            vid = len(vertices)
            index[node_id] = vid
            if node.kind in ("leaf", "const"):
                if not node.value:
                    raise DesignError(f"{self.describe(node_id)} has no value")
                value = _parse(node.value, node.dtype)
                vertices.append(trace.GraphNode(vid, node.kind, value, name=node.name or None,
                                                requires_grad=node.requires_grad))
                continue
            links = self.inputs_of(node_id)
            if len(links) < node.arity:          # (its shape is None, not an error: it is being wired)
                missing = sorted(set(range(node.arity)) - {l.slot for l in links})
                raise DesignError(f"{self.describe(node_id)}: connect its input "
                                  f"{', '.join(str(k + 1) for k in missing)} (of {node.arity})")
            inputs = tuple(index[l.src] for l in links)
            args = [vertices[i].value for i in inputs]
            with np.errstate(all="ignore"):
                value = np.asarray(node.row.forward(*args, **node.param_dict()))
            vertices.append(trace.GraphNode(vid, "op", value, name=node.name or None, op=node.row,
                                            params=node.param_dict(), inputs=inputs,
                                            requires_grad=any(vertices[i].requires_grad for i in inputs)))
        return trace.Graph(vertices, index[source])

    def gradient(self):
        """The output node's ``gradient=`` value (None for a scalar root)."""
        if self.root is None or not self.nodes[self.root].value:
            return None
        node = self.nodes[self.root]
        return _parse(node.value, node.dtype)

    def backward_call(self):
        """Run the design forward and backward on the engine, as a script's
        ``root.backward(gradient=…)`` would: the :class:`~gradstudio.studio.session.BackwardCall`
        Compare, the symbolic side and the plots read (an error is recorded in it, as
        a script's failing call is)."""
        from gradstudio.studio.session import BackwardCall, LeafGradient
        from gradstudio.studio.sweep import EngineBackend
        graph = self.compile()
        gradient = self.gradient()
        root = graph[graph.root]
        call = BackwardCall(index=0, cell=None, line=0, root_name=root.name,
                            root_grad_fn=root.op.name if root.kind == "op" else None,
                            root_shape=root.shape, gradient=gradient, graph=graph)
        values = trace.interpret(graph, EngineBackend())
        try:
            from gradstudio.ops.creation import tensor
            seed = None if gradient is None else tensor(gradient)
            values[graph.root].backward(seed)
        except Exception as error:
            call.status, call.error, call.error_type = "error", str(error), type(error).__name__
            return call
        for vertex in graph.nodes:
            if vertex.kind == "leaf" and vertex.requires_grad:
                grad = values[vertex.id].grad
                if grad is not None:
                    vertex.grad = grad.numpy().copy()
                    call.leaves.append(LeafGradient(vertex.name or f"leaf{vertex.id}", vertex.id,
                                                    vertex.shape, vertex.grad))
        return call

    # -- file form ---------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION,
            "nodes": [{"id": n.id, "kind": n.kind, "op": n.op, "params": [[k, _plain(v)] for k, v in n.params],
                       "name": n.name, "value": n.value, "dtype": n.dtype, "requires_grad": n.requires_grad,
                       "position": list(n.position)} for n in self.nodes.values()],
            "links": [[l.src, l.dst, l.slot] for l in self.links],
            # sorted: a group dissolved and made again (an undo) must write the same file
            "groups": {k: list(v) for k, v in sorted(self.groups.items())},
            "root": self.root,
            # only when some group is collapsed: a design without one writes what it always did
            **({"collapsed": sorted(self.collapsed)} if self.collapsed else {}),
        }


def from_json(data) -> Design:
    """A design from its file form, checked whole before it is built (DesignError
    names the first problem; nothing half-built is returned)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DesignError("not a GradStudio design")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise DesignError("the design has no valid version")
    if version > VERSION:
        raise DesignError(f"this design was written by a newer GradStudio (version {version}; "
                          f"this one reads up to {VERSION})")
    nodes, links = data.get("nodes"), data.get("links")
    if not isinstance(nodes, list) or not isinstance(links, list) or len(nodes) > MAX_NODES:
        raise DesignError("the design's nodes or links are missing or malformed")
    design = Design()
    listeners, design.listeners = design.listeners, []
    try:
        for i, raw in enumerate(nodes):
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise DesignError(f"node {i} is malformed")
            params = raw.get("params") or []
            if not isinstance(params, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                                                       for p in params):
                raise DesignError(f"node {raw['id']!r}: malformed params")
            position = raw.get("position", [0, 0])
            if not (isinstance(position, list) and len(position) == 2
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position)):
                raise DesignError(f"node {raw['id']!r}: malformed position")
            design.add_node(_str(raw, "kind"), op=raw.get("op"), params={k: _param_value(v) for k, v in params},
                            name=_str(raw, "name", ""), value=_str(raw, "value", ""),
                            dtype=_str(raw, "dtype", "float32"), requires_grad=raw.get("requires_grad") is True,
                            position=position, id=raw["id"])
        design.root = None
        for i, raw in enumerate(links):
            if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(v, str) for v in raw[:2])
                    and isinstance(raw[2], int) and not isinstance(raw[2], bool)):
                raise DesignError(f"link {i} is malformed")
            # saved with a shape error (a value edited after wiring): it opens with that error
            design.connect(*raw, shapes=False)
        groups = data.get("groups") or {}
        if not isinstance(groups, dict):
            raise DesignError("malformed groups")
        for name, members in groups.items():
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise DesignError(f"group {name!r} is malformed")
            design.set_group(name, members)
        collapsed = data.get("collapsed") or []
        if not isinstance(collapsed, list) or not all(isinstance(g, str) for g in collapsed):
            raise DesignError("malformed collapsed groups")
        for name in collapsed:
            design.set_collapsed(name, True)
        root = data.get("root")
        if root is not None:
            if not isinstance(root, str):
                raise DesignError("malformed root")
            design.set_root(root)
    except (DesignError, TypeError, ValueError) as error:
        raise DesignError(f"the design cannot be read: {error}") from None
    design.listeners = listeners
    return design


# --------------------------------------------------------------------------- helpers
def _make_node(id, kind, op, params, name, value, dtype, requires_grad, position) -> Node:
    """A node checked whole: its kind, row and params, name, value and position."""
    if kind not in KINDS:
        raise DesignError(f"unknown node kind {kind!r} (one of {', '.join(KINDS)})")
    if dtype not in DTYPES:
        raise DesignError(f"unknown dtype {dtype!r} (one of {', '.join(DTYPES)})")
    _check_name(name)
    ordered = ()
    if kind == "op":
        row = op_row(op)
        ordered = _ordered_params(row, params or {})
    elif params:
        raise DesignError(f"a {kind} node has no params")
    if kind != "op" and value:
        _parse(value, dtype)
    x, y = (float(v) for v in position)
    if not (math.isfinite(x) and math.isfinite(y)):
        raise DesignError("a node's position must be finite")
    return Node(id, kind, op if kind == "op" else None, ordered, name, value, dtype,
                bool(requires_grad) and kind == "leaf", (x, y))


def op_row(op_id: str):
    """The op table's row with this id, for the editor (which reaches the engine's table
    only through this module); DesignError when there is none."""
    try:
        return op_by_id(op_id)
    except KeyError:
        raise DesignError(f"no op {op_id!r} in the op table") from None


def palette() -> list:
    """The ops the editor offers, from the op table: (category, label, row), rows
    the public API makes (not internal double-backward ones)."""
    return [(row.category, row.label or row.name, row) for row in rows()
            if not row.internal and row.forward is not None and row.kind != "custom"]


# Placeholders for a required param when a node is first placed from the palette: the
# person edits them on the node; by type, as the row declares it.
_STARTING = {"float": 2.0, "float?": None, "int": 0, "int?": None, "int[]": 0, "bool": False, "str": ""}
EDITABLE_PARAM_TYPES = ("float", "float?", "int", "int?", "int[]", "bool", "str")


def starting_params(row) -> dict | None:
    """Params for a new node of ``row`` (each required one a placeholder of its type),
    or None when the row needs a param the editor cannot type (a tensor, an index)."""
    params = {}
    for p in row.params:
        if p.required:
            if p.type not in _STARTING:
                return None
            params[p.name] = _STARTING[p.type]
    return params


def placeable(row) -> bool:
    """Whether the palette can place ``row`` as a node."""
    return starting_params(row) is not None and row.arity >= 1


def ops_accepting(shape) -> list:
    """The palette rows whose first input can take a value of ``shape`` (what is
    offered when a wire is dropped on empty canvas); ``shape`` None: all of them.
    A one-input row without required params is asked through its shape rule; the
    others (another input, or a param the person has yet to type) are offered."""
    found = []
    for category, label, row in palette():
        params = starting_params(row)
        if params is None or row.arity < 1:
            continue
        judged = row.arity == 1 and row.shape is not None and not any(p.required for p in row.params)
        if shape is not None and judged:     # a placeholder param says nothing about the input
            try:
                row.shape(tuple(shape), **dict(_ordered_params(row, params)))
            except Exception:   # the row's own rule refuses it (ShapeError or a param it cannot take)
                continue
        found.append((category, label, row))
    return found


def parse_param(param, text: str):
    """A param value from the text typed on a node, by the param's declared type,
    through the whitelisted value parser (never eval)."""
    text = text.strip()
    if param.type not in EDITABLE_PARAM_TYPES:
        raise DesignError(f"{param.name} ({param.type}) cannot be typed in the editor")
    if param.type == "str":
        return text
    if param.type == "bool":
        if text.lower() not in ("true", "false"):
            raise DesignError(f"{param.name}: type True or False")
        return text.lower() == "true"
    if param.type in ("float?", "int?") and text.lower() in ("", "none"):
        return None
    try:
        value = parse_value(text)
    except ValueParseError as error:
        raise DesignError(f"{param.name}: {error}") from None
    if param.type.startswith("float"):
        if value.ndim:
            raise DesignError(f"{param.name}: a single number")
        return float(value)
    ints = value.astype(np.int64)
    if not np.array_equal(ints, value) or value.ndim > 1 or (param.type != "int[]" and value.ndim):
        raise DesignError(f"{param.name}: {'whole numbers' if param.type == 'int[]' else 'a whole number'}")
    return int(ints) if ints.ndim == 0 else tuple(int(v) for v in ints)


def _ordered_params(row, given: dict) -> tuple:
    names = {p.name for p in row.params}
    unknown = set(given) - names
    if unknown:
        raise DesignError(f"{row.name} has no parameter {', '.join(sorted(unknown))}")
    out = []
    for p in row.params:
        if p.name in given:
            out.append((p.name, _param_value(given[p.name])))
        elif p.required:
            raise DesignError(f"{row.name} needs the parameter {p.name!r}")
        else:
            out.append((p.name, p.default))
    return tuple(out)


def _param_value(v):
    if isinstance(v, list):
        return tuple(_param_value(x) for x in v)
    if isinstance(v, float) and not math.isfinite(v):
        raise DesignError("a parameter must be a finite number")
    if v is None or isinstance(v, (bool, int, float, str, tuple)):
        return v
    raise DesignError(f"a parameter cannot be a {type(v).__name__}")


def _plain(v):
    return list(_plain(x) for x in v) if isinstance(v, tuple) else v


def _parse(text: str, dtype: str) -> np.ndarray:
    try:
        return parse_value(text, dtype=DTYPES[dtype])
    except ValueParseError as error:
        raise DesignError(f"value {text[:40]!r}: {error}") from None


def _check_name(name):
    if not isinstance(name, str) or len(name) > MAX_NAME or (name and not name.isidentifier()):
        raise DesignError(f"{str(name)[:MAX_NAME]!r} is not a valid name (a Python identifier, "
                          f"at most {MAX_NAME} characters)")


def _str(raw: dict, key: str, default=None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise DesignError(f"{key} must be text")
    return value


Listener = Callable[[Event], None]
