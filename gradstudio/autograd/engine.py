"""The backward engine: an iterative walk of the graph, like torch's.

It counts, for every node reachable from the roots, how many edges lead into
it; a node runs once all of them have delivered their gradient (summed in a
buffer), and among ready nodes the most recently created runs first, as in
torch's ready queue. No recursion, so a 100,000-op chain is fine. Broadcasting
is undone here, once for all ops: a rule's gradient is summed back to its
input's shape and cast to its dtype. Leaves receive gradients through their
:class:`~gradstudio.autograd.node.AccumulateGrad` sink, or — for
``autograd.grad`` — the gradients are captured and returned instead.
"""
from __future__ import annotations

import heapq

import numpy as np

from .. import tensor as _tensor  # the module; Tensor is looked up at call time (import cycle)
from .grad_mode import state as _grad_state
from .node import AccumulateGrad, Node


def run_backward(roots, root_grads, *, retain_graph: bool, create_graph: bool,
                 inputs=None, accumulate: bool = True):
    """Propagate ``root_grads`` from ``roots`` (gradient edges: Node or AccumulateGrad).

    ``inputs``: tensors whose gradient is wanted. With ``accumulate`` the
    gradients go into ``.grad`` (only of ``inputs`` if given); without, the
    gradient arriving at each input is returned, in order (None if none did).
    """
    dependencies = _count_dependencies(roots)
    if inputs is not None:
        input_edges = [t._gradient_edge() for t in inputs]
        wanted = {id(edge): t for edge, t in zip(input_edges, inputs) if edge is not None}
        needed = _nodes_leading_to(roots, wanted)
        captured = dict.fromkeys(wanted)
    else:
        wanted = needed = captured = None

    buffers: dict = {}
    ready: list = []
    for node, grad in zip(roots, root_grads):
        key = id(node)
        buffers[key] = grad if key not in buffers else buffers[key] + grad
    for node in _unique(roots):
        if dependencies.get(id(node), 0) == 0:
            heapq.heappush(ready, (-node._seq, id(node), node))

    previous_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    try:
        while ready:
            _, key, node = heapq.heappop(ready)
            grad = buffers.pop(key, None)
            if grad is not None and node._prehooks:
                grad = _run_prehooks(node, grad)
            if type(node) is AccumulateGrad:
                variable = node.variable
                if grad is not None and variable._hooks:
                    grad = _run_tensor_hooks(variable._hooks, grad)
                if wanted is not None:
                    if key not in wanted:
                        continue
                    captured[key] = grad
                if accumulate and grad is not None:
                    _accumulate(variable, grad, create_graph)
                continue

            if grad is not None and node._tensor_prehooks:
                grad = _run_tensor_hooks(node._tensor_prehooks, grad)
            if grad is not None and node._retain_grad_ref is not None:
                _retain(node._retain_grad_ref(), node, grad, create_graph)
            if wanted is not None and key in wanted:
                captured[key] = grad
                tensor = wanted[key]
                if accumulate and grad is not None and not tensor._retains_grad:
                    _retain(tensor, node, grad, create_graph)
            if grad is None or (needed is not None and key not in needed):
                grads = None
            else:
                grads = _apply_rules(node, grad)
                if node._hooks:
                    for hook in list(node._hooks):
                        hook(tuple(grads), (grad,))
            if not retain_graph:
                node.release()
            for i, (next_node, _) in enumerate(node.next_functions):
                if next_node is None:
                    continue
                next_key = id(next_node)
                if grads is not None:
                    g = grads[i]
                    if g is not None:
                        previous = buffers.get(next_key)
                        buffers[next_key] = g if previous is None else previous + g
                remaining = dependencies[next_key] - 1
                dependencies[next_key] = remaining
                if remaining == 0:
                    heapq.heappush(ready, (-next_node._seq, next_key, next_node))
    finally:
        _grad_state.enabled = previous_mode

    if captured is not None:
        return [captured.get(id(edge)) if edge is not None else None for edge in input_edges]
    return None


def _unique(nodes):
    seen = set()
    for node in nodes:
        if id(node) not in seen:
            seen.add(id(node))
            yield node


def _count_dependencies(roots) -> dict:
    """Number of edges into each node reachable from ``roots`` (iterative DFS)."""
    dependencies: dict = {}
    seen = set()
    stack = []
    for root in roots:
        if id(root) not in seen:
            seen.add(id(root))
            stack.append(root)
    while stack:
        node = stack.pop()
        for next_node, _ in node.next_functions:
            if next_node is None:
                continue
            key = id(next_node)
            dependencies[key] = dependencies.get(key, 0) + 1
            if key not in seen:
                seen.add(key)
                stack.append(next_node)
    return dependencies


def _nodes_leading_to(roots, targets) -> set:
    """Ids of the nodes from which some target can be reached (targets included)."""
    needed = set(targets)
    # Iterative post-order: a node is decided after all of its successors.
    done = set()
    stack = [(root, False) for root in _unique(roots)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            if key not in needed and any(n is not None and id(n) in needed
                                         for n, _ in node.next_functions):
                needed.add(key)
            continue
        if key in done:
            continue
        done.add(key)
        stack.append((node, True))
        for next_node, _ in node.next_functions:
            if next_node is not None and id(next_node) not in done:
                stack.append((next_node, False))
    return needed


def _apply_rules(node: Node, grad):
    """Gradients for each input of ``node`` given the gradient of its output."""
    Tensor = _tensor.Tensor
    op = node.op
    if op.vjp_all is not None:
        return [None if g is None else _fit_to_input(g, meta)
                for g, meta in zip(op.vjp_all(node, grad), node._inputs)]
    inputs = node.saved_inputs()
    if op.saves_result:
        result = Tensor._make(node._out_data, _grad_state.enabled,
                              node if _grad_state.enabled else None)
    else:
        result = None
    params = node._params or {}
    rules = op.vjp
    grads = []
    for i, (next_node, _) in enumerate(node.next_functions):
        if next_node is None:
            grads.append(None)
            continue
        if type(rules) is tuple:
            g = rules[i](grad, result, *inputs, **params)
        else:
            g = rules(i, grad, result, *inputs, **params)
        if g is not None:
            g = _fit_to_input(g, inputs[i])
        grads.append(g)
    return grads


def _fit_to_input(g, inp):
    """Sum a broadcast gradient back to the input's shape; cast to its dtype."""
    shape = inp.shape if not hasattr(inp, "_data") else inp._data.shape
    if g._data.shape != shape:
        g = g.sum_to_size(*shape) if shape else g.sum()
    target = inp.dtype_np if not hasattr(inp, "_data") else inp._data.dtype
    if g._data.dtype != target:
        g = g.to(target)
    return g


def _run_prehooks(node, grad):
    for hook in list(node._prehooks):
        replaced = hook((grad,))
        if replaced is not None:
            grad = replaced[0]
    return grad


def _run_tensor_hooks(hooks, grad):
    for hook in list(hooks):
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    return grad


def _accumulate(variable, grad, create_graph: bool):
    """AccumulateGrad: ``variable.grad += grad`` with torch's aliasing rules."""
    Tensor = _tensor.Tensor
    if variable._grad is None:
        if create_graph:
            variable._grad = grad
        else:
            variable._grad = Tensor._make(np.array(grad._data, dtype=variable._data.dtype, copy=True))
    elif create_graph or variable._grad.grad_fn is not None:
        variable._grad = variable._grad + grad
    else:
        np.add(variable._grad._data, grad._data, out=variable._grad._data, casting="unsafe")
        variable._grad._vc[0] += 1


def _retain(tensor, node, grad, create_graph):
    """Store ``grad`` in a non-leaf tensor's ``.grad`` (retain_grad, backward(inputs=))."""
    Tensor = _tensor.Tensor
    if tensor is None or tensor.grad_fn is not node:
        return
    if tensor._grad is None:
        tensor._grad = grad if create_graph else Tensor._make(np.array(grad._data, copy=True))
    else:
        tensor._grad = tensor._grad + grad
