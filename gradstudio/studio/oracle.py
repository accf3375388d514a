"""PyTorch as a fourth opinion, when it is installed.

:func:`torch_gradients` replays a recorded :class:`~gradstudio.studio.trace.Graph`
with real torch ops in float64 and returns the gradient torch computes for
each leaf. Each row of the op table says how torch runs it (its ``torch``
field); the table-driven oracle test checks that every row that is not
internal to double backward has one. Importing torch is slow, so nothing here imports it
until it is asked for, and a missing torch just means no fourth column.
"""
from __future__ import annotations

import importlib.util

import numpy as np


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _torch():
    import torch
    return torch


def _as_torch(value, requires_grad=False):
    torch = _torch()
    if isinstance(value, np.ndarray):
        array = value.astype(np.float64) if value.dtype.kind == "f" else value
        return torch.tensor(array, requires_grad=requires_grad and array.dtype.kind == "f")
    return value


def torch_gradients(graph, gradient, leaf_ids) -> dict:
    """{leaf vertex: torch's gradient (float64 ndarray)}; {} when torch is missing
    or the graph has an op torch cannot replay."""
    if not available():
        return {}
    torch = _torch()
    values: dict = {}
    leaves = {}
    with torch.enable_grad():
        for vertex in graph.nodes:
            if vertex.kind != "op":
                tensor = _as_torch(vertex.value, vertex.id in leaf_ids)
                values[vertex.id] = tensor
                if vertex.id in leaf_ids:
                    leaves[vertex.id] = tensor
                continue
            replay = vertex.op.torch
            if replay is None:
                return {}
            values[vertex.id] = replay(torch, *[values[i] for i in vertex.inputs], **vertex.params)
        root = values[graph.root]
        weights = None if gradient is None else torch.tensor(np.asarray(gradient, dtype=np.float64))
        grads = torch.autograd.grad(root, [leaves[i] for i in leaf_ids], grad_outputs=weights,
                                    allow_unused=True)
    return {i: (g.numpy() if g is not None else np.zeros(graph[i].shape)) for i, g in zip(leaf_ids, grads)}
