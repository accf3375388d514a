"""grad_fn classes against PyTorch 2.13, over the op table's samples: the class of a
row's node has torch's name and prints as torch's (``<class 'MulBackward0'>``), and is
a ``torch.autograd.graph.Node``; so is a leaf's AccumulateGrad."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as gs
from gradstudio.ops import OPS, apply
from gradstudio.ops.table import has_derivative

pytestmark = pytest.mark.oracle

# rows whose torch replay does not record the row's own node
REPLAY_RECORDS_ANOTHER = {
    "shape.TO_COPY": "the sample casts float64 to float64: torch returns the input itself",
    "shape.SUM_TO": "torch's sum_to_size sums, then views ((2,3,4) -> (3,1) ends in ViewBackward0)",
    "linalg.SQUEEZE_INPLACE": "the replay squeezes out of place (SqueezeBackward1)",
    "losses.L1_LOSS": "torch 2.13 decomposes l1_loss (abs, sum); the engine's F.l1_loss does too",
    **dict.fromkeys(("shape.UNSAFE_VIEW", "shape.RESHAPE_ALIAS", "shape.ALIAS"),
                    "torch makes this node inside its kernels; the replay is the public view (ViewBackward0)"),
}
COMPARED = [op for op in OPS if not op.internal and op.torch is not None
            and op.id not in REPLAY_RECORDS_ANOTHER]


def replay(lib, op):
    args, params = op.sample(np.random.default_rng(abs(hash(op.id)) % 2**32))
    rules = op.vjp if isinstance(op.vjp, tuple) else [op.vjp] * len(args)
    inputs = [lib.tensor(a, dtype=lib.float64, requires_grad=has_derivative(rules[i]))
              if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
              (lib.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a) for i, a in enumerate(args)]
    return apply(op, tuple(inputs), params) if lib is gs else op.torch(lib, *inputs, **params)


@pytest.mark.parametrize("op", COMPARED, ids=[op.id for op in COMPARED])
def test_the_node_class_is_torchs(op, torch):
    ours, theirs = type(replay(gs, op).grad_fn), type(replay(torch, op).grad_fn)
    assert (ours.__name__, ours.__qualname__, ours.__module__, repr(ours)) == (
        theirs.__name__, theirs.__qualname__, theirs.__module__, repr(theirs))
    assert issubclass(ours, gs.autograd.graph.Node) and issubclass(theirs, torch.autograd.graph.Node)


def test_the_excepted_rows_are_still_recorded_differently(torch):
    for op_id in REPLAY_RECORDS_ANOTHER:
        op = gs.ops.table.op_by_id(op_id)
        theirs = replay(torch, op).grad_fn
        assert theirs is None or type(theirs).__name__ != op.name, op_id


def test_accumulate_grad_and_a_custom_functions_class_are_torchs(torch):
    def run(lib):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        x = lib.ones(2, requires_grad=True)
        sink, custom = (x * 2).grad_fn.next_functions[0][0], Scale.apply(x).grad_fn
        return (repr(type(sink)), sink.name(), isinstance(sink, lib.autograd.graph.Node),
                type(custom).__name__, type(custom).__qualname__, custom.name(),
                isinstance(custom, lib.autograd.graph.Node), type(custom) is Scale._backward_cls,
                len(custom.saved_tensors))
    assert run(gs) == run(torch)
