"""torch.nn modules in a session: their parameters' qualified names, and which
recorded graph nodes each module call produced.

* :func:`parameter_names` — ``{id(tensor): (name, tensor)}`` for the parameters
  and buffers of every module bound to a top-level variable, named as
  ``named_parameters()`` names them, prefixed by the variable: ``model.0.weight``.
* :class:`CallRecorder` — while active (a session runs a cell), global forward
  hooks note, for every module call, the range of graph-node sequence numbers
  its forward created.
* :func:`groups` — for a captured graph, one :class:`ModuleGroup` per recorded
  module call that made some of its op vertices: the vertices, the module's
  parameters' leaf vertices, and a label a person reads (``Linear(3→1)``), so
  the graph view can collapse the call into one group node. Nested calls
  (``Sequential`` around ``Linear``) give nested groups, outermost first.

Plain data; nothing here imports Qt.
"""
from __future__ import annotations

import bisect
import weakref
from dataclasses import dataclass

from gradstudio.autograd import node as _node
from gradstudio.nn.modules import module as _module
from gradstudio.tensor import Tensor

MAX_CALLS = 4096   # module calls remembered between backward calls (a long loop keeps the latest)


@dataclass
class ModuleGroup:
    name: str | None        # the module's qualified name in the script (``model.0``), if it has one
    label: str              # ``Linear(3→1)``, ``Tanh``, ``Sequential``
    ops: tuple              # op vertices its forward made
    params: tuple = ()      # its parameters' leaf vertices that only this call's ops use
    depth: int = 0          # 0 for a call made by the script, 1 inside another module's call …

    @property
    def vertices(self) -> tuple:
        return self.ops + self.params


def _top_level_modules(namespace: dict):
    for name, value in list(namespace.items()):
        if not name.startswith("__") and isinstance(value, _module.Module):
            yield name, value


def parameter_names(namespace: dict) -> dict:
    """``{id(tensor): (qualified name, tensor)}`` for every top-level module's parameters
    and buffers."""
    found: dict = {}
    for variable, module in _top_level_modules(namespace):
        for name, tensor in (*module.named_parameters(), *module.named_buffers()):
            if isinstance(tensor, Tensor):
                found.setdefault(id(tensor), (f"{variable}.{name}", tensor))
    return found


def module_names(namespace: dict) -> dict:
    """``{id(module): qualified name}`` for every top-level module and its submodules."""
    found: dict = {}
    for variable, module in _top_level_modules(namespace):
        for name, sub in module.named_modules():
            found.setdefault(id(sub), f"{variable}.{name}" if name else variable)
    return found


def label(module) -> str:
    """What a group node shows: features in → out for the layers that have them."""
    kind = type(module).__name__
    d = module.__dict__
    for a, b in (("in_features", "out_features"), ("num_embeddings", "embedding_dim"),
                 ("in_channels", "out_channels")):
        if a in d and b in d:
            return f"{kind}({d[a]}→{d[b]})"
    return kind


@dataclass
class _Call:
    module: weakref.ref
    label: str
    start: int          # node sequence numbers: nodes made by the call lie in (start, end)
    end: int
    depth: int


class CallRecorder:
    """Records every module call while entered (a context manager)."""

    def __init__(self):
        self.calls: list = []
        self._open: list = []
        self._handles = ()

    def __enter__(self):
        if self._handles:       # already recording (a front end that starts cells twice)
            return self
        self._handles = (_module.register_module_forward_pre_hook(self._before),
                         _module.register_module_forward_hook(self._after))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = ()
        self._open.clear()
        return False

    def _before(self, module, args):
        self._open.append((module, next(_node._sequence)))

    def _after(self, module, args, output):
        while self._open:
            opened, start = self._open.pop()
            if opened is module:
                break
        else:
            return
        self.calls.append(_Call(weakref.ref(module), label(module), start, next(_node._sequence),
                                len(self._open)))
        if len(self.calls) > MAX_CALLS:
            del self.calls[:MAX_CALLS // 2]


def _end(call) -> int:
    return call.end


def _node_sequence(root: Tensor) -> dict:
    """``{id(node): sequence number}`` for every node behind ``root`` (iterative walk)."""
    found: dict = {}
    stack = [root.grad_fn] if root.grad_fn is not None else []
    while stack:
        current = stack.pop()
        if current is None or id(current) in found:
            continue
        found[id(current)] = current._seq
        stack.extend(edge[0] for edge in current.next_functions)
    return found


def groups(graph, root: Tensor, calls: list, names: dict) -> list:
    """The module calls that made op vertices of ``graph`` (captured from ``root``), as
    :class:`ModuleGroup`, outermost first; ``names`` is :func:`module_names`."""
    if graph is None or not calls:
        return []
    sequence = _node_sequence(root)
    ops = [(sequence[v.tensor_id], v.id) for v in graph.nodes
           if v.kind == "op" and v.tensor_id in sequence]
    leaves = {v.tensor_id: v.id for v in graph.nodes if v.kind == "leaf"}
    consumers: dict = {}
    for v in graph.nodes:
        for i in v.inputs:
            consumers.setdefault(i, set()).add(v.id)
    if not ops:
        return []
    first, last = min(s for s, _ in ops), max(s for s, _ in ops)
    found = []
    # ``calls`` are in the order they ended (CallRecorder): those before ``start_at`` ended
    # before this graph's first op — a loop's earlier steps, thousands of them in a long one
    start_at = bisect.bisect_left(calls, first, key=_end)
    for call in calls[start_at:]:
        if call.end < first or call.start > last:
            continue
        members = tuple(vertex for seq, vertex in ops if call.start < seq < call.end)
        if not members:
            continue
        module = call.module()
        params = ()
        if module is not None:
            # a parameter another call also uses (a shared or tied weight) stays outside both groups
            inside = set(members)
            params = tuple(leaves[id(p)] for p in module.parameters()
                           if id(p) in leaves and consumers.get(leaves[id(p)], set()) <= inside)
        found.append(ModuleGroup(names.get(id(module)) if module is not None else None, call.label,
                                 members, params, call.depth))
    found.sort(key=lambda g: (g.depth, min(g.vertices)))
    return found
