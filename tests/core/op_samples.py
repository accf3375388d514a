"""An op row's sample inputs as the op-table tests use them: drawn from the row's own
domain with a seed of its id, which of them are differentiable, and as engine tensors.

Imported by the test modules next to it (pytest puts this folder on sys.path)."""
from __future__ import annotations

import numpy as np

import gradstudio as torch
from gradstudio.ops.table import has_derivative


def sample(op, seed=0):
    rng = np.random.default_rng(abs(hash(op.id)) % 2**32 + seed)
    return op.sample(rng)


def differentiable(op, args) -> list:
    """Positions of the float array arguments that the row has a VJP for."""
    positions = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            rule = op.vjp[i] if isinstance(op.vjp, tuple) else op.vjp
            if has_derivative(rule):
                positions.append(i)
    return positions


def tensors(args, positions):
    """The arguments as engine tensors: float arrays in float64, requiring grad at ``positions``."""
    return tuple(torch.tensor(a, dtype=torch.float64, requires_grad=i in positions)
                 if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
                 (torch.from_numpy(a) if isinstance(a, np.ndarray) else a)
                 for i, a in enumerate(args))
