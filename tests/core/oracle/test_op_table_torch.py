"""Every row of the op table against PyTorch: values and gradients of the sample
inputs, replayed through ``gradstudio.studio.oracle`` (which the app uses too)."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as gs
from gradstudio.studio import trace as graph_module
from gradstudio.studio import oracle
from gradstudio.ops import OPS, apply
from gradstudio.ops.table import has_derivative

pytestmark = pytest.mark.oracle
REPLAYED = [op for op in OPS if not op.internal]


def test_every_public_row_has_a_torch_replay():
    missing = [op.id for op in REPLAYED if op.torch is None]
    assert not missing


@pytest.mark.parametrize("op", REPLAYED, ids=[op.id for op in REPLAYED])
def test_engine_gradients_equal_torch(op):
    torch = pytest.importorskip("torch")
    args, params = op.sample(np.random.default_rng(abs(hash(op.id)) % 2**32))
    rules = op.vjp if isinstance(op.vjp, tuple) else [op.vjp] * len(args)  # cat, stack: one rule
    with graph_module.tracing():
        inputs = tuple(gs.tensor(a, dtype=gs.float64, requires_grad=has_derivative(rules[i]))
                       if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
                       (gs.from_numpy(a) if isinstance(a, np.ndarray) else a) for i, a in enumerate(args))
        out = apply(op, inputs, params)
    names = {id(t): (f"in{i}", t) for i, t in enumerate(inputs) if isinstance(t, gs.Tensor)}
    g = graph_module.capture(out, names)
    upstream = np.random.default_rng(7).uniform(0.5, 1.5, size=out.shape)
    out.backward(gs.tensor(upstream, dtype=gs.float64))
    leaves = [v.id for v in g.nodes if v.kind == "leaf" and v.requires_grad]
    expected = oracle.torch_gradients(g, upstream, leaves)
    assert expected, f"torch could not replay {op.id}"
    for vertex in leaves:
        tensor = names_by_vertex(g, names)[vertex]
        if tensor.grad is None:  # an input the op does not differentiate (a BCE target)
            continue
        np.testing.assert_allclose(tensor.grad.numpy(), expected[vertex], rtol=1e-7, atol=1e-10,
                                   err_msg=op.id)


def names_by_vertex(g, names):
    by_name = {name: tensor for name, tensor in names.values()}
    return {v.id: by_name[v.name] for v in g.nodes if v.name in by_name}
