"""The backward engine: an iterative walk of the graph, like torch's.

It counts, for every node reachable from the roots, how many edges lead into
it; a node runs once all of them have delivered their gradient (summed in a
buffer). The ready queue is torch's: a leaf's AccumulateGrad runs as soon as it is
ready, other nodes most recently created first, ties broken as torch's
std::priority_queue breaks them; ``autograd.grad`` captures gradients and never
runs an AccumulateGrad. No recursion, so a 100,000-op chain is fine. A ``tracer``
(:mod:`gradstudio.autograd.events`) is told each step in that order. Broadcasting
is undone here, once for all ops: a rule's gradient is summed back to its
input's shape and cast to its dtype. Leaves receive gradients through their
:class:`~gradstudio.autograd.node.AccumulateGrad` sink, or — for
``autograd.grad`` — the gradients are captured and returned instead.

A plain ``backward()`` that nothing observes (no tracer, no ``inputs=``, no
``create_graph``, no profiler) and whose leaves have no hooks takes
:func:`_run_unobserved`: the reachable nodes newest first (the order torch's queue
gives, without a queue), numpy arrays in the buffers, one array rule per node
(``op.vjp_node``, see :func:`gradstudio.ops.table.node_rule`); only a node with hooks
sees tensors, and only a leaf's ``.grad`` is wrapped.
"""
from __future__ import annotations

import sys
from heapq import heappop, heappush
from itertools import repeat
from operator import attrgetter

import numpy as np

# gradstudio.tensor imports this module while it is itself being imported, so take
# the module object (names are looked up at call time). Not `from .. import tensor`:
# once gradstudio/__init__ has run, gradstudio.tensor is the torch.tensor() function.
_tensor = sys.modules[__name__.rsplit(".", 2)[0] + ".tensor"]
from .grad_mode import state as _grad_state
from .node import EPOCH as _EPOCH, AccumulateGrad

ndarray = np.ndarray

_getrefcount = sys.getrefcount


def run_backward(roots, root_grads, *, retain_graph: bool, create_graph: bool,
                 inputs=None, accumulate: bool = True, tracer=None):
    """Propagate ``root_grads`` from ``roots`` (gradient edges: Node or AccumulateGrad).

    ``inputs``: tensors whose gradient is wanted. With ``accumulate`` the
    gradients go into ``.grad`` (only of ``inputs`` if given); without, the
    gradient arriving at each input is returned, in order (None if none did).
    ``tracer``, if given, is told every step in the order the engine takes it
    (see :class:`gradstudio.autograd.events.Tracer`); without one, tracing costs
    one ``is not None`` test per node.
    """
    if tracer is not None:
        for node, grad in zip(roots, root_grads):
            tracer.seed(node, grad)
    if len(roots) > 1:
        roots, root_grads = _merge_roots(roots, root_grads)
    if (tracer is None and inputs is None and accumulate and not create_graph
            and apply_rules is _APPLY_RULES):  # (the profiler replaces apply_rules to time it)
        plan = _walk(roots)
        if plan is not None:
            return _run_unobserved(roots, root_grads, *plan, retain_graph)
    dependencies = _count_dependencies(roots)
    if inputs is not None:
        input_edges = [t._gradient_edge() for t in inputs]
        wanted = {id(edge): t for edge, t in zip(input_edges, inputs) if edge is not None}
        needed = _nodes_leading_to(roots, wanted)
        if accumulate:  # backward(inputs=): torch runs an input's own node too
            needed.update(wanted)
        captured = dict.fromkeys(wanted)
        # torch queues only the nodes it executes or captures from (exec_info's
        # should_execute); the others never become ready here
        queued = needed.union(wanted)
        if len(root_grads) == 1:  # torch's graph root: always taken, if only for its hooks
            queued.add(id(roots[0]))
        for key in dependencies:
            if id(key) not in queued:
                dependencies[key] += _NEVER
    else:
        wanted = needed = captured = queued = None

    buffers = {id(node): grad for node, grad in zip(roots, root_grads)}
    ready = []
    for node in roots:  # torch's GraphRoot queues the ready roots in order
        if node not in dependencies and (queued is None or id(node) in queued):
            heappush(ready, _entry(node))

    previous_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    node = grad = None
    try:
        while ready:
            _, node = heappop(ready)
            if type(node) is _Sink:
                node, grad = node.sink, None  # no reference here: .grad may take the array
                if tracer is None and accumulate and not node._has_hooks and not create_graph:
                    # _run_sink's common case inline: a leaf's first gradient is the
                    # array itself when nobody else holds it (see _owned_array), else a
                    # copy; later ones add in place
                    g = buffers.pop(id(node), None)
                    if g is not None:
                        variable = node.variable
                        if variable._grad is None:
                            data = g._data
                            # the array's references: g._data, `data`, getrefcount's
                            # argument; the tensor's: `g`, getrefcount's argument
                            if not (data.base is None and data.flags.writeable
                                    and data.dtype == variable._data.dtype
                                    and _getrefcount(data) <= 3 and _getrefcount(g) <= 2):
                                data = np.array(data, dtype=variable._data.dtype, copy=True)
                            variable._grad = _tensor.make(data)
                            data = None
                        else:
                            _accumulate(variable, g, False)
                        g = None
                    continue
                _run_sink(node, buffers.pop(id(node), None), captured, accumulate, create_graph,
                          tracer)
                continue
            key = id(node)
            grad = buffers.pop(key, None)
            if node._has_hooks and grad is not None:
                grad = _hooks_before(node, grad, create_graph, needed is None or key in needed,
                                     tracer)
            if wanted is not None:
                if key in wanted:
                    captured[key] = grad
                    tensor = wanted[key]
                    if accumulate and grad is not None and not tensor._retains_grad:
                        _store_grad(tensor, node, grad, create_graph)
                if key not in needed:  # a target leading to no other: captured, never run
                    if tracer is not None:
                        tracer.captured(node, grad)
                    continue
            if grad is None:
                grads = None
            else:
                grads = apply_rules(node, grad)  # through the module: the profiler wraps it
                if node._has_hooks and node._hooks:
                    grads = _post_hooks(node, grads, grad, tracer)
            if not retain_graph:
                node._released = True
                if node.op.saves:
                    keep = node.op.kept_after_release
                    node._inputs = None if keep is None else tuple(map(keep, node._inputs))
                    node._out_data = node._out_ref = None
            if tracer is not None:
                _report_node(tracer, node, grad, grads, buffers, dependencies, retain_graph)
            i = 0
            for next_node, _ in node.next_functions:
                if next_node is not None:
                    next_key = id(next_node)
                    if grads is not None:
                        g = grads[i]
                        if g is not None:
                            previous = buffers.get(next_key)
                            buffers[next_key] = g if previous is None else previous + g
                    remaining = dependencies[next_node] - 1
                    dependencies[next_node] = remaining
                    if remaining == 0:
                        heappush(ready, (-next_node._seq, next_node) if next_node.op is not None
                                 else (_SINK_RANK, _Sink(next_node)))
                i += 1
            grads = g = None  # the buffers own the gradients now (see _owned_array)
    except BaseException as error:
        if tracer is not None:
            tracer.error(node, grad, error)
        raise
    finally:
        _grad_state.enabled = previous_mode

    if captured is not None:
        return [captured.get(id(edge)) if edge is not None else None for edge in input_edges]
    return None


def _run_unobserved(roots, root_grads, nodes, edges_into, retain_graph):
    """:func:`run_backward` for ``backward()`` when nothing watches the pass (no tracer,
    no ``inputs=``, no ``create_graph``, no profiler) and no leaf has hooks: the same
    walk in the same order, with plain arrays in the gradient buffers (keyed by node).

    ``nodes`` (from :func:`_walk`) are in the order torch's ready queue takes them:
    most recently created first. (A node is created after every node its edges lead to,
    so when the newest node not yet run is taken, all that feed it have run: it is
    ready, and torch, which always takes the newest ready one, takes it too.) So no
    queue and no counts, except for the leaves, ``edges_into`` each: a leaf's
    AccumulateGrad runs as soon as its last edge is in, before the next node, as in
    torch. Each node runs its op's node rule (``op.vjp_node``: all its gradients, as
    arrays, in one call); a node with hooks or without array rules gets its gradient
    as a tensor, through the general steps; the leaves get tensors in their ``.grad``."""
    buffers = {}
    for node, grad in zip(roots, root_grads):
        if grad is not None:
            if node.op is None and node not in edges_into:  # a leaf as a root, and no more
                _into_leaf(node, grad._data)
            else:
                buffers[node] = grad._data
    epoch = _EPOCH
    nothing = _NO_GRADS
    make = _tensor.make
    grad = grads = out = g = None
    leaves = []  # leaves whose last edge the node running now delivers
    previous_mode = _grad_state.enabled
    _grad_state.enabled = False
    try:
        for node in nodes:
            grad = buffers.pop(node, None)
            op = node.op
            if grad is None:
                grads = nothing  # no gradient reached it: only its edges into leaves count
            elif node._has_hooks or op.vjp_node is None:
                grads = _tensor_rules(node, grad)
            # node.saved_inputs() raises if they were freed or changed in place; its common
            # case (nothing freed, changed or packed) tested here without the call (which
            # also answers for an op that saves nothing)
            elif node._released or node._epoch != epoch[0] or node._unpack_hook is not None:
                grads = op.vjp_node(grad, node, node.saved_inputs())
            else:
                grads = op.vjp_node(grad, node, node._inputs)
            for (next_node, _), out in zip(node.next_functions, grads):
                if next_node is not None:
                    if out is not None:
                        if next_node in buffers:
                            buffers[next_node] = _array(buffers[next_node] + out)
                        else:
                            buffers[next_node] = out
                    if next_node.op is None:  # a leaf's AccumulateGrad
                        remaining = edges_into[next_node] - 1
                        edges_into[next_node] = remaining
                        if remaining == 0:
                            # torch runs it next, before any other node; not sooner
                            # here: `grad` may be a view of what the leaf takes
                            leaves.append(next_node)
            if not retain_graph:
                node._released = True
                if op.saves:
                    keep = op.kept_after_release  # an input's layout (autograd.saved), no values
                    node._inputs = None if keep is None else tuple(map(keep, node._inputs))
                    node._out_data = node._out_ref = None
            if leaves:
                # the buffers own the gradients now (see the steal in _into_leaf); the other
                # locals hold only forward values, which no leaf takes
                grad = grads = out = None
                for sink in leaves:
                    g = buffers.pop(sink, None)
                    if g is None:
                        continue
                    variable = sink.variable
                    # _into_leaf's common case inline: a leaf's first gradient, an array
                    # nobody else holds (references: `g`, getrefcount's argument)
                    if (variable._grad is None and g.base is None and g.flags.writeable
                            and g.dtype == variable._data.dtype and _getrefcount(g) <= 2):
                        variable._grad = make(g)
                    else:
                        _into_leaf(sink, g, 1)
                    g = None
                leaves.clear()
    finally:
        _grad_state.enabled = previous_mode
    return None


def _walk(roots):
    """``(nodes, edges_into)`` for :func:`_run_unobserved`: every node reachable from
    ``roots`` once (the roots among them), most recently created first, and the number
    of edges into each leaf's AccumulateGrad; None if one of those leaves has hooks
    (the general walk then keeps torch's order among them exactly)."""
    nodes = [root for root in roots if root.op is not None]
    if len(nodes) != len(roots) and any(root.op is None and root._has_hooks for root in roots):
        return None
    seen = set(nodes)
    edges_into = {}
    for node in nodes:  # the list grows as it is walked: each node is expanded once
        for next_node, _ in node.next_functions:
            if next_node is not None:
                if next_node.op is None:
                    if next_node in edges_into:
                        edges_into[next_node] += 1
                    elif next_node._has_hooks:
                        return None
                    else:
                        edges_into[next_node] = 1
                elif next_node not in seen:
                    seen.add(next_node)
                    nodes.append(next_node)
    if len(nodes) > 1:
        nodes.sort(key=_SEQ, reverse=True)
    return nodes, edges_into


def _merge_roots(roots, root_grads):
    """Each root once, with the sum of its gradients in the order given (torch's GraphRoot
    adds a repeated root's gradients into one buffer)."""
    merged = {}
    for node, grad in zip(roots, root_grads):
        if node in merged and grad is not None and merged[node] is not None:
            merged[node] = merged[node] + grad
        elif merged.get(node) is None:
            merged[node] = grad
    return list(merged), list(merged.values())


def _into_leaf(sink, grad, held: int = 0):
    """AccumulateGrad on an array, for :func:`_run_unobserved`. A leaf's first gradient
    is the array itself when nobody else holds it (references: ``grad``, getrefcount's
    argument, and the ``held`` ones of the caller, which took it from its buffer), as
    torch steals it; otherwise a copy: ``.grad`` never aliases another tensor. Later
    ones add in place."""
    variable = sink.variable
    current = variable._grad
    if current is not None:  # torch's `grad += new`, in place; .grad's version moves on
        np.add(current._data, grad, out=current._data, casting="unsafe")
        _tensor.shared_version_counter(current).bump()
        return
    base = grad.base
    if base is not None:
        if (type(base) is ndarray and base.shape == grad.shape and base.strides == grad.strides
                and _getrefcount(grad) <= 2 + held and _getrefcount(base) <= 3):
            # a view of all of an array nobody else holds (a weight's gradient through
            # TBackward0 is (gᵀx)ᵀᵀ): that array, as torch has it
            grad = base
        base = None
    dtype = variable._data.dtype
    if not (grad.base is None and grad.flags.writeable and grad.dtype == dtype
            and _getrefcount(grad) <= 2 + held):
        grad = np.array(grad, dtype=dtype, copy=True)
    variable._grad = _tensor.make(grad)


def _array(value) -> np.ndarray:
    """``value`` as an array: numpy hands the sum of two 0-d arrays back as a scalar."""
    return value if type(value) is ndarray else np.asarray(value)


def _tensor_rules(node, grad) -> list:
    """One node of :func:`_run_unobserved` through the general steps — its hooks, rules
    that have no array form (custom Functions): ``grad`` goes in as a tensor, and the
    gradients for its edges come out as arrays (None where there is none)."""
    grad = _tensor.make(grad)
    if node._has_hooks:
        grad = _hooks_before(node, grad, False, True, None)
    grads = apply_rules(node, grad)
    if node._has_hooks and node._hooks:
        grads = _post_hooks(node, grads, grad, None)
    return [None if g is None else g._data for g in grads]


def no_derivative(op, i) -> str:
    """torch's error for an input it has no derivative formula for (a NotImplemented
    node: for its whole kernel, named in the row's label)."""
    if op.name == "NotImplemented":
        return f"derivative for {op.label} is not implemented"
    argument = "target" if op.category == "loss" else f"input {i} of {op.name}"
    return f"the derivative for '{argument}' is not implemented."


_SEQ = attrgetter("_seq")

# The gradients of a node that no gradient reached: none for any edge.
_NO_GRADS = repeat(None)

# Added to the dependency count of a node that autograd.grad does not queue.
_NEVER = 1 << 40

# torch gives every AccumulateGrad the sequence number UINT64_MAX: a leaf's sink runs as
# soon as it is ready, before any other node. Nodes rank by -sequence number (heapq is a
# min-heap); the sinks share one rank below all of them.
_SINK_RANK = -(1 << 64)


class _Sink:
    """A ready AccumulateGrad in the queue. Sinks never compare less than one another:
    with equal ranks treated as equal, heapq sifts exactly as libstdc++'s
    std::priority_queue does (both move the hole down to a leaf, taking the right child
    on a tie, then sift up on a strict comparison), so ties break as in torch."""

    __slots__ = ("sink",)

    def __init__(self, sink):
        self.sink = sink

    def __lt__(self, other):
        return False


def _entry(node):
    """``node``'s item in the ready queue."""
    return (_SINK_RANK, _Sink(node)) if node.op is None else (-node._seq, node)


def _run_sink(sink, grad, captured, accumulate, create_graph, tracer):
    """An AccumulateGrad taken from the ready queue. Under ``autograd.grad`` torch
    captures the gradient (after the leaf's tensor hooks) and does not run the node."""
    if not accumulate:
        if grad is not None and sink._has_hooks:
            grad = _hooks_before(sink, grad, create_graph, False, tracer)
        captured[id(sink)] = grad
        if tracer is not None:
            tracer.captured(sink, grad)
        return
    if tracer is not None and not (sink._has_hooks and grad is not None):
        tracer.node_start(sink, grad)
    if sink._has_hooks and grad is not None:
        grad = _hooks_before(sink, grad, create_graph, True, tracer)
    if grad is not None:
        variable = sink.variable
        if tracer is None:
            _accumulate(variable, grad, create_graph)
        else:
            before = None if variable._grad is None else np.array(variable._grad._data, copy=True)
            _accumulate(variable, grad, create_graph)
            tracer.accumulated(sink, before, grad, variable._grad)
        if sink._has_hooks and sink._hooks:
            _post_hooks(sink, (), grad, tracer)  # after the accumulation


def _hooks_before(node, grad, create_graph, runs, tracer):
    """Tensor hooks, then retain_grad, then (if the node runs) node pre-hooks — the order
    of torch's call_tensor_pre_hooks and call_pre_hooks."""
    if tracer is not None and runs:
        tracer.node_start(node, grad)
    if type(node) is AccumulateGrad:
        hooks = node.variable._hooks
    else:
        hooks = node._tensor_prehooks
    if hooks:
        for hook in list(hooks):
            replaced = hook(grad)
            if tracer is not None:
                tracer.hook(node, "tensor_hook", hook, grad, replaced)
            if replaced is not None:
                grad = replaced
    if type(node) is not AccumulateGrad and node._retain_grad_ref is not None:
        _store_grad(node._retain_grad_ref(), node, grad, create_graph)
        if tracer is not None:
            tracer.hook(node, "retain_grad", None, grad, None)
    if runs and node._prehooks:
        for hook in list(node._prehooks):
            replaced = hook((grad,))
            if tracer is not None:
                tracer.hook(node, "prehook", hook, grad, replaced)
            if replaced is not None:
                grad = replaced[0]
    return grad


def _post_hooks(node, grads, grad, tracer):
    """Node post-hooks ``hook(grad_inputs, grad_outputs)``; torch uses what one returns."""
    for hook in list(node._hooks):
        replaced = hook(tuple(grads), (grad,))
        if tracer is not None:
            tracer.hook(node, "posthook", hook, grads, replaced)
        if replaced is not None:
            grads = list(replaced)
    return grads


def _report_node(tracer, node, grad, grads, buffers, dependencies, retain_graph):
    """Tell ``tracer`` what ``node`` did, just before the engine routes its gradients: its
    start (unless its hooks reported it), its saved tensors released, and for each edge
    the gradient sent, the sum it makes in a buffer already holding one (a fan-out), and
    how many edges the next node still waits for (0: it is ready; None: it will not run,
    autograd.grad does not need it)."""
    if not (node._has_hooks and grad is not None):
        tracer.node_start(node, grad)
    if not retain_graph and node.op.saves:
        tracer.released(node)
    sums = {}      # next node -> its buffer once this node's earlier edges are added
    counts = {}    # next node -> edges still to come, likewise
    make = _tensor.make
    i = 0
    for next_node, input_nr in node.next_functions:
        if next_node is not None:
            key = id(next_node)
            remaining = counts.get(key, dependencies[next_node]) - 1
            counts[key] = remaining
            g = grads[i] if grads is not None else None
            tracer.edge(node, i, next_node, input_nr, g, remaining if remaining < _NEVER else None)
            if g is not None:
                previous = sums.get(key, buffers.get(key))
                if previous is None:
                    sums[key] = g
                else:
                    sums[key] = total = make(previous._data + g._data)
                    tracer.buffer_add(next_node, previous, g, total)
        i += 1


def apply_rules(node, grad) -> list:
    """Gradients for each input of ``node`` given the gradient of its output."""
    op = node.op
    rule = op.vjp_node
    if rule is not None and not _grad_state.enabled:  # not recorded: the node rule on arrays
        if op.saves and (node._released or node._epoch != _EPOCH[0] or node._unpack_hook is not None):
            inputs = node.saved_inputs()  # raises if they were freed or changed in place
        else:
            inputs = node._inputs
        g = grad._data
        make = _tensor.make
        # a gradient passed on unchanged (expand, clone, casts) stays the same tensor
        return [None if out is None else grad if out is g else make(out)
                for out in rule(g, node, inputs)]
    if op.vjp_all is not None:
        return [None if g is None else _fit_to_input(g, meta)
                for g, meta in zip(op.vjp_all(node, grad), node._inputs)]
    if op.saves:
        # node.saved_inputs() raises if they were freed or changed in place; its
        # common case (nothing freed, changed or packed) tested here without the call
        if node._released or node._epoch != _EPOCH[0] or node._unpack_hook is not None:
            inputs = node.saved_inputs()
        else:
            inputs = node._inputs
        if op.saves_result:
            enabled = _grad_state.enabled
            result = _tensor.make(node._out_data, enabled, node if enabled else None)
        else:
            result = None
    else:
        inputs, result = node._inputs, None
    params = node._params
    rules = op.vjp
    variadic = type(rules) is not tuple
    grads = []
    i = 0
    for next_node, _ in node.next_functions:
        if next_node is None:
            grads.append(None)
        else:
            if not variadic:
                rule = rules[i]
                if rule is None:  # e.g. the target of a loss (torch has no formula either)
                    raise RuntimeError(no_derivative(op, i))
                g = rule(grad, result, *inputs, **params) if params else rule(grad, result, *inputs)
            else:
                g = rules(i, grad, result, *inputs, **params)
            if g is not None:
                inp = inputs[i]._data
                if g._data.shape != inp.shape or g._data.dtype != inp.dtype:
                    g = _fit_to_input(g, inputs[i])
            grads.append(g)
        i += 1
    return grads


_APPLY_RULES = apply_rules  # the engine's own, as long as no profiler replaced it


def edge_rules(g, node, inputs) -> list:
    """The node rule of a row that has no rule of its own (see
    :func:`gradstudio.ops.table.node_rule`): the op's array rule of each input that has
    an edge, its result summed back to the input's shape and cast to its dtype."""
    op = node.op
    rules = op.vjp_arrays
    result = node._out_data
    params = node._params
    Tensor = _tensor.Tensor
    arrays = [a._data if isinstance(a, Tensor) else a for a in inputs]
    grads = []
    i = 0
    for next_node, _ in node.next_functions:
        if next_node is None:
            grads.append(None)
        else:
            rule = rules[i]
            if rule is None:  # e.g. the target of a loss (no formula in torch)
                raise RuntimeError(no_derivative(op, i))
            out = rule(g, result, *arrays, **params) if params else rule(g, result, *arrays)
            target = arrays[i]
            if not (type(out) is ndarray and out.shape == target.shape and out.dtype == target.dtype):
                out = fit_array(out, target)
            grads.append(out)
        i += 1
    return grads


def fit_array(g, target) -> np.ndarray:
    """An array gradient summed back to ``target``'s shape and cast to its dtype."""
    if type(g) is not np.ndarray:
        g = np.asarray(g)  # numpy gives 0-d results as scalars
    if g.shape != target.shape:
        g = sum_to_shape(g, target.shape)
    if g.dtype != target.dtype:
        g = g.astype(target.dtype)
    return g


def sum_to_shape(array: np.ndarray, size: tuple) -> np.ndarray:
    """``array`` summed down to ``size``, a shape that broadcasts to its own (the
    inverse of broadcasting)."""
    axes = broadcast_axes(array.shape, size)
    lead = len(array.shape) - len(size)
    if size and len(axes) == lead:  # only leading axes (a bias): the reduction has the shape already,
        return np.add.reduce(array, axis=axes)  # and is an array of its own (.grad can take it)
    return np.add.reduce(array, axis=axes, keepdims=True).reshape(size)


def broadcast_axes(shape: tuple, size: tuple) -> tuple:
    """The axes of an array of ``shape`` to sum (keeping dims) to get one of ``size``,
    when ``size`` broadcasts to ``shape``: the extra leading axes, and those where
    ``size`` has 1."""
    lead = len(shape) - len(size)
    return tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)


def _fit_to_input(g, inp):
    """Sum a broadcast gradient back to the input's shape; cast to its dtype."""
    target = inp._data
    if not _grad_state.enabled:  # not recorded: numpy directly
        return _tensor.make(fit_array(g._data, target))
    if g._data.shape != target.shape:
        g = g.sum_to_size(*target.shape) if target.shape else g.sum()
    if g._data.dtype != target.dtype:
        g = g.to(_tensor._dt.from_numpy_dtype(target.dtype))
    return g


def _count_dependencies(roots) -> dict:
    """Number of edges into each node reachable from ``roots``, keyed by the node
    (iterative DFS; a node hashes by identity, without the call ``id()`` costs)."""
    dependencies: dict = {}
    stack = list(roots)
    # A node is expanded once: when its first incoming edge is counted (roots are
    # expanded from the start, so one reached again from another root is not). A leaf's
    # AccumulateGrad has no edges: it is never put on the stack.
    skip = set(stack) if len(stack) > 1 else ()
    while stack:
        for next_node, _ in stack.pop().next_functions:
            if next_node is not None:
                if next_node in dependencies:
                    dependencies[next_node] += 1
                else:
                    dependencies[next_node] = 1
                    if next_node.next_functions and next_node not in skip:
                        stack.append(next_node)
    return dependencies


def _nodes_leading_to(roots, targets) -> set:
    """Ids of the nodes that must run: those from which a target can be reached through at
    least one edge. A target's own node runs only if another target lies beyond it (torch
    captures the gradient flowing into it without running it)."""
    reaches = set(targets)
    needed = set()
    done = set()
    # Iterative post-order: a node is decided after all of its successors.
    stack = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            if any(n is not None and id(n) in reaches for n, _ in node.next_functions):
                needed.add(key)
                reaches.add(key)
            continue
        if key in done:
            continue
        done.add(key)
        stack.append((node, True))
        for next_node, _ in node.next_functions:
            if next_node is not None and id(next_node) not in done:
                stack.append((next_node, False))
    return needed


def _owned_array(grad, dtype) -> np.ndarray:
    """``grad``'s values as an array nobody else holds: the array itself when the
    engine made it and holds the only reference (torch "steals" it the same way),
    otherwise a copy — a leaf's .grad must never alias another tensor."""
    data = grad._data
    # References when nobody else holds them — to the array: grad._data, the local
    # `data`, getrefcount's argument; to the tensor: _run_sink's, _accumulate's and this
    # function's parameters, getrefcount's argument.
    if (data.base is None and data.flags.writeable and data.dtype == dtype
            and _getrefcount(data) <= 3 and _getrefcount(grad) <= 4):
        return data
    return np.array(data, dtype=dtype, copy=True)


def _copy_of(grad):
    from ..ops.overwrite import copy_of  # torch's CopyBackwards node
    return copy_of(grad)


def _accumulate(variable, grad, create_graph: bool):
    """AccumulateGrad: ``variable.grad += grad`` with torch's aliasing rules."""
    current = variable._grad
    if current is None:
        if create_graph:
            # a copy, recorded when grad has a graph: .grad never aliases another tensor
            variable._grad = _copy_of(grad) if grad._requires_grad else _tensor.make(
                np.array(grad._data, dtype=variable._data.dtype, copy=True))
        else:
            variable._grad = _tensor.make(_owned_array(grad, variable._data.dtype))
    elif create_graph:
        variable._grad = current + grad
    else:
        # torch's `grad += new`, in place even when .grad has a graph (create_graph
        # before): it keeps its grad_fn, and its version moves on
        np.add(current._data, grad._data, out=current._data, casting="unsafe")
        _tensor.shared_version_counter(current).bump()


def _store_grad(tensor, node, grad, create_graph):
    """Store ``grad`` in a non-leaf tensor's ``.grad`` (retain_grad, backward(inputs=))."""
    if tensor is None or tensor.grad_fn is not node:
        return
    if tensor._grad is None:
        tensor._grad = grad if create_graph else _tensor.make(np.array(grad._data, copy=True))
    else:
        tensor._grad = tensor._grad + grad
