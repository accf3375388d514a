"""PyTorch as a fourth opinion, when it is installed.

:func:`torch_gradients` replays a recorded :class:`~gradstudio.studio.trace.Graph`
with real torch ops in float64 (through :func:`~gradstudio.studio.trace.interpret`)
and returns the gradient torch computes for each leaf. Each row of the op table
says how torch runs it (its ``torch`` field); the table-driven oracle test checks
that every row that is not internal to double backward has one. Importing torch
is slow, so nothing here imports it until it is asked for, and a missing torch
just means no fourth column. The engine is not imported either until a replay
is asked for: ``gradstudio check``'s parent process only asks :func:`available`,
and its time limit counts from the moment the command started.
"""
from __future__ import annotations

import importlib.util

import numpy as np


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _torch():
    import torch
    return torch


class _NoReplay(Exception):
    """A row without a ``torch`` field: torch cannot replay this graph."""


class TorchBackend:
    """The recorded graph replayed with torch in float64, through each row's
    ``torch`` field; the leaves in ``leaf_ids`` require grad."""

    def __init__(self, torch, leaf_ids):
        self.torch = torch
        self.leaf_ids = set(leaf_ids)

    def leaf(self, vertex):
        value = vertex.value
        if isinstance(value, np.ndarray):
            array = value.astype(np.float64) if value.dtype.kind == "f" else value
            return self.torch.tensor(array, requires_grad=vertex.id in self.leaf_ids and array.dtype.kind == "f")
        return value

    const = leaf

    def op(self, vertex, args):
        replay = vertex.op.torch
        if replay is None:
            raise _NoReplay(vertex.op.name)
        return replay(self.torch, *args, **vertex.params)


def torch_gradients(graph, gradient, leaf_ids) -> dict:
    """{leaf vertex: torch's gradient (float64 ndarray)}; {} when torch is missing
    or the graph has an op torch cannot replay."""
    if not available():
        return {}
    from gradstudio.studio.trace import interpret  # loads the engine (see the module docstring)
    torch = _torch()
    with torch.enable_grad():
        try:
            values = interpret(graph, TorchBackend(torch, leaf_ids))
        except _NoReplay:
            return {}
        weights = None if gradient is None else torch.tensor(np.asarray(gradient, dtype=np.float64))
        grads = torch.autograd.grad(values[graph.root], [values[i] for i in leaf_ids],
                                    grad_outputs=weights, allow_unused=True)
    return {i: (g.numpy() if g is not None else np.zeros(graph[i].shape)) for i, g in zip(leaf_ids, grads)}
