"""``grad_fn._saved_*`` against PyTorch 2.13 over the op table's samples: every row's
node has the names torch's node has (each row's ``saved``), with torch's values and
types (a saved tensor equal to torch's, dims and sizes as tuples, negative ints read
as torch reads them), and after a backward without ``retain_graph`` the same reads
raise torch's "backward through the graph a second time" error, the rest still read."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as gs
from gradstudio.ops import OPS

from test_node_classes_torch import REPLAY_RECORDS_ANOTHER, replay

pytestmark = pytest.mark.oracle

# torch's einsum records the last node of its own decomposition (permutes, views, bmm of
# reshaped operands): its saved values are intermediates our one-node rows never make
EINSUM = "torch's einsum node saves intermediates of its decomposition; the row saves none"
DECOMPOSED = {op.id: EINSUM for op in OPS if op.id.startswith("einsum.")}
LU = "torch saves its LU factorization (LU, pivots); the engine differentiates through the inverse, no LU is made"
NAMES_DIFFER = {"matrix_functions.DET": LU, "matrix_functions.SLOGDET": LU, "matrix_functions.SOLVE": LU}
# (row, name) whose value differs for a stated reason
VALUES_DIFFER = {
    ("nn.BATCH_NORM", "running_mean"): "torch's kernel updates the running stats in place; the row leaves that to "
                                       "F.batch_norm, so torch's saved tensor is the updated one",
    ("nn.BATCH_NORM", "running_var"): "as running_mean",
}
SKIPPED = {**REPLAY_RECORDS_ANOTHER, **DECOMPOSED}  # torch's replay records another node


def rows(xfail_names: bool) -> list:
    """Every row torch runs; skipped where its replay records another node, and (for the
    names) expected to fail where torch saves what the engine does not make."""
    return list(_rows(xfail_names))


def _rows(xfail_names: bool):
    for op in OPS:
        if op.internal or op.torch is None:
            continue
        if op.id in SKIPPED:
            yield pytest.param(op, id=op.id, marks=pytest.mark.skip(reason=SKIPPED[op.id]))
        elif xfail_names and op.id in NAMES_DIFFER:
            yield pytest.param(op, id=op.id, marks=pytest.mark.xfail(reason=NAMES_DIFFER[op.id], strict=True))
        else:
            yield pytest.param(op, id=op.id)


def saved_names(node) -> set:
    return {a for a in dir(node) if a.startswith("_saved_") and _answers(node, a)}


def _answers(node, attribute) -> bool:
    try:
        getattr(node, attribute)
    except AttributeError:   # a name of another row sharing the class
        return False
    except RuntimeError:     # a saved tensor already freed: the node has it
        return True
    return True


def same_value(ours, theirs, torch) -> bool:
    if isinstance(theirs, torch.Tensor):
        return (isinstance(ours, gs.Tensor) and tuple(ours.shape) == tuple(theirs.shape)
                and str(ours.dtype) == str(theirs.dtype)
                and np.allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-8))
    if isinstance(theirs, tuple):
        return (isinstance(ours, tuple) and len(ours) == len(theirs)
                and all(same_value(a, b, torch) for a, b in zip(ours, theirs)))
    return type(ours) is type(theirs) and ours == theirs


@pytest.mark.parametrize("op", rows(xfail_names=True))
def test_a_rows_node_has_torchs_saved_names(op, torch):
    ours, theirs = replay(gs, op).grad_fn, replay(torch, op).grad_fn
    assert saved_names(ours) == saved_names(theirs)


@pytest.mark.parametrize("op", rows(xfail_names=False))
def test_each_saved_value_is_torchs(op, torch):
    # over the names both have: the test above holds the names to torch's
    ours, theirs = replay(gs, op).grad_fn, replay(torch, op).grad_fn
    for name in sorted(saved_names(theirs) & saved_names(ours)):
        if (op.id, name[7:]) in VALUES_DIFFER:
            continue
        mine, torchs = getattr(ours, name), getattr(theirs, name)
        assert same_value(mine, torchs, torch), (name, mine, torchs)


@pytest.mark.parametrize("op", rows(xfail_names=False))
def test_after_backward_the_saved_tensors_are_freed_as_torchs(op, torch):
    both = saved_names(replay(gs, op).grad_fn) & saved_names(replay(torch, op).grad_fn)

    def reads(lib):
        y = replay(lib, op)
        node = y.grad_fn
        y.sum().backward()
        outcome = {}
        for name in sorted(both):
            try:
                value = getattr(node, name)
            except RuntimeError as error:
                outcome[name] = str(error)
            else:
                outcome[name] = type(value).__name__
        return outcome
    assert reads(gs) == reads(torch)


def test_the_names_that_differ_still_differ(torch):
    for op_id in NAMES_DIFFER:
        op = gs.ops.table.op_by_id(op_id)
        assert saved_names(replay(gs, op).grad_fn) < saved_names(replay(torch, op).grad_fn), op_id


@pytest.mark.xfail(strict=True, reason="the engine wraps a negative dim before it records the node (x.sum(-1) "
                   "keeps dim=1), where torch saves what was passed and reads -1 as 2**64-1; the "
                   "unwrapped params that keep their sign (offset, ignore_index, padding_idx, pad) "
                   "are compared over the table above")
def test_a_negative_dim_reads_as_torch_reads_it(torch):
    def run(lib):
        x = lib.ones(2, 3, requires_grad=True)
        return (x.sum(-1).grad_fn._saved_dim, x.softmax(-1).grad_fn._saved_dim,
                x.transpose(-1, 0).grad_fn._saved_dim0, x[:, -2:].grad_fn._saved_start,
                x.unsqueeze(-1).grad_fn._saved_dim)
    assert run(gs) == run(torch)


def test_sizes_and_strides_read_without_unpacking_and_after_backward(torch):
    # a transposed mat2 (as linear's weight.t()) has strides (1, 4); with saved-tensor
    # hooks the sizes read without calling unpack, and they outlive the freed tensors
    def run(lib):
        log = []
        a = lib.ones(3, 4, requires_grad=True)
        w = lib.ones(2, 4, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: (log.append("pack"), t)[1],
                                                    lambda t: (log.append("unpack"), t)[1]):
            y = a.mm(w.t())
        node = y.grad_fn
        log.append(("sizes", node._saved_self_sym_sizes, node._saved_mat2_sym_strides))
        log.append(("self", tuple(node._saved_self.shape)))
        y.sum().backward()
        log.append(("after", node._saved_mat2_sym_sizes, node._saved_mat2_sym_strides))
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            node._saved_mat2
        return log
    assert run(gs) == run(torch)
