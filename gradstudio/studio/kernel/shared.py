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

This module imports numpy, the schema and the records' helpers (numpy only) — never
the engine: the window reads calls with it.
"""
from __future__ import annotations

import math

import numpy as np

from gradstudio.studio.kernel import records
from gradstudio.studio.kernel.schema import (CallData, CallValues, GraphData, GraphStructure, LeafData,
                                             NodeData, RecordError)

SHARE_FROM = 2                 # calls of one structure in a cell before it travels once
MAX_SHARED_NODES = 400         # a bigger structure goes call by call (in GraphChunks): one message
                               # of structure costs the window ~0.1 ms a vertex to read
BATCH_ELEMENTS = 1_000_000     # array elements per CallValues message (a group takes several)


# --------------------------------------------------------------------------- the kernel's side
def share(calls: list, deferred: set, next_id) -> tuple:
    """``(messages, shared)``: for ``calls`` (a cell's recorded backward calls, in order;
    ``deferred`` the indices checked only on request), one ``GraphStructure`` per group
    of at least :data:`SHARE_FROM` calls alike in all but their values, followed by its
    ``CallValues`` messages; ``shared`` the indices of the calls they carry (the others
    travel as ``CallData``). ``next_id()`` gives each structure its id."""
    groups: dict = {}
    for call in calls:
        key = _key(call)
        if key is not None:
            groups.setdefault(key[0], []).append((call, key[1]))
    messages, shared = [], set()
    for group in groups.values():
        if len(group) < SHARE_FROM:
            continue
        structure = _structure(group[0][0], next_id())
        messages.append(structure)
        batch, size = [], 0
        for call, elements in group:
            if batch and size + elements > BATCH_ELEMENTS:
                messages.append(_values(structure, batch, deferred))
                batch, size = [], 0
            batch.append(call)
            size += elements
        messages.append(_values(structure, batch, deferred))
        shared.update(call.index for call, _ in group)
    return messages, shared


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
    return np.stack([np.asarray(v) for v in values])


def _values(structure: GraphStructure, calls: list, deferred: set) -> CallValues:
    nodes = [call.graph.nodes for call in calls]
    checkable = [records.checkable(call) for call in calls]
    return CallValues(
        structure=structure.id,
        calls=[call.index for call in calls], cells=[call.cell for call in calls],
        lines=[call.line for call in calls],
        pending_check=[ok and call.index not in deferred for ok, call in zip(checkable, calls)],
        check_deferred=[ok and call.index in deferred for ok, call in zip(checkable, calls)],
        steps=[records.steps_data(call) if call.index not in deferred else None for call in calls],
        gradients=_stack([records.array(call.gradient) for call in calls]),
        values=[_stack([graph[j].value for graph in nodes]) for j in range(len(structure.nodes))],
        grads=[_stack([graph[j].grad for graph in nodes]) for j in range(len(structure.nodes))],
        leaf_grads=[_stack([records.array(call.leaves[i].grad) for call in calls])
                    for i in range(len(structure.leaves))])


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
                 "_graph", "_leaves")
    type = CallData.type
    status = "ok"                 # (a call that raised travels on its own)
    error = error_type = hint = graph_error = None

    def __init__(self, shared: SharedCalls, row: int):
        values = shared.values
        self._shared, self._row = shared, row
        self.index, self.cell, self.line = values.calls[row], values.cells[row], values.lines[row]
        self.pending_check, self.check_deferred = values.pending_check[row], values.check_deferred[row]
        self.steps = values.steps[row]
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
                        check_deferred=self.check_deferred, steps=self.steps, groups=list(self.groups))

    def replace(self, **changes) -> CallData:
        return self.call_data().replace(**changes)

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


def calls_of(messages: list) -> list:
    """Every backward call of the ``CellFinished`` messages among ``messages`` (a
    kernel's messages in order, as :class:`~gradstudio.studio.kernel.blocking.KernelSession`
    collects them), shared ones as :class:`SharedCall` views, in index order — for
    tests and scripts; the window does the same as the messages arrive."""
    structures, shared, found = {}, {}, []
    for message in messages:
        if isinstance(message, GraphStructure):
            structures[message.id] = message
        elif isinstance(message, CallValues):
            for view in SharedCalls(structures[message.structure], message).views():
                shared[view.index] = view
        elif message.type == "cell_finished":
            found.extend(sorted([*message.calls, *(shared.pop(i) for i in message.shared)],
                                key=lambda call: call.index))
    return found
