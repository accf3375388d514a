"""Every grad_fn is an instance of the class of its name, as in torch: one class per
grad_fn name (``type(y.grad_fn).__name__ == "MulBackward0"``), shared by the rows
that produce that name, with torch's ``_saved_*`` attributes as class attributes the
row declares; a custom Function has a class of its own (``F._backward_cls``)."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio as torch
from gradstudio.autograd.graph import Node
from gradstudio.autograd.node import AccumulateGrad, OpNode
from gradstudio.autograd.saved import Input, Result, SavedArg, SavedAttribute
from gradstudio.ops import OPS, apply

from op_samples import differentiable, sample, tensors

RECORDED = [op for op in OPS if not op.internal]


def recorded_node(op):
    args, params = sample(op)
    out = apply(op, tensors(args, differentiable(op, args)), params)
    assert out.grad_fn is not None, f"{op.id}: its sample records no node"
    return out.grad_fn


@pytest.mark.parametrize("op", RECORDED, ids=[op.id for op in RECORDED])
def test_a_rows_node_is_of_the_class_named_as_its_grad_fn(op):
    node = recorded_node(op)
    cls = type(node)
    assert cls.__name__ == cls.__qualname__ == op.name
    assert repr(cls) == f"<class '{op.name}'>"
    assert issubclass(cls, OpNode) and isinstance(node, Node) and cls is not OpNode
    assert op.node_class is cls
    for key in op.saved:
        assert isinstance(cls.__dict__["_saved_" + key], SavedAttribute), (op.id, key)


@pytest.mark.parametrize("op", RECORDED, ids=[op.id for op in RECORDED])
def test_a_row_declares_saved_tensors_only_where_it_keeps_them(op):
    # Input reads a saved input, Result the saved output, SavedArg an index array of the
    # params: a row that does not keep them would answer a shape-only stand-in
    for key, source in op.saved.items():
        if isinstance(source, Input):
            assert op.saves_inputs and source.index < max(op.arity, 1), (op.id, key)
        if isinstance(source, Result):
            assert op.saves_result, (op.id, key)
        if isinstance(source, SavedArg):
            assert op.saves, (op.id, key)


def test_rows_of_one_name_share_one_class_and_a_node_answers_only_for_its_row():
    x = torch.ones(2, 3, requires_grad=True)
    by_sum = torch.einsum("ij->i", x)    # einsum.SUM: saves nothing torch's node saves
    by_dim = x.sum(1)                    # reduction.SUM_DIM
    assert type(by_sum.grad_fn) is type(by_dim.grad_fn)
    assert type(by_sum.grad_fn).__name__ == "SumBackward1"
    assert by_dim.grad_fn._saved_dim == (1,) and by_dim.grad_fn._saved_keepdim is False
    assert by_dim.grad_fn._saved_self_sym_sizes == (2, 3)
    with pytest.raises(AttributeError, match="'SumBackward1' object has no attribute '_saved_dim'"):
        by_sum.grad_fn._saved_dim
    with pytest.raises(AttributeError, match="'SumBackward1' object has no attribute '_saved_self'"):
        by_dim.grad_fn._saved_self
    power = x.pow(torch.ones(2, 3))      # PowBackward1: torch's exponent, not other
    assert power.grad_fn._saved_exponent is not None and power.grad_fn._saved_self is x


def test_no_node_class_has_a_getattr_hook():
    # CPython specializes attribute reads only on classes without one: the engine reads
    # node fields on every step
    x = torch.ones(2, 3, requires_grad=True)
    classes = {type(y.grad_fn) for y in (x * 2, x.exp(), x.sum(), x.t(), x @ x.t())} | {OpNode}
    for cls in classes:
        assert not any("__getattr__" in base.__dict__ for base in cls.__mro__), cls


def test_accumulate_grad_is_a_node_named_as_torch_names_it():
    x = torch.ones(2, requires_grad=True)
    sink = (x * 2).grad_fn.next_functions[0][0]
    assert type(sink) is AccumulateGrad and isinstance(sink, Node)
    assert repr(type(sink)) == "<class 'AccumulateGrad'>"
    assert sink.name() == "torch::autograd::AccumulateGrad"


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.factor = 2
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * ctx.factor


class Split(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g, h):
        return g * 2 + h * 3


def test_a_custom_function_has_its_own_node_class_which_reads_its_ctx():
    x = torch.ones(2, requires_grad=True)
    y = Double.apply(x)
    cls = type(y.grad_fn)
    assert cls is Double._backward_cls and cls.__name__ == "DoubleBackward"
    assert isinstance(y.grad_fn, Node) and y.grad_fn.name() == "DoubleBackward"
    assert y.grad_fn.saved_tensors == (x,) and y.grad_fn.factor == 2
    assert y.grad_fn.needs_input_grad == (True,)
    with pytest.raises(AttributeError, match="'DoubleBackward' object has no attribute 'missing'"):
        y.grad_fn.missing
    a, b = Split.apply(x)
    assert type(a.grad_fn) is type(b.grad_fn) is Split._backward_cls
    assert type(a.grad_fn.next_functions[0][0]) is Split._backward_cls  # the joint node
    (a + b).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_two_functions_of_one_name_have_two_classes():
    def make():
        class Twice(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2
        return Twice
    first, second = make(), make()
    x = torch.ones(2, requires_grad=True)
    assert type(first.apply(x).grad_fn) is first._backward_cls
    assert type(second.apply(x).grad_fn) is second._backward_cls is not first._backward_cls
