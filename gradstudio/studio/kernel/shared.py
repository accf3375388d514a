"""A loop's backward calls on the wire: their shared graph structure once, then only values.

A training loop's 200 ``loss.backward()`` calls record 200 graphs that differ only in
their numbers. Sent as 200 ``CallData`` records, each carried its whole graph (ops,
labels, docs, wiring, shapes, two summaries per vertex): 2.2 MB in 197 messages,
and the window spent half a second decoding them. Here the kernel groups a cell's
calls by everything but their values (:func:`share`): each group's structure travels
once (:class:`~gradstudio.studio.kernel.schema.GraphStructure`), its calls in
:class:`~gradstudio.studio.kernel.schema.CallValues` messages — per call its index,
line and check flags, per vertex one array stacking that vertex's value (and one its
grad) over the calls, so a message costs the same to read whatever the number of
calls.

The window turns a ``CallValues`` into :class:`SharedCall` views (:class:`SharedCalls`,
which checks the values against their structure first: a malformed or mismatched one
is a :class:`~gradstudio.studio.kernel.schema.RecordError`). A view reads like a
``CallData`` — ``index``, ``root``, ``status``, ``leaves``, ``check_deferred`` … — and
builds its graph record (``graph``, ``nodes``: one ``NodeData`` per vertex with its
summaries) only when something asks for it, which for a deferred call is when the user
selects it; :meth:`SharedCall.call_data` is the very ``CallData`` the kernel would have
sent for it (:func:`gradstudio.studio.kernel.records.call_data`).

Across cells (a window that says it keeps structures: the ``reuse`` flag of a cell's
metadata, see :class:`Kept`): a node editor's live edit runs a new cell per edit, and a
value edit records the same graph with other numbers. A call of the kernel's previous
cell keeps its structure's id (a call that travelled as ``CallData`` carries it in
``CallData.structure``; the window makes the structure from it, :func:`structure_of`),
so a call alike in all but its values in the next cell travels as ``CallValues`` alone
— no summaries, labels, docs or wiring again. Both sides keep exactly the structures of
the calls of the last ``CellFinished`` (the kernel by their keys, the window by their
ids), so they agree on what the window has; the window also names the ids it has in
each cell's metadata, and the kernel names no other (a structure the window could not
read is sent whole again next time, not missed for ever). The named tensors' values
that are some vertex's value in those calls travel once, in the call
(``TensorData.value_from``, :func:`tensor_refs` / :func:`fill_tensor_values`).

The named tensors' records are kept the same way: the window keeps the last
``CellFinished``'s (under its ``tensors_id``, and names that id in the next cell's metadata);
a record that is the kept one in all but its ``value_from`` — a value edit's 98 intermediate
tensors, whose values come from the new call — travels as its name and new reference
(``CellFinished.kept_tensors``, :func:`share_tensors`), and :meth:`Kept.tensors_of` puts
the very list the kernel would have sent back together.

This module imports numpy, the schema and the records' helpers (numpy only) — never
the engine: the window reads calls with it.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from gradstudio.studio.kernel import records
from gradstudio.studio.kernel.schema import (CallData, CallValues, GraphData, GraphStructure, LeafData,
                                             NodeData, RecordError)

SHARE_FROM = 2                 # calls of one structure in a cell before it travels once
MAX_SHARED_NODES = 400         # a bigger structure goes call by call (in GraphChunks): one message
                               # of structure costs the window ~0.1 ms a vertex to read
BATCH_ELEMENTS = 1_000_000     # array elements per CallValues message (a group takes several)


# --------------------------------------------------------------------------- the kernel's side
class Shared(NamedTuple):
    """What :func:`share` decided for a cell's calls."""

    messages: list        # GraphStructure and CallValues messages, to go before the CellFinished
    shared: set           # indices of the calls those carry
    ids: dict             # call index -> structure id, for a call that travels as CallData
    kept: dict            # structure key -> id: what the window keeps once this cell's CellFinished is read
    keyed: list           # the calls that have a key: each of their arrays travels whole


def share(calls: list, deferred: set, next_id, kept: dict | None = None, *, steps: bool = True) -> Shared:
    """For ``calls`` (a cell's recorded backward calls, in order; ``deferred`` the
    indices checked only on request): one ``GraphStructure`` per group of at least
    :data:`SHARE_FROM` calls alike in all but their values, followed by its
    ``CallValues`` messages; the other calls travel as ``CallData``. ``next_id()``
    gives each structure its id.

    ``kept`` (None: the window keeps no structures across cells) is the previous
    cell's :attr:`Shared.kept`: a group or a single call whose structure is in it comes
    as ``CallValues`` naming that id (no ``GraphStructure``), and every other single
    call with a key gets an id (:attr:`Shared.ids`, its ``CallData.structure``).
    ``steps`` False: the calls' step traces are left out (kept for a ``steps`` request,
    ``CallValues.steps_on_request``)."""
    groups: dict = {}
    keyed = []
    for call in calls:
        key = _key(call)
        if key is not None:
            groups.setdefault(key[0], []).append((call, key[1]))
            keyed.append(call)
    messages, shared, ids, now = [], set(), {}, {}
    for key, group in groups.items():
        known = kept.get(key) if kept is not None else None
        if known is None and len(group) < SHARE_FROM:
            if kept is not None:
                ids[group[0][0].index] = now[key] = next_id()
            continue
        if known is None:
            structure = _structure(group[0][0], next_id())
            messages.append(structure)
        else:
            structure = _Named(known, len(group[0][0].graph.nodes), len(group[0][0].leaves))
        now[key] = structure.id
        batch, size = [], 0
        for call, elements in group:
            if batch and size + elements > BATCH_ELEMENTS:
                messages.append(_values(structure, batch, deferred, steps))
                batch, size = [], 0
            batch.append(call)
            size += elements
        messages.append(_values(structure, batch, deferred, steps))
        shared.update(call.index for call, _ in group)
    return Shared(messages, shared, ids, now, keyed)


class _Named(NamedTuple):
    """A structure the window already has, as :func:`_values` reads one: its id and sizes."""

    id: int
    nodes: int
    leaves: int


def tensor_refs(calls: list) -> dict:
    """``{id of a tensor or of its grad_fn: (call index, vertex id, value)}`` over the
    vertices of ``calls`` (later calls win): what :func:`records.tensors_data` may send
    as a reference (``TensorData.value_from``) instead of the value. Only calls whose
    arrays all travel whole belong in ``calls`` (:attr:`Shared.keyed`)."""
    found = {}
    for call in calls:
        for node in call.graph.nodes:
            tensor_id = getattr(node, "tensor_id", None)
            if tensor_id is not None:
                found[tensor_id] = (call.index, node.id, node.value)
    return found


def share_tensors(tensors: list, kept: dict | None) -> tuple:
    """``(the records to send, {name: value_from or ()})`` for a cell's named-tensor
    records ``tensors`` when the window keeps ``kept`` (name -> the record it has; None: it
    keeps none): a record equal to the kept one of its name but for ``value_from`` travels as
    the second part's entry alone."""
    if not kept:
        return tensors, {}
    changed, same = [], {}
    for tensor in tensors:
        previous = kept.get(tensor.name)
        if previous is not None and previous.equal_but(tensor, "value_from"):
            same[tensor.name] = tensor.value_from or ()
        else:
            changed.append(tensor)
    return changed, same


def _meta(value):
    """(shape, dtype) of the array ``records.array`` would send for ``value``, None for none."""
    if value is None:
        return None
    a = np.asarray(value)
    if a.dtype == object or a.size > records.MAX_ARRAY_ELEMENTS:
        return None
    return a.shape, a.dtype


def _key(call) -> tuple | None:
    """``(what the call shares with the calls of its loop, its array elements)``, or None
    when it travels on its own: it raised, has no graph, or a value too big to send whole
    (whose record carries summaries and samples instead)."""
    graph = call.graph
    if call.status != "ok" or call.error or graph is None or call.graph_error \
            or not graph.nodes or len(graph.nodes) > MAX_SHARED_NODES:
        return None
    elements, vertices = 0, []
    for node in graph.nodes:
        value = np.asarray(node.value)
        if value.dtype == object or value.size > records.MAX_ARRAY_ELEMENTS:
            return None
        grad = None
        if node.grad is not None:
            grad = _meta(node.grad)
            if grad is None:
                return None
            elements += math.prod(grad[0])
        elements += value.size
        op = node.op
        vertices.append((node.id, node.kind, node.label, id(op) if op is not None else None, node.name,
                         value.shape, value.dtype, grad, tuple(node.inputs), repr(records.node_params(node)),
                         bool(node.requires_grad)))
    if elements > records.MESSAGE_BUDGET:      # its record would have left some arrays out
        return None
    leaves = tuple((leaf.name, leaf.vertex, tuple(leaf.shape), _meta(leaf.grad)) for leaf in call.leaves)
    groups = tuple((g.label, g.name, tuple(g.ops), tuple(g.params), g.depth) for g in getattr(call, "groups", ()))
    root = (call.root_name, call.root_grad_fn, tuple(call.root_shape))
    return (graph.root, tuple(vertices), leaves, _meta(call.gradient), root, groups), elements


def _structure(call, structure_id: int) -> GraphStructure:
    graph = call.graph
    return GraphStructure(
        id=structure_id, root=graph.root,
        nodes=[NodeData(**records.node_fields(node, graph.root, np.asarray(node.value))) for node in graph.nodes],
        call_root=records.root_data(call),
        leaves=[LeafData(name=leaf.name, vertex=leaf.vertex, shape=tuple(leaf.shape)) for leaf in call.leaves],
        groups=records.groups_data(call))


def _stack(values: list):
    """The arrays stacked (row k: the k-th), None when they are None (all of them: the key says)."""
    if values[0] is None:
        return None
    if len(values) == 1:      # one call (a re-run cell): a view, no copy (the recorded arrays are never changed)
        return np.asarray(values[0])[np.newaxis, ...]
    return np.stack([np.asarray(v) for v in values])


def _values(structure, calls: list, deferred: set, steps: bool = True) -> CallValues:
    nodes = [call.graph.nodes for call in calls]
    checkable = [records.checkable(call) for call in calls]
    return CallValues(
        structure=structure.id,
        calls=[call.index for call in calls], cells=[call.cell for call in calls],
        lines=[call.line for call in calls],
        pending_check=[ok and call.index not in deferred for ok, call in zip(checkable, calls)],
        check_deferred=[ok and call.index in deferred for ok, call in zip(checkable, calls)],
        steps=[records.steps_data(call) if steps and call.index not in deferred else None for call in calls],
        steps_on_request=not steps and any(records.has_steps(call) for call in calls),
        gradients=_stack([records.array(call.gradient) for call in calls]),
        values=[_stack([graph[j].value for graph in nodes]) for j in range(_count(structure.nodes))],
        grads=[_stack([graph[j].grad for graph in nodes]) for j in range(_count(structure.nodes))],
        leaf_grads=[_stack([records.array(call.leaves[i].grad) for call in calls])
                    for i in range(_count(structure.leaves))])


def _count(items) -> int:
    return items if isinstance(items, int) else len(items)


# --------------------------------------------------------------------------- the window's side
class SharedCalls:
    """The calls of one ``CallValues`` with their ``GraphStructure``, checked against it:
    RecordError unless every list has a row per call and every vertex's values have
    its shape and dtype. :meth:`views` are the calls."""

    def __init__(self, structure: GraphStructure, values: CallValues):
        if values.structure != structure.id:
            raise RecordError(f"backward calls of graph structure {values.structure} were read "
                              f"against structure {structure.id}")
        self.structure, self.values = structure, values
        count = len(values.calls)
        where = f"the values of backward calls {span(values.calls)} (graph structure {structure.id})"
        for name in ("cells", "lines", "pending_check", "check_deferred", "steps"):
            if len(getattr(values, name)) != count:
                raise RecordError(f"{where}: {len(getattr(values, name))} {name} for {count} calls")
        for name, stacks, expected in (("values", values.values, len(structure.nodes)),
                                       ("grads", values.grads, len(structure.nodes)),
                                       ("leaf_grads", values.leaf_grads, len(structure.leaves))):
            if len(stacks) != expected:
                raise RecordError(f"{where}: {len(stacks)} {name} for {expected} in the structure")
        for node, stack in zip(structure.nodes, values.values):
            if stack.shape != (count, *node.shape) or records.dtype_name(stack.dtype) != node.dtype:
                raise RecordError(f"{where}: vertex {node.id}'s values are {records.dtype_name(stack.dtype)} "
                                  f"{stack.shape}, not {node.dtype} {(count, *node.shape)}")
        for stack in [*values.grads, *values.leaf_grads, values.gradients]:
            if stack is not None and (stack.ndim == 0 or stack.shape[0] != count):
                raise RecordError(f"{where}: an array of {stack.shape[0] if stack.ndim else 0} rows "
                                  f"for {count} calls")
        if not 0 <= structure.root < len(structure.nodes):
            raise RecordError(f"graph structure {structure.id}'s root {structure.root} is not one of its "
                              f"{len(structure.nodes)} vertices")

    def views(self) -> list:
        return [SharedCall(self, row) for row in range(len(self.values.calls))]


def span(indices: list) -> str:
    """``#3…#199`` (or ``#3``): the calls a message is about, for what the window says."""
    return f"#{indices[0]}…#{indices[-1]}" if len(indices) > 1 else f"#{indices[0]}" if indices else "(none)"


def _row(stack, row: int):
    return None if stack is None else stack[row, ...]     # (``...``: a 0-d array, not a scalar)


class SharedCall:
    """One call of a :class:`SharedCalls`, read as a ``CallData`` (its fields, ``nodes``,
    ``replace``, equality); its ``graph`` and ``leaves`` are built on first use."""

    __slots__ = ("_shared", "_row", "index", "cell", "line", "pending_check", "check_deferred", "steps",
                 "steps_on_request", "_graph", "_leaves")
    type = CallData.type
    status = "ok"                 # (a call that raised travels on its own)
    error = error_type = hint = graph_error = None

    def __init__(self, shared: SharedCalls, row: int):
        values = shared.values
        self._shared, self._row = shared, row
        self.index, self.cell, self.line = values.calls[row], values.cells[row], values.lines[row]
        self.pending_check, self.check_deferred = values.pending_check[row], values.check_deferred[row]
        self.steps = values.steps[row]
        self.steps_on_request = values.steps_on_request and not self.check_deferred
        self._graph = self._leaves = None

    @property
    def root(self):
        return self._shared.structure.call_root

    @property
    def groups(self) -> list:
        return self._shared.structure.groups

    @property
    def gradient(self):
        return _row(self._shared.values.gradients, self._row)

    @property
    def leaves(self) -> list:
        if self._leaves is None:
            stacks = self._shared.values.leaf_grads
            self._leaves = [leaf.replace(numeric=_row(stack, self._row))
                            for leaf, stack in zip(self._shared.structure.leaves, stacks)]
        return self._leaves

    @property
    def graph(self) -> GraphData:
        """The call's graph record, each vertex with its values and their summaries, as
        :func:`gradstudio.studio.kernel.records.graph_data` makes them (built once)."""
        if self._graph is None:
            structure, values, row = self._shared.structure, self._shared.values, self._row
            self._graph = GraphData(root=structure.root, nodes=[
                NodeData(**{name: getattr(node, name) for name in _STRUCTURE_FIELDS},
                         **records.value_fields(value[row, ...], _row(grad, row), take=_as_sent))
                for node, value, grad in zip(structure.nodes, values.values, values.grads)])
        return self._graph

    @property
    def nodes(self) -> list:
        return self.graph.nodes

    def root_value(self):
        """The root's value (an array), without building the graph record (the loss curve's point)."""
        return self._shared.values.values[self._shared.structure.root][self._row, ...]

    def call_data(self) -> CallData:
        """The ``CallData`` record of this call, as the kernel would have sent it alone."""
        return CallData(index=self.index, root=self.root, cell=self.cell, line=self.line, gradient=self.gradient,
                        graph=self.graph, leaves=self.leaves, pending_check=self.pending_check,
                        check_deferred=self.check_deferred, steps=self.steps,
                        steps_on_request=self.steps_on_request, groups=list(self.groups))

    def replace(self, **changes):
        """A ``CallData`` with ``changes``; with only ``steps`` (its step trace, which
        came after it in a ``CallSteps``) still a view."""
        if changes.keys() != {"steps"}:
            return self.call_data().replace(**changes)
        view = SharedCall.__new__(SharedCall)
        for name in SharedCall.__slots__:
            setattr(view, name, getattr(self, name))
        view.steps = changes["steps"]
        return view

    def __eq__(self, other):
        if isinstance(other, SharedCall):
            other = other.call_data()
        return self.call_data() == other if isinstance(other, CallData) else NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"SharedCall(index={self.index}, structure={self._shared.structure.id})"


_VALUE_FIELDS = ("value", "value_summary", "grad", "grad_summary", "grad_sample", "grad_norm")
_STRUCTURE_FIELDS = tuple(name for name, _check in NodeData._fields if name not in _VALUE_FIELDS)


def _as_sent(value):
    return value          # a row of a received stack is already the array the record holds


def structure_of(call: CallData) -> GraphStructure:
    """The ``GraphStructure`` of a call that came as ``CallData`` with a ``structure`` id
    and its whole graph: what the kernel's :func:`_structure` would have sent for it."""
    graph = call.graph
    return GraphStructure(
        id=call.structure, root=graph.root,
        nodes=[NodeData(**{name: getattr(node, name) for name in _STRUCTURE_FIELDS}) for node in graph.nodes],
        call_root=call.root, leaves=[leaf.replace(numeric=None) for leaf in call.leaves],
        groups=list(call.groups))


class Kept:
    """The window's side of the structures kept across cells (see the module docstring):
    after each ``CellFinished``, exactly the structures of that cell's calls, and its named
    tensors' records (:meth:`tensors_of`)."""

    def __init__(self):
        self.structures: dict = {}      # id -> GraphStructure
        self.tensors: dict = {}         # name -> TensorData (value_from as sent) of the last CellFinished
        self.tensors_id: int | None = None

    def tensors_of(self, finished) -> list | None:
        """The named-tensor records of ``finished`` (a ``CellFinished``) whole — its ``tensors``
        with its ``kept_tensors`` taken from the kept ones — and kept in their place. RecordError
        for a kept name the window does not have (nothing is kept then)."""
        tensors, same = finished.tensors, finished.kept_tensors
        kept, self.tensors, self.tensors_id = self.tensors, {}, None
        if tensors is None:
            return None
        if same:
            missing = sorted(name for name in same if name not in kept)
            if missing:
                raise RecordError(f"the named tensors {', '.join(missing[:5])} were to be kept from the "
                                  f"last cell, which did not have them")
            tensors = sorted([*tensors, *(kept[name].replace(value_from=tuple(where) or None)
                                          for name, where in same.items())], key=lambda t: t.name)
        if finished.tensors_id is not None:
            self.tensors, self.tensors_id = {t.name: t for t in tensors}, finished.tensors_id
        return tensors

    def get(self, structure_id: int) -> GraphStructure | None:
        return self.structures.get(structure_id)

    def cell_finished(self, calls: list):
        """``calls``: the cell's calls as the window reads them (big graphs joined)."""
        kept = {}
        for call in calls:
            if isinstance(call, SharedCall):
                kept[call._shared.structure.id] = call._shared.structure
            elif call.structure is not None and call.graph is not None and call.graph.nodes is not None:
                kept[call.structure] = structure_of(call)
        self.structures = kept

    def clear(self):
        self.structures, self.tensors, self.tensors_id = {}, {}, None


def vertex_value(call, vertex: int):
    """A vertex's value in a call as the window has it (a view's without building its graph)."""
    if isinstance(call, SharedCall):
        stacks = call._shared.values.values
        return stacks[vertex][call._row, ...] if 0 <= vertex < len(stacks) else None
    nodes = call.nodes
    node = nodes[vertex] if 0 <= vertex < len(nodes) else None
    return node.value if node is not None and node.id == vertex else None


def fill_tensor_values(tensors: list | None, calls: list) -> list | None:
    """The named tensors of a ``CellFinished`` with each ``value_from`` reference
    replaced by the vertex's value in ``calls`` (the cell's calls): the very records
    the kernel would have sent with the values in them. RecordError for a reference
    to a call or vertex that is not there, or a value of another shape."""
    if not tensors or not any(t.value_from is not None for t in tensors):
        return tensors
    by_index = {call.index: call for call in calls}
    filled = []
    for tensor in tensors:
        if tensor.value_from is not None:
            where = tensor.value_from
            call = by_index.get(where[0]) if len(where) == 2 else None
            value = vertex_value(call, where[1]) if call is not None else None
            if value is None or tuple(value.shape) != tuple(tensor.shape):
                raise RecordError(f"tensor {tensor.name}'s value refers to vertex {where[1:]} of backward "
                                  f"call {where[:1]}, which did not come with its value and shape")
            tensor = tensor.replace(value=value, value_summary=records.summary(value), value_from=None)
        filled.append(tensor)
    return filled


def calls_of(messages: list, kept: Kept | None = None) -> list:
    """Every backward call of the ``CellFinished`` messages among ``messages`` (a
    kernel's messages in order, as :class:`~gradstudio.studio.kernel.blocking.KernelSession`
    collects them), shared ones as :class:`SharedCall` views, in index order — for
    tests and scripts; the window does the same as the messages arrive. ``kept``
    carries the structures of the last cell read to the next call of this function."""
    kept = Kept() if kept is None else kept
    structures, shared, chunks, found = {}, {}, {}, []
    for message in messages:
        if message.type == "graph_chunk":
            chunks.setdefault(message.call, []).append(message.nodes)
        elif isinstance(message, GraphStructure):
            structures[message.id] = message
        elif isinstance(message, CallValues):
            structure = structures.get(message.structure) or kept.get(message.structure)
            if structure is None:
                raise RecordError(f"the values of backward calls {span(message.calls)} name graph "
                                  f"structure {message.structure}, which never came")
            for view in SharedCalls(structure, message).views():
                shared[view.index] = view
        elif message.type == "cell_finished":
            calls = sorted([*(records.join_graph(c, chunks.pop(c.index, [])) for c in message.calls),
                            *(shared.pop(i) for i in message.shared)], key=lambda call: call.index)
            kept.cell_finished(calls)
            kept.tensors_of(message)
            structures = {}
            found.extend(calls)
    return found
